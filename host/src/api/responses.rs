//! The error answers routes share, for their `#[utoipa::path(responses(...))]`, each with
//! the [`ErrorBody`] schema, so a route's documentation lists its own answers and names
//! the shared ones in a word:
//!
//! ```text
//! responses((status = 200, body = Me), SignedIn, BadRequest, JsonBody)
//! ```
//!
//! A tuple for the same status listed after a bundle replaces the bundle's description
//! with the route's own (the map keeps the last one given).

#![allow(dead_code)] // The variants only describe answers; `ApiError` sends them.

use utoipa::IntoResponses;

use super::error::ErrorBody;

/// Every route that needs a signed-in user (`Authorization: Bearer <token>`).
#[derive(IntoResponses)]
pub enum SignedIn {
    /// `unauthorized`: no token, or its session has ended (signed out, expired, or the
    /// account was changed). Sign in again.
    #[response(status = 401)]
    Unauthorized(ErrorBody),
}

/// Routes that need a right besides signing in (administrator, supervisor).
#[derive(IntoResponses)]
pub enum NeedsRight {
    /// `unauthorized`: no token, or its session has ended. Sign in again.
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// `forbidden`: the signed-in user lacks the right this route needs.
    #[response(status = 403)]
    Forbidden(ErrorBody),
}

/// A request that does not parse: an id in the path that is not a whole number, a query
/// parameter or a body field with a wrong value.
#[derive(IntoResponses)]
pub enum BadRequest {
    /// `invalid` (or `invalid_json`: the body is not JSON): `error` says what to fix.
    #[response(status = 400)]
    Invalid(ErrorBody),
}

/// Routes that read a JSON body, besides [`BadRequest`].
#[derive(IntoResponses)]
pub enum JsonBody {
    /// `too_large`: the body is over the server's size limit.
    #[response(status = 413)]
    TooLarge(ErrorBody),
    /// `unsupported_media_type`: the body was not sent as `application/json`.
    #[response(status = 415)]
    UnsupportedMediaType(ErrorBody),
}

/// Routes that name a resource that may not exist.
#[derive(IntoResponses)]
pub enum NotFound {
    /// `not_found`: nothing by that id or name (or not yours to see).
    #[response(status = 404)]
    NotFound(ErrorBody),
}

/// The actions on an interaction ([`crate::interactions::ActionError`]).
#[derive(IntoResponses)]
pub enum Action {
    /// `not_found`: no such interaction, or it is not yours.
    #[response(status = 404)]
    NotFound(ErrorBody),
    /// `conflict`: not in a state that allows this (offered to someone else, not
    /// connected to you, already ended …); `error` says which.
    #[response(status = 409)]
    Conflict(ErrorBody),
}
