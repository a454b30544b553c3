//! Standard responses: answers administrators write once (for everyone, or for one
//! workgroup's members) and agents insert from the reply box. A response's text may hold
//! placeholders, filled for the interaction the agent answers: `{customer_name}`,
//! `{agent_name}`, `{workgroup}`, `{channel}`. An unknown placeholder is refused when the
//! response is saved, so an agent never sends one unfilled.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::admin::Admin;
use super::auth::Caller;
use super::error::{ApiError, ErrorBody};
use super::extract::{Json, Path, Query};
use super::responses::{BadRequest, JsonBody, NeedsRight, NotFound, SignedIn};
use crate::app::App;
use crate::clock::now_ms;
use crate::store::responses::{self as rows, Response};
use crate::store::{directory, queries};

/// The placeholders a response may hold.
const PLACEHOLDERS: &[&str] = &["customer_name", "agent_name", "workgroup", "channel"];
/// The longest title and text taken.
const MAX_TITLE: usize = 80;
const MAX_TEXT: usize = 8000;

/// Creates (`POST`: `title` and `text` required) or changes (`PUT`) a response.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ResponseInput {
    /// What agents pick it by (1 to 80 characters, unique for its audience).
    pub title: Option<String>,
    /// The answer; placeholders: `{customer_name}`, `{agent_name}`, `{workgroup}`,
    /// `{channel}`.
    pub text: Option<String>,
    /// The workgroup whose members see it; `null` or absent: everyone. On `PUT`, absent
    /// keeps it and `null` makes it everyone's.
    #[serde(default, deserialize_with = "some_option")]
    pub workgroup: Option<Option<String>>,
}

/// Tells a field given as `null` (`Some(None)`) from one left out (`None`).
fn some_option<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// Query of `GET /api/v1/responses`.
#[derive(Deserialize, IntoParams, Default, Debug)]
#[into_params(parameter_in = Query)]
pub struct ResponseQuery {
    /// Words the title or text must hold (any case); empty: all.
    pub q: Option<String>,
    /// An interaction the caller may see: only the responses for its workgroup (and
    /// everyone's), with the placeholders filled for it.
    pub interaction: Option<i64>,
}

/// The text's placeholders that are not known, in order of first use.
fn unknown_placeholders(text: &str) -> Vec<String> {
    let mut unknown = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('}') else { break };
        let name = &after[..end];
        let plausible = !name.is_empty()
            && name.len() <= 40
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if plausible && !PLACEHOLDERS.contains(&name) && !unknown.iter().any(|u| u == name) {
            unknown.push(name.to_owned());
        }
        rest = &after[end + 1..];
    }
    unknown
}

