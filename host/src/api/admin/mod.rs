//! Administrator routes (`social_media_admin` right): users, workgroups, stations,
//! channels and plugins; in a host started for tests, its clock (`testing`).
//!
//! Every change is saved in one store write (all or nothing) and then handed to routing,
//! so a new member, a new right or more room is offered waiting work at once.
//!
//! `PUT` changes only the fields it is given; the others keep their values.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use crate::store::Tx;
use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{Caller, hash_password};
use super::error::{ApiError, ErrorBody};
use super::extract::{Json, Path};
use super::responses::{BadRequest, JsonBody, NeedsRight, NotFound};
use crate::app::App;
use crate::routing::AgentStatus;
use crate::routing::{Utilization, UtilizationTable};
use crate::store::directory::{self, Station, User, Workgroup};

/// The right every route here requires.
const ADMIN_RIGHT: &str = "social_media_admin";
/// Rights a user may hold.
const USER_RIGHTS: &[&str] = &[
    "agent",
    "supervisor",
    "social_media_admin",
    "acd_social_media",
    "acd_whatsapp",
];
/// Rights a station may carry.
const STATION_RIGHTS: &[&str] = &["acd_social_media", "acd_whatsapp"];
use crate::routing::ALL_TYPES;

mod channel_check;
mod channel_edit;
mod channel_pause;
mod channels;
mod cluster;
mod plugins;
mod retention;
mod stations;
mod testing;
mod users;
mod workgroups;

pub use channel_check::*;
pub use channel_edit::*;
pub use channel_pause::*;
pub use channels::*;
pub use cluster::*;
pub use plugins::*;
pub use retention::*;
pub use stations::*;
pub use users::*;
pub use workgroups::*;

/// The routes of a host started for tests (its clock), relative to `/api/v1`; left out
/// of the OpenAPI document. The administrator routes are registered with their
/// documentation in `super::openapi`.
pub fn testing_routes() -> Router<Arc<App>> {
    Router::new().route(
        "/testing/clock",
        get(testing::test_clock).post(testing::advance_test_clock),
    )
}

// ---- extractors ---------------------------------------------------------------------------

/// A signed-in caller holding the `social_media_admin` right (401 without a valid token,
/// 403 without the right).
pub struct Admin(pub User);

impl FromRequestParts<Arc<App>> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &Arc<App>,
    ) -> Result<Self, Self::Rejection> {
        let Caller(user) = Caller::from_request_parts(parts, app).await?;
        if !user.has_right(ADMIN_RIGHT) {
            return Err(ApiError::Forbidden(format!(
                "administration requires the {ADMIN_RIGHT} right"
            )));
        }
        Ok(Admin(user))
    }
}

// ---- errors inside store writes -------------------------------------------------------------

/// Aborts a store write (rolling it back) with an API error.
fn reject(e: ApiError) -> anyhow::Error {
    anyhow::Error::new(e)
}

/// Turns a store error back into the API error it carries, if any.
fn api_error(e: anyhow::Error) -> ApiError {
    match e.downcast::<ApiError>() {
        Ok(api) => api,
        Err(other) => ApiError::Internal(other),
    }
}

fn bad(message: String) -> anyhow::Error {
    reject(ApiError::BadRequest(message))
}

fn conflict(message: String) -> anyhow::Error {
    reject(ApiError::Conflict(message))
}

fn not_found(what: &str, id: i64) -> ApiError {
    ApiError::NotFound(format!("{what} {id} not found"))
}

// ---- validation ---------------------------------------------------------------------------

