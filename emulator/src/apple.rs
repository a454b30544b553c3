//! Apple Messages for Business: the messaging service provider (MSP) gateway a connector
//! sends to (`POST /v1/message`, JWT HS256 with `iss` = provider id) and the customer side
//! (`/_emulator/apple/...`), which delivers messages to the business's webhook the way
//! Apple does: a JWT with `aud` = provider id and the `id`, `source-id`, `destination-id`
//! headers. Files go both ways encrypted, through Apple's file service (`mmcs`).

mod mmcs;
#[cfg(test)]
mod mmcs_tests;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hmac::{KeyInit, Mac};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Emulator, RETRY_BACKOFF, control_error, parse_control, unix_now};

/// The bundle id of the Messages business extension that renders list pickers.
pub const LIST_PICKER_BID: &str = "com.apple.messages.MSMessageExtensionBalloonPlugin:0000000000:com.apple.icloud.apps.messages.business.extension";

/// A business registered with Apple Messages for Business on the emulated gateway.
#[derive(Clone, Debug)]
pub struct AppleBusiness {
    /// The business id (`destination-id` of customer messages, `source-id` of ours).
    pub business_id: String,
    /// The messaging service provider id (JWT `aud` inbound, `iss` outbound).
    pub provider_id: String,
    /// The shared secret, base64-encoded exactly as Apple delivers it to the provider.
    pub secret: String,
}

/// All businesses, their webhook and what they sent.
#[derive(Default)]
pub(super) struct AppleState {
    businesses: BTreeMap<String, Business>,
    /// Injected failures for `POST /v1/message` (not for the file calls).
    failure: Option<Failure>,
    /// The encrypted files, both ways.
    mmcs: mmcs::Mmcs,
}

struct Business {
    config: AppleBusiness,
    /// The decoded secret (HMAC key).
    key: Vec<u8>,
    callback_url: Option<String>,
    /// Serializes deliveries to the webhook so they arrive in order.
    delivery: Arc<tokio::sync::Mutex<()>>,
    /// Message ids already accepted from the business (a retry with the same id is a no-op).
    seen: HashSet<String>,
    /// Bodies the business sent, in order.
    sent: Vec<Value>,
    /// Files the business sent (decrypted), in order.
    files: Vec<mmcs::SentFile>,
}

#[derive(Clone, Debug, Deserialize)]
struct Failure {
    #[serde(default = "default_failure_status")]
    status: u16,
    #[serde(default = "default_failure_count")]
    count: u32,
    #[serde(default)]
    retry_after: Option<u64>,
    #[serde(default)]
    body: Option<String>,
}

fn default_failure_status() -> u16 {
    503
}
fn default_failure_count() -> u32 {
    1
}

impl AppleState {
    pub(super) fn add_business(&mut self, config: AppleBusiness) {
        let key = base64_decode(&config.secret).unwrap_or_else(|| {
            tracing::warn!(business = %config.business_id, "apple secret is not base64; using its bytes");
            config.secret.as_bytes().to_vec()
        });
        self.businesses.insert(
            config.business_id.clone(),
            Business {
                config,
                key,
                callback_url: None,
                delivery: Arc::new(tokio::sync::Mutex::new(())),
                seen: HashSet::new(),
                sent: Vec::new(),
                files: Vec::new(),
            },
        );
    }

    fn take_failure(&mut self) -> Option<Failure> {
        let failure = self.failure.as_mut()?;
        let taken = failure.clone();
        failure.count = failure.count.saturating_sub(1);
        if failure.count == 0 {
            self.failure = None;
        }
        Some(taken)
    }
}

impl Emulator {
    /// Points `business_id`'s customer messages at `callback_url` (Apple has no handshake:
    /// the URL is registered in the business's account). Replaces an earlier URL.
    pub fn subscribe_apple(&self, business_id: &str, callback_url: &str) -> anyhow::Result<()> {
        let mut state = self.state();
        let Some(business) = state.apple.businesses.get_mut(business_id) else {
            anyhow::bail!("unknown apple business {business_id}");
        };
        business.callback_url = Some(callback_url.to_string());
        Ok(())
    }
}

