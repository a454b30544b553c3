//! `switchboard store migrate`: every row of one store copied into another, such as an
//! install moving from its SQLite file to the PostgreSQL database a cluster shares.
//!
//! Both are brought to the newest schema first (the host would do the same at start),
//! so they have the same tables and columns. The destination must hold no data: a copy
//! never merges two installs. Rows keep their ids (interactions, messages and replies are
//! referred to by id everywhere, the platforms' idempotency keys included), PostgreSQL's
//! id sequences are moved past the copied ids, and the copy is verified by counting every
//! table on both sides. The whole copy is one transaction on the destination: a copy that
//! fails half-way leaves it empty.
//!
//! Stop the hosts using the source first: rows written during the copy are not copied.

use anyhow::{Context, Result, bail};

use super::{StoreOptions, StoreUrl, Tx, Value, params_from_iter};

/// Tables in an order that puts every row after the rows it refers to.
pub const TABLES: &[&str] = &[
    "users",
    "stations",
    "sessions",
    "workgroups",
    "workgroup_members",
    "channel_cursors",
    "plugin_kv",
    "channels",
    "interactions",
    "messages",
    "interaction_events",
    "outbound",
    "early_deliveries",
    "workflow_timers",
    "jobs",
    "audit_log",
    "responses",
    "channel_pauses",
    "held_events",
];

/// Rows per insert statement.
const BATCH: usize = 200;

/// Rows read from the source at a time.
const PAGE: usize = 5_000;

/// What was copied: each table with its row count (equal on both sides).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Copied {
    pub tables: Vec<(String, i64)>,
}

impl Copied {
    pub fn rows(&self) -> i64 {
        self.tables.iter().map(|(_, n)| n).sum()
    }
}

/// Told how far a copy is: `(table, rows copied of the table, rows in the table)`.
pub type Progress<'a> = &'a mut (dyn FnMut(&str, u64, u64) + Send);

/// Copies every row of `from` into the empty store `to`, then checks the counts.
pub fn copy(from: &StoreUrl, to: &StoreUrl, progress: Progress<'_>) -> Result<Copied> {
    if from == to {
        bail!("--from and --to are the same store: name another destination");
    }
    // Migrate both (an old source is read as the host would after its upgrade), then let
    // their writers go: the copy runs on connections of its own.
    for (what, url) in [("the source", from), ("the destination", to)] {
        super::Store::open_url(url, &StoreOptions::default())
            .with_context(|| format!("opening {what}, {}", url.display()))?
            .close();
    }
    super::scratch::off_runtime(|| copy_rows(from, to, progress))
}

fn connect(url: &StoreUrl) -> Result<Tx> {
    match url {
        StoreUrl::Sqlite(path) => Ok(Tx::sqlite(super::open_connection(path)?)),
        StoreUrl::Postgres(url) => Tx::postgres(&super::PgTarget::new(url)),
    }
}

fn copy_rows(from: &StoreUrl, to: &StoreUrl, progress: Progress<'_>) -> Result<Copied> {
    let src = connect(from).context("connecting to the source")?;
    let dst = connect(to).context("connecting to the destination")?;
    for table in TABLES {
        let n = count(&dst, table)?;
        if n > 0 {
            bail!(
                "the destination already holds data ({n} rows in {table}): migrate into an empty database"
            );
        }
    }
    dst.begin()?;
    let copied = (|| -> Result<Copied> {
        let mut copied = Copied::default();
        for table in TABLES {
            let n = copy_table(&src, &dst, table, progress)
                .with_context(|| format!("copying {table}"))?;
            copied.tables.push((table.to_string(), n));
        }
        if dst.is_postgres() {
            move_sequences(&dst)?;
        }
        Ok(copied)
    })();
    match copied {
        Ok(copied) => {
            dst.commit().context("committing the copy")?;
            verify(&src, &dst, &copied)?;
            Ok(copied)
        }
        Err(e) => {
            let _ = dst.rollback();
            Err(e)
        }
    }
}

fn count(tx: &Tx, table: &str) -> Result<i64> {
    tx.query_row(&format!("SELECT count(*) FROM {table}"), (), |r| r.get(0))
}

