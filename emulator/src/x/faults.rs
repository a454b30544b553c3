//! What tests need to break one X source while the others work: failures injected per
//! endpoint (a 403 on direct messages, a 400 on the search), partial `errors[]` in 200
//! answers (optionally with an item's author left out), group direct-message
//! conversations and answers in them (`POST /2/dm_conversations/:id/messages`).

use std::collections::{BTreeMap, HashMap};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::{Value, json};

use super::limits::{Caller, gate, with_rate};
use super::{Dm, XEndpoint, XRequestLog, invalid_request, now_ms, problem};
use crate::{Emulator, control_error, parse_control};

/// A failure answered instead of an endpoint's result.
#[derive(Clone, Debug)]
struct Failure {
    status: StatusCode,
    title: String,
    detail: String,
    kind: Option<String>,
    /// Answers left to fail; `None`: until cancelled.
    remaining: Option<u32>,
}

/// Partial errors added to an endpoint's next 200 answers.
#[derive(Clone, Debug)]
struct Partial {
    errors: Vec<Value>,
    drop_author: bool,
    remaining: u32,
}

/// The injected faults and the group conversations.
#[derive(Default)]
pub(super) struct Faults {
    failures: HashMap<XEndpoint, Failure>,
    partial: HashMap<XEndpoint, Partial>,
    /// Group conversations by id: their participants' user ids.
    pub(super) groups: BTreeMap<String, Vec<String>>,
}

impl Faults {
    /// True when `me` takes part in conversation `dm` belongs to.
    pub(super) fn in_group(&self, conversation_id: &str, me: &str) -> bool {
        self.groups
            .get(conversation_id)
            .is_some_and(|p| p.iter().any(|id| id == me))
    }
}

/// The injected failure of `endpoint`, if one is pending (counted down and logged).
pub(super) fn take_failure(x: &mut super::XState, endpoint: XEndpoint) -> Option<Response> {
    let failure = x.faults.failures.get_mut(&endpoint)?;
    let answer = failure.clone();
    if let Some(n) = &mut failure.remaining {
        *n = n.saturating_sub(1);
        if *n == 0 {
            x.faults.failures.remove(&endpoint);
        }
    }
    x.requests.push(XRequestLog {
        endpoint,
        at_ms: now_ms(),
        status: answer.status.as_u16(),
        reset: None,
        remaining: None,
    });
    Some(problem(
        answer.status,
        &answer.title,
        &answer.detail,
        answer.kind.as_deref(),
    ))
}

/// Adds the pending partial errors of `endpoint` to a 200 answer `body` (and leaves the
/// first item's author out when asked).
pub(super) fn add_partial(em: &Emulator, endpoint: XEndpoint, body: &mut Value) {
    let mut state = em.state();
    let faults = &mut state.x.faults;
    let Some(partial) = faults.partial.get_mut(&endpoint) else {
        return;
    };
    partial.remaining = partial.remaining.saturating_sub(1);
    let partial = partial.clone();
    if partial.remaining == 0 {
        faults.partial.remove(&endpoint);
    }
    body["errors"] = Value::Array(partial.errors);
    if partial.drop_author
        && let Some(first) = body["data"].as_array_mut().and_then(|d| d.first_mut())
        && let Some(item) = first.as_object_mut()
    {
        item.remove("author_id");
        item.remove("sender_id");
    }
}

#[derive(Deserialize)]
struct FailureRequest {
    endpoint: XEndpoint,
    #[serde(default = "default_status")]
    status: u16,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    detail: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    /// How many answers fail; absent: until cancelled; 0 cancels.
    #[serde(default)]
    count: Option<u32>,
}

fn default_status() -> u16 {
    403
}

/// Makes one endpoint fail: `{"endpoint":"dm_read","status":403,"count"?}`.
async fn control_failures(AxState(em): AxState<Emulator>, body: Bytes) -> Response {
    let req: FailureRequest = match parse_control(&body) {
        Ok(req) => req,
        Err(response) => return response,
    };
    let Ok(status) = StatusCode::from_u16(req.status) else {
        return control_error(StatusCode::BAD_REQUEST, "status must be an HTTP status");
    };
    let mut state = em.state();
    let failures = &mut state.x.faults.failures;
    if req.count == Some(0) {
        failures.remove(&req.endpoint);
    } else {
        let title = req
            .title
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("Error").to_string());
        failures.insert(
            req.endpoint,
            Failure {
                status,
                detail: req.detail.unwrap_or_else(|| title.clone()),
                title,
                kind: req.kind,
                remaining: req.count,
            },
        );
    }
    axum::Json(json!({ "endpoint": req.endpoint, "status": req.status, "count": req.count }))
        .into_response()
}

#[derive(Deserialize)]
struct PartialRequest {
    endpoint: XEndpoint,
    #[serde(default)]
    errors: Option<Vec<Value>>,
    #[serde(default)]
    drop_author: bool,
    #[serde(default = "one")]
    count: u32,
}

fn one() -> u32 {
    1
}

