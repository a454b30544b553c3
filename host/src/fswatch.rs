//! Debounced folder watching, shared by workflow and plugin hot reload.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use notify::{RecommendedWatcher, RecursiveMode, Watcher};

/// Keeps a watch alive; dropping it stops watching.
pub struct WatchGuard {
    _watcher: RecommendedWatcher,
}

/// Calls `on_change` with the changed paths once a burst of file events in `dir` has been
/// quiet for `debounce` (editors write a file in several steps). `on_change` runs on a
/// blocking thread, so it may compile.
pub fn watch<F>(dir: &Path, debounce: Duration, on_change: F) -> Result<WatchGuard>
where
    F: Fn(Vec<PathBuf>) + Send + Sync + 'static,
{
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<PathBuf>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event {
            if event.kind.is_access() {
                return;
            }
            for path in event.paths {
                let _ = tx.send(path);
            }
        }
    })
    .context("starting file watcher")?;
    watcher
        .watch(dir, RecursiveMode::NonRecursive)
        .with_context(|| format!("watching {}", dir.display()))?;
    let on_change = std::sync::Arc::new(on_change);
    tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let mut changed = BTreeSet::from([first]);
            while let Ok(Some(path)) = tokio::time::timeout(debounce, rx.recv()).await {
                changed.insert(path);
            }
            let on_change = on_change.clone();
            let changed: Vec<PathBuf> = changed.into_iter().collect();
            let _ = tokio::task::spawn_blocking(move || on_change(changed)).await;
        }
    });
    Ok(WatchGuard { _watcher: watcher })
}
