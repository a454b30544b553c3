//! The RPC cache: the same text to the same customer on the same channel is sent once
//! within the channel's `rpc_cache_timeout_s` (0 turns it off). A double click, or a
//! workflow and an agent sending the same answer, must not reach the customer twice.
//! Every new attempt restarts the window.

use std::collections::HashMap;
use std::sync::Mutex;

/// Recent sends, by channel, target and text.
#[derive(Default)]
pub struct RpcCache {
    seen: Mutex<HashMap<(String, String, String), Seen>>,
}

struct Seen {
    /// The outbox entry that was sent (its retries are not repeats).
    key: String,
    /// The latest attempt, unix ms.
    at: i64,
}

impl RpcCache {
    /// Records an attempt to send `text` to `target` under idempotency `key`. Returns
    /// how long ago an earlier, different attempt of the same text to the same target
    /// was made when that is within `window_ms`: the caller must not send it again.
    pub fn repeat(
        &self,
        channel: &str,
        target: &str,
        text: &str,
        key: &str,
        window_ms: i64,
        now: i64,
    ) -> Option<i64> {
        if window_ms <= 0 {
            return None;
        }
        let mut seen = self.seen.lock().unwrap();
        // Forget what no window can reach any more, so the map stays small.
        if seen.len() > 10_000 {
            seen.retain(|_, s| now - s.at < 3_600_000);
        }
        let entry = (channel.to_owned(), target.to_owned(), text.to_owned());
        match seen.get_mut(&entry) {
            Some(s) if s.key != key && now - s.at < window_ms => {
                let ago = now - s.at;
                s.at = now;
                Some(ago)
            }
            Some(s) => {
                s.key = key.to_owned();
                s.at = now;
                None
            }
            None => {
                seen.insert(
                    entry,
                    Seen {
                        key: key.to_owned(),
                        at: now,
                    },
                );
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_text_to_the_same_target_is_sent_once_per_window() {
        let cache = RpcCache::default();
        assert_eq!(cache.repeat("x", "u1", "hi", "k1", 90_000, 0), None);
        assert_eq!(
            cache.repeat("x", "u1", "hi", "k1", 90_000, 5_000),
            None,
            "a retry of the same reply"
        );
        assert_eq!(
            cache.repeat("x", "u1", "hi", "k2", 90_000, 10_000),
            Some(5_000)
        );
        assert_eq!(
            cache.repeat("x", "u2", "hi", "k3", 90_000, 10_000),
            None,
            "another customer"
        );
        assert_eq!(
            cache.repeat("x", "u1", "hello", "k4", 90_000, 10_000),
            None,
            "another text"
        );
        // The suppressed attempt at 10 s restarted the window: 95 s is still inside it.
        assert_eq!(
            cache.repeat("x", "u1", "hi", "k5", 90_000, 95_000),
            Some(85_000)
        );
        assert_eq!(cache.repeat("x", "u1", "hi", "k6", 90_000, 200_000), None);
    }

    #[test]
    fn zero_turns_it_off() {
        let cache = RpcCache::default();
        assert_eq!(cache.repeat("x", "u1", "hi", "k1", 0, 0), None);
        assert_eq!(cache.repeat("x", "u1", "hi", "k2", 0, 1), None);
    }
}
