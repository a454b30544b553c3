//! A workflow's decision for one new message, in the shape the store carries out.
//!
//! `on_inbound` queues effects in any order; [`Plan::from_effects`] reduces them to one
//! disposition (where the message goes) plus the side effects for the interaction it
//! ends in. The rules are in `workflows/README.md` ("What the host does with effects").

use crate::model::Effect;
use crate::model::route::RouteRequest;

/// Where a new message goes.
#[derive(Clone, Debug, PartialEq)]
pub enum Disposition {
    /// Stored, not routed.
    Stop(String),
    /// Joins this live interaction (or falls back when it ended meanwhile).
    Merge(i64),
    /// Held until `agent` (who has `thread` now) is free of it.
    Buffer {
        /// The thread whose agent it waits for.
        thread: String,
        /// How often to check, ms.
        recheck_ms: i64,
        /// Username of the agent who had the thread when the workflow decided.
        agent: Option<String>,
        /// The longest it waits for that agent from its arrival, ms (`None`: until the
        /// agent is free, then the route's `wait_ms`).
        max_wait_ms: Option<i64>,
    },
    /// Collected with messages of the same key, routed as one after `timeout_s`.
    Group {
        /// The group key.
        key: String,
        /// How long the group stays open, s.
        timeout_s: i64,
    },
    /// Joins the live interaction of its thread, or starts one queued by `Plan::route`.
    Route,
}

/// A message sent by the workflow (`send`).
#[derive(Clone, Debug, PartialEq)]
pub struct Send {
    /// The text.
    pub text: String,
    /// `public`/`private`; `None`: like the customer's message.
    pub visibility: Option<String>,
    /// Further attempts after the first.
    pub retries: i64,
    /// First retry delay, ms.
    pub backoff_ms: i64,
}

/// What a handler asked for besides where its interaction goes: attributes, messages
/// to send and timers. The same for every handler (`on_inbound`, `on_timer`,
/// `on_disconnect`, `on_agent_reply`), so they are sorted out in one place.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Side {
    /// Attributes for the interaction.
    pub attrs: Vec<(String, String)>,
    /// Messages to send on it.
    pub sends: Vec<Send>,
    /// `on_timer` calls to schedule: (name, delay ms).
    pub timers: Vec<(String, i64)>,
    /// Names of pending `on_timer` calls to drop (before the ones above are added).
    pub cancels: Vec<String>,
}

impl Side {
    /// Keeps `effect` if it is a side effect; hands back any other (`route`, `stop`,
    /// `merge_into`, `buffer`, `group`) for the caller to decide.
    pub fn take(&mut self, effect: Effect) -> Option<Effect> {
        match effect {
            Effect::SetAttr { key, value } => self.attrs.push((key, value)),
            Effect::DesktopFlags {
                sentiment,
                actionable,
                expand,
            } => self
                .attrs
                .extend(desktop_attrs(sentiment, actionable, expand)),
            Effect::Send {
                text,
                visibility,
                retries,
                backoff_ms,
            } => self.sends.push(Send {
                text,
                visibility,
                retries,
                backoff_ms,
            }),
            Effect::Schedule { name, delay_ms } => self.timers.push((name, delay_ms)),
            Effect::Cancel { name } => self.cancels.push(name),
            other => return Some(other),
        }
        None
    }
}

/// Everything the store does for one message.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// Where it goes.
    pub disposition: Disposition,
    /// How a new (or released) interaction is queued.
    pub route: RouteRequest,
    /// Attributes, sends and timers for the interaction it ends in.
    pub side: Side,
    /// The workflow failed, and this is the channel's route: why (shown on the
    /// interaction, which can be searched for).
    pub failed: Option<String>,
    /// The script chose `route` itself (a merge may then raise the priority of the
    /// interaction it joins).
    pub routed: bool,
    /// What the workflow decided, for the interaction's trace (see
    /// [`crate::model::effect::decision`]).
    pub decided: Option<String>,
}

impl Plan {
    /// The plan when the workflow failed or said nothing: join or queue by the channel.
    pub fn fallback(route: RouteRequest) -> Plan {
        Plan {
            disposition: Disposition::Route,
            route,
            side: Side::default(),
            failed: None,
            routed: false,
            decided: None,
        }
    }

    /// The channel's route after the workflow failed with `error`.
    pub fn after_failure(route: RouteRequest, error: &str) -> Plan {
        Plan {
            failed: Some(error.to_owned()),
            ..Plan::fallback(route)
        }
    }

    /// Reduces `effects` to a plan. `agent_of` answers `agent_handling(thread)` for a
    /// buffer, so the release knows whom to deliver to.
    pub fn from_effects(
        effects: Vec<Effect>,
        fallback: RouteRequest,
        agent_of: impl Fn(&str) -> Option<String>,
    ) -> Plan {
        let mut plan = Plan::fallback(fallback);
        let mut decided = false;
        for effect in effects {
            let Some(effect) = plan.side.take(effect) else {
                continue;
            };
            let disposition = match effect {
                Effect::Route(r) => {
                    if !plan.routed {
                        plan.route = r;
                        plan.routed = true;
                    }
                    None
                }
                Effect::Stop { reason } => Some(Disposition::Stop(reason)),
                Effect::MergeInto { interaction } => Some(Disposition::Merge(interaction)),
                Effect::Buffer {
                    thread,
                    recheck_ms,
                    max_wait_ms,
                } => Some(Disposition::Buffer {
                    agent: agent_of(&thread),
                    thread,
                    recheck_ms,
                    max_wait_ms,
                }),
                Effect::Group { key, timeout_s } => Some(Disposition::Group { key, timeout_s }),
                _ => None, // side effects, taken above
            };
            if let Some(d) = disposition
                && !decided
            {
                plan.disposition = d;
                decided = true;
            }
        }
        plan
    }
}

/// The attributes `set_desktop_flags` stands for.
pub fn desktop_attrs(sentiment: String, actionable: bool, expand: bool) -> [(String, String); 3] {
    [
        ("desktop_sentiment".into(), sentiment),
        ("desktop_actionable".into(), actionable.to_string()),
        ("desktop_expand".into(), expand.to_string()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::interaction::MediaType;

    fn route(workgroup: &str) -> RouteRequest {
        RouteRequest {
            workgroup: workgroup.into(),
            priority: 0,
            media_type: MediaType::SocialConversation,
            skills: None,
            preferred_agent: None,
            wait_ms: 0,
        }
    }

    #[test]
    fn the_first_disposition_wins_and_the_first_route_is_kept_for_release() {
        let plan = Plan::from_effects(
            vec![
                Effect::SetAttr {
                    key: "a".into(),
                    value: "1".into(),
                },
                Effect::Buffer {
                    thread: "p1".into(),
                    recheck_ms: 500,
                    max_wait_ms: None,
                },
                Effect::Route(route("Social")),
                Effect::Stop { reason: "x".into() },
                Effect::Route(route("Other")),
            ],
            route("Fallback"),
            |t| (t == "p1").then(|| "agent1".to_string()),
        );
        assert_eq!(
            plan.disposition,
            Disposition::Buffer {
                thread: "p1".into(),
                recheck_ms: 500,
                agent: Some("agent1".into()),
                max_wait_ms: None,
            }
        );
        assert_eq!(plan.route.workgroup, "Social");
        assert_eq!(plan.side.attrs, vec![("a".to_string(), "1".to_string())]);
    }

    #[test]
    fn no_effects_means_the_channel_route() {
        let plan = Plan::from_effects(Vec::new(), route("Fallback"), |_| None);
        assert_eq!(plan, Plan::fallback(route("Fallback")));
    }
}
