//! An earlier build of the host to measure against, in the same run.
//!
//! `cargo xtask bench NAME --baseline REV` builds the host as it was at git revision
//! `REV` and passes it here; the bench runs that build's own `bench NAME` beside its own
//! measurement and reads the figures off its report. A design change is then judged as a
//! ratio against the old design on this machine at this moment, not against a figure
//! from another day.

use std::path::PathBuf;

use anyhow::{Context, Result, ensure};

/// Flags naming the baseline build.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct BaselineArgs {
    /// An earlier build of the `switchboard` binary whose own bench runs beside this
    /// one's, as the baseline of the ratios.
    #[arg(long, requires = "baseline_dir")]
    baseline: Option<PathBuf>,
    /// The source tree of that build (its plugins and workflows): its working directory.
    #[arg(long)]
    baseline_dir: Option<PathBuf>,
}

/// A built baseline.
pub(crate) struct Baseline {
    bin: PathBuf,
    dir: PathBuf,
}

impl BaselineArgs {
    /// The baseline, when one was named.
    pub(crate) fn baseline(&self) -> Result<Option<Baseline>> {
        match (&self.baseline, &self.baseline_dir) {
            (Some(bin), Some(dir)) => Ok(Some(Baseline {
                bin: bin
                    .canonicalize()
                    .with_context(|| format!("the baseline {}", bin.display()))?,
                dir: dir.clone(),
            })),
            _ => Ok(None),
        }
    }
}

impl Baseline {
    /// Runs the baseline build's bench with `ARGS` and answers its report: `switchboard
    /// bench ARGS` for a revision from before the benches were their own crate,
    /// `switchboard-bench ARGS` after.
    pub(crate) async fn bench(&self, args: &[String]) -> Result<String> {
        let mut cmd = tokio::process::Command::new(&self.bin);
        if self.bin.file_name().is_some_and(|n| n == "switchboard") {
            cmd.arg("bench");
        }
        let out = cmd
            .args(args)
            .current_dir(&self.dir)
            .env("RUST_LOG", "error")
            .output()
            .await
            .with_context(|| format!("running {}", self.bin.display()))?;
        ensure!(
            out.status.success(),
            "the baseline's bench failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}
