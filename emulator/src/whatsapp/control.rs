//! Control endpoints under `/_emulator/whatsapp/`: customers write (any message type,
//! media with real bytes to download), tests subscribe webhooks, look at a number (its
//! sends with their media and template parameters, its media, its templates), make the
//! next send fail and set the rate limits. Also mounted here, before the Graph fallback:
//! the media download URL and the multipart upload route (see [`super::media`]).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::media::{self, customer_media};
use super::{Customer, FailNext, Limits, REENGAGEMENT_DETAILS, new_wamid};
use crate::{Emulator, control_error, parse_control, unix_now};

/// The `/_emulator/whatsapp/...` control routes.
pub(crate) fn control_routes() -> Router<Emulator> {
    Router::new()
        .route("/_emulator/whatsapp/messages", post(control_message))
        .route("/_emulator/whatsapp/subscriptions", post(control_subscribe))
        .route("/_emulator/whatsapp/fail-next", post(control_fail_next))
        .route("/_emulator/whatsapp/numbers/{id}", get(control_number))
        .route(
            "/_emulator/whatsapp/limits",
            get(control_get_limits).post(control_limits),
        )
        // Meta's media CDN, as `GET /{media-id}` points at it.
        .route("/whatsapp_business/attachments/", get(media::download))
        .route("/whatsapp_business/attachments", get(media::download))
        // Uploads are multipart; any other call on these paths goes to the Graph fallback.
        .route("/{id}/media", any(media::upload_route))
        .route("/{version}/{id}/media", any(media::upload_route))
}

/// A customer message. Only the fields of its `type` are read; `content` (the type's
/// object exactly as the Cloud API nests it) overrides them.
#[derive(Deserialize)]
struct MessageRequest {
    phone_number_id: String,
    /// The customer's wa_id (digits).
    from: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default = "default_type", rename = "type")]
    kind: String,
    #[serde(default)]
    text: Option<String>,
    /// Unix seconds; default now. A time more than 24 h ago closes the window.
    #[serde(default)]
    timestamp: Option<i64>,
    /// Media: caption, media id, MIME type, file name (documents).
    #[serde(default)]
    caption: Option<String>,
    #[serde(default)]
    media_id: Option<String>,
    #[serde(default)]
    mime_type: Option<String>,
    #[serde(default)]
    filename: Option<String>,
    /// The media's size in bytes (the file is padded to it; default: a small real file).
    #[serde(default)]
    size: Option<usize>,
    /// Audio: a voice note.
    #[serde(default)]
    voice: bool,
    /// Location.
    #[serde(default)]
    latitude: Option<f64>,
    #[serde(default)]
    longitude: Option<f64>,
    #[serde(default)]
    location_name: Option<String>,
    #[serde(default)]
    address: Option<String>,
    /// Reaction: the message reacted to and the emoji (empty removes it).
    #[serde(default)]
    message_id: Option<String>,
    #[serde(default)]
    emoji: Option<String>,
    /// Interactive replies (`interactive_type` list_reply / button_reply) and buttons.
    #[serde(default)]
    interactive_type: Option<String>,
    #[serde(default)]
    reply_id: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    payload: Option<String>,
    /// The message this one replies to (`context.id`).
    #[serde(default)]
    context_id: Option<String>,
    /// A click-to-WhatsApp ad referral object, passed through.
    #[serde(default)]
    referral: Option<Value>,
    /// `errors` of the message, passed through (`unsupported` gets 131051 by default).
    #[serde(default)]
    errors: Option<Value>,
    /// The type's object verbatim, instead of the fields above.
    #[serde(default)]
    content: Option<Value>,
    /// How many times the webhook is delivered (default 1; 0 stores only).
    #[serde(default)]
    deliveries: Option<u32>,
}

fn default_type() -> String {
    "text".into()
}

fn put(map: &mut Map<String, Value>, key: &str, value: Option<impl Into<Value>>) {
    if let Some(v) = value {
        map.insert(key.into(), v.into());
    }
}

