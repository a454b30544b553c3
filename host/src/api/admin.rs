//! Administrator routes (`social_media_admin` right): users, workgroups and stations.
//!
//! Every change is saved in one store write (all or nothing) and then handed to routing,
//! so a new member, a new right or more room is offered waiting work at once.
//!
//! `PUT` changes only the fields it is given; the others keep their values.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::routing::get;
use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{Caller, hash_password};
use super::error::ApiError;
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

/// The administrator routes, relative to `/api/v1`.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/users", get(list_users).post(create_user))
        .route(
            "/users/{id}",
            get(get_user).put(update_user).delete(delete_user),
        )
        .route("/workgroups", get(list_workgroups).post(create_workgroup))
        .route(
            "/workgroups/{id}",
            get(get_workgroup)
                .put(update_workgroup)
                .delete(delete_workgroup),
        )
        .route("/stations", get(list_stations).post(create_station))
        .route(
            "/stations/{id}",
            get(get_station).put(update_station).delete(delete_station),
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

/// An integer id from the path; anything else is a 400 in JSON.
pub struct Id(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::BadRequest(e.body_text()))?;
        raw.parse()
            .map(Id)
            .map_err(|_| ApiError::BadRequest(format!("id: `{raw}` is not an integer")))
    }
}

/// A JSON body whose parse errors are 400s in JSON, naming the field.
pub struct Body<T>(pub T);

impl<S, T> FromRequest<S> for Body<T>
where
    Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Json::<T>::from_request(req, state)
            .await
            .map(|Json(v)| Body(v))
            .map_err(|e| ApiError::BadRequest(e.body_text()))
    }
}

/// Held from an administrator's store write until routing has been told, so concurrent
/// changes reach routing in the order they were committed (the hooks take snapshots).
static CHANGES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

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

/// Workgroups the configured channels route to: renaming or deleting them would strand
/// new interactions.
fn channel_using(app: &App, workgroup: &str) -> Option<String> {
    app.config
        .channels
        .iter()
        .find(|ch| ch.workgroup == workgroup || ch.dm_workgroup() == workgroup)
        .map(|ch| ch.name.clone())
}

fn live_in_workgroup(c: &Connection, name: &str) -> anyhow::Result<i64> {
    Ok(c.query_row(
        "SELECT COUNT(*) FROM interactions WHERE workgroup = ?1 AND state <> 'disconnected'",
        [name],
        |r| r.get(0),
    )?)
}

// ---- users --------------------------------------------------------------------------------

/// A user's utilization for one interaction type as routing applies it.
#[derive(Serialize, ToSchema, Debug, Clone)]
pub struct EffectiveUtilization {
    /// Percent of the agent one interaction of this type uses.
    pub percent: u32,
    /// Most interactions of this type at once.
    pub max: u32,
    /// Whether the value comes from a workgroup or the default rather than the user.
    pub inherited: bool,
    /// `user`, the workgroup's name, or `default`.
    pub from: String,
}

/// A user as administrators see it (never the password).
#[derive(Serialize, ToSchema)]
pub struct UserView {
    /// Id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Rights.
    pub rights: Vec<String>,
    /// Skills with proficiency 0-100.
    pub skills: HashMap<String, u32>,
    /// Effective utilization for every interaction type: the user's own setting, else the
    /// first of the user's workgroups (by id) that sets the type, else the default.
    pub utilization: BTreeMap<String, EffectiveUtilization>,
    /// The settings made on the user itself (what `utilization` in a request sets).
    #[schema(value_type = Object)]
    pub utilization_overrides: UtilizationTable,
    /// Names of the workgroups the user belongs to, by workgroup id.
    pub workgroups: Vec<String>,
    /// The station the user is logged in at.
    pub station: Option<String>,
    /// Routing status right now.
    pub status: AgentStatus,
}

