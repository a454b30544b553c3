//! Paused channels: what arrives is stored and held, not routed, until the channel
//! resumes; then everything held is routed in arrival order, each message once.
//!
//! The contract:
//!
//! - **Nothing is lost.** A paused channel's webhooks, polls and streams go on being
//!   answered, read and acknowledged as always: each batch is committed before the
//!   platform gets its 200 or the cursor moves. New messages and edits are kept in
//!   `held_events` as they came (`store::pauses`), a redelivered message once (it is
//!   looked for among stored messages and held ones).
//! - **Nothing is routed and no workflow runs** on them while paused: no interaction is
//!   created, nothing is offered, no `on_inbound` runs. A follow-up in a conversation an
//!   agent already has waits too (its workflow decides it at the resume).
//! - **What may not wait does not.** A deletion or an account's erasure applies at once,
//!   to stored messages and to held ones; delivery receipts of our own replies too.
//!   Agents go on replying in interactions routed before the pause.
//! - **Resume routes everything held, in arrival order, each once.** The leader's drain
//!   runs the workflow on a batch of held events, then stores it in one transaction that
//!   also deletes those held rows (`Pipeline::accept` with a `drain`): a crash at any
//!   point leaves each event held (routed after the restart) or stored with its route
//!   job, never both. Until the last held event is routed the channel keeps holding new
//!   arrivals, so they queue behind; then its pause row goes. Interactions made at the
//!   resume start their wait then.
//! - **Durable and cluster-safe.** The state is the store's (`channel_pauses`); each host
//!   reads it every second and when told over the cluster bus. Whether a batch is held is
//!   decided inside the transaction that stores it, so a host that has not heard of a
//!   pause yet still holds. Only the leader drains; were two to drain at once, a held
//!   row is deleted by one transaction only and the other stores nothing of it.
//! - A channel set to keep no personal data (`do_not_store_personal_data`) holds events
//!   without it: its workflow sees `(not stored)` for the author's name at the resume.
//! - A held event that no longer reads (written by a version whose events this one
//!   cannot read) is set aside with its error, kept in the store, and logged; the rest
//!   goes on.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use anyhow::{Context, Result};

use super::{Decided, Pipeline, Report};
use crate::interactions::Core;
use crate::model::event::Event;
use crate::store::pauses::{self, About, HeldKind};
use crate::store::{Tx, queries};

/// Held events routed per transaction of a resume.
const BATCH: i64 = 100;
/// How often each host reads the pauses again without being told.
const TICK: Duration = Duration::from_secs(1);

/// In the transaction that stores `decided`: whether its new messages and edits are to
/// be held, and, for a resume's batch, which of its events to skip (another drain took
/// them, or the channel was paused again: then all).
pub(super) fn before_storing(
    conn: &Tx,
    channel: &str,
    decided: &Decided,
) -> Result<(bool, Vec<bool>)> {
    if decided.drain.is_empty() {
        let hold = decided.held || pauses::holding(conn, channel)?;
        return Ok((hold, Vec::new()));
    }
    if pauses::paused(conn, channel)? {
        return Ok((false, vec![true; decided.drain.len()]));
    }
    let taken: HashSet<i64> = pauses::take(conn, &decided.drain)?.into_iter().collect();
    Ok((
        false,
        decided.drain.iter().map(|id| !taken.contains(id)).collect(),
    ))
}

/// Holds `event` of a channel that holds what arrives. `true`: held (or a duplicate) and
/// done with; `false`: it applies now as usual (a deletion, an erasure, a receipt), after
/// what is held of it is forgotten.
pub(super) fn hold(
    conn: &Tx,
    channel: &str,
    event: &Event,
    now: i64,
    report: &mut Report,
) -> Result<bool> {
    let json = || serde_json::to_string(event).context("keeping a held event");
    match event {
        Event::Message(m) => {
            let id = m.platform_message_id.as_str();
            let about = About {
                kind: if m.from_business {
                    HeldKind::Own
                } else {
                    HeldKind::Message
                },
                message_id: Some(id),
                target: id,
                author: Some(&m.author_id),
            };
            if !queries::message_seen(conn, channel, id)?
                && pauses::hold(conn, channel, about, &json()?, now)?
            {
                report.held += 1;
            } else {
                report.duplicates += 1;
            }
            Ok(true)
        }
        Event::Edited {
            platform_message_id,
            ..
        } => {
            let about = About {
                kind: HeldKind::Edit,
                message_id: None,
                target: platform_message_id,
                author: None,
            };
            pauses::hold(conn, channel, about, &json()?, now)?;
            report.updates += 1;
            Ok(true)
        }
        Event::Deleted {
            platform_message_id,
        } => {
            pauses::forget_target(conn, channel, platform_message_id)?;
            Ok(false)
        }
        Event::AuthorErased { author_id } => {
            pauses::forget_author(conn, channel, author_id)?;
            Ok(false)
        }
        Event::Delivery { .. } => Ok(false),
    }
}

