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
        start_tasks(&self.core, &channel);
        channel
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
