//! `cargo xtask bench [NAME] [ARGS]`: builds the plugins, then runs the benchmark crate
//! (`benches/`, `switchboard-bench NAME ARGS`) in release.
//!
//! `--baseline REV` (for `ingest` and `routing`) first builds the host as it was at git
//! revision `REV` (a detached worktree under `target/bench-baseline/`, with its own
//! plugins and target folder, kept for the next run) and hands it to the bench, which
//! runs both in the same run: a change is judged against the old design on this
//! machine, now.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{Result, cargo, fail, run, target_dir, workspace_root};

/// Runs the benchmark `args` names (default: `ingest`).
pub(crate) fn bench(args: &[String]) -> Result<()> {
    let mut args: Vec<String> = if args.is_empty() {
        vec!["ingest".into()]
    } else {
        args.to_vec()
    };
    if let Some(at) = args.iter().position(|a| a == "--baseline") {
        let Some(rev) = args.get(at + 1).cloned() else {
            return Err(super::Error::Usage(
                "--baseline needs a git revision (e.g. --baseline 865e962)".into(),
            ));
        };
        let (bin, dir) = baseline(&rev)?;
        args.splice(
            at..at + 2,
            [
                "--baseline".to_string(),
                bin.display().to_string(),
                "--baseline-dir".to_string(),
                dir.display().to_string(),
            ],
        );
    }
    super::plugins(&[])?;
    let mut cmd = cargo();
    cmd.args(["run", "--release", "--package", "switchboard-bench", "--"])
        .args(&args);
    run(&mut cmd, "switchboard-bench")
}

/// Builds the host and its plugins as they were at `rev`; answers the binary and the
/// source tree it runs in.
fn baseline(rev: &str) -> Result<(PathBuf, PathBuf)> {
    let root = workspace_root();
    let commit = git_output(
        &root,
        &["rev-parse", "--verify", &format!("{rev}^{{commit}}")],
    )
    .map_err(|e| super::Error::Usage(format!("--baseline {rev}: not a revision here ({e})")))?;
    let dir = target_dir().join("bench-baseline").join(&commit[..12]);
    if !dir.join("Cargo.toml").exists() {
        eprintln!(
            "xtask: checking out {rev} ({}) in {}",
            &commit[..12],
            dir.display()
        );
        let mut add = Command::new("git");
        add.current_dir(&root)
            .args(["worktree", "add", "--detach", "--force"])
            .arg(&dir)
            .arg(&commit);
        run(&mut add, "git worktree add")?;
    }
    // The baseline's own tools build it, as they did then; its target folder is its own
    // so neither build undoes the other's.
    let target = dir.join("target");
    eprintln!("xtask: building the baseline's plugins and host (release)");
    let mut plugins = cargo();
    plugins
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", &target)
        .args(["run", "--package", "xtask", "--", "plugins"]);
    run(&mut plugins, "the baseline's cargo xtask plugins")?;
    // Since the benches became their own crate, a revision's bench is `switchboard-bench`;
    // before, it was the host's `bench` subcommand.
    let package = if dir.join("benches/Cargo.toml").exists() {
        "switchboard-bench"
    } else {
        "switchboard"
    };
    let mut host = cargo();
    host.current_dir(&dir)
        .env("CARGO_TARGET_DIR", &target)
        .args(["build", "--release", "--package", package]);
    run(&mut host, "the baseline's release build")?;
    let bin = target.join("release").join(package);
    if !bin.exists() {
        return fail(format!("the baseline build left no {}", bin.display()));
    }
    Ok((bin, dir))
}

fn git_output(dir: &Path, args: &[&str]) -> std::result::Result<String, String> {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_owned());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}
