//! Routing workflows: Rhai scripts in `workflows/`, hot-reloaded.
//!
//! Scripts decide, Rust acts: a handler such as `on_inbound(ix)` calls tool steps
//! (`query_media_type`) and queues effects (`route`, `stop`); the host carries the effects
//! out after the handler returns. Every file of the folder is compiled into one
//! [`Version`]; a new version replaces the old one only when every file compiles, so a
//! broken save never stops routing.

pub mod classify;
mod effects;
mod engine;
pub mod fixtures;
pub mod history;
pub mod lint;
mod reload;
mod steps;
mod subject;
pub mod world;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use anyhow::Result;
use rhai::{AST, Dynamic, Map};

pub use crate::model::Effect;
pub use reload::watch;
pub use subject::{CurrentRoute, Subject};
pub use world::{Active, FindBy, QueueFacts, World};

use classify::Rules;
use world::CallContext;

/// One compiled generation of the workflow folder.
pub struct Version {
    /// Increases by one with every successful reload.
    pub number: i64,
    scripts: HashMap<String, Arc<AST>>,
    /// The `classify` rules loaded with the scripts.
    rules: Arc<Rules>,
    /// What the checks warned of (a skill no user has, an unknown agent's name).
    warnings: Vec<String>,
    /// Per script, what refuses it for a channel that runs it (a schedule the config
    /// lacks).
    if_used: HashMap<String, Vec<String>>,
    /// When it was loaded, unix ms.
    pub loaded_at: i64,
    /// The scripts' texts, by file name.
    sources: std::collections::BTreeMap<String, Arc<str>>,
}

/// A reload that was refused; the previous version kept running.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct RefusedReload {
    /// The compile error, with `file:line:col`.
    pub error: String,
    /// When, unix ms.
    pub at: i64,
}

/// A handler that failed while it ran (the message took the channel's route, or the
/// hook's effects were dropped).
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct RuntimeError {
    /// When, unix ms.
    pub at: i64,
    /// The handler that failed (`on_inbound`, `on_timer`, ...).
    pub handler: String,
    /// The interaction it ran for, once there is one.
    pub interaction_id: Option<i64>,
    /// The message it ran for (`on_inbound` before an interaction exists).
    pub message_id: Option<String>,
    /// The channel.
    pub channel: String,
    /// What went wrong, innermost first, with `file:line:col`.
    pub error: String,
}

/// The run-time failures of one script since the host started.
#[derive(Clone, Debug, Default, serde::Serialize, utoipa::ToSchema)]
pub struct ScriptErrors {
    /// The script's file name.
    pub script: String,
    /// Failures since the host started.
    pub count: u64,
    /// The last few, newest first.
    pub recent: Vec<RuntimeError>,
}

