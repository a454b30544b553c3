//! `GET /api/v1/openapi.json`.

use std::sync::{Arc, LazyLock};

use axum::Json;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{
    admin, attachments, audit, contacts, directory, events, history, interactions, reports,
    standard_responses, stats, supervisor, templates, trace, workflows,
};
use crate::app::App;

/// The document's frame; its paths come from [`routes`], which registers each route
/// together with its description.
#[derive(OpenApi)]
#[openapi(
    info(title = "Switchboard API", description = "Agents, interactions and routing."),
    components(schemas(super::error::ErrorBody)),
    modifiers(&Bearer)
)]
struct Document;

/// Every documented route of `/api/v1`, registered from its `#[utoipa::path]`: the router
/// and the OpenAPI document come from this one list, so a route cannot be served
/// undocumented (and the 403 and authorization tests, which read the document, cannot
/// miss one). Methods of one path are registered together.
pub(super) fn routes() -> OpenApiRouter<Arc<App>> {
    OpenApiRouter::with_openapi(Document::openapi())
        .routes(routes!(interactions::login))
        .routes(routes!(interactions::logout))
        .routes(routes!(interactions::me))
        .routes(routes!(interactions::set_status))
        .routes(routes!(interactions::my_interactions))
        .routes(routes!(history::mine))
        .routes(routes!(interactions::set_station))
        .routes(routes!(stats::search))
        .routes(routes!(interactions::detail))
        .routes(routes!(attachments::file))
        .routes(routes!(templates::list))
        .routes(routes!(interactions::pickup))
        .routes({
            // Files come with a reply: its own limit, checked per file as they stream in.
            let (schemas, paths, method) = routes!(interactions::reply);
            (
                schemas,
                paths,
                method.layer(axum::extract::DefaultBodyLimit::max(2100 << 20)),
            )
        })
        .routes(routes!(interactions::resend))
        .routes(routes!(interactions::disconnect))
        .routes(routes!(interactions::delete_message))
        .routes(routes!(interactions::hide_message))
        .routes(routes!(interactions::hold))
        .routes(routes!(interactions::resume))
        .routes(routes!(interactions::transfer))
        .routes(routes!(interactions::decline))
        .routes(routes!(interactions::wrapup))
        .routes(routes!(trace::trace))
        .routes(routes!(supervisor::queues))
        .routes(routes!(supervisor::agents))
        .routes(routes!(supervisor::set_agent_status))
        .routes(routes!(supervisor::close_interaction))
        .routes(routes!(supervisor::reassign_interaction))
        .routes(routes!(stats::realtime))
        .routes(routes!(reports::report))
        .routes(routes!(contacts::find))
        .routes(routes!(contacts::get, contacts::update))
        .routes(routes!(contacts::link))
        .routes(routes!(contacts::unlink))
        .routes(routes!(reports::drill_down))
        .routes(routes!(workflows::status))
        .routes(routes!(workflows::versions))
        .routes(routes!(workflows::script))
        .routes(routes!(events::stream))
        .routes(routes!(directory::names))
        .routes(routes!(admin::list_users, admin::create_user))
        .routes(routes!(
            admin::get_user,
            admin::update_user,
            admin::delete_user
        ))
        .routes(routes!(admin::list_workgroups, admin::create_workgroup))
        .routes(routes!(
            admin::get_workgroup,
            admin::update_workgroup,
            admin::delete_workgroup
        ))
        .routes(routes!(
            standard_responses::list,
            standard_responses::create
        ))
        .routes(routes!(
            standard_responses::update,
            standard_responses::delete
        ))
        .routes(routes!(admin::list_stations, admin::create_station))
        .routes(routes!(
            admin::get_station,
            admin::update_station,
            admin::delete_station
        ))
        .routes(routes!(admin::list_channels, admin::create_channel))
        .routes(routes!(
            admin::get_channel,
            admin::update_channel,
            admin::delete_channel
        ))
        .routes(routes!(admin::check_channel))
        .routes(routes!(admin::pause_channel))
        .routes(routes!(admin::resume_channel))
        .routes(routes!(admin::list_suspensions))
        .routes(routes!(admin::lift_suspension))
        .routes(routes!(admin::list_plugins))
        .routes(routes!(admin::cluster_status))
        .routes(routes!(admin::retention_status))
        .routes(routes!(admin::run_retention))
        .routes(routes!(contacts::erase))
        .routes(routes!(contacts::export))
        .routes(routes!(audit::list))
}

/// The document, built once from [`routes`].
static DOCUMENT: LazyLock<utoipa::openapi::OpenApi> = LazyLock::new(|| routes().into_openapi());

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
pub async fn document() -> Json<&'static utoipa::openapi::OpenApi> {
    Json(&DOCUMENT)
}

#[cfg(test)]
mod tests {
    /// Every operation documents each refusal it can answer, with the error schema: 401
    /// where a token is needed, 400 where a path parameter or a body can be malformed, 413
    /// and 415 where a body is read. A route added without them fails here (and
    /// Schemathesis in CI would find the undocumented answer).
    #[test]
    fn every_refusal_is_documented_with_the_error_schema() {
        let doc = serde_json::to_value(&*super::DOCUMENT).unwrap();
        assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
        let mut checked = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let label = format!("{method} {path}");
                let responses = op["responses"].as_object().unwrap();
                let has = |status: &str| {
                    let schema = &responses
                        .get(status)
                        .unwrap_or_else(|| panic!("{label} does not document {status}"))["content"]
                        ["application/json"]["schema"]["$ref"];
                    assert_eq!(schema, "#/components/schemas/ErrorBody", "{label} {status}");
                };
                for (status, _) in responses.iter().filter(|(s, _)| s.starts_with('4')) {
                    has(status);
                }
                let secured = op["security"]
                    .as_array()
                    .is_some_and(|s| s.iter().any(|s| s.get("bearer").is_some()));
                if secured {
                    has("401");
                }
                let in_path = op["parameters"]
                    .as_array()
                    .is_some_and(|p| p.iter().any(|p| p["in"] == "path"));
                if in_path || op.get("requestBody").is_some() {
                    has("400");
                }
                if op.get("requestBody").is_some() {
                    has("413");
                    has("415");
                }
                checked += 1;
            }
        }
        assert!(checked >= 45, "only {checked} operations");
    }
}
