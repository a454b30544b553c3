//! Durable storage: SQLite in WAL mode (the embedded default), or PostgreSQL (what a
//! cluster of hosts shares). Store operations are written once for both ([`engine`]).
//!
//! All writes go through one writer thread that groups whatever is waiting into a single
//! transaction (group commit): each request still gets its own savepoint, so one failing
//! write never takes the others with it, and nobody is answered before the transaction
//! that holds their data is committed. A storage failure (disk full, I/O error) fails the
//! whole group instead, and the writer starts the next one clean ([`writer`]). Reads use a
//! small pool of separate connections, which WAL lets run beside the writer.
//!
//! Durability: with `synchronous = FULL` (the default) the write-ahead log is synced to
//! the disk at every commit, so a write acknowledged to its caller (and so a webhook
//! acknowledged to the platform) survives a power loss, not only a crash of the process.
//! Group commit pays that one sync for every write in the group.
//!
//! Queries that stay prepared: every query is prepared once per connection and kept
//! (`prepare_cached`). SQLite 3.54 parses a kept query again at each use when its plan
//! depends on a bare parameter's value: a join or an `ORDER BY` with `col = ?`, or
//! `LIMIT ?`. rusqlite clears the bindings when a statement goes back to its cache, and
//! SQLite marks such a plan stale then. The hot queries are written so that it cannot
//! happen: a user's name is a scalar subquery rather than a join, and an ordered or
//! limited query takes `+?` (the same index is used; the value is the same). The test
//! `interactions::effects::tests::hot_queries_are_never_parsed_again` checks the
//! queries a message and its routing run.

pub mod audit;
pub mod backup;
pub mod bus;
pub mod channels;
pub mod cluster;
pub mod contacts;
pub mod copy;
pub mod directory;
mod engine;
pub mod jobs;
pub mod media;
mod migrations;
pub mod outbox;
pub(crate) mod pauses;
pub mod queries;
pub mod replay;
pub mod reports;
pub mod responses;
pub mod retention;
pub mod rollup;
pub mod scratch;
pub mod throttle;
pub mod trace;
pub mod transcript;
pub mod workflow;
mod writer;

pub(crate) use engine::params;
pub use engine::{
    FromValue, OptionalExtension, PgTarget, Row, StoreUrl, ToValue, Tx, Value, ValueRef,
    params_from_iter, redact,
};

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use rusqlite::Connection;

use writer::{Health, Job, Ran};

/// How SQLite makes a commit durable (`PRAGMA synchronous`, in WAL mode).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Synchronous {
    /// The log is synced at every commit: an acknowledged write survives power loss.
    #[default]
    Full,
    /// The log is synced only at checkpoints: an acknowledged write survives a crash of
    /// the process, but the last ones can be lost when the machine loses power.
    Normal,
}

impl Synchronous {
    fn pragma(self) -> &'static str {
        match self {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        }
    }
}

impl std::str::FromStr for Synchronous {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Synchronous> {
        match s.to_ascii_lowercase().as_str() {
            "full" => Ok(Synchronous::Full),
            "normal" => Ok(Synchronous::Normal),
            _ => Err(anyhow!(
                "`{s}` is not a synchronous setting: use full or normal"
            )),
        }
    }
}

/// Settings of the database (`[server.database]` in the config file).
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreOptions {
    /// `full` (default) or `normal`: see [`Synchronous`].
    pub synchronous: Synchronous,
    /// Largest size the database may grow to, in pages of 4 KiB (0, the default: no
    /// limit). Past it writes fail as on a full disk: webhooks are answered 503 and the
    /// platforms deliver again later.
    pub max_page_count: u64,
}

/// A write that was not stored because the store could not commit (the disk is full,
/// an I/O error): nothing of it was kept, and the caller may try again later.
#[derive(Debug, thiserror::Error)]
#[error("not stored: {0}")]
pub struct NotStored(pub String);

impl NotStored {
    /// The storage failure behind `e`, if that is why it failed.
    pub fn find(e: &anyhow::Error) -> Option<&NotStored> {
        e.chain()
            .find_map(|cause| cause.downcast_ref::<NotStored>())
    }
}

/// Handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

/// Where the store's connections go.
#[derive(Clone)]
enum Target {
    Sqlite(PathBuf),
    Postgres(PgTarget),
}

