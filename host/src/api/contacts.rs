//! Contacts: the customer's record and history, and linking the identities of one person.
//!
//! Supervisors and administrators see every contact. An agent sees the contacts of the
//! interactions assigned to them (the one they answer, and those they answered), and may
//! open the earlier interactions of such a contact; they find others by name to link.

use std::sync::Arc;

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::admin::Admin;
use super::auth::Caller;
use super::error::ApiError;
use super::extract::{Json, Path, Query};
use super::responses::{BadRequest, JsonBody, NeedsRight, NotFound, SignedIn};
use crate::app::App;
use crate::clock::now_ms;
use crate::model::interaction::{Interaction, platform_label};
use crate::store::contacts::{self, Contact, Identity};
use crate::store::queries;
use crate::store::retention::{self, EraseRefused};

/// How many earlier interactions a contact shows.
const HISTORY: i64 = 200;
/// Longest name and notes taken.
const MAX_NAME: usize = 200;
const MAX_NOTES: usize = 4000;

/// One identity, with its platform.
#[derive(Serialize, ToSchema)]
pub struct IdentityView {
    #[serde(flatten)]
    pub identity: Identity,
    /// `facebook`, `messenger`, `x`, `whatsapp`, `apple`; null when its channel is gone.
    pub platform: Option<String>,
}

/// One interaction of a contact's history.
#[derive(Serialize, ToSchema)]
pub struct HistoryItem {
    pub id: i64,
    pub created_at: i64,
    pub channel: String,
    pub platform: Option<String>,
    pub media_type: String,
    pub state: String,
    pub workgroup: String,
    /// The agent it is (or was last) assigned to.
    pub agent: Option<String>,
    pub wrapup_code: Option<String>,
}

/// A contact with its identities and interactions.
#[derive(Serialize, ToSchema)]
pub struct ContactView {
    #[serde(flatten)]
    pub contact: Contact,
    /// Its platform identities, oldest first.
    pub identities: Vec<IdentityView>,
    /// Its interactions, newest first (at most 200).
    pub interactions: Vec<HistoryItem>,
}

/// Query of `GET /api/v1/contacts`.
#[derive(Deserialize, IntoParams, Default, Debug)]
#[into_params(parameter_in = Query)]
pub struct ContactQuery {
    /// Part of the name, or of an identity's name or handle (any case); at least two
    /// characters.
    pub q: Option<String>,
}

/// Changes a contact (the fields given).
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    /// The name agents know the person by (up to 200 characters).
    pub name: Option<String>,
    /// Notes (up to 4000 characters).
    pub notes: Option<String>,
}

/// Links another contact into this one.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkInput {
    /// The contact whose identities (and history) join this one; it is removed.
    pub contact_id: i64,
}

/// Moves one identity out of this contact into a contact of its own.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnlinkInput {
    /// The identity to move.
    pub identity_id: i64,
}

fn not_found(id: i64) -> ApiError {
    ApiError::NotFound(format!(
        "Contact {id} was not found, or it is not yours to see."
    ))
}

/// Checks the caller may see `id` (and that it exists).
async fn visible(app: &App, caller: &Caller, id: i64) -> Result<(), ApiError> {
    let (all, user) = (caller.sees_all(), caller.0.id);
    let ok = app
        .store
        .read(move |c| {
            Ok(contacts::get(c, id)?.is_some() && (all || contacts::assigned_to(c, id, user)?))
        })
        .await?;
    if ok { Ok(()) } else { Err(not_found(id)) }
}

fn platform(
    app: &App,
    channel: &str,
    media: crate::model::interaction::MediaType,
) -> Option<String> {
    app.channels
        .get(channel)
        .map(|ch| platform_label(ch.connector.platform(), media))
}

