//! Agent routes: sign in, status, interactions and the actions on them.

use std::sync::Arc;

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{self, Caller};
use super::detached;
use super::error::{ApiError, ErrorBody};
use super::extract::{Json, Path};
use super::responses::{Action, BadRequest, JsonBody, NotFound, SignedIn};
use crate::app::App;
use crate::interactions::Transferred;
use crate::model::interaction::{Customer, Interaction, InteractionDetail, Wrapup};
use crate::routing::AgentStatus;
use crate::store::outbox::{OutboundReply, Template};
use crate::store::{directory, queries};

/// Credentials.
#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    /// Login name.
    pub username: String,
    /// Password.
    pub password: String,
}

/// A session.
#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    /// Bearer token for every other `/api/v1` route.
    pub token: String,
    /// The session ends after this many seconds without use (`[server.sessions]`).
    pub idle_timeout_s: u64,
    /// The session ends at this time whatever happens (unix ms).
    pub expires_at: i64,
}

/// Signs in. After a few failures for a username or from an address, further tries
/// must wait longer each time and an early one is answered 429 with `Retry-After`.
#[utoipa::path(post, path = "/api/v1/login", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), BadRequest, JsonBody,
        (status = 401, description = "`unauthorized`: wrong username or password", body = ErrorBody),
        (status = 429, description = "`too_many_requests`: too many tries; wait `Retry-After` \
            seconds (also `retry_after_s`)", body = ErrorBody,
            headers(("Retry-After" = u64, description = "seconds to wait")))))]
pub async fn login(
    State(app): State<Arc<App>>,
    axum::Extension(logins): axum::Extension<Arc<super::login::Logins>>,
    super::login::ClientAddr(client): super::login::ClientAddr,
    Json(req): Json<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let token = super::login::login(&app, &logins, client, req.username, req.password).await?;
    let limits = &app.config.server.sessions;
    Ok(Json(LoginResponse {
        token,
        idle_timeout_s: limits.idle_timeout_s,
        expires_at: crate::clock::now_ms() + limits.max_age_s as i64 * 1000,
    }))
}

/// Signs out: the session ends (its token answers 401 from now on) and its event
/// streams close.
#[utoipa::path(post, path = "/api/v1/logout",
    responses((status = 204, description = "signed out"), SignedIn),
    security(("bearer" = [])))]
pub async fn logout(
    State(app): State<Arc<App>>,
    auth::Token(token): auth::Token,
) -> Result<axum::http::StatusCode, ApiError> {
    auth::close_session(&app, &token).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// The signed-in user.
#[derive(Serialize, ToSchema)]
pub struct Me {
    /// Login name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Rights.
    pub rights: Vec<String>,
    /// Routing status.
    pub status: AgentStatus,
    /// The station the user is logged in at.
    pub station: Option<String>,
}

/// Who am I.
#[utoipa::path(get, path = "/api/v1/me", responses((status = 200, body = Me), SignedIn), security(("bearer" = [])))]
pub async fn me(State(app): State<Arc<App>>, Caller(user): Caller) -> Json<Me> {
    let status = app
        .interactions
        .status(user.id)
        .unwrap_or(AgentStatus::Away);
    Json(Me {
        username: user.username,
        display_name: user.display_name,
        rights: user.rights,
        status,
        station: user.station,
    })
}

/// A status change.
#[derive(Deserialize, ToSchema)]
pub struct StatusRequest {
    /// `available` or `away`.
    #[schema(value_type = ChosenStatus)]
    pub status: String,
}

/// The statuses an agent can choose. Documents the values only: the request keeps the
/// text, so another value is refused in plain words rather than serde's.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum ChosenStatus {
    /// Offered interactions.
    Available,
    /// Offered none.
    Away,
}

/// Sets the caller's routing status.
#[utoipa::path(put, path = "/api/v1/me/status", request_body = StatusRequest,
    responses((status = 200, body = Me), SignedIn, BadRequest, JsonBody), security(("bearer" = [])))]
