//! `GET /api/v1/me/history`: the caller's own past interactions, with the search's text
//! and date filters, newest first.

use std::sync::Arc;

use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;

use super::auth::Caller;
use super::error::ApiError;
use super::extract::{Json, Query};
use super::responses::{BadRequest, SignedIn};
use super::stats::{SearchParams, SearchResult, found_items};
use crate::app::App;

/// Query of `GET /api/v1/me/history`.
#[derive(Deserialize, IntoParams, Default, Debug)]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    /// Part of any message's text.
    pub text: Option<String>,
    /// Part of the customer's name, or of any message's author name or handle.
    pub author: Option<String>,
    /// Created at or after: unix ms or RFC 3339.
    pub from: Option<String>,
    /// Created before (exclusive): unix ms or RFC 3339.
    pub to: Option<String>,
    /// Page size, 1 to 200; 50 when not given.
    pub limit: Option<String>,
    /// How many results to skip.
    pub offset: Option<String>,
}

/// The interactions last assigned to the caller that have ended, newest first.
#[utoipa::path(get, path = "/api/v1/me/history", params(HistoryParams),
    responses((status = 200, body = SearchResult), SignedIn, BadRequest), security(("bearer" = [])))]
pub async fn mine(
    State(app): State<Arc<App>>,
    Caller(user): Caller,
    Query(p): Query<HistoryParams>,
) -> Result<Json<SearchResult>, ApiError> {
    let params = SearchParams {
        agent: Some(user.username.clone()),
        state: Some("disconnected".into()),
        text: p.text,
        author: p.author,
        from: p.from,
        to: p.to,
        limit: p.limit,
        offset: p.offset,
        ..SearchParams::default()
    };
    Ok(Json(found_items(&app, params).await?))
}
