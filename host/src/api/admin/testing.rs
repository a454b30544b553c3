//! The test clock (`/api/v1/testing/clock`): lets an end-to-end test move the
//! host's clock forward, so that a wait of 15 minutes (a platform's rate-limit reset)
//! passes in a second. It exists only in a host started with `SWITCHBOARD_TEST_CLOCK=1`
//! (see `clock`); elsewhere it answers 404 like any unknown route. Administrators only.

use crate::api::extract::Json;
use serde::{Deserialize, Serialize};

use super::Admin;
use crate::api::error::ApiError;
use crate::clock;

/// The host's clock.
#[derive(Serialize)]
pub(crate) struct Clock {
    /// The host's time now, unix ms.
    pub(crate) now_ms: i64,
    /// How far ahead of the system clock it runs, ms.
    pub(crate) offset_ms: i64,
}

/// How far to move the clock.
#[derive(Deserialize)]
pub(crate) struct Advance {
    /// Milliseconds to move forward (never back).
    pub(crate) advance_ms: i64,
}

fn no_test_clock() -> ApiError {
    ApiError::NotFound(format!(
        "This host has no test clock: start it with {}=1 to move its clock in tests.",
        clock::CONTROL_VAR
    ))
}

fn now() -> Json<Clock> {
    Json(Clock {
        now_ms: clock::now_ms(),
        offset_ms: clock::offset_ms(),
    })
}

/// The host's clock as tests see it.
pub(crate) async fn test_clock(_: Admin) -> Result<Json<Clock>, ApiError> {
    if !clock::controllable() {
        return Err(no_test_clock());
    }
    Ok(now())
}

/// Moves the host's clock forward; schedulers look again at once.
pub(crate) async fn advance_test_clock(
    _: Admin,
    Json(req): Json<Advance>,
) -> Result<Json<Clock>, ApiError> {
    if !clock::controllable() {
        return Err(no_test_clock());
    }
    clock::advance(req.advance_ms)
        .map_err(|e| ApiError::BadRequest(format!("advance_ms: {e}.")))?;
    tracing::warn!(
        advance_ms = req.advance_ms,
        offset_ms = clock::offset_ms(),
        "test clock moved forward"
    );
    Ok(now())
}