fn check_name(field: &str, value: &str) -> Result<String, ApiError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ApiError::BadRequest(format!("{field}: must not be empty")));
    }
    if value.chars().count() > 100 {
        return Err(ApiError::BadRequest(format!(
            "{field}: longer than 100 characters"
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(ApiError::BadRequest(format!(
            "{field}: contains control characters"
        )));
    }
    Ok(value.to_owned())
}

fn check_username(value: &str) -> Result<String, ApiError> {
    let name = check_name("username", value)?;
    if name.chars().any(char::is_whitespace) {
        return Err(ApiError::BadRequest(format!(
            "username: `{name}` contains spaces"
        )));
    }
    Ok(name)
}

fn check_rights(field: &str, rights: &[String], allowed: &[&str]) -> Result<Vec<String>, ApiError> {
    let mut out: Vec<String> = Vec::new();
    for right in rights {
        if !allowed.contains(&right.as_str()) {
            return Err(ApiError::BadRequest(format!(
                "{field}: unknown right `{right}` (allowed: {})",
                allowed.join(", ")
            )));
        }
        if !out.contains(right) {
            out.push(right.clone());
        }
    }
    Ok(out)
}

fn check_skills(skills: &HashMap<String, u32>) -> Result<HashMap<String, u32>, ApiError> {
    let mut out = HashMap::new();
    for (name, level) in skills {
        let key = name.trim().to_lowercase();
        let valid = !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
            && !key.starts_with(|c: char| c.is_ascii_digit())
            && !matches!(key.as_str(), "and" | "or" | "not");
        if !valid {
            return Err(ApiError::BadRequest(format!(
                "skills: `{name}` is not a valid skill name (letters, digits, `_` and `-`; not `and`, `or`, `not`)"
            )));
        }
        if *level > 100 {
            return Err(ApiError::BadRequest(format!(
                "skills: level of `{name}` is {level}; levels are 0-100"
            )));
        }
        if out.insert(key, *level).is_some() {
            return Err(ApiError::BadRequest(format!(
                "skills: `{name}` is listed twice"
            )));
        }
    }
    Ok(out)
}

fn check_utilization(table: &UtilizationTable) -> Result<(), ApiError> {
    // The messages name `utilization`, the type and the bound.
    table.validate().map_err(ApiError::BadRequest)
}

fn check_range(field: &str, value: i64, low: i64, high: i64) -> Result<(), ApiError> {
    if !(low..=high).contains(&value) {
        return Err(ApiError::BadRequest(format!(
            "{field}: {value} is not within {low}-{high}"
        )));
    }
    Ok(())
}

fn check_wrapup(group: &Workgroup) -> Result<(), ApiError> {
    let mut seen = BTreeSet::new();
    for code in &group.wrapup_codes {
        if code.trim().is_empty() {
            return Err(ApiError::BadRequest("wrapup_codes: a code is empty".into()));
        }
        if !seen.insert(code.as_str()) {
            return Err(ApiError::BadRequest(format!(
                "wrapup_codes: `{code}` is listed twice"
            )));
        }
    }
    if group.wrapup_required && group.wrapup_codes.is_empty() {
        return Err(ApiError::BadRequest(
            "wrapup_required: a wrap-up code cannot be required when wrapup_codes is empty".into(),
        ));
    }
    check_range("sl_target_s", group.sl_target_s, 1, 86_400)?;
    check_range("alert_timeout_ms", group.alert_timeout_ms, 1_000, 600_000)?;
    check_range(
        "wrapup_timeout_ms",
        group.wrapup_timeout_ms,
        1_000,
        3_600_000,
    )?;
    Ok(())
}

/// Workgroups the channels route to: renaming or deleting them would strand new
/// interactions. Config-file channels are named first, in the file's order.
fn channel_using(app: &App, workgroup: &str) -> Option<String> {
    let routes_here =
        |ch: &crate::config::Channel| ch.workgroup == workgroup || ch.dm_workgroup() == workgroup;
    let from_config = app.config.channels.iter().find(|ch| routes_here(ch));
    if let Some(ch) = from_config {
        return Some(ch.name.clone());
    }
    app.channels
        .list()
        .into_iter()
        .find(|ch| routes_here(&ch.config))
        .map(|ch| ch.config.name.clone())
}

use crate::store::queries::live_in_workgroup;

#[cfg(test)]
mod tests {
    use utoipa::OpenApi;

    use super::*;

    #[derive(OpenApi)]
    #[openapi(paths(
        list_users,
        create_user,
        get_user,
        update_user,
        delete_user,
        list_workgroups,
        create_workgroup,
        get_workgroup,
        update_workgroup,
        delete_workgroup,
        list_stations,
        create_station,
        get_station,
        update_station,
        delete_station,
        list_channels,
        create_channel,
        get_channel,
        update_channel,
        delete_channel,
        list_plugins,
    ))]
    struct Doc;

    #[test]
    fn every_route_is_documented() {
        let doc = serde_json::to_value(Doc::openapi()).unwrap();
        let paths = doc["paths"].as_object().unwrap();
        for family in ["users", "workgroups", "stations"] {
            let all = &paths[&format!("/api/v1/{family}")];
            assert!(
                all["get"].is_object() && all["post"].is_object(),
                "{family}: {all}"
            );
            let one = &paths[&format!("/api/v1/{family}/{{id}}")];
            for method in ["get", "put", "delete"] {
                assert!(one[method].is_object(), "{family}/{{id}} {method}: {one}");
            }
        }
        assert!(doc["components"]["schemas"]["UserView"].is_object());
        let channels = &paths["/api/v1/channels"];
        assert!(channels["get"].is_object() && channels["post"].is_object());
        let one = &paths["/api/v1/channels/{name}"];
        for method in ["get", "put", "delete"] {
            assert!(one[method].is_object(), "channels/{{name}} {method}: {one}");
        }
        assert!(paths["/api/v1/plugins"]["get"].is_object());
        let schemas = &doc["components"]["schemas"];
        for schema in ["ChannelView", "ChannelStatus", "Channel", "PluginView"] {
            assert!(schemas[schema].is_object(), "{schema}");
        }
    }

    fn user(id: i64, own: &[(&str, u32, u32)]) -> User {
        User {
            id,
            username: format!("u{id}"),
            display_name: String::new(),
            rights: vec![],
            skills: HashMap::new(),
            utilization: table(own),
            station: None,
            status: "away".into(),
            status_at: 0,
        }
    }

    fn table(list: &[(&str, u32, u32)]) -> UtilizationTable {
        UtilizationTable {
            by_type: list
                .iter()
                .map(|(t, percent, max)| {
                    (
                        t.to_string(),
                        Utilization {
                            percent: *percent,
                            max: *max,
                        },
                    )
                })
                .collect(),
        }
    }

    fn group(id: i64, name: &str, members: &[i64], util: &[(&str, u32, u32)]) -> Workgroup {
        Workgroup {
            id,
            name: name.into(),
            alert_timeout_ms: 30_000,
            utilization: table(util),
            sl_target_s: 60,
            wrapup_codes: vec![],
            wrapup_required: false,
            wrapup_timeout_ms: 120_000,
            members: members.to_vec(),
        }
    }

    #[test]
    fn effective_utilization_prefers_the_user_then_the_first_workgroup_then_the_default() {
        let u = user(7, &[("email", 10, 3)]);
        let groups = [
            group(1, "Other", &[8], &[("chat", 1, 1)]),
            group(2, "A", &[7], &[("email", 50, 2), ("chat", 40, 3)]),
            group(3, "B", &[7], &[("chat", 20, 5), ("call", 100, 1)]),
        ];
        let e = effective_utilization(&u, &groups);
        assert_eq!(e.len(), ALL_TYPES.len());
        let at = |t: &str| {
            let x = &e[t];
            (x.percent, x.max, x.inherited, x.from.as_str())
        };
        assert_eq!(at("email"), (10, 3, false, "user"));
        assert_eq!(at("chat"), (40, 3, true, "A"));
        assert_eq!(at("call"), (100, 1, true, "B"));
        let d = Utilization::default();
        assert_eq!(
            at("social_conversation"),
            (d.percent, d.max, true, "default")
        );
    }
}
