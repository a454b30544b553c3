//! The plugin files in `plugins_dir` and what each says it is, for administrators.
//!
//! Describing a plugin instantiates it (without configuring it for any channel), so the
//! answer is kept per file and reused until the file's modification time or size change.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use anyhow::{Context, Result};

use super::engine::{ChannelGrants, PluginDescription, PluginEngine};
use crate::store::Store;

/// One plugin file and what loading it gave.
pub struct PluginFile {
    /// The plugin's name: the file name without `.wasm`, as channels name it.
    pub name: String,
    /// The file.
    pub path: PathBuf,
    /// Its description, or why it did not load.
    pub described: Result<PluginDescription, String>,
}

/// A description, valid while the file keeps its modification time and size.
struct Cached {
    modified: SystemTime,
    len: u64,
    described: Result<PluginDescription, String>,
}

/// The host's plugin folder and its one wasmtime engine.
pub struct PluginCatalog {
    engine: Arc<PluginEngine>,
    dir: PathBuf,
    cache: Mutex<HashMap<PathBuf, Cached>>,
    /// The operator's proxy, which every channel's requests go through.
    proxy: Option<super::egress::ProxySetting>,
}

impl PluginCatalog {
    /// A catalog of the `*.wasm` files in `dir`, loaded with `engine`.
    pub fn new(engine: Arc<PluginEngine>, dir: &Path) -> PluginCatalog {
        PluginCatalog {
            engine,
            dir: dir.to_owned(),
            cache: Mutex::new(HashMap::new()),
            proxy: None,
        }
    }

    /// Sends every channel's requests through `proxy` (`[server] proxy`).
    pub fn with_proxy(mut self, proxy: Option<super::egress::ProxySetting>) -> PluginCatalog {
        self.proxy = proxy;
        self
    }

    /// The operator's proxy, if any.
    pub fn proxy(&self) -> Option<&super::egress::ProxySetting> {
        self.proxy.as_ref()
    }

    /// The engine channels load their plugins with.
    pub fn engine(&self) -> &Arc<PluginEngine> {
        &self.engine
    }

    /// Where the plugin a channel names lives.
    pub fn path(&self, plugin: &str) -> PathBuf {
        self.dir.join(format!("{plugin}.wasm"))
    }

    /// Every `*.wasm` in the folder, by name, each described (or its load error).
    /// Blocking: a changed file is compiled and instantiated.
    pub fn scan(&self, store: &Store, runtime: tokio::runtime::Handle) -> Result<Vec<PluginFile>> {
        let mut files = Vec::new();
        if !self.dir.is_dir() {
            return Ok(files);
        }
        let entries = std::fs::read_dir(&self.dir)
            .with_context(|| format!("listing plugins in {}", self.dir.display()))?;
        for entry in entries {
            let path = entry?.path();
            if path.extension().is_none_or(|e| e != "wasm") || !path.is_file() {
                continue;
            }
            let Some(name) = path.file_stem().map(|s| s.to_string_lossy().into_owned()) else {
                continue;
            };
            let described = self.describe(&name, &path, store, runtime.clone());
            files.push(PluginFile {
                name,
                path,
                described,
            });
        }
        files.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(files)
    }

    /// The cached description of one file, loading it when the file changed.
    fn describe(
        &self,
        name: &str,
        path: &Path,
        store: &Store,
        runtime: tokio::runtime::Handle,
    ) -> Result<PluginDescription, String> {
        let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        if let Some(hit) = self.cache.lock().unwrap().get(path)
            && hit.modified == modified
            && hit.len == meta.len()
        {
            return hit.described.clone();
        }
        let described = describe_grants(name, store, runtime)
            .and_then(|grants| self.engine.describe(path, grants))
            .map_err(|e| format!("plugin `{name}`: {e:#}"));
        self.cache.lock().unwrap().insert(
            path.to_owned(),
            Cached {
                modified,
                len: meta.len(),
                described: described.clone(),
            },
        );
        described
    }
}

/// Grants for a describe-only instance: no channel, no settings, no hosts.
fn describe_grants(
    plugin: &str,
    store: &Store,
    runtime: tokio::runtime::Handle,
) -> Result<ChannelGrants> {
    Ok(ChannelGrants {
        channel: String::new(),
        plugin: plugin.to_owned(),
        settings: Arc::new(BTreeMap::new()),
        secrets: Arc::new(BTreeMap::new()),
        egress: Arc::new(super::egress::Egress::closed()?),
        store: store.clone(),
        runtime,
    })
}