/// Creates (`POST`, `username` and `password` required) or changes (`PUT`, every field
/// optional) a user.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct UserInput {
    /// Login name, unique.
    pub username: Option<String>,
    /// Display name (default: the username).
    pub display_name: Option<String>,
    /// Password; required on create.
    pub password: Option<String>,
    /// Rights: `agent`, `supervisor`, `social_media_admin`, `acd_social_media`, `acd_whatsapp`.
    pub rights: Option<Vec<String>>,
    /// Skills: name -> level 0-100.
    pub skills: Option<HashMap<String, u32>>,
    /// The user's own utilization: type -> `{percent 0-100, max 1-25}`; types left out
    /// inherit from the workgroup. Replaces the whole table.
    #[schema(value_type = Option<Object>)]
    pub utilization: Option<UtilizationTable>,
    /// Names of the workgroups the user belongs to; replaces the memberships.
    pub workgroups: Option<Vec<String>>,
}

/// The effective utilization of `user`, given every workgroup (ordered by id).
pub fn effective_utilization(
    user: &User,
    groups: &[Workgroup],
) -> BTreeMap<String, EffectiveUtilization> {
    let mine: Vec<&Workgroup> = groups
        .iter()
        .filter(|g| g.members.contains(&user.id))
        .collect();
    ALL_TYPES
        .iter()
        .map(|&ty| {
            let (u, inherited, from) = if let Some(u) = user.utilization.by_type.get(ty) {
                (*u, false, "user".to_owned())
            } else if let Some((g, u)) = mine
                .iter()
                .find_map(|g| g.utilization.by_type.get(ty).map(|u| (g, u)))
            {
                (*u, true, g.name.clone())
            } else {
                (Utilization::default(), true, "default".to_owned())
            };
            (
                ty.to_owned(),
                EffectiveUtilization {
                    percent: u.percent,
                    max: u.max,
                    inherited,
                    from,
                },
            )
        })
        .collect()
}

fn user_view(app: &App, user: User, groups: &[Workgroup]) -> UserView {
    let status = app
        .interactions
        .status(user.id)
        .unwrap_or(AgentStatus::LoggedOut);
    UserView {
        id: user.id,
        utilization: effective_utilization(&user, groups),
        workgroups: groups
            .iter()
            .filter(|g| g.members.contains(&user.id))
            .map(|g| g.name.clone())
            .collect(),
        username: user.username,
        display_name: user.display_name,
        rights: user.rights,
        skills: user.skills,
        utilization_overrides: user.utilization,
        station: user.station,
        status,
    }
}

/// Checked fields of a user request.
struct UserChanges {
    username: Option<String>,
    display_name: Option<String>,
    password_hash: Option<String>,
    rights: Option<Vec<String>>,
    skills: Option<HashMap<String, u32>>,
    utilization: Option<UtilizationTable>,
    workgroups: Option<Vec<String>>,
}

async fn check_user_input(input: UserInput) -> Result<UserChanges, ApiError> {
    let username = input.username.as_deref().map(check_username).transpose()?;
    let display_name = input
        .display_name
        .as_deref()
        .map(|d| check_name("display_name", d))
        .transpose()?;
    let rights = input
        .rights
        .as_deref()
        .map(|r| check_rights("rights", r, USER_RIGHTS))
        .transpose()?;
    let skills = input.skills.as_ref().map(check_skills).transpose()?;
    if let Some(u) = &input.utilization {
        check_utilization(u)?;
    }
    let utilization = input.utilization;
    let workgroups = input.workgroups.map(|names| {
        let mut out: Vec<String> = Vec::new();
        for n in names {
            if !out.contains(&n) {
                out.push(n);
            }
        }
        out
    });
    let password_hash = match input.password {
        None => None,
        Some(p) if p.is_empty() => {
            return Err(ApiError::BadRequest("password: must not be empty".into()));
        }
        Some(p) => Some(
            tokio::task::spawn_blocking(move || hash_password(&p))
                .await
                .map_err(|e| ApiError::Internal(e.into()))??,
        ),
    };
    Ok(UserChanges {
        username,
        display_name,
        password_hash,
        rights,
        skills,
        utilization,
        workgroups,
    })
}

/// What a user write produced: the user, every workgroup after the change, and the
/// workgroups whose membership changed.
struct UserSaved {
    user: User,
    groups: Vec<Workgroup>,
    changed_groups: Vec<Workgroup>,
}