pub async fn set_status(
    State(app): State<Arc<App>>,
    caller: Caller,
    Json(req): Json<StatusRequest>,
) -> Result<Json<Me>, ApiError> {
    let status = AgentStatus::parse(&req.status)
        .filter(|s| matches!(s, AgentStatus::Available | AgentStatus::Away))
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "“{}” is not a status you can choose: choose Available or Away.",
                req.status
            ))
        })?;
    let (ops, user) = (app.clone(), caller.0.id);
    detached(async move { ops.interactions.set_status(user, status).await }).await?;
    Ok(me(State(app), caller).await)
}

/// Interactions offered to or held by the caller.
#[utoipa::path(get, path = "/api/v1/me/interactions", responses((status = 200, body = Vec<Interaction>), SignedIn), security(("bearer" = [])))]
pub async fn my_interactions(
    State(app): State<Arc<App>>,
    Caller(user): Caller,
) -> Result<Json<Vec<Interaction>>, ApiError> {
    let id = user.id;
    Ok(Json(
        app.store
            .read(move |c| queries::interactions_of(c, id))
            .await?,
    ))
}

/// An interaction as the desktop shows it: its detail, and what the reply box offers.
#[derive(Serialize, ToSchema)]
pub struct InteractionView {
    /// The interaction, its transcript, reply window and templates.
    #[serde(flatten)]
    pub detail: InteractionDetail,
    /// The channel's accounts a reply can be sent from (`from_handle`), as people write
    /// them (`@acme`), the default first; empty where the channel sends from one account.
    /// Names only, from the channel's `handles` setting.
    pub reply_handles: Vec<String>,
    /// The files the platform takes in replies, per visibility (kind, largest size, MIME
    /// types); empty where it takes none. The reply route refuses others.
    pub file_limits: Vec<crate::connectors::FileLimit>,
}

/// One interaction with its transcript. Agents see only their own.
#[utoipa::path(get, path = "/api/v1/interactions/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = InteractionView), SignedIn, BadRequest, NotFound), security(("bearer" = [])))]
pub async fn detail(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<InteractionView>, ApiError> {
    let not_found = || {
        ApiError::NotFound(format!(
            "Conversation {id} was not found, or it is no longer yours to see."
        ))
    };
    let detail = app
        .store
        .read(move |c| queries::interaction_detail(c, id))
        .await?
        .ok_or_else(not_found)?;
    if !caller.sees_all() && detail.interaction.assigned_user_id != Some(caller.0.id) {
        // An agent also opens the earlier interactions of a customer they answer.
        let user = caller.0.id;
        let history = app
            .store
            .read(move |c| crate::store::contacts::shares_contact_with(c, id, user))
            .await?;
        if !history {
            return Err(not_found());
        }
    }
    let mut detail = detail;
    for m in &mut detail.messages {
        m.author_handle = m.author_handle.as_deref().and_then(handle);
    }
    detail.reply_window = crate::outbound::window(&app, &detail.interaction).await;
    detail.platform = platform_of(&app, &detail.interaction);
    detail.customer = customer_of(&detail);
    detail.templates = templates_of(&app, &detail.interaction.channel);
    let group = detail.interaction.workgroup.clone();
    if let Some(g) = app
        .store
        .read(move |c| directory::workgroup_by_name(c, &group))
        .await?
    {
        detail.wrapup = Wrapup {
            codes: g.wrapup_codes,
            required: g.wrapup_required,
        };
    }
    let reply_handles = crate::outbound::extras::reply_handles(&app, &detail.interaction.channel);
    let file_limits = app
        .channels
        .get(&detail.interaction.channel)
        .map(|ch| ch.connector.file_limits())
        .unwrap_or_default();
    Ok(Json(InteractionView {
        detail,
        reply_handles,
        file_limits,
    }))
}

/// The platform the desktop shows: a Facebook page's direct messages are Messenger.
fn platform_of(app: &App, ix: &Interaction) -> String {
    app.channels
        .get(&ix.channel)
        .map(|ch| crate::model::interaction::platform_label(ch.connector.platform(), ix.media_type))
        .unwrap_or_default()
}

/// The channel's approved templates, from its `templates` setting:
/// `name:language` pairs separated by commas (`order_update:en_US, hello_world:en_US`).
pub(super) fn templates_of(app: &App, channel: &str) -> Vec<Template> {
    let Some(list) = app
        .channels
        .get(channel)
        .and_then(|ch| ch.config.settings.get("templates").cloned())
    else {
        return Vec::new();
    };
    list.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            let (name, language) = t.split_once(':').unwrap_or((t, "en_US"));
            Template {
                name: name.trim().into(),
                language: language.trim().into(),
                parameters: Vec::new(),
            }
        })
        .collect()
}

