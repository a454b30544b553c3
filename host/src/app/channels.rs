//! Running channels: the registry the host looks channels up in, each channel's loaded
//! plugin, its live status and the stop signal that ends its poller and stream.
//!
//! Config-file channels are loaded once at start; administrators add, replace and remove
//! their own at runtime. Lookups return an `Arc`, so a webhook or a send that started on
//! a channel finishes on it even if the channel is replaced meanwhile.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

use anyhow::{Context, Result, bail};
use serde::Serialize;
use tokio::sync::watch;
use utoipa::ToSchema;

use super::App;
use crate::config::{self, IngestMode};
use crate::connectors::allowlist::Pattern;
use crate::connectors::catalog::PluginCatalog;
use crate::connectors::egress::Egress;
use crate::connectors::{ChannelConnector, engine::ChannelGrants};
use crate::store::{Store, now_ms};
use crate::workflow::Version;

/// Where a channel is defined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChannelSource {
    /// The config file: it stays authoritative; the API does not change it.
    Config,
    /// Created by an administrator through the API and kept in the database.
    Admin,
}

/// What a channel has been doing lately, kept in memory (a restart starts it over).
#[derive(Clone, Debug, Default, Serialize, ToSchema)]
pub struct ChannelStatus {
    /// A poller runs for the channel.
    pub polling: bool,
    /// When the last poll finished, unix ms.
    pub last_poll_at: Option<i64>,
    /// When the last poll succeeded, unix ms.
    pub last_ok_at: Option<i64>,
    /// The last failure of a poll, the stream or a webhook.
    pub last_error: Option<String>,
    /// When it happened, unix ms.
    pub last_error_at: Option<i64>,
    /// A platform's webhook verification handshake (`GET /webhooks/<name>`) succeeded.
    pub webhook_verified: bool,
    /// When it last did, unix ms.
    pub webhook_verified_at: Option<i64>,
    /// Whether the event stream is connected; `null` for a channel that does not stream.
    pub stream_connected: Option<bool>,
    /// How each source of the channel's polls fared (empty for a connector that reports
    /// none): one failing source shows here while the others go on.
    pub sources: Vec<super::sources::SourceState>,
    /// Stream lines that could not be read or stored, retried until they are.
    pub stream_failures: Vec<super::sources::StreamFailure>,
}

impl ChannelStatus {
    /// A poll ended at `now`.
    fn poll_finished(&mut self, outcome: Result<(), String>, now: i64) {
        self.last_poll_at = Some(now);
        match outcome {
            Ok(()) => self.last_ok_at = Some(now),
            Err(message) => self.failed(format!("poll: {message}"), now),
        }
    }

    /// Shows a refused plugin request unless a newer failure is shown.
    fn refused(&mut self, refusal: crate::connectors::egress::Refusal) {
        if self.last_error_at.is_none_or(|at| refusal.at >= at) {
            self.failed(format!("egress: {}", refusal.message), refusal.at);
        }
    }

    /// Something failed at `now`; the newest failure is the one shown.
    fn failed(&mut self, message: String, now: i64) {
        self.last_error = Some(message);
        self.last_error_at = Some(now);
    }
}

/// A channel with its loaded plugin.
pub struct ChannelRuntime {
    /// The channel's settings.
    pub config: config::Channel,
    /// Its plugin instance.
    pub connector: ChannelConnector,
    /// Where it is defined.
    pub source: ChannelSource,
    status: Mutex<ChannelStatus>,
    stop: watch::Sender<bool>,
}

impl ChannelRuntime {
    /// A channel ready to be registered; nothing runs yet.
    pub fn new(
        config: config::Channel,
        connector: ChannelConnector,
        source: ChannelSource,
    ) -> ChannelRuntime {
        let (stop, _) = watch::channel(false);
        ChannelRuntime {
            config,
            connector,
            source,
            status: Mutex::new(ChannelStatus::default()),
            stop,
        }
    }