/// Applies `changes` to user `id` (0: create) inside a store write.
fn save_user(c: &Connection, id: i64, changes: UserChanges) -> anyhow::Result<UserSaved> {
    let before_groups = directory::workgroups(c)?;
    // Resolve workgroup names first, so an unknown one changes nothing.
    let wanted: Option<Vec<i64>> = match &changes.workgroups {
        None => None,
        Some(names) => Some(
            names
                .iter()
                .map(|n| {
                    before_groups
                        .iter()
                        .find(|g| &g.name == n)
                        .map(|g| g.id)
                        .ok_or_else(|| bad(format!("workgroups: no workgroup named `{n}`")))
                })
                .collect::<anyhow::Result<_>>()?,
        ),
    };
    if let Some(name) = &changes.username
        && let Some(other) = directory::user_by_name(c, name)?
        && other.id != id
    {
        return Err(conflict(format!("username: `{name}` is already taken")));
    }
    let mut user = if id == 0 {
        let username = changes.username.clone().expect("checked by the caller");
        let display = changes
            .display_name
            .clone()
            .unwrap_or_else(|| username.clone());
        let hash = changes
            .password_hash
            .clone()
            .expect("checked by the caller");
        let new_id = directory::upsert_user(c, &username, &display, &hash, &[])?;
        directory::user(c, new_id)?
            .ok_or_else(|| anyhow::anyhow!("user just created is missing"))?
    } else {
        directory::user(c, id)?.ok_or_else(|| reject(not_found("user", id)))?
    };
    if let Some(v) = changes.username {
        user.username = v;
    }
    if let Some(v) = changes.display_name {
        user.display_name = v;
    }
    if let Some(v) = changes.rights {
        user.rights = v;
    }
    if let Some(v) = changes.skills {
        user.skills = v;
    }
    if let Some(v) = changes.utilization {
        user.utilization = v;
    }
    directory::update_user(c, &user)?;
    if id != 0
        && let Some(hash) = &changes.password_hash
    {
        directory::set_password(c, user.id, hash)?;
    }
    let mut changed = Vec::new();
    if let Some(wanted) = wanted {
        for g in &before_groups {
            let member = g.members.contains(&user.id);
            let should = wanted.contains(&g.id);
            if member == should {
                continue;
            }
            let mut members: Vec<i64> = g
                .members
                .iter()
                .copied()
                .filter(|m| *m != user.id)
                .collect();
            if should {
                members.push(user.id);
                members.sort_unstable();
            }
            directory::set_members(c, g.id, &members)?;
            changed.push(g.id);
        }
    }
    let groups = if changed.is_empty() {
        before_groups
    } else {
        directory::workgroups(c)?
    };
    let changed_groups = groups
        .iter()
        .filter(|g| changed.contains(&g.id))
        .cloned()
        .collect();
    Ok(UserSaved {
        user,
        groups,
        changed_groups,
    })
}

/// Tells routing about a saved user and the workgroups whose members changed.
async fn user_hooks(app: &App, saved: &UserSaved) {
    app.interactions.user_changed(&saved.user).await;
    for g in &saved.changed_groups {
        app.interactions.workgroup_changed(g).await;
    }
}

/// Every user.
#[utoipa::path(get, path = "/api/v1/users", tag = "admin",
    responses((status = 200, body = Vec<UserView>), (status = 401), (status = 403, description = "not an administrator")),
    security(("bearer" = [])))]
pub async fn list_users(
    State(app): State<Arc<App>>,
    _admin: Admin,
) -> Result<Json<Vec<UserView>>, ApiError> {
    let (users, groups) = app
        .store
        .read(|c| Ok((directory::users(c)?, directory::workgroups(c)?)))
        .await?;
    Ok(Json(
        users
            .into_iter()
            .map(|u| user_view(&app, u, &groups))
            .collect(),
    ))
}

/// One user.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "admin", params(("id" = i64, Path)),
    responses((status = 200, body = UserView), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = [])))]
pub async fn get_user(
    State(app): State<Arc<App>>,
    _admin: Admin,
    Id(id): Id,
) -> Result<Json<UserView>, ApiError> {
    let (user, groups) = app
        .store
        .read(move |c| Ok((directory::user(c, id)?, directory::workgroups(c)?)))
        .await?;
    let user = user.ok_or_else(|| not_found("user", id))?;
    Ok(Json(user_view(&app, user, &groups)))
}

