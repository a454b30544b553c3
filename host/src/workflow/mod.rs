//! Routing workflows: Rhai scripts in `workflows/`, hot-reloaded.
//!
//! Scripts decide, Rust acts: a handler such as `on_inbound(ix)` calls tool steps
//! (`query_media_type`) and queues effects (`route`, `stop`); the host carries the effects
//! out after the handler returns. Every file of the folder is compiled into one
//! [`Version`]; a new version replaces the old one only when every file compiles, so a
//! broken save never stops routing.

mod engine;
pub mod lint;
mod reload;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use anyhow::Result;
use rhai::{AST, Dynamic, Map};

pub use engine::Effect;
pub use reload::watch;

/// One compiled generation of the workflow folder.
pub struct Version {
    /// Increases by one with every successful reload.
    pub number: i64,
    scripts: HashMap<String, Arc<AST>>,
    /// When it was loaded, unix ms.
    pub loaded_at: i64,
}

/// A reload that was refused; the previous version kept running.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct RefusedReload {
    /// The compile error, with `file:line:col`.
    pub error: String,
    /// When, unix ms.
    pub at: i64,
}

/// What `GET /api/v1/workflows` shows.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct WorkflowStatus {
    /// The running version.
    pub version: i64,
    /// When it was loaded, unix ms.
    pub loaded_at: i64,
    /// Its scripts.
    pub scripts: Vec<String>,
    /// The folder they come from.
    pub dir: String,
    /// The last refused reload, cleared by the next good one.
    pub last_error: Option<RefusedReload>,
}

impl Version {
    /// Whether `script` defines the initiator `handler` (with the right parameters).
    pub fn has_handler(&self, script: &str, handler: &str) -> bool {
        let want = lint::HANDLERS
            .iter()
            .find(|(name, _)| *name == handler)
            .map(|(_, n)| *n);
        self.scripts.get(script).is_some_and(|ast| {
            ast.iter_functions()
                .any(|f| f.name == handler && Some(f.params.len()) == want)
        })
    }

    /// Names of the loaded scripts.
    pub fn script_names(&self) -> Vec<String> {
        let mut names: Vec<_> = self.scripts.keys().cloned().collect();
        names.sort();
        names
    }
}

/// What a new message looks like to a script.
#[derive(Clone, Debug, Default)]
pub struct InboundContext {
    /// Channel name.
    pub channel: String,
    /// Platform family (`facebook`, ...).
    pub platform: String,
    /// `public` or `private`.
    pub visibility: String,
    /// The message text.
    pub text: String,
    /// Author display name.
    pub author_name: String,
    /// Author platform id.
    pub author_id: String,
    /// Thread (post) id.
    pub thread_id: String,
    /// Parent message id.
    pub parent_id: Option<String>,
    /// The channel's conversation workgroup.
    pub workgroup: String,
    /// The channel's direct-message workgroup.
    pub dm_workgroup: String,
}

impl InboundContext {
    fn to_map(&self) -> Map {
        let mut map = Map::new();
        let mut put = |k: &str, v: Dynamic| {
            map.insert(k.into(), v);
        };
        put("channel", self.channel.clone().into());
        put("platform", self.platform.clone().into());
        put("visibility", self.visibility.clone().into());
        put("text", self.text.clone().into());
        put("author_name", self.author_name.clone().into());
        put("author_id", self.author_id.clone().into());
        put("thread_id", self.thread_id.clone().into());
        put(
            "parent_id",
            self.parent_id
                .clone()
                .map(Dynamic::from)
                .unwrap_or(Dynamic::UNIT),
        );
        put("workgroup", self.workgroup.clone().into());
        put("dm_workgroup", self.dm_workgroup.clone().into());
        map
    }
}

/// The outcome of a handler: the effects it queued and the version that ran it.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// Effects in the order the script queued them.
    pub effects: Vec<Effect>,
    /// The workflow version that decided.
    pub version: i64,
}

/// The loaded workflows.
pub struct Workflows {
    engine: rhai::Engine,
    dir: PathBuf,
    current: RwLock<Arc<Version>>,
    /// Earlier versions still used by interactions that started on them.
    kept: std::sync::Mutex<HashMap<i64, Arc<Version>>>,
    last_error: std::sync::Mutex<Option<RefusedReload>>,
}