    /// A copy of the live status. A request of the plugin that was refused (a host not
    /// allowed, an internal address) counts as a failure when it is the newest.
    pub fn status(&self) -> ChannelStatus {
        let mut status = self.status.lock().unwrap().clone();
        if let Some(refusal) = self.connector.egress().last_refusal() {
            status.refused(refusal);
        }
        status
    }

    fn update(&self, f: impl FnOnce(&mut ChannelStatus)) {
        f(&mut self.status.lock().unwrap());
    }

    /// Marks whether a poller runs for the channel.
    pub fn set_polling(&self, polling: bool) {
        self.update(|s| s.polling = polling);
    }

    /// Records the end of a poll; a failure also becomes the last error.
    pub fn record_poll(&self, outcome: Result<(), String>) {
        self.update(|s| s.poll_finished(outcome, now_ms()));
    }

    /// Records a failure (already prefixed with where it happened: `webhook: ...`).
    pub fn record_error(&self, message: String) {
        self.update(|s| s.failed(message, now_ms()));
    }

    /// Records how each source of a poll fared.
    pub fn record_sources(&self, reports: Vec<super::sources::SourceReport>) {
        let now = now_ms();
        self.update(|s| super::sources::merge(&mut s.sources, reports, now));
    }

    /// Replaces the stream lines waiting for a retry, as the stream shows them.
    pub fn set_stream_failures(&self, failures: Vec<super::sources::StreamFailure>) {
        self.update(|s| s.stream_failures = failures);
    }

    /// Records a successful webhook verification handshake.
    pub fn record_webhook_verified(&self) {
        let now = now_ms();
        self.update(|s| {
            s.webhook_verified = true;
            s.webhook_verified_at = Some(now);
        });
    }

    /// Records whether the event stream is connected.
    pub fn set_stream_connected(&self, connected: bool) {
        self.update(|s| s.stream_connected = Some(connected));
    }

    /// Ends the channel's poller and stream (each finishes its current step first).
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }

    /// What the channel's tasks wait on: the host stopping or this channel stopping.
    pub fn stop_signal(&self, app: &App) -> StopSignal {
        StopSignal {
            host: app.shutdown.subscribe(),
            channel: self.stop.subscribe(),
        }
    }
}

/// Fires when the host stops or the channel is removed or replaced.
pub struct StopSignal {
    host: watch::Receiver<bool>,
    channel: watch::Receiver<bool>,
}

impl StopSignal {
    /// Waits until either stops. Cancel-safe: it looks at the current value first, so
    /// a signal sent while nobody waited is not missed.
    pub async fn stopped(&mut self) {
        tokio::select! {
            _ = self.host.wait_for(|stop| *stop) => {}
            _ = self.channel.wait_for(|stop| *stop) => {}
        }
    }
}

/// The running channels by name.
#[derive(Default)]
pub struct ChannelRegistry {
    channels: RwLock<HashMap<String, Arc<ChannelRuntime>>>,
}

impl ChannelRegistry {
    /// A registry holding `channels`.
    pub fn with(channels: impl IntoIterator<Item = Arc<ChannelRuntime>>) -> ChannelRegistry {
        ChannelRegistry {
            channels: RwLock::new(
                channels
                    .into_iter()
                    .map(|c| (c.config.name.clone(), c))
                    .collect(),
            ),
        }
    }

    /// The channel named `name`, if it runs.
    pub fn get(&self, name: &str) -> Option<Arc<ChannelRuntime>> {
        self.channels.read().unwrap().get(name).cloned()
    }

    /// Whether a channel named `name` runs.
    pub fn contains(&self, name: &str) -> bool {
        self.channels.read().unwrap().contains_key(name)
    }

    /// Every running channel, by name.
    pub fn list(&self) -> Vec<Arc<ChannelRuntime>> {
        let mut all: Vec<_> = self.channels.read().unwrap().values().cloned().collect();
        all.sort_by(|a, b| a.config.name.cmp(&b.config.name));
        all
    }

