//! One attempt to send an outbox entry, and what follows from its outcome.
//!
//! Exactly once is the host's job: before the platform call the entry is recorded as
//! `attempting` (with the RPC-cache check, in the same transaction). After the call:
//! - accepted: `sent`, added to the transcript;
//! - refused, or failed before anything could reach the platform: `pending` again at
//!   its next time (a rate limit's reset does not spend an attempt), or `failed`;
//! - it may have reached the platform (a trap or overrun after a request that could
//!   change something, a request left without an answer, a crash): never sent again
//!   blindly. The connector's `find-sent` checks whether the message exists; found, it is
//!   `sent`; not there, it is retried like a failure; and where the connector cannot
//!   tell, the entry becomes `unknown` for the agent, who can resend it.

use crate::clock::now_ms;
use crate::connectors::{CallError, SendFailure};
use crate::interactions::Core;
use crate::metrics::{self, OutboundState};
use crate::store::outbox::{self, Begin, OutboundReply};
use crate::store::{channels as stored, directory, queries};

/// Longest wait between two ordinary retries (a rate limit's reset may be further away).
const MAX_BACKOFF_MS: i64 = 300_000;
/// Least wait after a rate limit, so a platform that says "0 ms" is not hammered.
const MIN_RATE_WAIT_MS: i64 = 1_000;
/// Wait before trying again when the channel is configured but not running.
const CHANNEL_DOWN_WAIT_MS: i64 = 60_000;

/// What the agent reads when the platform cannot tell whether a reply was posted.
pub(crate) const UNKNOWN_TEXT: &str = "Delivery unknown: the platform did not confirm this \
    reply in time, so it may or may not have been posted. Check the conversation on the \
    platform, then resend it if it is missing.";

/// Makes one attempt at outbox entry `id` if it is due and nobody else is on it, and
/// records the outcome. Runs to the end even if the caller goes away: it is spawned, so a
/// client that hangs up never leaves a platform call unrecorded.
pub(crate) async fn attempt(core: &Core, id: i64) {
    let core = core.clone();
    let task = tokio::spawn(async move { attempt_now(&core, id).await });
    if let Err(e) = task.await {
        tracing::error!(reply = id, error = %e, "reply attempt task failed");
    }
}

async fn attempt_now(core: &Core, id: i64) {
    let Ok(Some(reply)) = core.store.read(move |c| outbox::get(c, id)).await else {
        return;
    };
    if reply.state != "pending" {
        return;
    }
    let Some(channel) = core.channels.get(&reply.channel) else {
        channel_missing(core, &reply).await;
        return;
    };
    let window_ms = i64::from(channel.config.rpc_cache_timeout_s) * 1000;
    let last_customer_at = last_customer_at(core, reply.interaction_id).await;
    // A free instance first, so `attempting` covers the platform call and not a wait in
    // line behind other calls of the channel.
    let pooled = channel.clone();
    let permit = pooled.connector.permit().await;
    let now = now_ms();
    let begun = core
        .store
        .write(move |c| outbox::begin_attempt(c, id, window_ms, now))
        .await;
    let reply = match begun {
        Ok(Begin::Go(reply)) => *reply,
        Ok(Begin::Repeat(ago)) => {
            tracing::info!(channel = %reply.channel, reply = id, ago_ms = ago,
                "reply not sent: the same text just went to this customer (RPC cache)");
            core.interactions.notify_changed(reply.interaction_id).await;
            return;
        }
        Ok(Begin::NotPending) => return,
        Err(e) => {
            tracing::error!(reply = id, error = %e, "could not record the attempt; not sending");
            return;
        }
    };
    let r = reply.clone();
    let platform = channel.connector.platform().to_owned();
    // The files first: an upload that fails is a failed attempt, retried like a send
    // that failed before reaching the platform (nothing was posted).
    let files = if reply.extras.files.is_empty() {
        Vec::new()
    } else {
        match super::files::prepare(core, &channel, &reply).await {
            Ok(files) => files,
            Err(why) => {
                drop(permit);
                let error = crate::connectors::CallError::Plugin {
                    channel: reply.channel.clone(),
                    plugin: channel.config.plugin.clone(),
                    message: why,
                    retryable: true,
                    retry_after_ms: None,
                };
                failed(core, &reply, &platform, &error).await;
                core.interactions.notify_changed(reply.interaction_id).await;
                return;
            }
        }
    };
    let outcome = tokio::task::spawn_blocking(move || {
        // Timed on the blocking thread: the platform call, not the wait for a thread.
        let started = std::time::Instant::now();
        let sent = channel.connector.send(&r, last_customer_at, files);
        metrics::outbound_send_latency(channel.connector.platform(), started.elapsed());
        sent
    })
    .await;
    drop(permit);
    match outcome {
        Ok(Ok(platform_id)) => record_sent(core, &reply, &platform, platform_id).await,
        Ok(Err(SendFailure {
            error,
            may_have_reached: true,
        })) => {
            tracing::warn!(reply = id, channel = %reply.channel, error = %error,
                "the send may have reached the platform; checking instead of sending again");
            settle(core, &reply).await;
        }
        Ok(Err(SendFailure { error, .. })) => failed(core, &reply, &platform, &error).await,
        Err(join) => {
            // The host's own thread died around the call: the platform may have it.
            tracing::error!(reply = id, error = %join, "reply task failed during the send");
            settle(core, &reply).await;
        }
    }
    core.interactions.notify_changed(reply.interaction_id).await;
}

