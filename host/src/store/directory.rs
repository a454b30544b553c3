//! Users, sessions, stations and workgroups: who can work, from where, and in which queue.

use std::collections::HashMap;

use crate::store::{OptionalExtension, Tx, params};
use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::routing::UtilizationTable;

/// Renames a workgroup (its row; members and rules follow by id).
pub fn rename_workgroup(conn: &Tx, id: i64, name: &str) -> Result<()> {
    conn.execute(
        "UPDATE workgroups SET name = ?2 WHERE id = ?1",
        params![id, name],
    )?;
    Ok(())
}

/// A user as stored.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct User {
    /// Internal id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Shown to customers and colleagues.
    pub display_name: String,
    /// Rights: `agent`, `supervisor`, `social_media_admin`, `acd_social_media`, `acd_whatsapp`.
    pub rights: Vec<String>,
    /// Skills with proficiency (0-100).
    pub skills: HashMap<String, u32>,
    /// Utilization set on the user; types not listed inherit from the workgroup.
    #[schema(value_type = Object)]
    pub utilization: UtilizationTable,
    /// The station the agent is logged in at.
    pub station: Option<String>,
    /// Last agent status (`available`, `away`, ...).
    pub status: String,
    /// When the status last changed, unix ms.
    pub status_at: i64,
}

impl User {
    /// Whether the user holds `right`.
    pub fn has_right(&self, right: &str) -> bool {
        self.rights.iter().any(|r| r == right)
    }
}

/// A station: a configured place agents log in at, which may carry access rights.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Station {
    /// Internal id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// Access rights (`acd_social_media`, `acd_whatsapp`).
    pub rights: Vec<String>,
}

/// A workgroup as stored.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Workgroup {
    /// Internal id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// How long an offer alerts before it goes to the next agent.
    pub alert_timeout_ms: i64,
    /// Utilization defaults per interaction type.
    #[schema(value_type = Object)]
    pub utilization: UtilizationTable,
    /// Service-level target: answered within this many seconds.
    pub sl_target_s: i64,
    /// Wrap-up codes agents choose from.
    pub wrapup_codes: Vec<String>,
    /// Whether a wrap-up code is required after each interaction.
    pub wrapup_required: bool,
    /// How long a required wrap-up may keep the agent out of routing.
    pub wrapup_timeout_ms: i64,
    /// Member user ids.
    pub members: Vec<i64>,
}

fn json<T: serde::de::DeserializeOwned + Default>(text: String) -> T {
    serde_json::from_str(&text).unwrap_or_default()
}

const USER_COLUMNS: &str =
    "id, username, display_name, rights, skills, utilization, station, status, status_at";

fn user_from_row(r: &crate::store::Row) -> anyhow::Result<User> {
    Ok(User {
        id: r.get(0)?,
        username: r.get(1)?,
        display_name: r.get(2)?,
        rights: json(r.get(3)?),
        skills: json(r.get(4)?),
        utilization: json(r.get(5)?),
        station: r.get(6)?,
        status: r.get(7)?,
        status_at: r.get(8)?,
    })
}

/// Creates or updates a user by username (password included); returns its id.
pub fn upsert_user(
    conn: &Tx,
    username: &str,
    display_name: &str,
    password_hash: &str,
    rights: &[String],
) -> Result<i64> {
    conn.execute(
        "INSERT INTO users (username, display_name, password_hash, rights) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (username) DO UPDATE SET display_name = excluded.display_name,
             password_hash = excluded.password_hash, rights = excluded.rights",
        params![
            username,
            display_name,
            password_hash,
            serde_json::to_string(rights)?
        ],
    )?;
    Ok(conn.query_row(
        "SELECT id FROM users WHERE username = ?1",
        [username],
        |r| r.get(0),
    )?)
}

