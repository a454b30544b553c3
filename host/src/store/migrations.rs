//! Schema migrations. Each entry runs once, in order, inside one transaction; the applied
//! version is kept (SQLite: `PRAGMA user_version`; PostgreSQL: the `schema_version` table)
//! so a database is never migrated twice.
//!
//! PostgreSQL came with version 9: its first migration creates the schema SQLite has after
//! its ninth, and from then on every migration is written for both engines, appended to
//! both lists under the same number. Types differ only where the engines do: integers are
//! `BIGINT` (SQLite's integers are 64-bit), row ids are identity columns, blobs `BYTEA`.
//!
//! Rolling upgrades: a migration only adds (tables, columns with defaults, indexes), so the
//! previous version of the host keeps working on the migrated schema while hosts are
//! upgraded one at a time; a change that removes or renames is split over two releases.

use anyhow::{Context, Result};
use rusqlite::Connection;

use super::PgTarget;

mod pg_list;
mod sqlite_list;

use pg_list::POSTGRES;
use sqlite_list::MIGRATIONS;

/// The version PostgreSQL's first migration brings a database to.
const POSTGRES_BASE_VERSION: usize = 9;

/// Brings a PostgreSQL database up to the newest schema. Hosts of a cluster may start
/// together: the migration holds a transaction-scoped lock, so one migrates and the
/// others find it done.
pub(crate) fn migrate_postgres(target: &PgTarget) -> Result<()> {
    debug_assert_eq!(POSTGRES_BASE_VERSION + POSTGRES.len() - 1, MIGRATIONS.len());
    let mut client = target
        .config()?
        .connect(postgres::NoTls)
        .with_context(|| format!("connecting to {}", super::redact(target.url())))?;
    let mut tx = client.transaction()?;
    // A fixed key of the store's own ("swbd" in ASCII).
    tx.batch_execute(
        "SELECT pg_advisory_xact_lock(1937203812);
         CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL);",
    )?;
    let current: Option<i64> = tx
        .query_opt("SELECT max(version) FROM schema_version", &[])?
        .and_then(|row| row.get(0));
    let current = current.unwrap_or(0) as usize;
    if current > MIGRATIONS.len() {
        anyhow::bail!(
            "the database is at schema version {current}, newer than this host knows ({}): upgrade this host",
            MIGRATIONS.len()
        );
    }
    for (k, sql) in POSTGRES.iter().enumerate() {
        let version = POSTGRES_BASE_VERSION + k;
        if version <= current {
            continue;
        }
        tx.batch_execute(sql)
            .with_context(|| format!("applying migration {version}"))?;
        tx.execute("DELETE FROM schema_version", &[])?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES ($1)",
            &[&(version as i64)],
        )?;
        tracing::info!(version, "applied database migration");
    }
    tx.commit()?;
    Ok(())
}

/// Brings the database up to the newest schema.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (index + 1) as i64)?;
        tx.commit()?;
        tracing::info!(version = index + 1, "applied database migration");
    }
    Ok(())
}

/// The first version hosts of a cluster run side by side with the next release during a
/// rolling upgrade: from here on a migration only adds (see [`additive`]).
#[cfg(test)]
const ROLLING_FROM_VERSION: usize = 10;

/// Why statement `sql` of a migration would break a host of the previous version still
/// running on the migrated schema, if it would: anything but creating a table or an index
/// and adding a column that can be left out (nullable, or with a default).
#[cfg(test)]
fn additive(sql: &str) -> Result<(), String> {
    let words: Vec<String> = sql
        .split_whitespace()
        .map(|w| w.to_ascii_uppercase())
        .collect();
    let starts = |prefix: &[&str]| {
        words
            .iter()
            .map(String::as_str)
            .take(prefix.len())
            .eq(prefix.iter().copied())
    };
    // New tables, indexes, search indexes and the triggers that keep them (an older host's
    // writes fire them too), extensions, and filling what was just made.
    if starts(&["CREATE", "TABLE"])
        || starts(&["CREATE", "INDEX"])
        || starts(&["CREATE", "UNIQUE", "INDEX"])
        || starts(&["CREATE", "VIRTUAL", "TABLE"])
        || starts(&["CREATE", "TRIGGER"])
        || starts(&["CREATE", "EXTENSION"])
        || starts(&["INSERT", "INTO"])
    {
        return Ok(());
    }
    if starts(&["ALTER", "TABLE"]) && words.get(3).map(String::as_str) == Some("ADD") {
        let not_null = words.windows(2).any(|w| w[0] == "NOT" && w[1] == "NULL");
        if not_null && !words.iter().any(|w| w == "DEFAULT") {
            return Err(format!(
                "a NOT NULL column without a default: `{}`",
                sql.trim()
            ));
        }
        return Ok(());
    }
    Err(format!(
        "only CREATE TABLE, CREATE INDEX and ADD COLUMN keep the previous version working: `{}`",
        sql.trim()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hosts are upgraded one at a time: the previous version keeps running on the
    /// migrated schema, so a migration from [`ROLLING_FROM_VERSION`] on, on either
    /// engine, only adds.
    /// The statements of a migration; a trigger's body (`BEGIN … END`) stays in its
    /// `CREATE TRIGGER`.
    fn statements(sql: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut open = false;
        for piece in sql.split(';').filter(|s| !s.trim().is_empty()) {
            if open {
                let last = out.last_mut().expect("a trigger began");
                last.push(';');
                last.push_str(piece);
                open = piece.trim() != "END" && !piece.trim_end().ends_with("END");
                continue;
            }
            open = piece
                .trim_start()
                .to_ascii_uppercase()
                .starts_with("CREATE TRIGGER");
            out.push(piece.to_owned());
        }
        out
    }

    #[test]
    fn migrations_since_the_cluster_release_only_add() {
        let sqlite = MIGRATIONS.iter().enumerate().map(|(i, sql)| (i + 1, sql));
        let postgres = POSTGRES
            .iter()
            .enumerate()
            .map(|(k, sql)| (POSTGRES_BASE_VERSION + k, sql));
        for (version, sql) in sqlite.chain(postgres) {
            if version < ROLLING_FROM_VERSION {
                continue;
            }
            for statement in statements(sql) {
                if let Err(why) = additive(&statement) {
                    panic!("migration {version}: {why}");
                }
            }
        }
        // The check itself tells the two apart.
        assert!(additive("ALTER TABLE t ADD COLUMN c INTEGER NOT NULL DEFAULT 0").is_ok());
        assert!(additive("ALTER TABLE t ADD COLUMN c TEXT").is_ok());
        assert!(additive("ALTER TABLE t ADD COLUMN c INTEGER NOT NULL").is_err());
        assert!(additive("DROP TABLE sessions").is_err());
        assert!(additive("DROP TRIGGER messages_fts_insert").is_err());
        assert_eq!(statements("CREATE TRIGGER t AFTER INSERT ON m BEGIN INSERT INTO f VALUES (1); INSERT INTO f VALUES (2); END; DROP TABLE x").len(), 2);
        assert!(additive("ALTER TABLE t RENAME COLUMN a TO b").is_err());
    }

    #[test]
    fn migrating_twice_is_a_no_op() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v as usize, MIGRATIONS.len());
    }
}
