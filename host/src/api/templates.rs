//! Message templates an agent can send in a conversation (WhatsApp): listed from the
//! business account by the connector, so the list is the platform's own (names,
//! languages, review status, body with its placeholders, header). A channel whose
//! connector lists none falls back to its `templates` setting (names only), which the
//! fetched list replaces once the channel names its account (`waba_id`).

use std::sync::Arc;

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::Caller;
use super::error::ApiError;
use super::extract::{Json, Path};
use super::responses::{BadRequest, NotFound, SignedIn};
use crate::app::App;

/// One template as the platform lists it.
#[derive(Serialize, ToSchema)]
pub struct TemplateView {
    /// The template's name.
    pub name: String,
    /// Its language code (`en_US`).
    pub language: String,
    /// `APPROVED`, `PENDING`, `REJECTED`, `PAUSED`, ...: only approved ones can be sent.
    pub status: String,
    /// `UTILITY`, `MARKETING`, `AUTHENTICATION`.
    pub category: String,
    /// The body with its numbered placeholders (`{{1}}`).
    pub body: String,
    /// How many parameters the body takes.
    pub parameters: u32,
    /// The header's format: `text`, `image`, `video` or `document` (a media header is
    /// filled from the reply's file).
    pub header: Option<String>,
    /// A text header's words.
    pub header_text: Option<String>,
    /// The footer.
    pub footer: Option<String>,
}

/// The templates of a conversation's channel.
#[derive(Serialize, ToSchema)]
pub struct Templates {
    /// `platform`: listed from the business account now; `setting`: names from the
    /// channel's `templates` setting (no body or status known).
    pub source: String,
    pub templates: Vec<TemplateView>,
    /// Why the platform's list could not be read, when it could not (the setting's
    /// names are shown meanwhile).
    pub error: Option<String>,
}

/// The message templates an agent can send in conversation `id` (WhatsApp).
#[utoipa::path(get, path = "/api/v1/interactions/{id}/templates", params(("id" = i64, Path)),
    responses((status = 200, body = Templates), SignedIn, BadRequest, NotFound), security(("bearer" = [])))]
pub async fn list(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Templates>, ApiError> {
    let not_found = || {
        ApiError::NotFound(format!(
            "Conversation {id} was not found, or it is no longer yours to see."
        ))
    };
    let ix = app
        .store
        .read(move |c| crate::store::queries::interaction(c, id))
        .await?
        .ok_or_else(not_found)?;
    if !caller.sees_all() && ix.assigned_user_id != Some(caller.0.id) {
        return Err(not_found());
    }
    let Some(channel) = app.channels.get(&ix.channel) else {
        return Ok(Json(Templates {
            source: "setting".into(),
            templates: Vec::new(),
            error: Some(format!("Channel {} is not running.", ix.channel)),
        }));
    };
    let asked = {
        let permit = channel.connector.permit().await;
        let ch = channel.clone();
        let asked = tokio::task::spawn_blocking(move || ch.connector.list_templates()).await;
        drop(permit);
        asked.map_err(|e| ApiError::Internal(anyhow::anyhow!("listing templates: {e}")))?
    };
    // Names only: the setting knows nothing of bodies or review states.
    let from_setting = |error: Option<String>| Templates {
        source: "setting".into(),
        templates: super::interactions::templates_of(&app, &ix.channel)
            .into_iter()
            .map(|t| TemplateView {
                name: t.name,
                language: t.language,
                status: "APPROVED".into(),
                category: String::new(),
                body: String::new(),
                parameters: 0,
                header: None,
                header_text: None,
                footer: None,
            })
            .collect(),
        error,
    };
    Ok(Json(match asked {
        Ok(Some(list)) => Templates {
            source: "platform".into(),
            templates: list
                .into_iter()
                .map(|t| TemplateView {
                    name: t.name,
                    language: t.language,
                    status: t.status,
                    category: t.category,
                    body: t.body,
                    parameters: t.parameters,
                    header: t.header,
                    header_text: t.header_text,
                    footer: t.footer,
                })
                .collect(),
            error: None,
        },
        // A platform without templates, or an account not named yet: the setting's.
        Ok(None) => from_setting(None),
        Err(e) => {
            tracing::warn!(channel = %ix.channel, error = %e, "listing message templates failed");
            from_setting(Some(
                "The platform's template list cannot be read now; try again in a moment.".into(),
            ))
        }
    }))
}
