//! Outbound: agents' replies carried back to the platform.
//!
//! A reply goes into the outbox (durable) before the first attempt. Transient failures
//! are retried with backoff using the same idempotency key; replies still pending at a
//! restart are resumed. A reply is added to the transcript once the platform accepted it.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;

pub mod moderation;
mod rpc_cache;
mod window;

pub use rpc_cache::RpcCache;
pub use window::window;

use crate::app::App;
use crate::ingest::plan::Send;
use crate::interactions::ActionError;
use crate::interactions::hooks;
use crate::interactions::model::{State, Visibility};
use crate::store::outbox::{self, Extras, OutboundReply};
use crate::store::{directory, now_ms, queries};
use crate::text_length::{Counting, TextLimit};

/// Longest reply text accepted when the connector states no limit.
const MAX_TEXT: TextLimit = TextLimit {
    max: 8000,
    counting: Counting::Characters,
};
/// Retries of an agent's reply when the workflow does not choose.
const DEFAULT_RETRIES: i64 = 3;
/// First retry delay of an agent's reply when the workflow does not choose, ms.
const DEFAULT_BACKOFF_MS: i64 = 1000;

/// Stores an agent's reply and makes the first attempt to send it. The workflow's
/// `on_agent_reply(ix, reply)` may rewrite it (`send` with its own text and retries) or
/// refuse it (`stop`).
pub async fn reply(
    app: &Arc<App>,
    user: &directory::User,
    id: i64,
    text: String,
    visibility: Visibility,
    extras: Extras,
) -> Result<OutboundReply, ActionError> {
    // A template carries its own body; the text is then only what the transcript shows.
    let text = match (&extras.template, text.trim().is_empty()) {
        (Some(t), true) => format!("[template {}]", t.name),
        (None, true) => {
            return Err(ActionError::Invalid(
                "The reply is empty: write something, or choose a template.".into(),
            ));
        }
        _ => text,
    };
    if !app.interactions.holds(user.id, id) {
        return Err(ActionError::NotFound(id));
    }
    let ix = app
        .store
        .read(move |c| queries::interaction(c, id))
        .await?
        .ok_or(ActionError::NotFound(id))?;
    // The platform's limit for this kind of reply, counted its way, before anything is
    // stored or sent (a template's text is only what the transcript shows).
    if extras.template.is_none() {
        let limit = app
            .channels
            .get(&ix.channel)
            .and_then(|ch| ch.connector.text_limit(visibility))
            .unwrap_or(MAX_TEXT);
        if let Err(length) = limit.check(&text) {
            return Err(ActionError::TooLong {
                limit: limit.max,
                length,
            });
        }
    }
    if let Some(windows) = window::window(app, &ix).await {
        window::check(&windows, visibility, &extras)?;
    }
    let decision = hooks::on_agent_reply(app, id, &text, visibility).await?;
    let mut sends = decision.sends;
    if sends.is_empty() {
        sends.push(Send {
            text,
            visibility: Some(visibility.as_str().into()),
            retries: DEFAULT_RETRIES,
            backoff_ms: DEFAULT_BACKOFF_MS,
        });
    }
    let (user_id, effects) = (user.id, decision.effects);
    let replies = app
        .store
        .write(move |c| {
            let ix = queries::interaction(c, id)?
                .ok_or_else(|| anyhow::anyhow!("interaction {id} vanished"))?;
            if ix.state != State::Connected {
                return Ok(Err(format!(
                    "This conversation is {}; pick it up before replying.",
                    ix.state.in_words()
                )));
            }
            let now = now_ms();
            let (reply_to, recipient) = queries::last_customer_message(c, id)?.unzip();
            let mut replies = Vec::new();
            for send in &sends {
                let mut reply = OutboundReply::from_workflow(
                    id,
                    &ix.channel,
                    &ix.thread_id,
                    reply_to.clone(),
                    recipient.clone(),
                    visibility,
                    send,
                );
                reply.author_user_id = Some(user_id);
                reply.extras = extras.clone();
                reply.id = outbox::enqueue(c, &reply, now)?;
                replies.push(reply);
            }
            hooks::record_reply_effects(c, id, &effects, now)?;
            Ok(Ok(replies))
        })
        .await?
        .map_err(ActionError::Conflict)?;
    let mut replies = replies.into_iter();
    let first = replies.next().expect("at least one reply");
    start(app, replies.map(|r| r.id).collect());
    Ok(attempt(app, first).await)
}

/// Starts sending outbox entries stored by the workflow (`send`), in the background.
pub fn start(app: &Arc<App>, ids: Vec<i64>) {
    for id in ids {
        let app = app.clone();
        tokio::spawn(async move {
            match app.store.read(move |c| outbox::get(c, id)).await {
                Ok(Some(reply)) => {
                    attempt(&app, reply).await;
                }
                Ok(None) => tracing::error!(reply = id, "outbox entry vanished"),
                Err(e) => tracing::error!(reply = id, error = %e, "reading outbox entry"),
            }
        });
    }
}

