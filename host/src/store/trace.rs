//! An interaction's event log, read back in order: what the trace shows (arrival, the
//! workflow's decisions, each queueing with who was passed over and why, offers, declines,
//! pickups, holds, transfers with their notes, the end and the wrap-up).

use crate::store::{Tx, params};
use anyhow::Result;

/// One recorded event.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct EventRow {
    /// When, unix ms.
    pub at: i64,
    /// What happened (`created`, `workflow`, `waiting`, `offered`, `picked_up`, ...).
    pub kind: String,
    /// The interaction's state after it.
    pub state: String,
    /// The user it concerns (the agent offered, who declined, who picked up).
    pub user: Option<String>,
    /// More about it: a reason, the workflow's effects, who was passed over (JSON).
    pub detail: Option<String>,
}

/// Every event of interaction `id`, oldest first (recording order within a millisecond).
pub fn events(conn: &Tx, id: i64) -> Result<Vec<EventRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT e.at, e.kind, e.state, (SELECT u.username FROM users u WHERE u.id = e.user_id),
                e.detail
         FROM interaction_events e WHERE e.interaction_id = ?1 ORDER BY e.at, e.id",
    )?;
    let rows = stmt.query_map(params![id], |r| {
        Ok(EventRow {
            at: r.get(0)?,
            kind: r.get(1)?,
            state: r.get(2)?,
            user: r.get(3)?,
            detail: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<anyhow::Result<_>>()?)
}

/// Usernames by user id, for naming the agents an explanation counts.
pub fn usernames(conn: &Tx) -> Result<std::collections::HashMap<i64, String>> {
    let mut stmt = conn.prepare_cached("SELECT id, username FROM users")?;
    let rows = stmt.query_map((), |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<anyhow::Result<_>>()?)
}
