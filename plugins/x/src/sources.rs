//! The sources of a poll (the recent search, the mentions of each handle, the direct
//! messages of each handle). Each one keeps its own place in the cursor, follows its
//! pages (resuming where an earlier poll had to stop) and reports how it fared, so one
//! failing source never holds back the others nor throws their results away.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use switchboard_sdk::lenient::{self, Items};
use switchboard_sdk::{ConnectorError, SourceStatus, http, log, time};

use crate::api::{self, Endpoint};
use crate::poll::{Expanded, Includes, MAX_PAGES};

/// Every source's place, kept in the host's opaque cursor as JSON. The host saves it only
/// after the poll's events are stored, so a place never passes what was not stored.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Cursor {
    /// The newest tweet id the search has brought.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<String>,
    /// The newest mention id per handle (lower case).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub mentions: BTreeMap<String, String>,
    /// The newest direct-message event id per handle (lower case).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dm: BTreeMap<String, String>,
    /// Sources whose listing a poll could not read to its end, by source key: the page
    /// to continue from. Their place moves only once the whole listing is read, so the
    /// older pages of a burst are never skipped.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resume: BTreeMap<String, Resume>,
    /// The stream gap (see [`crate::stream::STREAM_GAP`]) whose tweets a poll has read
    /// to the end; saved with the poll's events, so the gap is forgotten only once they
    /// are stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_gap_done: Option<String>,
    /// What this poll's compliance check reported gone (`t:<tweet id>`, `u:<user id>`):
    /// when the host passes the cursor back, the events were stored and the ids leave the
    /// watch (see [`crate::compliance`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gone: Vec<String>,
}

/// Where a listing continues, and the newest id seen in it so far.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Resume {
    pub token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest: Option<String>,
}

impl Cursor {
    pub(crate) fn parse(raw: Option<&str>) -> Cursor {
        match raw.map(str::trim).filter(|r| !r.is_empty()) {
            None => Cursor::default(),
            Some(raw) => serde_json::from_str(raw).unwrap_or_else(|e| {
                log::warn(format!("x: ignoring unreadable poll cursor {raw:?}: {e}"));
                Cursor::default()
            }),
        }
    }

    /// The newest id `source` has brought, if any.
    pub(crate) fn since(&self, source: &Source) -> Option<String> {
        match &source.kind {
            Kind::Search => self.search.clone(),
            Kind::Mentions(h) => self.mentions.get(h).cloned(),
            Kind::Dm(h) => self.dm.get(h).cloned(),
            Kind::StreamGap | Kind::Compliance => None,
        }
    }

    /// Moves `source` to `newest`, never backwards (an older id is ignored).
    pub(crate) fn advance(&mut self, source: &Source, newest: &str) {
        let slot = match &source.kind {
            Kind::Search => &mut self.search,
            // A gap is closed as a whole (`stream_gap_done`), not moved along.
            Kind::StreamGap | Kind::Compliance => return,
            Kind::Mentions(h) => {
                let mut slot = self.mentions.get(h).cloned();
                forward(&mut slot, newest);
                if let Some(s) = slot {
                    self.mentions.insert(h.clone(), s);
                }
                return;
            }
            Kind::Dm(h) => {
                let mut slot = self.dm.get(h).cloned();
                forward(&mut slot, newest);
                if let Some(s) = slot {
                    self.dm.insert(h.clone(), s);
                }
                return;
            }
        };
        forward(slot, newest);
    }
}

fn forward(slot: &mut Option<String>, newest: &str) {
    if !newest.is_empty() && slot.as_deref().is_none_or(|s| api::id_newer(newest, s)) {
        *slot = Some(newest.to_string());
    }
}

/// Which listing a source reads.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    Search,
    /// Of a handle, in lower case.
    Mentions(String),
    /// Of a handle, in lower case.
    Dm(String),
    /// The recent search over a gap in the filtered stream.
    StreamGap,
    /// The lookups that find deleted tweets and accounts.
    Compliance,
}

/// One source of a poll.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    pub kind: Kind,
    /// For the channel status: `search`, `mentions @acme`, `direct messages @acme`.
    pub name: String,
    pub endpoint: Endpoint,
}

impl Source {
    pub(crate) fn search() -> Source {
        Source {
            kind: Kind::Search,
            name: "search".into(),
            endpoint: Endpoint::Search,
        }
    }

    pub(crate) fn mentions(handle: &str) -> Source {
        Source {
            kind: Kind::Mentions(handle.to_ascii_lowercase()),
            name: format!("mentions @{handle}"),
            endpoint: Endpoint::Mentions,
        }
    }

