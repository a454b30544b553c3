//! `GET /plugins`: every connector plugin in the plugin folder, what it says it is,
//! whether it loads, and which channels use it.

use std::sync::Arc;

use crate::api::extract::Json;
use crate::api::responses::NeedsRight;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::Admin;
use crate::api::error::ApiError;
use crate::app::App;
use crate::connectors::ConfigKey;
use crate::connectors::catalog::PluginFile;

/// Whether a plugin file loads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PluginHealth {
    /// It loads and describes itself.
    Ok,
    /// It does not load; see `error`.
    Error,
}

/// One plugin file as administrators see it.
#[derive(Serialize, ToSchema)]
pub struct PluginView {
    /// What channels write as `plugin`: the file name without `.wasm`.
    pub name: String,
    /// The file.
    pub file: String,
    /// The platform family it speaks (`null` when it does not load).
    pub platform: Option<String>,
    /// Its own version (`null` when it does not load).
    pub version: Option<String>,
    /// The `switchboard:connector` contract version it was built for (`0.1.0`, `0.2.0`).
    pub contract: Option<String>,
    /// What it can do: `webhook`, `poll`, `reply_public`, `reply_private`, `delete`, `hide`.
    pub capabilities: Vec<String>,
    /// The settings and secrets it reads.
    pub config_keys: Vec<ConfigKey>,
    /// The hosts it declares it calls (`scheme://host[:port]`): a channel whose
    /// `allowed_hosts` is empty may call these and nothing else, and never an internal
    /// (loopback, private, link-local) address through them.
    pub hosts: Vec<String>,
    /// A plugin for tests, such as `tests/plugins/faulty`: every host it names is under a
    /// top-level domain reserved for testing (`.invalid`, `.test`, `.example`, RFC 2606),
    /// so it cannot reach a real platform. The desktop does not offer it for new channels.
    pub test_only: bool,
    /// `ok`, or `error` when it does not load.
    pub health: PluginHealth,
    /// Why it does not load.
    pub error: Option<String>,
    /// Running channels that use it.
    pub channels: Vec<String>,
    /// Instances of those channels replaced after a trap or overrun since they started.
    pub restarts: u64,
}

fn view(app: &App, file: PluginFile) -> PluginView {
    let users: Vec<_> = app
        .channels
        .list()
        .into_iter()
        .filter(|ch| ch.config.plugin == file.name)
        .collect();
    let (health, error, description) = match file.described {
        Ok(d) => (PluginHealth::Ok, None, Some(d)),
        Err(e) => (PluginHealth::Error, Some(e), None),
    };
    PluginView {
        name: file.name,
        file: file.path.display().to_string(),
        platform: description.as_ref().map(|d| d.platform.clone()),
        version: description.as_ref().map(|d| d.version.clone()),
        contract: description.as_ref().map(|d| d.contract.clone()),
        capabilities: description
            .as_ref()
            .map(|d| d.capabilities.clone())
            .unwrap_or_default(),
        test_only: description
            .as_ref()
            .is_some_and(|d| names_only_test_hosts(&d.hosts)),
        hosts: description
            .as_ref()
            .map(|d| d.hosts.clone())
            .unwrap_or_default(),
        config_keys: description.map(|d| d.config_keys).unwrap_or_default(),
        health,
        error,
        restarts: users.iter().map(|ch| ch.connector.restarts()).sum(),
        channels: users.iter().map(|ch| ch.config.name.clone()).collect(),
    }
}

/// True when `hosts` is not empty and each is under a TLD reserved for tests (RFC 2606).
fn names_only_test_hosts(hosts: &[String]) -> bool {
    const RESERVED: &[&str] = &["invalid", "test", "example"];
    let tld = |h: &str| {
        let host = h.split_once("://").map_or(h, |(_, rest)| rest);
        let host = host.split(['/', ':']).next().unwrap_or_default();
        host.trim_end_matches('.')
            .rsplit('.')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase()
    };
    !hosts.is_empty() && hosts.iter().all(|h| RESERVED.contains(&tld(h).as_str()))
}

/// Every `*.wasm` in the plugin folder: platform, version, capabilities, settings, the
/// hosts it calls, whether it loads, and the channels using it.
#[utoipa::path(get, path = "/api/v1/plugins", tag = "admin",
    responses((status = 200, body = Vec<PluginView>), NeedsRight),
    security(("bearer" = [])))]
pub async fn list_plugins(
    State(app): State<Arc<App>>,
    _admin: Admin,
) -> Result<Json<Vec<PluginView>>, ApiError> {
    let scan_app = app.clone();
    let runtime = tokio::runtime::Handle::current();
    // Describing a changed file compiles it: CPU work, off the async threads.
    let files =
        tokio::task::spawn_blocking(move || scan_app.plugins.scan(&scan_app.store, runtime))
            .await
            .map_err(|e| ApiError::Internal(e.into()))??;
    Ok(Json(files.into_iter().map(|f| view(&app, f)).collect()))
}

#[cfg(test)]
mod tests {
    use super::names_only_test_hosts;

    #[test]
    fn a_plugin_naming_only_reserved_test_hosts_is_a_test_plugin() {
        let hosts = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(names_only_test_hosts(&hosts(&["http://declared.invalid"])));
        assert!(names_only_test_hosts(&hosts(&[
            "https://api.test:8443/v1",
            "x.example"
        ])));
        assert!(!names_only_test_hosts(&hosts(&[
            "https://graph.facebook.com"
        ])));
        assert!(!names_only_test_hosts(&hosts(&[
            "http://declared.invalid",
            "https://api.x.com"
        ])));
        assert!(!names_only_test_hosts(&hosts(&["https://invalid.com"])));
        assert!(!names_only_test_hosts(&[]), "naming no host says nothing");
    }
}
