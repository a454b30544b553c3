//! Compliance: a tweet deleted on X, or a whole account, is erased here too, whatever
//! the channel's ingest mode (`message_types` holding `compliance`).
//!
//! - Webhooks: Account Activity `tweet_delete_events` → `deleted` (see `webhook`).
//! - Stream lines: X's compliance-stream events, `{"data":{"delete":{"tweet":{"id",
//!   "author_id"},"event_at"}}}` → `deleted` and `{"data":{"user_delete":{"user":{"id"},
//!   "event_at"}}}` → `author-erased` (and the v1.1 `{"delete":{"status":{..}}}`), on
//!   whatever stream the host holds open. X's filtered stream does not send them itself:
//!   its compliance streams are Enterprise-only and a channel holds one stream, so
//!   streaming channels rely on the polling check below as well.
//! - Polling (which streaming channels keep doing for mentions and direct messages): X
//!   has no pollable list of deletions. This connector re-reads what it handed to the host:
//!   `GET /2/tweets?ids=` of the tweets it took, `GET /2/users?ids=` of their authors and of
//!   direct-message senders. X answers a deleted tweet, and a deleted (or deactivated)
//!   account, with a `Not Found Error` in `errors[]`: the first becomes `deleted`, the
//!   second `author-erased`, and the host erases everything that author wrote on the
//!   channel. A suspended or protected account (`Forbidden`, `Authorization Error`) is not
//!   a deletion and is kept. X's batch compliance jobs would say the same after an upload to
//!   a signed storage URL, a wait and a download spread over several polls; the lookup is
//!   one read each and needs no other host.
//!
//! State in kv: `compliance/tweets` and `compliance/authors` (the watched ids: the newest
//! [`WATCH_MAX`] of the last [`WATCH_DAYS`] days, each with when it was last checked) and
//! `compliance/last_check`. One check every `deletion_check_minutes` (default 60; 0 turns
//! it off) reads at most 100 tweets and 100 users not checked (nor read from X) within that
//! time, those checked longest ago first: up to 2,400 tweet reads a day at the default,
//! which X counts in the app's monthly post cap.
//! What a check found gone leaves the watch only once the poll cursor reporting it comes
//! back (`Cursor::gone`), that is once the host stored the events; until then it is found
//! again by the next check.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use switchboard_sdk::{
    AuthorErased, ConnectorError, Deleted, Event, SourceStatus, clock, http, kv, log, time,
};

use crate::Settings;
use crate::api::{self, Endpoint};
use crate::sources::Cursor;

/// Ids watched per list.
pub(crate) const WATCH_MAX: usize = 1000;
/// How long a tweet or author stays watched after it was last seen.
pub(crate) const WATCH_DAYS: i64 = 30;
/// Ids per lookup (X's most).
pub(crate) const BATCH: usize = 100;
/// The name of the check in the poll's sources.
pub(crate) const SOURCE: &str = "deleted tweets and accounts";

const TWEETS_KEY: &str = "compliance/tweets";
const AUTHORS_KEY: &str = "compliance/authors";
const LAST_CHECK_KEY: &str = "compliance/last_check";

/// One watched tweet or author.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Watched {
    #[serde(rename = "i")]
    id: String,
    /// A tweet's author.
    #[serde(rename = "a", default, skip_serializing_if = "String::is_empty")]
    author: String,
    /// When it was last seen (unix ms).
    #[serde(rename = "s")]
    seen: i64,
    /// When it was last checked (unix ms), or first seen.
    #[serde(rename = "c", default)]
    checked: i64,
}

fn load(key: &str) -> Vec<Watched> {
    kv::get_string(key)
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default()
}

fn store(key: &str, mut list: Vec<Watched>, now: i64) {
    let oldest = now - WATCH_DAYS * 24 * 60 * 60 * 1000;
    list.retain(|w| w.seen >= oldest);
    if list.len() > WATCH_MAX {
        list.sort_by_key(|w| std::cmp::Reverse(w.seen));
        list.truncate(WATCH_MAX);
    }
    kv::set(key, serde_json::to_string(&list).unwrap_or_default());
}

fn add(list: &mut Vec<Watched>, id: &str, author: &str, now: i64) {
    match list.iter_mut().find(|w| w.id == id) {
        Some(w) => w.seen = now,
        // Just read from X, so as good as checked now: older ones are checked first.
        None => list.push(Watched {
            id: id.to_string(),
            author: author.to_string(),
            seen: now,
            checked: now,
        }),
    }
}