async fn view(app: &App, id: i64) -> Result<ContactView, ApiError> {
    let (contact, identities, interactions) = app
        .store
        .read(move |c| {
            let Some(contact) = contacts::get(c, id)? else {
                return Ok(None);
            };
            let ids = contacts::interaction_ids(c, id, HISTORY)?;
            let mut list: Vec<Interaction> = Vec::with_capacity(ids.len());
            for ix in ids {
                list.extend(queries::interaction(c, ix)?);
            }
            Ok(Some((contact, contacts::identities(c, id)?, list)))
        })
        .await?
        .ok_or_else(|| not_found(id))?;
    Ok(ContactView {
        contact,
        identities: identities
            .into_iter()
            .map(|identity| IdentityView {
                platform: app.channels.get(&identity.channel).map(|ch| {
                    let p = ch.connector.platform();
                    match identity
                        .media_type
                        .as_deref()
                        .and_then(crate::model::interaction::MediaType::parse)
                    {
                        Some(m) => platform_label(p, m),
                        None => p.to_owned(),
                    }
                }),
                identity,
            })
            .collect(),
        interactions: interactions
            .into_iter()
            .map(|ix| HistoryItem {
                platform: platform(app, &ix.channel, ix.media_type),
                id: ix.id,
                created_at: ix.created_at,
                media_type: ix.media_type.as_str().to_owned(),
                state: ix.state.as_str().to_owned(),
                workgroup: ix.workgroup,
                agent: ix.assigned_to,
                wrapup_code: ix.wrapup_code,
                channel: ix.channel,
            })
            .collect(),
    })
}

/// Contacts whose name, or an identity's name or handle, holds `q` (at most 20).
#[utoipa::path(get, path = "/api/v1/contacts", params(ContactQuery),
    responses((status = 200, body = Vec<Contact>), SignedIn, BadRequest), security(("bearer" = [])))]
pub async fn find(
    State(app): State<Arc<App>>,
    _caller: Caller,
    Query(q): Query<ContactQuery>,
) -> Result<Json<Vec<Contact>>, ApiError> {
    let q = q.q.unwrap_or_default().trim().to_owned();
    if q.chars().count() < 2 {
        return Err(ApiError::BadRequest(
            "query parameter `q`: type at least two characters of a name or handle".into(),
        ));
    }
    Ok(Json(
        app.store.read(move |c| contacts::find(c, &q, 20)).await?,
    ))
}

/// A contact with its identities and interactions.
#[utoipa::path(get, path = "/api/v1/contacts/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = ContactView), SignedIn, BadRequest, NotFound), security(("bearer" = [])))]
pub async fn get(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<ContactView>, ApiError> {
    visible(&app, &caller, id).await?;
    Ok(Json(view(&app, id).await?))
}

/// Changes a contact's name or notes.
#[utoipa::path(put, path = "/api/v1/contacts/{id}", params(("id" = i64, Path)), request_body = ContactInput,
    responses((status = 200, body = ContactView), SignedIn, BadRequest, NotFound, JsonBody), security(("bearer" = [])))]
pub async fn update(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(input): Json<ContactInput>,
) -> Result<Json<ContactView>, ApiError> {
    visible(&app, &caller, id).await?;
    let name = input.name.map(|n| n.trim().to_owned());
    if name.as_ref().is_some_and(|n| n.chars().count() > MAX_NAME) {
        return Err(ApiError::BadRequest(format!(
            "name: at most {MAX_NAME} characters"
        )));
    }
    if input
        .notes
        .as_ref()
        .is_some_and(|n| n.chars().count() > MAX_NOTES)
    {
        return Err(ApiError::BadRequest(format!(
            "notes: at most {MAX_NOTES} characters"
        )));
    }
    let notes = input.notes;
    app.store
        .write(move |c| contacts::update(c, id, name.as_deref(), notes.as_deref(), now_ms()))
        .await?;
    Ok(Json(view(&app, id).await?))
}

/// Links another contact of the same person into this one: its identities and history
/// join this contact, its notes are added to these, and it is removed.
#[utoipa::path(post, path = "/api/v1/contacts/{id}/link", params(("id" = i64, Path)), request_body = LinkInput,
    responses((status = 200, body = ContactView), SignedIn, BadRequest, NotFound, JsonBody), security(("bearer" = [])))]
pub async fn link(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(input): Json<LinkInput>,
) -> Result<Json<ContactView>, ApiError> {
    visible(&app, &caller, id).await?;
    let other = input.contact_id;
    if other == id {
        return Err(ApiError::BadRequest(
            "A contact cannot be linked to itself.".into(),
        ));
    }
    let done = app
        .store
        .write(move |c| {
            if contacts::get(c, other)?.is_none() {
                return Ok(false);
            }
            contacts::link(c, id, other, now_ms())?;
            Ok(true)
        })
        .await?;
    if !done {
        return Err(ApiError::BadRequest(format!(
            "contact_id: contact {other} does not exist (it may have been linked meanwhile)"
        )));
    }
    Ok(Json(view(&app, id).await?))
}