    pub(crate) fn dm(handle: &str) -> Source {
        Source {
            kind: Kind::Dm(handle.to_ascii_lowercase()),
            name: format!("direct messages @{handle}"),
            endpoint: Endpoint::DmRead,
        }
    }

    pub(crate) fn stream_gap() -> Source {
        Source {
            kind: Kind::StreamGap,
            name: "stream gap (search)".into(),
            endpoint: Endpoint::Search,
        }
    }

    pub(crate) fn compliance() -> Source {
        Source {
            kind: Kind::Compliance,
            name: crate::compliance::SOURCE.into(),
            endpoint: Endpoint::TweetLookup,
        }
    }

    /// The key of its entry in [`Cursor::resume`].
    pub(crate) fn key(&self) -> String {
        match &self.kind {
            Kind::Search => "search".into(),
            Kind::StreamGap => "stream_gap".into(),
            Kind::Compliance => "compliance".into(),
            Kind::Mentions(h) => format!("mentions/{h}"),
            Kind::Dm(h) => format!("dm/{h}"),
        }
    }

    /// The status of a source that answered; `stopped` when a later page failed.
    pub(crate) fn answered(
        &self,
        warnings: Vec<String>,
        stopped: Option<ConnectorError>,
        now: i64,
    ) -> SourceStatus {
        for w in &warnings {
            log::warn(format!("x: {}: {w}", self.name));
        }
        let mut status = match stopped {
            None => SourceStatus::ok(&self.name),
            Some(e) => {
                let mut failed = self.failed(&e, now);
                if let Some(error) = failed.error.as_mut() {
                    error.push_str(" (the pages read so far are kept; the rest is read next)");
                }
                failed
            }
        };
        status.warnings = capped(warnings);
        status
    }

    /// The status of a source that failed, in plain words; a rate limit or usage cap
    /// says why and until when.
    pub(crate) fn failed(&self, e: &ConnectorError, now: i64) -> SourceStatus {
        let status = match e {
            ConnectorError::RateLimited(ms) => {
                let until = api::blocked_until(self.endpoint)
                    .filter(|u| *u > now)
                    .unwrap_or_else(|| now.saturating_add(*ms as i64));
                SourceStatus::failed(
                    &self.name,
                    format!(
                        "{}; not asked again until {}",
                        api::blocked_reason(self.endpoint),
                        time::format_iso8601_millis(until)
                    ),
                )
                .retry_at(until)
            }
            ConnectorError::Unauthorized(m) => {
                SourceStatus::failed(&self.name, format!("X refused the access token: {m}"))
            }
            ConnectorError::InvalidConfig(m)
            | ConnectorError::Transient(m)
            | ConnectorError::Rejected(m)
            | ConnectorError::Unsupported(m) => SourceStatus::failed(&self.name, m.clone()),
        };
        log::warn(format!(
            "x: {} failed; the other sources go on: {}",
            self.name,
            status.error.as_deref().unwrap_or_default()
        ));
        status
    }
}

/// At most ten warnings per source, then how many more.
fn capped(mut warnings: Vec<String>) -> Vec<String> {
    const MAX: usize = 10;
    if warnings.len() > MAX {
        let more = warnings.len() - MAX;
        warnings.truncate(MAX);
        warnings.push(format!("and {more} more"));
    }
    warnings
}

/// An item of a listing, with its snowflake id.
pub(crate) trait Item {
    fn id(&self) -> &str;
}

/// One page of a listing. Read leniently: an item of a shape we cannot read is left out
/// with a warning the administrator sees in the source's status, instead of failing the
/// page (and so the source, poll after poll, while the item stays in X's window); a page
/// that is not a JSON object at all fails the source, naming the endpoint.
#[derive(Deserialize)]
#[serde(bound(deserialize = "T: DeserializeOwned"))]
struct RawPage<T> {
    #[serde(default)]
    data: Items<T>,
    #[serde(default, deserialize_with = "lenient::opt")]
    includes: Option<Includes>,
    #[serde(default, deserialize_with = "lenient::opt")]
    meta: Option<RawMeta>,
    /// Partial errors of an answer that still succeeded.
    #[serde(default, deserialize_with = "lenient::opt")]
    errors: Option<Vec<serde_json::Value>>,
}

#[derive(Deserialize, Default)]
struct RawMeta {
    #[serde(default, deserialize_with = "lenient::opt")]
    next_token: Option<String>,
}

