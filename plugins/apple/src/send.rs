//! Outbound messages: `POST {apple_base_url}/v1/message` with a JWT whose `iss` is our
//! provider id: text, a list picker, or text with files the host uploaded (`files`).

use serde_json::{Value, json};
use switchboard_sdk::IdempotencyKey;
use switchboard_sdk::{
    ConnectorError, HttpError, HttpRequest, HttpResponse, Outbound, Sent, clock, http, kv, log,
};

use crate::{Settings, jwt};

/// The bundle id Apple expects for list pickers (the Messages business extension).
pub(crate) const LIST_PICKER_BID: &str = "com.apple.messages.MSMessageExtensionBalloonPlugin:0000000000:com.apple.icloud.apps.messages.business.extension";
/// Locale of outbound text messages.
pub(crate) const LOCALE: &str = "en_US";
/// Wait after a 429 that names no delay.
pub(crate) const DEFAULT_RATE_LIMIT_MS: u64 = 30_000;

/// The JSON body for `msg`, with message id `id`, from `business` to `destination`.
pub(crate) fn body(
    msg: &Outbound,
    id: &str,
    business: &str,
    destination: &str,
) -> Result<Value, ConnectorError> {
    if !msg.files.is_empty() {
        if !msg.list_items.is_empty() {
            return Err(ConnectorError::Rejected(
                "a list picker cannot carry files on Apple Messages: send the files in a message of their own".into(),
            ));
        }
        let attachments = msg
            .files
            .iter()
            .map(crate::files::attachment_json)
            .collect::<Result<Vec<_>, _>>()?;
        // Apple marks each file's place in the text with U+FFFC.
        let marks: String = msg.files.iter().map(|_| '\u{fffc}').collect();
        let text = msg.text.trim();
        return Ok(json!({
            "v": 1,
            "type": "text",
            "id": id,
            "sourceId": business,
            "destinationId": destination,
            "body": if text.is_empty() { marks } else { format!("{text}\n{marks}") },
            "locale": LOCALE,
            "attachments": attachments,
        }));
    }
    if msg.list_items.is_empty() {
        return Ok(json!({
            "v": 1,
            "type": "text",
            "id": id,
            "sourceId": business,
            "destinationId": destination,
            "body": msg.text,
            "locale": LOCALE,
        }));
    }
    let items: Vec<Value> = msg
        .list_items
        .iter()
        .enumerate()
        .map(|(order, item)| {
            json!({
                "identifier": item.id,
                "title": item.title,
                "order": order,
                "style": "default",
            })
        })
        .collect();
    let title = if msg.text.trim().is_empty() {
        "Please choose"
    } else {
        msg.text.as_str()
    };
    Ok(json!({
        "v": 1,
        "type": "interactive",
        "id": id,
        "sourceId": business,
        "destinationId": destination,
        "interactiveData": {
            "bid": LIST_PICKER_BID,
            "data": {
                "mspVersion": "1.0",
                "requestIdentifier": jwt::uuid_from(&format!("request/{id}")),
                "listPicker": {
                    "sections": [{
                        "order": 0,
                        "title": title,
                        "multipleSelection": false,
                        "items": items,
                    }]
                },
                "receivedMessage": { "title": title, "style": "icon" },
                "replyMessage": { "title": title, "style": "icon" },
            }
        }
    }))
}

/// Sends `msg` to the customer. The message id is derived from the idempotency key, so a
/// retry reuses it (Apple drops duplicates); once sent, the key answers from the store.
pub(crate) fn send(
    settings: &Settings,
    msg: &Outbound,
    idempotency_key: &IdempotencyKey,
) -> Result<Sent, ConnectorError> {
    if let Some(id) = kv::sent_before(idempotency_key) {
        log::info(format!(
            "apple: reply {idempotency_key} was already sent as {id}"
        ));
        return Ok(Sent {
            platform_message_id: id,
        });
    }
    let secret = settings.require_secret()?;
    let destination = msg
        .recipient_id
        .as_deref()
        .filter(|r| !r.trim().is_empty())
        .unwrap_or(&msg.thread_id)
        .trim()
        .to_string();
    if destination.is_empty() {
        return Err(ConnectorError::Rejected(
            "an Apple Messages reply needs the customer's id (recipient or thread)".into(),
        ));
    }
    if msg.list_items.is_empty() && msg.files.is_empty() && msg.text.trim().is_empty() {
        return Err(ConnectorError::Rejected(
            "an empty message cannot be sent".into(),
        ));
    }
    let seed = if idempotency_key.is_empty() {
        format!("{}/{destination}/{}", clock::now_millis(), msg.text)
    } else {
        idempotency_key.to_string()
    };
    let id = jwt::uuid_from(&seed);
    let body = body(msg, &id, &settings.business_id, &destination)?;
    let token = jwt::sign(
        secret,
        &json!({ "iss": settings.provider_id, "iat": clock::now_millis().div_euclid(1000) }),
    );
    let req = HttpRequest::new("POST", format!("{}/v1/message", settings.apple_base_url))
        .with_header("authorization", format!("Bearer {token}"))
        .with_header("content-type", "application/json")
        .with_header("id", id.clone())
        .with_header("source-id", settings.business_id.clone())
        .with_header("destination-id", destination)
        .with_body(serde_json::to_vec(&body).unwrap_or_default());
    check(http::fetch(&req))?;
    kv::remember_sent(idempotency_key, &id);
    Ok(Sent {
        platform_message_id: id,
    })
}

/// `Retry-After` in milliseconds (seconds form only; a date is not parsed).
fn retry_after_ms(resp: &HttpResponse) -> Option<u64> {
    resp.header("retry-after")?
        .trim()
        .parse::<u64>()
        .ok()
        .map(|s| s.saturating_mul(1000))
}

/// Maps the gateway's answer: 2xx sent; 429 (and 503 with `Retry-After`) rate limited;
/// other 5xx transient; other 4xx refused for good, with status and body.
pub(crate) fn check(result: Result<HttpResponse, HttpError>) -> Result<(), ConnectorError> {
    let resp = result.map_err(|e| e.context("Apple MSP request failed"))?;
    check_answer(&resp)
}

/// [`check`] for an answer already in hand.
pub(crate) fn check_answer(resp: &HttpResponse) -> Result<(), ConnectorError> {
    if resp.is_success() {
        return Ok(());
    }
    let status = resp.status;
    let body: String = resp.body_text().chars().take(300).collect();
    let text = if body.trim().is_empty() {
        format!("Apple answered HTTP {status}")
    } else {
        format!("Apple answered HTTP {status}: {}", body.trim())
    };
    Err(match (status, retry_after_ms(resp)) {
        (429, wait) => ConnectorError::RateLimited(wait.unwrap_or(DEFAULT_RATE_LIMIT_MS)),
        (503, Some(wait)) => ConnectorError::RateLimited(wait),
        (500..=599, _) => ConnectorError::Transient(text),
        _ => ConnectorError::Rejected(text),
    })
}
