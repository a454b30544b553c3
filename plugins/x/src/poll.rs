//! Polling: the recent search built from the settings, mentions of each handle, direct
//! messages with what they carry (see `media`); the JSON cursor of every `since_id`;
//! keyword suspension; the compliance check (see `compliance`).

use std::collections::{HashMap, HashSet};

use serde::Deserialize;
use switchboard_sdk::lenient::{self, Items};
use switchboard_sdk::{
    Author, ConnectorError, Event, Message, PollResult, SourceStatus, Visibility, clock, http, kv,
    log, time,
};

use crate::Settings;
use crate::api;
use crate::media::{self, Attached, Entities, Media, Poll, UrlEntity};
use crate::sources::{self, Cursor, Item, Paging, Source};

/// Fields asked for every tweet.
pub(crate) const TWEET_FIELDS: &str = "created_at,author_id,conversation_id,in_reply_to_user_id,referenced_tweets,lang,attachments,entities";
/// What every tweet brings along: its author, media, poll and the tweets it references.
pub(crate) const TWEET_EXPANSIONS: &str =
    "author_id,attachments.media_keys,attachments.poll_ids,referenced_tweets.id";
/// Fields asked for every media item.
pub(crate) const MEDIA_FIELDS: &str = "type,url,preview_image_url,variants,alt_text";
/// Fields asked for every author.
pub(crate) const USER_FIELDS: &str = "username,name,public_metrics";
/// Fields asked for every direct message event.
pub(crate) const DM_FIELDS: &str =
    "created_at,sender_id,text,dm_conversation_id,attachments,referenced_tweets,entities";
/// What every direct message brings along.
pub(crate) const DM_EXPANSIONS: &str = "sender_id,attachments.media_keys,referenced_tweets.id";
/// Pages of one search followed in one poll.
pub(crate) const MAX_PAGES: usize = 10;
/// A keyword bringing more tweets than this in one minute is suspended.
pub(crate) const KEYWORD_FLOOD: u64 = 300;
/// How long a flooding keyword stays suspended.
pub(crate) const SUSPENSION_MS: i64 = 3 * 24 * 60 * 60 * 1_000;

/// `suspended/<keyword>` (lower case) holds the unix ms until which it is suspended.
pub(crate) fn suspension_key(keyword: &str) -> String {
    format!("suspended/{}", keyword.to_lowercase())
}

fn count_key(keyword: &str) -> String {
    format!("keyword_count/{}", keyword.to_lowercase())
}

/// True while `keyword` is suspended (an expired suspension is removed).
pub(crate) fn suspended(keyword: &str, now: i64) -> bool {
    let key = suspension_key(keyword);
    match kv::get_string(&key).and_then(|v| v.trim().parse::<i64>().ok()) {
        Some(until) if now < until => true,
        Some(_) => {
            kv::delete(&key);
            log::info(format!("x: keyword `{keyword}` is searched again"));
            false
        }
        None => false,
    }
}

/// The keywords searched now (suspended ones left out).
pub(crate) fn active_keywords(settings: &Settings, now: i64) -> Vec<String> {
    settings
        .keywords
        .iter()
        .filter(|k| !suspended(k, now))
        .cloned()
        .collect()
}

/// The recent-search query: keywords (and `@handle`s) OR'ed, `-word` exclusions,
/// `lang:` for a single language, `-is:retweet`. `None` when there is nothing to search.
pub(crate) fn build_query(settings: &Settings, keywords: &[String]) -> Option<String> {
    let keywords: Vec<String> = if keywords.is_empty() {
        settings.keywords.clone()
    } else {
        keywords.to_vec()
    };
    build_query_from(settings, &keywords)
}

pub(crate) fn build_query_from(settings: &Settings, keywords: &[String]) -> Option<String> {
    let mut terms: Vec<String> = keywords.iter().map(|k| crate::term(k)).collect();
    if settings.use_handles_as_keywords {
        terms.extend(settings.handles.iter().map(|h| format!("@{h}")));
    }
    if terms.is_empty() {
        return None;
    }
    let mut query = if terms.len() == 1 {
        terms.remove(0)
    } else {
        format!("({})", terms.join(" OR "))
    };
    for e in &settings.exclusions {
        query.push_str(&format!(" -{}", crate::term(e)));
    }
    if let Some([one]) = settings.languages.as_deref() {
        query.push_str(&format!(" lang:{one}"));
    }
    if settings.skip_retweets {
        query.push_str(" -is:retweet");
    }
    Some(query)
}

