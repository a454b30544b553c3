//! The Rhai engine: registered tool steps and effects, limits, compilation, calls.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow};
use rhai::packages::Package;

use crate::interactions::model::MediaType;
use crate::routing::decision::RouteRequest;
use rhai::{AST, CallFnOptions, Dynamic, Engine, EvalAltResult, Map, Position, Scope};

/// Something a script asked the host to do.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Queue the interaction as the request says.
    Route(RouteRequest),
    /// Do not route this message (it stays stored).
    Stop {
        /// Why, for the log.
        reason: String,
    },
}

/// Wall-clock time one handler call may take.
pub const CALL_DEADLINE: std::time::Duration = std::time::Duration::from_millis(250);

thread_local! {
    /// When the handler running on this thread must stop.
    static DEADLINE: std::cell::Cell<Option<std::time::Instant>> = const { std::cell::Cell::new(None) };

    /// Effects queued by the handler running on this thread.
    static EFFECTS: RefCell<Vec<Effect>> = const { RefCell::new(Vec::new()) };
}

fn push(effect: Effect) {
    EFFECTS.with(|e| e.borrow_mut().push(effect));
}

/// The Query Media Type step: its exit paths.
pub fn query_media_type(ix: &Map) -> &'static str {
    match ix
        .get("visibility")
        .and_then(|v| v.clone().into_string().ok())
        .as_deref()
    {
        Some("public") => "social_conversation",
        Some("private") => "social_direct_message",
        _ => "other",
    }
}

fn route(ix: &mut Map, opts: Map) -> Result<(), Box<EvalAltResult>> {
    let workgroup = match opts.get("workgroup") {
        Some(w) => w
            .clone()
            .into_string()
            .map_err(|t| format!("route: workgroup must be a string, not {t}"))?,
        None => ix
            .get("workgroup")
            .and_then(|w| w.clone().into_string().ok())
            .ok_or("route: no workgroup given and the channel has none")?,
    };
    if workgroup.is_empty() {
        return Err("route: workgroup is empty".into());
    }
    let priority = match opts.get("priority") {
        Some(p) => p
            .as_int()
            .map_err(|t| format!("route: priority must be an integer, not {t}"))?,
        None => 0,
    };
    let media_type = match query_media_type(ix) {
        "social_direct_message" => MediaType::SocialDirectMessage,
        _ => MediaType::SocialConversation,
    };
    let text = |key: &str| -> Result<Option<String>, Box<EvalAltResult>> {
        match opts.get(key) {
            None => Ok(None),
            Some(v) if v.is_unit() => Ok(None),
            Some(v) => v
                .clone()
                .into_string()
                .map(Some)
                .map_err(|t| format!("route: {key} must be a string, not {t}").into()),
        }
    };
    let skills = text("skills")?;
    if let Some(expr) = &skills {
        crate::routing::SkillExpr::parse(expr).map_err(|e| format!("route: {e}"))?;
    }
    let preferred_agent = text("preferred_agent")?;
    let wait_ms = match opts.get("wait_ms") {
        Some(w) => w
            .as_int()
            .map_err(|t| format!("route: wait_ms must be an integer, not {t}"))?,
        None => 30_000,
    };
    push(Effect::Route(RouteRequest {
        workgroup,
        priority,
        media_type,
        skills,
        preferred_agent,
        wait_ms,
    }));
    Ok(())
}

/// Builds the one engine all scripts share: only the packages routing needs, strict
/// variables, and limits so a runaway script cannot stall the host.
pub fn build() -> Engine {
    let mut engine = Engine::new_raw();
    engine.register_global_module(rhai::packages::StandardPackage::new().as_shared_module());
    engine.set_strict_variables(true);
    engine.set_max_operations(200_000);
    engine.set_max_call_levels(32);
    engine.set_max_expr_depths(64, 32);
    engine.set_max_string_size(256 * 1024);
    engine.set_max_array_size(10_000);
    engine.set_max_map_size(10_000);
    // Operation counts bound CPU; the deadline also bounds a script that is slow for any
    // other reason. Checked every 256 operations so the clock is read rarely.
    engine.on_progress(|ops| {
        if ops % 256 != 0 {
            return None;
        }
        let late = DEADLINE.with(|d| d.get().is_some_and(|at| std::time::Instant::now() > at));
        late.then(|| Dynamic::from("wall-clock limit reached"))
    });
    engine.on_print(|text| tracing::info!(target: "workflow", "{text}"));
    engine.on_debug(|text, source, pos| {
        tracing::debug!(target: "workflow", "{}:{}: {text}", source.unwrap_or("?"), pos)
    });
    engine.register_fn("query_media_type", |ix: Map| {
        query_media_type(&ix).to_string()
    });
    engine.register_fn("route", route);
    engine.register_fn("route", |ix: &mut Map| route(ix, Map::new()));
    engine.register_fn("stop", |_ix: &mut Map, reason: &str| {
        push(Effect::Stop {
            reason: reason.into(),
        })
    });
    engine
}

/// Compiles every `*.rhai` file of `dir`. The first error is reported as `file:line:col`.
pub fn compile_dir(engine: &Engine, dir: &Path) -> Result<HashMap<String, Arc<AST>>> {
    let mut scripts = HashMap::new();
    let known = super::lint::known_functions(engine);
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("reading workflow folder {}", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("rhai") {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let source = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let mut ast = engine.compile(&source).map_err(|e| {
            anyhow!(
                "{}: {}",
                locate(&path.display().to_string(), e.position()),
                e.err_type()
            )
        })?;
        ast.set_source(path.display().to_string());
        let problems = super::lint::lint(&path.display().to_string(), &ast, &known);
        if !problems.is_empty() {
            anyhow::bail!("{}", problems.join("\n"));
        }
        scripts.insert(name, Arc::new(ast));
    }
    if scripts.is_empty() {
        anyhow::bail!("no *.rhai workflow in {}", dir.display());
    }
    Ok(scripts)
}

fn locate(file: &str, pos: Position) -> String {
    match (pos.line(), pos.position()) {
        (Some(line), Some(col)) => format!("{file}:{line}:{col}"),
        (Some(line), None) => format!("{file}:{line}:1"),
        _ => file.to_string(),
    }
}

/// Calls `handler(ix)` in `ast` and returns the effects it queued.
pub fn call_handler(
    engine: &Engine,
    script: &str,
    ast: &AST,
    handler: &str,
    ix: Map,
) -> Result<Vec<Effect>> {
    call_handler_with(engine, script, ast, handler, (ix,))
}

/// Calls `handler(args..)` in `ast` and returns the effects it queued.
pub fn call_handler_with(
    engine: &Engine,
    script: &str,
    ast: &AST,
    handler: &str,
    args: impl rhai::FuncArgs,
) -> Result<Vec<Effect>> {
    EFFECTS.with(|e| e.borrow_mut().clear());
    DEADLINE.with(|d| d.set(Some(std::time::Instant::now() + CALL_DEADLINE)));
    let mut scope = Scope::new();
    let options = CallFnOptions::new().eval_ast(false).rewind_scope(true);
    let result = engine.call_fn_with_options::<Dynamic>(options, &mut scope, ast, handler, args);
    let effects = EFFECTS.with(|e| std::mem::take(&mut *e.borrow_mut()));
    let _returned: Dynamic = result.map_err(|e| {
        let file = ast.source().unwrap_or(script);
        anyhow!("{}: in {handler}: {}", locate(file, e.position()), e)
    })?;
    Ok(effects)
}
