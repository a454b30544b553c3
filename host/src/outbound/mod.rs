//! Outbound: agents' replies carried back to the platform, exactly once.
//!
//! A reply goes into the outbox (durable) before the first attempt, and each attempt is
//! recorded before the platform call ([`send`]). The outbox row holds when a pending
//! reply is next due (a retry's backoff, a rate limit's reset), so the schedule survives
//! restarts: at start, replies that were being sent are checked ([`send::settle`]) and
//! pending ones resume at their time. The RPC-cache window is kept in the store too
//! (`outbox::begin_attempt`). A reply is added to the transcript once the platform
//! accepted it; one whose fate cannot be known is shown as delivery unknown, and the
//! agent may resend it ([`resend`]).

use std::time::Duration;

use anyhow::Result;

pub mod extras;
pub mod files;
pub mod moderation;
mod send;
mod window;

pub use window::window;

use crate::clock::now_ms;
use crate::interactions::ActionError;
use crate::interactions::hooks;
use crate::interactions::{Core, SendsStarted};
use crate::model::interaction::{MediaType, State, Visibility};
use crate::model::plan::Send;
use crate::model::text_length::{Counting, TextLimit};
use crate::store::outbox::{self, Extras, OutboundReply};
use crate::store::{directory, queries};

/// How often the scheduler looks for due replies when nothing wakes it sooner.
const TICK: Duration = Duration::from_secs(1);
/// Due replies started per scheduler pass.
const BATCH: usize = 64;

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
    core: &Core,
    user: &directory::User,
    id: i64,
    text: String,
    visibility: Option<Visibility>,
    extras: Extras,
) -> Result<OutboundReply, ActionError> {
    // A template carries its own body; the text is then only what the transcript shows.
    let text = match (&extras.template, text.trim().is_empty()) {
        (Some(t), true) => format!("[template {}]", t.name),
        (None, true) if !extras.files.is_empty() => String::new(),
        (None, true) => {
            return Err(ActionError::Invalid(
                "The reply is empty: write something, or choose a template.".into(),
            ));
        }
        _ => text,
    };
    core.interactions.require_connected(user.id, id)?;
    let ix = core
        .store
        .read(move |c| queries::interaction(c, id))
        .await?
        .ok_or(ActionError::NotFound(id))?;
    let visibility = visibility.unwrap_or(match ix.media_type {
        MediaType::SocialDirectMessage => Visibility::Private,
        MediaType::SocialConversation => Visibility::Public,
    });
    // The account it goes from and a list's choices, before the platform is asked.
    extras::check(core, &ix.channel, &extras)?;
    files::check(core, &ix.channel, visibility, &extras.files)?;
    // Only what the connector says it sends: a direct-message platform takes no public
    // reply, and is not asked to refuse one itself.
    if let Some(ch) = core.channels.get(&ix.channel)
        && !ch.connector.replies(visibility)
    {
        return Err(ActionError::Invalid(format!(
            "This channel's platform takes no {} replies: send it as a {} reply.",
            visibility.as_str(),
            match visibility {
                Visibility::Public => "private",
                Visibility::Private => "public",
            }
        )));
    }
    // The platform's limit for this kind of reply, counted its way, before anything is
    // stored or sent (a template's text is only what the transcript shows).
    if extras.template.is_none() {
        let limit = core
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
    if let Some(windows) = window::window(core, &ix).await {
        window::check(&windows, visibility, &extras)?;
    }
    let decision = hooks::on_agent_reply(core, id, &text, visibility).await?;
    let mut sends = decision.sends;
    if sends.is_empty() {
        sends.push(Send {
            text,
            visibility: Some(visibility.as_str().into()),
            retries: DEFAULT_RETRIES,
            backoff_ms: DEFAULT_BACKOFF_MS,
        });
    }
    let (user_id, effects, decided) = (user.id, decision.effects, decision.decided);
    let replies = core
        .store
        .write(move |c| {
            // Checked in the transaction that queues the reply: a disconnect or a
            // transfer may have won the race since the check above.
            let ix = queries::interaction(c, id)?
                .ok_or_else(|| anyhow::anyhow!("interaction {id} vanished"))?;
            if ix.assigned_user_id != Some(user_id) || ix.state == State::Disconnected {
                return Ok(Err(
                    "This conversation is no longer yours: it was transferred or ended \
                     meanwhile, so your reply was not sent."
                        .to_owned(),
                ));
            }
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
                // The files go with the first message only.
                if !replies.is_empty() {
                    reply.extras.files.clear();
                }
                reply.id = outbox::enqueue(c, &reply, now)?;
                files::record(c, &reply, now)?;
                replies.push(reply);
            }
            crate::interactions::effects::on_reply(
                c,
                id,
                effects.clone(),
                decided.as_deref(),
                now,
            )?;
            Ok(Ok(replies))
        })
        .await?
        .map_err(ActionError::Conflict)?;
    let mut replies = replies.into_iter();
    let first = replies.next().expect("at least one reply");
    core.sends.start(replies.map(|r| r.id).collect());
    send::attempt(core, first.id).await;
    Ok(reload(core, first).await)
}

