//! The two database engines behind one small interface.
//!
//! Store operations are written once, against [`Tx`]: SQL in the dialect both engines
//! share, parameters as `?N`, rows read by position. SQLite (the embedded default) runs
//! that SQL as it is; PostgreSQL (the engine a cluster shares) gets it translated once per
//! query text (`?N` to `$N`, `LIKE` to `ILIKE` so a search matches as on SQLite) and
//! prepared once per connection. Values cross as the few kinds SQLite knows (integer,
//! real, text, blob), and each engine converts them to and from its own column types, so
//! a store operation never names an engine's types. Where the dialects really differ (a
//! JSON path, a scalar `max`), an operation asks [`Tx::is_postgres`].
//!
//! Why a thin layer of our own rather than an ORM or `sqlx`: the store's contract is
//! synchronous closures run inside the single writer's group-committed transaction (see
//! the parent module), which no async query builder can join, and the SQL stays the SQL
//! each engine's query planner is checked against (`EXPLAIN`), not generated.

mod pg;
mod sqlite;
mod translate;
mod value;

use std::cell::Cell;

use anyhow::{Result, anyhow};

pub use pg::PgTarget;
pub(super) use pg::storage_reason;
pub use value::{FromValue, ToValue, Value, ValueRef};

/// Where the database is: the store's URL (`[store] url`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreUrl {
    /// `sqlite://PATH`: a file (created if missing).
    Sqlite(std::path::PathBuf),
    /// `postgres://…` (or `postgresql://…`), as libpq reads it.
    Postgres(String),
}

impl StoreUrl {
    /// Parses `sqlite://PATH` or `postgres://…`, in the words a person reading the error
    /// in `switchboard check` needs.
    pub fn parse(url: &str) -> Result<StoreUrl> {
        let url = url.trim();
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(anyhow!(
                    "the store URL `sqlite://` names no file: write sqlite://PATH, e.g. sqlite://data/switchboard.db"
                ));
            }
            return Ok(StoreUrl::Sqlite(path.into()));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            url.parse::<postgres::Config>()
                .map_err(|e| anyhow!("the store URL is not a PostgreSQL URL it can use: {e}"))?;
            return Ok(StoreUrl::Postgres(url.to_owned()));
        }
        Err(anyhow!(
            "the store URL must start with sqlite:// or postgres://, not `{}`",
            redact(url)
        ))
    }

    /// The URL to show a person or a log: a password is never shown.
    pub fn display(&self) -> String {
        match self {
            StoreUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
            StoreUrl::Postgres(url) => redact(url),
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, StoreUrl::Postgres(_))
    }
}

/// `url` with any password replaced by `***`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return url.to_owned();
    };
    let user = match userinfo.split_once(':') {
        Some((user, _)) => format!("{user}:***"),
        None => userinfo.to_owned(),
    };
    let tail = redact_query_password(tail);
    format!("{scheme}://{user}@{host}{tail}")
}

fn redact_query_password(tail: &str) -> String {
    let Some((path, query)) = tail.split_once('?') else {
        return tail.to_owned();
    };
    let query: Vec<String> = query
        .split('&')
        .map(|kv| match kv.split_once('=') {
            Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
            _ => kv.to_owned(),
        })
        .collect();
    format!("{path}?{}", query.join("&"))
}

/// A connection store operations run on: inside the writer's transaction, or a reader.
/// Code above the store names this type, never an engine's.
pub struct Tx {
    engine: Engine,
    /// Rows changed through this connection (the writer tells a commit that wrote from
    /// one that only read).
    changes: Cell<u64>,
}

enum Engine {
    Sqlite(rusqlite::Connection),
    Pg(pg::Conn),
}

/// The error of a query that found no row where one was expected; see
/// [`OptionalExtension::optional`].
#[derive(Debug, thiserror::Error)]
#[error("no row found")]
pub struct NoRows;

impl Tx {
    /// Store operations on a SQLite connection of the caller's own (a bench measuring
    /// them without the writer); the caller runs its own transactions.
    pub fn from_sqlite(conn: rusqlite::Connection) -> Tx {
        Tx::sqlite(conn)
    }

    pub(super) fn sqlite(conn: rusqlite::Connection) -> Tx {
        Tx {
            engine: Engine::Sqlite(conn),
            changes: Cell::new(0),
        }
    }

    pub(super) fn postgres(target: &PgTarget) -> Result<Tx> {
        Ok(Tx {
            engine: Engine::Pg(pg::Conn::connect(target)?),
            changes: Cell::new(0),
        })
    }

