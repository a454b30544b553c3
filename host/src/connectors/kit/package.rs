//! `switchboard plugin build PATH`: any connector crate, in or out of the repository, built
//! with the toolchain recipe `cargo xtask plugins` uses (`switchboard-toolchain`), then
//! checked the way the host loads it.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use switchboard_toolchain::{self as toolchain, PluginCrate, Toolchain, Ui};

use crate::connectors::engine::PluginDescription;

/// What was built and what it says it is.
#[derive(Debug)]
pub struct Packaged {
    /// The component, where it was written.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// Its answer to `describe`, with the contract version read from its stamp.
    pub description: PluginDescription,
}

/// Builds the crate in `dir` into `out_dir` (default: `<its target>/plugins/dist`) as
/// `<folder name>.wasm` and checks that this host loads it.
pub async fn build(dir: &Path, out_dir: Option<&Path>, release: bool) -> Result<Packaged> {
    let krate = PluginCrate::read(dir)?;
    let ui = Ui::new("switchboard");
    let out_dir = out_dir.map(std::path::absolute).transpose()?;
    let built = {
        let krate = krate.clone();
        tokio::task::spawn_blocking(move || -> Result<toolchain::Built> {
            let toolchain = Toolchain::prepare(&ui)?;
            let target_dir = toolchain::plugin_target_dir(&krate.dir)?;
            let out_dir = out_dir.unwrap_or_else(|| target_dir.join("dist"));
            ui.say(format!(
                "building {} with {} ({})",
                krate.package,
                toolchain.describe(),
                if release { "release" } else { "debug" }
            ));
            let mut built = toolchain.build(
                &toolchain::Build {
                    cwd: &krate.dir,
                    crates: std::slice::from_ref(&krate),
                    target_dir: &target_dir,
                    release,
                    out_dir: Some(&out_dir),
                },
                &ui,
            )?;
            Ok(built.remove(0))
        })
        .await??
    };
    let checking = Ui::new("switchboard").spinner("checking that this Switchboard loads it");
    let description = super::samples::describe(&built.path, &krate.name).await;
    drop(checking);
    let description = description.with_context(|| {
        format!(
            "{} was built, but this Switchboard cannot load it",
            built.path.display()
        )
    })?;
    if description.platform.trim().is_empty() {
        bail!("{}: `describe` names no platform", built.path.display());
    }
    Ok(Packaged {
        path: built.path,
        size: built.size,
        description,
    })
}