/// Creates a user.
#[utoipa::path(post, path = "/api/v1/users", tag = "admin", request_body = UserInput,
    responses((status = 201, body = UserView), (status = 400, description = "invalid field"),
        (status = 401), (status = 403), (status = 409, description = "username taken")),
    security(("bearer" = [])))]
pub async fn create_user(
    State(app): State<Arc<App>>,
    _admin: Admin,
    Body(input): Body<UserInput>,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    if input.username.is_none() {
        return Err(ApiError::BadRequest("username: required".into()));
    }
    if input.password.is_none() {
        return Err(ApiError::BadRequest(
            "password: required when creating a user".into(),
        ));
    }
    let changes = check_user_input(input).await?;
    let _order = CHANGES.lock().await;
    let saved = app
        .store
        .write(move |c| save_user(c, 0, changes))
        .await
        .map_err(api_error)?;
    user_hooks(&app, &saved).await;
    Ok((
        StatusCode::CREATED,
        Json(user_view(&app, saved.user, &saved.groups)),
    ))
}

/// Changes a user; fields left out keep their values.
#[utoipa::path(put, path = "/api/v1/users/{id}", tag = "admin", params(("id" = i64, Path)), request_body = UserInput,
    responses((status = 200, body = UserView), (status = 400, description = "invalid field"),
        (status = 401), (status = 403), (status = 404),
        (status = 409, description = "username taken, or removing your own administrator right")),
    security(("bearer" = [])))]
pub async fn update_user(
    State(app): State<Arc<App>>,
    Admin(me): Admin,
    Id(id): Id,
    Body(input): Body<UserInput>,
) -> Result<Json<UserView>, ApiError> {
    if id == me.id
        && let Some(rights) = &input.rights
        && !rights.iter().any(|r| r == ADMIN_RIGHT)
    {
        return Err(ApiError::Conflict(format!(
            "rights: you cannot remove your own {ADMIN_RIGHT} right"
        )));
    }
    let changes = check_user_input(input).await?;
    let _order = CHANGES.lock().await;
    let saved = app
        .store
        .write(move |c| save_user(c, id, changes))
        .await
        .map_err(api_error)?;
    user_hooks(&app, &saved).await;
    Ok(Json(user_view(&app, saved.user, &saved.groups)))
}

/// Deletes a user.
#[utoipa::path(delete, path = "/api/v1/users/{id}", tag = "admin", params(("id" = i64, Path)),
    responses((status = 204), (status = 401), (status = 403), (status = 404),
        (status = 409, description = "yourself, or the user holds live interactions")),
    security(("bearer" = [])))]
pub async fn delete_user(
    State(app): State<Arc<App>>,
    Admin(me): Admin,
    Id(id): Id,
) -> Result<StatusCode, ApiError> {
    if id == me.id {
        return Err(ApiError::Conflict("you cannot delete yourself".into()));
    }
    let _order = CHANGES.lock().await;
    let changed_groups = app
        .store
        .write(move |c| {
            let user = directory::user(c, id)?.ok_or_else(|| reject(not_found("user", id)))?;
            let live: i64 = c.query_row(
                "SELECT COUNT(*) FROM interactions WHERE assigned_to = ?1 AND state <> 'disconnected'",
                [id],
                |r| r.get(0),
            )?;
            if live > 0 {
                return Err(conflict(format!(
                    "user `{}` holds {live} live interaction(s); transfer or end them first",
                    user.username
                )));
            }
            let was_in: Vec<i64> = directory::workgroups(c)?
                .into_iter()
                .filter(|g| g.members.contains(&id))
                .map(|g| g.id)
                .collect();
            directory::delete_user(c, id)?;
            Ok(directory::workgroups(c)?
                .into_iter()
                .filter(|g| was_in.contains(&g.id))
                .collect::<Vec<_>>())
        })
        .await
        .map_err(api_error)?;
    app.interactions.user_removed(id).await;
    for g in &changed_groups {
        app.interactions.workgroup_changed(g).await;
    }
    Ok(StatusCode::NO_CONTENT)
}

// ---- workgroups ---------------------------------------------------------------------------

