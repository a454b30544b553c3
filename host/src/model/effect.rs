//! Effects: what a workflow handler asks the host to do (`interactions::effects` carries
//! them out; `workflow` produces them from a script's calls).

use std::fmt;

use crate::model::RouteRequest;

/// Something a script asked the host to do.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Queue the interaction as the request says.
    Route(RouteRequest),
    /// Do not route (a new message stays stored; a waiting interaction ends).
    Stop {
        /// Why, for the log and the history.
        reason: String,
    },
    /// Add the message to another live interaction.
    MergeInto {
        /// The interaction to join.
        interaction: i64,
    },
    /// Hold the message until the agent who has `thread` is free of it, then deliver it
    /// to that agent.
    Buffer {
        /// The thread whose agent it waits for.
        thread: String,
        /// How often to check, ms.
        recheck_ms: i64,
        /// The longest it waits for that agent, from its arrival, ms; then anyone may
        /// have it. `None`: until the agent is free, then the route's `wait_ms`.
        max_wait_ms: Option<i64>,
    },
    /// Collect messages with the same key for `timeout_s`, then route them as one.
    Group {
        /// What the messages have in common (a sender, a topic).
        key: String,
        /// How long the group stays open, seconds.
        timeout_s: i64,
    },
    /// Attach a key-value pair the agent sees.
    SetAttr {
        /// Attribute name.
        key: String,
        /// Its value.
        value: String,
    },
    /// The flags the desktop shows.
    DesktopFlags {
        /// `positive`, `neutral` or `negative`.
        sentiment: String,
        /// Whether the message wants an answer.
        actionable: bool,
        /// Whether the desktop opens it expanded.
        expand: bool,
    },
    /// Send a message to the customer through the channel.
    Send {
        /// The text.
        text: String,
        /// `public` or `private`; `None`: like the customer's message.
        visibility: Option<String>,
        /// Further attempts after the first, on transient errors.
        retries: i64,
        /// Wait before the first retry, ms (doubling after).
        backoff_ms: i64,
    },
    /// Fire `on_timer(ix, name)` after `delay_ms`.
    Schedule {
        /// Passed to `on_timer`.
        name: String,
        /// From now, ms.
        delay_ms: i64,
    },
    /// Drop the interaction's pending `schedule`s named `name`.
    Cancel {
        /// The timer's name.
        name: String,
    },
}

/// What a handler decided, for an interaction's trace: `v3 facebook_bp.rhai on_inbound:
/// route workgroup=Social priority=0; set_attr k="v"` (`no effect` when it queued none).
/// `handler` names the handler, and the script when the caller knows it.
pub fn decision(version: i64, handler: &str, effects: &[Effect]) -> String {
    let lines: Vec<String> = effects.iter().map(ToString::to_string).collect();
    let what = if lines.is_empty() {
        "no effect".to_owned()
    } else {
        lines.join("; ")
    };
    format!("v{version} {handler}: {what}")
}

/// The `wait_ms` a `route` has when the script does not give one.
pub const DEFAULT_WAIT_MS: i64 = 30_000;

/// The one-line form fixtures compare against, e.g.
/// `route workgroup=Social priority=0 skills="fb >= 1"`.
impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Effect::Route(r) => {
                write!(f, "route workgroup={} priority={}", r.workgroup, r.priority)?;
                if let Some(s) = &r.skills {
                    write!(f, " skills={s:?}")?;
                }
                if let Some(a) = &r.preferred_agent {
                    write!(f, " preferred_agent={a}")?;
                }
                if r.preferred_agent.is_some() || r.wait_ms != DEFAULT_WAIT_MS {
                    write!(f, " wait_ms={}", r.wait_ms)?;
                }
                Ok(())
            }
            Effect::Stop { reason } => write!(f, "stop {reason:?}"),
            Effect::MergeInto { interaction } => write!(f, "merge_into {interaction}"),
            Effect::Buffer {
                thread,
                recheck_ms,
                max_wait_ms,
            } => {
                write!(
                    f,
                    "buffer until_free_agent_of={thread} recheck_ms={recheck_ms}"
                )?;
                match max_wait_ms {
                    Some(ms) => write!(f, " max_wait_ms={ms}"),
                    None => Ok(()),
                }
            }
            Effect::Group { key, timeout_s } => write!(f, "group key={key} timeout_s={timeout_s}"),
            Effect::SetAttr { key, value } => write!(f, "set_attr {key}={value:?}"),
            Effect::DesktopFlags {
                sentiment,
                actionable,
                expand,
            } => write!(
                f,
                "desktop_flags sentiment={sentiment} actionable={actionable} expand={expand}"
            ),
            Effect::Send {
                text,
                visibility,
                retries,
                backoff_ms,
            } => {
                write!(f, "send {text:?}")?;
                if let Some(v) = visibility {
                    write!(f, " visibility={v}")?;
                }
                write!(f, " retries={retries} backoff_ms={backoff_ms}")
            }
            Effect::Schedule { name, delay_ms } => write!(f, "schedule {name} in {delay_ms}ms"),
            Effect::Cancel { name } => write!(f, "cancel {name}"),
        }
    }
}
