//! Effects: what a handler asks the host to do. Scripts queue them; the host carries
//! them out after the handler returns, in the order they were queued, so a handler that
//! fails half-way changes nothing.

use std::cell::RefCell;

use rhai::{Dynamic, Engine, EvalAltResult, Map};

use crate::model::effect::DEFAULT_WAIT_MS;
use crate::model::interaction::MediaType;
use crate::model::{Effect, RouteRequest};

type Fallible<T = ()> = Result<T, Box<EvalAltResult>>;

thread_local! {
    /// Effects queued by the handler running on this thread.
    static EFFECTS: RefCell<Vec<Effect>> = const { RefCell::new(Vec::new()) };
}

/// Clears the queue before a call.
pub(super) fn begin() {
    EFFECTS.with(|e| e.borrow_mut().clear());
}

/// Takes what the call queued.
pub(super) fn take() -> Vec<Effect> {
    EFFECTS.with(|e| std::mem::take(&mut *e.borrow_mut()))
}

fn push(effect: Effect) {
    EFFECTS.with(|e| e.borrow_mut().push(effect));
}

/// Reads an optional string option; `()` counts as absent.
fn opt_string(fn_name: &str, opts: &Map, key: &str) -> Fallible<Option<String>> {
    match opts.get(key) {
        None => Ok(None),
        Some(v) if v.is_unit() => Ok(None),
        Some(v) => v
            .clone()
            .into_string()
            .map(Some)
            .map_err(|t| format!("{fn_name}: {key} must be a string, not {t}").into()),
    }
}

/// Reads an optional integer option within `range`.
fn opt_int(
    fn_name: &str,
    opts: &Map,
    key: &str,
    default: i64,
    range: std::ops::RangeInclusive<i64>,
) -> Fallible<i64> {
    let value = match opts.get(key) {
        None => default,
        Some(v) if v.is_unit() => default,
        Some(v) => v
            .as_int()
            .map_err(|t| format!("{fn_name}: {key} must be an integer, not {t}"))?,
    };
    if !range.contains(&value) {
        return Err(format!(
            "{fn_name}: {key} is {value}; it must be {} to {}",
            range.start(),
            range.end()
        )
        .into());
    }
    Ok(value)
}

/// The options each effect that takes an options map knows. The load-time check
/// (`lint`) reads them too, so a misspelt key in a map written in the call is refused
/// when the script is saved, not when a message first runs it.
pub(super) const OPTIONS: &[(&str, &[&str])] = &[
    (
        "route",
        &[
            "workgroup",
            "priority",
            "skills",
            "preferred_agent",
            "wait_ms",
        ],
    ),
    (
        "buffer",
        &["until_free_agent_of", "recheck_ms", "max_wait_ms"],
    ),
    ("group", &["key", "timeout_s"]),
    ("send", &["visibility", "retries", "backoff_ms"]),
];

/// The options `fn_name` knows (none for an effect without options).
pub(super) fn option_keys(fn_name: &str) -> &'static [&'static str] {
    OPTIONS
        .iter()
        .find(|(name, _)| *name == fn_name)
        .map_or(&[], |(_, keys)| keys)
}

fn check_keys(fn_name: &str, opts: &Map, allowed: &[&str]) -> Fallible {
    for key in opts.keys() {
        if !allowed.contains(&key.as_str()) {
            return Err(format!(
                "{fn_name}: unknown option `{key}` (options: {})",
                allowed.join(", ")
            )
            .into());
        }
    }
    Ok(())
}

fn field(ix: &Map, key: &str) -> Option<String> {
    ix.get(key).and_then(|v| v.clone().into_string().ok())
}

