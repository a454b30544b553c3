//! Durable storage: SQLite in WAL mode.
//!
//! All writes go through one writer thread that groups whatever is waiting into a single
//! transaction (group commit): each request still gets its own savepoint, so one failing
//! write never takes the others with it, and nobody is answered before the transaction
//! that holds their data is committed. Reads use a small pool of separate connections,
//! which WAL lets run beside the writer.

pub mod channels;
pub mod directory;
mod migrations;
pub mod outbox;
pub mod queries;
pub mod reports;
pub mod workflow;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use rusqlite::Connection;

/// How many waiting writes one transaction may carry.
const MAX_GROUP: usize = 1024;

type Finish = Box<dyn FnOnce(Result<(), String>) + Send>;
type Job = Box<dyn FnOnce(&Connection) -> Finish + Send>;

/// Handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Option<mpsc::Sender<Job>>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    readers: Mutex<Vec<Connection>>,
}

impl Store {
    /// Opens (creating if needed) the database at `path`, migrates it and starts the writer.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating data folder {}", dir.display()))?;
        }
        let mut conn = open_connection(path)?;
        migrations::migrate(&mut conn)
            .with_context(|| format!("migrating database {}", path.display()))?;
        let (tx, rx) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || writer_loop(conn, rx))?;
        Ok(Store {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                writer: Mutex::new(Some(tx)),
                thread: Mutex::new(Some(thread)),
                readers: Mutex::new(Vec::new()),
            }),
        })
    }

    /// Runs `f` inside the next group-committed transaction and returns its result once
    /// the transaction is durable. An error from `f` rolls back only `f`'s changes.
    pub async fn write<R, F>(&self, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R> + Send + 'static,
    {
        let rx = self.submit(f)?;
        rx.await.map_err(|_| anyhow!("store writer stopped"))?
    }

    /// Like [`Store::write`], for code that runs on a blocking thread (plugin calls).
    pub fn write_blocking<R, F>(&self, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R> + Send + 'static,
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
        F: FnOnce(&Connection) -> Result<R> + Send + 'static,
    {
        self.submit(f)
    }

    fn submit<R, F>(&self, f: F) -> Result<tokio::sync::oneshot::Receiver<Result<R>>>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let outcome = in_savepoint(conn, f);
            Box::new(move |commit: Result<(), String>| {
                let result = match commit {
                    Ok(()) => outcome,
                    Err(e) => Err(anyhow!("commit failed: {e}")),
                };
                let _ = tx.send(result);
            })
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
        F: FnOnce(&Connection) -> Result<R> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.read_blocking(f)).await?
    }

    /// Like [`Store::read`], on the calling thread.
    pub fn read_blocking<R, F>(&self, f: F) -> Result<R>
    where
        F: FnOnce(&Connection) -> Result<R>,
    {
        let pooled = self.inner.readers.lock().unwrap().pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => open_connection(&self.inner.path)?,
        };
        let result = f(&conn);
        let mut readers = self.inner.readers.lock().unwrap();
        if readers.len() < 8 {
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

    /// Where the database lives.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }
}

fn open_connection(path: &Path) -> Result<Connection> {
    let conn =
        Connection::open(path).with_context(|| format!("opening database {}", path.display()))?;
    conn.busy_timeout(Duration::from_secs(10))?;
    // WAL + NORMAL: a committed transaction survives a crash of the process; readers
    // never block the writer.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

fn in_savepoint<R>(conn: &Connection, f: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
    conn.execute_batch("SAVEPOINT job")?;
    match f(conn) {
        Ok(value) => {
            conn.execute_batch("RELEASE job")?;
            Ok(value)
        }
        Err(e) => {
            conn.execute_batch("ROLLBACK TO job; RELEASE job")?;
            Err(e)
        }
    }
}

fn writer_loop(conn: Connection, rx: mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            let msg = e.to_string();
            tracing::error!(error = %msg, "store: cannot begin transaction");
            for job in jobs {
                // Run nothing; answer with the error so no caller waits forever.
                drop(job);
            }
            continue;
        }
        let finishers: Vec<Finish> = jobs.into_iter().map(|job| job(&conn)).collect();
        let commit = conn.execute_batch("COMMIT").map_err(|e| {
            let _ = conn.execute_batch("ROLLBACK");
            tracing::error!(error = %e, "store: commit failed");
            e.to_string()
        });
        for finish in finishers {
            finish(commit.clone());
        }
    }
}

/// Milliseconds since the unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writes_are_grouped_and_each_failure_is_isolated() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).unwrap();
        store
            .write(|c| Ok(c.execute_batch("CREATE TABLE t (v INTEGER UNIQUE)")?))
            .await
            .unwrap();
        let mut tasks = Vec::new();
        for i in 0..200 {
            let s = store.clone();
            tasks.push(tokio::spawn(async move {
                // Every 10th write inserts a duplicate and must fail alone.
                let v = if i % 10 == 9 { i - 1 } else { i };
                s.write(move |c| Ok(c.execute("INSERT INTO t VALUES (?1)", [v])?))
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
            .read(|c| Ok(c.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?))
            .await
            .unwrap();
        assert_eq!(failed, 20);
        assert_eq!(n, 180);
        store.close();
    }
}