/// The text with its placeholders filled.
fn fill(text: &str, values: &[(&str, &str)]) -> String {
    let mut out = text.to_owned();
    for (name, value) in values {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

fn check_title(title: &str) -> Result<String, ApiError> {
    let title = title.trim();
    if title.is_empty() || title.chars().count() > MAX_TITLE {
        return Err(ApiError::BadRequest(format!(
            "title: give 1 to {MAX_TITLE} characters"
        )));
    }
    Ok(title.to_owned())
}

fn check_text(text: &str) -> Result<String, ApiError> {
    if text.trim().is_empty() || text.chars().count() > MAX_TEXT {
        return Err(ApiError::BadRequest(format!(
            "text: give 1 to {MAX_TEXT} characters"
        )));
    }
    let unknown = unknown_placeholders(text);
    if !unknown.is_empty() {
        let known: Vec<String> = PLACEHOLDERS.iter().map(|p| format!("{{{p}}}")).collect();
        return Err(ApiError::BadRequest(format!(
            "text: {} is not a placeholder this can fill; use {}",
            unknown
                .iter()
                .map(|u| format!("{{{u}}}"))
                .collect::<Vec<_>>()
                .join(", "),
            known.join(", ")
        )));
    }
    Ok(text.to_owned())
}

/// Checks a workgroup named for a response exists.
async fn check_workgroup(app: &App, workgroup: Option<String>) -> Result<Option<String>, ApiError> {
    let Some(name) = workgroup
        .map(|w| w.trim().to_owned())
        .filter(|w| !w.is_empty())
    else {
        return Ok(None);
    };
    let lookup = name.clone();
    let found = app
        .store
        .read(move |c| directory::workgroup_by_name(c, &lookup))
        .await?;
    match found {
        Some(_) => Ok(Some(name)),
        None => Err(ApiError::BadRequest(format!(
            "workgroup: there is no workgroup named `{name}`"
        ))),
    }
}

fn matches(r: &Response, words: &[String]) -> bool {
    let hay = format!("{} {}", r.title, r.text).to_lowercase();
    words.iter().all(|w| hay.contains(w.as_str()))
}

/// Standard responses the caller may use: administrators see every one; others those for
/// everyone and for their workgroups. With `interaction`, only those for its workgroup
/// (and everyone's), filled in for it.
#[utoipa::path(get, path = "/api/v1/responses", params(ResponseQuery), tag = "responses",
    responses((status = 200, body = Vec<Response>), SignedIn, BadRequest, NotFound),
    security(("bearer" = [])))]
pub async fn list(
    State(app): State<Arc<App>>,
    caller: Caller,
    Query(query): Query<ResponseQuery>,
) -> Result<Json<Vec<Response>>, ApiError> {
    let words: Vec<String> = query
        .q
        .as_deref()
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_lowercase)
        .collect();
    let me = caller.0.id;
    let (all, groups) = app
        .store
        .read(move |c| Ok((rows::list(c)?, directory::workgroups(c)?)))
        .await?;
    let mine: Vec<String> = groups
        .iter()
        .filter(|g| g.members.contains(&me))
        .map(|g| g.name.clone())
        .collect();
    let admin = caller.0.has_right("social_media_admin");
    let Some(id) = query.interaction else {
        let seen = all
            .into_iter()
            .filter(|r| admin || r.workgroup.as_ref().is_none_or(|w| mine.contains(w)))
            .filter(|r| matches(r, &words))
            .collect();
        return Ok(Json(seen));
    };
    let not_found = || {
        ApiError::NotFound(format!(
            "Conversation {id} was not found, or it is no longer yours to see."
        ))
    };
    let ix = app
        .store
        .read(move |c| queries::interaction(c, id))
        .await?
        .ok_or_else(not_found)?;
    if !caller.sees_all() && ix.assigned_user_id != Some(me) {
        return Err(not_found());
    }
    let values = [
        ("customer_name", ix.customer_name.as_str()),
        ("agent_name", caller.0.display_name.as_str()),
        ("workgroup", ix.workgroup.as_str()),
        ("channel", ix.channel.as_str()),
    ];
    let filled = all
        .into_iter()
        .filter(|r| r.workgroup.as_ref().is_none_or(|w| *w == ix.workgroup))
        .filter(|r| matches(r, &words))
        .map(|mut r| {
            r.text = fill(&r.text, &values);
            r
        })
        .collect();
    Ok(Json(filled))
}

