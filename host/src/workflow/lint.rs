//! Checks a compiled script beyond what the parser checks: every function it calls
//! exists, and initiators take the parameters the host passes them. Rhai would only
//! find an unknown function when the line runs — in production, with a customer waiting.

use std::collections::HashSet;

use rhai::{AST, ASTNode, Engine, Expr, Stmt};

/// The initiators the host calls, with the number of parameters each receives.
pub const HANDLERS: &[(&str, usize)] = &[
    ("on_inbound", 1),
    ("on_transfer_conversation", 2),
    ("on_transfer_direct_message", 2),
    ("on_agent_reply", 2),
    ("on_disconnect", 1),
    ("on_timer", 2),
];

/// Functions the engine provides without registering them.
const BUILTINS: &[&str] = &[
    "print",
    "debug",
    "type_of",
    "Fn",
    "call",
    "curry",
    "is_shared",
    "is_def_fn",
    "is_def_var",
    "eval",
];

/// The names of every function scripts may call on `engine`.
pub fn known_functions(engine: &Engine) -> HashSet<String> {
    let mut names: HashSet<String> = engine
        .gen_fn_signatures(true)
        .iter()
        .filter_map(|sig| {
            let sig = sig.trim_start_matches("fn ");
            let name = &sig[..sig.find('(')?];
            Some(name.trim().to_string())
        })
        .collect();
    names.extend(BUILTINS.iter().map(|s| s.to_string()));
    names
}

/// Problems in one script, each as `file:line:col: message` (or `file: message`).
pub fn lint(file: &str, ast: &AST, known: &HashSet<String>) -> Vec<String> {
    let mut problems = Vec::new();
    let defined: HashSet<String> = ast.iter_functions().map(|f| f.name.to_string()).collect();
    ast.walk(&mut |path: &[ASTNode]| {
        let call = match path.last() {
            Some(ASTNode::Expr(Expr::FnCall(call, pos) | Expr::MethodCall(call, pos))) => {
                Some((call, pos))
            }
            Some(ASTNode::Stmt(Stmt::FnCall(call, pos))) => Some((call, pos)),
            _ => None,
        };
        if let Some((call, pos)) = call
            && call.op_token.is_none()
            && call.namespace.is_empty()
        {
            let name = call.name.as_str();
            if !known.contains(name) && !defined.contains(name) {
                let at = match (pos.line(), pos.position()) {
                    (Some(l), Some(c)) => format!("{file}:{l}:{c}"),
                    _ => file.to_string(),
                };
                problems.push(format!("{at}: unknown function `{name}`"));
            }
        }
        true
    });
    for f in ast.iter_functions() {
        if let Some((_, want)) = HANDLERS.iter().find(|(name, _)| *name == f.name)
            && f.params.len() != *want
        {
            problems.push(format!(
                "{file}: handler `{}` takes {} parameter(s); the host passes {want}",
                f.name,
                f.params.len()
            ));
        }
    }
    problems
}