/// The type's object for the webhook, from the request's fields.
#[allow(clippy::result_large_err)] // the error is the ready-made HTTP answer
fn content(req: &MessageRequest, id_seed: u64) -> Result<Value, Response> {
    if let Some(content) = &req.content {
        return Ok(content.clone());
    }
    let bad = |m: &str| control_error(StatusCode::BAD_REQUEST, m);
    let mut map = Map::new();
    match req.kind.as_str() {
        "text" => {
            let Some(text) = req.text.as_deref().filter(|t| !t.trim().is_empty()) else {
                return Err(bad("text is required for a text message"));
            };
            map.insert("body".into(), json!(text));
        }
        "image" | "video" | "audio" | "document" | "sticker" => {
            let mime = req.mime_type.clone().unwrap_or_else(|| {
                match req.kind.as_str() {
                    "image" => "image/jpeg",
                    "video" => "video/mp4",
                    "audio" => "audio/ogg; codecs=opus",
                    "sticker" => "image/webp",
                    _ => "application/pdf",
                }
                .into()
            });
            let id = req
                .media_id
                .clone()
                .unwrap_or_else(|| format!("{}", 1_000_000_000_000_000 + id_seed));
            map.insert("id".into(), json!(id));
            map.insert("mime_type".into(), json!(mime));
            map.insert(
                "sha256".into(),
                json!(hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
                    id.as_bytes()
                ))),
            );
            put(
                &mut map,
                "caption",
                req.caption.clone().or(req.text.clone()),
            );
            put(&mut map, "filename", req.filename.clone());
            if req.voice && req.kind == "audio" {
                map.insert("voice".into(), json!(true));
            }
        }
        "location" => {
            let (Some(lat), Some(long)) = (req.latitude, req.longitude) else {
                return Err(bad("latitude and longitude are required for a location"));
            };
            map.insert("latitude".into(), json!(lat));
            map.insert("longitude".into(), json!(long));
            put(&mut map, "name", req.location_name.clone());
            put(&mut map, "address", req.address.clone());
        }
        "reaction" => {
            let Some(target) = req.message_id.clone() else {
                return Err(bad("message_id is required for a reaction"));
            };
            map.insert("message_id".into(), json!(target));
            map.insert(
                "emoji".into(),
                json!(req.emoji.clone().or(req.text.clone()).unwrap_or_default()),
            );
        }
        "button" => {
            let text = req.text.clone().or(req.title.clone()).unwrap_or_default();
            map.insert("text".into(), json!(text));
            map.insert(
                "payload".into(),
                json!(req.payload.clone().unwrap_or_else(|| text.clone())),
            );
        }
        "interactive" => {
            let sub = req
                .interactive_type
                .clone()
                .unwrap_or_else(|| "list_reply".into());
            if sub != "list_reply" && sub != "button_reply" {
                return Err(bad("interactive_type must be list_reply or button_reply"));
            }
            let (Some(id), Some(title)) = (req.reply_id.clone(), req.title.clone()) else {
                return Err(bad(
                    "reply_id and title are required for an interactive reply",
                ));
            };
            let mut reply = Map::new();
            reply.insert("id".into(), json!(id));
            reply.insert("title".into(), json!(title));
            put(&mut reply, "description", req.description.clone());
            map.insert("type".into(), json!(sub));
            map.insert(sub, Value::Object(reply));
        }
        "contacts" | "order" | "system" => {
            return Err(bad(&format!(
                "pass the {} as `content`, exactly as the Cloud API nests it",
                req.kind
            )));
        }
        "unsupported" => {}
        other => {
            return Err(bad(&format!("type {other} needs its object as `content`")));
        }
    }
    Ok(Value::Object(map))
}