/// Failures kept per script.
const RECENT_ERRORS: usize = 5;

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
    /// Reloads refused since the host started.
    pub refused_reloads: u64,
    /// Earlier versions still running interactions that started on them.
    pub kept_versions: Vec<i64>,
    /// Scripts whose handlers failed while running, with their last failures.
    pub runtime_errors: Vec<ScriptErrors>,
    /// What the checks warned of in the running version, `file:line:col: message` (a
    /// skill no user has, a preferred agent no user is named).
    pub warnings: Vec<String>,
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

    /// Whether a channel can run `script` on this version: the script is here and takes
    /// new messages (`on_inbound(ix)`). The error says which, in the administrator's terms.
    pub fn check_channel(&self, channel: &str, script: &str) -> Result<(), String> {
        if !self.scripts.contains_key(script) {
            let close = lint::did_you_mean(script, self.scripts.keys().map(String::as_str));
            return Err(format!(
                "channel `{channel}` runs `{script}`, which is not in the workflow folder{}",
                close
                    .map(|c| format!(" (did you mean `{c}`?)"))
                    .unwrap_or_default()
            ));
        }
        if !self.has_handler(script, "on_inbound") {
            return Err(format!(
                "channel `{channel}` runs `{script}`, which has no `on_inbound(ix)` handler: it could not take new messages"
            ));
        }
        if let Some(problems) = self.if_used.get(script) {
            return Err(format!(
                "channel `{channel}` runs `{script}`, which would fail: {}",
                problems.join("; ")
            ));
        }
        Ok(())
    }

    /// Names of the loaded scripts.
    pub fn script_names(&self) -> Vec<String> {
        let mut names: Vec<_> = self.scripts.keys().cloned().collect();
        names.sort();
        names
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

/// The script each channel runs, as `(channel, script)`, asked at every reload: a
/// version that would leave a channel without its script is refused.
pub type ScriptsInUse = Arc<dyn Fn() -> Vec<(String, String)> + Send + Sync>;

/// What the checks may know of users, skills and schedules, asked at every (re)load.
pub type DirectorySource = Arc<dyn Fn() -> lint::Directory + Send + Sync>;

/// The loaded workflows.
pub struct Workflows {
    engine: rhai::Engine,
    /// What scripts may call on `engine`, for the checks and for run-time errors.
    known: lint::Known,
    dir: PathBuf,
    current: RwLock<Arc<Version>>,
    /// Earlier versions still used by interactions that started on them.
    kept: std::sync::Mutex<HashMap<i64, Arc<Version>>>,
    last_error: std::sync::Mutex<Option<RefusedReload>>,
    refused: std::sync::atomic::AtomicU64,
    in_use: RwLock<Option<ScriptsInUse>>,
    /// Run-time failures per script.
    errors: std::sync::Mutex<HashMap<String, ScriptErrors>>,
    directory: Option<DirectorySource>,
    /// The versions loaded, with their scripts' texts.
    history: history::History,
}

/// Compiles every script of `dir` and its `classify.toml` into a version (numbered 0).
fn compile(engine: &rhai::Engine, dir: &Path, directory: &lint::Directory) -> Result<Version> {
    let (scripts, warnings, if_used, sources) = engine::compile_dir(engine, dir, directory)?;
    let rules = Rules::load(dir)?;
    Ok(Version {
        number: 0,
        scripts,
        rules: Arc::new(rules),
        warnings,
        if_used,
        loaded_at: 0,
        sources,
    })
}

impl Workflows {
    /// Compiles every script in `dir`; fails when any does not compile.
    pub fn load(dir: &Path) -> Result<Arc<Workflows>> {
        Workflows::load_with(dir, None)
    }

    /// Compiles every script in `dir`, checked (now and at every reload) against what
    /// `directory` says of users, skills and schedules.
    pub fn load_with(dir: &Path, directory: Option<DirectorySource>) -> Result<Arc<Workflows>> {
        let engine = engine::build();
        crate::metrics::workflow_handlers(lint::HANDLERS.iter().map(|(name, _)| *name));
        let known = directory.as_ref().map(|d| d()).unwrap_or_default();
        let first = Version {
            number: 1,
            loaded_at: crate::clock::now_ms(),
            ..compile(&engine, dir, &known)?
        };
        let history = history::History::default();
        history.record(first.number, first.loaded_at, &first.sources);
        Ok(Arc::new(Workflows {
            history,
            known: lint::Known::of(&engine),
            engine,
            dir: dir.to_owned(),
            current: RwLock::new(Arc::new(first)),
            kept: std::sync::Mutex::new(HashMap::new()),
            last_error: std::sync::Mutex::new(None),
            refused: std::sync::atomic::AtomicU64::new(0),
            in_use: RwLock::new(None),
            errors: std::sync::Mutex::new(HashMap::new()),
            directory,
        }))
    }

    /// Tells reloads which scripts the channels run (see [`ScriptsInUse`]).
    pub fn set_scripts_in_use(&self, in_use: ScriptsInUse) {
        *self.in_use.write().unwrap() = Some(in_use);
    }

    /// Recompiles the folder and swaps it in; on any error the running version stays. A
    /// version must compile, pass the checks of `lint`, and still serve every channel.
    pub fn reload(&self) -> Result<i64> {
        let known = self.directory.as_ref().map(|d| d()).unwrap_or_default();
        let compiled = compile(&self.engine, &self.dir, &known).and_then(|candidate| {
            let in_use = self.in_use.read().unwrap().clone();
            let problems: Vec<String> = in_use
                .map(|f| f())
                .unwrap_or_default()
                .iter()
                .filter_map(|(channel, script)| candidate.check_channel(channel, script).err())
                .collect();
            if !problems.is_empty() {
                anyhow::bail!("{}", problems.join("\n"));
            }
            Ok(candidate)
        });
        let candidate = match compiled {
            Ok(candidate) => candidate,
            Err(e) => {
                self.refused
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                *self.last_error.lock().unwrap() = Some(RefusedReload {
                    error: format!("{e:#}"),
                    at: crate::clock::now_ms(),
                });
                return Err(e);
            }
        };
        let mut current = self.current.write().unwrap();
        let number = current.number + 1;
        let loaded_at = crate::clock::now_ms();
        self.history.record(number, loaded_at, &candidate.sources);
        let previous = std::mem::replace(
            &mut *current,
            Arc::new(Version {
                number,
                loaded_at,
                ..candidate
            }),
        );
        self.kept.lock().unwrap().insert(previous.number, previous);
        self.last_error.lock().unwrap().take();
        Ok(number)
    }

    /// The versions loaded (the last [`history::KEEP`]), newest first.
    pub fn history(&self) -> Vec<history::VersionSummary> {
        self.history.list()
    }

    /// One script's text in one version, if it is kept.
    pub fn script_text(&self, version: i64, name: &str) -> Option<history::ScriptText> {
        self.history.script(version, name)
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
            refused_reloads: self.refused.load(std::sync::atomic::Ordering::Relaxed),
            kept_versions: self.kept_versions(),
            runtime_errors: {
                let mut errors: Vec<ScriptErrors> =
                    self.errors.lock().unwrap().values().cloned().collect();
                errors.sort_by(|a, b| a.script.cmp(&b.script));
                errors
            },
            warnings: current.warnings.clone(),
        }
    }

    /// Keeps a handler's failure for `GET /api/v1/workflows`.
    fn record_error(&self, script: &str, handler: &str, ix: &Subject, error: &str) {
        let mut errors = self.errors.lock().unwrap();
        let entry = errors
            .entry(script.to_owned())
            .or_insert_with(|| ScriptErrors {
                script: script.to_owned(),
                ..Default::default()
            });
        entry.count += 1;
        entry.recent.insert(
            0,
            RuntimeError {
                at: crate::clock::now_ms(),
                handler: handler.to_owned(),
                interaction_id: ix.id,
                message_id: ix.id.is_none().then(|| ix.message_id.clone()),
                channel: ix.channel.clone(),
                error: error.to_owned(),
            },
        );
        entry.recent.truncate(RECENT_ERRORS);
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
    /// `on_transfer_direct_message(ix, target)`) of the version the interaction started
    /// on. `None`: the script has no such handler and the transfer goes where the agent
    /// said.
    pub fn on_transfer(
        &self,
        version: i64,
        script: &str,
        handler: &str,
        ix: &Subject,
        target: Map,
        world: Arc<dyn World>,
    ) -> Result<Option<Outcome>> {
        self.run(version, script, handler, ix, Some(target.into()), world)
    }

    /// Runs `on_inbound(ix)` of `script` (current version) for a new message. Errors
    /// carry `file:line:col`.
    pub fn on_inbound(&self, script: &str, ix: &Subject, world: Arc<dyn World>) -> Result<Outcome> {
        let version = self.current();
        version
            .scripts
            .get(script)
            .ok_or_else(|| anyhow::anyhow!("workflow script `{script}` is not loaded"))?;
        self.call(&version, script, "on_inbound", ix, None, world)
    }

    /// Runs `handler` of `script` in the version an interaction started on:
    /// `on_agent_reply(ix, reply)`, `on_disconnect(ix)`, `on_timer(ix, name)`, a transfer
    /// initiator. `extra` is the second argument, when the handler takes one. `None`:
    /// the script does not define the handler.
    pub fn run(
        &self,
        version: i64,
        script: &str,
        handler: &str,
        ix: &Subject,
        extra: Option<Dynamic>,
        world: Arc<dyn World>,
    ) -> Result<Option<Outcome>> {
        let version = self.version(version);
        if !version.has_handler(script, handler) {
            return Ok(None);
        }
        self.call(&version, script, handler, ix, extra, world)
            .map(Some)
    }

    fn call(
        &self,
        version: &Version,
        script: &str,
        handler: &str,
        ix: &Subject,
        extra: Option<Dynamic>,
        world: Arc<dyn World>,
    ) -> Result<Outcome> {
        let ast = version
            .scripts
            .get(script)
            .ok_or_else(|| anyhow::anyhow!("workflow script `{script}` is not loaded"))?;
        let map = ix.to_map(world.now());
        let ctx = CallContext {
            world,
            rules: version.rules.clone(),
            channel: ix.channel.clone(),
        };
        let started = std::time::Instant::now();
        let effects = match extra {
            Some(extra) => engine::call_handler(
                &self.engine,
                ctx,
                script,
                ast,
                handler,
                (map, extra),
                &self.known,
            ),
            None => {
                engine::call_handler(&self.engine, ctx, script, ast, handler, (map,), &self.known)
            }
        };
        if let Some(label) = handler_label(handler) {
            crate::metrics::workflow_handler(label, started.elapsed(), effects.is_err());
        }
        let effects = effects.map_err(|e| {
            let error = format!("{e:#}");
            self.record_error(script, handler, ix, &error);
            match ix.id {
                Some(id) => anyhow::anyhow!("interaction {id}: {error}"),
                None => {
                    anyhow::anyhow!(
                        "message {} on channel {}: {error}",
                        ix.message_id,
                        ix.channel
                    )
                }
            }
        })?;
        Ok(Outcome {
            effects,
            version: version.number,
        })
    }
}

/// `handler` as a metric label: one of the initiators the host calls ([`lint::HANDLERS`]),
/// so a name from elsewhere can never add a series.
fn handler_label(handler: &str) -> Option<&'static str> {
    lint::HANDLERS
        .iter()
        .map(|(name, _)| *name)
        .find(|name| *name == handler)
}

#[cfg(test)]
mod tests;
