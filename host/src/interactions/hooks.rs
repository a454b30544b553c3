//! The workflow's initiators for live interactions — `on_timer`, `on_agent_reply`,
//! `on_disconnect` — and the timers behind `schedule`, `buffer` and `group`.
//!
//! Each hook runs the handler of the version the interaction started on, on a blocking
//! thread, then carries out its effects in one store transaction (`interactions::waiting`:
//! a `route` or `stop` reaches the router in the step that submits that transaction, and
//! only while the interaction still waits as the handler saw it). A released buffer is
//! routed by a durable `route` job recorded with the release. Timers live in the
//! store: one fires at least once, and its row is deleted in the same transaction as its
//! effects, so a crash repeats a timer rather than losing it.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use rhai::{Dynamic, Map};

use super::Core;
use super::effects::Applied;
use super::service::ActionError;
use crate::clock::now_ms;
use crate::model::hours::Organisation;
use crate::model::interaction::{Interaction, Visibility};
use crate::model::plan::{Send, Side};
use crate::store::jobs::{self, JobKind};
use crate::store::workflow::{self as store_wf, Released, Timer, TimerKind};
use crate::store::{Store, queries};
use crate::workflow::{Active, Effect, FindBy, Outcome, QueueFacts, Subject, World};

/// Lookups answered from the store, the router's queues, the host's clock and the
/// configured organisation.
pub struct StoreWorld {
    store: Store,
    interactions: Arc<super::Interactions>,
    organisation: Arc<Organisation>,
}

impl StoreWorld {
    /// The host's world.
    pub fn new(
        store: Store,
        interactions: Arc<super::Interactions>,
        organisation: Arc<Organisation>,
    ) -> StoreWorld {
        StoreWorld {
            store,
            interactions,
            organisation,
        }
    }

    fn ask<R: std::marker::Send>(
        &self,
        what: &str,
        f: impl FnOnce(&crate::store::Tx) -> Result<Option<R>> + std::marker::Send,
    ) -> Option<R> {
        self.store.read_blocking(f).unwrap_or_else(|e| {
            tracing::error!(lookup = what, error = %e, "workflow lookup failed; answering none");
            None
        })
    }
}

impl World for StoreWorld {
    fn find_active(&self, channel: &str, by: &FindBy) -> Option<Active> {
        self.ask("find_active", |c| store_wf::find_active(c, channel, by))
    }
    fn agent_handling(&self, channel: &str, thread: &str) -> Option<String> {
        self.ask("agent_handling", |c| {
            store_wf::agent_handling(c, channel, thread)
        })
    }
    fn last_agent(&self, channel: &str, customer_id: &str) -> Option<String> {
        self.ask("last_agent", |c| {
            store_wf::last_agent(c, channel, customer_id)
        })
    }
    fn queue(&self, workgroup: &str) -> QueueFacts {
        let (waiting, available, oldest) = if self.interactions.leads() {
            let (w, a, o) = self.interactions.queue_facts(workgroup);
            (w as i64, a as i64, o)
        } else {
            // A host that follows routes nothing: the store has the queue.
            self.ask("queue_facts", |c| {
                queries::queue_facts(c, workgroup).map(Some)
            })
            .unwrap_or((0, 0, None))
        };
        QueueFacts {
            waiting,
            available,
            longest_wait_ms: oldest.map_or(0, |at| (now_ms() - at).max(0)),
        }
    }
    fn organisation(&self) -> &Organisation {
        &self.organisation
    }
    fn user_exists(&self, username: &str) -> Option<bool> {
        self.store
            .read_blocking(|c| queries::user_id(c, username))
            .map(|id| id.is_some())
            .ok()
    }
}

/// Fills in what the channel knows about a subject (platform, workgroups, grouping).
pub fn with_channel(core: &Core, mut subject: Subject) -> Subject {
    if let Some(ch) = core.channels.get(&subject.channel) {
        subject.platform = ch.connector.platform().to_owned();
        subject.workgroup = ch.config.workgroup.clone();
        subject.dm_workgroup = ch.config.dm_workgroup().to_owned();
        subject.grouping_timeout_s = ch.config.grouping_timeout_s.into();
    }
    subject
}

/// Runs `handler` for interaction `id`. `None`: no such interaction, no such handler, or
/// the handler failed (logged with `file:line:col`).
async fn run(
    core: &Core,
    id: i64,
    handler: &'static str,
    extra: Option<Dynamic>,
) -> Option<(Interaction, Outcome)> {
    try_run(core, id, handler, extra)
        .await
        .inspect_err(|e| {
            tracing::error!(interaction = id, handler, error = %format!("{e:#}"), "workflow handler failed")
        })
        .ok()?
}