/// A customer writes to the business number; its subscribers get a `messages` webhook.
async fn control_message(
    AxState(em): AxState<Emulator>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let req: MessageRequest = match parse_control(&body) {
        Ok(req) => req,
        Err(response) => return response,
    };
    let from = req.from.trim().trim_start_matches('+').to_string();
    if from.is_empty() {
        return control_error(StatusCode::BAD_REQUEST, "from is required");
    }
    let seq = em.next_id();
    let mut content = match content(&req, seq) {
        Ok(c) => c,
        Err(response) => return response,
    };
    // A media message's file, downloadable through `GET /{media-id}` (an id that already
    // names media, such as the business's own upload, is left as it is).
    let media_id = content
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_string);
    let new_media = match (req.kind.as_str(), media_id) {
        ("image" | "video" | "audio" | "document" | "sticker", Some(media_id)) => {
            let mime = content
                .get("mime_type")
                .and_then(Value::as_str)
                .unwrap_or("application/octet-stream")
                .to_string();
            let file_name = content
                .get("filename")
                .and_then(Value::as_str)
                .map(str::to_string);
            let file = customer_media(
                &req.phone_number_id,
                &mime,
                file_name,
                req.size,
                &media::origin(&headers),
            );
            if content.get("sha256").is_none() || req.content.is_none() {
                content["sha256"] = json!(file.sha256());
            }
            Some((media_id, file))
        }
        _ => None,
    };
    let id = new_wamid(&em);
    let time = req.timestamp.unwrap_or_else(unix_now);
    let mut message = json!({
        "from": from,
        "id": id,
        "timestamp": time.to_string(),
        "type": req.kind,
    });
    match req.kind.as_str() {
        "unsupported" if req.errors.is_none() => {
            message["errors"] = json!([{
                "code": 131051,
                "title": "Message type unknown",
                "message": "Message type unknown",
                "error_data": { "details": "Message type is currently not supported." },
            }]);
        }
        "unsupported" => {}
        kind => message[kind] = content,
    }
    if let Some(errors) = &req.errors {
        message["errors"] = errors.clone();
    }
    if let Some(context) = &req.context_id {
        message["context"] = json!({ "from": from, "id": context });
    }
    if let Some(referral) = &req.referral {
        message["referral"] = referral.clone();
    }

    let mut state = em.state();
    let wa = &mut state.whatsapp;
    let Some(number) = wa.numbers.get_mut(&req.phone_number_id) else {
        return control_error(
            StatusCode::NOT_FOUND,
            format!("unknown phone number id {}", req.phone_number_id),
        );
    };
    let customer = number.customers.entry(from.clone()).or_insert(Customer {
        name: String::new(),
        last_inbound: time,
    });
    if let Some(name) = req.name.filter(|n| !n.trim().is_empty()) {
        customer.name = name;
    }
    customer.last_inbound = customer.last_inbound.max(time);
    let name = customer.name.clone();
    if let Some((media_id, file)) = new_media {
        wa.media.entry(media_id).or_insert(file);
    }
    let value = json!({
        "contacts": [{ "profile": { "name": name }, "wa_id": from }],
        "messages": [message],
    });
    wa.notify(&req.phone_number_id, value, req.deliveries.unwrap_or(1));
    axum::Json(json!({ "wamid": id, "messages": [{ "id": id }] })).into_response()
}

#[derive(Deserialize)]
struct SubscribeRequest {
    phone_number_id: String,
    callback_url: String,
    #[serde(default)]
    verify_token: String,
}

/// Same as [`Emulator::subscribe_whatsapp`], over HTTP.
async fn control_subscribe(AxState(em): AxState<Emulator>, body: Bytes) -> Response {
    let req: SubscribeRequest = match parse_control(&body) {
        Ok(req) => req,
        Err(response) => return response,
    };
    if em.state().whatsapp.secret(&req.phone_number_id).is_none() {
        return control_error(
            StatusCode::NOT_FOUND,
            format!("unknown phone number id {}", req.phone_number_id),
        );
    }
    match em
        .subscribe_whatsapp(&req.phone_number_id, &req.callback_url, &req.verify_token)
        .await
    {
        Ok(()) => axum::Json(json!({ "ok": true })).into_response(),
        Err(err) => control_error(StatusCode::BAD_GATEWAY, format!("{err:#}")),
    }
}

#[derive(Deserialize)]
struct FailNextRequest {
    /// Default: every number.
    #[serde(default)]
    phone_number_id: Option<String>,
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    details: Option<String>,
}

/// The next accepted send (of the number, or of every number) gets a `failed` status
/// webhook with this error instead of sent/delivered/read. Default: 131047.
async fn control_fail_next(AxState(em): AxState<Emulator>, body: Bytes) -> Response {
    let req: FailNextRequest = match parse_control(&body) {
        Ok(req) => req,
        Err(response) => return response,
    };
    let code = req.code.unwrap_or(131047);
    let failure = FailNext {
        code,
        title: req.title.unwrap_or_else(|| {
            if code == 131047 {
                "Re-engagement message".into()
            } else {
                "Message failed to send".into()
            }
        }),
        details: req.details.unwrap_or_else(|| {
            if code == 131047 {
                REENGAGEMENT_DETAILS.into()
            } else {
                "Message failed to send.".into()
            }
        }),
    };
    let mut state = em.state();
    let wa = &mut state.whatsapp;
    match &req.phone_number_id {
        Some(id) => match wa.numbers.get_mut(id) {
            Some(number) => number.fail_next = Some(failure),
            None => {
                return control_error(
                    StatusCode::NOT_FOUND,
                    format!("unknown phone number id {id}"),
                );
            }
        },
        None => {
            for number in wa.numbers.values_mut() {
                number.fail_next = Some(failure.clone());
            }
        }
    }
    axum::Json(json!({ "ok": true })).into_response()
}

