//! Messages between the hosts that share a PostgreSQL store, over its LISTEN/NOTIFY: no
//! broker beside the database.
//!
//! Delivery is best effort and at most once, which is all live notices need: a message
//! sent while a host's listening connection is down is missed by that host (an agent's
//! desktop loads the whole state again when its event stream reconnects, and the workers a
//! message wakes also look on their own every second). Each message is one notification
//! of at most [`MAX_PAYLOAD`] bytes; larger ones are refused here so callers send a
//! reference instead.
//!
//! Each end owns a connection of its own on a thread of its own (the blocking client
//! must not run on the async runtime), and opens it again after a failure, with a pause
//! that grows to a few seconds so a database that is down is not hammered.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Result, bail};
use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, NoTls};

use super::{PgTarget, Store, Target, redact};

/// PostgreSQL's limit on a notification's payload is 8000 bytes; kept under it.
pub const MAX_PAYLOAD: usize = 7900;

/// The longest pause between attempts to open a connection again.
const MAX_BACKOFF: Duration = Duration::from_secs(3);

/// Sends messages on one channel. Cheap to clone; the sending thread ends when the last
/// clone is dropped.
#[derive(Clone)]
pub struct BusSender {
    tx: std::sync::mpsc::Sender<String>,
}

impl BusSender {
    /// Queues `payload` for every host listening (this one included).
    pub fn send(&self, payload: String) -> Result<()> {
        if payload.len() > MAX_PAYLOAD {
            bail!(
                "a message of {} bytes is larger than a notification takes",
                payload.len()
            );
        }
        // Closed only while the host stops.
        let _ = self.tx.send(payload);
        Ok(())
    }
}

/// Stops the listening thread when dropped.
pub struct BusListener {
    stop: Arc<AtomicBool>,
}

impl Drop for BusListener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Store {
    /// A sender and a listener on `channel` (a plain SQL identifier), for a PostgreSQL
    /// store; `None` for SQLite, where one host is all there is. Received payloads go to
    /// `deliver` on the listening thread.
    pub fn bus(
        &self,
        channel: &'static str,
        deliver: impl Fn(String) + Send + 'static,
    ) -> Option<(BusSender, BusListener)> {
        let Target::Postgres(target) = &self.inner.target else {
            return None;
        };
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let sending = target.clone();
        std::thread::Builder::new()
            .name("bus-send".into())
            .spawn(move || send_loop(&sending, channel, rx))
            .ok()?;
        let stop = Arc::new(AtomicBool::new(false));
        let listening = target.clone();
        let stopped = stop.clone();
        std::thread::Builder::new()
            .name("bus-listen".into())
            .spawn(move || listen_loop(&listening, channel, &stopped, deliver))
            .ok()?;
        Some((BusSender { tx }, BusListener { stop }))
    }
}

fn connect(target: &PgTarget) -> Result<Client> {
    Ok(target.config()?.connect(NoTls)?)
}

/// Opens a connection, trying again with a growing pause until `give_up` says so.
fn connect_until(target: &PgTarget, what: &str, give_up: impl Fn() -> bool) -> Option<Client> {
    let mut pause = Duration::from_millis(100);
    loop {
        if give_up() {
            return None;
        }
        match connect(target) {
            Ok(client) => return Some(client),
            Err(e) => {
                tracing::warn!(bus = what, store = %redact(target.url()), error = %format!("{e:#}"),
                    "cannot reach the store for messages between hosts; trying again");
                std::thread::sleep(pause);
                pause = (pause * 2).min(MAX_BACKOFF);
            }
        }
    }
}

fn send_loop(target: &PgTarget, channel: &str, rx: std::sync::mpsc::Receiver<String>) {
    let mut client: Option<Client> = None;
    while let Ok(payload) = rx.recv() {
        if client.as_ref().is_none_or(|c| c.is_closed()) {
            // Messages that arrive meanwhile wait in the queue: at most one is lost.
            client = connect_until(target, "send", || false);
        }
        let Some(c) = client.as_mut() else { continue };
        if let Err(e) = c.execute("SELECT pg_notify($1, $2)", &[&channel, &payload]) {
            tracing::warn!(bus = channel, error = %e, "a message to the other hosts was lost");
            client = None;
        }
    }
}

fn listen_loop(target: &PgTarget, channel: &str, stop: &AtomicBool, deliver: impl Fn(String)) {
    let stopping = || stop.load(Ordering::Relaxed);
    while let Some(mut client) = connect_until(target, "listen", stopping) {
        if let Err(e) = client.batch_execute(&format!("LISTEN {channel}")) {
            tracing::warn!(bus = channel, error = %e, "cannot listen for messages from other hosts");
            std::thread::sleep(MAX_BACKOFF);
            continue;
        }
        loop {
            if stopping() {
                return;
            }
            let mut notices = client.notifications();
            let mut iter = notices.timeout_iter(Duration::from_millis(250));
            match iter.next() {
                Ok(Some(n)) => deliver(n.payload().to_owned()),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(bus = channel, error = %e,
                        "the connection for messages from other hosts ended; opening it again");
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::store::testing;

    /// A message sent by one host's store reaches the listener of another on the same
    /// database; SQLite, one host only, has no bus.
    #[test]
    fn a_message_reaches_every_listener_of_the_database() {
        let db = testing::db();
        let (a, b) = (db.store(), db.store());
        if !testing::postgres() {
            assert!(a.bus("sb_test", |_| {}).is_none());
            return;
        }
        let (got_tx, got) = std::sync::mpsc::channel();
        let (_, _listening) = b.bus("sb_test", move |p| got_tx.send(p).unwrap()).unwrap();
        let (sender, _own) = a.bus("sb_test", |_| {}).unwrap();
        // The listener may not be listening yet: send until one arrives.
        let mut received = None;
        for _ in 0..40 {
            sender.send("hello".into()).unwrap();
            if let Ok(p) = got.recv_timeout(std::time::Duration::from_millis(250)) {
                received = Some(p);
                break;
            }
        }
        assert_eq!(received.as_deref(), Some("hello"));
        assert!(sender.send("x".repeat(super::MAX_PAYLOAD + 1)).is_err());
    }
}