/// Moves one identity out of this contact into a contact of its own; answers the new
/// contact.
#[utoipa::path(post, path = "/api/v1/contacts/{id}/unlink", params(("id" = i64, Path)), request_body = UnlinkInput,
    responses((status = 200, body = ContactView), SignedIn, BadRequest, NotFound, JsonBody), security(("bearer" = [])))]
pub async fn unlink(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(input): Json<UnlinkInput>,
) -> Result<Json<ContactView>, ApiError> {
    visible(&app, &caller, id).await?;
    let identity = input.identity_id;
    let moved = app
        .store
        .write(move |c| {
            if !contacts::has_identity(c, id, identity)? {
                return Ok(Err(format!(
                    "identity_id: identity {identity} is not one of contact {id}'s"
                )));
            }
            if contacts::identities(c, id)?.len() < 2 {
                return Ok(Err(
                    "This is the contact's only identity: there is nothing to unlink it from."
                        .to_owned(),
                ));
            }
            Ok(Ok(contacts::unlink(c, id, identity, now_ms())?))
        })
        .await?
        .map_err(ApiError::BadRequest)?;
    Ok(Json(view(&app, moved).await?))
}

/// What erasing a customer did.
#[derive(Serialize, ToSchema)]
pub struct Erased {
    /// Interactions whose content and personal data were removed.
    pub interactions: usize,
}

/// Erases one customer: the content and personal data of all their interactions, their
/// identities and the contact. Reports keep the anonymised figures. The audit log records
/// who erased which contact, and nothing of what was erased. Administrators only; refused
/// (409) while one of their interactions is still being worked.
#[utoipa::path(post, path = "/api/v1/contacts/{id}/erase", params(("id" = i64, Path)),
    responses((status = 200, body = Erased), NeedsRight, BadRequest, NotFound,
        (status = 409, body = super::error::ErrorBody, description = "An interaction of theirs is still being worked")),
    security(("bearer" = [])))]
pub async fn erase(
    State(app): State<Arc<App>>,
    _admin: Admin,
    Path(id): Path<i64>,
) -> Result<Json<Erased>, ApiError> {
    let done = app
        .store
        .write(move |c| retention::erase_contact(c, id, now_ms()))
        .await?;
    match done {
        Ok(interactions) => Ok(Json(Erased { interactions })),
        Err(EraseRefused::Missing) => Err(not_found(id)),
        Err(EraseRefused::Live(ix)) => Err(ApiError::Conflict(format!(
            "Interaction {ix} of this customer is still being worked: end it (or have a supervisor close it) first, then erase."
        ))),
    }
}

/// Everything kept about one customer, for an access request.
#[derive(Serialize, ToSchema)]
pub struct ContactExport {
    /// When it was made, unix ms.
    pub exported_at: i64,
    #[serde(flatten)]
    pub contact: ContactView,
    /// Each interaction with its messages, replies and recorded state changes.
    #[schema(value_type = Vec<Object>)]
    pub transcripts: Vec<serde_json::Value>,
}

/// Everything stored about one customer, as a file to hand over for an access request.
/// Administrators only.
#[utoipa::path(get, path = "/api/v1/contacts/{id}/export", params(("id" = i64, Path)),
    responses((status = 200, body = ContactExport), NeedsRight, BadRequest, NotFound), security(("bearer" = [])))]
pub async fn export(
    State(app): State<Arc<App>>,
    _admin: Admin,
    Path(id): Path<i64>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let contact = view(&app, id).await?;
    let ids: Vec<i64> = contact.interactions.iter().map(|i| i.id).collect();
    let transcripts = app
        .store
        .read(move |c| {
            let mut out = Vec::new();
            for ix in ids {
                let Some(detail) = queries::interaction_detail(c, ix)? else {
                    continue;
                };
                let events = crate::store::trace::events(c, ix)?;
                out.push(serde_json::json!({
                    "interaction": detail.interaction,
                    "messages": detail.messages,
                    "replies": detail.outbound,
                    "events": events,
                }));
            }
            Ok(out)
        })
        .await?;
    let body = ContactExport {
        exported_at: now_ms(),
        contact,
        transcripts,
    };
    Ok((
        [(
            axum::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"contact-{id}.json\""),
        )],
        Json(body),
    )
        .into_response())
}