impl Target {
    fn connect(&self) -> Result<Tx> {
        match self {
            Target::Sqlite(path) => Ok(Tx::sqlite(open_connection(path)?)),
            Target::Postgres(pg) => Tx::postgres(pg),
        }
    }
}

struct Inner {
    target: Target,
    writer: Mutex<Option<mpsc::Sender<Job>>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    readers: Mutex<Vec<Tx>>,
    /// Async reads at once: each holds a blocking thread and a connection (with its
    /// page cache), so a flood of requests waits here instead of opening hundreds.
    reading: tokio::sync::Semaphore,
    health: Arc<Health>,
}

/// Readers kept open, and async reads at once.
const READERS: usize = 8;

impl Store {
    /// Opens (creating if needed) the SQLite database at `path` with the default
    /// settings, migrates it and starts the writer.
    pub fn open(path: &Path) -> Result<Store> {
        Store::open_with(path, &StoreOptions::default())
    }

    /// Like [`Store::open`], with `options`.
    pub fn open_with(path: &Path, options: &StoreOptions) -> Result<Store> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating data folder {}", dir.display()))?;
        }
        let mut conn = open_connection(path)?;
        conn.pragma_update(None, "synchronous", options.synchronous.pragma())?;
        migrations::migrate(&mut conn)
            .with_context(|| format!("migrating database {}", path.display()))?;
        if options.max_page_count > 0 {
            set_max_page_count_on(&conn, options.max_page_count)?;
        }
        Store::start(Target::Sqlite(path.to_owned()), Tx::sqlite(conn))
    }

    /// Opens the store `url` names, migrating it first; `options` apply to SQLite.
    pub fn open_url(url: &StoreUrl, options: &StoreOptions) -> Result<Store> {
        match url {
            StoreUrl::Sqlite(path) => Store::open_with(path, options),
            StoreUrl::Postgres(url) => {
                let target = PgTarget::new(url);
                let writer = scratch::off_runtime(|| -> Result<Tx> {
                    migrations::migrate_postgres(&target)
                        .with_context(|| format!("migrating database {}", redact(url)))?;
                    Tx::postgres(&target)
                })?;
                Store::start(Target::Postgres(target), writer)
            }
        }
    }

    fn start(target: Target, writer_tx: Tx) -> Result<Store> {
        let health = Arc::new(Health::default());
        let (tx, rx) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn({
                let health = health.clone();
                let reconnect = target.clone();
                move || writer::writer_loop(writer_tx, rx, health, move || reconnect.connect())
            })?;
        Ok(Store {
            inner: Arc::new(Inner {
                target,
                writer: Mutex::new(Some(tx)),
                thread: Mutex::new(Some(thread)),
                readers: Mutex::new(Vec::new()),
                reading: tokio::sync::Semaphore::new(READERS),
                health,
            }),
        })
    }

    /// Whether this store is PostgreSQL (shared by a cluster) rather than a SQLite file.
    pub fn is_postgres(&self) -> bool {
        matches!(self.inner.target, Target::Postgres(_))
    }

    /// Whether the store can commit now; when it cannot, a plain reason. Asks the writer
    /// to reserve room for a group of writes within the database's size limit and, after
    /// a failure, checks the disk has 1 MiB free and gets a small write to it, so it
    /// answers for the disk as it is now, not as it was at the last write.
    pub async fn ready(&self) -> Result<(), String> {
        let health = &self.inner.health;
        if health.stopped() {
            return Err(
                "the store's writer has stopped: nothing can be saved until the host is restarted"
                    .into(),
            );
        }
        let (seen, failure) = health.failure();
        let write = failure.is_some();
        if write && let Target::Sqlite(db) = &self.inner.target {
            let db = db.clone();
            let room = tokio::task::spawn_blocking(move || writer::disk_room(&db, 1 << 20))
                .await
                .unwrap_or_else(|e| Err(format!("checking the disk failed: {e}")));
            if let Err(reason) = room {
                return Err(format!("the store cannot save new data: {reason}"));
            }
        }
        match self.write(move |c| writer::probe(c, write)).await {
            Ok(None) => {
                if write {
                    health.recovered_since(seen);
                }
                Ok(())
            }
            Ok(Some(reason)) => Err(format!("the store cannot save new data: {reason}")),
            Err(e) => Err(match NotStored::find(&e) {
                Some(NotStored(reason)) => format!("the store cannot save new data: {reason}"),
                None => format!("the store cannot save new data: {e:#}"),
            }),
        }
    }

    /// The storage failure on record (the last group of writes that could not be
    /// committed), until a later commit succeeds.
    pub fn failure(&self) -> Option<String> {
        self.inner.health.failure().1
    }

    /// Changes the database's size limit (pages of 4 KiB; see
    /// [`StoreOptions::max_page_count`]) while the host runs, and returns the limit now in
    /// force (SQLite never sets it below the current size).
    pub async fn set_max_page_count(&self, pages: u64) -> Result<u64> {
        self.write(move |c| match c.as_sqlite() {
            Some(c) => set_max_page_count_on(c, pages),
            None => Err(anyhow!("a size limit is a SQLite setting")),
        })
        .await
    }

    /// Runs `f` inside the next group-committed transaction and returns its result once
    /// the transaction is durable. An error from `f` rolls back only `f`'s changes.
    pub async fn write<R, F>(&self, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&Tx) -> Result<R> + Send + 'static,
    {
        let rx = self.submit(f)?;
        rx.await.map_err(|_| anyhow!("store writer stopped"))?
    }

    /// Like [`Store::write`], for code that runs on a blocking thread (plugin calls).
    pub fn write_blocking<R, F>(&self, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&Tx) -> Result<R> + Send + 'static,
    {
        let rx = self.submit(f)?;
        rx.blocking_recv()
            .map_err(|_| anyhow!("store writer stopped"))?
    }

    /// Queues a write without waiting: writes submitted one after another commit in that
    /// order. Await the receiver for the result.
    pub fn submit_now<R, F>(&self, f: F) -> Result<tokio::sync::oneshot::Receiver<Result<R>>>
    where
        R: Send + 'static,
        F: FnOnce(&Tx) -> Result<R> + Send + 'static,
    {
        self.submit(f)
    }

    fn submit<R, F>(&self, f: F) -> Result<tokio::sync::oneshot::Receiver<Result<R>>>
    where
        R: Send + 'static,
        F: FnOnce(&Tx) -> Result<R> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let Some(conn) = conn else {
                // Not run: the group failed before this write's turn.
                return Ran {
                    finish: Box::new(move |commit: Result<(), String>| {
                        let reason = commit.err().unwrap_or_else(|| "not run".into());
                        let _ = tx.send(Err(NotStored(reason).into()));
                    }),
                    storage_error: None,
                };
            };
            let outcome = writer::in_savepoint(conn, f);
            let storage_error = outcome.as_ref().err().and_then(writer::storage_error);
            Ran {
                finish: Box::new(move |commit: Result<(), String>| {
                    let result = match commit {
                        Ok(()) => outcome,
                        Err(reason) => Err(NotStored(reason).into()),
                    };
                    let _ = tx.send(result);
                }),
                storage_error,
            }
        });
        let writer = self.inner.writer.lock().unwrap();
        writer
            .as_ref()
            .ok_or_else(|| anyhow!("store is closed"))?
            .send(job)
            .map_err(|_| anyhow!("store writer stopped"))?;
        Ok(rx)
    }

    /// Runs a read-only query on a pooled connection, off the async threads.
    pub async fn read<R, F>(&self, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&Tx) -> Result<R> + Send + 'static,
    {
        let _turn = self.inner.reading.acquire().await?;
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.read_here(f)).await?
    }

    /// Like [`Store::read`], without awaiting: on the calling thread, or (PostgreSQL,
    /// whose blocking client must not block an async thread) on a thread of its own while
    /// the caller waits.
    pub fn read_blocking<R, F>(&self, f: F) -> Result<R>
    where
        R: Send,
        F: FnOnce(&Tx) -> Result<R> + Send,
    {
        if self.is_postgres() {
            scratch::off_runtime(|| self.read_here(f))
        } else {
            self.read_here(f)
        }
    }

    fn read_here<R, F>(&self, f: F) -> Result<R>
    where
        F: FnOnce(&Tx) -> Result<R>,
    {
        let pooled = self.inner.readers.lock().unwrap().pop();
        let conn = match pooled {
            Some(conn) if !conn.is_broken() => conn,
            _ => self.inner.target.connect()?,
        };
        let result = f(&conn);
        let mut readers = self.inner.readers.lock().unwrap();
        if readers.len() < READERS && !conn.is_broken() {
            readers.push(conn);
        }
        result
    }

    /// Finishes the pending writes and stops the writer thread.
    pub fn close(&self) {
        self.inner.writer.lock().unwrap().take();
        if let Some(thread) = self.inner.thread.lock().unwrap().take() {
            let _ = thread.join();
        }
        self.inner.readers.lock().unwrap().clear();
    }

    /// The SQLite file, when the store is one.
    pub fn path(&self) -> Option<&Path> {
        match &self.inner.target {
            Target::Sqlite(path) => Some(path),
            Target::Postgres(_) => None,
        }
    }
}