/// Runs `handler` for interaction `id`. `Ok(None)`: no such interaction or no such
/// handler; `Err`: the handler (or reading the interaction) failed, worth another try.
async fn try_run(
    core: &Core,
    id: i64,
    handler: &'static str,
    extra: Option<Dynamic>,
) -> Result<Option<(Interaction, Outcome)>> {
    let Some((ix, subject)) = core
        .store
        .read(move |c| store_wf::subject(c, id))
        .await
        .with_context(|| format!("reading interaction {id} for {handler}"))?
    else {
        return Ok(None);
    };
    let Some(channel) = core.channels.get(&ix.channel) else {
        return Ok(None);
    };
    let script = channel.config.workflow.clone();
    let subject = with_channel(core, subject);
    let (workflows, world) = (core.workflows.clone(), core.world.clone());
    let version = ix.workflow_version;
    let outcome = tokio::task::spawn_blocking(move || {
        workflows.run(version, &script, handler, &subject, extra, world)
    })
    .await
    .with_context(|| format!("{handler} panicked"))?;
    match outcome {
        Ok(Some(outcome)) => Ok(Some((ix, outcome))),
        Ok(None) => Ok(None),
        Err(e) => {
            crate::metrics::workflow_error();
            Err(anyhow::anyhow!("{handler} failed: {e:#}"))
        }
    }
}

/// After the transaction: route a released buffer, send what was queued, tell agents.
/// (A `route` or `stop` on a queued interaction reached the router with the write.)
async fn finish(core: &Core, ix: &Interaction, applied: Applied) {
    if applied.released {
        core.interactions.kick_jobs();
    }
    if let Some(other) = applied.merged_into {
        core.interactions.notify_changed(other).await;
    }
    core.sends.start(applied.outbox);
    core.interactions.notify_changed(ix.id).await;
}

/// `on_disconnect(ix)` after an interaction ended (a durable job: an error is tried
/// again later, see `interactions::jobs`).
pub async fn on_disconnect(core: &Core, id: i64) -> Result<()> {
    let Some((ix, outcome)) = try_run(core, id, "on_disconnect", None).await? else {
        return Ok(());
    };
    let decided =
        crate::model::effect::decision(outcome.version, "on_disconnect", &outcome.effects);
    let applied = core
        .interactions
        .apply_hook(&ix, outcome.effects, decided, None)
        .await
        .context("storing on_disconnect's effects")?;
    finish(core, &ix, applied).await;
    Ok(())
}

/// What `on_agent_reply` decided about an agent's reply.
pub struct ReplyDecision {
    /// What to send instead of the typed reply (empty: send it as typed).
    pub sends: Vec<Send>,
    /// Attributes and timers to record with the reply.
    pub effects: Vec<Effect>,
    /// What the handler decided, for the trace (`None`: no handler ran).
    pub decided: Option<String>,
}

/// `on_agent_reply(ix, reply)` before an agent's reply is queued. A `stop` refuses it.
pub async fn on_agent_reply(
    core: &Core,
    id: i64,
    text: &str,
    visibility: Visibility,
) -> Result<ReplyDecision, ActionError> {
    let mut reply = Map::new();
    reply.insert("text".into(), text.into());
    reply.insert("visibility".into(), visibility.as_str().into());
    let Some((_, outcome)) = run(core, id, "on_agent_reply", Some(reply.into())).await else {
        return Ok(ReplyDecision {
            sends: Vec::new(),
            effects: Vec::new(),
            decided: None,
        });
    };
    let decided =
        crate::model::effect::decision(outcome.version, "on_agent_reply", &outcome.effects);
    let mut side = Side::default();
    let mut effects = Vec::new();
    for effect in outcome.effects {
        match effect {
            Effect::Stop { reason } => {
                return Err(ActionError::Conflict(format!(
                    "the workflow refused the reply: {reason}"
                )));
            }
            Effect::Send { .. } => {
                side.take(effect);
            }
            other => effects.push(other),
        }
    }
    let decision = ReplyDecision {
        sends: side.sends,
        effects,
        decided: Some(decided),
    };
    Ok(decision)
}

/// Fires due timers until the host stops. Wakes at the next due time, at least every
/// 250 ms (a timer added meanwhile waits at most that long), and when the clock moves.
pub async fn run_timers(core: Core) {
    let mut stop = core.stop.clone();
    let mut jumped = crate::clock::jumped();
    loop {
        let now = now_ms();
        match core
            .store
            .read(move |c| store_wf::due_timers(c, now, 200))
            .await
        {
            Ok(due) => {
                for timer in due {
                    fire(&core, timer).await;
                }
            }
            Err(e) => tracing::error!(error = %e, "reading workflow timers"),
        }
        let next = core.store.read(store_wf::next_due).await.ok().flatten();
        let wait = next.map(|at| (at - now_ms()).clamp(0, 250)).unwrap_or(250);
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(wait as u64)) => {}
            _ = jumped.changed() => {}
            _ = stop.changed() => return,
        }
    }
}