    /// Adds a channel; one of the same name is replaced and stopped.
    pub fn insert(&self, channel: Arc<ChannelRuntime>) -> Option<Arc<ChannelRuntime>> {
        let name = channel.config.name.clone();
        let old = self.channels.write().unwrap().insert(name, channel);
        if let Some(old) = &old {
            old.stop();
        }
        old
    }

    /// Removes and stops a channel.
    pub fn remove(&self, name: &str) -> Option<Arc<ChannelRuntime>> {
        let old = self.channels.write().unwrap().remove(name);
        if let Some(old) = &old {
            old.stop();
        }
        old
    }
}

/// Checks that the channel's workflow script exists and handles `on_inbound`.
pub fn check_workflow(ch: &config::Channel, version: &Version, dir: &Path) -> Result<()> {
    if !version.script_names().contains(&ch.workflow) {
        bail!(
            "channel `{}`: workflow `{}` not found in {}",
            ch.name,
            ch.workflow,
            dir.display()
        );
    }
    if !version.has_handler(&ch.workflow, "on_inbound") {
        bail!(
            "channel `{}`: workflow `{}` has no `on_inbound(ix)` handler",
            ch.name,
            ch.workflow
        );
    }
    Ok(())
}

/// Checks that the channel's plugin file exists.
pub fn check_plugin_file(ch: &config::Channel, path: &Path) -> Result<()> {
    if !path.exists() {
        bail!(
            "channel `{}`: plugin file {} not found (build plugins with `cargo xtask plugins`)",
            ch.name,
            path.display()
        );
    }
    Ok(())
}

/// What a channel's plugin instances may use: its settings, secrets and hosts.
pub fn grants_for(
    ch: &config::Channel,
    store: &Store,
    runtime: tokio::runtime::Handle,
) -> Result<ChannelGrants> {
    let allowed = ch
        .allowed_hosts
        .iter()
        .map(|h| Pattern::parse(h))
        .collect::<Result<Vec<_>>>()
        .with_context(|| format!("channel `{}`: allowed_hosts", ch.name))?;
    Ok(ChannelGrants {
        channel: ch.name.clone(),
        plugin: ch.plugin.clone(),
        settings: Arc::new(ch.settings.clone()),
        secrets: Arc::new(ch.secrets.clone()),
        egress: Arc::new(Egress::new(allowed)?),
        store: store.clone(),
        runtime,
    })
}

/// Loads the channel's plugin and configures it with the channel's settings (off the
/// async threads: compiling and instantiating is CPU work). A plugin that refuses the
/// settings fails here with its own message; nothing runs yet.
pub async fn load(
    plugins: &PluginCatalog,
    store: &Store,
    ch: config::Channel,
    source: ChannelSource,
) -> Result<ChannelRuntime> {
    let path = plugins.path(&ch.plugin);
    check_plugin_file(&ch, &path)?;
    let grants = grants_for(&ch, store, tokio::runtime::Handle::current())?;
    let engine = plugins.engine().clone();
    let connector =
        tokio::task::spawn_blocking(move || ChannelConnector::new(engine, &path, grants))
            .await?
            .with_context(|| format!("channel `{}`: loading plugin `{}`", ch.name, ch.plugin))?;
    tracing::info!(channel = %ch.name, plugin = %ch.plugin, platform = %connector.platform(),
        version = %connector.description().version, "channel ready");
    Ok(ChannelRuntime::new(ch, connector, source))
}

/// Why a channel's plugin could not be loaded, in the administrator's terms. The error
/// chain ("describe: instantiating: configure: …") is for the log, never for the person.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum LoadFailure {
    /// The connector refused the channel's settings; `message` is its own explanation
    /// ("setting `handles` is required: …"), `field` the setting or secret it names.
    Settings {
        message: String,
        field: Option<SettingName>,
    },
    /// The plugin itself failed (not a component, trapped, timed out): nothing the channel's
    /// settings can fix.
    Plugin,
}

