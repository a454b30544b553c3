//! The one executor of workflow effects. Whatever handler asked (`on_inbound` for a new
//! message, `on_timer` or `on_disconnect` for a live interaction, `on_agent_reply` for a
//! reply), its effects are carried out here, inside the caller's store transaction, so
//! they commit with what caused them or not at all. The store writes the rows; the rules
//! of what applies when live here, once:
//!
//! - where a new message goes: its plan's disposition (join, queue, buffer, group, keep);
//! - `route` and `stop` on a live interaction only while it still waits as the handler
//!   saw it (an agent who picked it up meanwhile keeps it): the router's view is checked
//!   by the caller in the step that submits the write (`interactions::waiting`), the
//!   store's here, in the write;
//! - side effects ([`Side`]: attributes, sends, timers) on the interaction the message
//!   or hook belongs to; sends go to the outbox and are returned for the caller to start
//!   after commit (the outbox row is the durable record, see `outbound`).

use crate::store::Tx;
use anyhow::Result;

use crate::model::Effect;
use crate::model::RouteRequest;
use crate::model::event::InboundMessage;
use crate::model::interaction::{Interaction, MediaType, State, Visibility};
use crate::model::plan::{Disposition, Plan, Side};
use crate::model::reply::OutboundReply;
use crate::store::jobs::{self, JobKind};
use crate::store::outbox;
use crate::store::queries::{self, record_event};
use crate::store::workflow::{self as store_wf, Released, TimerKind};

/// What storing one inbound message did.
#[derive(Debug, Clone)]
pub enum Stored {
    /// Seen before: nothing changed.
    Duplicate,
    /// Stored and added to a live interaction (its thread's, or the one the workflow
    /// merged it into, or an open buffer or group).
    Joined(i64),
    /// Stored as the start of a new queued interaction.
    Created(Box<Interaction>),
    /// Stored as the start of an interaction the workflow holds (`buffer`, `group`).
    Buffered(i64),
    /// Stored without routing (the business's own message, or the workflow stopped it).
    Kept,
}

/// Whom a workflow's `send` answers.
struct Answer<'a> {
    channel: &'a str,
    thread: &'a str,
    reply_to: Option<String>,
    recipient: Option<String>,
    /// The customer's visibility, used when the `send` does not choose one.
    visibility: Visibility,
}

/// The attribute and event that mark a message which took the channel's route because
/// its workflow failed.
pub const FALLBACK: &str = "workflow_fallback";