/// Runs on every host until it stops: reads which channels hold what arrives (each
/// second, and when a pause or resume is told), and, while this host leads, routes what
/// resumed channels held.
pub(crate) async fn run(core: Core) {
    let mut stop = core.stop.clone();
    let mut missing = HashSet::new();
    loop {
        refresh(&core).await;
        if core.interactions.leads()
            && let Err(e) = drain(&core, &mut missing).await
        {
            tracing::error!(error = %format!("{e:#}"),
                "routing what a resumed channel held failed; it will be tried again");
        }
        tokio::select! {
            _ = tokio::time::sleep(TICK) => {}
            _ = core.channels.pauses_kicked() => {}
            _ = stop.changed() => return,
        }
    }
}

/// Reads again which channels hold what arrives; on an error the last reading stays.
async fn refresh(core: &Core) {
    match core.store.read(pauses::holding_channels).await {
        Ok(names) => core.channels.set_holding(names),
        Err(e) => tracing::warn!(error = %format!("{e:#}"), "could not read paused channels"),
    }
}

/// Routes what every resumed channel held, oldest first, then ends the resumes that have
/// nothing left. `missing`: channels already reported as not running here. An idle host
/// only reads.
async fn drain(core: &Core, missing: &mut HashSet<String>) -> Result<()> {
    let (channels, resuming) = core
        .store
        .read(|c| {
            let resuming = pauses::all(c)?.iter().any(|p| !p.paused());
            Ok((pauses::to_drain(c)?, resuming))
        })
        .await?;
    missing.retain(|name| channels.contains(name));
    if channels.is_empty() && !resuming {
        return Ok(());
    }
    let mut drained = HashMap::new();
    for name in channels {
        let Some(runtime) = core.channels.get(&name) else {
            if missing.insert(name.clone()) {
                tracing::warn!(channel = %name,
                    "a resumed channel's held messages wait: the channel does not run on this host");
            }
            continue;
        };
        loop {
            if *core.stop.borrow() || !core.interactions.leads() {
                return Ok(());
            }
            let key = name.clone();
            let batch = core
                .store
                .read(move |c| pauses::next(c, &key, BATCH))
                .await?;
            if batch.is_empty() {
                break;
            }
            let mut events = Vec::with_capacity(batch.len());
            let mut ids = Vec::with_capacity(batch.len());
            for held in batch {
                match serde_json::from_str::<Event>(&held.event) {
                    Ok(event) => {
                        events.push(event);
                        ids.push(held.id);
                    }
                    Err(e) => set_aside(core, &name, held.id, &e.to_string()).await?,
                }
            }
            if events.is_empty() {
                continue;
            }
            let (core2, runtime2) = (core.clone(), runtime.clone());
            let mut decided = tokio::task::spawn_blocking(move || {
                Pipeline::decide_now(&core2, &runtime2, events)
            })
            .await
            .context("the workflow's task for held messages failed")?;
            decided.drain = ids;
            let report = Pipeline::accept(core, &name, decided, None)
                .await
                .with_context(|| format!("storing what channel `{name}` held"))?;
            *drained.entry(name.clone()).or_insert(0) += report.drained;
            if report.drained == 0 {
                break; // paused again, or another host took them
            }
        }
    }
    let finished = if resuming {
        core.store.write(pauses::finish_resumes).await?
    } else {
        Vec::new()
    };
    for name in &finished {
        tracing::info!(channel = %name, routed = drained.get(name).copied().unwrap_or(0),
            "channel resumed: everything it held while paused is routed");
    }
    if !finished.is_empty() || !drained.is_empty() {
        refresh(core).await;
    }
    Ok(())
}

/// Keeps an unreadable held event aside, out of the drain, and says so.
async fn set_aside(core: &Core, channel: &str, id: i64, error: &str) -> Result<()> {
    tracing::error!(%channel, held_event = id, %error,
        "a held event cannot be read and is set aside in the store (held_events); the others are routed");
    let why = format!("cannot be read: {error}");
    core.store
        .write(move |c| pauses::set_aside(c, id, &why))
        .await
}