/// What one source's listing brought.
pub(crate) struct Listing<T> {
    /// Items newer than the source's place, newest first as X lists them.
    pub items: Vec<T>,
    /// `includes`: authors, media, referenced tweets, polls.
    pub expanded: Expanded,
    /// Partial errors X reported, in plain words.
    pub warnings: Vec<String>,
    /// A later page failed: what was read is kept, the rest is read next poll.
    pub stopped: Option<ConnectorError>,
}

/// How to read one source's listing.
pub(crate) struct Paging<'a> {
    pub source: &'a Source,
    /// The first page's URL (with `since_id` where the endpoint takes one).
    pub base_url: String,
    pub token: String,
    /// The query parameter carrying `meta.next_token`.
    pub page_param: &'static str,
    /// The source's place: older items are dropped, and reaching one ends the listing
    /// (for endpoints without `since_id`, such as direct-message events).
    pub since: Option<String>,
    /// Without a place yet, read only the first page (the platform's recent backlog).
    pub first_page_only_without_since: bool,
}

/// Reads a source's pages, newest first, until its place, the end, or [`MAX_PAGES`];
/// moves its place in `cur` only once the whole listing is read (else records where to
/// continue). An error on the first page is the source's error and changes nothing.
pub(crate) fn list<T: DeserializeOwned + Item>(
    p: Paging<'_>,
    cur: &mut Cursor,
) -> Result<Listing<T>, ConnectorError> {
    let key = p.source.key();
    let resume = cur.resume.get(&key).cloned();
    let mut next = resume.as_ref().map(|r| r.token.clone());
    let mut newest = resume.and_then(|r| r.newest);
    let mut listing = Listing {
        items: Vec::new(),
        expanded: Expanded::default(),
        warnings: Vec::new(),
        stopped: None,
    };
    let mut complete = false;
    for page_no in 0..MAX_PAGES {
        let url = match &next {
            None => p.base_url.clone(),
            Some(t) => http::url_with_query(&p.base_url, &[(p.page_param, t.as_str())]),
        };
        let answer =
            api::call(p.source.endpoint, api::request("GET", url, &p.token)).and_then(|resp| {
                lenient::object::<RawPage<T>>(&resp.body).map_err(|why| {
                    ConnectorError::Transient(format!(
                        "unreadable X API answer from {}: {why}",
                        p.source.endpoint.name()
                    ))
                })
            });
        let page = match answer {
            Ok(page) => page,
            Err(e) if page_no == 0 => return Err(e),
            Err(e) => {
                listing.stopped = Some(e);
                break;
            }
        };
        listing
            .warnings
            .extend(partial_errors(&page.errors.unwrap_or_default()));
        listing.warnings.extend(page.data.summary("item"));
        listing.expanded.add(page.includes.unwrap_or_default());
        let mut reached_place = false;
        for item in page.data.items {
            if p.since
                .as_deref()
                .is_some_and(|s| !api::id_newer(item.id(), s))
            {
                reached_place = true;
                continue;
            }
            if newest
                .as_deref()
                .is_none_or(|n| api::id_newer(item.id(), n))
            {
                newest = Some(item.id().to_string());
            }
            listing.items.push(item);
        }
        next = page
            .meta
            .and_then(|m| m.next_token)
            .filter(|t| !t.is_empty());
        if next.is_none() || reached_place || (p.since.is_none() && p.first_page_only_without_since)
        {
            complete = true;
            break;
        }
    }
    // Without a place yet, the backlog read is enough; with one, the rest of a burst is
    // still to be read.
    if !complete && listing.stopped.is_none() && p.since.is_none() {
        complete = true;
    }
    match next.filter(|_| !complete) {
        None => {
            cur.resume.remove(&key);
            if let Some(n) = newest {
                cur.advance(p.source, &n);
            }
        }
        Some(token) => {
            cur.resume.insert(key, Resume { token, newest });
        }
    }
    Ok(listing)
}

/// The partial errors of a 200 answer (`errors[]`), in plain words.
pub(crate) fn partial_errors(errors: &[serde_json::Value]) -> Vec<String> {
    errors
        .iter()
        .map(|e| {
            let title = e["title"].as_str().unwrap_or("error");
            let detail = e["detail"]
                .as_str()
                .or(e["message"].as_str())
                .unwrap_or_default();
            if detail.is_empty() {
                format!("X reported a problem with part of its answer: {title}")
            } else {
                format!("X reported a problem with part of its answer: {title}: {detail}")
            }
        })
        .collect()
}