/// `includes` of an answer or a stream line; a user of a shape we cannot read only
/// costs its tweets their author's name, a media item its file.
#[derive(Deserialize, Default)]
pub(crate) struct Includes {
    #[serde(default)]
    pub users: Items<User>,
    #[serde(default)]
    pub media: Items<Media>,
    #[serde(default)]
    pub tweets: Items<Tweet>,
    #[serde(default)]
    pub polls: Items<Poll>,
}

/// The `includes` of a listing's pages, by id.
#[derive(Default)]
pub(crate) struct Expanded {
    pub users: HashMap<String, User>,
    pub media: HashMap<String, Media>,
    pub tweets: HashMap<String, Tweet>,
    pub polls: HashMap<String, Poll>,
}

impl Expanded {
    pub(crate) fn add(&mut self, includes: Includes) {
        for u in includes.users.items {
            self.users.insert(u.id.clone(), u);
        }
        for m in includes.media.items {
            if let Some(key) = m.media_key.clone() {
                self.media.insert(key, m);
            }
        }
        for t in includes.tweets.items {
            self.tweets.insert(t.id.clone(), t);
        }
        for p in includes.polls.items {
            self.polls.insert(p.id.clone(), p);
        }
    }
}

#[derive(Deserialize, Clone)]
pub(crate) struct Tweet {
    id: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    author_id: Option<String>,
    #[serde(default)]
    conversation_id: Option<String>,
    #[serde(default)]
    in_reply_to_user_id: Option<String>,
    #[serde(default, alias = "referenced_posts")]
    referenced_tweets: Vec<Reference>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    lang: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    attachments: Option<Attached>,
    #[serde(default, deserialize_with = "lenient::opt")]
    entities: Option<Entities>,
}

#[derive(Deserialize, Clone)]
struct Reference {
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    id: String,
}

#[derive(Deserialize, Clone)]
pub(crate) struct User {
    pub id: String,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    public_metrics: Option<Metrics>,
}

#[derive(Deserialize, Clone)]
struct Metrics {
    #[serde(default)]
    followers_count: Option<u64>,
}

impl Tweet {
    fn reference(&self, kind: &str) -> Option<&str> {
        self.referenced_tweets
            .iter()
            .find(|r| r.kind == kind && !r.id.is_empty())
            .map(|r| r.id.as_str())
    }

    fn is_retweet(&self) -> bool {
        self.reference("retweeted").is_some()
    }

    pub(crate) fn text(&self) -> &str {
        &self.text
    }
}

/// A tweet as a public message.
fn tweet_message(
    settings: &Settings,
    tweet: Tweet,
    expanded: &Expanded,
    source: &str,
    now: i64,
) -> Message {
    let author_id = tweet.author_id.clone().unwrap_or_default();
    let user = expanded.users.get(&author_id);
    let username = user.and_then(|u| u.username.clone());
    let from_business = username
        .as_deref()
        .is_some_and(|u| settings.is_own_handle(u));
    let name = user
        .and_then(|u| u.name.clone())
        .or_else(|| username.clone())
        .unwrap_or_else(|| author_id.clone());
    let mut metadata = vec![("source".to_string(), source.to_string())];
    if let Some(rt) = tweet.reference("retweeted") {
        metadata.push(("retweet_of".into(), rt.to_string()));
    }
    if let Some(q) = tweet.reference("quoted") {
        metadata.push(("quote_of".into(), q.to_string()));
    }
    if let Some(to) = &tweet.in_reply_to_user_id {
        metadata.push(("in_reply_to_user_id".into(), to.clone()));
    }
    let parent_id = tweet.reference("replied_to").map(str::to_string);
    let thread_id = tweet
        .conversation_id
        .clone()
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| tweet.id.clone());
    // Webhook tweets carry no conversation id: remember it for their replies.
    kv::set(&format!("conversation/{}", tweet.id), thread_id.as_bytes());
    let quoted: Vec<&str> = tweet.reference("quoted").into_iter().collect();
    let attachments = media::v2_attachments(
        tweet.attachments.as_ref(),
        &quoted,
        tweet.entities.as_ref(),
        expanded,
    );
    Message {
        platform_message_id: tweet.id,
        thread_id,
        parent_id,
        visibility: Visibility::Public,
        author: Author {
            id: author_id,
            name,
            handle: username.map(|u| format!("@{u}")),
            followers: user
                .and_then(|u| u.public_metrics.as_ref())
                .and_then(|m| m.followers_count),
        },
        text: tweet.text,
        attachments,
        created_at: tweet
            .created_at
            .as_deref()
            .and_then(time::parse_iso8601_millis)
            .unwrap_or(now),
        language: tweet.lang.filter(|l| !l.is_empty() && l != "und"),
        from_business,
        metadata,
    }
}