async fn last_customer_at(core: &Core, interaction: i64) -> Option<i64> {
    core.store
        .read(move |c| queries::last_customer_at(c, interaction))
        .await
        .unwrap_or(None)
}

/// A reply whose attempt may have reached the platform: asks the connector whether the
/// message exists, and records what follows (see the module's notes).
pub(crate) async fn settle(core: &Core, reply: &OutboundReply) {
    let id = reply.id;
    let Some(channel) = core.channels.get(&reply.channel) else {
        let why = UNKNOWN_TEXT.to_owned();
        let _ = core
            .store
            .write(move |c| outbox::mark_unknown(c, id, &why, now_ms()))
            .await;
        return;
    };
    let last_customer_at = last_customer_at(core, reply.interaction_id).await;
    let attempted_at = reply.last_attempt_at.unwrap_or(0);
    let permit = channel.connector.permit().await;
    let platform = channel.connector.platform().to_owned();
    let (r, ch) = (reply.clone(), channel.clone());
    let found = tokio::task::spawn_blocking(move || {
        ch.connector.find_sent(&r, last_customer_at, attempted_at)
    })
    .await;
    drop(permit);
    match found {
        Ok(Ok(Some(platform_id))) => {
            let (channel, pid) = (reply.channel.clone(), platform_id.clone());
            let taken = core
                .store
                .read(move |c| outbox::platform_id_taken(c, &channel, &pid, id))
                .await
                .unwrap_or(true);
            if taken {
                // Another reply's message, not this one's: the check cannot tell.
                unknown(
                    core,
                    reply,
                    &platform,
                    "the message found is another reply's",
                )
                .await;
            } else {
                tracing::info!(reply = id, channel = %reply.channel, %platform_id,
                    "the interrupted send had reached the platform; recorded as sent");
                record_sent(core, reply, &platform, platform_id).await;
            }
        }
        Ok(Ok(None)) => {
            tracing::info!(reply = id, channel = %reply.channel,
                "the interrupted send did not reach the platform; trying again");
            let error = CallError::Plugin {
                channel: reply.channel.clone(),
                plugin: channel.config.plugin.clone(),
                message: "send: interrupted before the platform took it".into(),
                retryable: true,
                retry_after_ms: None,
            };
            failed(core, reply, &platform, &error).await;
        }
        Ok(Err(e)) => unknown(core, reply, &platform, &e.to_string()).await,
        Err(join) => unknown(core, reply, &platform, &join.to_string()).await,
    }
}

/// `platform` is the channel's, for the metrics.
async fn unknown(core: &Core, reply: &OutboundReply, platform: &str, why: &str) {
    tracing::warn!(reply = reply.id, channel = %reply.channel, reason = %why,
        "delivery unknown: the connector cannot tell whether the reply was posted");
    let id = reply.id;
    let _ = core
        .store
        .write(move |c| outbox::mark_unknown(c, id, UNKNOWN_TEXT, now_ms()))
        .await;
    metrics::outbound(platform, OutboundState::Unknown);
}

