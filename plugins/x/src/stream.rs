//! The filtered stream (`use_stream`): the app's stream rules kept in line with the
//! channel's search query (our rules carry the tag [`RULE_TAG`]), the long-lived request
//! the host holds open, and the line-delimited tweets it receives (with their media,
//! links and quoted tweets, see `media`). A line of X's compliance streams (a tweet or an
//! account deleted) becomes `deleted` / `author-erased` (see `compliance`).

use std::collections::HashSet;

use serde::Deserialize;
use serde_json::json;
use switchboard_sdk::{ConnectorError, Event, HttpRequest, Message, clock, http, kv, log};

use crate::Settings;
use crate::api::{self, Endpoint};
use crate::compliance::{self, Compliance};
use crate::poll::{
    self, Expanded, Includes, MEDIA_FIELDS, TWEET_EXPANSIONS, TWEET_FIELDS, Tweet, USER_FIELDS,
};
use crate::sources::Item;

/// The tag of the stream rules this connector owns.
pub(crate) const RULE_TAG: &str = "switchboard";
/// kv: the newest tweet id the stream has handed to the host.
pub(crate) const STREAM_NEWEST: &str = "stream/newest";
/// kv: tweets newer than this id may have been posted while the stream was closed; the
/// next polls read them with the recent search (see `poll::stream_gap`).
pub(crate) const STREAM_GAP: &str = "stream/gap_since";

#[derive(Debug, Deserialize, Clone, PartialEq)]
pub(crate) struct Rule {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub value: String,
    #[serde(default)]
    pub tag: Option<String>,
}

#[derive(Deserialize, Default)]
struct Rules {
    #[serde(default)]
    data: Vec<Rule>,
}

fn rules_url(settings: &Settings) -> String {
    format!("{}/2/tweets/search/stream/rules", settings.api_base_url)
}

/// The rule value wanted now: the recent-search query without suspended keywords.
pub(crate) fn desired_rule(settings: &Settings) -> Option<String> {
    let keywords = poll::active_keywords(settings, clock::now_millis());
    poll::build_query_from(settings, &keywords)
}

/// Brings the app's stream rules in line with the settings: deletes our rules that differ
/// (and duplicates), adds the wanted one when missing. Other apps' tags are left alone.
pub(crate) fn sync_rules(settings: &Settings) -> Result<Option<String>, ConnectorError> {
    let token = settings.search_token()?;
    let desired = desired_rule(settings);
    let resp = api::call(
        Endpoint::StreamRules,
        api::request("GET", rules_url(settings), &token),
    )?;
    let rules: Rules = resp.json_body().map_err(|e| {
        ConnectorError::Transient(format!("unreadable X API stream rules answer: {e}"))
    })?;
    let mut keep: Option<&Rule> = None;
    let mut stale: Vec<String> = Vec::new();
    for rule in rules
        .data
        .iter()
        .filter(|r| r.tag.as_deref() == Some(RULE_TAG))
    {
        if keep.is_none() && desired.as_deref() == Some(rule.value.as_str()) {
            keep = Some(rule);
        } else {
            stale.push(rule.id.clone());
        }
    }
    if !stale.is_empty() {
        log::info(format!(
            "x: deleting {} stale stream rule(s) {stale:?}",
            stale.len()
        ));
        api::call(
            Endpoint::StreamRules,
            api::json_request(
                "POST",
                rules_url(settings),
                &token,
                &json!({"delete": {"ids": stale}}),
            ),
        )?;
    }
    if keep.is_none()
        && let Some(value) = &desired
    {
        log::info(format!("x: adding stream rule `{value}`"));
        let resp = api::call(
            Endpoint::StreamRules,
            api::json_request(
                "POST",
                rules_url(settings),
                &token,
                &json!({"add": [{"value": value, "tag": RULE_TAG}]}),
            ),
        )?;
        // X answers 200 with `errors[]` for a rule it refuses.
        let body: serde_json::Value = resp.json_body().unwrap_or_default();
        if body["data"].as_array().is_none_or(|d| d.is_empty())
            && let Some(errors) = body["errors"].as_array().filter(|e| !e.is_empty())
        {
            return Err(ConnectorError::Rejected(format!(
                "X refused the stream rule `{value}`: {}",
                serde_json::Value::Array(errors.clone())
            )));
        }
    }
    Ok(desired)
}