/// Client-side filters: languages, exclusions, retweets. `None` when the tweet is taken.
fn filtered_out(settings: &Settings, tweet: &Tweet) -> Option<String> {
    if !settings.language_ok(tweet.lang.as_deref()) {
        return Some(format!("language {}", tweet.lang.as_deref().unwrap_or("")));
    }
    if let Some(word) = settings.excluded(&tweet.text) {
        return Some(format!("excluded word `{word}`"));
    }
    if settings.skip_retweets && tweet.is_retweet() {
        return Some("retweet".into());
    }
    None
}

fn tweet_url(settings: &Settings, path: &str, since: Option<&str>, max: u32) -> String {
    let max = max.to_string();
    let mut pairs: Vec<(&str, &str)> = vec![("max_results", &max)];
    if let Some(s) = since {
        pairs.push(("since_id", s));
    }
    pairs.extend([
        ("tweet.fields", TWEET_FIELDS),
        ("expansions", TWEET_EXPANSIONS),
        ("user.fields", USER_FIELDS),
        ("media.fields", MEDIA_FIELDS),
    ]);
    http::url_with_query(&format!("{}{path}", settings.api_base_url), &pairs)
}

/// Counts search tweets per keyword over the last 60 seconds (per-second buckets kept in
/// kv `keyword_count/<keyword>`) and suspends a keyword that brings more than
/// [`KEYWORD_FLOOD`] of them.
pub(crate) fn count_keywords(keywords: &[String], tweets: &[Tweet], now: i64) -> bool {
    let mut any_suspended = false;
    let second = now.div_euclid(1_000);
    for keyword in keywords {
        let needle = keyword.to_lowercase();
        let hits = tweets
            .iter()
            .filter(|t| t.text.to_lowercase().contains(&needle))
            .count() as u64;
        if hits == 0 {
            continue;
        }
        let key = count_key(keyword);
        let mut buckets: Vec<(i64, u64)> = kv::get_string(&key)
            .and_then(|v| serde_json::from_str(&v).ok())
            .unwrap_or_default();
        buckets.retain(|(s, _)| *s > second - 60 && *s <= second);
        match buckets.iter_mut().find(|(s, _)| *s == second) {
            Some((_, c)) => *c += hits,
            None => buckets.push((second, hits)),
        }
        let count: u64 = buckets.iter().map(|(_, c)| c).sum();
        if count > KEYWORD_FLOOD {
            let until = now + SUSPENSION_MS;
            kv::set(&suspension_key(keyword), until.to_string());
            kv::delete(&key);
            any_suspended = true;
            log::error(format!(
                "x: keyword suspended: `{keyword}` brought {count} tweets in a minute (more than {KEYWORD_FLOOD}); it is left out of the search until {} unless an admin deletes kv key `{}`",
                time::format_iso8601_millis(until),
                suspension_key(keyword)
            ));
        } else {
            kv::set(&key, serde_json::to_string(&buckets).unwrap_or_default());
        }
    }
    any_suspended
}

impl Item for Tweet {
    fn id(&self) -> &str {
        &self.id
    }
}