/// Resends a reply whose delivery is unknown (or that failed), deliberately, at the
/// agent's request. It keeps its idempotency key: the key names the reply, not the
/// attempt, so a platform or connector that recognizes it answers with the message that
/// already exists instead of posting a second (Apple drops a repeated message id), and
/// where nothing recognizes it the agent, who saw that delivery was unknown, chose to
/// post it again. The RPC cache does not count the reply's own earlier attempt.
pub async fn resend(
    core: &Core,
    user: &directory::User,
    interaction: i64,
    outbound_id: i64,
) -> Result<OutboundReply, ActionError> {
    core.interactions.require_connected(user.id, interaction)?;
    let user_id = user.id;
    let reply = core
        .store
        .write(move |c| {
            // Checked again in the transaction that queues it: a transfer or a disconnect
            // may have won the race since the check above.
            let ix = queries::interaction(c, interaction)?;
            if ix.is_none_or(|ix| {
                ix.assigned_user_id != Some(user_id)
                    || !matches!(ix.state, State::Connected | State::Held)
            }) {
                return Ok(Err(
                    "This conversation is no longer yours: it was transferred \
                               or ended meanwhile, so the reply was not sent again."
                        .to_owned(),
                ));
            }
            outbox::resend(c, interaction, outbound_id, now_ms())
        })
        .await?
        .map_err(ActionError::Conflict)?;
    tracing::info!(reply = outbound_id, channel = %reply.channel, user = user.id,
        "reply resent at the agent's request");
    send::attempt(core, reply.id).await;
    core.interactions.notify_changed(interaction).await;
    Ok(reload(core, reply).await)
}

/// The sending hand-off, held by whichever of the leader's scheduler and a follower's
/// relay runs now.
pub type SharedStarted = std::sync::Arc<tokio::sync::Mutex<SendsStarted>>;

/// When this host starts to lead (at start on SQLite): settles the replies whose attempt
/// was under way when the last leader stopped (the connector checks whether they exist;
/// where it cannot tell they become delivery unknown, never sent blindly), then runs the
/// scheduler until `core.stop`, which sends each pending reply when it is due, and
/// attempts at once what [`crate::interactions::Sends`] hands it.
pub async fn resume_pending(core: &Core, started: SharedStarted) -> Result<()> {
    let in_doubt = core.store.read(outbox::in_doubt).await?;
    if !in_doubt.is_empty() {
        tracing::warn!(
            count = in_doubt.len(),
            "replies were being sent when the host stopped; checking whether they were posted"
        );
    }
    for reply in in_doubt {
        let core = core.clone();
        tokio::spawn(async move {
            send::settle(&core, &reply).await;
            core.interactions.notify_changed(reply.interaction_id).await;
        });
    }
    tokio::spawn(schedule(core.clone(), started));
    Ok(())
}

/// Sends each pending reply when its time comes, however far away (the time is in the
/// store, so it holds across restarts). Looks again at once when the clock moves.
async fn schedule(core: Core, started: SharedStarted) {
    let mut started = started.lock().await;
    let mut stop = core.stop.clone();
    let mut jumped = crate::clock::jumped();
    loop {
        let now = now_ms();
        match core.store.read(move |c| outbox::due(c, now, BATCH)).await {
            Ok(due) => {
                for reply in due {
                    let core = core.clone();
                    // Claimed inside (pending -> attempting), so a reply seen twice is
                    // still attempted once.
                    tokio::spawn(async move { send::attempt(&core, reply.id).await });
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not read the outbox schedule"),
        }
        let next = core.store.read(outbox::next_due_at).await.ok().flatten();
        let wait = next.map_or(TICK, |at| {
            Duration::from_millis((at - now_ms()).clamp(20, TICK.as_millis() as i64) as u64)
        });
        let scan_at = tokio::time::Instant::now() + wait;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(scan_at) => break,
                // The clock moved: a reset far away may have come.
                _ = jumped.changed() => break,
                Some(id) = started.recv() => {
                    let core = core.clone();
                    // Claimed inside (pending -> attempting): one also found due is
                    // attempted once.
                    tokio::spawn(async move { send::attempt(&core, id).await });
                }
                _ = stop.changed() => return,
            }
        }
    }
}

/// While this host follows: replies a workflow stored here are handed to the leader,
/// which sends (its scheduler would find them due within a second anyway).
pub async fn relay_to_leader(
    started: SharedStarted,
    bus: std::sync::Arc<crate::cluster::bus::Bus>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut started = started.lock().await;
    loop {
        tokio::select! {
            Some(id) = started.recv() => {
                let _ = bus.publish(crate::cluster::bus::Message::Sends { ids: vec![id] });
            }
            _ = stop.changed() => return,
        }
    }
}

async fn reload(core: &Core, reply: OutboundReply) -> OutboundReply {
    let id = reply.id;
    core.store
        .read(move |c| outbox::get(c, id))
        .await
        .ok()
        .flatten()
        .unwrap_or(reply)
}