/// The destination's columns of `table`, in order.
fn columns(tx: &Tx, table: &str) -> Result<Vec<String>> {
    let sql = if tx.is_postgres() {
        "SELECT column_name FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = ?1 ORDER BY ordinal_position"
    } else {
        "SELECT name FROM pragma_table_info(?1) ORDER BY cid"
    };
    let names: Vec<String> = tx
        .prepare(sql)?
        .query_map([table], |r| r.get(0))?
        .collect::<Result<_>>()?;
    if names.is_empty() {
        bail!("the destination has no table {table}");
    }
    Ok(names)
}

fn copy_table(src: &Tx, dst: &Tx, table: &str, progress: Progress<'_>) -> Result<i64> {
    let total = count(src, table)?;
    progress(table, 0, total as u64);
    let mut names = columns(dst, table)?;
    // PostgreSQL keeps SQLite's implicit row id of this table (arrival order) as a
    // column; SQLite takes it back by that name.
    if !dst.is_postgres() && src.is_postgres() && table == "early_deliveries" {
        names.insert(0, "rowid".into());
    }
    let list = names.join(", ");
    // Read a page at a time by id, so a large install is never held in memory whole.
    let key = ["id", "rowid"]
        .into_iter()
        .find(|k| names.iter().any(|n| n == k));
    let select = match key {
        Some(key) => {
            format!("SELECT {list} FROM {table} WHERE {key} > ?1 ORDER BY {key} LIMIT {PAGE}")
        }
        None => format!("SELECT {list} FROM {table}"),
    };
    let key_at = key.and_then(|k| names.iter().position(|n| n == k));
    let mut after = i64::MIN;
    let mut done = 0u64;
    loop {
        let mut stmt = src.prepare(&select)?;
        let read = |r: &super::Row<'_>| {
            (0..names.len())
                .map(|i| r.get::<_, Value>(i))
                .collect::<Result<Vec<_>>>()
        };
        let rows: Vec<Vec<Value>> = match key {
            Some(_) => stmt.query_map([after], read)?,
            None => stmt.query_map((), read)?,
        }
        .collect::<Result<_>>()?;
        for chunk in rows.chunks(BATCH) {
            let marks = (0..chunk.len())
                .map(|k| {
                    let base = k * names.len();
                    let one: Vec<String> = (1..=names.len())
                        .map(|c| format!("?{}", base + c))
                        .collect();
                    format!("({})", one.join(", "))
                })
                .collect::<Vec<_>>()
                .join(", ");
            let insert = format!("INSERT INTO {table} ({list}) VALUES {marks}");
            dst.execute(&insert, params_from_iter(chunk.iter().flatten()))?;
            done += chunk.len() as u64;
            progress(table, done, total as u64);
        }
        match (key_at, rows.last()) {
            (Some(at), Some(last)) if rows.len() == PAGE => match last[at] {
                Value::Integer(id) => after = id,
                _ => bail!("{table} has a row without an id"),
            },
            _ => break,
        }
    }
    Ok(done as i64)
}

/// Moves each id sequence past the largest copied id, so new rows do not collide.
fn move_sequences(dst: &Tx) -> Result<()> {
    for table in TABLES {
        for column in ["id", "rowid"] {
            let has: bool = dst.query_row(
                "SELECT count(*) > 0 FROM information_schema.columns
                 WHERE table_schema = current_schema() AND table_name = ?1 AND column_name = ?2
                   AND is_identity = 'YES'",
                super::params![table, column],
                |r| r.get(0),
            )?;
            if has {
                dst.query_row(
                    &format!(
                        "SELECT setval(pg_get_serial_sequence('{table}', '{column}'),
                                       coalesce((SELECT max({column}) FROM {table}), 0) + 1, false)"
                    ),
                    (),
                    |_| Ok(()),
                )?;
            }
        }
    }
    Ok(())
}

fn verify(src: &Tx, dst: &Tx, copied: &Copied) -> Result<()> {
    for (table, n) in &copied.tables {
        let (a, b) = (count(src, table)?, count(dst, table)?);
        if a != b || b != *n {
            bail!(
                "the copy does not match: {table} has {a} rows in the source and {b} in the destination"
            );
        }
    }
    Ok(())
}
