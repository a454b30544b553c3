//! WhatsApp Cloud API: `POST /{phone-number-id}/messages` (text, templates and other types,
//! mark-read), the 24-hour customer service window enforced with error 131047, and the
//! `messages` webhooks Meta sends (customer messages and the statuses of our sends), signed
//! with the app secret. Rate limits as the Cloud API applies them: 130429 (throughput per
//! number, 80 messages a second by default), 131056 (pair rate: one business number to one
//! customer, off by default) and 4 (app request limit, HTTP 429, off by default). The
//! control endpoints that play the customers' side are in [`control`].

mod control;
mod media;
mod templates;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_media;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use anyhow::bail;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use sha2::Digest;

use super::graph::{GraphRequest, graph_error};
use super::{Emulator, Subscriber, unix_now};

pub(super) use control::control_routes;
use media::{Media, PendingUpload};
use templates::TemplateDef;

/// The customer service window: free-form messages only this long after the customer's
/// last message.
pub const WINDOW_SECS: i64 = 24 * 60 * 60;
/// How long after accepting a send the `sent` status webhook goes out (the real platform
/// answers first and reports progress asynchronously).
const STATUS_DELAY: Duration = Duration::from_millis(250);
/// Pause between the `sent`, `delivered` and `read` statuses.
const STATUS_STEP: Duration = Duration::from_millis(50);

/// Sends per second and per number before 130429, as the Cloud API allows by default.
pub const DEFAULT_PER_SECOND: u32 = 80;

/// The rate limits the emulated Cloud API applies (`POST /_emulator/whatsapp/limits`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Limits {
    /// Accepted sends per second per business number; more is 130429. 0: no limit.
    pub(super) per_second: u32,
    /// Least time between two sends of one number to one customer; sooner is 131056.
    /// 0 (the default): off. The real platform allows about one per 6 s.
    pub(super) pair_interval_ms: u64,
    /// `/messages` calls per minute for the whole app; more is code 4, HTTP 429.
    /// 0 (the default): off.
    pub(super) app_per_minute: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            per_second: DEFAULT_PER_SECOND,
            pair_interval_ms: 0,
            app_per_minute: 0,
        }
    }
}

/// A WhatsApp business phone number that exists on the emulated Cloud API.
#[derive(Clone, Debug)]
pub struct WhatsAppNumber {
    /// The phone number id used in Graph paths and webhooks, e.g. `"106540352242922"`.
    pub phone_number_id: String,
    /// The number as customers see it, digits only, e.g. `"15550783881"`.
    pub display_phone_number: String,
    /// The app secret that signs webhooks for this number.
    pub app_secret: String,
    /// When set, sends must carry `Authorization: Bearer <this>`.
    pub access_token: Option<String>,
}

/// A pending failure for the next accepted send of a number (`fail-next`).
#[derive(Clone, Debug)]
pub(super) struct FailNext {
    pub(super) code: i64,
    pub(super) title: String,
    pub(super) details: String,
}

/// All numbers and their conversations.
#[derive(Default)]
pub(super) struct WhatsAppState {
    numbers: BTreeMap<String, Number>,
    pub(super) limits: Limits,
    /// Times of the app's recent `/messages` calls (the app rate limit).
    app_calls: VecDeque<Instant>,
    /// Media by id: customers' and the business's uploads (see [`media`]).
    media: HashMap<String, Media>,
    /// Files of multipart uploads on their way through the Graph fallback.
    pending_uploads: HashMap<String, PendingUpload>,
}

struct Number {
    config: WhatsAppNumber,
    /// The WhatsApp Business Account id put in `entry[].id`.
    waba_id: String,
    subscribers: Vec<Subscriber>,
    /// Customer wa_id -> profile name and time (unix s) of their latest message.
    customers: HashMap<String, Customer>,
    /// Our sends, in order.
    sent: Vec<SentMessage>,
    fail_next: Option<FailNext>,
    /// Times of the number's accepted sends within the last second (throughput).
    recent_sends: VecDeque<Instant>,
    /// Customer wa_id -> time of our latest accepted send to them (pair rate).
    last_send_to: HashMap<String, Instant>,
    /// The message templates of the number's business account.
    templates: Vec<TemplateDef>,
}

struct Customer {
    name: String,
    last_inbound: i64,
}

