//! Checks a compiled script beyond what the parser checks, so that what would fail only
//! when a line runs (in production, with a customer waiting, and then silently taking the
//! channel's fallback route) is refused when the script is saved:
//!
//! - every function it calls exists, with a number of arguments it takes (the host's
//!   steps and effects, the standard library, the script's own helpers);
//! - initiators take the parameters the host passes them, and a function named like an
//!   initiator (`on_agent_replay`) that the host would never call is refused with the
//!   name it probably meant;
//! - an options map written in an effect call (`route(ix, #{ priorty: 5 })`) has only
//!   keys that effect knows, and a skill expression written as text parses;
//! - with the host's [`Directory`]: `is_open("name")` names a configured schedule (a
//!   script no channel runs only gets a warning: the shipped samples name `support`,
//!   which a config need not have). A preferred agent or a skill written as text that
//!   no user has is a warning, not a refusal: the user may be created after the script.
//!
//! Each problem is one line, `file:line:col: message`, with "did you mean" when a known
//! name is close.

use std::collections::{HashMap, HashSet};

use rhai::{AST, ASTNode, Dynamic, Engine, Expr, Position, Stmt};

use super::effects::option_keys;

/// The initiators the host calls, with the number of parameters each receives.
pub const HANDLERS: &[(&str, usize)] = &[
    ("on_inbound", 1),
    ("on_transfer_conversation", 2),
    ("on_transfer_direct_message", 2),
    ("on_agent_reply", 2),
    ("on_disconnect", 1),
    ("on_timer", 2),
];

/// Functions the engine provides without registering them, any number of arguments.
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

/// What the host knows of the world a script will run in, for the checks that need it.
/// `None` fields are not checked (`workflow test` knows no users; `check` knows the
/// config's schedules but not the users created since).
#[derive(Clone, Debug, Default)]
pub struct Directory {
    /// Names of the configured schedules.
    pub schedules: Option<Vec<String>>,
    /// Usernames.
    pub users: Option<HashSet<String>>,
    /// Skill names some user has (lower case).
    pub skills: Option<HashSet<String>>,
}

/// What the checks found: problems refuse the script, warnings are shown.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Findings {
    /// Each `file:line:col: message`; any refuses the version.
    pub problems: Vec<String>,
    /// Each `file:line:col: message`; shown with the running version.
    pub warnings: Vec<String>,
    /// What would fail in this script when it runs (a schedule the config lacks): a
    /// version is refused if a channel runs the script, else it is a warning.
    pub if_used: Vec<String>,
}

/// What scripts may call on an engine: each function's name with the signatures it is
/// registered with.
pub struct Known {
    /// Name -> (number of parameters, signature as shown to the author).
    functions: HashMap<String, Vec<(usize, String)>>,
}

impl Known {
    /// Reads the signatures of every function `engine` offers.
    pub fn of(engine: &Engine) -> Known {
        let mut functions: HashMap<String, Vec<(usize, String)>> = HashMap::new();
        for sig in engine.gen_fn_signatures(true) {
            let sig = sig.trim_start_matches("fn ").trim();
            let Some((name, arity)) = name_and_arity(sig) else {
                continue;
            };
            let shown = readable(sig.split(" -> ").next().unwrap_or(sig));
            functions.entry(name).or_default().push((arity, shown));
        }
        Known { functions }
    }

    /// The signatures `name` is registered with, as shown to script authors.
    pub fn signatures(&self, name: &str) -> Option<Vec<String>> {
        let mut forms: Vec<String> = self
            .functions
            .get(name)?
            .iter()
            .map(|(_, sig)| sig.clone())
            .collect();
        forms.sort();
        forms.dedup();
        Some(forms)
    }
}

/// A signature in a script author's words: `set_attr(_: &mut map, _: string, _:
/// types::dynamic::Dynamic)` -> `set_attr(map, string, any)`.
fn readable(sig: &str) -> String {
    sig.replace("_: ", "")
        .replace("&mut ", "")
        .replace("types::dynamic::Dynamic", "any")
        .replace("Dynamic", "any")
        .replace("ImmutableString", "string")
        .replace("&str", "string")
}

/// `name(a: A, b: B) -> R` -> (`name`, 2). Types may hold commas inside `<>` or `()`.
fn name_and_arity(sig: &str) -> Option<(String, usize)> {
    let open = sig.find('(')?;
    let name = sig[..open].trim().to_owned();
    let mut depth = 0usize;
    let mut params = 0usize;
    let mut any = false;
    for c in sig[open + 1..].chars() {
        match c {
            '(' | '<' | '[' => depth += 1,
            ')' if depth == 0 => break,
            ')' | '>' | ']' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => params += 1,
            c if !c.is_whitespace() => any = true,
            _ => {}
        }
    }
    Some((name, if any { params + 1 } else { 0 }))
}

