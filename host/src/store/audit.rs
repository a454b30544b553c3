//! The audit log's rows: who did what, when, from where, and how it ended. The entries
//! arrive already stripped of secret values (`api::audit` decides what is recorded); the
//! store only keeps and lists them, newest first.

use crate::store::{Tx, params};
use anyhow::Result;

/// One recorded action.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// Its place in the log (newest is highest).
    pub id: i64,
    /// When, unix ms.
    pub at: i64,
    /// The user who acted, when known (a failed sign-in of an unknown name has none).
    pub actor_id: Option<i64>,
    /// Their username (for a failed sign-in: the name that was tried).
    pub actor: String,
    /// The client address the action came from.
    pub client: String,
    /// `sign_in`, `sign_in_failed`, or the request's method (`POST`, `PUT`, `DELETE`).
    pub action: String,
    /// What it acted on: the API path, when it was a request.
    pub target: Option<String>,
    /// The HTTP status it was answered with, when it was a request.
    pub status: Option<i64>,
    /// What was sent, secret values replaced, when there was a body: any JSON value (a
    /// body that was not JSON is described in a string).
    pub detail: Option<serde_json::Value>,
}

/// Appends an entry (its `id` is ignored).
pub fn record(conn: &Tx, e: &AuditEntry) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO audit_log (at, actor_id, actor, client, action, target, status, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        e.at,
        e.actor_id,
        e.actor,
        e.client,
        e.action,
        e.target,
        e.status,
        e.detail.as_ref().map(|d| d.to_string()),
    ])?;
    Ok(())
}

/// Which entries to list.
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    /// Only entries at or after this time (unix ms).
    pub since: Option<i64>,
    /// Only entries before this time (unix ms).
    pub until: Option<i64>,
    /// Only this actor's (username).
    pub actor: Option<String>,
    /// Only entries older than this id (the next page).
    pub before_id: Option<i64>,
    /// At most this many.
    pub limit: i64,
}

/// Entries matching `q`, newest first.
pub fn list(conn: &Tx, q: &AuditQuery) -> Result<Vec<AuditEntry>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, at, actor_id, actor, client, action, target, status, detail FROM audit_log
         WHERE (CAST(?1 AS BIGINT) IS NULL OR at >= ?1) AND (CAST(?2 AS BIGINT) IS NULL OR at < ?2)
           AND (CAST(?3 AS TEXT) IS NULL OR actor = ?3) AND (CAST(?4 AS BIGINT) IS NULL OR id < ?4)
         ORDER BY id DESC LIMIT ?5",
    )?;
    let rows = stmt.query_map(
        params![q.since, q.until, q.actor, q.before_id, q.limit],
        |r| {
            let detail: Option<String> = r.get(8)?;
            Ok(AuditEntry {
                id: r.get(0)?,
                at: r.get(1)?,
                actor_id: r.get(2)?,
                actor: r.get(3)?,
                client: r.get(4)?,
                action: r.get(5)?,
                target: r.get(6)?,
                status: r.get(7)?,
                detail: detail.and_then(|d| serde_json::from_str(&d).ok()),
            })
        },
    )?;
    Ok(rows.collect::<anyhow::Result<_>>()?)
}