fn route(ix: &mut Map, opts: Map) -> Fallible {
    const F: &str = "route";
    check_keys(F, &opts, option_keys(F))?;
    let media_type = match field(ix, "visibility").as_deref() {
        Some("private") => MediaType::SocialDirectMessage,
        _ => MediaType::SocialConversation,
    };
    let channel_group = match media_type {
        MediaType::SocialDirectMessage => "dm_workgroup",
        MediaType::SocialConversation => "workgroup",
    };
    let workgroup = match opt_string(F, &opts, "workgroup")? {
        Some(w) => w,
        None => {
            field(ix, channel_group).ok_or("route: no workgroup given and the channel has none")?
        }
    };
    if workgroup.is_empty() {
        return Err("route: workgroup is empty".into());
    }
    let skills = opt_string(F, &opts, "skills")?;
    if let Some(expr) = &skills {
        crate::routing::SkillExpr::parse(expr).map_err(|e| format!("route: {e}"))?;
    }
    let preferred_agent = opt_string(F, &opts, "preferred_agent")?;
    if let Some(name) = &preferred_agent {
        known_user(F, name)?;
    }
    push(Effect::Route(RouteRequest {
        workgroup,
        priority: opt_int(F, &opts, "priority", 0, -1000..=1000)?,
        media_type,
        skills,
        preferred_agent,
        wait_ms: opt_int(F, &opts, "wait_ms", DEFAULT_WAIT_MS, 0..=86_400_000)?,
    }));
    Ok(())
}

/// A preferred agent named in a script must exist: a misspelt name would otherwise
/// quietly mean "anyone". (A world that cannot tell lets it pass.)
fn known_user(fn_name: &str, name: &str) -> Fallible {
    if name.is_empty() {
        return Err(
            format!("{fn_name}: preferred_agent is empty (leave it out for anyone)").into(),
        );
    }
    let exists = super::world::current(|ctx| ctx.and_then(|c| c.world.user_exists(name)));
    match exists {
        Some(false) => Err(format!("{fn_name}: there is no user named `{name}`").into()),
        _ => Ok(()),
    }
}

/// `existing` may be an interaction map (from `find_active`) or its id.
fn merge_into(existing: Dynamic, _ix: Map) -> Fallible {
    let id = if let Some(map) = existing.clone().try_cast::<Map>() {
        map.get("id").and_then(|v| v.as_int().ok())
    } else {
        existing.as_int().ok()
    };
    let interaction = id.ok_or(
        "merge_into: the first argument must be an interaction (from find_active) or its id",
    )?;
    push(Effect::MergeInto { interaction });
    Ok(())
}

fn buffer(ix: &mut Map, opts: Map) -> Fallible {
    const F: &str = "buffer";
    check_keys(F, &opts, option_keys(F))?;
    let thread = match opt_string(F, &opts, "until_free_agent_of")? {
        Some(t) => t,
        None => field(ix, "thread_id").ok_or("buffer: no thread given")?,
    };
    let max_wait_ms = match opts.get("max_wait_ms") {
        None => None,
        Some(v) if v.is_unit() => None,
        Some(_) => Some(opt_int(F, &opts, "max_wait_ms", 0, 0..=86_400_000)?),
    };
    push(Effect::Buffer {
        thread,
        recheck_ms: opt_int(F, &opts, "recheck_ms", 5_000, 100..=3_600_000)?,
        max_wait_ms,
    });
    Ok(())
}

fn group(ix: &mut Map, opts: Map) -> Fallible {
    const F: &str = "group";
    check_keys(F, &opts, option_keys(F))?;
    let key = opt_string(F, &opts, "key")?.ok_or("group: a key is required")?;
    if key.is_empty() {
        return Err("group: key is empty".into());
    }
    let default = ix
        .get("grouping_timeout_s")
        .and_then(|v| v.as_int().ok())
        .filter(|t| *t > 0)
        .unwrap_or(60);
    push(Effect::Group {
        key,
        timeout_s: opt_int(F, &opts, "timeout_s", default, 10..=3600)?,
    });
    Ok(())
}