/// Adds a standard response.
#[utoipa::path(post, path = "/api/v1/responses", tag = "responses", request_body = ResponseInput,
    responses((status = 201, body = Response), BadRequest, JsonBody, NeedsRight,
        (status = 409, description = "`conflict`: the title is taken for that audience", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    State(app): State<Arc<App>>,
    _admin: Admin,
    Json(input): Json<ResponseInput>,
) -> Result<(StatusCode, Json<Response>), ApiError> {
    let title = check_title(
        input
            .title
            .as_deref()
            .ok_or_else(|| ApiError::BadRequest("title: required".into()))?,
    )?;
    let text = check_text(
        input
            .text
            .as_deref()
            .ok_or_else(|| ApiError::BadRequest("text: required".into()))?,
    )?;
    let workgroup = check_workgroup(&app, input.workgroup.flatten()).await?;
    let now = now_ms();
    let created = app
        .store
        .write(move |c| {
            if rows::title_taken(c, &title, workgroup.as_deref(), 0)? {
                return Ok(Err(title));
            }
            let id = rows::create(c, &title, &text, workgroup.as_deref(), now)?;
            Ok(Ok(rows::get(c, id)?))
        })
        .await?;
    match created {
        Ok(Some(r)) => Ok((StatusCode::CREATED, Json(r))),
        Ok(None) => Err(ApiError::Internal(anyhow::anyhow!(
            "a response vanished as it was made"
        ))),
        Err(title) => Err(ApiError::Conflict(format!(
            "title: a response titled `{title}` exists for that audience"
        ))),
    }
}

/// Changes a standard response (only the fields given).
#[utoipa::path(put, path = "/api/v1/responses/{id}", tag = "responses", params(("id" = i64, Path)),
    request_body = ResponseInput,
    responses((status = 200, body = Response), BadRequest, JsonBody, NeedsRight, NotFound,
        (status = 409, description = "`conflict`: the title is taken for that audience", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update(
    State(app): State<Arc<App>>,
    _admin: Admin,
    Path(id): Path<i64>,
    Json(input): Json<ResponseInput>,
) -> Result<Json<Response>, ApiError> {
    let title = input.title.as_deref().map(check_title).transpose()?;
    let text = input.text.as_deref().map(check_text).transpose()?;
    let workgroup = match input.workgroup {
        Some(w) => Some(check_workgroup(&app, w).await?),
        None => None,
    };
    let now = now_ms();
    let changed = app
        .store
        .write(move |c| {
            let Some(mut r) = rows::get(c, id)? else {
                return Ok(Err(ApiError::NotFound(format!("response {id} not found"))));
            };
            r.title = title.unwrap_or(r.title);
            r.text = text.unwrap_or(r.text);
            if let Some(w) = workgroup {
                r.workgroup = w;
            }
            if rows::title_taken(c, &r.title, r.workgroup.as_deref(), id)? {
                return Ok(Err(ApiError::Conflict(format!(
                    "title: a response titled `{}` exists for that audience",
                    r.title
                ))));
            }
            r.updated_at = now;
            rows::update(c, &r)?;
            Ok(Ok(r))
        })
        .await??;
    Ok(Json(changed))
}

/// Removes a standard response.
#[utoipa::path(delete, path = "/api/v1/responses/{id}", tag = "responses", params(("id" = i64, Path)),
    responses((status = 204, description = "done"), NeedsRight, BadRequest, NotFound),
    security(("bearer" = [])))]
pub async fn delete(
    State(app): State<Arc<App>>,
    _admin: Admin,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    if app.store.write(move |c| rows::delete(c, id)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!("response {id} not found")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_known_or_named_and_filled() {
        assert!(unknown_placeholders("Hi {customer_name}, {agent_name} here").is_empty());
        assert_eq!(
            unknown_placeholders("Hi {name} and {name}, {order} {not a placeholder} {}"),
            ["name", "order"]
        );
        let e = check_text("Dear {name}").unwrap_err().to_string();
        assert!(e.contains("{name}") && e.contains("{customer_name}"), "{e}");
        assert_eq!(
            fill(
                "Hi {customer_name}, {agent_name} of {workgroup} on {channel}. {customer_name}!",
                &[
                    ("customer_name", "Ann"),
                    ("agent_name", "Alex"),
                    ("workgroup", "Social"),
                    ("channel", "facebook")
                ]
            ),
            "Hi Ann, Alex of Social on facebook. Ann!"
        );
        assert!(check_title(" ").is_err());
        assert!(check_title(&"x".repeat(81)).is_err());
        assert_eq!(check_title(" Refund ").unwrap(), "Refund");
    }
}
