//! What a workflow hook (`on_timer`, `on_disconnect`) does to a live interaction, and to
//! one that waits in particular.
//!
//! Its `route` and `stop` apply only while the interaction still waits as the handler
//! saw it. Both views are checked in the step that makes the change: under the ordering
//! lock the router must still have it waiting (not offered, not taken) when it is ended
//! or queued elsewhere there, and the store's write, submitted in that same step, checks
//! the stored row (`effects::on_live`). An agent who picked it up meanwhile keeps it; an
//! ended interaction never comes back to a queue. Should the store not make the change
//! the router made (the row moved on, the write failed), routing follows the stored row
//! again.

use std::sync::Arc;

use anyhow::Result;

use super::effects::{self, Applied, WaitChange};
use super::service::{Interactions, wait};
use crate::clock::now_ms;
use crate::model::Effect;
use crate::model::interaction::{Interaction, State};
use crate::routing::Target;
use crate::store::queries;
use crate::store::workflow as store_wf;

/// The change the router made for a hook, to compare with what the store did.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum RouterDid {
    Ended,
    Rerouted,
}

impl Interactions {
    /// Carries out a hook's `effects` on `ix`, the interaction as its handler saw it, in
    /// one store transaction that also takes `timer` (a timer already taken applies
    /// nothing). See the module's notes for `route` and `stop`.
    pub(crate) async fn apply_hook(
        self: &Arc<Self>,
        ix: &Interaction,
        effects: Vec<Effect>,
        timer: Option<i64>,
    ) -> Result<Applied> {
        let id = ix.id;
        let change = WaitChange::of(&effects);
        // Most hooks find it as they saw it, or plainly taken: read before the lock.
        let still = match &change {
            Some(_) => self
                .store
                .read(move |c| queries::interaction(c, id))
                .await?
                .is_some_and(|current| effects::same_wait(ix, &current)),
            None => false,
        };
        let now = now_ms();
        let (done, router_did, offers, pending) = {
            let mut order = self.order.lock().unwrap();
            let may_change = still && self.router.holder(id).is_none();
            let mut router_did = None;
            let offers = match change.as_ref().filter(|_| may_change) {
                Some(WaitChange::Stop(_)) => {
                    order.changes += 1;
                    router_did = Some(RouterDid::Ended);
                    self.router.finish(id, false, now)
                }
                Some(WaitChange::Route(route)) if ix.state == State::Queued => {
                    // Not routed yet: whoever routes it reads the new route (the count
                    // makes a row read before this write be read again).
                    order.changes += 1;
                    if self.router.knows(id) {
                        router_did = Some(RouterDid::Rerouted);
                        let mut moved = ix.clone();
                        moved.workgroup = route.workgroup.clone();
                        moved.priority = route.priority;
                        moved.skills = route.skills.clone();
                        self.router.requeue(self.request_for(&moved), now)
                    } else {
                        Vec::new()
                    }
                }
                // A buffer is the store's alone until it is released.
                _ => Vec::new(),
            };
            let seen = ix.clone();
            let done = self.store_submit_with(move |c| {
                if let Some(tid) = timer
                    && !store_wf::take_timer(c, tid)?
                {
                    return Ok(None); // fired elsewhere already
                }
                effects::on_live(c, &seen, effects, may_change, now).map(Some)
            });
            let pending = self.record_offers(&offers);
            (done, router_did, offers, pending)
        };
        let applied = wait(done).await;
        let agreed = match (&applied, router_did) {
            (_, None) => true,
            (Ok(Some(a)), Some(RouterDid::Ended)) => a.ended,
            (Ok(Some(a)), Some(RouterDid::Rerouted)) => a.rerouted,
            _ => false,
        };
        if !agreed {
            tracing::warn!(interaction = id, router = ?router_did,
                "the store did not make the workflow's change the router made; routing follows the store");
            if let Err(e) = self.from_store(id, true).await {
                tracing::error!(interaction = id, error = %format!("{e:#}"),
                    "routing could not follow the store; it will at the next start");
            }
        }
        self.finish_offers(offers, pending).await;
        Ok(applied?.unwrap_or_default())
    }

    /// Routes a stored interaction if it still waits in a queue (a durable `route` job):
    /// one already routed, taken, held by the workflow or ended is left alone.
    pub async fn route_stored(self: &Arc<Self>, id: i64) -> Result<()> {
        self.from_store(id, false).await
    }

    /// Brings routing in line with the stored row of `id`. Queued in the store and
    /// neither offered nor taken in the router: queued there as stored (`replace`: even
    /// if the router has it waiting with another request). Ended (`replace` only): out of
    /// routing. Offered or taken: left alone, the agent's writes are in order already.
    ///
    /// The row is read through the writer, in order after every write submitted before
    /// (an end the router already made may not be committed yet), and acted on only if
    /// nothing ended or re-routed a waiting interaction since (`Order::changes`); else it
    /// is read again.
    async fn from_store(self: &Arc<Self>, id: i64, replace: bool) -> Result<()> {
        loop {
            let (seen, read) = {
                let order = self.order.lock().unwrap();
                let read = self.store_submit_with(move |c| queries::interaction(c, id));
                (order.changes, read)
            };
            let Some(ix) = wait(read).await? else {
                return Ok(());
            };
            let req = self.request_for(&ix);
            let preferred = match req.target {
                Target::Preferred { until, .. } => Some(until),
                _ => None,
            };
            let queued = ix.state == State::Queued;
            let (offers, pending, routed) = {
                let mut order = self.order.lock().unwrap();
                if order.changes != seen {
                    continue;
                }
                let now = now_ms();
                let holder = self.router.holder(id);
                let routed = queued && holder.is_none();
                let offers = match (ix.state, holder) {
                    (_, Some(_)) => Vec::new(),
                    (State::Queued, None) if replace => self.router.requeue(req, now),
                    (State::Queued, None) => self.router.enqueue(req, now),
                    (State::Disconnected | State::Buffered, None)
                        if replace && self.router.knows(id) =>
                    {
                        order.changes += 1;
                        self.router.finish(id, false, now)
                    }
                    _ => Vec::new(),
                };
                let pending = self.record_offers(&offers);
                (offers, pending, routed)
            };
            if let (true, Some(until)) = (routed, preferred) {
                self.arm_reconsider_timer(id, until);
            }
            self.finish_offers(offers, pending).await;
            return Ok(());
        }
    }
}