/// A setting or secret a connector's message names.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct SettingName {
    /// `setting` or `secret`.
    pub kind: &'static str,
    /// Its key, as in the channel's `settings` or `secrets`.
    pub key: String,
}

impl LoadFailure {
    /// What went wrong in `e`, an error of [`load`] or [`ChannelConnector::new`].
    pub(crate) fn of(e: &anyhow::Error) -> LoadFailure {
        match e
            .chain()
            .find_map(|c| c.downcast_ref::<crate::connectors::engine::SettingsRefused>())
        {
            Some(refused) => LoadFailure::Settings {
                message: refused.0.trim().trim_end_matches('.').to_owned(),
                field: named_setting(&refused.0),
            },
            None => LoadFailure::Plugin,
        }
    }

    /// One line for the person who wrote the channel; `how_to_fix` ends "Correct it …"
    /// ("and save the channel again", "in the config file").
    pub(crate) fn message(&self, plugin: &str, how_to_fix: &str) -> String {
        match self {
            LoadFailure::Settings { message, .. } => {
                let mut chars = message.chars();
                let first = chars.next().map(|c| c.to_uppercase().to_string());
                format!(
                    "{}{}. Correct it {how_to_fix}.",
                    first.unwrap_or_default(),
                    chars.as_str()
                )
            }
            LoadFailure::Plugin => format!(
                "The `{plugin}` plugin could not be started, so the channel cannot use it. \
                 Choose another plugin or ask whoever installed it to check it; the server \
                 log has the details."
            ),
        }
    }
}

/// The first setting or secret a connector's message names: connectors write them as
/// "setting `key` …" or "secret `key` …" (the SDK's `config::require` and friends do).
fn named_setting(message: &str) -> Option<SettingName> {
    let found = ["setting `", "secret `"]
        .into_iter()
        .filter_map(|p| message.find(p).map(|at| (at, p)))
        .min()?;
    let (at, prefix) = found;
    let rest = &message[at + prefix.len()..];
    let key = &rest[..rest.find('`')?];
    let plausible = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    plausible.then(|| SettingName {
        kind: if prefix.starts_with("setting") {
            "setting"
        } else {
            "secret"
        },
        key: key.to_owned(),
    })
}

impl App {
    /// Registers a loaded channel (replacing and stopping one of the same name), tells
    /// routing which access right its interactions need, and starts its poller and
    /// stream.
    pub fn run_channel(self: &Arc<Self>, channel: ChannelRuntime) -> Arc<ChannelRuntime> {
        let channel = Arc::new(channel);
        self.interactions.set_channel_right(
            &channel.config.name,
            crate::routing::Right::for_platform(channel.connector.platform()),
        );
        self.channels.insert(channel.clone());
        start_tasks(self, &channel);
        channel
    }
}

/// Starts a registered channel's stream (if its connector asks for one) and poller (if
/// its ingest mode polls).
pub fn start_tasks(app: &Arc<App>, channel: &Arc<ChannelRuntime>) {
    // Returns at once unless the connector asks for a stream.
    tokio::spawn(crate::ingest::stream::run(app.clone(), channel.clone()));
    if matches!(channel.config.ingest, IngestMode::Poll | IngestMode::Both) {
        channel.set_polling(true);
        tokio::spawn(crate::ingest::poller::run(app.clone(), channel.clone()));
    }
}

