//! `GET /api/v1/events`: server-sent events for the caller.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;

use super::auth::{StreamCaller, session_ended};
use super::responses::SignedIn;
use crate::app::App;

/// Streams the caller's notices: `offer`, `interaction`, `status`, `revoked`.
#[utoipa::path(get, path = "/api/v1/events", responses((status = 200, description = "text/event-stream", content_type = "text/event-stream"), SignedIn), security(("bearer" = [])))]
pub async fn stream(
    State(app): State<Arc<App>>,
    StreamCaller { user, token }: StreamCaller,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = app.interactions.hub.subscribe(user.id);
    let stream = BroadcastStream::new(rx).filter_map(|notice| {
        let notice = notice.ok()?;
        let data = serde_json::to_string(&notice.data).ok()?;
        Some(Ok(Event::default().event(notice.kind).data(data)))
    });
    // Ends with its session (logout, expiry, an administrator's change).
    let stream = futures::StreamExt::take_until(stream, session_ended(app.clone(), token));
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
