//! The writer thread: group commit, and what happens when a commit cannot be made.
//!
//! Whatever is waiting is run in one transaction, each write in its own savepoint so a
//! write that fails on its own (a constraint, a bug) is undone alone. A storage failure is
//! different: after `SQLITE_FULL`, `SQLITE_IOERR` or `SQLITE_NOMEM` SQLite may already
//! have rolled the whole transaction back, and then a savepoint rollback fails and the
//! following writes would run in autocommit, each committed on its own while their
//! callers are told the group failed. So on a storage failure (or whenever the transaction
//! is found gone) the writer rolls the whole transaction back, answers every write of the
//! group with the error, and starts the next group clean. That is what SQLite's own
//! documentation recommends for these errors ("explicitly issue a ROLLBACK").
//!
//! On PostgreSQL the same holds for a lost connection or a server out of room: the group
//! fails whole, and the writer connects again before the next group. A write's own error
//! (a constraint, a deadlock) is undone by its savepoint, as on SQLite.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Instant;

use anyhow::Result;
use rusqlite::ErrorCode;

use super::Tx;

/// How many waiting writes one transaction may carry.
const MAX_GROUP: usize = 1024;

/// Tells a caller how its write ended: `Ok` once the transaction is committed, or why it
/// was not.
pub(super) type Finish = Box<dyn FnOnce(Result<(), String>) + Send>;

/// What running one write inside the group's transaction left.
pub(super) struct Ran {
    pub(super) finish: Finish,
    /// A storage failure (disk full, I/O error): the group cannot be committed.
    pub(super) storage_error: Option<String>,
}

/// A queued write. Given the connection, it runs in its savepoint; given `None`, it is
/// not run at all and only answers its caller when the group's end is known.
pub(super) type Job = Box<dyn FnOnce(Option<&Tx>) -> Ran + Send>;

/// Whether the store can commit: shared by the writer thread and the handles.
#[derive(Default)]
pub(super) struct Health {
    stopped: AtomicBool,
    /// Bumped at each failure, so a probe that started before a failure does not clear it.
    failures: AtomicU64,
    failure: Mutex<Option<String>>,
}

impl Health {
    pub(super) fn stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    /// The last storage failure and its number, while no commit has succeeded since.
    pub(super) fn failure(&self) -> (u64, Option<String>) {
        let failure = self.failure.lock().unwrap();
        (self.failures.load(Ordering::SeqCst), failure.clone())
    }

    fn failed(&self, reason: &str) {
        let mut failure = self.failure.lock().unwrap();
        self.failures.fetch_add(1, Ordering::SeqCst);
        *failure = Some(reason.to_owned());
    }

    /// A commit that wrote something succeeded.
    fn recovered(&self) {
        self.failure.lock().unwrap().take();
    }

    /// A probe that started when the failure count was `seen` has committed a write.
    pub(super) fn recovered_since(&self, seen: u64) {
        let mut failure = self.failure.lock().unwrap();
        if self.failures.load(Ordering::SeqCst) == seen {
            failure.take();
        }
    }
}

/// Marks the writer stopped however its thread ends (closed, or a panic outside a write).
struct StoppedOnDrop(Arc<Health>);

impl Drop for StoppedOnDrop {
    fn drop(&mut self) {
        self.0.stopped.store(true, Ordering::SeqCst);
    }
}

/// Runs `f` in its own savepoint: its changes are kept if it succeeds and undone if it
/// fails.
pub(super) fn in_savepoint<R>(conn: &Tx, f: impl FnOnce(&Tx) -> Result<R>) -> Result<R> {
    // Prepared once: every write of every group passes here.
    conn.prepare_cached("SAVEPOINT job")?.execute(())?;
    match f(conn) {
        Ok(value) => {
            conn.prepare_cached("RELEASE job")?.execute(())?;
            Ok(value)
        }
        Err(e) => {
            // After a storage failure this may fail too (SQLite rolled the transaction
            // back already): the writer sees the transaction gone and fails the group.
            if let Err(undo) = conn.execute_batch("ROLLBACK TO job; RELEASE job") {
                return Err(e.context(format!("undoing the write failed too: {undo}")));
            }
            Err(e)
        }
    }
}