#[derive(Deserialize)]
struct DmEvent {
    id: String,
    #[serde(default)]
    event_type: Option<String>,
    #[serde(default)]
    text: String,
    #[serde(default)]
    sender_id: Option<String>,
    #[serde(default)]
    dm_conversation_id: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    attachments: Option<Attached>,
    /// A tweet the customer shared.
    #[serde(default)]
    referenced_tweets: Items<SharedTweet>,
    #[serde(default, deserialize_with = "lenient::opt")]
    entities: Option<Entities>,
    /// Some answers give the links beside the event rather than in `entities`.
    #[serde(default)]
    urls: Items<UrlEntity>,
}

#[derive(Deserialize)]
struct SharedTweet {
    id: String,
}

impl Item for DmEvent {
    fn id(&self) -> &str {
        &self.id
    }
}

/// One poll: search, mentions and direct messages as the message types ask. Each source
/// advances on its own and reports how it fared: a source that fails (a 403 on direct
/// messages, a 400 on the search, a rate limit) keeps its place and its error, while the
/// others' messages are returned and their places move on.
pub(crate) fn poll(
    settings: &Settings,
    cursor: Option<String>,
    limit: u32,
) -> Result<PollResult, ConnectorError> {
    // The very first poll brings the platform's backlog: not a flood.
    let counting = cursor.is_some();
    let mut cur = Cursor::parse(cursor.as_deref());
    let max = limit.clamp(10, 100);
    let now = clock::now_millis();
    let mut events: Vec<Message> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut statuses: Vec<SourceStatus> = Vec::new();

    if settings.public && !settings.use_stream {
        let keywords = active_keywords(settings, now);
        if let Some(query) = build_query_from(settings, &keywords) {
            let source = Source::search();
            let since = cur.since(&source);
            let result = settings.search_token().and_then(|token| {
                let base = tweet_url(settings, "/2/tweets/search/recent", since.as_deref(), max);
                let base_url = http::url_with_query(&base, &[("query", query.as_str())]);
                sources::list::<Tweet>(
                    Paging {
                        source: &source,
                        base_url,
                        token,
                        page_param: "next_token",
                        since,
                        first_page_only_without_since: false,
                    },
                    &mut cur,
                )
            });
            statuses.push(match result {
                Ok(listing) => {
                    if counting {
                        count_keywords(&keywords, &listing.items, now);
                    }
                    let mut warnings = listing.warnings;
                    warnings.extend(take(
                        settings,
                        listing.items,
                        &listing.expanded,
                        "search",
                        now,
                        &mut seen,
                        &mut events,
                    ));
                    source.answered(warnings, listing.stopped, now)
                }
                Err(e) => source.failed(&e, now),
            });
        }
    }
    if settings.public
        && settings.use_stream
        && let Some(status) = stream_gap(settings, &mut cur, max, now, &mut seen, &mut events)
    {
        statuses.push(status);
    }
    if settings.public {
        for handle in &settings.handles {
            let source = Source::mentions(handle);
            let since = cur.since(&source);
            let result = api::user_id(settings, handle).and_then(|id| {
                let token = settings.require_user_token(handle)?;
                let path = format!("/2/users/{}/mentions", http::percent_encode(&id));
                sources::list::<Tweet>(
                    Paging {
                        source: &source,
                        base_url: tweet_url(settings, &path, since.as_deref(), max),
                        token,
                        page_param: "pagination_token",
                        since,
                        first_page_only_without_since: false,
                    },
                    &mut cur,
                )
            });
            statuses.push(match result {
                Ok(listing) => {
                    let mut warnings = listing.warnings;
                    warnings.extend(take(
                        settings,
                        listing.items,
                        &listing.expanded,
                        "mention",
                        now,
                        &mut seen,
                        &mut events,
                    ));
                    source.answered(warnings, listing.stopped, now)
                }
                Err(e) => source.failed(&e, now),
            });
        }
    }

    if settings.private {
        for handle in &settings.handles {
            let source = Source::dm(handle);
            statuses.push(
                match poll_dms(settings, handle, &source, &mut cur, now, &mut seen) {
                    Ok((mut found, warnings, stopped)) => {
                        events.append(&mut found);
                        source.answered(warnings, stopped, now)
                    }
                    Err(e) => source.failed(&e, now),
                },
            );
        }
    }

    let mut compliance = Vec::new();
    if let Some((found, status)) = crate::compliance::check(settings, &mut cur) {
        compliance = found;
        statuses.push(status);
    }

    events.sort_by(|a, b| {
        a.created_at.cmp(&b.created_at).then(
            (a.platform_message_id.len(), &a.platform_message_id)
                .cmp(&(b.platform_message_id.len(), &b.platform_message_id)),
        )
    });
    let next = serde_json::to_string(&cur).unwrap_or_default();
    let events = events
        .into_iter()
        .map(Event::Message)
        .chain(compliance)
        .collect();
    Ok(PollResult::new(events, Some(next)).with_sources(statuses))
}