async fn fire(core: &Core, timer: Timer) {
    let id = timer.interaction_id;
    let result = match timer.kind {
        TimerKind::Script => fire_script(core, &timer).await,
        TimerKind::Release => release(core, &timer, None).await,
        TimerKind::Recheck => recheck(core, &timer).await,
    };
    if let Err(e) = result {
        let error = format!("{e:#}");
        let now = now_ms();
        let (tid, attempts) = (timer.id, timer.attempts + 1);
        let retry_at = (attempts < TIMER_ATTEMPTS).then(|| now + retry_delay_ms(attempts));
        match retry_at {
            Some(_) => tracing::warn!(interaction = id, timer = tid, attempts, %error,
                "workflow timer failed; it will fire again"),
            None => tracing::error!(interaction = id, timer = tid, attempts, %error,
                "workflow timer failed every try; kept as failed"),
        }
        let stored = core
            .store
            .write(move |c| store_wf::timer_failed(c, tid, &error, retry_at, now))
            .await;
        if let Err(e) = stored {
            tracing::error!(interaction = id, timer = tid, error = %e, "timer failure not recorded");
        }
    }
}

/// Tries of a failing workflow timer before it is kept as failed.
const TIMER_ATTEMPTS: i64 = 5;

/// Wait before try `attempts + 1` of failed follow-up work: 1 s, 2 s, 4 s, ... (≤ 1 min).
pub(crate) fn retry_delay_ms(attempts: i64) -> i64 {
    1000 * (1i64 << attempts.clamp(0, 6).saturating_sub(1)).min(60)
}

async fn fire_script(core: &Core, timer: &Timer) -> Result<()> {
    let (id, tid) = (timer.interaction_id, timer.id);
    let live = core.store.read(move |c| store_wf::is_live(c, id)).await?;
    let outcome = if live {
        try_run(core, id, "on_timer", Some(timer.name.clone().into())).await?
    } else {
        None
    };
    let Some((ix, outcome)) = outcome else {
        core.store
            .write(move |c| store_wf::take_timer(c, tid))
            .await?;
        return Ok(());
    };
    let handler = format!("on_timer({})", timer.name);
    let decided = crate::model::effect::decision(outcome.version, &handler, &outcome.effects);
    let applied = core
        .interactions
        .apply_hook(&ix, outcome.effects, decided, Some(tid))
        .await?;
    finish(core, &ix, applied).await;
    Ok(())
}

/// Releases a buffered interaction (group timeout, or its buffer's agent is free).
async fn release(core: &Core, timer: &Timer, preferred: Option<(i64, i64)>) -> Result<()> {
    let (id, tid) = (timer.interaction_id, timer.id);
    let released = core
        .store
        .write(move |c| {
            store_wf::take_timer(c, tid)?;
            let now = now_ms();
            let released = store_wf::release(c, id, preferred, now)?;
            if let Released::Queued(_) = released {
                // Routed by the job worker, durably, like a new interaction.
                jobs::enqueue(c, JobKind::Route, id, now)?;
            }
            Ok(released)
        })
        .await?;
    match released {
        Released::Queued(_) => {
            tracing::info!(interaction = id, "workflow released a held interaction");
            core.interactions.kick_jobs();
        }
        Released::Merged(other) => core.interactions.notify_changed(other).await,
        Released::Gone => {}
    }
    Ok(())
}

/// A buffer waits while the agent it remembers still has the thread, then is offered
/// to that agent first: until its deadline when it has one (`max_wait_ms`, counted from
/// its arrival; its release timer then hands it to anyone), else for the route's
/// `wait_ms` from now.
async fn recheck(core: &Core, timer: &Timer) -> Result<()> {
    let (id, tid) = (timer.interaction_id, timer.id);
    let Some(buffer) = core.store.read(move |c| store_wf::buffer_of(c, id)).await? else {
        core.store
            .write(move |c| store_wf::take_timer(c, tid))
            .await?;
        return Ok(());
    };
    let channel = core
        .store
        .read(move |c| queries::interaction(c, id))
        .await?
        .map(|ix| ix.channel)
        .unwrap_or_default();
    let thread = buffer.thread.clone();
    let busy = core
        .store
        .read(move |c| store_wf::agent_handling(c, &channel, &thread))
        .await?
        .is_some();
    if busy {
        let due = now_ms() + timer.every_ms.max(100);
        core.store
            .write(move |c| store_wf::postpone_timer(c, tid, due))
            .await?;
        return Ok(());
    }
    let until = match buffer.until {
        Some(until) => until,
        None => {
            let wait = core
                .store
                .read(move |c| queries::preferred_wait_ms(c, id))
                .await?
                .unwrap_or(30_000);
            now_ms() + wait.max(0)
        }
    };
    let preferred = buffer.agent.map(|a| (a, until));
    release(core, timer, preferred).await
}