struct SentMessage {
    id: String,
    to: String,
    kind: String,
    /// The request as the business sent it (for `GET /_emulator/whatsapp/numbers/{id}`).
    request: Value,
    /// The media it carried (`{id, mime_type, file_name, file_size, sha256}` or `{link}`).
    media: Value,
    /// For a template: its parameters, header media and rendered body.
    template: Value,
    statuses: Vec<String>,
}

/// Default detail of error 131047, as the Cloud API words it.
pub(super) const REENGAGEMENT_DETAILS: &str = "Message failed to send because more than 24 hours have passed since the customer last replied to this number.";

impl WhatsAppState {
    pub(super) fn add_number(&mut self, config: WhatsAppNumber) {
        let waba_id = waba_id(&config.phone_number_id);
        self.numbers.insert(
            config.phone_number_id.clone(),
            Number {
                config,
                templates: templates::seeded(&waba_id),
                waba_id,
                subscribers: Vec::new(),
                customers: HashMap::new(),
                sent: Vec::new(),
                fail_next: None,
                recent_sends: VecDeque::new(),
                last_send_to: HashMap::new(),
            },
        );
    }

    pub(super) fn secret(&self, phone_number_id: &str) -> Option<String> {
        Some(self.numbers.get(phone_number_id)?.config.app_secret.clone())
    }

    /// Adds a subscriber, replacing an older one with the same URL.
    pub(super) fn set_subscriber(&mut self, phone_number_id: &str, subscriber: Subscriber) {
        if let Some(number) = self.numbers.get_mut(phone_number_id) {
            number
                .subscribers
                .retain(|s| s.callback_url != subscriber.callback_url);
            number.subscribers.push(subscriber);
        }
    }

    /// Queues a `messages` webhook with `value` (metadata added) `times` times to every
    /// subscriber of the number. Called with the state lock held, which keeps order.
    fn notify(&self, phone_number_id: &str, mut value: Value, times: u32) {
        let Some(number) = self.numbers.get(phone_number_id) else {
            return;
        };
        value["messaging_product"] = json!("whatsapp");
        value["metadata"] = json!({
            "display_phone_number": number.config.display_phone_number,
            "phone_number_id": number.config.phone_number_id,
        });
        let payload = json!({
            "object": "whatsapp_business_account",
            "entry": [{
                "id": number.waba_id,
                "changes": [{ "value": value, "field": "messages" }],
            }],
        });
        for subscriber in &number.subscribers {
            for _ in 0..times {
                subscriber.send(payload.clone());
            }
        }
    }
}

/// The WhatsApp Business Account id of an emulated number: stable, derived from it.
fn waba_id(phone_number_id: &str) -> String {
    numeric_id(&format!("waba:{phone_number_id}"))
}

impl WhatsAppNumber {
    /// The id of the WhatsApp Business Account this number belongs to on the emulator:
    /// the `waba_id` setting whose templates `GET /{waba-id}/message_templates` lists.
    pub fn waba_id(&self) -> String {
        waba_id(&self.phone_number_id)
    }
}

/// A stable numeric id for a seed.
fn numeric_id(seed: &str) -> String {
    let digest = sha2::Sha256::digest(seed.as_bytes());
    let n = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"));
    (100_000_000_000_000 + n % 900_000_000_000_000).to_string()
}

/// A fresh, WhatsApp-looking message id.
pub(super) fn new_wamid(em: &Emulator) -> String {
    format!("wamid.HBgL{:X}{:08X}", em.next_id(), rand::random::<u32>())
}

/// A Cloud API error: the Graph error shape with `error_data.details`.
fn cloud_error(status: StatusCode, code: i64, title: &str, details: &str) -> Response {
    let error = json!({
        "message": format!("(#{code}) {title}"),
        "type": "OAuthException",
        "code": code,
        "error_data": { "messaging_product": "whatsapp", "details": details },
        "fbtrace_id": format!("A{:016x}", rand::random::<u64>()),
    });
    (status, axum::Json(json!({ "error": error }))).into_response()
}

/// Code 4: the app made too many calls (HTTP 429).
fn app_rate_limited() -> Response {
    cloud_error(
        StatusCode::TOO_MANY_REQUESTS,
        4,
        "Application request limit reached",
        "Too many API calls were made by this app in a short period of time. Wait and retry.",
    )
}

/// Code 130429: the number's messages-per-second throughput is used up.
fn throughput_limited(per_second: u32) -> Response {
    cloud_error(
        StatusCode::BAD_REQUEST,
        130429,
        "Rate limit hit",
        &format!(
            "Cloud API message throughput has been reached: this phone number may send {per_second} messages per second."
        ),
    )
}