/// Watches the customers' tweets (id, author) and the authors of direct messages the
/// connector hands to the host, when the channel takes compliance events.
pub(crate) fn watch(settings: &Settings, tweets: &[(String, String)], authors: &[String]) {
    if !settings.compliance || settings.deletion_check_ms == 0 {
        return;
    }
    if tweets.is_empty() && authors.is_empty() {
        return;
    }
    let now = clock::now_millis();
    if !tweets.is_empty() {
        let mut list = load(TWEETS_KEY);
        for (id, author) in tweets {
            add(&mut list, id, author, now);
        }
        store(TWEETS_KEY, list, now);
    }
    let mut list = load(AUTHORS_KEY);
    for author in authors.iter().chain(tweets.iter().map(|(_, a)| a)) {
        if !author.is_empty() {
            add(&mut list, author, "", now);
        }
    }
    store(AUTHORS_KEY, list, now);
}

/// Forgets what the stored cursor says was reported gone (`t:<tweet>`, `u:<user>`, with
/// the user's tweets).
fn forget_reported(cur: &mut Cursor, now: i64) {
    if cur.gone.is_empty() {
        return;
    }
    let tweets: Vec<&str> = cur
        .gone
        .iter()
        .filter_map(|g| g.strip_prefix("t:"))
        .collect();
    let users: Vec<&str> = cur
        .gone
        .iter()
        .filter_map(|g| g.strip_prefix("u:"))
        .collect();
    let mut list = load(TWEETS_KEY);
    list.retain(|w| !tweets.contains(&w.id.as_str()) && !users.contains(&w.author.as_str()));
    store(TWEETS_KEY, list, now);
    let mut list = load(AUTHORS_KEY);
    list.retain(|w| !users.contains(&w.id.as_str()));
    store(AUTHORS_KEY, list, now);
    cur.gone.clear();
}

/// The ids X answered `Not Found Error` for, among `errors[]` of a lookup.
fn not_found(body: &Value, asked: &[String]) -> Vec<String> {
    let Some(errors) = body["errors"].as_array() else {
        return Vec::new();
    };
    errors
        .iter()
        .filter(|e| {
            let title = e["title"].as_str().unwrap_or_default();
            let detail = e["detail"].as_str().unwrap_or_default();
            title.eq_ignore_ascii_case("Not Found Error") || detail.starts_with("Could not find")
        })
        .filter_map(|e| {
            e["resource_id"]
                .as_str()
                .or(e["value"].as_str())
                .map(str::to_string)
        })
        .filter(|id| asked.contains(id))
        .collect()
}

/// Looks `ids` up at `path` and returns those X says do not exist.
fn lookup(
    settings: &Settings,
    endpoint: Endpoint,
    path: &str,
    ids: &[String],
) -> Result<Vec<String>, ConnectorError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let token = settings.search_token()?;
    let url = http::url_with_query(
        &format!("{}{path}", settings.api_base_url),
        &[("ids", ids.join(",").as_str())],
    );
    let resp = api::call(endpoint, api::request("GET", url, &token))?;
    let body: Value = resp.json_body().map_err(|e| {
        ConnectorError::Transient(format!(
            "unreadable X API answer from {}: {e}",
            endpoint.name()
        ))
    })?;
    Ok(not_found(&body, ids))
}

/// The batch to check: those not checked (nor read from X) for `every` ms, the longest
/// ago first.
fn batch(list: &[Watched], now: i64, every: i64) -> Vec<String> {
    let mut order: Vec<&Watched> = list
        .iter()
        .filter(|w| w.checked <= now - every || w.checked > now)
        .collect();
    order.sort_by_key(|w| (w.checked, std::cmp::Reverse(w.seen)));
    order
        .into_iter()
        .take(BATCH)
        .map(|w| w.id.clone())
        .collect()
}

/// Marks `checked` as checked now, except what was found gone (checked first again, should
/// the poll reporting it not be stored).
fn mark_checked(key: &str, checked: &[String], gone: &[String], now: i64) {
    let mut list = load(key);
    for w in list.iter_mut() {
        if checked.contains(&w.id) && !gone.contains(&w.id) {
            w.checked = now;
        }
    }
    store(key, list, now);
}