/// Prepared statements each connection keeps.
const STATEMENT_CACHE: usize = 256;

fn open_connection(path: &Path) -> Result<Connection> {
    let conn =
        Connection::open(path).with_context(|| format!("opening database {}", path.display()))?;
    conn.busy_timeout(Duration::from_secs(10))?;
    // Every query of the store is prepared once and kept (`prepare_cached`). rusqlite
    // keeps 16 by default, fewer than one message's ingest uses (dedupe, thread lookups,
    // inserts, job, events, attributes, savepoints): the least recent would be parsed
    // again for every message.
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // WAL: readers never block the writer. How commits are synced is the writer's setting
    // (`StoreOptions::synchronous`); readers never commit.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

/// Sets every statement's count of times parsed again back to zero (a test that opened
/// a store, whose migrations changed the schema under statements already prepared, counts
/// from here).
#[cfg(test)]
pub(crate) fn reset_reprepared(conn: &Connection) {
    use rusqlite::ffi;
    // SAFETY: as in `reprepared`; resetting a counter changes nothing else.
    unsafe {
        let db = conn.handle();
        let mut stmt = ffi::sqlite3_next_stmt(db, std::ptr::null_mut());
        while !stmt.is_null() {
            ffi::sqlite3_stmt_status(stmt, ffi::SQLITE_STMTSTATUS_REPREPARE, 1);
            stmt = ffi::sqlite3_next_stmt(db, stmt);
        }
    }
}

/// The queries kept on `conn` that SQLite had to prepare again, with how often: a
/// query written so that its kept plan goes stale at each use shows here (see "Queries
/// that stay prepared" above).
#[cfg(test)]
pub(crate) fn reprepared(conn: &Connection) -> Vec<(String, i32)> {
    use rusqlite::ffi;
    let mut found = Vec::new();
    // SAFETY: the handle is only used on this thread while `conn` is borrowed, and
    // `sqlite3_next_stmt` / `sqlite3_stmt_status` / `sqlite3_sql` only read the
    // connection's own list of statements, none of which is finalized meanwhile.
    unsafe {
        let db = conn.handle();
        let mut stmt = ffi::sqlite3_next_stmt(db, std::ptr::null_mut());
        while !stmt.is_null() {
            let n = ffi::sqlite3_stmt_status(stmt, ffi::SQLITE_STMTSTATUS_REPREPARE, 0);
            if n > 0 {
                let sql = std::ffi::CStr::from_ptr(ffi::sqlite3_sql(stmt));
                found.push((
                    sql.to_string_lossy()
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" "),
                    n,
                ));
            }
            stmt = ffi::sqlite3_next_stmt(db, stmt);
        }
    }
    found
}

