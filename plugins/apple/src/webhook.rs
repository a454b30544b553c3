//! Inbound MSP requests: Apple POSTs each customer message or event to the channel's
//! webhook with a JWT whose `aud` is our provider id.
//!
//! An authenticated body that is not a JSON object is answered 400 (and logged at ERROR):
//! unlike Meta and X, Apple documents no redelivery of a refused message, and a 4xx is
//! the MSP API's own answer to a malformed request; it tells Apple the message was not
//! taken rather than acknowledging it silently, and the host counts the 4xx and records
//! it as the channel's last error. A 5xx would only invite retries of the same bytes.
//! Fields of an unexpected type are read as absent, and an attachment we cannot read is
//! left out with a warning, so an odd field never loses a customer's message. What each
//! kind of message becomes is [`inbound`]'s.

use serde::Deserialize;
use serde_json::Value;
use switchboard_sdk::lenient::{self, Items};
use switchboard_sdk::{
    Attachment, Author, Event, HttpRequest, HttpResponse, Message, Visibility, WebhookOutcome,
    clock, log, webhook,
};

use crate::inbound::{self, AppleAttachment};
use crate::{Settings, jwt};

/// Display name for customers: Apple never reveals who they are, only an opaque id.
pub(crate) const CUSTOMER_NAME: &str = "Apple Messages customer";

pub(crate) fn handle(settings: &Settings, req: &HttpRequest) -> WebhookOutcome {
    if !req.method.eq_ignore_ascii_case("POST") {
        return WebhookOutcome::respond(HttpResponse::text(
            405,
            format!("method {} not allowed", req.method),
        ));
    }
    if let Err(why) = authenticate(settings, req) {
        log::warn(format!("apple: webhook refused: {why}"));
        return WebhookOutcome::respond(HttpResponse::text(401, "unauthorized"));
    }
    let body: Body = match lenient::object(&req.body) {
        Ok(b) => b,
        Err(why) => {
            log::error(format!(
                "apple: an authenticated webhook body could not be read and was refused: {why}"
            ));
            return WebhookOutcome::respond(HttpResponse::text(
                400,
                format!("malformed JSON body: {why}"),
            ));
        }
    };
    if let Some(summary) = body.attachments.summary("attachment") {
        log::warn(format!("apple: webhook: {summary}"));
    }
    let kind = body.kind.clone().unwrap_or_default();
    let ok = || WebhookOutcome::respond(HttpResponse::empty(200));

    let destination = body
        .destination_id
        .clone()
        .or_else(|| webhook::header(req, "destination-id").map(str::to_string))
        .unwrap_or_default();
    if !same_business(&destination, &settings.business_id) {
        log::warn(format!(
            "apple: ignoring a message for business {destination:?}; this channel answers for {:?}",
            settings.business_id
        ));
        return ok();
    }
    let Some(source) = body
        .source_id
        .clone()
        .or_else(|| webhook::header(req, "source-id").map(str::to_string))
        .filter(|s| !s.is_empty())
    else {
        log::warn("apple: ignoring a message without sourceId");
        return ok();
    };
    let Some(id) = body
        .id
        .clone()
        .or_else(|| webhook::header(req, "id").map(str::to_string))
        .filter(|s| !s.is_empty())
    else {
        log::warn("apple: ignoring a message without id");
        return ok();
    };

    let reply = |message: Message| {
        WebhookOutcome::new(HttpResponse::empty(200), vec![Event::Message(message)])
    };
    match kind.as_str() {
        "typing_start" | "typing_end" => {
            log::debug(format!("apple: {kind} from a customer"));
            ok()
        }
        "interactive" => {
            let r = inbound::interactive(
                body.interactive_data.as_ref(),
                body.interactive_data_ref.as_ref(),
            );
            let mut message = message(req, &body, id, source, r.text);
            message.metadata.extend(r.metadata);
            message.attachments.extend(r.attachments);
            reply(message)
        }
        "close" => {
            // Kept, so the agent sees it in the thread; a workflow can tell it by its
            // metadata and leave it unrouted when no conversation is live.
            let mut message = message(req, &body, id, source, String::new());
            message.attachments.push(inbound::closed());
            message
                .metadata
                .push(("apple_event".into(), "close".into()));
            reply(message)
        }
        other => {
            // `text`, `richLink`, and any type Apple adds: kept with what it carries.
            let text = inbound::text_of(body.body.as_deref());
            let mut message = message(req, &body, id, source, text);
            if !matches!(other, "text" | "richLink") {
                log::info(format!(
                    "apple: message type {other:?} is new to this connector; kept as it is"
                ));
                let raw = if other.is_empty() { "unknown" } else { other };
                message.attachments.push(Attachment::of_kind(raw));
                message
                    .metadata
                    .push(("apple_type".into(), raw.to_string()));
            }
            reply(message)
        }
    }
}

