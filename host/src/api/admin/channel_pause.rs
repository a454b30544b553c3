//! Pausing and resuming a channel (`POST /channels/{name}/pause`, `.../resume`), and the
//! pause as the channel views show it (`paused`, `paused_at`, `paused_by`, `waiting`).
//!
//! A paused channel keeps taking what its platform sends: it is stored and held, and
//! nothing of it is routed and no workflow runs on it until the channel resumes; then
//! everything held is routed in arrival order, each message once (`ingest::held` has the
//! whole contract). Agents may still reply in interactions routed before the pause.
//! Both calls are idempotent: pausing a paused channel keeps who paused it and when;
//! resuming one that is not paused changes nothing. Each answers the channel's view.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;

use super::Admin;
use super::channels::{ChannelView, known, view_of};
use crate::api::error::ApiError;
use crate::api::extract::{Json, Path};
use crate::api::responses::{BadRequest, NeedsRight, NotFound};
use crate::app::App;
use crate::clock::now_ms;
use crate::store::{Tx, pauses};

/// A channel's pause as its view shows it.
#[derive(Clone, Debug, Default)]
pub(crate) struct PauseView {
    pub(crate) paused: bool,
    pub(crate) paused_at: Option<i64>,
    pub(crate) paused_by: Option<String>,
    pub(crate) waiting: i64,
}

/// The pause of every channel that has one or has messages waiting (of `channel` only,
/// when given).
pub(crate) fn pause_views(
    c: &Tx,
    channel: Option<&str>,
) -> anyhow::Result<HashMap<String, PauseView>> {
    let mut out: HashMap<String, PauseView> = HashMap::new();
    for pause in pauses::all(c)? {
        if pause.paused() {
            out.insert(
                pause.channel.clone(),
                PauseView {
                    paused: true,
                    paused_at: Some(pause.paused_at),
                    paused_by: Some(pause.paused_by),
                    waiting: 0,
                },
            );
        }
    }
    for (name, waiting) in pauses::waiting(c)? {
        out.entry(name).or_default().waiting = waiting;
    }
    if let Some(channel) = channel {
        out.retain(|name, _| name == channel);
    }
    Ok(out)
}

/// Tells the other hosts of a cluster (each also reads the pauses every second).
fn tell_hosts(app: &App, name: &str, paused: bool) {
    if let Some(bus) = &app.bus {
        let message = crate::cluster::bus::Message::Pause {
            name: name.to_owned(),
            paused,
        };
        if let Err(e) = bus.publish(message) {
            tracing::warn!(channel = name, error = %e, "other hosts were not told of a pause; they read it within a second");
        }
    }
}

/// Pauses a channel: what arrives is still stored, but held, not routed, until it
/// resumes.
#[utoipa::path(post, path = "/api/v1/channels/{name}/pause", tag = "admin",
    params(("name" = String, Path)),
    responses((status = 200, body = ChannelView,
        description = "paused (a paused channel stays as it was paused)"),
        NeedsRight, BadRequest, NotFound),
    security(("bearer" = [])))]
pub async fn pause_channel(
    State(app): State<Arc<App>>,
    Admin(user): Admin,
    Path(name): Path<String>,
) -> Result<Json<ChannelView>, ApiError> {
    let channel = known(&app, &name)?;
    let (key, by) = (name.clone(), user.username.clone());
    let pause = app
        .store
        .write(move |c| pauses::pause(c, &key, &by, now_ms()))
        .await?;
    app.channels.pauses_changed(Some(&name));
    tell_hosts(&app, &name, true);
    tracing::info!(channel = %name, by = %pause.paused_by, paused_at = pause.paused_at,
        "channel paused: what arrives is stored and held until it resumes");
    Ok(Json(view_of(&app, &channel).await?))
}

/// Resumes a paused channel: what it held is routed in arrival order, then what arrives
/// is routed as usual. `waiting` counts down as the held messages are routed.
#[utoipa::path(post, path = "/api/v1/channels/{name}/resume", tag = "admin",
    params(("name" = String, Path)),
    responses((status = 200, body = ChannelView,
        description = "resumed (a channel that is not paused stays as it is)"),
        NeedsRight, BadRequest, NotFound),
    security(("bearer" = [])))]
pub async fn resume_channel(
    State(app): State<Arc<App>>,
    Admin(user): Admin,
    Path(name): Path<String>,
) -> Result<Json<ChannelView>, ApiError> {
    let channel = known(&app, &name)?;
    let (key, by) = (name.clone(), user.username.clone());
    let resumed = app
        .store
        .write(move |c| pauses::resume(c, &key, &by, now_ms()))
        .await?;
    app.channels.pauses_changed(None);
    tell_hosts(&app, &name, false);
    if resumed {
        tracing::info!(channel = %name, by = %user.username,
            "channel resumed: what it held is being routed");
    }
    Ok(Json(view_of(&app, &channel).await?))
}