fn set_max_page_count_on(conn: &Connection, pages: u64) -> Result<u64> {
    let pages = i64::try_from(pages).context("max_page_count is too large")?;
    let now: i64 = conn.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |r| {
        r.get(0)
    })?;
    Ok(now as u64)
}

/// What store tests run on: SQLite, or PostgreSQL when `SWITCHBOARD_TEST_STORE=postgres`
/// (CI runs the host's tests once with each), so one suite holds both engines to the
/// same behaviour.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// A database of a test's own, removed when dropped.
    pub(crate) struct TestDb {
        pub(crate) url: StoreUrl,
        _dir: Option<tempfile::TempDir>,
        _pg: Option<scratch::ScratchPostgres>,
    }

    pub(crate) fn postgres() -> bool {
        std::env::var("SWITCHBOARD_TEST_STORE").is_ok_and(|v| v == "postgres")
    }

    /// An empty database on the engine under test.
    pub(crate) fn db() -> TestDb {
        if postgres() {
            let pg = scratch::ScratchPostgres::create().expect("a scratch PostgreSQL database");
            TestDb {
                url: StoreUrl::Postgres(pg.url().to_owned()),
                _dir: None,
                _pg: Some(pg),
            }
        } else {
            let dir = tempfile::tempdir().unwrap();
            TestDb {
                url: StoreUrl::Sqlite(dir.path().join("test.db")),
                _dir: Some(dir),
                _pg: None,
            }
        }
    }

    impl TestDb {
        /// The store, migrated and running.
        pub(crate) fn store(&self) -> Store {
            Store::open_url(&self.url, &StoreOptions::default()).unwrap()
        }

        /// One migrated connection outside the writer, for store operations called
        /// directly.
        pub(crate) fn tx(&self) -> Tx {
            match &self.url {
                StoreUrl::Sqlite(path) => {
                    let mut conn = open_connection(path).unwrap();
                    migrations::migrate(&mut conn).unwrap();
                    Tx::sqlite(conn)
                }
                StoreUrl::Postgres(url) => scratch::off_runtime(|| {
                    let target = PgTarget::new(url);
                    migrations::migrate_postgres(&target).unwrap();
                    Tx::postgres(&target).unwrap()
                }),
            }
        }
    }

    /// Turns off foreign keys on `tx`, for tests that store rows without their parents.
    pub(crate) fn without_foreign_keys(tx: &Tx) {
        if tx.is_postgres() {
            tx.execute_batch("SET session_replication_role = replica")
                .unwrap();
        } else {
            tx.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writes_are_grouped_and_each_failure_is_isolated() {
        let db = testing::db();
        let store = db.store();
        store
            .write(|c| c.execute_batch("CREATE TABLE t (v BIGINT UNIQUE)"))
            .await
            .unwrap();
        let mut tasks = Vec::new();
        for i in 0..200 {
            let s = store.clone();
            tasks.push(tokio::spawn(async move {
                // Every 10th write inserts a duplicate and must fail alone.
                let v = if i % 10 == 9 { i - 1 } else { i };
                s.write(move |c| c.execute("INSERT INTO t VALUES (?1)", [v]))
                    .await
            }));
        }
        let mut failed = 0;
        for t in tasks {
            if t.await.unwrap().is_err() {
                failed += 1;
            }
        }
        let n: i64 = store
            .read(|c| c.query_row("SELECT count(*) FROM t", (), |r| r.get(0)))
            .await
            .unwrap();
        assert_eq!(failed, 20);
        assert_eq!(n, 180);
        store.close();
    }

    /// PostgreSQL: the server drops the writer's connection (a restart, a failover of the
    /// database). The group that meets it is not stored, whole, and says why; the writer
    /// connects again and the next write is stored.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_lost_connection_fails_its_group_whole_and_the_writer_connects_again() {
        if !testing::postgres() {
            return;
        }
        let db = testing::db();
        let store = db.store();
        store
            .write(|c| c.execute_batch("CREATE TABLE t (v BIGINT UNIQUE)"))
            .await
            .unwrap();
        let writer_pid: i64 = store
            .write(|c| c.query_row("SELECT pg_backend_pid()", (), |r| r.get(0)))
            .await
            .unwrap();
        let killed: bool = store
            .read(move |c| {
                c.query_row(
                    "SELECT pg_terminate_backend(CAST(?1 AS INTEGER))",
                    [writer_pid],
                    |r| r.get(0),
                )
            })
            .await
            .unwrap();
        assert!(killed);
        let lost = store
            .write(|c| c.execute("INSERT INTO t VALUES (1)", ()))
            .await
            .unwrap_err();
        let not_stored = NotStored::find(&lost).expect("answered as not stored");
        assert!(not_stored.0.contains("connection"), "{lost:#}");
        store
            .write(|c| c.execute("INSERT INTO t VALUES (2)", ()))
            .await
            .unwrap();
        let kept: Vec<i64> = store
            .read(|c| {
                c.prepare("SELECT v FROM t ORDER BY v")?
                    .query_map((), |r| r.get(0))?
                    .collect()
            })
            .await
            .unwrap();
        assert_eq!(
            kept,
            vec![2],
            "nothing of the lost group, the next write whole"
        );
        store.close();
    }
}
