//! moto's local S3 server (PyPI, pinned below, in a venv under `target/` and reused), for
//! the tests of attachment files kept in a bucket (`[media.s3]`): `cargo xtask test`
//! names it to them in `SWITCHBOARD_MOTO_SERVER`.

use std::path::PathBuf;
use std::process::Command;

use super::{Result, fail, target_dir};

/// The moto release the tests are pinned to.
const VERSION: &str = "5.2.6";

/// `moto_server`, installed first when missing.
pub fn server() -> Result<PathBuf> {
    let dir = target_dir().join("moto-venv");
    let bin = dir.join("bin/moto_server");
    let has = || {
        Command::new(dir.join("bin/pip"))
            .args(["show", "moto"])
            .output()
            .is_ok_and(|o| {
                String::from_utf8_lossy(&o.stdout).contains(&format!("Version: {VERSION}"))
            })
            && bin.exists()
    };
    if has() {
        return Ok(bin);
    }
    println!(
        "xtask: installing moto {VERSION} (a local S3 server) into {}",
        dir.display()
    );
    if !dir.join("bin/python").exists() {
        super::run(
            Command::new("python3").args(["-m", "venv"]).arg(&dir),
            "python3 -m venv (Debian: `apt-get install python3-venv`)",
        )?;
    }
    super::run(
        Command::new(dir.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .arg(format!("moto[server]=={VERSION}")),
        "pip install moto",
    )?;
    if !has() {
        return fail(format!(
            "{} is missing after installing moto",
            bin.display()
        ));
    }
    Ok(bin)
}
