//! The Rhai engine: limits, compilation, calls. Tool steps live in `steps`, effects in
//! `effects`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow};
use rhai::packages::Package;
use rhai::{AST, CallFnOptions, Dynamic, Engine, EvalAltResult, Position, Scope};

use super::lint::Known;

use super::effects;
use super::world::{self, CallContext};
use crate::model::Effect;

/// Wall-clock time one handler call may take.
pub const CALL_DEADLINE: std::time::Duration = std::time::Duration::from_millis(250);

thread_local! {
    /// When the handler running on this thread must stop.
    static DEADLINE: std::cell::Cell<Option<std::time::Instant>> = const { std::cell::Cell::new(None) };
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
    super::steps::register(&mut engine);
    effects::register(&mut engine);
    engine
}

/// A folder's scripts by file name, the warnings, per script what would refuse it for a
/// channel that runs it ([`super::lint::Findings::if_used`]), and the scripts' texts.
pub type CompiledDir = (
    HashMap<String, Arc<AST>>,
    Vec<String>,
    HashMap<String, Vec<String>>,
    std::collections::BTreeMap<String, Arc<str>>,
);

/// Compiles every `*.rhai` file of `dir`, checked against `directory`. Errors are
/// reported as `file:line:col`.
pub fn compile_dir(
    engine: &Engine,
    dir: &Path,
    directory: &super::lint::Directory,
) -> Result<CompiledDir> {
    let mut scripts = HashMap::new();
    let mut sources = std::collections::BTreeMap::new();
    let mut warnings = Vec::new();
    let mut if_used = HashMap::new();
    let known = super::lint::Known::of(engine);
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
        let findings = super::lint::lint(&path.display().to_string(), &ast, &known, directory);
        if !findings.problems.is_empty() {
            anyhow::bail!("{}", findings.problems.join("\n"));
        }
        warnings.extend(findings.warnings);
        warnings.extend(findings.if_used.iter().cloned());
        if !findings.if_used.is_empty() {
            if_used.insert(name.clone(), findings.if_used);
        }
        sources.insert(name.clone(), Arc::from(source.as_str()));
        scripts.insert(name, Arc::new(ast));
    }
    if scripts.is_empty() {
        anyhow::bail!("no *.rhai workflow in {}", dir.display());
    }
    warnings.sort();
    Ok((scripts, warnings, if_used, sources))
}

fn locate(file: &str, pos: Position) -> String {
    match (pos.line(), pos.position()) {
        (Some(line), Some(col)) => format!("{file}:{line}:{col}"),
        (Some(line), None) => format!("{file}:{line}:1"),
        _ => file.to_string(),
    }
}

/// Calls `handler(args..)` in `ast` with `ctx` for lookups and returns the effects it
/// queued. On an error nothing is returned: a half-run handler's effects are dropped.
pub fn call_handler(
    engine: &Engine,
    ctx: CallContext,
    script: &str,
    ast: &AST,
    handler: &str,
    args: impl rhai::FuncArgs,
    known: &Known,
) -> Result<Vec<Effect>> {
    effects::begin();
    DEADLINE.with(|d| d.set(Some(std::time::Instant::now() + CALL_DEADLINE)));
    let mut scope = Scope::new();
    let options = CallFnOptions::new().eval_ast(false).rewind_scope(true);
    let result = world::with_context(ctx, || {
        engine.call_fn_with_options::<Dynamic>(options, &mut scope, ast, handler, args)
    });
    let effects = effects::take();
    let _returned: Dynamic = result.map_err(|e| {
        let file = ast.source().unwrap_or(script);
        anyhow!("{}", describe(file, handler, &e, known))
    })?;
    Ok(effects)
}

/// A run-time error as its author needs it: the innermost fault first, at its own
/// `file:line:col`, then the calls that led there, innermost first; a call that found no
/// function for its argument types says which ones there are.
fn describe(file: &str, handler: &str, e: &EvalAltResult, known: &Known) -> String {
    // Rhai wraps a fault once per script function it passed through, outermost first.
    let mut calls: Vec<(&str, Position)> = Vec::new();
    let mut inner = e;
    while let EvalAltResult::ErrorInFunctionCall(name, _, err, pos) = inner {
        calls.push((name.as_str(), *pos));
        inner = err;
    }
    // Its message without Rhai's own "(line L, position C)": the location leads instead.
    let pos = inner.position();
    let message = inner.to_string();
    let message = message
        .strip_suffix(&format!(" ({pos})"))
        .unwrap_or(&message);
    let mut text = format!("{}: {message}", locate(file, pos));
    if let EvalAltResult::ErrorFunctionNotFound(sig, _) = inner {
        let name = sig.split(['(', ' ']).next().unwrap_or(sig);
        if let Some(forms) = known.signatures(name) {
            text.push_str(&format!("; it takes: {}", forms.join(" | ")));
        }
    }
    for (i, (name, at)) in calls.iter().enumerate().rev() {
        if at.is_none() {
            continue; // the handler itself, called by the host
        }
        let caller = if i == 0 { handler } else { calls[i - 1].0 };
        text.push_str(&format!(
            "\n  in `{name}`, called from `{caller}` at {}",
            locate(file, *at)
        ));
    }
    text.push_str(&format!("\n  in handler `{handler}`"));
    text
}