/// A workgroup as administrators see it.
#[derive(Serialize, ToSchema)]
pub struct WorkgroupView {
    /// Id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// Member usernames.
    pub members: Vec<String>,
    /// Utilization defaults for members: type -> `{percent, max}`.
    #[schema(value_type = Object)]
    pub utilization: UtilizationTable,
    /// Service-level target in seconds.
    pub sl_target_s: i64,
    /// How long an offer alerts before it goes to the next agent.
    pub alert_timeout_ms: i64,
    /// Wrap-up codes.
    pub wrapup_codes: Vec<String>,
    /// Whether a wrap-up code is required after each interaction.
    pub wrapup_required: bool,
    /// How long a required wrap-up may keep the agent out of routing.
    pub wrapup_timeout_ms: i64,
}

/// Creates (`POST`, `name` required) or changes (`PUT`, every field optional) a workgroup.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct WorkgroupInput {
    /// Unique name.
    pub name: Option<String>,
    /// Member usernames; replaces the members.
    pub members: Option<Vec<String>>,
    /// Utilization defaults: type -> `{percent 0-100, max 1-25}`. Replaces the table.
    #[schema(value_type = Option<Object>)]
    pub utilization: Option<UtilizationTable>,
    /// Service-level target, 1-86400 s (default 60).
    pub sl_target_s: Option<i64>,
    /// Offer timeout, 1000-600000 ms (default 30000).
    pub alert_timeout_ms: Option<i64>,
    /// Wrap-up codes.
    pub wrapup_codes: Option<Vec<String>>,
    /// Whether a wrap-up code is required (needs codes).
    pub wrapup_required: Option<bool>,
    /// How long a required wrap-up may take, 1000-3600000 ms (default 120000).
    pub wrapup_timeout_ms: Option<i64>,
}

fn workgroup_view(group: Workgroup, users: &[User]) -> WorkgroupView {
    WorkgroupView {
        id: group.id,
        members: group
            .members
            .iter()
            .filter_map(|m| {
                users
                    .iter()
                    .find(|u| u.id == *m)
                    .map(|u| u.username.clone())
            })
            .collect(),
        name: group.name,
        utilization: group.utilization,
        sl_target_s: group.sl_target_s,
        alert_timeout_ms: group.alert_timeout_ms,
        wrapup_codes: group.wrapup_codes,
        wrapup_required: group.wrapup_required,
        wrapup_timeout_ms: group.wrapup_timeout_ms,
    }
}

/// Applies `input` (already checked for names) to `group` and resolves members.
fn merge_workgroup(
    c: &Connection,
    group: &mut Workgroup,
    input: WorkgroupInput,
) -> anyhow::Result<()> {
    if let Some(v) = input.name {
        group.name = v;
    }
    if let Some(names) = input.members {
        let users = directory::users(c)?;
        let mut ids = Vec::new();
        for n in &names {
            let id = users
                .iter()
                .find(|u| &u.username == n)
                .map(|u| u.id)
                .ok_or_else(|| bad(format!("members: no user named `{n}`")))?;
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        ids.sort_unstable();
        group.members = ids;
    }
    if let Some(v) = input.utilization {
        group.utilization = v;
    }
    if let Some(v) = input.sl_target_s {
        group.sl_target_s = v;
    }
    if let Some(v) = input.alert_timeout_ms {
        group.alert_timeout_ms = v;
    }
    if let Some(v) = input.wrapup_codes {
        group.wrapup_codes = v.into_iter().map(|c| c.trim().to_owned()).collect();
    }
    if let Some(v) = input.wrapup_required {
        group.wrapup_required = v;
    }
    if let Some(v) = input.wrapup_timeout_ms {
        group.wrapup_timeout_ms = v;
    }
    check_wrapup(group).map_err(reject)?;
    Ok(())
}

fn check_workgroup_input(input: &mut WorkgroupInput) -> Result<(), ApiError> {
    if let Some(name) = &input.name {
        input.name = Some(check_name("name", name)?);
    }
    if let Some(u) = &input.utilization {
        check_utilization(u)?;
    }
    Ok(())
}

/// Every workgroup.
#[utoipa::path(get, path = "/api/v1/workgroups", tag = "admin",
    responses((status = 200, body = Vec<WorkgroupView>), (status = 401), (status = 403)),
    security(("bearer" = [])))]
