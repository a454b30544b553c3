//! Stations: places agents log in at, which may carry access rights.

use super::*;

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

fn users_at(c: &Tx, station: &str) -> anyhow::Result<Vec<User>> {
    Ok(directory::users(c)?
        .into_iter()
        .filter(|u| u.station.as_deref() == Some(station))
        .collect())
}

fn station_by_id(c: &Tx, id: i64) -> anyhow::Result<Station> {
    directory::stations(c)?
        .into_iter()
        .find(|s| s.id == id)
        .ok_or_else(|| reject(not_found("station", id)))
}

/// Every station.
#[utoipa::path(get, path = "/api/v1/stations", tag = "admin",
    responses((status = 200, body = Vec<Station>), NeedsRight),
    security(("bearer" = [])))]
pub async fn list_stations(
    State(app): State<Arc<App>>,
    _admin: Admin,
) -> Result<Json<Vec<Station>>, ApiError> {
    Ok(Json(app.store.read(directory::stations).await?))
}

/// One station.
#[utoipa::path(get, path = "/api/v1/stations/{id}", tag = "admin", params(("id" = i64, Path)),
    responses((status = 200, body = Station), NeedsRight, BadRequest, NotFound),
    security(("bearer" = [])))]
pub async fn get_station(
    State(app): State<Arc<App>>,
    _admin: Admin,
    Path(id): Path<i64>,
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
    responses((status = 201, body = Station), BadRequest, JsonBody,
        NeedsRight, (status = 409, description = "`conflict`: name taken", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_station(
    State(app): State<Arc<App>>,
    _admin: Admin,
    Json(input): Json<StationInput>,
) -> Result<(StatusCode, Json<Station>), ApiError> {
    let (name, rights) = check_station_input(input)?;
    let name = name.ok_or_else(|| ApiError::BadRequest("name: required".into()))?;
    let _order = app.interactions.directory_change().await;
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
    responses((status = 200, body = Station), BadRequest, JsonBody,
        NeedsRight, NotFound, (status = 409, description = "`conflict`: name taken", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update_station(
    State(app): State<Arc<App>>,
    _admin: Admin,
    Path(id): Path<i64>,
    Json(input): Json<StationInput>,
) -> Result<Json<Station>, ApiError> {
    let (name, rights) = check_station_input(input)?;
    let _order = app.interactions.directory_change().await;
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
    responses((status = 204, description = "done"), NeedsRight, BadRequest, NotFound),
    security(("bearer" = [])))]
pub async fn delete_station(
    State(app): State<Arc<App>>,
    _admin: Admin,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let _order = app.interactions.directory_change().await;
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