/// Code 131056: too many messages from this number to the same customer.
fn pair_limited() -> Response {
    cloud_error(
        StatusCode::BAD_REQUEST,
        131056,
        "(Business Account, Consumer Account) pair rate limit hit",
        "Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time.",
    )
}

impl WhatsAppState {
    /// Counts one `/messages` call against the app rate limit; `false`: over the limit.
    fn app_call(&mut self, now: Instant) -> bool {
        let limit = self.limits.app_per_minute;
        if limit == 0 {
            self.app_calls.clear();
            return true;
        }
        let minute = Duration::from_secs(60);
        while self
            .app_calls
            .front()
            .is_some_and(|t| now.duration_since(*t) >= minute)
        {
            self.app_calls.pop_front();
        }
        if self.app_calls.len() >= limit as usize {
            return false;
        }
        self.app_calls.push_back(now);
        true
    }
}

impl Number {
    /// The rate-limit answer for a send to `to` now, if it must be refused.
    fn rate_limited(&mut self, limits: Limits, to: &str, now: Instant) -> Option<Response> {
        let second = Duration::from_secs(1);
        while self
            .recent_sends
            .front()
            .is_some_and(|t| now.duration_since(*t) >= second)
        {
            self.recent_sends.pop_front();
        }
        if limits.per_second > 0 && self.recent_sends.len() >= limits.per_second as usize {
            return Some(throughput_limited(limits.per_second));
        }
        let interval = Duration::from_millis(limits.pair_interval_ms);
        if limits.pair_interval_ms > 0
            && self
                .last_send_to
                .get(to)
                .is_some_and(|t| now.duration_since(*t) < interval)
        {
            return Some(pair_limited());
        }
        None
    }

    /// Remembers an accepted send to `to` for the rate limits.
    fn count_send(&mut self, to: &str, now: Instant) {
        self.recent_sends.push_back(now);
        self.last_send_to.insert(to.to_string(), now);
    }
}

fn bad_parameter(details: &str) -> Response {
    cloud_error(StatusCode::BAD_REQUEST, 100, "Invalid parameter", details)
}

/// The status webhook `value` entry for one of our sends.
fn status_json(sent: &SentMessage, status: &str, failure: Option<&FailNext>) -> Value {
    let mut value = json!({
        "id": sent.id,
        "status": status,
        "timestamp": unix_now().to_string(),
        "recipient_id": sent.to,
    });
    match failure {
        Some(f) => {
            value["errors"] = json!([{
                "code": f.code,
                "title": f.title,
                "message": f.title,
                "error_data": { "details": f.details },
                "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
            }]);
        }
        None if status != "read" => {
            let category = if sent.kind == "template" {
                "utility"
            } else {
                "service"
            };
            value["conversation"] = json!({
                "id": numeric_id(&format!("conversation:{}", sent.to)),
                "origin": { "type": category },
            });
            value["pricing"] =
                json!({ "billable": true, "pricing_model": "CBP", "category": category });
        }
        None => {}
    }
    value
}

impl Emulator {
    /// Registers a webhook subscriber for a WhatsApp number, after Meta's GET verification
    /// handshake against `callback_url`. Subscribing the same URL again replaces it.
    pub async fn subscribe_whatsapp(
        &self,
        phone_number_id: &str,
        callback_url: &str,
        verify_token: &str,
    ) -> anyhow::Result<()> {
        let Some(secret) = self.state().whatsapp.secret(phone_number_id) else {
            bail!("unknown whatsapp phone number id {phone_number_id}");
        };
        self.verify_meta_callback(callback_url, verify_token)
            .await?;
        let subscriber = self.start_subscriber(callback_url, &secret);
        self.state()
            .whatsapp
            .set_subscriber(phone_number_id, subscriber);
        Ok(())
    }

    /// Reports the statuses of a send after a short delay, in order.
    fn report_statuses(&self, phone_number_id: String, index: usize, failure: Option<FailNext>) {
        let em = self.clone();
        let steps: Vec<&'static str> = match failure {
            Some(_) => vec!["failed"],
            None => vec!["sent", "delivered", "read"],
        };
        tokio::spawn(async move {
            tokio::time::sleep(STATUS_DELAY).await;
            for (i, status) in steps.into_iter().enumerate() {
                if i > 0 {
                    tokio::time::sleep(STATUS_STEP).await;
                }
                let mut state = em.state();
                let wa = &mut state.whatsapp;
                let Some(number) = wa.numbers.get_mut(&phone_number_id) else {
                    return;
                };
                let Some(sent) = number.sent.get_mut(index) else {
                    return;
                };
                sent.statuses.push(status.to_string());
                let value = json!({ "statuses": [status_json(sent, status, failure.as_ref())] });
                wa.notify(&phone_number_id, value, 1);
            }
        });
    }
}

