//! `cargo xtask browser`: the web desktop's tests in a real browser.
//!
//! They live in `tests/browser/` (Node's test runner with `playwright-core`) and drive
//! Debian's Chromium against `switchboard demo --no-traffic`. This installs what they need
//! on a fresh machine: the `chromium` package (as root) and the npm packages pinned by
//! `package-lock.json`. Screenshots land in `target/browser-artifacts/`.

use std::path::Path;
use std::process::Command;

use super::{Result, fail, install_packages, not_installed, output_of, run, workspace_root};

/// Debian packages the browser tests need (the emoji font so screenshots show emoji).
const PACKAGES: &[&str] = &["chromium", "fonts-noto-color-emoji"];

/// Installs what is missing, then runs the browser tests with `switchboard` at `bin`.
pub fn test(bin: &Path) -> Result<()> {
    if !bin.exists() {
        return fail(format!(
            "{} is not built: run `cargo xtask test` (or `cargo build -p switchboard`) first",
            bin.display()
        ));
    }
    if output_of("node", &["--version"]).is_none() || output_of("npm", &["--version"]).is_none() {
        return fail(
            "the browser tests need Node.js and npm on PATH (Debian: `apt-get install nodejs npm`)",
        );
    }
    let missing = not_installed(PACKAGES);
    if !missing.is_empty() {
        install_packages(&missing, "the browser tests need Chromium")?;
    }
    let dir = workspace_root().join("tests/browser");
    // Always: `npm ci` installs exactly the lock file (a second or two from npm's cache), so
    // a package added to it never goes missing from an older node_modules.
    run(
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--prefer-offline"])
            .current_dir(&dir),
        "npm ci (tests/browser)",
    )?;
    let artifacts = super::target_dir().join("browser-artifacts");
    // Every `*.test.mjs` file, one at a time (each starts its own demo on free ports).
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| super::Error::Failed(format!("reading {}: {e}", dir.display())))?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".test.mjs"))
        .collect();
    files.sort();
    run(
        Command::new("node")
            .args(["--test", "--test-concurrency=1"])
            .args(&files)
            .env("SWITCHBOARD_BIN", bin)
            .env("ARTIFACTS_DIR", &artifacts)
            .current_dir(&dir),
        "browser tests (tests/browser)",
    )?;
    println!("xtask: browser screenshots in {}", artifacts.display());
    Ok(())
}
