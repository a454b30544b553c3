//! Hot reload of the workflow folder.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;

use super::Workflows;
use crate::fswatch::{WatchGuard, watch as watch_dir};

/// Watches the workflow folder and reloads on change. A version that fails to compile is
/// refused with `file:line:col` in the log, and the running version stays.
pub fn watch(workflows: Arc<Workflows>) -> Result<WatchGuard> {
    let dir = workflows.dir().to_owned();
    watch_dir(&dir, Duration::from_millis(150), move |paths| {
        if !paths
            .iter()
            .any(|p| p.extension().is_some_and(|e| e == "rhai" || e == "toml"))
        {
            return;
        }
        match workflows.reload() {
            Ok(version) => tracing::info!(version, "workflows reloaded"),
            Err(e) => tracing::error!(
                error = %e,
                running = workflows.current().number,
                "workflow reload refused; the running version stays"
            ),
        }
    })
}