pub async fn list_workgroups(
    State(app): State<Arc<App>>,
    _admin: Admin,
) -> Result<Json<Vec<WorkgroupView>>, ApiError> {
    let (groups, users) = app
        .store
        .read(|c| Ok((directory::workgroups(c)?, directory::users(c)?)))
        .await?;
    Ok(Json(
        groups
            .into_iter()
            .map(|g| workgroup_view(g, &users))
            .collect(),
    ))
}

/// One workgroup.
#[utoipa::path(get, path = "/api/v1/workgroups/{id}", tag = "admin", params(("id" = i64, Path)),
    responses((status = 200, body = WorkgroupView), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = [])))]
pub async fn get_workgroup(
    State(app): State<Arc<App>>,
    _admin: Admin,
    Id(id): Id,
) -> Result<Json<WorkgroupView>, ApiError> {
    let (groups, users) = app
        .store
        .read(|c| Ok((directory::workgroups(c)?, directory::users(c)?)))
        .await?;
    let group = groups
        .into_iter()
        .find(|g| g.id == id)
        .ok_or_else(|| not_found("workgroup", id))?;
    Ok(Json(workgroup_view(group, &users)))
}

/// Creates a workgroup.
#[utoipa::path(post, path = "/api/v1/workgroups", tag = "admin", request_body = WorkgroupInput,
    responses((status = 201, body = WorkgroupView), (status = 400, description = "invalid field"),
        (status = 401), (status = 403), (status = 409, description = "name taken")),
    security(("bearer" = [])))]
pub async fn create_workgroup(
    State(app): State<Arc<App>>,
    _admin: Admin,
    Body(mut input): Body<WorkgroupInput>,
) -> Result<(StatusCode, Json<WorkgroupView>), ApiError> {
    check_workgroup_input(&mut input)?;
    let Some(name) = input.name.clone() else {
        return Err(ApiError::BadRequest("name: required".into()));
    };
    let _order = CHANGES.lock().await;
    let (group, users) = app
        .store
        .write(move |c| {
            if directory::workgroup_by_name(c, &name)?.is_some() {
                return Err(conflict(format!("name: a workgroup named `{name}` exists")));
            }
            let mut group = Workgroup {
                id: 0,
                name: name.clone(),
                alert_timeout_ms: 30_000,
                utilization: UtilizationTable::default(),
                sl_target_s: 60,
                wrapup_codes: Vec::new(),
                wrapup_required: false,
                wrapup_timeout_ms: 120_000,
                members: Vec::new(),
            };
            merge_workgroup(c, &mut group, input)?;
            group.id = directory::upsert_workgroup(c, &group)?;
            Ok((group, directory::users(c)?))
        })
        .await
        .map_err(api_error)?;
    app.interactions.workgroup_changed(&group).await;
    Ok((StatusCode::CREATED, Json(workgroup_view(group, &users))))
}

/// Changes a workgroup; fields left out keep their values.
#[utoipa::path(put, path = "/api/v1/workgroups/{id}", tag = "admin", params(("id" = i64, Path)), request_body = WorkgroupInput,
    responses((status = 200, body = WorkgroupView), (status = 400, description = "invalid field"),
        (status = 401), (status = 403), (status = 404),
        (status = 409, description = "name taken, or renaming a workgroup in use")),
    security(("bearer" = [])))]
