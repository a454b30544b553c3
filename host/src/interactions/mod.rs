//! Interactions in flight: what agents do with them, and what they are told.
//!
//! This is where routing decisions meet the store. Every router operation and the write
//! that records it are issued under one short lock, so the database sees changes in the
//! order the router made them; agents are told only after the write is durable.
//!
//! No race undoes an action: disconnect, transfer, pickup, decline, hold, reply, wrap-up
//! and a workflow's `route`/`stop` check the interaction's state and who holds it in the
//! same step that changes it (under that lock, or inside the store transaction that
//! records the change). The loser of two conflicting actions gets a conflict error in
//! plain words, never a success that did nothing.

mod actions;
mod directory;
pub mod effects;
pub mod hooks;
pub mod jobs;
pub mod notify;
pub mod retention;
mod service;
mod supervise;
pub mod transfer;
mod waiting;

pub use actions::{TransferTarget, Transferred};
pub use service::{ActionError, Interactions};
pub use supervise::Reassign;

use std::sync::Arc;

use tokio::sync::{mpsc, watch};

use crate::channels::ChannelRegistry;
use crate::store::Store;
use crate::workflow::{Workflows, World};

/// What the domain's operations and workers use: the store, the interactions in flight,
/// the workflows and the running channels, and where to hand replies to send. Nothing of
/// the API, the config file or the plugin folder: the layers above build one and pass it
/// down (`app::App` holds one and derefs to it). Cheap to clone.
#[derive(Clone)]
pub struct Core {
    /// The database.
    pub store: Store,
    /// Interactions in flight and routing.
    pub interactions: Arc<Interactions>,
    /// Routing scripts.
    pub workflows: Arc<Workflows>,
    /// What workflow lookups (`find_active`, ...) consult.
    pub world: Arc<dyn World>,
    /// Running channels by name.
    pub channels: Arc<ChannelRegistry>,
    /// Outbox entries to attempt now.
    pub sends: Sends,
    /// Turns `true` when the host stops (for the leader's workers: when its term ends).
    pub stop: watch::Receiver<bool>,
    /// This host among the hosts sharing the store: whether it leads.
    pub cluster: Arc<crate::cluster::Cluster>,
    /// Attachment files: where they are kept, and the fetcher's wake-up.
    pub media: Arc<crate::media::Media>,
}

/// Hands outbox entries just stored (a workflow's `send`) to the send scheduler, which
/// attempts them at once. The entries are durable already: should the hand-off be lost
/// (a crash first), the scheduler finds them due in the store.
#[derive(Clone)]
pub struct Sends(mpsc::UnboundedSender<i64>);

/// The receiving end of [`Sends`], drained by `outbound`'s scheduler.
pub type SendsStarted = mpsc::UnboundedReceiver<i64>;

impl Sends {
    /// A hand-off and its receiving end.
    pub fn new() -> (Sends, SendsStarted) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Sends(tx), rx)
    }

    /// Asks for `ids` to be attempted now.
    pub fn start(&self, ids: Vec<i64>) {
        for id in ids {
            // Closed only when the host stops; the entry stays due in the store.
            let _ = self.0.send(id);
        }
    }
}
