//! Account Activity webhooks: the subscription with its CRC handshake, the payloads
//! (v1.1 shapes, media, links and quoted tweets included) for tweets, direct messages and
//! deletes, and their signed delivery (`x-twitter-webhooks-signature`) with retries.

use std::time::Duration;

use anyhow::{Context, bail};
use axum::http::header;
use hmac::{KeyInit, Mac};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::{Dm, Tweet, XState, iso_time};
use crate::Emulator;

/// An Account Activity subscriber.
pub(super) struct XSubscriber {
    callback_url: String,
    tx: mpsc::UnboundedSender<Value>,
}

impl XState {
    /// Queues an Account Activity payload for every subscriber.
    pub(super) fn notify(&self, payload: Value) {
        for s in &self.subscribers {
            if s.tx.send(payload.clone()).is_err() {
                tracing::warn!(callback = %s.callback_url, "x webhook worker is gone; delivery dropped");
            }
        }
    }

    /// Account Activity payloads for a new customer tweet: one per account it mentions
    /// or answers.
    pub(super) fn notify_tweet(&self, tweet: &Tweet) {
        let lower = tweet.text.to_lowercase();
        for id in self.account_ids() {
            let Some(user) = self.users.get(&id) else {
                continue;
            };
            let mentioned = lower.contains(&format!("@{}", user.username.to_lowercase()));
            let answered = tweet.in_reply_to_user_id.as_deref() == Some(id.as_str());
            if tweet.author_id != id && (mentioned || answered) {
                self.notify(json!({
                    "for_user_id": id,
                    "tweet_create_events": [self.v1_tweet(tweet)],
                }));
            }
        }
    }

    fn v1_user(&self, id: &str) -> Value {
        match self.users.get(id) {
            Some(u) => json!({
                "id": u.id.parse::<u64>().unwrap_or(0), "id_str": u.id, "name": u.name,
                "screen_name": u.username, "followers_count": u.followers,
            }),
            None => json!({ "id_str": id }),
        }
    }

    /// The v1.1 shape Account Activity webhooks carry.
    fn v1_tweet(&self, t: &Tweet) -> Value {
        let mut v = json!({
            "created_at": v1_time(t.created_ms),
            "id": t.id.parse::<u64>().unwrap_or(0),
            "id_str": t.id,
            "text": t.text,
            "lang": t.lang,
            "timestamp_ms": t.created_ms.to_string(),
            "in_reply_to_status_id_str": t.in_reply_to_tweet_id,
            "in_reply_to_user_id_str": t.in_reply_to_user_id,
            "user": self.v1_user(&t.author_id),
        });
        if let Some(rt) = t.retweet_of.as_deref().and_then(|id| self.tweet(id)) {
            v["retweeted_status"] = json!({ "id_str": rt.id, "text": rt.text });
        }
        let (entities, extended) = self.v1_entities(&t.media, &t.links);
        v["entities"] = entities;
        if let Some(extended) = extended {
            v["extended_entities"] = extended;
        }
        if let Some(q) = t.quote_of.as_deref().and_then(|id| self.tweet(id)) {
            v["is_quote_status"] = json!(true);
            v["quoted_status_id_str"] = json!(q.id);
            v["quoted_status"] = json!({
                "id_str": q.id, "text": q.text, "user": self.v1_user(&q.author_id),
            });
        }
        v
    }

    pub(super) fn notify_dm(&self, dm: &Dm) {
        for id in self.account_ids() {
            if dm.sender_id != id && dm.recipient_id != id {
                continue;
            }
            let mut users = serde_json::Map::new();
            for uid in [&dm.sender_id, &dm.recipient_id] {
                if let Some(u) = self.users.get(uid.as_str()) {
                    users.insert(
                        uid.clone(),
                        json!({ "id": u.id, "name": u.name, "screen_name": u.username, "followers_count": u.followers }),
                    );
                }
            }
            let (entities, _) = self.v1_entities(&[], &dm.links);
            let mut data = json!({ "text": dm.text, "entities": entities });
            let media_link = dm.links.iter().find(|l| l.media_key.is_some());
            if let Some(media) = dm.media.first().and_then(|k| self.media_v1(k, media_link)) {
                data["attachment"] = json!({ "type": "media", "media": media });
            }
            self.notify(json!({
                "for_user_id": id,
                "direct_message_events": [{
                    "type": "message_create",
                    "id": dm.id,
                    "created_timestamp": dm.created_ms.to_string(),
                    "message_create": {
                        "target": { "recipient_id": dm.recipient_id },
                        "sender_id": dm.sender_id,
                        "message_data": data,
                    },
                }],
                "users": users,
            }));
        }
    }