    /// Whether this is PostgreSQL (for the few queries whose dialects differ).
    pub fn is_postgres(&self) -> bool {
        matches!(self.engine, Engine::Pg(_))
    }

    /// The SQLite connection, for what only SQLite has (pragmas, the online backup).
    pub(crate) fn as_sqlite(&self) -> Option<&rusqlite::Connection> {
        match &self.engine {
            Engine::Sqlite(c) => Some(c),
            Engine::Pg(_) => None,
        }
    }

    /// A statement for `sql`, prepared once per connection and kept.
    pub fn prepare_cached(&self, sql: &str) -> Result<Stmt<'_>> {
        Ok(Stmt {
            tx: self,
            sql: sql.to_owned(),
        })
    }

    /// Same as [`Tx::prepare_cached`]: every statement is kept.
    pub fn prepare(&self, sql: &str) -> Result<Stmt<'_>> {
        self.prepare_cached(sql)
    }

    /// Runs one statement; the number of rows it changed.
    pub fn execute(&self, sql: &str, params: impl Params) -> Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }

    /// The first row of a query, mapped by `f`; [`NoRows`] when there is none.
    pub fn query_row<T>(
        &self,
        sql: &str,
        params: impl Params,
        f: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<T> {
        self.prepare_cached(sql)?.query_row(params, f)
    }

    /// Runs several statements without parameters (schema changes, transaction control).
    pub fn execute_batch(&self, sql: &str) -> Result<()> {
        match &self.engine {
            Engine::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Engine::Pg(c) => c.batch(sql),
        }
    }

    /// Rows changed through this connection so far.
    pub(super) fn total_changes(&self) -> u64 {
        self.changes.get()
    }

    /// Starts the writer's transaction (SQLite takes the write lock at once).
    pub(super) fn begin(&self) -> Result<()> {
        match &self.engine {
            Engine::Sqlite(c) => Ok(c.execute_batch("BEGIN IMMEDIATE")?),
            Engine::Pg(c) => c.begin(),
        }
    }

    /// Whether a transaction is open (SQLite ends one by itself after some failures).
    pub(super) fn in_transaction(&self) -> bool {
        match &self.engine {
            Engine::Sqlite(c) => !c.is_autocommit(),
            Engine::Pg(c) => c.in_transaction(),
        }
    }

    pub(super) fn commit(&self) -> Result<()> {
        match &self.engine {
            Engine::Sqlite(c) => Ok(c.execute_batch("COMMIT")?),
            Engine::Pg(c) => c.end("COMMIT"),
        }
    }

    pub(super) fn rollback(&self) -> Result<()> {
        match &self.engine {
            Engine::Sqlite(c) => Ok(c.execute_batch("ROLLBACK")?),
            Engine::Pg(c) => c.end("ROLLBACK"),
        }
    }

    /// Whether the connection was lost (PostgreSQL): the writer opens a new one before
    /// its next group.
    pub(super) fn is_broken(&self) -> bool {
        match &self.engine {
            Engine::Sqlite(_) => false,
            Engine::Pg(c) => c.is_broken(),
        }
    }

    fn count(&self, n: u64) {
        self.changes.set(self.changes.get() + n);
    }
}

/// One query on a connection.
pub struct Stmt<'a> {
    tx: &'a Tx,
    sql: String,
}

