//! The feed's poll cursor: the largest `created_time` taken so far (unix ms, a decimal
//! string, as before), or, while a poll could not read every new page, a JSON object
//! that also says where to continue (`after`) and the newest time already read, so the
//! older new posts are still read and the time moves only once they are.

use serde::{Deserialize, Serialize};
use switchboard_sdk::{ConnectorError, log};

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct FeedCursor {
    /// Everything created at or after this time is new.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<i64>,
    /// The Graph `after` cursor of the next page to read, while a listing is unfinished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// The newest time read so far in an unfinished listing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest: Option<i64>,
}

impl FeedCursor {
    pub(crate) fn parse(raw: Option<&str>) -> FeedCursor {
        let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
            return FeedCursor::default();
        };
        if let Ok(ms) = raw.parse::<i64>() {
            return FeedCursor {
                since: Some(ms),
                ..FeedCursor::default()
            };
        }
        serde_json::from_str(raw).unwrap_or_else(|_| {
            log::warn(format!("facebook: ignoring unreadable poll cursor {raw:?}"));
            FeedCursor::default()
        })
    }

    /// The text to save: the plain time once the listing is finished (it never moves
    /// backwards), the object while it is not; `None` when there is nothing to say yet.
    pub(crate) fn render(&self) -> Option<String> {
        match &self.after {
            None => {
                let time = match (self.since, self.newest) {
                    (Some(s), Some(n)) => s.max(n),
                    (Some(t), None) | (None, Some(t)) => t,
                    (None, None) => return None,
                };
                Some(time.to_string())
            }
            Some(_) => serde_json::to_string(self).ok(),
        }
    }
}

/// A connector error in plain words.
pub(crate) fn plain(e: &ConnectorError) -> String {
    match e {
        ConnectorError::RateLimited(ms) => format!("rate limited for {} s", ms / 1000),
        ConnectorError::InvalidConfig(m)
        | ConnectorError::Unauthorized(m)
        | ConnectorError::Transient(m)
        | ConnectorError::Rejected(m)
        | ConnectorError::Unsupported(m) => m.clone(),
    }
}