/// The gateway endpoint and the `/_emulator/apple/...` control routes.
pub(super) fn routes() -> Router<Emulator> {
    Router::new()
        .route("/v1/message", post(gateway_message))
        .route("/_emulator/apple/messages", post(control_message))
        .route("/_emulator/apple/subscriptions", post(control_subscribe))
        .route("/_emulator/apple/failures", post(control_failures))
        .route(
            "/_emulator/apple/businesses/{business_id}",
            get(control_business),
        )
        .merge(mmcs::routes())
}

// ------------------------------------------------------------------ JWT and base64

const STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// base64url without padding.
pub(super) fn base64url_encode(bytes: &[u8]) -> String {
    base64_encode(bytes)
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_")
}

/// Standard base64 with padding.
pub(super) fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.len();
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= n {
                out.push(STD[((v >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes standard or url-safe base64, padded or not.
pub(super) fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut bits = 0u32;
    let mut nbits = 0;
    let mut out = Vec::new();
    for c in s.trim().trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(v);
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            out.push((bits >> nbits) as u8);
            bits &= (1 << nbits) - 1;
        }
    }
    Some(out)
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// An HS256 token over `claims` keyed with `key`.
pub(super) fn sign_jwt(key: &[u8], claims: &Value) -> String {
    let header = base64url_encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = base64url_encode(claims.to_string().as_bytes());
    let input = format!("{header}.{payload}");
    let signature = base64url_encode(&hmac_sha256(key, input.as_bytes()));
    format!("{input}.{signature}")
}

/// Checks an HS256 token keyed with `key`; returns its claims.
fn verify_jwt(token: &str, key: &[u8]) -> Result<Value, &'static str> {
    let parts: Vec<&str> = token.trim().split('.').collect();
    let [h, p, s] = parts[..] else {
        return Err("malformed token");
    };
    let header: Value = base64_decode(h)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or("malformed token header")?;
    if header["alg"] != "HS256" {
        return Err("token algorithm must be HS256");
    }
    let given = base64_decode(s).ok_or("malformed token signature")?;
    let expected = hmac_sha256(key, format!("{h}.{p}").as_bytes());
    if given.len() != expected.len()
        || given
            .iter()
            .zip(&expected)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            != 0
    {
        return Err("token signature does not verify");
    }
    base64_decode(p)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .filter(Value::is_object)
        .ok_or("malformed token payload")
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn strip_urn(id: &str) -> &str {
    id.trim().trim_start_matches("urn:mbid:")
}

// ------------------------------------------------------------------ the gateway

fn refuse(status: StatusCode, why: &str) -> Response {
    tracing::debug!(%status, why, "apple gateway refused a call");
    (status, why.to_string()).into_response()
}

/// The gateway's authentication, the same for every call: `source-id` (400 when missing or
/// unknown) and a bearer JWT signed with that business's secret, `iss` = provider id, `iat`
/// (401 otherwise). Answers the business id without its `urn:mbid:` prefix.
#[allow(clippy::result_large_err)] // the error is the ready-made HTTP answer
fn authorize(apple: &AppleState, headers: &HeaderMap) -> Result<String, Response> {
    let Some(source) = header_str(headers, "source-id") else {
        return Err(refuse(StatusCode::BAD_REQUEST, "missing source-id header"));
    };
    let source = strip_urn(source).to_string();
    let Some(token) = header_str(headers, "authorization").and_then(|a| a.strip_prefix("Bearer "))
    else {
        return Err(refuse(StatusCode::UNAUTHORIZED, ""));
    };
    let Some(business) = apple.businesses.get(&source) else {
        return Err(refuse(StatusCode::BAD_REQUEST, "unknown source-id"));
    };
    let claims =
        verify_jwt(token, &business.key).map_err(|why| refuse(StatusCode::UNAUTHORIZED, why))?;
    if claims["iss"] != business.config.provider_id.as_str() {
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            "token iss is not the provider id",
        ));
    }
    if !claims["iat"].is_number() {
        return Err(refuse(StatusCode::UNAUTHORIZED, "token has no iat"));
    }
    Ok(source)
}

/// `POST /v1/message`: the business sends to a customer.
async fn gateway_message(
    AxState(em): AxState<Emulator>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut state = em.state();
    let apple = &mut state.apple;
    let source = match authorize(apple, &headers) {
        Ok(source) => source,
        Err(response) => return response,
    };
    if let Some(failure) = apple.take_failure() {
        let status =
            StatusCode::from_u16(failure.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, failure.body.unwrap_or_default()).into_response();
        if let Some(secs) = failure.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, secs.to_string().parse().unwrap());
        }
        return response;
    }
    let (Some(id), Some(destination)) = (
        header_str(&headers, "id"),
        header_str(&headers, "destination-id"),
    ) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "missing id or destination-id header",
        );
    };
    let Ok(msg) = serde_json::from_slice::<Value>(&body) else {
        return refuse(StatusCode::BAD_REQUEST, "body is not JSON");
    };
    if msg["v"] != 1
        || msg["id"] != id
        || msg["destinationId"] != destination
        || msg["sourceId"].as_str().map(strip_urn) != Some(source.as_str())
    {
        return refuse(
            StatusCode::BAD_REQUEST,
            "body v, id, sourceId or destinationId do not match the headers",
        );
    }
    let (kind, text) = match msg["type"].as_str().unwrap_or("") {
        "text" => match msg["body"].as_str().filter(|b| !b.is_empty()) {
            Some(text) => ("text", text.to_string()),
            None => return refuse(StatusCode::BAD_REQUEST, "text message without body"),
        },
        "interactive" => {
            let data = &msg["interactiveData"]["data"];
            let has_items = data["listPicker"]["sections"].as_array().is_some_and(|s| {
                s.iter()
                    .any(|s| s["items"].as_array().is_some_and(|i| !i.is_empty()))
            });
            if msg["interactiveData"]["bid"] != LIST_PICKER_BID || !has_items {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    "interactive message is not a list picker with items",
                );
            }
            let title = data["receivedMessage"]["title"]
                .as_str()
                .unwrap_or_default();
            ("list_picker", title.to_string())
        }
        "typing_start" | "typing_end" | "close" => return StatusCode::OK.into_response(),
        _ => return refuse(StatusCode::BAD_REQUEST, "unknown message type"),
    };
    // A text's files: checked against what was uploaded, and decrypted.
    let files = if kind == "text" {
        match mmcs::open_attachments(&apple.mmcs, &msg, id) {
            Ok(files) => files,
            Err(why) => return refuse(StatusCode::BAD_REQUEST, &why),
        }
    } else {
        Vec::new()
    };
    let business = apple.businesses.get_mut(&source).expect("looked up above");
    if business.seen.insert(id.to_string()) {
        business.sent.push(msg.clone());
        business.files.extend(files);
        drop(state);
        em.record("apple", kind, Some(destination), id, Some(&text));
    }
    StatusCode::OK.into_response()
}