/// Business ids compare with or without Apple's `urn:mbid:` prefix.
fn same_business(a: &str, b: &str) -> bool {
    let strip = |s: &str| s.trim().trim_start_matches("urn:mbid:").to_string();
    !a.trim().is_empty() && strip(a) == strip(b)
}

fn authenticate(settings: &Settings, req: &HttpRequest) -> Result<(), String> {
    let secret = settings
        .secret
        .as_deref()
        .ok_or("no `secret` configured; tokens cannot be checked")?;
    let auth = webhook::header(req, "authorization").ok_or("no Authorization header")?;
    let token = auth
        .trim()
        .strip_prefix("Bearer ")
        .or_else(|| auth.trim().strip_prefix("bearer "))
        .ok_or("Authorization is not a bearer token")?;
    let now_s = clock::now_millis().div_euclid(1000);
    jwt::verify(token, secret, &settings.provider_id, now_s)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[derive(Deserialize)]
struct Body {
    #[serde(rename = "type", default, deserialize_with = "lenient::opt")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    id: Option<String>,
    #[serde(rename = "sourceId", default, deserialize_with = "lenient::opt")]
    source_id: Option<String>,
    #[serde(rename = "destinationId", default, deserialize_with = "lenient::opt")]
    destination_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    body: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    locale: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    intent: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    group: Option<String>,
    #[serde(default)]
    attachments: Items<AppleAttachment>,
    #[serde(rename = "interactiveData", default)]
    interactive_data: Option<Value>,
    /// Apple sends this instead of `interactiveData` over 10 KB.
    #[serde(rename = "interactiveDataRef", default)]
    interactive_data_ref: Option<Value>,
    #[serde(rename = "richLinkData", default)]
    rich_link_data: Option<Value>,
}

/// `en_US` -> `en-US`.
fn language(locale: &str) -> Option<String> {
    let tag = locale.trim().replace('_', "-");
    (!tag.is_empty()).then_some(tag)
}

fn message(req: &HttpRequest, body: &Body, id: String, source: String, text: String) -> Message {
    let mut metadata = Vec::new();
    for (header, key) in [
        ("device-agent", "apple_device_agent"),
        ("capability-list", "apple_capability_list"),
        ("auto-reply", "apple_auto_reply"),
    ] {
        if let Some(v) = webhook::header(req, header).filter(|v| !v.is_empty()) {
            metadata.push((key.to_string(), v.to_string()));
        }
    }
    if let Some(intent) = body.intent.as_ref().filter(|v| !v.is_empty()) {
        metadata.push(("apple_intent".into(), intent.clone()));
    }
    if let Some(group) = body.group.as_ref().filter(|v| !v.is_empty()) {
        metadata.push(("apple_group".into(), group.clone()));
    }
    if let Some(locale) = body.locale.as_ref().filter(|v| !v.is_empty()) {
        metadata.push(("apple_locale".into(), locale.clone()));
    }
    let mut attachments: Vec<Attachment> = body
        .attachments
        .items
        .iter()
        .map(inbound::attachment)
        .collect();
    attachments.extend(body.rich_link_data.as_ref().and_then(inbound::rich_link));
    Message {
        platform_message_id: id,
        thread_id: source.clone(),
        parent_id: None,
        visibility: Visibility::Private,
        author: Author::new(source, CUSTOMER_NAME),
        text,
        attachments,
        created_at: clock::now_millis(),
        language: body.locale.as_deref().and_then(language),
        from_business: false,
        metadata,
    }
}