/// The customer as their latest message shows them (names and follower counts change).
/// Only the customer's own messages count: in a public thread others comment too.
fn customer_of(detail: &InteractionDetail) -> Customer {
    let ix = &detail.interaction;
    let latest = detail
        .messages
        .iter()
        .rev()
        .find(|m| m.direction == "inbound" && m.author_id == ix.customer_id);
    let followers = latest.and_then(|m| m.followers);
    let (influence_score, level) = crate::workflow::classify::influence_of(followers);
    let name = latest
        .map(|m| m.author.clone())
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| ix.customer_name.clone());
    Customer {
        name,
        handle: latest.and_then(|m| m.author_handle.as_deref().and_then(handle)),
        followers,
        influence_score,
        influence_level: level.into(),
    }
}

/// A handle as people write it, with one `@` (platforms differ on whether they send it).
pub(crate) fn handle(raw: &str) -> Option<String> {
    let bare = raw.trim().trim_start_matches('@');
    (!bare.is_empty()).then(|| format!("@{bare}"))
}

/// Accepts an offered interaction.
#[utoipa::path(post, path = "/api/v1/interactions/{id}/pickup", params(("id" = i64, Path)),
    responses((status = 200, body = Interaction), SignedIn, BadRequest, Action), security(("bearer" = [])))]
pub async fn pickup(
    State(app): State<Arc<App>>,
    Caller(user): Caller,
    Path(id): Path<i64>,
) -> Result<Json<Interaction>, ApiError> {
    Ok(Json(
        detached(async move { app.interactions.pickup(user.id, id).await }).await?,
    ))
}

/// Ends an interaction.
#[utoipa::path(post, path = "/api/v1/interactions/{id}/disconnect", params(("id" = i64, Path)),
    responses((status = 200, body = Interaction), SignedIn, BadRequest, Action), security(("bearer" = [])))]
pub async fn disconnect(
    State(app): State<Arc<App>>,
    Caller(user): Caller,
    Path(id): Path<i64>,
) -> Result<Json<Interaction>, ApiError> {
    Ok(Json(
        detached(async move { app.interactions.disconnect(user.id, id).await }).await?,
    ))
}

pub use super::reply_body::{ReplyForm, ReplyRequest};