/// The plain reason when `e` is a failure of the storage rather than of one write.
pub(super) fn storage_error(e: &anyhow::Error) -> Option<String> {
    if let Some(reason) = super::engine::storage_reason(e) {
        return Some(reason);
    }
    e.chain().find_map(|cause| {
        let code = cause
            .downcast_ref::<rusqlite::Error>()?
            .sqlite_error_code()?;
        storage_code(code).then(|| plain_reason(code))
    })
}

fn storage_code(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::DiskFull
            | ErrorCode::SystemIoFailure
            | ErrorCode::OutOfMemory
            | ErrorCode::DatabaseCorrupt
            | ErrorCode::NotADatabase
            | ErrorCode::ReadOnly
            | ErrorCode::CannotOpen
    )
}

fn plain_reason(code: ErrorCode) -> String {
    match code {
        ErrorCode::DiskFull => "the database or its disk is full".into(),
        ErrorCode::SystemIoFailure => "the disk reported an input/output error".into(),
        ErrorCode::OutOfMemory => "out of memory".into(),
        ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase => {
            "the database file is damaged".into()
        }
        ErrorCode::ReadOnly => "the database is read-only".into(),
        ErrorCode::CannotOpen => "the database file cannot be opened".into(),
        other => format!("the database failed ({other:?})"),
    }
}

/// A failure of the writer's own transaction control, in plain words.
fn reason(e: &anyhow::Error) -> String {
    storage_error(e).unwrap_or_else(|| format!("{e:#}"))
}

/// The writer thread's loop: one transaction per group of waiting writes, until every
/// handle to the store is closed.
pub(super) fn writer_loop(
    mut conn: Tx,
    rx: mpsc::Receiver<Job>,
    health: Arc<Health>,
    connect: impl Fn() -> Result<Tx>,
) {
    let _stopped = StoppedOnDrop(health.clone());
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        if conn.is_broken() {
            // The database went away (PostgreSQL): this group waits for a new connection
            // or fails whole with the reason; the next group tries again.
            match connect() {
                Ok(fresh) => conn = fresh,
                Err(e) => {
                    let reason = format!("the database cannot be reached: {e:#}");
                    tracing::error!(error = %reason, "store: a group of writes was not committed");
                    fail_all(jobs, &reason, &health);
                    continue;
                }
            }
        }
        let outcome = run_group(&conn, jobs, &health);
        if let Err(reason) = outcome {
            tracing::error!(
                error = %reason,
                "store: a group of writes was not committed; every write in it was answered with the error"
            );
        }
    }
}

/// Runs and commits one group; every job is answered, whatever happens.
fn run_group(conn: &Tx, jobs: Vec<Job>, health: &Health) -> Result<(), String> {
    let writes = jobs.len();
    if let Err(e) = conn.begin() {
        let reason = format!("cannot begin a transaction: {}", reason(&e));
        fail_all(jobs, &reason, health);
        return Err(reason);
    }
    let changes_before = conn.total_changes();
    let mut ran: Vec<Ran> = Vec::with_capacity(jobs.len());
    let mut broken: Option<String> = None;
    for job in jobs {
        if broken.is_some() {
            ran.push(job(None));
            continue;
        }
        match catch_unwind(AssertUnwindSafe(|| job(Some(conn)))) {
            Ok(r) => {
                if let Some(reason) = &r.storage_error {
                    broken = Some(reason.clone());
                } else if !conn.in_transaction() {
                    broken =
                        Some("the transaction was ended by the database after an error".into());
                }
                ran.push(r);
            }
            // The panicking write's caller is answered by its dropped channel; the rest of
            // the group must not be committed half-done either.
            Err(_) => broken = Some("a write panicked".into()),
        }
    }
    let commit = match broken {
        Some(reason) => {
            if conn.in_transaction()
                && let Err(e) = conn.rollback()
            {
                tracing::error!(error = %e, "store: rolling back a failed group failed");
            }
            Err(reason)
        }
        None => {
            let started = Instant::now();
            let committed = conn.commit();
            crate::metrics::store_commit(started.elapsed());
            crate::metrics::store_commit_writes(writes);
            committed.map_err(|e| {
                if conn.in_transaction() {
                    let _ = conn.rollback();
                }
                format!("commit failed: {}", reason(&e))
            })
        }
    };
    match &commit {
        Ok(()) if conn.total_changes() > changes_before => health.recovered(),
        Ok(()) => {}
        Err(reason) => {
            health.failed(reason);
            crate::metrics::store_commit_failed();
        }
    }
    for r in ran {
        (r.finish)(commit.clone());
    }
    commit
}