    /// The tweet-delete compliance event, to every subscriber.
    pub(super) fn notify_delete(&self, tweet: &Tweet, at_ms: i64) {
        let for_user = self.account_ids().into_iter().next().unwrap_or_default();
        self.notify(json!({
            "for_user_id": for_user,
            "tweet_delete_events": [{
                "status": { "id": tweet.id, "user_id": tweet.author_id },
                "timestamp_ms": at_ms.to_string(),
            }],
        }));
    }
}

impl Emulator {
    /// Registers an Account Activity webhook for every account: sends the CRC
    /// (`GET ?crc_token=`) first and errors unless the answer carries the right
    /// `response_token`. Subscribing the same URL again replaces the old subscription.
    pub async fn subscribe_x(&self, callback_url: &str) -> anyhow::Result<()> {
        let secret = self.state().x.config.consumer_secret.clone();
        let token = format!("crc{}", rand::random::<u64>());
        let response = self
            .inner
            .http
            .get(callback_url)
            .query(&[("crc_token", token.as_str())])
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .with_context(|| format!("CRC request to {callback_url} failed"))?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        if status != reqwest::StatusCode::OK {
            bail!("callback {callback_url} answered the CRC with {status}: {body:.200}");
        }
        let expected = x_signature(&secret, token.as_bytes());
        let answered: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        if answered["response_token"].as_str() != Some(expected.as_str()) {
            bail!("callback {callback_url} gave a wrong CRC response_token: {body:.200}");
        }
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(delivery_worker(
            self.inner.http.clone(),
            callback_url.to_string(),
            secret,
            rx,
        ));
        let mut state = self.state();
        state
            .x
            .subscribers
            .retain(|s| s.callback_url != callback_url);
        state.x.subscribers.push(XSubscriber {
            callback_url: callback_url.to_string(),
            tx,
        });
        Ok(())
    }
}

async fn delivery_worker(
    http: reqwest::Client,
    callback_url: String,
    secret: String,
    mut rx: mpsc::UnboundedReceiver<Value>,
) {
    while let Some(payload) = rx.recv().await {
        let body = serde_json::to_vec(&payload).expect("serializing a JSON value");
        let signature = x_signature(&secret, &body);
        for attempt in 0..4u32 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(200 * 5u64.pow(attempt - 1))).await;
            }
            let result = http
                .post(&callback_url)
                .header(header::CONTENT_TYPE, "application/json")
                .header("x-twitter-webhooks-signature", &signature)
                .body(body.clone())
                .send()
                .await;
            match result {
                Ok(r) if r.status().is_success() => break,
                Ok(r) => {
                    tracing::warn!(callback = %callback_url, status = %r.status(), "x webhook delivery failed")
                }
                Err(e) => {
                    tracing::warn!(callback = %callback_url, error = %e, "x webhook delivery failed")
                }
            }
        }
    }
}

/// Standard base64 with padding.
pub(super) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(chunk.get(1).copied().unwrap_or(0)) << 8)
            | u32::from(chunk.get(2).copied().unwrap_or(0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `sha256=<base64 HMAC-SHA256(consumer secret, data)>`: the CRC answer and the
/// `x-twitter-webhooks-signature` header.
pub fn x_signature(consumer_secret: &str, data: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(consumer_secret.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(data);
    format!("sha256={}", base64(&mac.finalize().into_bytes()))
}

/// `Mon Jan 15 12:03:00 +0000 2024`, the v1.1 time format.
fn v1_time(ms: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let iso = iso_time(ms);
    let month: usize = iso[5..7].parse().unwrap_or(1);
    let day = DAYS[ms.div_euclid(86_400_000).rem_euclid(7) as usize];
    format!(
        "{day} {} {} {} +0000 {}",
        MONTHS[month - 1],
        &iso[8..10],
        &iso[11..19],
        &iso[0..4]
    )
}
