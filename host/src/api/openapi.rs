//! `GET /api/v1/openapi.json`.

use axum::Json;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use super::{events, interactions};

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
        interactions::disconnect,
        events::stream,
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