/// Resumes every reply that was pending when the host stopped.
pub async fn resume_pending(app: &Arc<App>) -> Result<()> {
    let pending = app.store.read(outbox::pending).await?;
    for reply in pending {
        let app = app.clone();
        tokio::spawn(async move {
            attempt(&app, reply).await;
        });
    }
    Ok(())
}

/// One attempt now; on a transient failure, further attempts in the background.
async fn attempt(app: &Arc<App>, reply: OutboundReply) -> OutboundReply {
    let result = send_once(app, &reply).await;
    match result {
        Ok(()) => reload(app, reply).await,
        Err(retry_in) => {
            if let Some(delay) = retry_in {
                let (app, mut next) = (app.clone(), reply.clone());
                next.attempts += 1;
                tokio::spawn(retry_loop(app, next, delay));
            }
            reload(app, reply).await
        }
    }
}

async fn retry_loop(app: Arc<App>, mut reply: OutboundReply, mut delay: Duration) {
    loop {
        tokio::time::sleep(delay).await;
        match send_once(&app, &reply).await {
            Ok(()) | Err(None) => return,
            Err(Some(next)) => {
                reply.attempts += 1;
                delay = next.max(delay * 2).min(Duration::from_secs(300));
            }
        }
    }
}

/// Sends once and records the result. `Err(Some(delay))`: try again after `delay`;
/// `Err(None)`: gave up.
async fn send_once(app: &Arc<App>, reply: &OutboundReply) -> Result<(), Option<Duration>> {
    let Some(channel) = app.channels.get(&reply.channel) else {
        tracing::error!(channel = %reply.channel, reply = reply.id, "reply for an unknown channel");
        return Err(None);
    };
    let target = reply
        .recipient_id
        .as_deref()
        .or(reply.reply_to.as_deref())
        .unwrap_or(&reply.thread_id);
    let window_ms = i64::from(channel.config.rpc_cache_timeout_s) * 1000;
    if let Some(ago) = app.rpc_cache.repeat(
        &reply.channel,
        target,
        &reply.text,
        &reply.idempotency_key,
        window_ms,
        now_ms(),
    ) {
        let why = format!(
            "not sent: the same text went to this customer {} s ago (RPC cache)",
            ago / 1000
        );
        tracing::info!(channel = %reply.channel, reply = reply.id, "{why}");
        let id = reply.id;
        let _ = app
            .store
            .write(move |c| outbox::mark_suppressed(c, id, &why, now_ms()))
            .await;
        return Err(None);
    }
    let r = reply.clone();
    let ix = reply.interaction_id;
    let last_customer_at = app
        .store
        .read(move |c| queries::last_customer_at(c, ix))
        .await
        .unwrap_or(None);
    let pooled = channel.clone();
    let permit = pooled.connector.permit().await;
    let outcome =
        tokio::task::spawn_blocking(move || channel.connector.send(&r, last_customer_at)).await;
    drop(permit);
    let now = now_ms();
    match outcome {
        Ok(Ok(platform_id)) => {
            let (r, author) = (reply.clone(), reply.author_user_id);
            let saved = app
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
            if let Err(e) = saved {
                // The platform has it; recording failed. The next webhook echo stores it.
                tracing::error!(reply = reply.id, error = %e, "reply sent but not recorded");
            }
            app.interactions.notify_changed(reply.interaction_id).await;
            Ok(())
        }
        Ok(Err(e)) => {
            let attempts = reply.attempts + 1;
            let give_up = !e.retryable() || attempts >= reply.max_attempts;
            let (id, msg) = (reply.id, e.to_string());
            tracing::warn!(reply = reply.id, channel = %reply.channel, error = %msg, give_up, "reply attempt failed");
            let _ = app
                .store
                .write(move |c| outbox::attempt_failed(c, id, &msg, give_up, now))
                .await;
            if give_up {
                Err(None)
            } else {
                let wait = match &e {
                    crate::connectors::CallError::Plugin {
                        retry_after_ms: Some(ms),
                        ..
                    } => Duration::from_millis(*ms),
                    _ => Duration::from_millis(
                        (reply.backoff_ms.max(1) as u64) << (attempts - 1).clamp(0, 10),
                    ),
                };
                Err(Some(wait))
            }
        }
        Err(join) => {
            tracing::error!(reply = reply.id, error = %join, "reply task failed");
            Err(Some(Duration::from_secs(1)))
        }
    }
}

async fn reload(app: &Arc<App>, reply: OutboundReply) -> OutboundReply {
    let id = reply.id;
    app.store
        .read(move |c| outbox::get(c, id))
        .await
        .ok()
        .flatten()
        .unwrap_or(reply)
}