/// Adds `errors[]` to an endpoint's next 200 answers.
async fn control_partial(AxState(em): AxState<Emulator>, body: Bytes) -> Response {
    let req: PartialRequest = match parse_control(&body) {
        Ok(req) => req,
        Err(response) => return response,
    };
    let errors = req.errors.unwrap_or_else(|| {
        vec![json!({
            "value": "9999999", "detail": "Could not find user with id: [9999999].",
            "title": "Not Found Error", "resource_type": "user", "parameter": "id",
            "resource_id": "9999999", "type": "https://api.twitter.com/2/problems/resource-not-found",
        })]
    });
    let mut state = em.state();
    let partial = &mut state.x.faults.partial;
    if req.count == 0 {
        partial.remove(&req.endpoint);
    } else {
        partial.insert(
            req.endpoint,
            Partial {
                errors,
                drop_author: req.drop_author,
                remaining: req.count,
            },
        );
    }
    axum::Json(json!({ "endpoint": req.endpoint, "count": req.count })).into_response()
}

#[derive(Deserialize)]
struct GroupDmRequest {
    from_handle: String,
    /// The other participants (accounts and customers), by handle.
    participants: Vec<String>,
    text: String,
    #[serde(default)]
    conversation_id: Option<String>,
}

/// A customer writes in a group conversation (created on first use).
async fn control_group_dm(AxState(em): AxState<Emulator>, body: Bytes) -> Response {
    let req: GroupDmRequest = match parse_control(&body) {
        Ok(req) => req,
        Err(response) => return response,
    };
    if req.text.trim().is_empty() || req.participants.is_empty() {
        return control_error(
            StatusCode::BAD_REQUEST,
            "text and participants are required",
        );
    }
    let sender = super::control::user_for(&em, &req.from_handle, None, None);
    let mut members: Vec<String> = req
        .participants
        .iter()
        .map(|h| super::control::user_for(&em, h, None, None))
        .collect();
    members.push(sender.clone());
    members.sort();
    members.dedup();
    let conversation = req
        .conversation_id
        .unwrap_or_else(|| em.next_id().to_string());
    let id = em.next_id().to_string();
    let dm = Dm {
        id: id.clone(),
        conversation_id: conversation.clone(),
        sender_id: sender.clone(),
        recipient_id: String::new(),
        text: req.text,
        created_ms: now_ms(),
        ..Dm::default()
    };
    let mut state = em.state();
    let groups = &mut state.x.faults.groups;
    let group = groups.entry(conversation.clone()).or_default();
    for m in members {
        if !group.contains(&m) {
            group.push(m);
        }
    }
    let participants = group.clone();
    state.x.dms.push(dm);
    axum::Json(json!({
        "dm_event_id": id, "dm_conversation_id": conversation, "sender_id": sender,
        "participant_ids": participants,
    }))
    .into_response()
}

/// `POST /2/dm_conversations/:id/messages`: a message in an existing conversation, which
/// every participant sees.
async fn send_to_conversation(
    AxState(em): AxState<Emulator>,
    headers: HeaderMap,
    Path(conversation): Path<String>,
    body: Bytes,
) -> Response {
    let (caller, rate) = match gate(&em, XEndpoint::DmSend, &headers, true) {
        Ok(ok) => ok,
        Err(response) => return response,
    };
    let body = serde_json::from_slice::<super::media::DmBody>(&body).unwrap_or_default();
    let media_ids = body.media_ids();
    let text = body.text.unwrap_or_default();
    if text.trim().is_empty() && media_ids.is_empty() {
        return with_rate(
            invalid_request("A message needs `text` or attachments."),
            rate,
        );
    }
    let Caller::User(me) = caller else {
        return with_rate(invalid_request("A user context is required."), rate);
    };
    let id = em.next_id().to_string();
    let mut state = em.state();
    let x = &mut state.x;
    let one_to_one = conversation.split('-').any(|p| p == me);
    if !x.faults.in_group(&conversation, &me) && !one_to_one {
        return with_rate(
            problem(
                StatusCode::FORBIDDEN,
                "Forbidden",
                &format!("You are not a participant of conversation {conversation}."),
                None,
            ),
            rate,
        );
    }
    let recipient = if one_to_one {
        conversation
            .split('-')
            .find(|p| *p != me)
            .unwrap_or_default()
            .to_string()
    } else {
        String::new()
    };
    let media = match x.take_uploads(&me, &media_ids, Some(&id)) {
        Ok(keys) => keys,
        Err(why) => return with_rate(invalid_request(&why), rate),
    };
    x.dms.push(Dm {
        id: id.clone(),
        conversation_id: conversation.clone(),
        sender_id: me,
        recipient_id: recipient,
        text: text.clone(),
        created_ms: now_ms(),
        media: media.clone(),
        ..Dm::default()
    });
    drop(state);
    em.record(
        "x",
        "dm_conversation",
        Some(&conversation),
        &id,
        Some(&text),
    );
    super::media::record_media(&em, "dm_media", &id, &media);
    with_rate(
        (
            StatusCode::CREATED,
            axum::Json(
                json!({ "data": { "dm_conversation_id": conversation, "dm_event_id": id } }),
            ),
        )
            .into_response(),
        rate,
    )
}

/// The fault, partial-error and group-conversation routes.
pub(super) fn routes() -> Router<Emulator> {
    Router::new()
        .route(
            "/2/dm_conversations/{conversation}/messages",
            post(send_to_conversation),
        )
        .route("/_emulator/x/failures", post(control_failures))
        .route("/_emulator/x/partial_errors", post(control_partial))
        .route("/_emulator/x/group_dms", post(control_group_dm))
}