impl Stmt<'_> {
    /// Runs it; the number of rows changed.
    pub fn execute(&mut self, params: impl Params) -> Result<usize> {
        let values = params.values();
        let n = match &self.tx.engine {
            Engine::Sqlite(c) => sqlite::execute(c, &self.sql, &values)?,
            Engine::Pg(c) => c.execute(&self.sql, &values)?,
        };
        self.tx.count(n as u64);
        Ok(n)
    }

    /// The first row, mapped by `f`; [`NoRows`] when there is none.
    pub fn query_row<T>(
        &mut self,
        params: impl Params,
        f: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<T> {
        let values = params.values();
        let mut f = Some(f);
        let mut found = None;
        self.each(&values, &mut |row| {
            if let Some(f) = f.take() {
                found = Some(f(row));
            }
            Ok(false)
        })?;
        found.unwrap_or_else(|| Err(NoRows.into()))
    }

    /// Whether the query finds a row.
    pub fn exists(&mut self, params: impl Params) -> Result<bool> {
        let values = params.values();
        let mut any = false;
        self.each(&values, &mut |_| {
            any = true;
            Ok(false)
        })?;
        Ok(any)
    }

    /// Every row, mapped by `f`.
    pub fn query_map<T>(
        &mut self,
        params: impl Params,
        mut f: impl FnMut(&Row<'_>) -> Result<T>,
    ) -> Result<std::vec::IntoIter<Result<T>>> {
        let values = params.values();
        let mut rows = Vec::new();
        self.each(&values, &mut |row| {
            rows.push(f(row));
            Ok(true)
        })?;
        Ok(rows.into_iter())
    }

    /// Calls `f` on each row while it answers `true`.
    fn each(
        &mut self,
        values: &[ValueRef<'_>],
        f: &mut dyn FnMut(&Row<'_>) -> Result<bool>,
    ) -> Result<()> {
        match &self.tx.engine {
            Engine::Sqlite(c) => sqlite::each(c, &self.sql, values, f),
            Engine::Pg(c) => {
                // Writes with RETURNING change rows too.
                let n = c.each(&self.sql, values, f)?;
                self.tx.count(n);
                Ok(())
            }
        }
    }
}

/// A row of a result.
pub struct Row<'a> {
    inner: RowInner<'a>,
}

enum RowInner<'a> {
    Sqlite(&'a rusqlite::Row<'a>),
    Pg(&'a postgres::Row),
}

/// A column's position in a row.
pub trait RowIndex {
    fn index(&self) -> usize;
}

impl RowIndex for usize {
    fn index(&self) -> usize {
        *self
    }
}

impl Row<'_> {
    /// Column `idx` (from 0) as a `T`.
    pub fn get<I: RowIndex, T: FromValue>(&self, idx: I) -> Result<T> {
        let idx = idx.index();
        let got = match &self.inner {
            RowInner::Sqlite(r) => T::from_value(sqlite::value(r.get_ref(idx)?)),
            RowInner::Pg(r) => T::from_value(pg::value(r, idx)?.as_ref()),
        };
        got.map_err(|e| anyhow!("column {idx}: {e}"))
    }
}

/// Turns "no row" into `None`, as rusqlite's extension of the same name does.
pub trait OptionalExtension<T> {
    fn optional(self) -> Result<Option<T>>;
}

impl<T> OptionalExtension<T> for Result<T> {
    fn optional(self) -> Result<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.downcast_ref::<NoRows>().is_some() => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// The parameters of a query: `params![a, b]`, an array of one type, or `()`.
pub trait Params {
    fn values(&self) -> Vec<ValueRef<'_>>;
}

impl Params for () {
    fn values(&self) -> Vec<ValueRef<'_>> {
        Vec::new()
    }
}

impl Params for &[&dyn ToValue] {
    fn values(&self) -> Vec<ValueRef<'_>> {
        self.iter().map(|v| v.to_value()).collect()
    }
}

impl<T: ToValue, const N: usize> Params for [T; N] {
    fn values(&self) -> Vec<ValueRef<'_>> {
        self.iter().map(|v| v.to_value()).collect()
    }
}

impl<T: ToValue> Params for Vec<T> {
    fn values(&self) -> Vec<ValueRef<'_>> {
        self.iter().map(|v| v.to_value()).collect()
    }
}

/// Parameters from a list built at run time.
pub fn params_from_iter<T: ToValue>(iter: impl IntoIterator<Item = T>) -> Vec<T> {
    iter.into_iter().collect()
}

/// The parameters of a query, each anything [`ToValue`]: `params![id, name]`. Code
/// outside the host passes an array (`[id]`) or `params_from_iter`.
macro_rules! params {
    () => {
        &[] as &[&dyn $crate::store::ToValue]
    };
    ($($p:expr),+ $(,)?) => {
        &[$(&$p as &dyn $crate::store::ToValue),+] as &[&dyn $crate::store::ToValue]
    };
}
pub(crate) use params;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_urls_parse_and_never_show_a_password() {
        assert_eq!(
            StoreUrl::parse("sqlite://data/s.db").unwrap(),
            StoreUrl::Sqlite("data/s.db".into())
        );
        let pg = StoreUrl::parse("postgres://sb:secret@db.example:5432/sb").unwrap();
        assert!(pg.is_postgres());
        assert_eq!(pg.display(), "postgres://sb:***@db.example:5432/sb");
        assert_eq!(
            redact("postgres://sb@h/db?password=x&sslmode=disable"),
            "postgres://sb@h/db?password=***&sslmode=disable"
        );
        let e = StoreUrl::parse("mysql://u:pw@h/db")
            .unwrap_err()
            .to_string();
        assert!(e.contains("sqlite:// or postgres://"), "{e}");
        assert!(!e.contains("pw"), "{e}");
        assert!(StoreUrl::parse("sqlite://").is_err());
    }
}