fn set_attr(ix: &mut Map, key: &str, value: Dynamic) -> Fallible {
    if key.is_empty() || key.len() > 64 {
        return Err(format!("set_attr: key `{key}` must be 1 to 64 characters").into());
    }
    let value = value.to_string();
    if value.len() > 4096 {
        return Err(format!("set_attr: value of `{key}` is over 4096 bytes").into());
    }
    // Later steps of the same handler read what earlier ones attached.
    if let Some(attrs) = ix.get_mut("attrs")
        && let Some(mut map) = attrs.write_lock::<Map>()
    {
        map.insert(key.into(), value.clone().into());
    }
    push(Effect::SetAttr {
        key: key.into(),
        value,
    });
    Ok(())
}

fn set_desktop_flags(ix: &mut Map, sentiment: &str, actionable: bool, expand: bool) -> Fallible {
    if !["positive", "neutral", "negative"].contains(&sentiment) {
        return Err(format!(
            "set_desktop_flags: sentiment `{sentiment}` must be positive, neutral or negative"
        )
        .into());
    }
    for (key, value) in [
        ("desktop_sentiment", sentiment.to_string()),
        ("desktop_actionable", actionable.to_string()),
        ("desktop_expand", expand.to_string()),
    ] {
        if let Some(attrs) = ix.get_mut("attrs")
            && let Some(mut map) = attrs.write_lock::<Map>()
        {
            map.insert(key.into(), value.into());
        }
    }
    push(Effect::DesktopFlags {
        sentiment: sentiment.into(),
        actionable,
        expand,
    });
    Ok(())
}

fn send(_ix: &mut Map, text: &str, opts: Map) -> Fallible {
    const F: &str = "send";
    check_keys(F, &opts, option_keys(F))?;
    if text.trim().is_empty() {
        return Err("send: text is empty".into());
    }
    if text.chars().count() > 8000 {
        return Err("send: text is over 8000 characters".into());
    }
    let visibility = opt_string(F, &opts, "visibility")?;
    if let Some(v) = &visibility
        && v != "public"
        && v != "private"
    {
        return Err(format!("send: visibility `{v}` must be public or private").into());
    }
    push(Effect::Send {
        text: text.into(),
        visibility,
        retries: opt_int(F, &opts, "retries", 3, 0..=10)?,
        backoff_ms: opt_int(F, &opts, "backoff_ms", 1_000, 100..=600_000)?,
    });
    Ok(())
}

fn schedule(_ix: &mut Map, name: &str, delay_ms: i64) -> Fallible {
    if name.is_empty() || name.len() > 64 {
        return Err(format!("schedule: name `{name}` must be 1 to 64 characters").into());
    }
    if !(0..=7 * 86_400_000).contains(&delay_ms) {
        return Err(format!("schedule: delay_ms {delay_ms} must be 0 to 7 days").into());
    }
    push(Effect::Schedule {
        name: name.into(),
        delay_ms,
    });
    Ok(())
}

fn cancel(_ix: &mut Map, name: &str) -> Fallible {
    if name.is_empty() || name.len() > 64 {
        return Err(format!("cancel: name `{name}` must be 1 to 64 characters").into());
    }
    push(Effect::Cancel { name: name.into() });
    Ok(())
}

/// Registers every effect function on `engine`.
pub fn register(engine: &mut Engine) {
    engine.register_fn("route", route);
    engine.register_fn("route", |ix: &mut Map| route(ix, Map::new()));
    engine.register_fn("stop", |_ix: &mut Map, reason: &str| {
        push(Effect::Stop {
            reason: reason.into(),
        })
    });
    engine.register_fn("merge_into", merge_into);
    engine.register_fn("buffer", buffer);
    engine.register_fn("buffer", |ix: &mut Map| buffer(ix, Map::new()));
    engine.register_fn("group", group);
    engine.register_fn("set_attr", set_attr);
    engine.register_fn("set_desktop_flags", set_desktop_flags);
    engine.register_fn("send", send);
    engine.register_fn("send", |ix: &mut Map, text: &str| {
        send(ix, text, Map::new())
    });
    engine.register_fn("schedule", schedule);
    engine.register_fn("cancel", cancel);
}