// ------------------------------------------------------------------ the customers' side

#[derive(Deserialize)]
struct ListItemRequest {
    id: String,
    title: String,
}

#[derive(Deserialize)]
struct MessageRequest {
    business_id: String,
    source_id: String,
    #[serde(rename = "type", default = "default_type")]
    kind: String,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    items: Vec<ListItemRequest>,
    #[serde(default)]
    locale: Option<String>,
    /// Files with the message: `{name, mime_type, size?, content_base64?}` each, encrypted and
    /// sent as Apple's attachment dictionaries (a `U+FFFC` placeholder per file in the body).
    #[serde(default)]
    attachments: Vec<AttachmentRequest>,
    /// `rich_link`: the shared link.
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    title: Option<String>,
    /// `interactive`: Apple's `interactiveData.data`, verbatim.
    #[serde(default)]
    data: Option<Value>,
    /// Fields merged into Apple's body as they are (any type, any shape).
    #[serde(default)]
    content: Option<Value>,
    /// Sign the token with a wrong key (tests of the receiver's check).
    #[serde(default)]
    bad_jwt: bool,
}

#[derive(Deserialize)]
struct AttachmentRequest {
    name: String,
    #[serde(default = "default_mime")]
    mime_type: String,
    /// The size the dictionary claims; the real length when absent.
    #[serde(default)]
    size: Option<u64>,
    /// The file's bytes; the sample for `mime_type` when absent.
    #[serde(default)]
    content_base64: Option<String>,
}