/// A number: its customers (name, last message time) and our sends with their statuses.
async fn control_number(AxState(em): AxState<Emulator>, Path(id): Path<String>) -> Response {
    let state = em.state();
    let Some(number) = state.whatsapp.numbers.get(&id) else {
        return control_error(
            StatusCode::NOT_FOUND,
            format!("unknown phone number id {id}"),
        );
    };
    let mut customers: Vec<Value> = number
        .customers
        .iter()
        .map(|(wa_id, c)| json!({ "wa_id": wa_id, "name": c.name, "last_inbound": c.last_inbound }))
        .collect();
    customers.sort_by(|a, b| a["wa_id"].as_str().cmp(&b["wa_id"].as_str()));
    let sent: Vec<Value> = number
        .sent
        .iter()
        .map(|s| {
            let mut request = s.request.clone();
            if let Value::Object(map) = &mut request {
                map.remove("access_token");
            }
            json!({ "id": s.id, "to": s.to, "kind": s.kind, "request": request,
                "media": s.media, "template": s.template, "statuses": s.statuses })
        })
        .collect();
    let mut media: Vec<Value> = state
        .whatsapp
        .media
        .iter()
        .filter(|(_, m)| m.owner == number.config.phone_number_id)
        .map(|(id, m)| m.summary(id))
        .collect();
    media.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    let templates: Vec<Value> = number
        .templates
        .iter()
        .map(|t| json!({ "name": t.name, "language": t.language, "status": t.status }))
        .collect();
    let subscribers: Vec<&str> = number
        .subscribers
        .iter()
        .map(|s| s.callback_url.as_str())
        .collect();
    axum::Json(json!({
        "phone_number_id": number.config.phone_number_id,
        "display_phone_number": number.config.display_phone_number,
        "business_account_id": number.waba_id,
        "customers": customers,
        "sent": sent,
        "media": media,
        "templates": templates,
        "subscribers": subscribers,
    }))
    .into_response()
}

#[derive(Deserialize)]
struct LimitsRequest {
    /// Sends per second per number before 130429 (0: no limit).
    #[serde(default)]
    per_second: Option<u32>,
    /// Least ms between two sends to one customer before 131056 (0: off).
    #[serde(default)]
    pair_interval_ms: Option<u64>,
    /// `/messages` calls per minute for the app before code 4 / HTTP 429 (0: off).
    #[serde(default)]
    app_per_minute: Option<u32>,
    /// Back to the defaults first (80 per second, the others off).
    #[serde(default)]
    reset: bool,
}

fn limits_json(limits: Limits) -> Value {
    json!({
        "per_second": limits.per_second,
        "pair_interval_ms": limits.pair_interval_ms,
        "app_per_minute": limits.app_per_minute,
    })
}

/// Sets the rate limits of every number; fields left out keep their value. Answers the
/// limits now in force.
async fn control_limits(AxState(em): AxState<Emulator>, body: Bytes) -> Response {
    let req: LimitsRequest = match parse_control(&body) {
        Ok(req) => req,
        Err(response) => return response,
    };
    let mut state = em.state();
    let limits = &mut state.whatsapp.limits;
    if req.reset {
        *limits = Limits::default();
    }
    if let Some(n) = req.per_second {
        limits.per_second = n;
    }
    if let Some(ms) = req.pair_interval_ms {
        limits.pair_interval_ms = ms;
    }
    if let Some(n) = req.app_per_minute {
        limits.app_per_minute = n;
    }
    axum::Json(limits_json(*limits)).into_response()
}

/// The rate limits in force.
async fn control_get_limits(AxState(em): AxState<Emulator>) -> Response {
    let limits = em.state().whatsapp.limits;
    axum::Json(limits_json(limits)).into_response()
}