/// Updates a user's profile (everything but the password and status).
pub fn update_user(conn: &Tx, user: &User) -> Result<()> {
    conn.execute(
        "UPDATE users SET username = ?2, display_name = ?3, rights = ?4, skills = ?5,
             utilization = ?6, station = ?7 WHERE id = ?1",
        params![
            user.id,
            user.username,
            user.display_name,
            serde_json::to_string(&user.rights)?,
            serde_json::to_string(&user.skills)?,
            serde_json::to_string(&user.utilization)?,
            user.station,
        ],
    )?;
    Ok(())
}

/// Replaces a user's password hash.
pub fn set_password(conn: &Tx, id: i64, password_hash: &str) -> Result<()> {
    conn.execute(
        "UPDATE users SET password_hash = ?2 WHERE id = ?1",
        params![id, password_hash],
    )?;
    Ok(())
}

/// Deletes a user and their sessions and memberships. Returns false when unknown.
pub fn delete_user(conn: &Tx, id: i64) -> Result<bool> {
    conn.execute("DELETE FROM sessions WHERE user_id = ?1", [id])?;
    conn.execute("DELETE FROM workgroup_members WHERE user_id = ?1", [id])?;
    conn.execute("UPDATE interactions SET assigned_to = NULL WHERE assigned_to = ?1 AND state = 'disconnected'", [id])?;
    Ok(conn.execute("DELETE FROM users WHERE id = ?1", [id])? > 0)
}

/// A user and their password hash, by username.
pub fn user_with_hash(conn: &Tx, username: &str) -> Result<Option<(User, String)>> {
    Ok(conn
        .query_row(
            &format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE username = ?1"),
            [username],
            |r| Ok((user_from_row(r)?, r.get(9)?)),
        )
        .optional()?)
}

/// One user by id.
pub fn user(conn: &Tx, id: i64) -> Result<Option<User>> {
    Ok(conn
        .query_row(
            &format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"),
            [id],
            user_from_row,
        )
        .optional()?)
}

/// One user by username.
pub fn user_by_name(conn: &Tx, username: &str) -> Result<Option<User>> {
    Ok(conn
        .query_row(
            &format!("SELECT {USER_COLUMNS} FROM users WHERE username = ?1"),
            [username],
            user_from_row,
        )
        .optional()?)
}

/// Whether a user exists under this name (to avoid re-hashing seeded passwords).
pub fn user_exists(conn: &Tx, username: &str) -> Result<bool> {
    Ok(user_by_name(conn, username)?.is_some())
}

/// All users.
pub fn users(conn: &Tx) -> Result<Vec<User>> {
    let mut stmt = conn.prepare(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY id"))?;
    let rows = stmt.query_map((), user_from_row)?;
    Ok(rows.collect::<anyhow::Result<_>>()?)
}

/// Saves an agent's status.
pub fn set_status(conn: &Tx, user_id: i64, status: &str, now: i64) -> Result<()> {
    conn.prepare_cached("UPDATE users SET status = ?2, status_at = ?3 WHERE id = ?1")?
        .execute(params![user_id, status, now])?;
    super::rollup::log_status(conn, user_id, status, now)
}

/// Saves the station an agent is logged in at.
pub fn set_station(conn: &Tx, user_id: i64, station: Option<&str>) -> Result<()> {
    conn.execute(
        "UPDATE users SET station = ?2 WHERE id = ?1",
        params![user_id, station],
    )?;
    Ok(())
}

/// A session as stored: its user and when it began and was last used (unix ms).
pub struct Session {
    /// Who signed in.
    pub user: User,
    /// When they signed in.
    pub created_at: i64,
    /// When the session was last used for something other than an event stream.
    pub last_seen_at: i64,
}

/// Stores a new session under the hash of its token.
pub fn create_session(conn: &Tx, token_hash: &str, user_id: i64, now: i64) -> Result<()> {
    conn.execute(
        "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at)
         VALUES (?1, ?2, ?3, ?3)",
        params![token_hash, user_id, now],
    )?;
    Ok(())
}

/// The session stored under a token hash.
pub fn session(conn: &Tx, token_hash: &str) -> Result<Option<Session>> {
    let columns = USER_COLUMNS
        .split(", ")
        .map(|c| format!("u.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {columns}, s.created_at, s.last_seen_at
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?1"
        ))?
        .query_row([token_hash], |r| {
            let n = USER_COLUMNS.split(", ").count();
            Ok(Session {
                user: user_from_row(r)?,
                created_at: r.get(n)?,
                last_seen_at: r.get(n + 1)?,
            })
        })
        .optional()?)
}

