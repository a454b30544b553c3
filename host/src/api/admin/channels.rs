//! Channels for administrators: what runs, with its live status (`GET /channels`), and
//! keywords a connector suspended (an X keyword that brought more than 300 posts in a
//! minute) with lifting them. Creating, replacing and deleting channels is in
//! `channel_edit.rs`; pausing and resuming them in `channel_pause.rs`.
//!
//! Connectors record a suspension in their key-value store as `suspended/<keyword>` with
//! the end time (unix ms) as the value; lifting deletes that key, and the connector's next
//! poll uses the keyword again.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::store::Tx;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use super::Admin;
use super::channel_pause::{PauseView, pause_views};
use crate::api::error::ApiError;
use crate::api::extract::{Json, Path};
use crate::api::responses::{BadRequest, NeedsRight, NotFound};
use crate::app::App;
use crate::channels::{ChannelRuntime, ChannelSource, ChannelStatus};
use crate::config::IngestMode;

/// Where connectors record suspended keywords.
const PREFIX: &str = "suspended/";
/// What every secret value is shown as: secrets never leave the host.
pub const MASK: &str = "••••";

/// A keyword the connector stopped using for a while.
#[derive(Serialize, ToSchema)]
pub struct Suspension {
    /// The keyword.
    pub keyword: String,
    /// When the suspension ends, unix ms.
    pub until: Option<i64>,
}

/// A running channel as administrators see it: its settings (secrets masked), its
/// plugin and what it has been doing.
#[derive(Serialize, ToSchema)]
pub struct ChannelView {
    /// Unique name.
    pub name: String,
    /// `config` (the config file; read-only here) or `admin` (created through the API).
    pub source: ChannelSource,
    /// The platform family its plugin speaks.
    pub platform: String,
    /// Plugin file name without `.wasm`.
    pub plugin: String,
    /// The plugin's own version.
    pub plugin_version: String,
    /// Workgroup for public conversations.
    pub workgroup: String,
    /// Workgroup for direct messages; `null`: the same as `workgroup`.
    pub dm_workgroup: Option<String>,
    /// Workflow script.
    pub workflow: String,
    /// `webhook`, `poll` or `both`.
    pub ingest: IngestMode,
    /// Poll interval.
    pub poll_interval_ms: u64,
    /// Most items fetched per poll.
    pub post_limit: u32,
    /// A production (not a lab) channel.
    pub production: bool,
    /// Keeps no personal data of authors beyond their platform id.
    pub do_not_store_personal_data: bool,
    /// The same text to the same customer is sent once within this many seconds.
    pub rpc_cache_timeout_s: u32,
    /// How long `group` collects a sender's messages by default.
    pub grouping_timeout_s: u32,
    /// Hosts the plugin may call (empty: the ones the plugin declares).
    pub allowed_hosts: Vec<String>,
    /// Plain settings.
    pub settings: BTreeMap<String, String>,
    /// The secrets' names; every value is `••••`.
    pub secrets: BTreeMap<String, String>,
    /// Where the platform delivers webhooks, relative to the host's public address.
    pub webhook_url: String,
    /// What it has been doing since the host started.
    pub status: ChannelStatus,
    /// Keywords its connector suspended.
    pub suspensions: Vec<Suspension>,
    /// Paused: what arrives is stored and held, not routed, until it resumes.
    pub paused: bool,
    /// When it was paused, unix ms (`null` when not paused).
    pub paused_at: Option<i64>,
    /// Who paused it (`null` when not paused).
    pub paused_by: Option<String>,
    /// Messages stored but not routed yet because of a pause (still counting down for a
    /// while after a resume, as they are routed).
    pub waiting: i64,
}

/// The administrators' view of a running channel.
pub(crate) fn view(
    channel: &ChannelRuntime,
    suspensions: Vec<Suspension>,
    pause: PauseView,
) -> ChannelView {
    let c = &channel.config;
    ChannelView {
        name: c.name.clone(),
        source: channel.source,
        platform: channel.connector.platform().to_owned(),
        plugin: c.plugin.clone(),
        plugin_version: channel.connector.description().version.clone(),
        workgroup: c.workgroup.clone(),
        dm_workgroup: c.dm_workgroup.clone(),
        workflow: c.workflow.clone(),
        ingest: c.ingest,
        poll_interval_ms: c.poll_interval_ms,
        post_limit: c.post_limit,
        production: c.production,
        do_not_store_personal_data: c.do_not_store_personal_data,
        rpc_cache_timeout_s: c.rpc_cache_timeout_s,
        grouping_timeout_s: c.grouping_timeout_s,
        allowed_hosts: c.allowed_hosts.clone(),
        settings: c.settings.clone(),
        secrets: c
            .secrets
            .keys()
            .map(|k| (k.clone(), MASK.to_owned()))
            .collect(),
        webhook_url: format!("/webhooks/{}", c.name),
        status: channel.status(),
        suspensions,
        paused: pause.paused,
        paused_at: pause.paused_at,
        paused_by: pause.paused_by,
        waiting: pause.waiting,
    }
}

