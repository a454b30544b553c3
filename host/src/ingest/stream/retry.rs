//! Stream lines that could not be read or stored. Such a line is never only logged: it is
//! kept, shown in the channel's status (`stream_failures`) and retried on its own with a
//! growing wait, while the lines around it are stored as usual.

use std::time::Duration;

use crate::clock::now_ms;
use crate::connectors::sources::{MAX_STREAM_FAILURES, StreamFailure};

/// First wait before a failed line is tried again; it doubles up to [`MAX_WAIT`].
const FIRST_WAIT: Duration = Duration::from_secs(1);
const MAX_WAIT: Duration = Duration::from_secs(60);
/// How much of a line the status shows.
const SHOWN: usize = 200;

/// A failed line and when it is tried again.
#[derive(Clone, Debug)]
pub(crate) struct Pending {
    pub line: String,
    pub error: String,
    pub attempts: u32,
    pub first_failed_at: i64,
    pub retry_at: i64,
}

/// The lines waiting for a retry, oldest first.
#[derive(Default, Debug)]
pub(crate) struct Retries {
    pending: Vec<Pending>,
}

fn wait_after(attempts: u32) -> i64 {
    let factor = 1u32 << attempts.saturating_sub(1).min(6);
    (FIRST_WAIT * factor).min(MAX_WAIT).as_millis() as i64
}

impl Retries {
    /// Records that `line` failed (again); returns a line dropped to keep the list
    /// bounded, if any.
    pub(crate) fn failed(&mut self, line: String, error: String) -> Option<Pending> {
        let now = now_ms();
        if let Some(p) = self.pending.iter_mut().find(|p| p.line == line) {
            p.attempts += 1;
            p.error = error;
            p.retry_at = now + wait_after(p.attempts);
            return None;
        }
        self.pending.push(Pending {
            line,
            error,
            attempts: 1,
            first_failed_at: now,
            retry_at: now + wait_after(1),
        });
        (self.pending.len() > MAX_STREAM_FAILURES).then(|| self.pending.remove(0))
    }

    /// Takes the lines due for a retry now.
    pub(crate) fn due(&mut self) -> Vec<Pending> {
        let now = now_ms();
        let (due, later) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|p| p.retry_at <= now);
        self.pending = later;
        due
    }

    /// Puts back a line that failed again, keeping its history.
    pub(crate) fn failed_again(&mut self, mut p: Pending, error: String) {
        p.attempts += 1;
        p.error = error;
        p.retry_at = now_ms() + wait_after(p.attempts);
        self.pending.push(p);
    }

    /// How long until the next retry is due; `None` when nothing waits.
    pub(crate) fn next_in(&self) -> Option<Duration> {
        let next = self.pending.iter().map(|p| p.retry_at).min()?;
        Some(Duration::from_millis((next - now_ms()).max(0) as u64))
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// What the channel's status shows.
    pub(crate) fn shown(&self) -> Vec<StreamFailure> {
        self.pending
            .iter()
            .map(|p| StreamFailure {
                line: p.line.chars().take(SHOWN).collect(),
                error: p.error.clone(),
                attempts: p.attempts,
                first_failed_at: p.first_failed_at,
                retry_at: p.retry_at,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_line_waits_longer_each_time_and_the_list_stays_bounded() {
        let mut r = Retries::default();
        assert!(r.failed("a".into(), "bad".into()).is_none());
        assert!(r.due().is_empty(), "not due before its wait");
        assert_eq!(r.shown()[0].attempts, 1);
        assert!(r.failed("a".into(), "still bad".into()).is_none());
        let shown = r.shown();
        assert_eq!((shown.len(), shown[0].attempts), (1, 2));
        assert_eq!(shown[0].error, "still bad");
        assert_eq!(wait_after(1), 1_000);
        assert_eq!(wait_after(3), 4_000);
        assert_eq!(wait_after(30), 60_000);
        for i in 0..MAX_STREAM_FAILURES {
            r.failed(format!("line {i}"), "x".into());
        }
        assert_eq!(r.shown().len(), MAX_STREAM_FAILURES);
        assert!(!r.is_empty() && r.next_in().is_some());
    }
}
