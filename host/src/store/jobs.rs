//! Durable follow-up jobs: rows only. What a job does lives with its kind
//! (`interactions::jobs`); here is how jobs are recorded, claimed and finished.
//!
//! A job is inserted in the same transaction as the write it follows, so a crash, a
//! store error or a client that hangs up after the commit never leaves the follow-up
//! undone: the worker finds it. A claim holds a job for a lease (`claimed_until`) so one
//! worker at a time runs it; a worker that dies lets the lease run out and another (or
//! the same host after a restart) takes it again. Every job kind is idempotent.

use crate::store::{Tx, params};
use anyhow::Result;

/// How long a claimed job is held before another worker may take it, ms.
pub const LEASE_MS: i64 = 60_000;

/// What a job does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobKind {
    /// Queue a new (or released) interaction in the router, unless it already is.
    Route,
    /// Run the workflow's `on_disconnect` for an interaction that ended.
    OnDisconnect,
    /// Queue a waiting interaction again as its stored row now says (a merged message
    /// raised its priority).
    Requeue,
}

impl JobKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Route => "route",
            JobKind::OnDisconnect => "on_disconnect",
            JobKind::Requeue => "requeue",
        }
    }

    fn parse(s: &str) -> Option<JobKind> {
        match s {
            "route" => Some(JobKind::Route),
            "on_disconnect" => Some(JobKind::OnDisconnect),
            "requeue" => Some(JobKind::Requeue),
            _ => None,
        }
    }
}

/// A claimed job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    pub id: i64,
    pub kind: JobKind,
    pub interaction_id: i64,
    /// Tries before this one.
    pub attempts: i64,
}

/// Records a job due now (call inside the transaction of the write it follows).
pub fn enqueue(conn: &Tx, kind: JobKind, interaction_id: i64, now: i64) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO jobs (kind, interaction_id, due_at, created_at) VALUES (?1, ?2, ?3, ?3)
         RETURNING id",
    )?
    .query_row(params![kind.as_str(), interaction_id, now], |r| r.get(0))
}

/// Claims up to `limit` due jobs that nobody holds, oldest first, for [`LEASE_MS`].
pub fn claim_due(conn: &Tx, now: i64, limit: i64) -> Result<Vec<Job>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, kind, interaction_id, attempts FROM jobs
         WHERE failed_at IS NULL AND due_at <= +?1
           AND (claimed_until IS NULL OR claimed_until <= +?1)
         ORDER BY due_at, id LIMIT +?2",
    )?;
    let rows = stmt.query_map(params![now, limit], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, i64>(3)?,
        ))
    })?;
    let mut jobs = Vec::new();
    for row in rows {
        let (id, kind, interaction_id, attempts) = row?;
        match JobKind::parse(&kind) {
            Some(kind) => jobs.push(Job {
                id,
                kind,
                interaction_id,
                attempts,
            }),
            // Written by a newer host: leave it for that one.
            None => continue,
        }
    }
    let mut claim = conn.prepare_cached("UPDATE jobs SET claimed_until = ?2 WHERE id = ?1")?;
    for job in &jobs {
        claim.execute(params![job.id, now + LEASE_MS])?;
    }
    Ok(jobs)
}

/// Lets go of every claim: at start, on a database only this host uses (the embedded
/// store), claims left are those of this host's previous run, which died holding them.
pub fn release_claims(conn: &Tx) -> Result<usize> {
    Ok(conn.execute(
        "UPDATE jobs SET claimed_until = NULL WHERE claimed_until IS NOT NULL",
        (),
    )?)
}

/// Removes finished jobs.
pub fn complete(conn: &Tx, ids: &[i64]) -> Result<()> {
    let mut stmt = conn.prepare_cached("DELETE FROM jobs WHERE id = ?1")?;
    for id in ids {
        stmt.execute([id])?;
    }
    Ok(())
}

/// A try failed: try again at `retry_at`, or, with `None`, give up and keep the job as
/// failed (shown to operators, never run again by itself).
pub fn fail(conn: &Tx, id: i64, error: &str, retry_at: Option<i64>, now: i64) -> Result<()> {
    conn.prepare_cached(
        "UPDATE jobs SET attempts = attempts + 1, last_error = ?2, claimed_until = NULL,
             due_at = coalesce(?3, due_at), failed_at = CASE WHEN ?3 IS NULL THEN CAST(?4 AS BIGINT) END
         WHERE id = ?1",
    )?
    .execute(params![id, error, retry_at, now])?;
    Ok(())
}

/// Jobs waiting or running, and jobs that gave up.
pub fn counts(conn: &Tx) -> Result<(i64, i64)> {
    Ok(conn.query_row(
        "SELECT count(*) FILTER (WHERE failed_at IS NULL), count(*) FILTER (WHERE failed_at IS NOT NULL)
         FROM jobs",
        (),
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}

/// The earliest time a pending job is due, if any.
pub fn next_due(conn: &Tx) -> Result<Option<i64>> {
    Ok(conn.query_row(
        "SELECT min(CASE WHEN claimed_until > due_at THEN claimed_until ELSE due_at END)
         FROM jobs WHERE failed_at IS NULL",
        (),
        |r| r.get(0),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> (crate::store::testing::TestDb, Tx) {
        let db = crate::store::testing::db();
        let tx = db.tx();
        (db, tx)
    }

    #[test]
    fn a_claimed_job_is_held_until_done_or_its_lease_runs_out() {
        let (_db, c) = db();
        let a = enqueue(&c, JobKind::Route, 7, 1000).unwrap();
        enqueue(&c, JobKind::OnDisconnect, 8, 1001).unwrap();
        let first = claim_due(&c, 1000, 10).unwrap();
        assert_eq!(first.len(), 1, "only what is due");
        assert_eq!(first[0].kind, JobKind::Route);
        assert!(
            claim_due(&c, 1000, 10).unwrap().is_empty(),
            "held by its claim"
        );
        let second = claim_due(&c, 1001, 10).unwrap();
        assert_eq!(second[0].interaction_id, 8);
        assert_eq!(
            claim_due(&c, 1000 + LEASE_MS, 10).unwrap()[0].id,
            a,
            "a dead worker's claim runs out"
        );
        complete(&c, &[a]).unwrap();
        assert_eq!(counts(&c).unwrap(), (1, 0));
        // After a restart, what the last run held is free at once.
        assert_eq!(release_claims(&c).unwrap(), 1);
        assert_eq!(claim_due(&c, 1001, 10).unwrap().len(), 1);
    }

    #[test]
    fn a_failed_try_is_retried_later_then_kept_as_failed() {
        let (_db, c) = db();
        let id = enqueue(&c, JobKind::OnDisconnect, 1, 0).unwrap();
        claim_due(&c, 0, 1).unwrap();
        fail(&c, id, "script error", Some(500), 0).unwrap();
        assert!(claim_due(&c, 499, 1).unwrap().is_empty());
        let again = claim_due(&c, 500, 1).unwrap();
        assert_eq!(again[0].attempts, 1);
        fail(&c, id, "script error", None, 600).unwrap();
        assert!(claim_due(&c, 10_000_000, 1).unwrap().is_empty());
        assert_eq!(counts(&c).unwrap(), (0, 1));
        assert_eq!(next_due(&c).unwrap(), None);
    }
}