/// The view of one channel, with its suspensions read from the store.
pub async fn view_of(app: &App, channel: &ChannelRuntime) -> Result<ChannelView, ApiError> {
    let name = channel.config.name.clone();
    let (mut all, mut pauses) = app
        .store
        .read(move |c| Ok((suspensions(c, Some(&name))?, pause_views(c, Some(&name))?)))
        .await?;
    let name = &channel.config.name;
    Ok(view(
        channel,
        all.remove(name).unwrap_or_default(),
        pauses.remove(name).unwrap_or_default(),
    ))
}

/// Suspended keywords by channel (of one channel, or all).
fn suspensions(c: &Tx, channel: Option<&str>) -> anyhow::Result<HashMap<String, Vec<Suspension>>> {
    let rows = crate::store::queries::kv_with_prefix(c, channel, PREFIX)?;
    let mut out: HashMap<String, Vec<Suspension>> = HashMap::new();
    for (channel, key, value) in rows {
        out.entry(channel).or_default().push(Suspension {
            keyword: key[PREFIX.len()..].to_owned(),
            until: String::from_utf8_lossy(&value).trim().parse().ok(),
        });
    }
    Ok(out)
}

pub(super) fn known(app: &App, channel: &str) -> Result<Arc<ChannelRuntime>, ApiError> {
    app.channels
        .get(channel)
        .ok_or_else(|| ApiError::NotFound(format!("channel `{channel}` not found")))
}

/// Every running channel with its settings (secrets masked) and live status.
#[utoipa::path(get, path = "/api/v1/channels", tag = "admin",
    responses((status = 200, body = Vec<ChannelView>), NeedsRight),
    security(("bearer" = [])))]
pub async fn list_channels(
    State(app): State<Arc<App>>,
    _admin: Admin,
) -> Result<Json<Vec<ChannelView>>, ApiError> {
    let (mut all, mut pauses) = app
        .store
        .read(|c| Ok((suspensions(c, None)?, pause_views(c, None)?)))
        .await?;
    Ok(Json(
        app.channels
            .list()
            .iter()
            .map(|ch| {
                let name = &ch.config.name;
                view(
                    ch,
                    all.remove(name).unwrap_or_default(),
                    pauses.remove(name).unwrap_or_default(),
                )
            })
            .collect(),
    ))
}

/// One running channel.
#[utoipa::path(get, path = "/api/v1/channels/{name}", tag = "admin",
    params(("name" = String, Path)),
    responses((status = 200, body = ChannelView), NeedsRight, BadRequest, NotFound),
    security(("bearer" = [])))]
pub async fn get_channel(
    State(app): State<Arc<App>>,
    _admin: Admin,
    Path(name): Path<String>,
) -> Result<Json<ChannelView>, ApiError> {
    let channel = known(&app, &name)?;
    Ok(Json(view_of(&app, &channel).await?))
}

/// The keywords a channel's connector suspended.
#[utoipa::path(get, path = "/api/v1/channels/{name}/suspensions", tag = "admin",
    params(("name" = String, Path)),
    responses((status = 200, body = Vec<Suspension>), NeedsRight, BadRequest, NotFound),
    security(("bearer" = [])))]
pub async fn list_suspensions(
    State(app): State<Arc<App>>,
    _admin: Admin,
    Path(name): Path<String>,
) -> Result<Json<Vec<Suspension>>, ApiError> {
    known(&app, &name)?;
    let key = name.clone();
    let mut all = app.store.read(move |c| suspensions(c, Some(&key))).await?;
    Ok(Json(all.remove(&name).unwrap_or_default()))
}

/// Lifts a suspension: the connector uses the keyword again from its next poll.
#[utoipa::path(delete, path = "/api/v1/channels/{name}/suspensions/{keyword}", tag = "admin",
    params(("name" = String, Path), ("keyword" = String, Path)),
    responses((status = 204, description = "done"), NeedsRight, BadRequest, NotFound),
    security(("bearer" = [])))]
pub async fn lift_suspension(
    State(app): State<Arc<App>>,
    _admin: Admin,
    Path((name, keyword)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    known(&app, &name)?;
    // Connectors record keywords in lower case, as platforms match them.
    let keyword = keyword.to_lowercase();
    let key = format!("{PREFIX}{keyword}");
    let (channel, k) = (name.clone(), key.clone());
    let removed = app
        .store
        .write(move |c| crate::store::queries::kv_delete(c, &channel, &k))
        .await?;
    if !removed {
        return Err(ApiError::NotFound(format!(
            "keyword `{keyword}` is not suspended on channel `{name}`"
        )));
    }
    tracing::info!(channel = %name, %keyword, "keyword suspension lifted by an administrator");
    Ok(StatusCode::NO_CONTENT)
}
