//! Tool steps: functions scripts call to learn something, each with named exit paths or
//! a plain value. They never change anything; effects do.

use rhai::{Dynamic, Engine, EvalAltResult, Map};

use super::world::{self, FindBy};

type Fallible<T> = Result<T, Box<EvalAltResult>>;

/// The Query Media Type step: `social_conversation`, `social_direct_message` or `other`.
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

fn find_active(query: Map) -> Fallible<Dynamic> {
    if let Some(id) = query.get("message_id") {
        if query.len() != 1 {
            return Err("find_active: message_id cannot be combined with other keys".into());
        }
        let id = id
            .clone()
            .into_string()
            .map_err(|t| format!("find_active: message_id must be a string, not {t}"))?;
        return Ok(lookup(&FindBy::Message(id)));
    }
    let text = |key: &str| {
        query
            .get(key)
            .map(|v| {
                v.clone()
                    .into_string()
                    .map_err(|t| format!("find_active: {key} must be a string, not {t}"))
            })
            .transpose()
    };
    let by = match (
        text("post_id")?.or(text("thread_id")?),
        text("author_id")?,
        text("group")?,
    ) {
        (Some(t), None, None) => FindBy::Thread(t),
        (None, Some(a), None) => FindBy::Author(a),
        (None, None, Some(g)) => FindBy::Group(g),
        _ => {
            return Err(
                "find_active: give exactly one of post_id (or thread_id), author_id, group, message_id".into(),
            );
        }
    };
    Ok(lookup(&by))
}

fn lookup(by: &FindBy) -> Dynamic {
    world::current(|ctx| {
        ctx.and_then(|c| c.world.find_active(&c.channel, by))
            .map(|a| Dynamic::from(a.to_map()))
            .unwrap_or(Dynamic::UNIT)
    })
}

fn agent_handling(thread: &str) -> Dynamic {
    world::current(|ctx| {
        ctx.and_then(|c| c.world.agent_handling(&c.channel, thread))
            .map(Dynamic::from)
            .unwrap_or(Dynamic::UNIT)
    })
}

fn last_agent(ix: &mut Map) -> Dynamic {
    let Some(author) = ix
        .get("author_id")
        .and_then(|v| v.clone().into_string().ok())
    else {
        return Dynamic::UNIT;
    };
    world::current(|ctx| {
        ctx.and_then(|c| c.world.last_agent(&c.channel, &author))
            .map(Dynamic::from)
            .unwrap_or(Dynamic::UNIT)
    })
}

fn classify(ix: &mut Map) -> Map {
    let text = ix
        .get("text")
        .and_then(|v| v.clone().into_string().ok())
        .unwrap_or_default();
    let language = ix
        .get("language")
        .and_then(|v| v.clone().into_string().ok());
    world::current(|ctx| {
        let shipped;
        let rules = match ctx {
            Some(c) => &*c.rules,
            None => {
                shipped = super::classify::Rules::shipped();
                &shipped
            }
        };
        rules.classify(&text, language.as_deref()).to_map()
    })
}

fn influence(ix: &mut Map) -> Map {
    super::classify::influence(ix.get("followers").and_then(|v| v.as_int().ok()))
}

/// The time now, unix ms, as the world says (virtual in fixtures and replay).
fn now() -> i64 {
    world::current(|ctx| ctx.map_or_else(crate::clock::now_ms, |c| c.world.now()))
}

/// Whether the organisation's schedule `name` is open now.
fn is_open(name: &str) -> Fallible<bool> {
    world::current(|ctx| {
        let Some(c) = ctx else {
            return Err("is_open: no schedules outside a handler".into());
        };
        c.world
            .organisation()
            .is_open(name, c.world.now())
            .map_err(|e| format!("is_open: {e}").into())
    })
}

/// A workgroup's queue now: `#{ waiting, available, longest_wait_ms }`.
fn queue_facts(workgroup: &str) -> Fallible<Map> {
    if workgroup.is_empty() {
        return Err("queue_facts: the workgroup is empty".into());
    }
    Ok(world::current(|ctx| {
        ctx.map(|c| c.world.queue(workgroup))
            .unwrap_or_default()
            .to_map()
    }))
}

/// Registers every tool step on `engine`.
pub fn register(engine: &mut Engine) {
    engine.register_fn("query_media_type", |ix: &mut Map| {
        query_media_type(ix).to_string()
    });
    engine.register_fn("find_active", find_active);
    engine.register_fn("agent_handling", agent_handling);
    engine.register_fn("last_agent", last_agent);
    engine.register_fn("classify", classify);
    engine.register_fn("influence", influence);
    engine.register_fn("now", now);
    engine.register_fn("is_open", is_open);
    engine.register_fn("queue_facts", queue_facts);
}