fn default_mime() -> String {
    "image/jpeg".into()
}

fn default_type() -> String {
    "text".into()
}

/// The body Apple would send for a customer's message, with `attachments` (the files'
/// dictionaries) when there are any.
#[allow(clippy::result_large_err)] // the error is the ready-made HTTP answer
fn customer_payload(
    req: &MessageRequest,
    id: &str,
    attachments: Vec<Value>,
) -> Result<Value, Response> {
    let base = |kind: &str| json!({ "v": 1, "type": kind, "id": id, "sourceId": req.source_id, "destinationId": req.business_id });
    let mut payload = match req.kind.as_str() {
        "text" => {
            let text = req.body.as_deref().filter(|t| !t.trim().is_empty());
            if text.is_none() && req.attachments.is_empty() {
                return Err(control_error(
                    StatusCode::BAD_REQUEST,
                    "body or attachments are required",
                ));
            }
            let placeholders: String = req.attachments.iter().map(|_| '\u{fffc}').collect();
            let mut v = base("text");
            v["body"] = json!(match text {
                Some(text) if placeholders.is_empty() => text.to_string(),
                Some(text) => format!("{text} {placeholders}"),
                None => placeholders,
            });
            v["locale"] = json!(req.locale.as_deref().unwrap_or("en_US"));
            v
        }
        "rich_link" => {
            let Some(url) = req.url.as_deref().filter(|u| !u.is_empty()) else {
                return Err(control_error(StatusCode::BAD_REQUEST, "url is required"));
            };
            let mut v = base("richLink");
            v["body"] = json!(req.body.as_deref().unwrap_or(url));
            v["richLinkData"] = json!({ "url": url, "title": req.title.as_deref().unwrap_or(url) });
            v
        }
        "interactive" => {
            let Some(data) = &req.data else {
                return Err(control_error(
                    StatusCode::BAD_REQUEST,
                    "data (Apple's interactiveData.data) is required",
                ));
            };
            let mut v = base("interactive");
            v["interactiveData"] = json!({ "bid": LIST_PICKER_BID, "data": data });
            v
        }
        "list_picker_reply" => {
            if req.items.is_empty() {
                return Err(control_error(StatusCode::BAD_REQUEST, "items are required"));
            }
            let items: Vec<Value> = req
                .items
                .iter()
                .enumerate()
                .map(|(i, it)| json!({ "identifier": it.id, "title": it.title, "order": i, "style": "default" }))
                .collect();
            let mut v = base("interactive");
            v["locale"] = json!(req.locale.as_deref().unwrap_or("en_US"));
            v["interactiveData"] = json!({
                "bid": LIST_PICKER_BID,
                "data": {
                    "mspVersion": "1.0",
                    "requestIdentifier": uuid::Uuid::new_v4().to_string(),
                    "listPicker": { "sections": [{ "order": 0, "multipleSelection": false, "items": items }] },
                    "replyMessage": { "title": req.body.as_deref().unwrap_or("Selected"), "style": "icon" },
                },
            });
            v
        }
        // Any other type goes as it is: Apple's own (`close`, typing) and ones a test
        // makes up to see that nothing is dropped.
        other => {
            let mut v = base(other);
            if let Some(body) = &req.body {
                v["body"] = json!(body);
            }
            v
        }
    };
    if !attachments.is_empty() {
        payload["attachments"] = Value::Array(attachments);
    }
    if let (Some(Value::Object(extra)), Value::Object(map)) = (&req.content, &mut payload) {
        for (k, v) in extra {
            map.insert(k.clone(), v.clone());
        }
    }
    Ok(payload)
}

