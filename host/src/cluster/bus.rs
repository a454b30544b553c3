//! What hosts tell each other (over the store's LISTEN/NOTIFY, `store::bus`): notices for
//! users whose event stream is open on another host, and wake-ups for the leader's
//! workers. A host ignores what it sent itself: it acted on it already.

use std::sync::{Arc, Mutex};

use anyhow::Result;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::store::Store;
use crate::store::bus::{BusListener, BusSender, MAX_PAYLOAD};

/// The LISTEN/NOTIFY channel the hosts share.
const CHANNEL: &str = "switchboard_hosts";

/// One message between hosts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "m", rename_all = "snake_case")]
pub enum Message {
    /// A notice for `user`'s event streams.
    Notice {
        user: i64,
        kind: String,
        data: serde_json::Value,
    },
    /// A notice about interaction `id` too large to carry: the receiver reads the
    /// interaction from the store.
    InteractionNotice { user: i64, kind: String, id: i64 },
    /// Follow-up jobs were recorded: the leader's worker looks now.
    Jobs,
    /// Outbox entries to attempt now (the leader sends).
    Sends { ids: Vec<i64> },
    /// A channel was added, changed or removed through the API: hosts load it again.
    Channel { name: String },
    /// A channel was paused (`paused`) or resumed: hosts read the pauses again, and the
    /// leader routes what a resumed one held.
    Pause { name: String, paused: bool },
}

#[derive(Serialize, Deserialize)]
struct Envelope {
    from: String,
    #[serde(flatten)]
    message: Message,
}

/// This host's end of the bus.
pub struct Bus {
    host_id: String,
    sender: BusSender,
    _listener: Mutex<BusListener>,
}

impl Bus {
    /// Joins the bus of a PostgreSQL store; `None` on SQLite. What other hosts send
    /// arrives on the receiver.
    pub fn start(
        store: &Store,
        host_id: &str,
    ) -> Option<(Arc<Bus>, mpsc::UnboundedReceiver<Message>)> {
        let (tx, rx) = mpsc::unbounded_channel();
        let me = host_id.to_owned();
        let (sender, listener) = store.bus(CHANNEL, move |payload| {
            match serde_json::from_str::<Envelope>(&payload) {
                Ok(e) if e.from == me => {}
                Ok(e) => {
                    let _ = tx.send(e.message);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "a message from another host was not understood")
                }
            }
        })?;
        let bus = Bus {
            host_id: host_id.to_owned(),
            sender,
            _listener: Mutex::new(listener),
        };
        Some((Arc::new(bus), rx))
    }

    /// Sends `message` to the other hosts. Fails only when it is too large for one
    /// notification.
    pub fn publish(&self, message: Message) -> Result<()> {
        let payload = serde_json::to_string(&Envelope {
            from: self.host_id.clone(),
            message,
        })?;
        self.sender.send(payload)
    }

    /// Whether `message` fits one notification.
    pub fn fits(message: &Message) -> bool {
        serde_json::to_string(message).is_ok_and(|s| s.len() + 64 < MAX_PAYLOAD)
    }
}
