//! Users: accounts, rights, skills and utilization.

use super::*;

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
    /// Login name, unique; it cannot change once the user exists (a `PUT` may only repeat it).
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
fn save_user(c: &Tx, id: i64, changes: UserChanges) -> anyhow::Result<UserSaved> {
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
    // Taken only matters for a new user: an existing one keeps their name (below).
    if let Some(name) = &changes.username
        && id == 0
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
    let (old_name, old_rights) = (user.username.clone(), user.rights.clone());
    if let Some(v) = changes.username {
        // History, reports and the audit log name people by it.
        if id != 0 && v != user.username {
            return Err(reject(ApiError::BadRequest(format!(
                "username: a user name cannot change once the user exists (“{}” stays); create a new user for another name",
                user.username
            ))));
        }
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
    // Whoever signed in as this user signed in as someone else than they are now: a new
    // password, other rights or another name end every session of theirs.
    if id != 0
        && (changes.password_hash.is_some()
            || user.rights != old_rights
            || user.username != old_name)
    {
        let ended = directory::end_sessions_of(c, user.id)?;
        if ended > 0 {
            tracing::info!(
                user = user.id,
                sessions = ended,
                "sessions ended by an account change"
            );
        }
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
    responses((status = 200, body = Vec<UserView>), NeedsRight),
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
    responses((status = 200, body = UserView), NeedsRight, BadRequest, NotFound),
    security(("bearer" = [])))]
pub async fn get_user(
    State(app): State<Arc<App>>,
    _admin: Admin,
    Path(id): Path<i64>,
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
    responses((status = 201, body = UserView), BadRequest, JsonBody,
        NeedsRight, (status = 409, description = "`conflict`: username taken", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_user(
    State(app): State<Arc<App>>,
    _admin: Admin,
    Json(input): Json<UserInput>,
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
    let _order = app.interactions.directory_change().await;
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
    responses((status = 200, body = UserView), BadRequest, JsonBody,
        NeedsRight, NotFound,
        (status = 409, description = "`conflict`: username taken, or removing your own administrator right", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update_user(
    State(app): State<Arc<App>>,
    Admin(me): Admin,
    Path(id): Path<i64>,
    Json(input): Json<UserInput>,
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
    let _order = app.interactions.directory_change().await;
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
    responses((status = 204, description = "done"), NeedsRight, BadRequest, NotFound,
        (status = 409, description = "`conflict`: yourself, or the user holds live interactions", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete_user(
    State(app): State<Arc<App>>,
    Admin(me): Admin,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    if id == me.id {
        return Err(ApiError::Conflict("you cannot delete yourself".into()));
    }
    let _order = app.interactions.directory_change().await;
    let changed_groups = app
        .store
        .write(move |c| {
            let user = directory::user(c, id)?.ok_or_else(|| reject(not_found("user", id)))?;
            let live = crate::store::queries::live_of_user(c, id)?;
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
