//! The job worker: carries out durable follow-up work (`store::jobs`) so that nothing a
//! commit promised depends on the request that made it.
//!
//! A write that needs follow-up (an interaction to route, `on_disconnect` to run) records
//! a job in its own transaction and kicks the worker. The worker claims due jobs, with
//! the rows the route jobs need, in one writer step. It routes the batch's interactions
//! together: their claim finishes them, since what is left is in memory and a start
//! routes every queued row anyway. It runs each other job in its own task (one slow
//! script does not hold up routing) and records the outcome: done jobs are removed; a
//! failed one is tried again with a growing delay, and after [`ATTEMPTS`] tries kept as
//! failed for operators to see. At start it simply finds what is unfinished. Every kind
//! is idempotent: routing skips an interaction the router already has or that is no
//! longer waiting.

use std::time::Duration;

use anyhow::Result;

use super::Core;
use super::hooks;
use super::waiting::Claimed;
use crate::clock::now_ms;
use crate::store::cluster::Fenced;
use crate::store::jobs::{self as store_jobs, Job, JobKind};

/// Jobs claimed at once.
const BATCH: i64 = 256;
/// Tries of a failing job before it is kept as failed.
pub(crate) const ATTEMPTS: i64 = 5;
/// The longest the worker sleeps without a kick (a lease may run out meanwhile).
const IDLE_MS: i64 = 1000;

/// Runs jobs until the host stops. Sleeps until the next job is due, a kick, or the
/// clock moving (a retry's time may have come).
pub async fn run_jobs(core: Core) {
    let mut stop = core.stop.clone();
    let mut jumped = crate::clock::jumped();
    // What the previous run held when it stopped is this run's to do now.
    match core.store.write(store_jobs::release_claims).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            jobs = n,
            "resuming follow-up jobs the last run left unfinished"
        ),
        Err(e) => tracing::error!(error = %format!("{e:#}"), "releasing old job claims"),
    }
    loop {
        // Read first: an idle host must not write (and sync) a claim every second.
        let next = core.store.read(store_jobs::next_due).await.ok().flatten();
        let now = now_ms();
        if next.is_some_and(|at| at <= now) {
            match core.interactions.claim_jobs(now, BATCH).await {
                Ok(claimed) if !claimed.jobs.is_empty() => {
                    run_batch(&core, claimed).await;
                    continue;
                }
                Ok(_) => {}
                // The lease moved (this host stops, or was cut off): the next leader
                // claims them; this worker's term is ending.
                Err(e) if !core.interactions.leads() || e.downcast_ref::<Fenced>().is_some() => {
                    tracing::info!(error = %format!("{e:#}"), "follow-up jobs left to the next leader")
                }
                Err(e) => tracing::error!(error = %format!("{e:#}"), "claiming follow-up jobs"),
            }
        }
        let wait = next
            .map(|at| (at - now_ms()).clamp(10, IDLE_MS))
            .unwrap_or(IDLE_MS);
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(wait as u64)) => {}
            _ = core.interactions.jobs_kicked() => {}
            _ = jumped.changed() => {}
            _ = stop.changed() => return,
        }
    }
}

async fn run_batch(core: &Core, claimed: Claimed) {
    // Route jobs are routed together, from the rows read with their claim (which also
    // finished them): routing is in-memory work, and a task and a store read each would
    // cost more than the routing.
    let others: Vec<Job> = claimed
        .jobs
        .iter()
        .filter(|j| j.kind != JobKind::Route)
        .cloned()
        .collect();
    let unrouted = core.interactions.route_claimed(claimed).await;
    let tasks: Vec<_> = others
        .into_iter()
        .map(|job| {
            let core = core.clone();
            tokio::spawn(async move {
                let result = run_one(&core, &job).await;
                (job, result)
            })
        })
        .collect();
    let mut done = Vec::new();
    let mut failed = Vec::new();
    for task in tasks {
        match task.await {
            Ok((job, Ok(()))) => done.push(job.id),
            Ok((job, Err(e))) => failed.push((job, format!("{e:#}"))),
            // A panic: the job keeps its claim until the lease runs out, then runs again.
            Err(e) => tracing::error!(error = %e, "a follow-up job panicked"),
        }
    }
    let now = now_ms();
    for (job, error) in &failed {
        let attempts = job.attempts + 1;
        if attempts < ATTEMPTS {
            tracing::warn!(job = job.id, kind = job.kind.as_str(), interaction = job.interaction_id,
                attempts, %error, "follow-up job failed; it will be tried again");
        } else {
            tracing::error!(job = job.id, kind = job.kind.as_str(), interaction = job.interaction_id,
                attempts, %error, "follow-up job failed every try; kept as failed");
        }
    }
    if done.is_empty() && failed.is_empty() && unrouted.is_empty() {
        return; // a batch of route jobs only: finished with their claim
    }
    let recorded = core
        .store
        .write(move |c| {
            store_jobs::complete(c, &done)?;
            for &id in &unrouted {
                store_jobs::enqueue(c, JobKind::Route, id, now + hooks::retry_delay_ms(1))?;
            }
            for (job, error) in &failed {
                let attempts = job.attempts + 1;
                let retry_at = (attempts < ATTEMPTS).then(|| now + hooks::retry_delay_ms(attempts));
                store_jobs::fail(c, job.id, error, retry_at, now)?;
            }
            Ok(())
        })
        .await;
    if let Err(e) = recorded {
        // The claims run out and the jobs run again: each kind is idempotent.
        tracing::error!(error = %format!("{e:#}"), "follow-up job outcomes not recorded");
    }
}

async fn run_one(core: &Core, job: &Job) -> Result<()> {
    match job.kind {
        // Routed with the batch (`run_batch`), never here.
        JobKind::Route => Ok(()),
        JobKind::OnDisconnect => hooks::on_disconnect(core, job.interaction_id).await,
        JobKind::Requeue => core.interactions.requeue_stored(job.interaction_id).await,
    }
}
