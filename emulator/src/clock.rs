//! The emulator's clock for rate-limit windows: the system clock plus an offset a test
//! moves forward (`Emulator::advance_clock`, or `POST /_emulator/clock` with
//! `{"advance_ms": N}`), in step with the host's test clock, so a 15-minute window can
//! reset in a second. Only the rate-limit windows read it; everything else keeps the
//! system clock.

use std::sync::atomic::Ordering;

use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::{Emulator, control_error, parse_control};

impl Emulator {
    /// Moves the clock of the rate-limit windows forward by `ms` (never back).
    pub fn advance_clock(&self, ms: i64) {
        self.inner
            .clock_offset_ms
            .fetch_add(ms.max(0), Ordering::Relaxed);
    }

    /// Unix ms on the emulator's clock.
    pub(super) fn now_ms(&self) -> i64 {
        let system = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        system + self.inner.clock_offset_ms.load(Ordering::Relaxed)
    }
}

#[derive(Deserialize)]
struct Advance {
    advance_ms: i64,
}

/// `POST /_emulator/clock`: moves the clock forward; answers the emulator's time now.
pub(super) async fn advance(AxState(em): AxState<Emulator>, body: Bytes) -> Response {
    let req: Advance = match parse_control(&body) {
        Ok(req) => req,
        Err(response) => return response,
    };
    if req.advance_ms < 0 {
        return control_error(
            StatusCode::BAD_REQUEST,
            "advance_ms: the clock only moves forward",
        );
    }
    em.advance_clock(req.advance_ms);
    axum::Json(json!({ "now_ms": em.now_ms() })).into_response()
}