pub async fn update_workgroup(
    State(app): State<Arc<App>>,
    _admin: Admin,
    Id(id): Id,
    Body(mut input): Body<WorkgroupInput>,
) -> Result<Json<WorkgroupView>, ApiError> {
    check_workgroup_input(&mut input)?;
    let app2 = app.clone();
    let _order = CHANGES.lock().await;
    let (old_name, group, users) = app
        .store
        .write(move |c| {
            let mut group = directory::workgroups(c)?
                .into_iter()
                .find(|g| g.id == id)
                .ok_or_else(|| reject(not_found("workgroup", id)))?;
            let old_name = group.name.clone();
            merge_workgroup(c, &mut group, input)?;
            if group.name != old_name {
                if directory::workgroup_by_name(c, &group.name)?.is_some() {
                    return Err(conflict(format!("name: a workgroup named `{}` exists", group.name)));
                }
                if let Some(channel) = channel_using(&app2, &old_name) {
                    return Err(conflict(format!(
                        "name: channel `{channel}` routes to `{old_name}`; change the channel first"
                    )));
                }
                let live = live_in_workgroup(c, &old_name)?;
                if live > 0 {
                    return Err(conflict(format!(
                        "name: `{old_name}` has {live} live interaction(s); it can be renamed once they end"
                    )));
                }
                c.execute("UPDATE workgroups SET name = ?2 WHERE id = ?1", params![id, group.name])?;
            }
            directory::upsert_workgroup(c, &group)?;
            Ok((old_name, group, directory::users(c)?))
        })
        .await
        .map_err(api_error)?;
    if old_name != group.name {
        app.interactions.workgroup_removed(&old_name).await;
    }
    app.interactions.workgroup_changed(&group).await;
    Ok(Json(workgroup_view(group, &users)))
}

/// Deletes a workgroup.
#[utoipa::path(delete, path = "/api/v1/workgroups/{id}", tag = "admin", params(("id" = i64, Path)),
    responses((status = 204), (status = 401), (status = 403), (status = 404),
        (status = 409, description = "a channel routes to it, or it has live interactions")),
    security(("bearer" = [])))]
pub async fn delete_workgroup(
    State(app): State<Arc<App>>,
    _admin: Admin,
    Id(id): Id,
) -> Result<StatusCode, ApiError> {
    let app2 = app.clone();
    let _order = CHANGES.lock().await;
    let name = app
        .store
        .write(move |c| {
            let group = directory::workgroups(c)?
                .into_iter()
                .find(|g| g.id == id)
                .ok_or_else(|| reject(not_found("workgroup", id)))?;
            if let Some(channel) = channel_using(&app2, &group.name) {
                return Err(conflict(format!(
                    "channel `{channel}` routes to workgroup `{}`; change the channel first",
                    group.name
                )));
            }
            let live = live_in_workgroup(c, &group.name)?;
            if live > 0 {
                return Err(conflict(format!(
                    "workgroup `{}` has {live} live interaction(s); transfer or end them first",
                    group.name
                )));
            }
            directory::delete_workgroup(c, id)?;
            Ok(group.name)
        })
        .await
        .map_err(api_error)?;
    app.interactions.workgroup_removed(&name).await;
    Ok(StatusCode::NO_CONTENT)
}

// ---- stations -----------------------------------------------------------------------------

/// Creates (`POST`, `name` required) or changes (`PUT`) a station.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct StationInput {
    /// Unique name.
    pub name: Option<String>,
    /// Access rights agents logged in here get: `acd_social_media`, `acd_whatsapp`.
    pub rights: Option<Vec<String>>,
}

fn check_station_input(
    input: StationInput,
) -> Result<(Option<String>, Option<Vec<String>>), ApiError> {
    let name = input
        .name
        .as_deref()
        .map(|n| check_name("name", n))
        .transpose()?;
    let rights = input
        .rights
        .as_deref()
        .map(|r| check_rights("rights", r, STATION_RIGHTS))
        .transpose()?;
    Ok((name, rights))
}

fn users_at(c: &Connection, station: &str) -> anyhow::Result<Vec<User>> {
    Ok(directory::users(c)?
        .into_iter()
        .filter(|u| u.station.as_deref() == Some(station))
        .collect())
}

fn station_by_id(c: &Connection, id: i64) -> anyhow::Result<Station> {
    directory::stations(c)?
        .into_iter()
        .find(|s| s.id == id)
        .ok_or_else(|| reject(not_found("station", id)))
}

/// Every station.
#[utoipa::path(get, path = "/api/v1/stations", tag = "admin",
    responses((status = 200, body = Vec<Station>), (status = 401), (status = 403)),
    security(("bearer" = [])))]
pub async fn list_stations(
    State(app): State<Arc<App>>,
    _admin: Admin,
) -> Result<Json<Vec<Station>>, ApiError> {
    Ok(Json(app.store.read(directory::stations).await?))
}

