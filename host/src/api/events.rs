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

/// How long a burst of changes is gathered into one `figures` event.
const FIGURES_EVERY: Duration = Duration::from_millis(500);

type Events = std::pin::Pin<Box<dyn Stream<Item = Result<Event, Infallible>> + Send>>;

/// `figures` events for supervisors: one after each burst of changes to what their page
/// shows (a notice, a routing write), at most one per [`FIGURES_EVERY`]; the page then
/// reads `/stats/realtime` again.
fn figures(rx: tokio::sync::watch::Receiver<u64>) -> Events {
    Box::pin(futures::stream::unfold(rx, |mut rx| async move {
        rx.changed().await.ok()?;
        tokio::time::sleep(FIGURES_EVERY).await;
        rx.borrow_and_update();
        Some((Ok(Event::default().event("figures").data("{}")), rx))
    }))
}

/// Streams the caller's notices: `offer`, `interaction`, `status`, `revoked`; for
/// supervisors and administrators also `figures` (the live figures changed).
#[utoipa::path(get, path = "/api/v1/events", responses((status = 200, description = "text/event-stream", content_type = "text/event-stream"), SignedIn), security(("bearer" = [])))]
pub async fn stream(
    State(app): State<Arc<App>>,
    StreamCaller { user, token }: StreamCaller,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = app.interactions.hub.subscribe(user.id);
    let notices = BroadcastStream::new(rx).filter_map(|notice| {
        let notice = notice.ok()?;
        let data = serde_json::to_string(&notice.data).ok()?;
        Some(Ok(Event::default().event(notice.kind).data(data)))
    });
    let watching: Events = if user.has_right("supervisor") || user.has_right("social_media_admin") {
        figures(app.interactions.hub.watch_figures())
    } else {
        Box::pin(futures::stream::pending())
    };
    let stream = futures::stream::select(notices, watching);
    // Ends with its session (logout, expiry, an administrator's change).
    let stream = futures::StreamExt::take_until(stream, session_ended(app.clone(), token));
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