/// The request to hold open, after syncing the rules; `None` when the channel does not
/// stream.
pub(crate) fn open(settings: &Settings) -> Result<Option<HttpRequest>, ConnectorError> {
    if !settings.use_stream {
        return Ok(None);
    }
    if !settings.public {
        log::info("x: `use_stream` is set but public tweets are not taken; no stream");
        return Ok(None);
    }
    if sync_rules(settings)?.is_none() {
        log::warn("x: `use_stream` is set but there is nothing to stream (no keywords)");
        return Ok(None);
    }
    // Whatever was posted since the last streamed tweet, while no stream was open, is
    // read by the next polls; an older gap not yet filled is kept.
    if let Some(newest) = kv::get_string(STREAM_NEWEST).filter(|n| !n.is_empty()) {
        let gap = match kv::get_string(STREAM_GAP).filter(|g| !g.is_empty()) {
            Some(g) if !api::id_newer(&g, &newest) => g,
            _ => newest,
        };
        log::info(format!(
            "x: the stream (re)opens; tweets after {gap} are read with the search"
        ));
        kv::set(STREAM_GAP, gap.as_bytes());
    }
    let url = http::url_with_query(
        &format!("{}/2/tweets/search/stream", settings.api_base_url),
        &[
            ("tweet.fields", TWEET_FIELDS),
            ("expansions", TWEET_EXPANSIONS),
            ("user.fields", USER_FIELDS),
            ("media.fields", MEDIA_FIELDS),
        ],
    );
    Ok(Some(api::request("GET", url, &settings.search_token()?)))
}

#[derive(Deserialize)]
struct Line {
    #[serde(default)]
    data: Option<Tweet>,
    #[serde(default)]
    includes: Includes,
    #[serde(default)]
    matching_rules: Vec<MatchingRule>,
    #[serde(default)]
    errors: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct MatchingRule {
    #[serde(default)]
    tag: Option<String>,
}

/// The messages in stream lines, filtered as the search's are; keyword floods are counted
/// and a suspended keyword leaves the rule at once. A line that cannot be read fails the
/// whole call, naming it, before anything is counted: the host then keeps that line
/// visible and retried on its own instead of it vanishing into a log.
pub(crate) fn lines(settings: &Settings, lines: &[String]) -> Result<Vec<Event>, ConnectorError> {
    let now = clock::now_millis();
    let mut tweets: Vec<Tweet> = Vec::new();
    let mut expanded = Expanded::default();
    let mut parsed_lines = Vec::with_capacity(lines.len());
    let mut deletions: Vec<Event> = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let parsed = serde_json::from_str::<serde_json::Value>(line).and_then(|value| {
            match compliance::stream_event(&value, now) {
                Some(c) => Ok(Err(c)),
                None => serde_json::from_value::<Line>(value).map(Ok),
            }
        });
        match parsed {
            Ok(Ok(p)) => parsed_lines.push(p),
            Ok(Err(Compliance::Event(event))) => {
                if settings.compliance {
                    deletions.push(*event);
                }
            }
            Ok(Err(Compliance::Other(kind))) => {
                log::debug(format!(
                    "x: stream compliance event `{kind}` (nothing to erase)"
                ));
            }
            Err(e) => {
                let head: String = line.chars().take(200).collect();
                log::warn(format!("x: unreadable stream line ({e}): {head}"));
                return Err(ConnectorError::Rejected(format!(
                    "unreadable stream line {} of {} ({e}): {head}",
                    n + 1,
                    lines.len()
                )));
            }
        }
    }
    for parsed in parsed_lines {
        if !parsed.errors.is_empty() {
            log::warn(format!(
                "x: the stream reports errors: {}",
                serde_json::Value::Array(parsed.errors)
            ));
        }
        let Some(tweet) = parsed.data else { continue };
        if !parsed.matching_rules.is_empty()
            && !parsed
                .matching_rules
                .iter()
                .any(|r| r.tag.as_deref() == Some(RULE_TAG))
        {
            log::debug("x: stream tweet matched none of our rules");
            continue;
        }
        expanded.add(parsed.includes);
        tweets.push(tweet);
    }
    if let Some(newest) = tweets
        .iter()
        .map(|t| t.id())
        .filter(|id| !id.is_empty())
        .max_by(|a, b| (a.len(), *a).cmp(&(b.len(), *b)))
        && kv::get_string(STREAM_NEWEST).is_none_or(|n| api::id_newer(newest, &n))
    {
        kv::set(STREAM_NEWEST, newest.as_bytes());
    }
    if !settings.public {
        return Ok(deletions);
    }
    let keywords = poll::active_keywords(settings, now);
    if poll::count_keywords(&keywords, &tweets, now) {
        // Take the suspended keyword out of the live rule at once.
        if let Err(e) = sync_rules(settings) {
            log::warn(format!(
                "x: could not update the stream rules after a keyword suspension: {e:?}"
            ));
        }
    }
    let mut seen = HashSet::new();
    let mut out: Vec<Message> = Vec::new();
    for warning in poll::take(
        settings, tweets, &expanded, "stream", now, &mut seen, &mut out,
    ) {
        log::warn(format!("x: stream: {warning}"));
    }
    // A tweet and its deletion in the same batch: stored first, then erased.
    Ok(out
        .into_iter()
        .map(Event::Message)
        .chain(deletions)
        .collect())
}
