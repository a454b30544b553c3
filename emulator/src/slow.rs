//! A slow platform: the next platform calls that change something (any method but GET
//! and HEAD, control calls excluded) are carried out at once and answered late, as a
//! platform under load does. A client that gives up before the answer cannot tell whether
//! its request took effect; tests use this to check that a reply is posted once.
//!
//! `POST /_emulator/slow` `{"delay_ms": 1500, "count"?: 1, "lost"?: false}` (`count: 0`
//! cancels) → `{"ok": true}`. With `lost`, the calls are not carried out at all (the
//! request was lost on the way) and answered 504 after the delay. From Rust:
//! [`Emulator::answer_late`], [`Emulator::lose_requests`].

use std::time::Duration;

use axum::Json;
use axum::extract::{Request, State as AxState};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::Emulator;

/// Late answers still to give.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Slow {
    delay: Duration,
    count: u32,
    lost: bool,
}

impl Emulator {
    /// Answers the next `count` platform calls that change something `delay` late (they
    /// take effect at once).
    pub fn answer_late(&self, delay: Duration, count: u32) {
        *self.inner.slow.lock().unwrap() = Slow {
            delay,
            count,
            lost: false,
        };
    }

    /// Loses the next `count` platform calls that change something: they take no effect
    /// and are answered 504 `delay` late.
    pub fn lose_requests(&self, delay: Duration, count: u32) {
        *self.inner.slow.lock().unwrap() = Slow {
            delay,
            count,
            lost: true,
        };
    }

    fn take_slow(&self) -> Option<(Duration, bool)> {
        let mut slow = self.inner.slow.lock().unwrap();
        (slow.count > 0).then(|| {
            slow.count -= 1;
            (slow.delay, slow.lost)
        })
    }
}

#[derive(Deserialize)]
pub(super) struct SlowRequest {
    delay_ms: u64,
    #[serde(default = "one")]
    count: u32,
    #[serde(default)]
    lost: bool,
}

fn one() -> u32 {
    1
}

pub(super) async fn set_slow(
    AxState(em): AxState<Emulator>,
    Json(req): Json<SlowRequest>,
) -> Response {
    let delay = Duration::from_millis(req.delay_ms);
    if req.lost {
        em.lose_requests(delay, req.count);
    } else {
        em.answer_late(delay, req.count);
    }
    Json(json!({ "ok": true })).into_response()
}

/// The middleware: runs the call, then holds its answer back when one is due late.
pub(super) async fn answer_late(
    AxState(em): AxState<Emulator>,
    request: Request,
    next: Next,
) -> Response {
    let changes = !matches!(*request.method(), Method::GET | Method::HEAD)
        && !request.uri().path().starts_with("/_emulator");
    match if changes { em.take_slow() } else { None } {
        None => next.run(request).await,
        Some((delay, false)) => {
            let response = next.run(request).await;
            tokio::time::sleep(delay).await;
            response
        }
        Some((delay, true)) => {
            tokio::time::sleep(delay).await;
            axum::http::StatusCode::GATEWAY_TIMEOUT.into_response()
        }
    }
}