/// The verified name every emulated number shows (Meta's test numbers show this one).
pub const VERIFIED_NAME: &str = "Test Number";

/// `GET /{phone-number-id}`: the number's `id`, `display_phone_number`, `verified_name`
/// and `quality_rating` (restricted to `fields` when given; `id` always). A token of
/// another number → 400 code 100 subcode 33 (Graph shows a token no object it may not
/// see); any other wrong or missing token when one is configured → 401 code 190.
fn phone_number(wa: &WhatsAppState, number: &Number, req: &GraphRequest) -> Response {
    if let Some(expected) = number.config.access_token.as_deref() {
        let token = req.access_token();
        if token.as_deref() != Some(expected) {
            let other_number = token.as_deref().is_some_and(|t| {
                wa.numbers
                    .values()
                    .any(|n| n.config.access_token.as_deref() == Some(t))
            });
            if other_number {
                return graph_error(
                    StatusCode::BAD_REQUEST,
                    &format!(
                        "Unsupported get request. Object with ID '{}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.",
                        number.config.phone_number_id
                    ),
                    "GraphMethodException",
                    100,
                    Some(33),
                );
            }
            return graph_error(
                StatusCode::UNAUTHORIZED,
                "Invalid OAuth access token - Cannot parse access token",
                "OAuthException",
                190,
                None,
            );
        }
    }
    let mut value = json!({
        "id": number.config.phone_number_id,
        "display_phone_number": number.config.display_phone_number,
        "verified_name": VERIFIED_NAME,
        "quality_rating": "GREEN",
    });
    if let (Some(fields), Value::Object(map)) = (req.param("fields"), &mut value) {
        let wanted: Vec<&str> = fields.split(',').map(str::trim).collect();
        map.retain(|k, _| k == "id" || wanted.contains(&k.as_str()));
    }
    axum::Json(value).into_response()
}

