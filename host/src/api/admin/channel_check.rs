//! The channel form's Test button: do these credentials work, and whose are they?
//!
//! A check loads the channel's plugin with the settings given (as creating the channel
//! would, so a missing or malformed setting is refused the same way), then asks the
//! connector's `check-credentials`: one read on the platform that needs the credentials.
//! Nothing is stored, registered or started, and nothing changes on the platform. The
//! plugin's calls go through the channel's own allowlist, as they will when it runs.
//!
//! A check that ran answers 200 whatever it found (`works` says), because the request
//! was right; a form the channel itself would refuse answers 400 as `POST /channels` does.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::Admin;
use super::channel_edit::{
    check_channel_name, check_plugin_settings, keep_secrets, load_plugin, replacement,
};
use crate::api::error::{ApiError, ErrorBody};
use crate::api::extract::{Json, Path};
use crate::api::responses::{JsonBody, NeedsRight};
use crate::app::App;
use crate::channels::named_setting;
use crate::config;
use crate::connectors::{Account, ChannelConnector, CheckRefusal, CredentialsCheck};
use crate::store::channels as stored;

/// What a credentials check found.
#[derive(Serialize, ToSchema)]
pub struct CredentialsAnswer {
    /// The platform took the credentials.
    pub works: bool,
    /// Whose they are, when they work.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<Account>,
    /// Why not, when they do not (or cannot be checked): `unauthorized`, `settings`,
    /// `rejected`, `unreachable` or `unsupported`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<CheckRefusal>,
    /// What was found, in plain words for the administrator.
    pub message: String,
    /// The setting the connector's refusal names (`reason` `settings`), for the form to
    /// point at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub setting: Option<String>,
    /// The secret it names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// The platform the plugin speaks.
    pub platform: String,
}

/// Checks a channel's credentials. Without a body, the channel as it runs now. With one,
/// the channel as the body describes it (the fields of `POST /api/v1/channels`), before it
/// is created or saved; when a channel of that name exists, the secrets the body leaves
/// out (or sends as `••••`) are its own, so an edit form can test new settings without
/// retyping every secret.
#[utoipa::path(post, path = "/api/v1/channels/{name}/check", tag = "admin",
    params(("name" = String, Path)),
    request_body(content = Option<config::Channel>,
        description = "the channel's fields, as for creating it; none: the running channel"),
    responses((status = 200, body = CredentialsAnswer,
            description = "the check ran; `works` says whether the platform took the credentials"),
        (status = 400, description = "a field is wrong; `invalid_config`: the plugin refused a \
            setting, named in `setting` (or `secret`) when it says which", body = ErrorBody),
        JsonBody, NeedsRight,
        (status = 404, description = "no body was given and no channel of that name runs",
            body = ErrorBody),
        (status = 422, description = "`plugin_failed`: the plugin could not be started or \
            failed during the check", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn check_channel(
    State(app): State<Arc<App>>,
    _admin: Admin,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<CredentialsAnswer>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return check_running(&app, &name).await.map(Json);
    }
    check_channel_name(&name)?;
    let body: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("body: not JSON ({e})")))?;
    let mut ch = replacement(&name, body)?;
    if let Some(old) = existing_config(&app, &name).await? {
        keep_secrets(&mut ch, &old);
    }
    check_plugin_settings(&app, &ch)?;
    let loaded = load_plugin(&app, ch).await?;
    check(Arc::new(loaded.connector)).await.map(Json)
}

/// Checks the credentials of a channel as it runs now.
async fn check_running(app: &App, name: &str) -> Result<CredentialsAnswer, ApiError> {
    let Some(channel) = app.channels.get(name) else {
        return Err(ApiError::NotFound(format!(
            "channel `{name}` is not running (a channel whose plugin did not load has \
             nothing to check: send its settings to test them)"
        )));
    };
    let runtime = channel.clone();
    let _permit = channel.connector.permit().await;
    let answer = tokio::task::spawn_blocking(move || runtime.connector.check_credentials())
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    answered(name, channel.connector.platform(), answer)
}

/// The settings of the channel called `name` as it is kept, secrets in plain, if there is
/// one: the running channel's, else the stored row's (a channel that did not load).
async fn existing_config(app: &App, name: &str) -> Result<Option<config::Channel>, ApiError> {
    if let Some(running) = app.channels.get(name) {
        return Ok(Some(running.config.clone()));
    }
    let lookup = name.to_owned();
    let row = app
        .store
        .read(move |c| stored::get::<config::Channel>(c, &lookup))
        .await?;
    match row.map(|r| r.config) {
        Some(Ok(mut old)) => {
            old.secrets = app.config.sealer()?.open(&old.secrets)?;
            Ok(Some(old))
        }
        _ => Ok(None),
    }
}