async fn record_sent(core: &Core, reply: &OutboundReply, platform: &str, platform_id: String) {
    let (r, author) = (reply.clone(), reply.author_user_id);
    let now = now_ms();
    let saved = core
        .store
        .write(move |c| {
            let author = match author {
                Some(uid) => directory::user(c, uid)?,
                None => None,
            };
            let name = author.map_or_else(|| "Switchboard".to_owned(), |u| u.display_name);
            outbox::mark_sent(c, &r, &platform_id, &name, now)
        })
        .await;
    metrics::outbound(platform, OutboundState::Sent);
    if let Err(e) = saved {
        // The platform has it and the entry stays `attempting`: at the next start the
        // existence check finds it rather than sending it again.
        tracing::error!(reply = reply.id, error = %e, "reply sent but not recorded");
    }
}

/// An attempt that certainly did not reach the platform (or that the platform refused).
/// `platform` is the channel's, for the metrics.
async fn failed(core: &Core, reply: &OutboundReply, platform: &str, error: &CallError) {
    let id = reply.id;
    let now = now_ms();
    let message = error.to_string();
    let rate_limited = match error {
        CallError::Plugin {
            retry_after_ms: Some(ms),
            ..
        } => Some(*ms as i64),
        _ => None,
    };
    let attempts = reply.attempts + 1;
    tracing::warn!(reply = id, channel = %reply.channel, error = %message, attempts,
        rate_limited = rate_limited.is_some(), "reply attempt failed");
    let result = if let Some(wait) = rate_limited {
        // However far away the platform's reset is, the reply waits for it, and the wait
        // spends no attempt: the platform did not refuse the reply, only the moment.
        let at = now + wait.max(MIN_RATE_WAIT_MS);
        let why = format!(
            "Waiting for the platform's rate limit to reset; it goes out at {} UTC.",
            clock_time(at)
        );
        metrics::outbound(platform, OutboundState::Retried);
        core.store
            .write(move |c| outbox::retry_later(c, id, &why, at, false, now))
            .await
    } else if error.retryable() && attempts < reply.max_attempts {
        let backoff = (reply.backoff_ms.max(1) << (attempts - 1).clamp(0, 20)).min(MAX_BACKOFF_MS);
        metrics::outbound(platform, OutboundState::Retried);
        core.store
            .write(move |c| outbox::retry_later(c, id, &message, now + backoff, true, now))
            .await
    } else {
        metrics::outbound(platform, OutboundState::Failed);
        core.store
            .write(move |c| outbox::mark_failed(c, id, &message, now))
            .await
    };
    if let Err(e) = result {
        tracing::error!(reply = id, error = %e, "could not record a failed attempt");
    }
}

/// The entry's channel is not running: deleted (the entry ends `failed`), or configured
/// but down (it waits).
async fn channel_missing(core: &Core, reply: &OutboundReply) {
    let name = reply.channel.clone();
    let configured = core.channels.is_configured(&name);
    let now = now_ms();
    let id = reply.id;
    let result = core
        .store
        .write(move |c| {
            if configured || stored::exists(c, &name)? {
                let why = "Waiting: the channel is not running.";
                outbox::retry_later(c, id, why, now + CHANNEL_DOWN_WAIT_MS, false, now)?;
                return Ok(false);
            }
            outbox::end_for_deleted_channel(c, &name, now)?;
            Ok(true)
        })
        .await;
    match result {
        Ok(true) => {
            tracing::warn!(channel = %reply.channel, reply = id, "reply for a deleted channel ended");
            core.interactions.notify_changed(reply.interaction_id).await;
        }
        Ok(false) => {
            tracing::warn!(channel = %reply.channel, reply = id, "reply waits: its channel is not running")
        }
        Err(e) => tracing::error!(reply = id, error = %e, "recording a reply without a channel"),
    }
}

/// `HH:MM` (UTC) of unix ms, or a date and time when not today.
fn clock_time(at_ms: i64) -> String {
    let secs = at_ms.div_euclid(1000);
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let hm = format!("{:02}:{:02}", rest / 3600, (rest % 3600) / 60);
    if days == now_ms().div_euclid(86_400_000) {
        hm
    } else {
        let (y, m, d) = crate::calendar::civil_from_days(days);
        format!("{y:04}-{m:02}-{d:02} {hm}")
    }
}