/// Records that a session was used.
pub fn touch_session(conn: &Tx, token_hash: &str, now: i64) -> Result<()> {
    conn.prepare_cached("UPDATE sessions SET last_seen_at = ?2 WHERE token_hash = ?1")?
        .execute(params![token_hash, now])?;
    Ok(())
}

/// Ends one session; whether it existed.
pub fn end_session(conn: &Tx, token_hash: &str) -> Result<bool> {
    Ok(conn.execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash])? > 0)
}

/// Ends every session of a user; how many there were.
pub fn end_sessions_of(conn: &Tx, user_id: i64) -> Result<usize> {
    Ok(conn.execute("DELETE FROM sessions WHERE user_id = ?1", [user_id])?)
}

/// Ends sessions idle since before `idle_before` or begun before `begun_before`.
pub fn end_expired_sessions(conn: &Tx, idle_before: i64, begun_before: i64) -> Result<usize> {
    Ok(conn.execute(
        "DELETE FROM sessions WHERE last_seen_at < ?1 OR created_at < ?2",
        params![idle_before, begun_before],
    )?)
}

// ---- stations ----------------------------------------------------------------------------

/// Creates or updates a station by name; returns its id.
pub fn upsert_station(conn: &Tx, name: &str, rights: &[String]) -> Result<i64> {
    conn.execute(
        "INSERT INTO stations (name, rights) VALUES (?1, ?2)
         ON CONFLICT (name) DO UPDATE SET rights = excluded.rights",
        params![name, serde_json::to_string(rights)?],
    )?;
    Ok(
        conn.query_row("SELECT id FROM stations WHERE name = ?1", [name], |r| {
            r.get(0)
        })?,
    )
}

/// Renames a station or changes its rights; agents logged in there follow the rename.
pub fn update_station(conn: &Tx, station: &Station) -> Result<bool> {
    let old: Option<String> = conn
        .query_row(
            "SELECT name FROM stations WHERE id = ?1",
            [station.id],
            |r| r.get(0),
        )
        .optional()?;
    let Some(old) = old else { return Ok(false) };
    conn.execute(
        "UPDATE stations SET name = ?2, rights = ?3 WHERE id = ?1",
        params![
            station.id,
            station.name,
            serde_json::to_string(&station.rights)?
        ],
    )?;
    conn.execute(
        "UPDATE users SET station = ?2 WHERE station = ?1",
        params![old, station.name],
    )?;
    Ok(true)
}