/// Handles the Cloud API's calls: `GET /{phone-number-id}`, `GET /{media-id}`,
/// `POST /{phone-number-id}/messages`, `POST /{phone-number-id}/media` and
/// `GET /{waba-id}/message_templates`; `None` leaves the call to other platforms.
pub(super) fn graph(em: &Emulator, req: &GraphRequest) -> Option<Response> {
    if let [id] = req.segments.as_slice() {
        let state = em.state();
        let wa = &state.whatsapp;
        return match wa.numbers.get(id.as_str()) {
            Some(number) if req.method == Method::GET => Some(phone_number(wa, number, req)),
            Some(_) => None,
            None => media::media_info(wa, id, req),
        };
    }
    let [object_id, edge] = req.segments.as_slice() else {
        return None;
    };
    let mut state = em.state();
    let wa = &mut state.whatsapp;
    let unsupported = || {
        graph_error(
            StatusCode::BAD_REQUEST,
            &format!(
                "Unsupported {} request.",
                req.method.as_str().to_ascii_lowercase()
            ),
            "GraphMethodException",
            100,
            Some(33),
        )
    };
    match edge.as_str() {
        "media" if wa.numbers.contains_key(object_id.as_str()) => {
            if req.method != Method::POST {
                return Some(unsupported());
            }
            return Some(media::upload(em, wa, object_id, req));
        }
        "message_templates" => {
            let number = wa.numbers.values().find(|n| n.waba_id == *object_id)?;
            if req.method != Method::GET {
                return Some(unsupported());
            }
            return Some(templates::list(number, req));
        }
        "messages" if wa.numbers.contains_key(object_id.as_str()) => {}
        _ => return None,
    }
    let number_id = object_id;
    let called_at = Instant::now();
    if !wa.app_call(called_at) {
        return Some(app_rate_limited());
    }
    let limits = wa.limits;
    let number = wa.numbers.get_mut(number_id.as_str())?;
    if req.method != Method::POST {
        return Some(unsupported());
    }
    if let Some(expected) = number.config.access_token.as_deref()
        && req.access_token().as_deref() != Some(expected)
    {
        return Some(graph_error(
            StatusCode::UNAUTHORIZED,
            "Invalid OAuth access token - Cannot parse access token",
            "OAuthException",
            190,
            None,
        ));
    }
    if req.param("messaging_product").as_deref() != Some("whatsapp") {
        return Some(bad_parameter(
            "The parameter messaging_product is required and must be \"whatsapp\".",
        ));
    }
    // Mark as read: `{"status":"read","message_id":".."}`.
    if let Some(status) = req.param("status") {
        if status != "read" || req.param("message_id").is_none() {
            return Some(bad_parameter(
                "To mark a message read, send status \"read\" and its message_id.",
            ));
        }
        return Some(axum::Json(json!({ "success": true })).into_response());
    }
    let Some(to) = req
        .param("to")
        .map(|t| t.trim().trim_start_matches('+').to_string())
        .filter(|t| !t.is_empty())
    else {
        return Some(bad_parameter("The parameter to is required."));
    };
    let kind = req.param("type").unwrap_or_else(|| "text".into());
    let object = req.params.get(&kind).cloned().unwrap_or(Value::Null);
    let mut sent_media = Value::Null;
    let mut sent_template = Value::Null;
    let (record_kind, text) = match kind.as_str() {
        "text" => {
            let Some(body) = object
                .get("body")
                .and_then(Value::as_str)
                .filter(|b| !b.trim().is_empty())
            else {
                return Some(bad_parameter("The parameter text['body'] is required."));
            };
            if body.chars().count() > 4096 {
                return Some(bad_parameter(
                    "The parameter text['body'] must be at most 4096 characters long.",
                ));
            }
            ("message", Some(body.to_string()))
        }
        "template" => {
            let name = object.get("name").and_then(Value::as_str).unwrap_or("");
            let language = object.pointer("/language/code").and_then(Value::as_str);
            if name.is_empty() || language.is_none() {
                return Some(bad_parameter(
                    "The parameters template['name'] and template['language']['code'] are required.",
                ));
            }
            match templates::check_send(number, &wa.media, &object) {
                Ok(summary) => sent_template = summary,
                Err(refused) => return Some(refused),
            }
            ("template", Some(name.to_string()))
        }
        "image" | "video" | "audio" | "document" | "sticker" => {
            if !object.is_object() {
                return Some(bad_parameter(&format!("The parameter {kind} is required.")));
            }
            match media::sent_media(&wa.media, number_id, &kind, &object) {
                Ok(found) => sent_media = found,
                Err(refused) => return Some(refused),
            }
            let caption = object.get("caption").and_then(Value::as_str);
            (kind.as_str(), caption.map(str::to_string))
        }
        "location" | "contacts" | "interactive" | "reaction" => {
            if object.is_null() {
                return Some(bad_parameter(&format!("The parameter {kind} is required.")));
            }
            let text = object
                .get("caption")
                .or_else(|| object.pointer("/body/text"))
                .or_else(|| object.get("emoji"))
                .and_then(Value::as_str)
                .map(str::to_string);
            ("message", text)
        }
        other => {
            return Some(cloud_error(
                StatusCode::BAD_REQUEST,
                131051,
                "Unsupported message type",
                &format!("Message type {other} is not supported."),
            ));
        }
    };
    // Free-form messages need a customer message within the last 24 hours.
    let now = unix_now();
    let in_window = number
        .customers
        .get(&to)
        .is_some_and(|c| now < c.last_inbound + WINDOW_SECS);
    if record_kind != "template" && !in_window {
        return Some(cloud_error(
            StatusCode::BAD_REQUEST,
            131047,
            "Re-engagement message",
            REENGAGEMENT_DETAILS,
        ));
    }
    if let Some(refused) = number.rate_limited(limits, &to, called_at) {
        return Some(refused);
    }
    number.count_send(&to, called_at);
    let id = new_wamid(em);
    em.record("whatsapp", record_kind, Some(&to), &id, text.as_deref());
    number.sent.push(SentMessage {
        id: id.clone(),
        to: to.clone(),
        kind: record_kind.to_string(),
        request: Value::Object(req.params.clone()),
        media: sent_media,
        template: sent_template,
        statuses: Vec::new(),
    });
    let index = number.sent.len() - 1;
    let failure = number.fail_next.take();
    em.report_statuses(number_id.clone(), index, failure);
    let mut message = json!({ "id": id });
    if record_kind == "template" {
        message["message_status"] = json!("accepted");
    }
    Some(
        axum::Json(json!({
            "messaging_product": "whatsapp",
            "contacts": [{ "input": to, "wa_id": to }],
            "messages": [message],
        }))
        .into_response(),
    )
}
