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
use super::service::{Interactions, Order, wait};
use crate::clock::now_ms;
use crate::model::interaction::{Interaction, State};
use crate::model::{Effect, RouteRequest};
use crate::routing::{Offer, Target};
use crate::store::jobs::{self as store_jobs, Job, JobKind};
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
        decided: String,
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
        // The agent a re-route prefers, by id (a name the store does not know fails the
        // write below, as it would have failed the script).
        let preferred = match &change {
            Some(WaitChange::Route(RouteRequest {
                preferred_agent: Some(name),
                ..
            })) => {
                let name = name.clone();
                self.store.read(move |c| queries::user_id(c, &name)).await?
            }
            _ => None,
        };
        let now = now_ms();
        let mut reconsider_at = None;
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
                        moved.preferred_agent = preferred;
                        moved.preferred_until = Some(now + route.wait_ms.max(0));
                        if preferred.is_some() && moved.transfer_to.is_none() {
                            reconsider_at = moved.preferred_until;
                        }
                        let offers = self.router.requeue(self.request_for(&moved), now);
                        self.record_waiting(id, &offers);
                        offers
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
                effects::on_live(c, &seen, effects, Some(&decided), may_change, now).map(Some)
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
        if let Some(until) = reconsider_at.filter(|_| agreed) {
            self.arm_reconsider_timer(id, until);
        }
        self.finish_offers(offers, pending).await;
        Ok(applied?.unwrap_or_default())
    }

    /// Claims due follow-up jobs and reads, in the same step through the writer, the
    /// rows of the interactions the `route` jobs among them name: one writer step for a
    /// whole batch, in order after every write submitted before it (as
    /// [`Interactions::from_store`] reads one row).
    ///
    /// The `route` jobs are finished in that step too: what is left of them is the
    /// router's in-memory step ([`Interactions::route_claimed`]). Should the host die
    /// before it, the start routes every queued row anyway (`restore`); should the rows
    /// need reading again and that fail, the caller records the jobs again.
    pub(crate) async fn claim_jobs(self: &Arc<Self>, now: i64, limit: i64) -> Result<Claimed> {
        let (seen, claimed) = {
            let order = self.order.lock().unwrap();
            let claimed = self.store_submit_with(move |c| {
                let jobs = store_jobs::claim_due(c, now, limit)?;
                let mut rows = Vec::new();
                let mut taken = Vec::new();
                for job in jobs.iter().filter(|j| j.kind == JobKind::Route) {
                    rows.push((
                        job.interaction_id,
                        queries::interaction(c, job.interaction_id)?,
                    ));
                    taken.push(job.id);
                }
                store_jobs::complete(c, &taken)?;
                Ok((jobs, rows))
            });
            (order.changes, claimed)
        };
        let (jobs, rows) = wait(claimed).await?;
        Ok(Claimed { jobs, rows, seen })
    }

    /// Routes the stored interactions of claimed `route` jobs that still wait in a queue:
    /// one already routed, taken, held by the workflow or ended is left alone. Rows read
    /// before an end or a re-route (`Order::changes` moved) are read again one by one; on
    /// an error there, the interactions not yet routed are answered.
    pub(crate) async fn route_claimed(self: &Arc<Self>, claimed: Claimed) -> Vec<i64> {
        let Claimed { rows, seen, .. } = claimed;
        // Routed at once when no end or re-route came between the read and now.
        let fresh = {
            let mut order = self.order.lock().unwrap();
            if order.changes == seen {
                let mut offers = Vec::new();
                let mut preferred = Vec::new();
                for (_, ix) in rows.iter() {
                    let Some(ix) = ix else { continue };
                    let (more, until) = self.route_row(&mut order, ix, false);
                    offers.extend(more);
                    preferred.extend(until.map(|u| (ix.id, u)));
                }
                let pending = self.record_offers(&offers);
                Some((offers, pending, preferred))
            } else {
                None
            }
        };
        match fresh {
            Some((offers, pending, preferred)) => {
                for (id, until) in preferred {
                    self.arm_reconsider_timer(id, until);
                }
                self.finish_offers(offers, pending).await;
            }
            None => {
                let ids: Vec<i64> = rows.into_iter().map(|(id, _)| id).collect();
                for (n, &id) in ids.iter().enumerate() {
                    if let Err(e) = self.from_store(id, false).await {
                        tracing::error!(interaction = id, error = %format!("{e:#}"),
                            "routing a stored interaction failed; it will be tried again");
                        return ids[n..].to_vec();
                    }
                }
            }
        }
        Vec::new()
    }

    /// Queues `id` again as its stored row says, if it still waits (a `requeue` job).
    pub(crate) async fn requeue_stored(self: &Arc<Self>, id: i64) -> Result<()> {
        self.from_store(id, true).await
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
            let (offers, pending, preferred) = {
                let mut order = self.order.lock().unwrap();
                if order.changes != seen {
                    continue;
                }
                let (offers, preferred) = self.route_row(&mut order, &ix, replace);
                let pending = self.record_offers(&offers);
                (offers, pending, preferred)
            };
            if let Some(until) = preferred {
                self.arm_reconsider_timer(id, until);
            }
            self.finish_offers(offers, pending).await;
            return Ok(());
        }
    }

    /// The router's step of [`Interactions::from_store`] for a row read in order (call
    /// under the ordering lock): the offers it made, and the end of a preferred agent's
    /// wait to arm when it was queued with one.
    fn route_row(
        &self,
        order: &mut Order,
        ix: &Interaction,
        replace: bool,
    ) -> (Vec<Offer>, Option<i64>) {
        let id = ix.id;
        let now = now_ms();
        let holder = self.router.holder(id);
        let req = self.request_for(ix);
        let preferred = match req.target {
            Target::Preferred { until, .. } if ix.state == State::Queued && holder.is_none() => {
                Some(until)
            }
            _ => None,
        };
        let queued = |offers: Vec<Offer>| {
            self.record_waiting(id, &offers);
            offers
        };
        let offers = match (ix.state, holder) {
            (_, Some(_)) => Vec::new(),
            (State::Queued, None) if replace => queued(self.router.requeue(req, now)),
            (State::Queued, None) if !self.router.knows(id) => {
                queued(self.router.enqueue(req, now))
            }
            (State::Queued, None) => Vec::new(),
            (State::Disconnected | State::Buffered, None) if replace && self.router.knows(id) => {
                order.changes += 1;
                self.router.finish(id, false, now)
            }
            _ => Vec::new(),
        };
        (offers, preferred)
    }
}

/// Follow-up jobs claimed in one writer step, with the rows their `route` jobs name.
pub(crate) struct Claimed {
    pub(crate) jobs: Vec<Job>,
    /// Each `route` job's interaction and its row as read then (`None`: gone).
    rows: Vec<(i64, Option<Interaction>)>,
    /// `Order::changes` when the rows were read.
    seen: u64,
}