/// Deletes a station; agents logged in there are logged out of it.
pub fn delete_station(conn: &Tx, id: i64) -> Result<bool> {
    let name: Option<String> = conn
        .query_row("SELECT name FROM stations WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()?;
    let Some(name) = name else { return Ok(false) };
    conn.execute("UPDATE users SET station = NULL WHERE station = ?1", [name])?;
    conn.execute("DELETE FROM stations WHERE id = ?1", [id])?;
    Ok(true)
}

/// All stations.
pub fn stations(conn: &Tx) -> Result<Vec<Station>> {
    let mut stmt = conn.prepare("SELECT id, name, rights FROM stations ORDER BY id")?;
    let rows = stmt.query_map((), |r| {
        Ok(Station {
            id: r.get(0)?,
            name: r.get(1)?,
            rights: json(r.get(2)?),
        })
    })?;
    Ok(rows.collect::<anyhow::Result<_>>()?)
}

/// One station by name.
pub fn station_by_name(conn: &Tx, name: &str) -> Result<Option<Station>> {
    Ok(stations(conn)?.into_iter().find(|s| s.name == name))
}

// ---- workgroups --------------------------------------------------------------------------

/// Creates or updates a workgroup by name (all settings and members); returns its id.
pub fn upsert_workgroup(conn: &Tx, group: &Workgroup) -> Result<i64> {
    conn.execute(
        "INSERT INTO workgroups (name, alert_timeout_ms, utilization, sl_target_s, wrapup_codes,
             wrapup_required, wrapup_timeout_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (name) DO UPDATE SET alert_timeout_ms = excluded.alert_timeout_ms,
             utilization = excluded.utilization, sl_target_s = excluded.sl_target_s,
             wrapup_codes = excluded.wrapup_codes, wrapup_required = excluded.wrapup_required,
             wrapup_timeout_ms = excluded.wrapup_timeout_ms",
        params![
            group.name,
            group.alert_timeout_ms,
            serde_json::to_string(&group.utilization)?,
            group.sl_target_s,
            serde_json::to_string(&group.wrapup_codes)?,
            group.wrapup_required,
            group.wrapup_timeout_ms,
        ],
    )?;
    let id: i64 = conn.query_row(
        "SELECT id FROM workgroups WHERE name = ?1",
        [&group.name],
        |r| r.get(0),
    )?;
    set_members(conn, id, &group.members)?;
    Ok(id)
}

/// Replaces a workgroup's members.
pub fn set_members(conn: &Tx, workgroup_id: i64, members: &[i64]) -> Result<()> {
    conn.execute(
        "DELETE FROM workgroup_members WHERE workgroup_id = ?1",
        [workgroup_id],
    )?;
    for member in members {
        conn.execute(
            "INSERT INTO workgroup_members (workgroup_id, user_id) VALUES (?1, ?2)
             ON CONFLICT DO NOTHING",
            params![workgroup_id, member],
        )?;
    }
    Ok(())
}

/// Deletes a workgroup. Returns false when unknown.
pub fn delete_workgroup(conn: &Tx, id: i64) -> Result<bool> {
    conn.execute(
        "DELETE FROM workgroup_members WHERE workgroup_id = ?1",
        [id],
    )?;
    Ok(conn.execute("DELETE FROM workgroups WHERE id = ?1", [id])? > 0)
}

/// All workgroups with their members.
pub fn workgroups(conn: &Tx) -> Result<Vec<Workgroup>> {
    let mut stmt = conn.prepare(
        "SELECT id, name, alert_timeout_ms, utilization, sl_target_s, wrapup_codes, wrapup_required,
                wrapup_timeout_ms
         FROM workgroups ORDER BY id",
    )?;
    let mut groups: Vec<Workgroup> = stmt
        .query_map((), |r| {
            Ok(Workgroup {
                id: r.get(0)?,
                name: r.get(1)?,
                alert_timeout_ms: r.get(2)?,
                utilization: json(r.get(3)?),
                sl_target_s: r.get(4)?,
                wrapup_codes: json(r.get(5)?),
                wrapup_required: r.get(6)?,
                wrapup_timeout_ms: r.get(7)?,
                members: Vec::new(),
            })
        })?
        .collect::<anyhow::Result<_>>()?;
    let mut stmt = conn.prepare(
        "SELECT user_id FROM workgroup_members WHERE workgroup_id = ?1 ORDER BY user_id",
    )?;
    for group in &mut groups {
        group.members = stmt
            .query_map([group.id], |r| r.get(0))?
            .collect::<anyhow::Result<_>>()?;
    }
    Ok(groups)
}

/// One workgroup by name.
pub fn workgroup_by_name(conn: &Tx, name: &str) -> Result<Option<Workgroup>> {
    Ok(workgroups(conn)?.into_iter().find(|g| g.name == name))
}