/// After the filtered stream (re)opened, the tweets posted while it was closed come from
/// the recent search since the last streamed id. The gap is forgotten only once a poll
/// that read it to its end was stored (its cursor says so), so nothing in it is lost to a
/// failed store or a crash.
fn stream_gap(
    settings: &Settings,
    cur: &mut Cursor,
    max: u32,
    now: i64,
    seen: &mut HashSet<String>,
    events: &mut Vec<Message>,
) -> Option<SourceStatus> {
    let gap = kv::get_string(crate::stream::STREAM_GAP).filter(|g| !g.is_empty())?;
    if cur.stream_gap_done.as_deref() == Some(gap.as_str()) {
        kv::delete(crate::stream::STREAM_GAP);
        return None;
    }
    let query = build_query_from(settings, &active_keywords(settings, now))?;
    let source = Source::stream_gap();
    let result = settings.search_token().and_then(|token| {
        let base = tweet_url(settings, "/2/tweets/search/recent", Some(&gap), max);
        sources::list::<Tweet>(
            Paging {
                source: &source,
                base_url: http::url_with_query(&base, &[("query", query.as_str())]),
                token,
                page_param: "next_token",
                since: Some(gap.clone()),
                first_page_only_without_since: false,
            },
            cur,
        )
    });
    Some(match result {
        Ok(listing) => {
            if listing.stopped.is_none() && !cur.resume.contains_key(&source.key()) {
                cur.stream_gap_done = Some(gap);
            }
            let mut warnings = listing.warnings;
            warnings.extend(take(
                settings,
                listing.items,
                &listing.expanded,
                "stream",
                now,
                seen,
                events,
            ));
            source.answered(warnings, listing.stopped, now)
        }
        Err(e) => source.failed(&e, now),
    })
}

/// Turns listed tweets into messages (each id once, client-side filters applied); returns
/// why any were left out that the administrator should see.
pub(crate) fn take(
    settings: &Settings,
    tweets: Vec<Tweet>,
    expanded: &Expanded,
    source: &str,
    now: i64,
    seen: &mut HashSet<String>,
    out: &mut Vec<Message>,
) -> Vec<String> {
    let mut warnings = Vec::new();
    let mut watched = Vec::new();
    for tweet in tweets {
        if tweet.id.is_empty() || !seen.insert(tweet.id.clone()) {
            continue;
        }
        // A message needs its customer: one without an author would be stored as
        // nobody's, so it is left out where the administrator sees it.
        if tweet
            .author_id
            .as_deref()
            .is_none_or(|a| a.trim().is_empty())
        {
            warnings.push(format!(
                "tweet {} came without its author and was left out",
                tweet.id
            ));
            continue;
        }
        if let Some(why) = filtered_out(settings, &tweet) {
            log::debug(format!("x: tweet {} left out: {why}", tweet.id));
            continue;
        }
        let message = tweet_message(settings, tweet, expanded, source, now);
        if !message.from_business {
            watched.push((
                message.platform_message_id.clone(),
                message.author.id.clone(),
            ));
        }
        out.push(message);
    }
    crate::compliance::watch(settings, &watched, &[]);
    warnings
}

/// What one source brought: its messages, warnings, and the error of a later page.
type Found = (Vec<Message>, Vec<String>, Option<ConnectorError>);