/// A customer writes (or types, or closes): delivered to the business's webhook at once.
/// Answers `{id, status}` with the webhook's final HTTP status.
async fn control_message(AxState(em): AxState<Emulator>, body: Bytes) -> Response {
    let req: MessageRequest = match parse_control(&body) {
        Ok(req) => req,
        Err(response) => return response,
    };
    if req.source_id.trim().is_empty() {
        return control_error(StatusCode::BAD_REQUEST, "source_id is required");
    }
    let id = uuid::Uuid::new_v4().to_string();
    let files = match req
        .attachments
        .iter()
        .map(mmcs::customer_file)
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(files) => files,
        Err(why) => return control_error(StatusCode::BAD_REQUEST, why),
    };
    let dictionaries = files.iter().map(|f| f.dictionary.clone()).collect();
    let payload = match customer_payload(&req, &id, dictionaries) {
        Ok(p) => p,
        Err(response) => return response,
    };
    let (url, key, provider, lock) = {
        let mut state = em.state();
        let apple = &mut state.apple;
        let Some(b) = apple.businesses.get(&req.business_id) else {
            return control_error(
                StatusCode::NOT_FOUND,
                format!("unknown business {}", req.business_id),
            );
        };
        let Some(url) = b.callback_url.clone() else {
            return control_error(
                StatusCode::CONFLICT,
                format!("business {} has no webhook subscribed", req.business_id),
            );
        };
        let found = (
            url,
            b.key.clone(),
            b.config.provider_id.clone(),
            b.delivery.clone(),
        );
        // The encrypted files wait on Apple's side for the business to download them.
        for file in files {
            apple.mmcs.keep(file);
        }
        found
    };
    let now = unix_now();
    let key = if req.bad_jwt {
        b"not-the-shared-secret".to_vec()
    } else {
        key
    };
    let token = sign_jwt(
        &key,
        &json!({ "aud": provider, "iat": now, "exp": now + 3600 }),
    );
    let bytes = serde_json::to_vec(&payload).expect("serializing JSON");

    let _in_order = lock.lock().await;
    let mut attempt = 0;
    let status = loop {
        let result = em
            .inner
            .http
            .post(&url)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header("id", &id)
            .header("source-id", &req.source_id)
            .header("destination-id", &req.business_id)
            .header("device-agent", "iPhone15,2")
            .header("capability-list", "LIST,TIME,QUICK,AUTH,FORMS")
            .body(bytes.clone())
            .send()
            .await;
        let retry = match &result {
            Ok(r) => r.status().is_server_error(),
            Err(_) => true,
        };
        match RETRY_BACKOFF.get(attempt) {
            Some(wait) if retry => {
                tracing::warn!(callback = %url, "apple webhook delivery failed; retrying");
                attempt += 1;
                tokio::time::sleep(*wait).await;
            }
            _ => break result.map(|r| r.status().as_u16()).ok(),
        }
    };
    axum::Json(json!({ "id": id, "status": status })).into_response()
}

#[derive(Deserialize)]
struct SubscribeRequest {
    business_id: String,
    callback_url: String,
}

async fn control_subscribe(AxState(em): AxState<Emulator>, body: Bytes) -> Response {
    let req: SubscribeRequest = match parse_control(&body) {
        Ok(req) => req,
        Err(response) => return response,
    };
    match em.subscribe_apple(&req.business_id, &req.callback_url) {
        Ok(()) => axum::Json(json!({ "ok": true })).into_response(),
        Err(e) => control_error(StatusCode::NOT_FOUND, e.to_string()),
    }
}

/// The next `count` gateway calls (after authentication) answer `status`.
async fn control_failures(AxState(em): AxState<Emulator>, body: Bytes) -> Response {
    let failure: Failure = match parse_control(&body) {
        Ok(f) => f,
        Err(response) => return response,
    };
    if StatusCode::from_u16(failure.status).is_err() {
        return control_error(
            StatusCode::BAD_REQUEST,
            format!("invalid status {}", failure.status),
        );
    }
    em.state().apple.failure = (failure.count > 0).then_some(failure);
    axum::Json(json!({ "ok": true })).into_response()
}

/// What a business sent (raw bodies, in order) and where its webhook points.
async fn control_business(AxState(em): AxState<Emulator>, Path(id): Path<String>) -> Response {
    let state = em.state();
    match state.apple.businesses.get(&id) {
        Some(b) => axum::Json(json!({
            "business_id": b.config.business_id,
            "provider_id": b.config.provider_id,
            "callback_url": b.callback_url,
            "sent": b.sent,
        }))
        .into_response(),
        None => control_error(StatusCode::NOT_FOUND, format!("unknown business {id}")),
    }
}