fn fail_all(jobs: Vec<Job>, reason: &str, health: &Health) {
    health.failed(reason);
    crate::metrics::store_commit_failed();
    for job in jobs {
        (job(None).finish)(Err(reason.to_owned()));
    }
}

/// What readiness asks of the writer: room for a typical group within the database's
/// size limit (reserved in a savepoint, then given back), and, while a failure is on
/// record, one small real write (the header's application id, rewritten unchanged) that
/// the commit must get to the disk. A lack of room is answered as `Some(reason)`, not as
/// an error, so the probe never fails the writes grouped with it.
pub(super) fn probe(tx: &Tx, write: bool) -> Result<Option<String>> {
    let Some(conn) = tx.as_sqlite() else {
        // PostgreSQL: the server keeps its own room; a query answers whether it is there.
        tx.query_row("SELECT 1", (), |r| r.get::<_, i64>(0))?;
        return Ok(None);
    };
    conn.execute_batch("SAVEPOINT readiness_probe")?;
    let reserved = conn.execute_batch(
        "CREATE TABLE readiness_probe (b BLOB);
         INSERT INTO readiness_probe VALUES (zeroblob(262144));",
    );
    let undone = conn.execute_batch("ROLLBACK TO readiness_probe; RELEASE readiness_probe");
    match (reserved, undone) {
        (Ok(()), Ok(())) => {}
        (Err(e), Ok(())) => return Ok(Some(reason(&anyhow::Error::from(e)))),
        // SQLite ended the whole transaction (it may after SQLITE_FULL): the writer fails
        // the group, and the reason it gives is this error.
        (Err(e), Err(undo)) => {
            return Err(anyhow::Error::from(e).context(format!("undoing the probe failed: {undo}")));
        }
        (Ok(()), Err(undo)) => return Err(undo.into()),
    }
    if write {
        let id: i64 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
        conn.pragma_update(None, "application_id", id)?;
    }
    Ok(None)
}