/// `GET /2/dm_events` as `handle`: message events newer than the handle's place, every
/// page of them (a burst of more than one page between two polls loses nothing).
fn poll_dms(
    settings: &Settings,
    handle: &str,
    source: &Source,
    cur: &mut Cursor,
    now: i64,
    seen: &mut HashSet<String>,
) -> Result<Found, ConnectorError> {
    let own_id = api::user_id(settings, handle)?;
    let token = settings.require_user_token(handle)?;
    let base_url = http::url_with_query(
        &format!("{}/2/dm_events", settings.api_base_url),
        &[
            ("dm_event.fields", DM_FIELDS),
            ("event_types", "MessageCreate"),
            ("expansions", DM_EXPANSIONS),
            ("user.fields", USER_FIELDS),
            ("media.fields", MEDIA_FIELDS),
            // The most per page: the DM read limit is 15 calls per 15 minutes.
            ("max_results", "100"),
        ],
    );
    let listing = sources::list::<DmEvent>(
        Paging {
            source,
            base_url,
            token,
            page_param: "pagination_token",
            since: cur.since(source),
            first_page_only_without_since: true,
        },
        cur,
    )?;
    let expanded = listing.expanded;
    let users = &expanded.users;
    let mut warnings = listing.warnings;
    let mut out = Vec::new();
    let mut senders = Vec::new();
    for dm in listing.items {
        if dm
            .event_type
            .as_deref()
            .is_some_and(|t| t != "MessageCreate")
        {
            continue;
        }
        // The host stores a message under its id: without one it would be merged with
        // every other id-less message (found by fuzzing).
        if dm.id.trim().is_empty() {
            warnings.push("a direct message came without its id and was left out".into());
            continue;
        }
        if !seen.insert(dm.id.clone()) {
            continue;
        }
        let Some(sender) = dm.sender_id.clone().filter(|s| !s.trim().is_empty()) else {
            warnings.push(format!(
                "direct message {} came without its sender and was left out",
                dm.id
            ));
            continue;
        };
        let user = users.get(&sender);
        let username = user.and_then(|u| u.username.clone());
        let thread_id = dm
            .dm_conversation_id
            .clone()
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| dm_conversation_id(&own_id, &sender));
        let mut metadata = vec![
            ("source".to_string(), "dm".to_string()),
            ("handle".to_string(), handle.to_string()),
        ];
        if is_group_conversation(&thread_id) {
            metadata.push(("dm_group".into(), "true".into()));
        }
        let shared: Vec<&str> = dm
            .referenced_tweets
            .items
            .iter()
            .map(|r| r.id.as_str())
            .filter(|id| !id.is_empty())
            .collect();
        let mut entities = dm.entities.clone().unwrap_or_default();
        entities.urls.items.extend(dm.urls.items.iter().cloned());
        let attachments =
            media::v2_attachments(dm.attachments.as_ref(), &shared, Some(&entities), &expanded);
        media::remember_dm_handle(&attachments, handle);
        if sender != own_id {
            senders.push(sender.clone());
        }
        out.push(Message {
            thread_id,
            platform_message_id: dm.id,
            parent_id: None,
            visibility: Visibility::Private,
            author: Author {
                id: sender.clone(),
                name: user
                    .and_then(|u| u.name.clone())
                    .or_else(|| username.clone())
                    .unwrap_or_else(|| sender.clone()),
                handle: username.map(|u| format!("@{u}")),
                followers: user
                    .and_then(|u| u.public_metrics.as_ref())
                    .and_then(|m| m.followers_count),
            },
            text: dm.text,
            attachments,
            created_at: dm
                .created_at
                .as_deref()
                .and_then(time::parse_iso8601_millis)
                .unwrap_or(now),
            language: None,
            from_business: sender == own_id,
            metadata,
        });
    }
    crate::compliance::watch(settings, &[], &senders);
    Ok((out, warnings, listing.stopped))
}

/// The id X gives a one-to-one conversation: both user ids, smaller first.
pub(crate) fn dm_conversation_id(a: &str, b: &str) -> String {
    if api::id_newer(a, b) {
        format!("{b}-{a}")
    } else {
        format!("{a}-{b}")
    }
}

/// True for a group conversation: X names a one-to-one conversation after its two
/// participants (`<id>-<id>`), a group one with an id of its own.
pub(crate) fn is_group_conversation(conversation_id: &str) -> bool {
    !conversation_id.is_empty() && !conversation_id.contains('-')
}