/// Stores one inbound message exactly once and carries out the workflow's plan for it:
/// join a live interaction, start one (queued or buffered), or keep it aside; then the
/// plan's side effects (sends are pushed to `outbox`, to start after commit). `plan` is
/// `None` for the business's own messages, which are never routed.
///
/// This is the hot path of ingest: every statement is prepared once per connection.
/// It runs on the single writer, so the dedupe check and the insert cannot interleave
/// with another write; the unique constraints stand behind it anyway.
pub fn store_inbound(
    conn: &Tx,
    channel: &str,
    msg: &InboundMessage,
    plan: Option<&Plan>,
    workflow_version: i64,
    now: i64,
    outbox: &mut Vec<i64>,
) -> Result<Stored> {
    if queries::message_seen(conn, channel, &msg.platform_message_id)? {
        return Ok(Stored::Duplicate);
    }
    let stored = match plan {
        Some(plan) if !msg.from_business => place(conn, channel, msg, plan, workflow_version, now)?,
        _ => Stored::Kept,
    };
    let interaction_id = match &stored {
        Stored::Joined(id) | Stored::Buffered(id) => Some(*id),
        Stored::Created(ix) => Some(ix.id),
        // The business's own comment still belongs in the thread's transcript.
        Stored::Kept if msg.from_business => {
            store_wf::live_routable(conn, channel, &msg.thread_id)?
        }
        _ => None,
    };
    queries::insert_message(conn, channel, msg, interaction_id, now)?;
    // The workflow's decision rides on the event the message makes (no row of its own on
    // the hot path): the trace shows it.
    let decided = plan.and_then(|p| p.decided.as_deref());
    match &stored {
        Stored::Joined(id) => {
            record_event(conn, *id, now, "message", State::Queued, None, decided)?
        }
        Stored::Created(ix) => {
            record_event(conn, ix.id, now, "created", State::Queued, None, decided)?
        }
        Stored::Buffered(id) => {
            record_event(conn, *id, now, "buffered", State::Buffered, None, decided)?
        }
        _ => {}
    }
    if let (Some(plan), Some(id)) = (plan, interaction_id)
        && !msg.from_business
    {
        // Where the customer came from (an ad referral, a private reply) is shown to
        // the agent without any script having to copy it; the workflow's own
        // attributes win (they are set after).
        let origin: Vec<(String, String)> = msg
            .metadata
            .iter()
            .filter(|(k, _)| k.starts_with("referral_") || k.starts_with("linked_"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        store_wf::set_attrs(conn, id, &origin)?;
        if let Some(error) = &plan.failed {
            // Marked where a supervisor looks (the attribute, searchable) and when (the
            // event): this message took the channel's route because the script failed.
            let state = match &stored {
                Stored::Buffered(_) => State::Buffered,
                _ => State::Queued,
            };
            record_event(conn, id, now, FALLBACK, state, None, Some(error))?;
            let first = error.lines().next().unwrap_or_default();
            let short: String = first.chars().take(300).collect();
            store_wf::set_attrs(conn, id, &[(FALLBACK.to_owned(), short)])?;
        }
        let side = &plan.side;
        let answer = Answer {
            channel,
            thread: &msg.thread_id,
            reply_to: Some(msg.platform_message_id.clone()),
            recipient: Some(msg.author_id.clone()),
            visibility: msg.visibility,
        };
        side_effects(conn, id, side, Some(&answer), now, outbox)?;
    }
    Ok(stored)
}

/// Where a customer's message goes, per the plan.
fn place(
    conn: &Tx,
    channel: &str,
    msg: &InboundMessage,
    plan: &Plan,
    version: i64,
    now: i64,
) -> Result<Stored> {
    let start = |state: State| {
        queries::insert_interaction(conn, channel, msg, &plan.route, state, version, now)
    };
    match &plan.disposition {
        Disposition::Stop(_) => Ok(Stored::Kept),
        Disposition::Merge(id) if store_wf::is_live(conn, *id)? => {
            if plan.routed {
                raise_priority(conn, *id, plan.route.priority, now)?;
            }
            Ok(Stored::Joined(*id))
        }
        Disposition::Merge(_) | Disposition::Route => Ok(
            match store_wf::live_routable(conn, channel, &msg.thread_id)? {
                Some(id) => Stored::Joined(id),
                None => Stored::Created(Box::new(start(State::Queued)?)),
            },
        ),
        Disposition::Buffer {
            thread,
            recheck_ms,
            agent,
            max_wait_ms,
        } => {
            if let Some(id) = store_wf::open_buffer(conn, channel, &msg.thread_id)? {
                return Ok(Stored::Joined(id));
            }
            let agent_id = match agent {
                Some(name) => queries::user_id(conn, name)?,
                None => None,
            };
            let ix = start(State::Buffered)?;
            let until = max_wait_ms.map(|ms| now + ms);
            let buffer = store_wf::BufferFor {
                thread: thread.clone(),
                agent: agent_id,
                until,
            };
            store_wf::mark_buffered(conn, ix.id, Some(&buffer), None)?;
            let due = now + recheck_ms;
            store_wf::add_timer(conn, ix.id, TimerKind::Recheck, "", *recheck_ms, due)?;
            if let Some(until) = until {
                // Then anyone: released to its queue even if that agent is still busy.
                store_wf::add_timer(conn, ix.id, TimerKind::Release, "", 0, until)?;
            }
            Ok(Stored::Buffered(ix.id))
        }
        Disposition::Group { key, timeout_s } => {
            if let Some(id) = store_wf::open_group(conn, channel, key)? {
                return Ok(Stored::Joined(id));
            }
            let ix = start(State::Buffered)?;
            store_wf::mark_buffered(conn, ix.id, None, Some(key))?;
            let due = now + timeout_s * 1000;
            store_wf::add_timer(conn, ix.id, TimerKind::Release, "", 0, due)?;
            Ok(Stored::Buffered(ix.id))
        }
    }
}

/// A message merged into a queued interaction with a `route` of its own may raise that
/// interaction's priority (a VIP's comment on a waiting post), never lower it; one an
/// agent has already is theirs as it is. A durable `requeue` job brings the router in
/// line with the new priority.
fn raise_priority(conn: &Tx, id: i64, priority: i64, now: i64) -> Result<()> {
    if let Some(ix) = queries::interaction(conn, id)?
        && ix.state == State::Queued
        && priority > ix.priority
    {
        queries::set_priority(conn, id, priority)?;
        let why = format!("priority {} → {priority} by a merged message", ix.priority);
        record_event(
            conn,
            id,
            now,
            "reprioritized",
            State::Queued,
            None,
            Some(&why),
        )?;
        jobs::enqueue(conn, JobKind::Requeue, id, now)?;
    }
    Ok(())
}

/// Attributes, timers and sends on interaction `id`. Sends need `answer` (whom they
/// go to); without one they are not expected (`on_agent_reply` hands its sends to the
/// reply it rewrites).
fn side_effects(
    conn: &Tx,
    id: i64,
    side: &Side,
    answer: Option<&Answer>,
    now: i64,
    outbox: &mut Vec<i64>,
) -> Result<()> {
    if !side.attrs.is_empty() {
        store_wf::set_attrs(conn, id, &side.attrs)?;
    }
    for name in &side.cancels {
        store_wf::cancel_timers(conn, id, name)?;
    }
    for (name, delay) in &side.timers {
        store_wf::add_timer(conn, id, TimerKind::Script, name, 0, now + delay)?;
    }
    let Some(answer) = answer else {
        return Ok(());
    };
    for send in &side.sends {
        let reply = OutboundReply::from_workflow(
            id,
            answer.channel,
            answer.thread,
            answer.reply_to.clone(),
            answer.recipient.clone(),
            answer.visibility,
            send,
        );
        outbox.push(outbox::enqueue(conn, &reply, now)?);
    }
    Ok(())
}

/// What a hook's effects did to a live interaction, to finish outside the transaction.
#[derive(Default)]
pub(crate) struct Applied {
    /// Outbox entries to start.
    pub outbox: Vec<i64>,
    /// Queued again elsewhere by a `route` while it waited in a queue.
    pub rerouted: bool,
    /// A buffer a `route` released: queued now, with a durable `route` job recorded.
    pub released: bool,
    /// A released buffer joined this interaction instead.
    pub merged_into: Option<i64>,
    /// Ended by a `stop` while it waited.
    pub ended: bool,
}

/// What a hook asks of an interaction that waits: a `stop` ends it (a `route` beside it
/// is then moot), else its first `route` queues it as the route says.
#[derive(Clone, Debug)]
pub(crate) enum WaitChange {
    Stop(String),
    Route(RouteRequest),
}

impl WaitChange {
    pub(crate) fn of(effects: &[Effect]) -> Option<WaitChange> {
        let stop = effects.iter().find_map(|e| match e {
            Effect::Stop { reason } => Some(WaitChange::Stop(reason.clone())),
            _ => None,
        });
        stop.or_else(|| {
            effects.iter().find_map(|e| match e {
                Effect::Route(route) => Some(WaitChange::Route(route.clone())),
                _ => None,
            })
        })
    }
}

/// Whether `now` still waits as `seen` (what a handler read) did: held by the workflow or
/// queued, in the same state, and neither picked up nor transferred since. A pickup
/// followed by a transfer back to a queue is another wait, not this one.
pub(crate) fn same_wait(seen: &Interaction, now: &Interaction) -> bool {
    let transferred_at = |ix: &Interaction| ix.transferred_from.as_ref().map(|t| t.at);
    matches!(seen.state, State::Buffered | State::Queued)
        && now.state == seen.state
        && now.answered_at == seen.answered_at
        && transferred_at(now) == transferred_at(seen)
}

/// Carries out a hook's `effects` for the live interaction `ix` (`on_timer`,
/// `on_disconnect`); `ix` is the interaction as the handler saw it. Its `route` or `stop`
/// applies only if `may_change` (the router found it still waiting, in the same step that
/// submitted this write) and the stored row still waits as `ix` did ([`same_wait`]).
pub(crate) fn on_live(
    c: &Tx,
    ix: &Interaction,
    effects: Vec<Effect>,
    decided: Option<&str>,
    may_change: bool,
    now: i64,
) -> Result<Applied> {
    let mut applied = Applied::default();
    if let Some(decided) = decided {
        record_event(c, ix.id, now, "workflow", ix.state, None, Some(decided))?;
    }
    let live = store_wf::is_live(c, ix.id)?;
    // The row now, in this transaction, not the one read before the script ran: an agent
    // may have picked it up meanwhile, and `route`/`stop` must then leave it alone.
    let waiting = may_change
        && live
        && queries::interaction(c, ix.id)?.is_some_and(|current| same_wait(ix, &current));
    let change = WaitChange::of(&effects);
    let mut side = Side::default();
    for effect in effects {
        match side.take(effect) {
            Some(Effect::Route(_) | Effect::Stop { .. }) if waiting => {}
            Some(other) => {
                tracing::debug!(interaction = ix.id, effect = %other, "effect does not apply here; ignored")
            }
            None => {}
        }
    }
    match change.filter(|_| waiting) {
        Some(WaitChange::Stop(reason)) => {
            queries::finish(c, ix.id, None, false, false, now)?;
            let why = Some(reason.as_str());
            record_event(c, ix.id, now, "stopped", State::Disconnected, None, why)?;
            applied.ended = true;
        }
        Some(WaitChange::Route(route)) => {
            queries::set_route(c, ix.id, &route, now)?;
            if ix.state == State::Buffered {
                match store_wf::release(c, ix.id, None, now)? {
                    Released::Queued(_) => {
                        jobs::enqueue(c, JobKind::Route, ix.id, now)?;
                        applied.released = true;
                    }
                    Released::Merged(other) => applied.merged_into = Some(other),
                    Released::Gone => {}
                }
            } else {
                record_event(c, ix.id, now, "rerouted", State::Queued, None, None)?;
                applied.rerouted = true;
            }
        }
        None => {}
    }
    if !live {
        // A timer on an ended interaction schedules nothing more.
        side.timers.clear();
    }
    let (reply_to, recipient) = if side.sends.is_empty() {
        (None, None)
    } else {
        queries::last_customer_message(c, ix.id)?.unzip()
    };
    let answer = Answer {
        channel: &ix.channel,
        thread: &ix.thread_id,
        reply_to,
        recipient,
        visibility: match ix.media_type {
            MediaType::SocialDirectMessage => Visibility::Private,
            MediaType::SocialConversation => Visibility::Public,
        },
    };
    side_effects(c, ix.id, &side, Some(&answer), now, &mut applied.outbox)?;
    Ok(applied)
}

/// Records the attributes and timers `on_agent_reply` asked for, inside the reply's
/// transaction. Its sends and `stop` were taken by the reply already
/// (`hooks::on_agent_reply`); anything else does not apply to a reply.
pub(crate) fn on_reply(
    c: &Tx,
    id: i64,
    effects: Vec<Effect>,
    decided: Option<&str>,
    now: i64,
) -> Result<()> {
    if let Some(decided) = decided {
        let state = queries::interaction(c, id)?.map_or(State::Connected, |ix| ix.state);
        record_event(c, id, now, "workflow", state, None, Some(decided))?;
    }
    let mut side = Side::default();
    for effect in effects {
        if let Some(other) = side.take(effect) {
            tracing::debug!(interaction = id, effect = %other, "ignored in on_agent_reply");
        }
    }
    side.sends.clear();
    side_effects(c, id, &side, None, now, &mut Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use crate::workflow::FindBy;

    fn message(i: usize, thread: usize) -> InboundMessage {
        InboundMessage {
            platform_message_id: format!("{i}_1"),
            thread_id: format!("post_{thread}"),
            parent_id: Some(format!("post_{thread}")),
            visibility: Visibility::Public,
            author_id: format!("cust{}", i % 3),
            author_name: "Customer".into(),
            author_handle: None,
            text: format!("message {i}"),
            attachments: Vec::new(),
            created_at: 1_000 + i as i64,
            language: None,
            from_business: false,
            followers: None,
            metadata: Default::default(),
        }
    }

    /// Every query a new message and its routing run, those workflow steps run per
    /// message, and the schedulers run at each tick, is parsed once per connection, not at each use (see "Queries that stay
    /// prepared" in the store's notes): each runs several times with other values, then
    /// no statement of the connection may have been prepared again.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hot_queries_are_never_parsed_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).unwrap();
        let plan = Plan::fallback(RouteRequest {
            workgroup: "Social".into(),
            priority: 0,
            media_type: MediaType::SocialConversation,
            skills: None,
            preferred_agent: None,
            wait_ms: 0,
        });
        let reprepared = store
            .write(move |c| {
                // The migrations changed the schema under statements prepared before
                // them (SQLite's search module's own); what counts is the loop below.
                crate::store::reset_reprepared(c.as_sqlite().expect("this guard is about SQLite"));
                let mut outbox = Vec::new();
                for i in 0..12 {
                    // Two messages per thread (the second joins), and each stored twice
                    // (the repeat is a duplicate).
                    for _ in 0..2 {
                        let m = message(i, i / 2);
                        if let Stored::Created(ix) =
                            store_inbound(c, "facebook", &m, Some(&plan), 1, 2_000, &mut outbox)?
                        {
                            jobs::enqueue(c, JobKind::Route, ix.id, 2_000)?;
                        }
                    }
                    let claimed = jobs::claim_due(c, 2_000 + i as i64, 4)?;
                    for job in &claimed {
                        queries::interaction(c, job.interaction_id)?;
                    }
                    let ids: Vec<i64> = claimed.iter().map(|j| j.id).collect();
                    jobs::complete(c, &ids)?;
                    let thread = format!("post_{}", i / 2);
                    let author = format!("cust{}", i % 3);
                    store_wf::find_active(c, "facebook", &FindBy::Thread(thread.clone()))?;
                    store_wf::find_active(c, "facebook", &FindBy::Author(author.clone()))?;
                    store_wf::find_active(c, "facebook", &FindBy::Group(thread.clone()))?;
                    store_wf::agent_handling(c, "facebook", &thread)?;
                    store_wf::last_agent(c, "facebook", &author)?;
                    store_wf::open_buffer(c, "facebook", &thread)?;
                    store_wf::open_group(c, "facebook", &thread)?;
                    // The outbox's and the workflow timers' schedulers, every tick.
                    outbox::due(c, 2_000 + i as i64, 8)?;
                    store_wf::due_timers(c, 2_000 + i as i64, 8)?;
                }
                // Parsed again once is the migration's doing (it changes the schema after
                // SQLite's search module prepared its own statements); each loop above
                // uses every hot query twelve times, so a query parsed at each use shows
                // many more.
                Ok(
                    crate::store::reprepared(c.as_sqlite().expect("this guard is about SQLite"))
                        .into_iter()
                        .filter(|(_, n)| *n > 1)
                        .collect::<Vec<_>>(),
                )
            })
            .await
            .unwrap();
        assert!(
            reprepared.is_empty(),
            "queries parsed again at each use (a join or ORDER BY with `col = ?`, or `LIMIT ?`): {reprepared:#?}"
        );
        store.close();
    }
}