/// Whether the filesystem holding `db` has `bytes` free: a file of that size is written
/// beside the database, then removed. Used only while a storage failure is on record: on
/// a real full disk, SQLite's own probe can still succeed inside space its log already
/// holds, while the next group of writes would not fit.
pub(super) fn disk_room(db: &std::path::Path, bytes: usize) -> Result<(), String> {
    use std::io::Write;
    let mut name = db.as_os_str().to_owned();
    name.push("-room-check");
    let path = std::path::PathBuf::from(name);
    let written = std::fs::File::create(&path).and_then(|mut file| {
        let chunk = vec![0u8; 64 * 1024];
        let mut left = bytes;
        while left > 0 {
            let n = left.min(chunk.len());
            file.write_all(&chunk[..n])?;
            left -= n;
        }
        file.flush()
    });
    let _ = std::fs::remove_file(&path);
    written.map_err(|e| match e.kind() {
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => {
            "the disk holding the database is full".to_owned()
        }
        _ => format!("the disk holding the database cannot be written: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::{NotStored, Store, StoreOptions, Synchronous};

    async fn table(store: &Store) {
        store
            .write(|c| c.execute_batch("CREATE TABLE t (v INTEGER UNIQUE, pad BLOB)"))
            .await
            .unwrap();
    }

    async fn values(store: &Store) -> Vec<i64> {
        store
            .read(|c| {
                let mut stmt = c.prepare("SELECT v FROM t ORDER BY v")?;
                let rows = stmt.query_map((), |r| r.get(0))?;
                rows.collect::<anyhow::Result<Vec<i64>>>()
            })
            .await
            .unwrap()
    }

    /// Holds the writer busy so the writes submitted meanwhile form one group.
    fn hold_writer(store: &Store) -> tokio::sync::oneshot::Receiver<anyhow::Result<()>> {
        store
            .submit_now(|_| {
                std::thread::sleep(Duration::from_millis(300));
                Ok(())
            })
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_transaction_ended_by_sqlite_fails_the_whole_group_and_nothing_autocommits() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).unwrap();
        table(&store).await;
        let held = hold_writer(&store);
        tokio::time::sleep(Duration::from_millis(50)).await;
        let insert = |v: i64| {
            store
                .submit_now(move |c| c.execute("INSERT INTO t (v) VALUES (?1)", [v]))
                .unwrap()
        };
        let first = insert(1);
        // What SQLite does after SQLITE_FULL or SQLITE_IOERR in some cases: the whole
        // transaction is rolled back under the writer's feet, so the savepoint is gone.
        let ended = store
            .submit_now(|c| -> anyhow::Result<()> {
                c.execute_batch("ROLLBACK")?;
                anyhow::bail!("the transaction is gone")
            })
            .unwrap();
        let after = insert(3);
        let later = insert(4);
        held.await.unwrap().unwrap();
        assert!(first.await.unwrap().is_err(), "a write before the failure");
        assert!(ended.await.unwrap().is_err());
        let after = after.await.unwrap().unwrap_err();
        assert!(
            NotStored::find(&after).is_some(),
            "a write after the failure is answered as not stored: {after:#}"
        );
        assert!(later.await.unwrap().is_err());
        assert_eq!(
            values(&store).await,
            Vec::<i64>::new(),
            "no write of the failed group may be kept"
        );
        // The next group starts clean.
        store
            .write(|c| c.execute("INSERT INTO t (v) VALUES (5)", ()))
            .await
            .unwrap();
        assert_eq!(values(&store).await, vec![5]);
        store.close();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_database_fails_whole_groups_then_recovers_when_room_returns() {
        let dir = tempfile::tempdir().unwrap();
        let options = StoreOptions {
            synchronous: Synchronous::Full,
            max_page_count: 0,
        };
        let store = Store::open_with(&dir.path().join("t.db"), &options).unwrap();
        table(&store).await;
        store.ready().await.unwrap();
        let pages: i64 = store
            .read(|c| c.query_row("PRAGMA page_count", (), |r| r.get(0)))
            .await
            .unwrap();
        let pages = pages as u64;
        // Room for a few dozen rows of 2 KiB, then SQLITE_FULL.
        assert_eq!(
            store.set_max_page_count(pages + 30).await.unwrap(),
            pages + 30
        );
        let mut tasks = Vec::new();
        for v in 0..200i64 {
            let s = store.clone();
            tasks.push(tokio::spawn(async move {
                s.write(move |c| {
                    c.execute("INSERT INTO t (v, pad) VALUES (?1, zeroblob(2048))", [v])
                })
                .await
            }));
        }
        let mut acknowledged = Vec::new();
        let mut refused = 0;
        for (v, t) in tasks.into_iter().enumerate() {
            match t.await.unwrap() {
                Ok(_) => acknowledged.push(v as i64),
                Err(e) => {
                    assert!(NotStored::find(&e).is_some(), "{e:#}");
                    refused += 1;
                }
            }
        }
        assert!(refused > 0, "the limit was never reached");
        assert_eq!(
            values(&store).await,
            acknowledged,
            "exactly the acknowledged writes are stored"
        );
        let why = store.ready().await.unwrap_err();
        assert!(why.contains("full"), "{why}");
        assert!(store.failure().is_some());

        // Room returns: the same store takes writes again, without a restart.
        store.set_max_page_count(pages + 10_000).await.unwrap();
        store.ready().await.unwrap();
        assert_eq!(store.failure(), None);
        store
            .write(|c| c.execute("INSERT INTO t (v) VALUES (1000)", ()))
            .await
            .unwrap();
        assert_eq!(values(&store).await.len(), acknowledged.len() + 1);
        store.close();
    }

    #[tokio::test]
    async fn the_writer_commits_with_the_chosen_synchronous_setting() {
        let dir = tempfile::tempdir().unwrap();
        for (setting, pragma) in [(Synchronous::Full, 2), (Synchronous::Normal, 1)] {
            let options = StoreOptions {
                synchronous: setting,
                max_page_count: 0,
            };
            let store =
                Store::open_with(&dir.path().join(format!("{pragma}.db")), &options).unwrap();
            let got: i64 = store
                .write(|c| c.query_row("PRAGMA synchronous", (), |r| r.get(0)))
                .await
                .unwrap();
            assert_eq!(got, pragma, "{setting:?}");
            store.close();
        }
    }

    #[tokio::test]
    async fn a_closed_store_is_not_ready() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).unwrap();
        store.ready().await.unwrap();
        store.close();
        let why = store.ready().await.unwrap_err();
        assert!(why.contains("stopped"), "{why}");
    }
}
