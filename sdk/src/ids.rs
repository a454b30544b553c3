//! Strings that are easy to mix up, as types of their own.

use std::fmt;
use std::ops::Deref;

/// The host's key for one reply: the same on every attempt to send that reply, and
/// different for every other. It is not the platform's id for the message (that is
/// [`Sent::platform_message_id`](crate::Sent::platform_message_id)); a type of its own
/// so the two cannot be swapped by mistake, in [`kv::remember_sent`](crate::kv::remember_sent)
/// say. It reads as a `&str` wherever one is expected. Empty when the host has no key
/// (a test's send).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// The key as the host gave it.
    pub fn new(key: impl Into<String>) -> Self {
        IdempotencyKey(key.into())
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for IdempotencyKey {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for IdempotencyKey {
    fn from(key: String) -> Self {
        IdempotencyKey(key)
    }
}

impl From<&str> for IdempotencyKey {
    fn from(key: &str) -> Self {
        IdempotencyKey(key.to_owned())
    }
}