/// The polling check, when it is due: events for what X no longer has, and how it fared.
pub(crate) fn check(settings: &Settings, cur: &mut Cursor) -> Option<(Vec<Event>, SourceStatus)> {
    if !settings.compliance || settings.deletion_check_ms == 0 {
        return None;
    }
    let now = clock::now_millis();
    forget_reported(cur, now);
    let last: i64 = kv::get_string(LAST_CHECK_KEY)
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    if now - last < settings.deletion_check_ms && now >= last {
        return None;
    }
    let every = settings.deletion_check_ms;
    let tweets = batch(&load(TWEETS_KEY), now, every);
    let authors = batch(&load(AUTHORS_KEY), now, every);
    if tweets.is_empty() && authors.is_empty() {
        return None;
    }
    kv::set(LAST_CHECK_KEY, now.to_string());
    let mut events = Vec::new();
    let mut errors = Vec::new();
    match lookup(settings, Endpoint::TweetLookup, "/2/tweets", &tweets) {
        Ok(gone) => {
            mark_checked(TWEETS_KEY, &tweets, &gone, now);
            for id in gone {
                log::info(format!("x: tweet {id} was deleted on X; erasing it"));
                cur.gone.push(format!("t:{id}"));
                events.push(Event::Deleted(Deleted {
                    platform_message_id: id,
                    thread_id: None,
                    deleted_at: now,
                }));
            }
        }
        Err(e) => errors.push(e),
    }
    match lookup(settings, Endpoint::UserLookup, "/2/users", &authors) {
        Ok(gone) => {
            mark_checked(AUTHORS_KEY, &authors, &gone, now);
            for id in gone {
                log::info(format!(
                    "x: account {id} was deleted on X; erasing what it wrote"
                ));
                cur.gone.push(format!("u:{id}"));
                events.push(Event::AuthorErased(AuthorErased {
                    author_id: id,
                    at: now,
                }));
            }
        }
        Err(e) => errors.push(e),
    }
    let source = crate::sources::Source::compliance();
    let status = match errors.first() {
        None => SourceStatus::ok(SOURCE),
        Some(e) => source.failed(e, now),
    };
    Some((events, status))
}

/// What a stream line of X's compliance streams says.
pub(crate) enum Compliance {
    /// A deletion to honour.
    Event(Box<Event>),
    /// Another compliance event (`withheld`, `user_protect`, ...): nothing to erase.
    Other(String),
}

/// Compliance events other than deletions, known so their lines are not "unreadable".
const OTHER_EVENTS: [&str; 13] = [
    "withheld",
    "drop",
    "undrop",
    "tweet_edit",
    "scrub_geo",
    "user_undelete",
    "user_protect",
    "user_unprotect",
    "user_withheld",
    "user_suspend",
    "user_unsuspend",
    "user_profile_modification",
    "status_withheld",
];

fn id_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn when(v: &Value, now: i64) -> i64 {
    v.as_str()
        .and_then(time::parse_iso8601_millis)
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        .or(v.as_i64())
        .unwrap_or(now)
}

/// The compliance event of one stream line, if it is one.
pub(crate) fn stream_event(line: &Value, now: i64) -> Option<Compliance> {
    // v1.1: {"delete":{"status":{"id_str","user_id_str"},"timestamp_ms"}}
    if let Some(del) = line.get("delete").filter(|d| d.is_object()) {
        let status = &del["status"];
        let id = id_of(&status["id_str"]).or_else(|| id_of(&status["id"]))?;
        return Some(Compliance::Event(Box::new(Event::Deleted(Deleted {
            platform_message_id: id,
            thread_id: None,
            deleted_at: when(&del["timestamp_ms"], now),
        }))));
    }
    let data = line.get("data")?.as_object()?;
    if data.contains_key("id") {
        return None;
    }
    if let Some(del) = data.get("delete") {
        let id = id_of(&del["tweet"]["id"])?;
        return Some(Compliance::Event(Box::new(Event::Deleted(Deleted {
            platform_message_id: id,
            thread_id: None,
            deleted_at: when(&del["event_at"], now),
        }))));
    }
    if let Some(del) = data.get("user_delete") {
        let id = id_of(&del["user"]["id"])?;
        return Some(Compliance::Event(Box::new(Event::AuthorErased(
            AuthorErased {
                author_id: id,
                at: when(&del["event_at"], now),
            },
        ))));
    }
    let kind = data.keys().find(|k| OTHER_EVENTS.contains(&k.as_str()))?;
    Some(Compliance::Other(kind.clone()))
}
