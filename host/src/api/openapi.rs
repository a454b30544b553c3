//! `GET /api/v1/openapi.json`.

use axum::Json;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use super::{admin, directory, events, interactions, stats, supervisor, workflows};

#[derive(OpenApi)]
#[openapi(
    info(title = "Switchboard API", description = "Agents, interactions and routing."),
    paths(
        interactions::login,
        interactions::me,
        interactions::set_status,
        interactions::my_interactions,
        interactions::detail,
        interactions::pickup,
        interactions::reply,
        interactions::resend,
        interactions::disconnect,
        interactions::hold,
        interactions::delete_message,
        interactions::hide_message,
        interactions::resume,
        interactions::transfer,
        interactions::decline,
        interactions::wrapup,
        interactions::set_station,
        supervisor::queues,
        supervisor::agents,
        stats::realtime,
        stats::search,
        workflows::status,
        admin::list_users,
        admin::create_user,
        admin::get_user,
        admin::update_user,
        admin::delete_user,
        admin::list_workgroups,
        admin::create_workgroup,
        admin::get_workgroup,
        admin::update_workgroup,
        admin::delete_workgroup,
        admin::list_stations,
        admin::list_suspensions,
        admin::lift_suspension,
        admin::list_channels,
        admin::get_channel,
        admin::create_channel,
        admin::update_channel,
        admin::delete_channel,
        admin::list_plugins,
        admin::create_station,
        admin::get_station,
        admin::update_station,
        admin::delete_station,
        events::stream,
        directory::names,
    ),
    modifiers(&Bearer)
)]
struct Document;

struct Bearer;

impl utoipa::Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The OpenAPI document of `/api/v1`.
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(Document::openapi())
}
