//! Live notifications to signed-in users (the agent desktop listens over SSE).
//!
//! In a cluster a user's event stream may be open on any host, while the leader makes most
//! of the decisions worth a notice: each notice goes to this host's streams and over the
//! bus to the others (`cluster::bus`), which deliver it to theirs ([`Hub::deliver`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde::Serialize;
use tokio::sync::broadcast;

use crate::cluster::bus::{Bus, Message};

/// One notification.
#[derive(Clone, Debug, Serialize)]
pub struct Notice {
    /// `offer`, `interaction`, `status`, `message`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The payload (an interaction, a status, ...).
    pub data: serde_json::Value,
}

/// Fan-out of notices to each user's open event streams.
pub struct Hub {
    users: Mutex<HashMap<i64, broadcast::Sender<Notice>>>,
    bus: OnceLock<Arc<Bus>>,
    /// Counts changes supervisors' figures follow (every notice, and every routing
    /// write); their streams wait on it and coalesce bursts.
    figures: tokio::sync::watch::Sender<u64>,
}

impl Default for Hub {
    fn default() -> Hub {
        Hub {
            users: Mutex::default(),
            bus: OnceLock::new(),
            figures: tokio::sync::watch::Sender::new(0),
        }
    }
}

impl Hub {
    /// A new stream of notices for `user`.
    pub fn subscribe(&self, user: i64) -> broadcast::Receiver<Notice> {
        let mut users = self.users.lock().unwrap();
        users
            .entry(user)
            .or_insert_with(|| broadcast::channel(256).0)
            .subscribe()
    }

    /// Sends notices to the other hosts too.
    pub(super) fn join_bus(&self, bus: Arc<Bus>) {
        let _ = self.bus.set(bus);
    }

    /// The other hosts, in a cluster.
    pub(super) fn bus(&self) -> Option<&Arc<Bus>> {
        self.bus.get()
    }

    /// Sends a notice to every open stream of `user`, on every host (none open: dropped,
    /// the desktop reloads state when it connects).
    pub fn send(&self, user: i64, kind: &'static str, data: impl Serialize) {
        let data = serde_json::to_value(data).unwrap_or_default();
        if let Some(bus) = self.bus.get() {
            let whole = Message::Notice {
                user,
                kind: kind.to_owned(),
                data: data.clone(),
            };
            let message = match data.get("id").and_then(|id| id.as_i64()) {
                // An interaction with a long transcript: the other hosts read it.
                Some(id) if !Bus::fits(&whole) => Message::InteractionNotice {
                    user,
                    kind: kind.to_owned(),
                    id,
                },
                _ => whole,
            };
            if let Err(e) = bus.publish(message) {
                tracing::warn!(user, kind, error = %e, "a notice could not reach the other hosts");
            }
        }
        self.deliver(user, kind.to_owned(), data);
    }

    /// Sends a notice to this host's open streams of `user` only.
    pub fn deliver(&self, user: i64, kind: String, data: serde_json::Value) {
        {
            let users = self.users.lock().unwrap();
            if let Some(tx) = users.get(&user) {
                let _ = tx.send(Notice { kind, data });
            }
        }
        self.figures_changed();
    }

    /// Supervisors' figures may have changed (a notice went out, routing wrote).
    pub fn figures_changed(&self) {
        self.figures.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Waits on changes to supervisors' figures (see [`Hub::figures_changed`]).
    pub fn watch_figures(&self) -> tokio::sync::watch::Receiver<u64> {
        self.figures.subscribe()
    }
}