/// Loads the channels administrators created, skipping (with a warning) any whose name
/// a config-file channel holds and (with an error) any that no longer loads, so one bad
/// row never keeps the host from starting.
pub async fn load_stored(
    plugins: &PluginCatalog,
    store: &Store,
    config_names: &[String],
) -> Result<Vec<ChannelRuntime>> {
    let stored = store.read(crate::store::channels::list).await?;
    let mut loaded = Vec::new();
    for row in stored {
        if config_names.contains(&row.name) {
            tracing::warn!(channel = %row.name,
                "a stored channel has the name of a config-file channel; the config file wins and the stored one is skipped");
            continue;
        }
        let outcome = match row.config {
            Ok(ch) => match ch.validate() {
                Ok(()) => load(plugins, store, ch, ChannelSource::Admin).await,
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        match outcome {
            Ok(runtime) => loaded.push(runtime),
            Err(e) => tracing::error!(channel = %row.name, error = %format!("{e:#}"),
                "stored channel not started; fix or delete it through the API"),
        }
    }
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stop_signal_fires_for_the_channel_or_the_host_even_if_sent_before_waiting() {
        let (host, _) = watch::channel(false);
        let (channel, _) = watch::channel(false);
        let mut signal = StopSignal {
            host: host.subscribe(),
            channel: channel.subscribe(),
        };
        channel.send_replace(true);
        tokio::time::timeout(std::time::Duration::from_secs(1), signal.stopped())
            .await
            .expect("the channel's stop is seen");
        let (channel, _) = watch::channel(false);
        let mut signal = StopSignal {
            host: host.subscribe(),
            channel: channel.subscribe(),
        };
        let waiting = tokio::spawn(async move { signal.stopped().await });
        host.send_replace(true);
        tokio::time::timeout(std::time::Duration::from_secs(1), waiting)
            .await
            .expect("the host's stop is seen")
            .unwrap();
    }

    #[test]
    fn a_refused_setting_is_explained_without_the_chain_and_named() {
        let e = anyhow::Error::new(crate::connectors::engine::SettingsRefused(
            "setting `handles` is required: a comma list of X handles".into(),
        ))
        .context("instantiating")
        .context("channel `x-live`: loading plugin `x`");
        let failure = LoadFailure::of(&e);
        assert_eq!(
            failure,
            LoadFailure::Settings {
                message: "setting `handles` is required: a comma list of X handles".into(),
                field: Some(SettingName {
                    kind: "setting",
                    key: "handles".into()
                }),
            }
        );
        assert_eq!(
            failure.message("x", "and save the channel again"),
            "Setting `handles` is required: a comma list of X handles. Correct it and save \
             the channel again."
        );

        let secret = named_setting("secret `secret` is not valid base64").unwrap();
        assert_eq!((secret.kind, secret.key.as_str()), ("secret", "secret"));
        assert_eq!(named_setting("the page is not reachable"), None);
        assert_eq!(named_setting("setting `a b` is odd"), None);

        let trapped = anyhow::anyhow!("wasm trap: unreachable").context("loading plugin");
        assert_eq!(LoadFailure::of(&trapped), LoadFailure::Plugin);
        let text = LoadFailure::Plugin.message("faulty", "and save the channel again");
        assert!(
            text.contains("`faulty` plugin") && !text.contains("trap"),
            "{text}"
        );
    }

    #[test]
    fn status_keeps_the_last_poll_the_last_success_and_the_last_error() {
        let mut s = ChannelStatus::default();
        s.poll_finished(Ok(()), 10);
        s.poll_finished(Err("timeout".into()), 20);
        assert_eq!((s.last_poll_at, s.last_ok_at), (Some(20), Some(10)));
        assert_eq!(s.last_error.as_deref(), Some("poll: timeout"));
        assert_eq!(s.last_error_at, Some(20));
        s.failed("webhook: answered 403".into(), 30);
        s.poll_finished(Ok(()), 40);
        assert_eq!(
            s.last_error.as_deref(),
            Some("webhook: answered 403"),
            "kept until the next failure"
        );
        assert_eq!((s.last_ok_at, s.last_error_at), (Some(40), Some(30)));
        assert!(!s.webhook_verified && s.stream_connected.is_none());
    }
}
