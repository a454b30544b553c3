//! The host's wall clock, in one place so every module reads time the same way.
//!
//! Every reading is the system clock plus an offset, which is zero unless a test moved
//! it. The offset can move only in a process started with `SWITCHBOARD_TEST_CLOCK=1`
//! (read once, here), and only forward, through the administrator's
//! `POST /api/v1/testing/clock`; otherwise [`advance`] refuses and that route
//! answers 404. So a test can let 15 minutes pass in a second without any code path
//! knowing it is tested: schedulers see the time move, as they would after a long sleep.
//! The offset is the process's: a test that moves it runs the host as its own process.
//!
//! Loops that sleep until a time on this clock (the send scheduler, workflow timers, the
//! job worker) also wait on [`jumped`], so they look again at once when the clock moves.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicI64, Ordering};

use tokio::sync::watch;

/// The environment variable that lets tests move the clock.
pub(crate) const CONTROL_VAR: &str = "SWITCHBOARD_TEST_CLOCK";

/// Milliseconds added to the system clock.
static OFFSET: AtomicI64 = AtomicI64::new(0);

/// Whether this process may move its clock (`SWITCHBOARD_TEST_CLOCK=1` at the first look).
static CONTROLLABLE: LazyLock<bool> =
    LazyLock::new(|| std::env::var(CONTROL_VAR).is_ok_and(|v| v.trim() == "1"));

/// The offset, announced to whoever waits for the clock to move.
static JUMPS: LazyLock<watch::Sender<i64>> = LazyLock::new(|| watch::Sender::new(0));

/// Milliseconds since the unix epoch.
pub fn now_ms() -> i64 {
    let system = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    system + OFFSET.load(Ordering::Relaxed)
}

/// Whether the clock may be moved in this process (see the module's notes).
pub(crate) fn controllable() -> bool {
    *CONTROLLABLE
}

/// How far ahead of the system clock this clock runs, ms.
pub(crate) fn offset_ms() -> i64 {
    OFFSET.load(Ordering::Relaxed)
}

/// Moves the clock forward by `ms` and wakes whoever waits on [`jumped`]; answers the new
/// offset. Refused in a process that was not started to allow it, and for a step back.
pub(crate) fn advance(ms: i64) -> Result<i64, &'static str> {
    if !controllable() {
        return Err("this host's clock cannot be moved");
    }
    if ms < 0 {
        return Err("the clock only moves forward");
    }
    let offset = OFFSET.fetch_add(ms, Ordering::Relaxed) + ms;
    JUMPS.send_replace(offset);
    Ok(offset)
}

/// A watch that changes whenever the clock is moved: `changed().await` in a loop that
/// sleeps until a time on this clock.
pub(crate) fn jumped() -> watch::Receiver<i64> {
    JUMPS.subscribe()
}

/// Sleeps until `at_ms` on this clock: a move of the clock past it ends the wait at once.
pub(crate) async fn sleep_until(at_ms: i64) {
    let mut jumped = jumped();
    loop {
        let left = at_ms - now_ms();
        if left <= 0 {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_millis(left as u64)) => {}
            _ = jumped.changed() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_ordinary_process_cannot_move_its_clock() {
        assert!(
            !super::controllable(),
            "tests run without SWITCHBOARD_TEST_CLOCK"
        );
        assert!(super::advance(60_000).is_err());
        assert_eq!(super::offset_ms(), 0);
        let system = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        assert!((super::now_ms() - system).abs() < 1_000);
    }
}