/// The closest of `candidates` to `name`, if close enough to be a likely slip.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(name, c), c))
        .filter(|(d, c)| *d > 0 && *d <= (name.len().max(c.len()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn hint(close: Option<&str>) -> String {
    close
        .map(|c| format!("; did you mean `{c}`?"))
        .unwrap_or_default()
}

fn at(file: &str, pos: Position) -> String {
    match (pos.line(), pos.position()) {
        (Some(l), Some(c)) => format!("{file}:{l}:{c}"),
        (Some(l), None) => format!("{file}:{l}:1"),
        _ => file.to_string(),
    }
}

/// Problems in one script, each as `file:line:col: message` (or `file: message`).
pub fn lint(file: &str, ast: &AST, known: &Known, directory: &Directory) -> Findings {
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    let mut if_used = Vec::new();
    // The script's own functions: name -> the numbers of parameters it is defined with.
    let mut defined: HashMap<String, HashSet<usize>> = HashMap::new();
    for f in ast.iter_functions() {
        defined
            .entry(f.name.to_string())
            .or_default()
            .insert(f.params.len());
    }
    let mut called: HashSet<String> = HashSet::new();
    ast.walk(&mut |path: &[ASTNode]| {
        let (call, pos, receiver) = match path.last() {
            Some(ASTNode::Expr(Expr::FnCall(call, pos))) => (call, *pos, 0),
            // `x.f(a)`: the receiver is the first argument.
            Some(ASTNode::Expr(Expr::MethodCall(call, pos))) => (call, *pos, 1),
            Some(ASTNode::Stmt(Stmt::FnCall(call, pos))) => (call, *pos, 0),
            _ => return true,
        };
        if call.op_token.is_some() || !call.namespace.is_empty() {
            return true;
        }
        let name = call.name.as_str();
        called.insert(name.to_owned());
        let given = call.args.len() + receiver;
        if let Some(problem) = check_call(name, given, receiver == 1, &defined, known) {
            problems.push(format!("{}: {problem}", at(file, pos)));
        }
        for arg in call.args.iter() {
            problems.extend(
                check_options(name, arg)
                    .into_iter()
                    .map(|p| format!("{}: {p}", at(file, pos))),
            );
            warnings.extend(
                check_names(name, arg, directory)
                    .into_iter()
                    .map(|w| format!("{}: {w}", at(file, pos))),
            );
        }
        if name == "is_open"
            && let (Some(schedules), Some(text)) =
                (&directory.schedules, call.args.first().and_then(text_of))
            && !schedules.contains(&text)
        {
            let known = if schedules.is_empty() {
                "the config defines no [[schedules]]".to_owned()
            } else {
                format!("schedules: {}", schedules.join(", "))
            };
            if_used.push(format!(
                "{}: no schedule named `{text}`{} ({known})",
                at(file, pos),
                hint(did_you_mean(&text, schedules.iter().map(String::as_str)))
            ));
        }
        true
    });
    for f in ast.iter_functions() {
        match HANDLERS.iter().find(|(name, _)| *name == f.name) {
            Some((_, want)) if f.params.len() != *want => problems.push(format!(
                "{file}: handler `{}` takes {} parameter(s); the host passes {want}",
                f.name,
                f.params.len()
            )),
            Some(_) => {}
            // A helper the script calls itself may be named anything; one it never
            // calls, named like an initiator, is a misspelt initiator the host would
            // never call.
            None if f.name.starts_with("on_") && !called.contains(&*f.name) => {
                problems.push(format!(
                    "{file}: `{}` is not an initiator the host calls (they are {}){}",
                    f.name,
                    HANDLERS
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", "),
                    hint(did_you_mean(&f.name, HANDLERS.iter().map(|(n, _)| *n)))
                ))
            }
            None => {}
        }
    }
    Findings {
        problems,
        warnings,
        if_used,
    }
}

/// A preferred agent or skill names written as text in an effect's options that no user
/// has (warnings).
fn check_names(effect: &str, arg: &Expr, directory: &Directory) -> Vec<String> {
    if effect != "route" {
        return Vec::new();
    }
    let mut warnings = Vec::new();
    for (key, text) in option_texts(arg) {
        let Some(text) = text else { continue };
        match key.as_str() {
            "preferred_agent" => {
                if let Some(users) = &directory.users
                    && !users.contains(&text)
                {
                    warnings.push(format!(
                        "no user is named `{text}` (yet): until one is, this route fails{}",
                        hint(did_you_mean(&text, users.iter().map(String::as_str)))
                    ));
                }
            }
            "skills" => {
                let (Some(skills), Ok(expr)) =
                    (&directory.skills, crate::routing::SkillExpr::parse(&text))
                else {
                    continue;
                };
                for skill in expr.names() {
                    if !skills.contains(&skill.to_lowercase()) {
                        warnings.push(format!(
                            "no user has the skill `{skill}`: what needs it waits until someone does{}",
                            hint(did_you_mean(skill, skills.iter().map(String::as_str)))
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    warnings
}

/// Whether calling `name` with `given` arguments can work.
fn check_call(
    name: &str,
    given: usize,
    method: bool,
    defined: &HashMap<String, HashSet<usize>>,
    known: &Known,
) -> Option<String> {
    if BUILTINS.contains(&name) {
        return None;
    }
    let own = defined.get(name);
    let host = known.functions.get(name);
    if own.is_none() && host.is_none() {
        let names = known
            .functions
            .keys()
            .map(String::as_str)
            .chain(defined.keys().map(String::as_str));
        return Some(format!(
            "unknown function `{name}`{}",
            hint(did_you_mean(name, names))
        ));
    }
    // A script's own function called as a method takes its receiver as `this`, not as a
    // parameter.
    let fits = own.is_some_and(|n| n.contains(&given) || (method && n.contains(&(given - 1))))
        || host.is_some_and(|sigs| sigs.iter().any(|(n, _)| *n == given));
    if fits {
        return None;
    }
    let mut forms: Vec<String> = own
        .into_iter()
        .flatten()
        .map(|n| format!("{name}/{n} (this script)"))
        .collect();
    forms.extend(host.into_iter().flatten().map(|(_, sig)| sig.clone()));
    forms.sort();
    forms.dedup();
    Some(format!(
        "`{name}` is called with {given} argument(s); it takes: {}",
        forms.join(" | ")
    ))
}

/// An options map written in the call of an effect that takes one: its keys must be the
/// effect's, and a skill expression given as text must parse.
fn check_options(effect: &str, arg: &Expr) -> Vec<String> {
    let allowed = option_keys(effect);
    if allowed.is_empty() {
        return Vec::new();
    }
    let mut problems = Vec::new();
    for (key, text) in option_texts(arg) {
        if !allowed.contains(&key.as_str()) {
            problems.push(format!(
                "`{effect}` has no option `{key}`{} (its options: {})",
                hint(did_you_mean(&key, allowed.iter().copied())),
                allowed.join(", ")
            ));
        } else if key == "skills"
            && let Some(expr) = text
            && let Err(e) = crate::routing::SkillExpr::parse(&expr)
        {
            problems.push(format!("skills `{expr}` is not a skill expression: {e}"));
        }
    }
    problems
}

/// The keys of an options map written in a call, each with its value when that is text.
fn option_texts(arg: &Expr) -> Vec<(String, Option<String>)> {
    // The optimizer folds a map of constants into one constant value.
    match arg {
        Expr::Map(map, _) => map
            .0
            .iter()
            .map(|(key, value)| (key.name.to_string(), text_of(value)))
            .collect(),
        Expr::DynamicConstant(value, _) => match value.read_lock::<rhai::Map>() {
            Some(map) => map
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone().into_string().ok()))
                .collect(),
            None => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// The text of a string literal.
fn text_of(expr: &Expr) -> Option<String> {
    match expr {
        Expr::StringConstant(s, _) => Some(s.to_string()),
        Expr::DynamicConstant(v, _) => Dynamic::clone(v).into_string().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_gives_its_name_and_number_of_parameters() {
        assert_eq!(
            name_and_arity("route(ix: &mut Map, opts: Map) -> Result<(), Box<EvalAltResult>>"),
            Some(("route".into(), 2))
        );
        assert_eq!(name_and_arity("now() -> i64"), Some(("now".into(), 0)));
        assert_eq!(
            name_and_arity("f(a: HashMap<String, i64>, b: (i64, i64))"),
            Some(("f".into(), 2))
        );
    }

    #[test]
    fn a_signature_is_shown_in_a_script_authors_words() {
        assert_eq!(
            readable("set_attr(_: &mut map, _: string, _: types::dynamic::Dynamic)"),
            "set_attr(map, string, any)"
        );
    }

    #[test]
    fn a_close_name_is_suggested_and_a_far_one_is_not() {
        let handlers = HANDLERS.iter().map(|(n, _)| *n);
        assert_eq!(
            did_you_mean("on_agent_replay", handlers),
            Some("on_agent_reply")
        );
        assert_eq!(
            did_you_mean("priorty", ["workgroup", "priority"]),
            Some("priority")
        );
        assert_eq!(did_you_mean("colour", ["workgroup", "priority"]), None);
    }
}
