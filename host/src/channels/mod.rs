//! Running channels: the registry the host looks channels up in, each channel's loaded
//! plugin, its live status and the stop signal that ends its poller and stream.
//!
//! Config-file channels are loaded once at start; administrators add, replace and remove
//! their own at runtime. Lookups return an `Arc`, so a webhook or a send that started on
//! a channel finishes on it even if the channel is replaced meanwhile.

mod load;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};

use anyhow::Result;
use serde::Serialize;
use tokio::sync::watch;
use utoipa::ToSchema;

use crate::clock::now_ms;
use crate::config;
use crate::connectors::ChannelConnector;

pub(crate) use load::{LoadFailure, named_setting};
pub use load::{
    check_plugin_file, check_workflow, grants_for, load, load_one_stored, load_stored, uses,
};

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
    pub sources: Vec<crate::connectors::sources::SourceState>,
    /// Stream lines that could not be read or stored, retried until they are.
    pub stream_failures: Vec<crate::connectors::sources::StreamFailure>,
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
    pub fn record_sources(&self, reports: Vec<crate::connectors::sources::SourceReport>) {
        let now = now_ms();
        self.update(|s| crate::connectors::sources::merge(&mut s.sources, reports, now));
    }

    /// Replaces the stream lines waiting for a retry, as the stream shows them.
    pub fn set_stream_failures(&self, failures: Vec<crate::connectors::sources::StreamFailure>) {
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

    /// What the channel's tasks wait on: the host stopping (`host`) or this channel
    /// stopping.
    pub fn stop_signal(&self, host: &watch::Receiver<bool>) -> StopSignal {
        StopSignal {
            host: host.clone(),
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
    /// The config file's channels: they exist even while one is not running.
    configured: Vec<String>,
    /// The channels that hold what arrives (paused, or still routing what they held), as
    /// last read from the store (`ingest::held`). A hint only: ingest skips the workflow
    /// for them, and the store decides in the transaction that stores each batch.
    holding: RwLock<HashSet<String>>,
    /// Wakes `ingest::held` when a channel was paused or resumed.
    pauses: tokio::sync::Notify,
}

impl ChannelRegistry {
    /// A registry holding `channels`.
    pub fn with(channels: impl IntoIterator<Item = Arc<ChannelRuntime>>) -> ChannelRegistry {
        let channels: HashMap<_, _> = channels
            .into_iter()
            .map(|c| (c.config.name.clone(), c))
            .collect();
        let configured = channels
            .values()
            .filter(|c| c.source == ChannelSource::Config)
            .map(|c| c.config.name.clone())
            .collect();
        ChannelRegistry {
            channels: RwLock::new(channels),
            configured,
            ..Default::default()
        }
    }

    /// Whether channel `name` holds what arrives (see the field's notes).
    pub fn holding(&self, name: &str) -> bool {
        self.holding.read().unwrap().contains(name)
    }

    /// The channels that hold what arrives, as the store says now.
    pub(crate) fn set_holding(&self, names: Vec<String>) {
        *self.holding.write().unwrap() = names.into_iter().collect();
    }

    /// A channel was paused or resumed (here or on another host): the pauses are read
    /// again now, and a resume's held events routed. A pause here is held at once.
    pub(crate) fn pauses_changed(&self, paused: Option<&str>) {
        if let Some(name) = paused {
            self.holding.write().unwrap().insert(name.to_owned());
        }
        self.pauses.notify_one();
    }

    /// Resolves at the next [`ChannelRegistry::pauses_changed`] (or at once for one
    /// nobody waited for).
    pub(crate) async fn pauses_kicked(&self) {
        self.pauses.notified().await;
    }

    /// Whether `name` is a config-file channel (running or not).
    pub fn is_configured(&self, name: &str) -> bool {
        self.configured.iter().any(|c| c == name)
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