/// Runs the check on a freshly loaded plugin, off the async threads.
async fn check(connector: Arc<ChannelConnector>) -> Result<CredentialsAnswer, ApiError> {
    let c = connector.clone();
    let answer = tokio::task::spawn_blocking(move || c.check_credentials())
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    answered(connector.channel(), connector.platform(), answer)
}

/// The answer for the administrator: the account, or why not in plain words.
fn answered(
    channel: &str,
    platform: &str,
    answer: Result<CredentialsCheck, crate::connectors::CallError>,
) -> Result<CredentialsAnswer, ApiError> {
    let platform_name = platform_name(platform);
    let found = match answer {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!(%channel, error = %e, "credentials check: the plugin failed");
            return Err(ApiError::problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                "plugin_failed",
                "The channel's plugin failed while checking the credentials; its log has \
                 the details.",
            ));
        }
    };
    let (works, account, reason, message) = match found {
        CredentialsCheck::Works(account) => {
            let message = format!(
                "The credentials work: {platform_name} knows them as {} ({}).",
                account.name, account.id
            );
            (true, Some(account), None, message)
        }
        CredentialsCheck::Refused { reason, message } => {
            let words = match reason {
                CheckRefusal::Unauthorized => format!(
                    "{platform_name} refused the credentials: {message}. Check the tokens and \
                     secrets."
                ),
                CheckRefusal::Settings => format!("Check the settings: {message}"),
                CheckRefusal::Rejected => {
                    format!("{platform_name} refused the check: {message}")
                }
                CheckRefusal::Unreachable => format!(
                    "{platform_name} could not be asked just now: {message}. Try again in a \
                     moment."
                ),
                CheckRefusal::Unsupported => format!(
                    "These credentials cannot be checked in advance: {message}. The channel's \
                     first poll or reply will tell."
                ),
            };
            (false, None, Some(reason), words)
        }
    };
    tracing::info!(%channel, %platform, works, reason = ?reason, "credentials checked");
    let named = (reason == Some(CheckRefusal::Settings))
        .then(|| named_setting(&message))
        .flatten();
    let (setting, secret) = match named {
        Some(n) if n.kind == "secret" => (None, Some(n.key)),
        Some(n) => (Some(n.key), None),
        None => (None, None),
    };
    Ok(CredentialsAnswer {
        works,
        account,
        reason,
        message,
        setting,
        secret,
        platform: platform.to_owned(),
    })
}

/// The platform as people call it.
fn platform_name(platform: &str) -> String {
    match platform {
        "facebook" => "Facebook".into(),
        "messenger" => "Messenger".into(),
        "x" => "X".into(),
        "whatsapp" => "WhatsApp".into(),
        "apple" => "Apple Messages for Business".into(),
        "instagram" => "Instagram".into(),
        // A partner's platform is called by the name its connector gives.
        other => other.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_is_told_in_the_platforms_name() {
        let answer = answered(
            "fb",
            "facebook",
            Ok(CredentialsCheck::Refused {
                reason: CheckRefusal::Unauthorized,
                message: "the page access token has expired".into(),
            }),
        )
        .unwrap();
        assert!(!answer.works);
        assert_eq!(answer.reason, Some(CheckRefusal::Unauthorized));
        assert!(
            answer
                .message
                .starts_with("Facebook refused the credentials")
        );
        let works = answered(
            "wa",
            "whatsapp",
            Ok(CredentialsCheck::Works(Account {
                id: "1".into(),
                name: "Acme (+1 555)".into(),
                warnings: vec![],
            })),
        )
        .unwrap();
        assert!(works.works && works.reason.is_none());
        let missing = answered(
            "fb",
            "facebook",
            Ok(CredentialsCheck::Refused {
                reason: CheckRefusal::Settings,
                message: "secret `access_token` (the page access token) is required".into(),
            }),
        )
        .unwrap();
        assert_eq!(missing.secret.as_deref(), Some("access_token"));
        assert!(missing.message.starts_with("Check the settings: secret"));
        assert!(
            works.message.contains("Acme (+1 555) (1)"),
            "{}",
            works.message
        );
    }
}