impl Workflows {
    /// Compiles every script in `dir`; fails when any does not compile.
    pub fn load(dir: &Path) -> Result<Arc<Workflows>> {
        let engine = engine::build();
        let scripts = engine::compile_dir(&engine, dir)?;
        Ok(Arc::new(Workflows {
            engine,
            dir: dir.to_owned(),
            current: RwLock::new(Arc::new(Version {
                number: 1,
                scripts,
                loaded_at: crate::store::now_ms(),
            })),
            kept: std::sync::Mutex::new(HashMap::new()),
            last_error: std::sync::Mutex::new(None),
        }))
    }

    /// Recompiles the folder and swaps it in; on any error the running version stays.
    pub fn reload(&self) -> Result<i64> {
        let scripts = match engine::compile_dir(&self.engine, &self.dir) {
            Ok(scripts) => scripts,
            Err(e) => {
                *self.last_error.lock().unwrap() = Some(RefusedReload {
                    error: format!("{e:#}"),
                    at: crate::store::now_ms(),
                });
                return Err(e);
            }
        };
        let mut current = self.current.write().unwrap();
        let number = current.number + 1;
        let previous = std::mem::replace(
            &mut *current,
            Arc::new(Version {
                number,
                scripts,
                loaded_at: crate::store::now_ms(),
            }),
        );
        self.kept.lock().unwrap().insert(previous.number, previous);
        self.last_error.lock().unwrap().take();
        Ok(number)
    }

    /// What is running and whether the last reload was refused.
    pub fn status(&self) -> WorkflowStatus {
        let current = self.current();
        WorkflowStatus {
            version: current.number,
            loaded_at: current.loaded_at,
            scripts: current.script_names(),
            dir: self.dir.display().to_string(),
            last_error: self.last_error.lock().unwrap().clone(),
        }
    }

    /// The version new work starts on.
    pub fn current(&self) -> Arc<Version> {
        self.current.read().unwrap().clone()
    }

    /// The version an interaction started on, while it is kept; after a restart (or for
    /// an unknown number) the current one.
    pub fn version(&self, number: i64) -> Arc<Version> {
        let current = self.current();
        if current.number == number {
            return current;
        }
        self.kept
            .lock()
            .unwrap()
            .get(&number)
            .cloned()
            .unwrap_or(current)
    }

    /// Releases earlier versions no live interaction uses any more (`live` holds the
    /// versions live interactions started on).
    pub fn release_unused(&self, live: &std::collections::HashSet<i64>) {
        self.kept
            .lock()
            .unwrap()
            .retain(|number, _| live.contains(number));
    }

    /// Numbers of the earlier versions still kept.
    pub fn kept_versions(&self) -> Vec<i64> {
        let mut numbers: Vec<i64> = self.kept.lock().unwrap().keys().copied().collect();
        numbers.sort_unstable();
        numbers
    }

    /// The folder the scripts come from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Runs a transfer initiator (`on_transfer_conversation(ix, target)` or
    /// `on_transfer_direct_message(ix, target)`) of the workflow version the interaction
    /// started on, if `script` defines it. `None`: the
    /// script has no such handler and the transfer goes where the agent said.
    pub fn on_transfer(
        &self,
        version: i64,
        script: &str,
        handler: &str,
        ix: rhai::Map,
        target: rhai::Map,
    ) -> Result<Option<Outcome>> {
        let version = self.version(version);
        let Some(ast) = version.scripts.get(script) else {
            return Ok(None);
        };
        if !ast
            .iter_functions()
            .any(|f| f.name == handler && f.params.len() == 2)
        {
            return Ok(None);
        }
        let effects = engine::call_handler_with(&self.engine, script, ast, handler, (ix, target))?;
        Ok(Some(Outcome {
            effects,
            version: version.number,
        }))
    }

    /// Runs `on_inbound` of `script` for a new message. Errors carry `file:line:col`.
    pub fn on_inbound(&self, script: &str, ctx: &InboundContext) -> Result<Outcome> {
        let version = self.current();
        let ast = version
            .scripts
            .get(script)
            .ok_or_else(|| anyhow::anyhow!("workflow script `{script}` is not loaded"))?;
        let effects = engine::call_handler(&self.engine, script, ast, "on_inbound", ctx.to_map())?;
        Ok(Outcome {
            effects,
            version: version.number,
        })
    }
}

#[cfg(test)]
mod tests;