/// One station.
#[utoipa::path(get, path = "/api/v1/stations/{id}", tag = "admin", params(("id" = i64, Path)),
    responses((status = 200, body = Station), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = [])))]
pub async fn get_station(
    State(app): State<Arc<App>>,
    _admin: Admin,
    Id(id): Id,
) -> Result<Json<Station>, ApiError> {
    Ok(Json(
        app.store
            .read(move |c| station_by_id(c, id))
            .await
            .map_err(api_error)?,
    ))
}

/// Creates a station.
#[utoipa::path(post, path = "/api/v1/stations", tag = "admin", request_body = StationInput,
    responses((status = 201, body = Station), (status = 400, description = "invalid field"),
        (status = 401), (status = 403), (status = 409, description = "name taken")),
    security(("bearer" = [])))]
pub async fn create_station(
    State(app): State<Arc<App>>,
    _admin: Admin,
    Body(input): Body<StationInput>,
) -> Result<(StatusCode, Json<Station>), ApiError> {
    let (name, rights) = check_station_input(input)?;
    let name = name.ok_or_else(|| ApiError::BadRequest("name: required".into()))?;
    let _order = CHANGES.lock().await;
    let (station, there) = app
        .store
        .write(move |c| {
            if directory::station_by_name(c, &name)?.is_some() {
                return Err(conflict(format!("name: a station named `{name}` exists")));
            }
            let rights = rights.unwrap_or_default();
            let id = directory::upsert_station(c, &name, &rights)?;
            Ok((
                Station {
                    id,
                    name: name.clone(),
                    rights,
                },
                users_at(c, &name)?,
            ))
        })
        .await
        .map_err(api_error)?;
    app.interactions
        .station_changed(&station.name, Some(&station), &there)
        .await;
    Ok((StatusCode::CREATED, Json(station)))
}

/// Changes a station; agents logged in there get its new name and rights.
#[utoipa::path(put, path = "/api/v1/stations/{id}", tag = "admin", params(("id" = i64, Path)), request_body = StationInput,
    responses((status = 200, body = Station), (status = 400, description = "invalid field"),
        (status = 401), (status = 403), (status = 404), (status = 409, description = "name taken")),
    security(("bearer" = [])))]
pub async fn update_station(
    State(app): State<Arc<App>>,
    _admin: Admin,
    Id(id): Id,
    Body(input): Body<StationInput>,
) -> Result<Json<Station>, ApiError> {
    let (name, rights) = check_station_input(input)?;
    let _order = CHANGES.lock().await;
    let (old_name, station, there) = app
        .store
        .write(move |c| {
            let mut station = station_by_id(c, id)?;
            let old_name = station.name.clone();
            if let Some(name) = name {
                if name != old_name && directory::station_by_name(c, &name)?.is_some() {
                    return Err(conflict(format!("name: a station named `{name}` exists")));
                }
                station.name = name;
            }
            if let Some(rights) = rights {
                station.rights = rights;
            }
            directory::update_station(c, &station)?;
            let there = users_at(c, &station.name)?;
            Ok((old_name, station, there))
        })
        .await
        .map_err(api_error)?;
    app.interactions
        .station_changed(&old_name, Some(&station), &there)
        .await;
    Ok(Json(station))
}

/// Deletes a station; agents logged in there lose its rights.
#[utoipa::path(delete, path = "/api/v1/stations/{id}", tag = "admin", params(("id" = i64, Path)),
    responses((status = 204), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = [])))]
pub async fn delete_station(
    State(app): State<Arc<App>>,
    _admin: Admin,
    Id(id): Id,
) -> Result<StatusCode, ApiError> {
    let _order = CHANGES.lock().await;
    let (name, there) = app
        .store
        .write(move |c| {
            let station = station_by_id(c, id)?;
            let ids: Vec<i64> = users_at(c, &station.name)?.iter().map(|u| u.id).collect();
            directory::delete_station(c, id)?;
            let there: Vec<User> = directory::users(c)?
                .into_iter()
                .filter(|u| ids.contains(&u.id))
                .collect();
            Ok((station.name, there))
        })
        .await
        .map_err(api_error)?;
    app.interactions.station_changed(&name, None, &there).await;
    Ok(StatusCode::NO_CONTENT)
}

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
