//! The running host as the API sees it: the domain's [`Core`] (it derefs to it) plus what
//! only administration needs (the config, the plugin folder) and the host's stop switch.
//! `server` builds one; handlers receive it as their state.

use std::ops::Deref;
use std::sync::Arc;

use axum::extract::FromRef;

use crate::channels::ChannelRuntime;
use crate::config::{Config, IngestMode};
use crate::connectors::catalog::PluginCatalog;
use crate::interactions::Core;

/// Shared state of the host.
pub struct App {
    /// The validated configuration.
    pub config: Config,
    /// The plugin folder and the engine channels load plugins with.
    pub plugins: PluginCatalog,
    /// What the domain's operations use.
    pub core: Core,
    /// Flips to `true` when the host stops.
    pub shutdown: tokio::sync::watch::Sender<bool>,
    /// This host among those sharing the store.
    pub cluster: Arc<crate::cluster::Cluster>,
    /// Messages to the other hosts (a cluster on PostgreSQL; `None` on SQLite).
    pub bus: Option<Arc<crate::cluster::bus::Bus>>,
}

impl Deref for App {
    type Target = Core;

    fn deref(&self) -> &Core {
        &self.core
    }
}

/// Handlers that need only the domain take `State<Core>`.
impl FromRef<Arc<App>> for Core {
    fn from_ref(app: &Arc<App>) -> Core {
        app.core.clone()
    }
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
        self.cluster.channels_changed();
        start_tasks(&self.core, &channel);
        channel
    }
}

impl App {
    /// Tells the other hosts that stored channel `name` was added, changed or removed,
    /// so each loads it as it is now.
    pub fn channel_changed(&self, name: &str) {
        if let Some(bus) = &self.bus {
            let message = crate::cluster::bus::Message::Channel {
                name: name.to_owned(),
            };
            if let Err(e) = bus.publish(message) {
                tracing::warn!(channel = name, error = %e, "other hosts were not told of a channel change");
            }
        }
    }

    /// Loads stored channel `name` again as another host left it: runs it, or stops it
    /// when it was deleted.
    pub async fn reload_stored_channel(self: &Arc<Self>, name: &str) {
        let sealer = match self.config.sealer() {
            Ok(sealer) => sealer,
            Err(e) => {
                tracing::error!(channel = name, error = %format!("{e:#}"), "cannot open stored channel secrets");
                return;
            }
        };
        match crate::channels::load_one_stored(&self.plugins, &self.store, name, &sealer).await {
            Ok(Some(channel)) => {
                self.run_channel(channel);
                tracing::info!(
                    channel = name,
                    "channel changed on another host; loaded again"
                );
            }
            Ok(None) => {
                if self.channels.remove(name).is_some() {
                    tracing::info!(channel = name, "channel deleted on another host; stopped");
                }
            }
            Err(e) => tracing::error!(channel = name, error = %format!("{e:#}"),
                "a channel changed on another host could not be loaded here"),
        }
    }
}

/// Starts a registered channel's stream (if its connector asks for one) and poller (if
/// its ingest mode polls).
pub fn start_tasks(core: &Core, channel: &Arc<ChannelRuntime>) {
    // Returns at once unless the connector asks for a stream.
    tokio::spawn(crate::ingest::stream::run(core.clone(), channel.clone()));
    if matches!(channel.config.ingest, IngestMode::Poll | IngestMode::Both) {
        channel.set_polling(true);
        tokio::spawn(crate::ingest::poller::run(core.clone(), channel.clone()));
    }
}