/// Sends a reply to the platform. Answers after the first attempt: `state` is `sent`,
/// `pending` (retrying in the background) or `failed`. Send files as
/// `multipart/form-data`: the fields `text`, `visibility`, `from_handle`, `template` and
/// `list_items` (the last two as JSON) as text parts, and one part named `file` per file;
/// a file the platform does not take in such a reply is refused before anything is sent.
#[utoipa::path(post, path = "/api/v1/interactions/{id}/reply", params(("id" = i64, Path)),
    request_body(content(
        (ReplyRequest = "application/json"),
        (ReplyForm = "multipart/form-data"))),
    responses((status = 200, body = OutboundReply), SignedIn, BadRequest, JsonBody, Action,
        (status = 422, description = "`too_long`: over the platform's limit (`limit`, `length`)", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn reply(
    State(app): State<Arc<App>>,
    Caller(user): Caller,
    Path(id): Path<i64>,
    req: super::reply_body::ReplyBody,
) -> Result<Json<OutboundReply>, ApiError> {
    Ok(Json(
        detached(async move {
            crate::outbound::reply(&app, &user, id, req.text, req.visibility, req.extras).await
        })
        .await?,
    ))
}

/// Sends again a reply whose delivery is unknown (`state: "unknown"`: the platform may or
/// may not have it) or that failed, deliberately. It keeps its idempotency key, so a
/// platform that recognizes the key does not post it twice. Answers after the attempt,
/// like a reply.
#[utoipa::path(post, path = "/api/v1/interactions/{id}/outbound/{outbound_id}/resend",
    params(("id" = i64, Path), ("outbound_id" = i64, Path, description = "the reply's `id` in `outbound[]`")),
    responses((status = 200, body = OutboundReply), SignedIn, BadRequest, Action,
        (status = 409, description = "`conflict`: the reply is neither unknown nor failed, or the \
            interaction is not connected to you", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn resend(
    State(app): State<Arc<App>>,
    Caller(user): Caller,
    Path((id, outbound_id)): Path<(i64, i64)>,
) -> Result<Json<OutboundReply>, ApiError> {
    Ok(Json(
        crate::outbound::resend(&app, &user, id, outbound_id).await?,
    ))
}

/// Deletes a message of the interaction on the platform: our own tweet or reply, or a
/// customer's comment. Its stored text is erased.
#[utoipa::path(post, path = "/api/v1/interactions/{id}/messages/{message}/delete",
    params(("id" = i64, Path), ("message" = String, Path, description = "platform message id")),
    responses((status = 204, description = "deleted"), SignedIn, BadRequest, Action,
        (status = 409, description = "`conflict`: not connected to you, or the platform refused", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete_message(
    State(app): State<Arc<App>>,
    Caller(user): Caller,
    Path((id, message)): Path<(i64, String)>,
) -> Result<axum::http::StatusCode, ApiError> {
    use crate::outbound::moderation::{Moderation, moderate};
    detached(async move { moderate(&app, &user, id, message, Moderation::Delete).await }).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// Hides a customer's comment of the interaction from the public.
#[utoipa::path(post, path = "/api/v1/interactions/{id}/messages/{message}/hide",
    params(("id" = i64, Path), ("message" = String, Path, description = "platform message id")),
    responses((status = 204, description = "hidden"), SignedIn, BadRequest, Action,
        (status = 409, description = "`conflict`: not connected to you, or the platform refused", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn hide_message(
    State(app): State<Arc<App>>,
    Caller(user): Caller,
    Path((id, message)): Path<(i64, String)>,
) -> Result<axum::http::StatusCode, ApiError> {
    use crate::outbound::moderation::{Moderation, moderate};
    detached(async move { moderate(&app, &user, id, message, Moderation::Hide).await }).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// Puts a connected interaction on hold.
#[utoipa::path(post, path = "/api/v1/interactions/{id}/hold", params(("id" = i64, Path)),
    responses((status = 200, body = Interaction), SignedIn, BadRequest, Action), security(("bearer" = [])))]
pub async fn hold(
    State(app): State<Arc<App>>,
    Caller(user): Caller,
    Path(id): Path<i64>,
) -> Result<Json<Interaction>, ApiError> {
    Ok(Json(
        detached(async move { app.interactions.hold(user.id, id).await }).await?,
    ))
}

/// Takes a held interaction off hold.
#[utoipa::path(post, path = "/api/v1/interactions/{id}/resume", params(("id" = i64, Path)),
    responses((status = 200, body = Interaction), SignedIn, BadRequest, Action), security(("bearer" = [])))]
pub async fn resume(
    State(app): State<Arc<App>>,
    Caller(user): Caller,
    Path(id): Path<i64>,
) -> Result<Json<Interaction>, ApiError> {
    Ok(Json(
        detached(async move { app.interactions.resume(user.id, id).await }).await?,
    ))
}

/// Where to transfer: exactly one of `to_user` (a username) or `to_workgroup`.
#[derive(Deserialize, ToSchema)]
pub struct TransferRequest {
    /// Username of the agent to transfer to. They are offered it for the workgroup's
    /// alert timeout; then it goes back to the workgroup it came from.
    pub to_user: Option<String>,
    /// Workgroup to transfer to.
    pub to_workgroup: Option<String>,
    /// A note for whoever receives it (up to 1000 characters).
    #[serde(default)]
    pub note: Option<String>,
}

/// Transfers an interaction to an agent or a workgroup. The channel's workflow
/// initiator (`on_transfer_conversation` / `on_transfer_direct_message`) may change
/// the workgroup, priority and skills.
#[utoipa::path(post, path = "/api/v1/interactions/{id}/transfer", params(("id" = i64, Path)), request_body = TransferRequest,
    responses((status = 200, body = Transferred), SignedIn, BadRequest, JsonBody, Action), security(("bearer" = [])))]
pub async fn transfer(
    State(app): State<Arc<App>>,
    Caller(user): Caller,
    Path(id): Path<i64>,
    Json(req): Json<TransferRequest>,
) -> Result<Json<Transferred>, ApiError> {
    let mut to =
        crate::interactions::transfer::target(&app, user.id, id, req.to_user, req.to_workgroup)
            .await?;
    to.note = req.note;
    Ok(Json(
        detached(async move { app.interactions.transfer(user.id, id, to).await }).await?,
    ))
}

/// Declines an offer: it goes to the next agent, and the caller stays available (they
/// are not offered it again before the workgroup's alert timeout, unless every other
/// agent declined it too).
#[utoipa::path(post, path = "/api/v1/interactions/{id}/decline", params(("id" = i64, Path)),
    responses((status = 204, description = "declined"), SignedIn, BadRequest, Action), security(("bearer" = [])))]
pub async fn decline(
    State(app): State<Arc<App>>,
    Caller(user): Caller,
    Path(id): Path<i64>,
) -> Result<axum::http::StatusCode, ApiError> {
    detached(async move { app.interactions.decline(user.id, id).await }).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// A wrap-up code.
#[derive(Deserialize, ToSchema)]
pub struct WrapupRequest {
    /// One of the workgroup's wrap-up codes.
    pub code: String,
}

/// Sets the wrap-up code of an interaction the caller disconnected.
#[utoipa::path(post, path = "/api/v1/interactions/{id}/wrapup", params(("id" = i64, Path)), request_body = WrapupRequest,
    responses((status = 200, body = Interaction), SignedIn, BadRequest, JsonBody, Action), security(("bearer" = [])))]
pub async fn wrapup(
    State(app): State<Arc<App>>,
    Caller(user): Caller,
    Path(id): Path<i64>,
    Json(req): Json<WrapupRequest>,
) -> Result<Json<Interaction>, ApiError> {
    Ok(Json(
        detached(async move { app.interactions.wrapup(user.id, id, req.code).await }).await?,
    ))
}

/// A station to log in at (`null` logs out of any).
#[derive(Deserialize, ToSchema)]
pub struct StationRequest {
    /// Station name.
    pub station: Option<String>,
}

/// Logs the caller in at a station; its access rights then count for them.
#[utoipa::path(post, path = "/api/v1/me/station", request_body = StationRequest,
    responses((status = 200, body = Me), SignedIn, BadRequest, JsonBody), security(("bearer" = [])))]
pub async fn set_station(
    State(app): State<Arc<App>>,
    caller: Caller,
    Json(req): Json<StationRequest>,
) -> Result<Json<Me>, ApiError> {
    let (ops, user) = (app.clone(), caller.0.id);
    detached(async move { ops.interactions.set_station(user, req.station).await }).await?;
    Ok(me(State(app), caller).await)
}
