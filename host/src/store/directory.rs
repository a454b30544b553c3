//! Users, sessions and workgroups: who can work, and where.

use anyhow::Result;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

/// A user as stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct User {
    /// Internal id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Shown to customers and colleagues.
    pub display_name: String,
    /// Rights such as `agent`, `supervisor`, `social_media_admin`.
    pub rights: Vec<String>,
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

/// A workgroup as stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Workgroup {
    /// Internal id.
    pub id: i64,
    /// Unique name.
    pub name: String,
    /// How long an offer alerts before it goes to the next agent.
    pub alert_timeout_ms: i64,
    /// Utilization defaults per media type, as JSON `{media: {percent, max}}`.
    pub utilization: serde_json::Value,
    /// Member user ids.
    pub members: Vec<i64>,
}

fn user_from_row(r: &rusqlite::Row) -> rusqlite::Result<User> {
    let rights: String = r.get(3)?;
    Ok(User {
        id: r.get(0)?,
        username: r.get(1)?,
        display_name: r.get(2)?,
        rights: serde_json::from_str(&rights).unwrap_or_default(),
        status: r.get(4)?,
        status_at: r.get(5)?,
    })
}

const USER_COLUMNS: &str = "id, username, display_name, rights, status, status_at";

/// Creates or updates a user by username; returns its id.
pub fn upsert_user(
    conn: &Connection,
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

/// A user and their password hash, by username.
pub fn user_with_hash(conn: &Connection, username: &str) -> Result<Option<(User, String)>> {
    Ok(conn
        .query_row(
            &format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE username = ?1"),
            [username],
            |r| Ok((user_from_row(r)?, r.get(6)?)),
        )
        .optional()?)
}

/// Whether a user exists under this name (to avoid re-hashing seeded passwords).
pub fn user_exists(conn: &Connection, username: &str) -> Result<bool> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM users WHERE username = ?1",
            [username],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

/// All users.
pub fn users(conn: &Connection) -> Result<Vec<User>> {
    let mut stmt = conn.prepare(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY id"))?;
    let rows = stmt.query_map([], user_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Saves an agent's status.
pub fn set_status(conn: &Connection, user_id: i64, status: &str, now: i64) -> Result<()> {
    conn.execute(
        "UPDATE users SET status = ?2, status_at = ?3 WHERE id = ?1",
        params![user_id, status, now],
    )?;
    Ok(())
}

/// Stores a new session token.
pub fn create_session(conn: &Connection, token: &str, user_id: i64, now: i64) -> Result<()> {
    conn.execute(
        "INSERT INTO sessions (token, user_id, created_at) VALUES (?1, ?2, ?3)",
        params![token, user_id, now],
    )?;
    Ok(())
}

/// The user a session token belongs to.
pub fn session_user(conn: &Connection, token: &str) -> Result<Option<User>> {
    Ok(conn
        .query_row(
            &format!(
                "SELECT {} FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token = ?1",
                USER_COLUMNS
                    .split(", ")
                    .map(|c| format!("u.{c}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            [token],
            user_from_row,
        )
        .optional()?)
}

/// Creates or updates a workgroup and replaces its members; returns its id.
pub fn upsert_workgroup(
    conn: &Connection,
    name: &str,
    alert_timeout_ms: i64,
    utilization: &serde_json::Value,
    members: &[i64],
) -> Result<i64> {
    conn.execute(
        "INSERT INTO workgroups (name, alert_timeout_ms, utilization) VALUES (?1, ?2, ?3)
         ON CONFLICT (name) DO UPDATE SET alert_timeout_ms = excluded.alert_timeout_ms,
             utilization = excluded.utilization",
        params![name, alert_timeout_ms, utilization.to_string()],
    )?;
    let id: i64 = conn.query_row("SELECT id FROM workgroups WHERE name = ?1", [name], |r| {
        r.get(0)
    })?;
    conn.execute(
        "DELETE FROM workgroup_members WHERE workgroup_id = ?1",
        [id],
    )?;
    for member in members {
        conn.execute(
            "INSERT INTO workgroup_members (workgroup_id, user_id) VALUES (?1, ?2)",
            params![id, member],
        )?;
    }
    Ok(id)
}

/// All workgroups with their members.
pub fn workgroups(conn: &Connection) -> Result<Vec<Workgroup>> {
    let mut stmt =
        conn.prepare("SELECT id, name, alert_timeout_ms, utilization FROM workgroups ORDER BY id")?;
    let mut groups: Vec<Workgroup> = stmt
        .query_map([], |r| {
            let util: String = r.get(3)?;
            Ok(Workgroup {
                id: r.get(0)?,
                name: r.get(1)?,
                alert_timeout_ms: r.get(2)?,
                utilization: serde_json::from_str(&util).unwrap_or_default(),
                members: Vec::new(),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut stmt = conn.prepare("SELECT user_id FROM workgroup_members WHERE workgroup_id = ?1")?;
    for group in &mut groups {
        group.members = stmt
            .query_map([group.id], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
    }
    Ok(groups)
}
