//! Workgroups: members, utilization defaults, service level and wrap-up rules.

use super::*;

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
fn merge_workgroup(c: &Tx, group: &mut Workgroup, input: WorkgroupInput) -> anyhow::Result<()> {
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
    responses((status = 200, body = Vec<WorkgroupView>), NeedsRight),
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
    responses((status = 200, body = WorkgroupView), NeedsRight, BadRequest, NotFound),
    security(("bearer" = [])))]
pub async fn get_workgroup(
    State(app): State<Arc<App>>,
    _admin: Admin,
    Path(id): Path<i64>,
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
    responses((status = 201, body = WorkgroupView), BadRequest, JsonBody,
        NeedsRight, (status = 409, description = "`conflict`: name taken", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_workgroup(
    State(app): State<Arc<App>>,
    _admin: Admin,
    Json(mut input): Json<WorkgroupInput>,
) -> Result<(StatusCode, Json<WorkgroupView>), ApiError> {
    check_workgroup_input(&mut input)?;
    let Some(name) = input.name.clone() else {
        return Err(ApiError::BadRequest("name: required".into()));
    };
    let _order = app.interactions.directory_change().await;
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
    responses((status = 200, body = WorkgroupView), BadRequest, JsonBody,
        NeedsRight, NotFound,
        (status = 409, description = "`conflict`: name taken, or renaming a workgroup in use", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update_workgroup(
    State(app): State<Arc<App>>,
    _admin: Admin,
    Path(id): Path<i64>,
    Json(mut input): Json<WorkgroupInput>,
) -> Result<Json<WorkgroupView>, ApiError> {
    check_workgroup_input(&mut input)?;
    let app2 = app.clone();
    let _order = app.interactions.directory_change().await;
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
                directory::rename_workgroup(c, id, &group.name)?;
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
    responses((status = 204, description = "done"), NeedsRight, BadRequest, NotFound,
        (status = 409, description = "`conflict`: a channel routes to it, or it has live interactions", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete_workgroup(
    State(app): State<Arc<App>>,
    _admin: Admin,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let app2 = app.clone();
    let _order = app.interactions.directory_change().await;
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
