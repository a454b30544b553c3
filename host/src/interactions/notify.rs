//! Live notifications to signed-in users (the agent desktop listens over SSE).

use std::collections::HashMap;
use std::sync::Mutex;

use serde::Serialize;
use tokio::sync::broadcast;

/// One notification.
#[derive(Clone, Debug, Serialize)]
pub struct Notice {
    /// `offer`, `interaction`, `status`, `message`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The payload (an interaction, a status, ...).
    pub data: serde_json::Value,
}

/// Fan-out of notices to each user's open event streams.
#[derive(Default)]
pub struct Hub {
    users: Mutex<HashMap<i64, broadcast::Sender<Notice>>>,
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

    /// Sends a notice to every open stream of `user` (none open: dropped, the desktop
    /// reloads state when it connects).
    pub fn send(&self, user: i64, kind: &'static str, data: impl Serialize) {
        let users = self.users.lock().unwrap();
        if let Some(tx) = users.get(&user) {
            let data = serde_json::to_value(data).unwrap_or_default();
            let _ = tx.send(Notice { kind, data });
        }
    }
}
