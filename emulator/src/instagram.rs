//! Instagram professional accounts, in both API flavours: Instagram Login (the paths of
//! `graph.instagram.com`: `/me`, `/me/messages`, the account's own token) and Facebook Login
//! (`graph.facebook.com`: `/{ig-id}/messages` or the linked page's `/{page-id}/messages`).
//! Both share the webhooks: `"object":"instagram"`, DMs as `entry[].messaging[]`, comments
//! and mentions as `entry[].changes[]`, signed with the account's app secret.
//!
//! DMs follow Messenger's rules here (24 h window, `HUMAN_AGENT` up to 7 days, code 10
//! subcode 2018278 after; one private reply per comment within 7 days, else 10900) with
//! Instagram's 1000-character limit; see [`messaging`]. Media and comments (list, read,
//! reply, hide, delete) are in [`comments`]; the control endpoints that play the customers'
//! side are in [`control`].
//!
//! Every Instagram id is one this module made (accounts, IGSIDs, media, comments), so the
//! Graph fallback asks Instagram first; a linked page's or `/me`'s calls are Instagram's
//! only when they concern Instagram (see [`graph`]), else they go on to Facebook.

mod comments;
mod control;
mod inbox;
mod messaging;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};

use anyhow::bail;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use sha2::Digest;

use super::facebook::FacebookState;
use super::graph::{GraphRequest, graph_error};
use super::{Emulator, Subscriber, unix_now};

pub(super) use control::control_routes;

/// 24 hours in milliseconds.
const DAY_MS: i64 = 24 * 60 * 60 * 1000;
/// 7 days in milliseconds.
const WEEK_MS: i64 = 7 * DAY_MS;

/// An Instagram professional (business or creator) account on the emulated platform.
#[derive(Clone, Debug)]
pub struct InstagramAccount {
    /// The account's Instagram id (`IG_ID`), e.g. `"17841400000000001"`: the webhooks'
    /// `entry[].id` and the `recipient.id` of customers' DMs.
    pub ig_id: String,
    /// The handle, without `@`, e.g. `"acme"`.
    pub username: String,
    /// Display name.
    pub name: String,
    /// When set, Graph calls on the account's objects must carry this token (Instagram
    /// Login: the Instagram user token; Facebook Login: the linked page's token).
    pub access_token: Option<String>,
    /// The app secret that signs the account's webhooks.
    pub app_secret: String,
    /// The verify token of the subscription handshake, when the control call names none.
    pub verify_token: String,
    /// Facebook Login flavour: the linked Facebook page; `/{page-id}/messages` then sends
    /// as the account, and `GET /{page-id}?fields=instagram_business_account` names it.
    pub page_id: Option<String>,
}

/// All accounts, their media, comments and conversations.
#[derive(Default)]
pub(super) struct InstagramState {
    accounts: BTreeMap<String, Account>,
    media: HashMap<String, Media>,
    comments: HashMap<String, Comment>,
    /// (account id, IGSID) -> the customer.
    customers: HashMap<(String, String), Customer>,
    /// Comment id -> the IGSID it was privately replied to.
    private_replies: HashMap<String, String>,
    /// Every DM, either way, by mid (for reactions, unsends and reads).
    messages: HashMap<String, DirectMessage>,
    /// Every accepted send, in order (listed by the account view).
    sent: Vec<Value>,
    /// What the emulator got fetching the files sent by URL (listed by the account view).
    fetched: Vec<Value>,
}

struct Account {
    config: InstagramAccount,
    subscribers: Vec<Subscriber>,
    /// The account's own media, in creation order (the first is seeded).
    media: Vec<String>,
}

#[derive(Clone)]
struct Author {
    id: String,
    username: String,
}

struct Media {
    id: String,
    /// The account it concerns: the owner, or for `mention`, the account mentioned.
    account: String,
    owner: Author,
    caption: String,
    media_type: String,
    product_type: String,
    /// Unix seconds.
    timestamp: i64,
    /// All comments and replies, in creation order.
    comments: Vec<String>,
    /// Someone else's media that mentions the account.
    mention: bool,
}

struct Comment {
    id: String,
    media_id: String,
    /// The top-level comment, on a reply (Instagram threads one level deep).
    parent_id: Option<String>,
    text: String,
    /// Unix seconds.
    timestamp: i64,
    from: Author,
    hidden: bool,
    /// Deleted comments stay for the record but vanish from the Graph API.
    removed: bool,
}

struct Customer {
    username: String,
    name: String,
    /// When the customer last wrote (unix ms); none: only a private reply so far.
    last_user_ms: Option<i64>,
}

struct DirectMessage {
    account: String,
    igsid: String,
    from_customer: bool,
    deleted: bool,
}

/// Whom a token-addressed call (`/me/...`) stands for.
enum Owner {
    /// This Instagram account.
    Account(String),
    /// Not Instagram's: another platform's token (or no Instagram accounts at all).
    NotOurs,
    /// A token nobody has: 190.
    BadToken,
}

impl InstagramState {
    pub(super) fn add_account(&mut self, config: InstagramAccount) {
        let media_id = seeded_media_id(&config.ig_id);
        let owner = Author {
            id: config.ig_id.clone(),
            username: config.username.clone(),
        };
        self.media.insert(
            media_id.clone(),
            Media {
                id: media_id.clone(),
                account: config.ig_id.clone(),
                owner,
                caption: format!("Welcome to {}!", config.name),
                media_type: "IMAGE".into(),
                product_type: "FEED".into(),
                timestamp: unix_now(),
                comments: Vec::new(),
                mention: false,
            },
        );
        self.accounts.insert(
            config.ig_id.clone(),
            Account {
                config,
                subscribers: Vec::new(),
                media: vec![media_id],
            },
        );
    }

    pub(super) fn secret(&self, ig_id: &str) -> Option<String> {
        Some(self.accounts.get(ig_id)?.config.app_secret.clone())
    }

    /// Adds a subscriber, replacing (and so stopping) an older one with the same URL.
    pub(super) fn set_subscriber(&mut self, ig_id: &str, subscriber: Subscriber) {
        if let Some(account) = self.accounts.get_mut(ig_id) {
            account
                .subscribers
                .retain(|s| s.callback_url != subscriber.callback_url);
            account.subscribers.push(subscriber);
        }
    }

    /// The account a control call names, or the first one.
    fn account_id(&self, requested: Option<&str>) -> Result<String, String> {
        match requested.filter(|a| !a.is_empty()) {
            Some(id) if self.accounts.contains_key(id) => Ok(id.to_string()),
            Some(id) => Err(format!("unknown instagram account {id}")),
            None => self
                .accounts
                .keys()
                .next()
                .cloned()
                .ok_or_else(|| "no instagram account is configured".into()),
        }
    }

    fn by_token(&self, token: Option<&str>) -> Option<&Account> {
        let token = token?;
        self.accounts
            .values()
            .find(|a| a.config.access_token.as_deref() == Some(token))
    }

    /// Whom `/me` stands for: the account with this token; else, when no Facebook page
    /// claims the call, the only account configured without a token.
    fn me(&self, fb: &FacebookState, token: Option<&str>) -> Owner {
        if let Some(account) = self.by_token(token) {
            return Owner::Account(account.config.ig_id.clone());
        }
        if self.accounts.is_empty() {
            return Owner::NotOurs;
        }
        let page_claims = fb.page_configs().any(|p| match &p.access_token {
            None => true,
            Some(t) => token == Some(t.as_str()),
        });
        if page_claims {
            return Owner::NotOurs;
        }
        let open: Vec<&Account> = self
            .accounts
            .values()
            .filter(|a| a.config.access_token.is_none())
            .collect();
        match open.as_slice() {
            [only] => Owner::Account(only.config.ig_id.clone()),
            _ => Owner::BadToken,
        }
    }

    /// The account whose page is `page_id` (Facebook Login flavour).
    fn linked(&self, page_id: &str) -> Option<&Account> {
        self.accounts
            .values()
            .find(|a| a.config.page_id.as_deref() == Some(page_id))
    }

    /// A live (not deleted) comment, with the account its media concerns.
    fn live_comment(&self, comment_id: &str) -> Option<(&Comment, &Media)> {
        let comment = self.comments.get(comment_id).filter(|c| !c.removed)?;
        let media = self.media.get(&comment.media_id)?;
        Some((comment, media))
    }

    /// Queues one `messaging` event `times` times to every subscriber of the account.
    fn notify_messaging(&self, ig_id: &str, event: Value, times: u32) {
        let payload = json!({
            "object": "instagram",
            "entry": [{ "id": ig_id, "time": now_ms(), "messaging": [event] }],
        });
        self.deliver(ig_id, &payload, times);
    }

    /// Queues one `changes` entry (`comments`, `live_comments`, `mentions`) `times` times.
    fn notify_change(&self, ig_id: &str, field: &str, value: Value, times: u32) {
        let payload = json!({
            "object": "instagram",
            "entry": [{
                "id": ig_id,
                "time": unix_now(),
                "changes": [{ "field": field, "value": value }],
            }],
        });
        self.deliver(ig_id, &payload, times);
    }

    fn deliver(&self, ig_id: &str, payload: &Value, times: u32) {
        let Some(account) = self.accounts.get(ig_id) else {
            return;
        };
        for subscriber in &account.subscribers {
            for _ in 0..times {
                subscriber.send(payload.clone());
            }
        }
    }

    /// The `comments` webhook `value` of a comment: `from`, `media`, `id`, `parent_id`?,
    /// `text`; with the account it goes to.
    fn comment_change(&self, comment_id: &str) -> Option<(String, Value)> {
        let comment = self.comments.get(comment_id)?;
        let media = self.media.get(&comment.media_id)?;
        let mut value = json!({
            "from": author_json(&comment.from),
            "media": { "id": media.id, "media_product_type": media.product_type },
            "id": comment.id,
            "text": comment.text,
        });
        if let Some(parent) = &comment.parent_id {
            value["parent_id"] = json!(parent);
        }
        Some((media.account.clone(), value))
    }

    /// Adds a comment (a reply when `parent` is given: threaded under its top-level
    /// comment, as Instagram does) and returns its id.
    fn add_comment(
        &mut self,
        id: String,
        media_id: &str,
        parent: Option<&str>,
        from: Author,
        text: &str,
        timestamp: i64,
    ) -> Option<String> {
        let parent_id = match parent {
            Some(parent) => {
                let (comment, _) = self.live_comment(parent)?;
                Some(
                    comment
                        .parent_id
                        .clone()
                        .unwrap_or_else(|| comment.id.clone()),
                )
            }
            None => None,
        };
        self.media.get_mut(media_id)?.comments.push(id.clone());
        self.comments.insert(
            id.clone(),
            Comment {
                id: id.clone(),
                media_id: media_id.to_string(),
                parent_id,
                text: text.to_string(),
                timestamp,
                from,
                hidden: false,
                removed: false,
            },
        );
        Some(id)
    }
}

/// Current time in unix milliseconds.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn digest_u64(seed: &str) -> u64 {
    let digest = sha2::Sha256::digest(seed.as_bytes());
    u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"))
}

/// The Instagram-scoped id of a customer: stable per username, 16 digits.
fn igsid_for(username: &str) -> String {
    let n = digest_u64(&format!("igsid/{username}")) % 9_000_000_000_000_000;
    (1_000_000_000_000_000 + n).to_string()
}

/// The id of an account's seeded media post: stable, so tests and the demo can name it.
pub fn seeded_media_id(ig_id: &str) -> String {
    format!(
        "179{:014}",
        digest_u64(&format!("media/{ig_id}")) % 100_000_000_000_000
    )
}

/// A fresh media or comment id: 17 digits like Instagram's, unique (the shared counter).
fn new_object_id(em: &Emulator) -> String {
    format!("178{:014}", em.next_id() % 100_000_000_000_000)
}

/// A fresh message id, opaque base64 like Instagram's (`aWdf...`).
fn new_mid(em: &Emulator, ig_id: &str) -> String {
    let raw = format!("ig_message_item:1:IGMessageData:{ig_id}:{}", em.next_id());
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in raw.as_bytes().chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
        }
    }
    out
}

fn author_json(author: &Author) -> Value {
    json!({ "id": author.id, "username": author.username })
}

/// One entry of a Graph `fields` list: `name`, `name{nested,...}`, `name.modifier(arg){..}`.
struct Field {
    name: String,
    arg: Option<String>,
    nested: Option<Vec<Field>>,
}

/// Parses a Graph `fields` parameter, keeping nesting and modifier arguments.
fn parse_fields(fields: &str) -> Vec<Field> {
    let mut pieces = Vec::new();
    let mut depth = 0usize;
    let mut current = String::new();
    for ch in fields.chars() {
        match ch {
            '{' | '(' => depth += 1,
            '}' | ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                pieces.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(ch);
    }
    pieces.push(current);
    pieces
        .iter()
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .map(|raw| {
            let end = raw.find(['.', '{', '(']).unwrap_or(raw.len());
            let arg = raw.find('(').and_then(|i| {
                let rest = &raw[i + 1..];
                rest.find(')').map(|j| rest[..j].trim().to_string())
            });
            let nested = raw.find('{').and_then(|i| {
                let j = raw.rfind('}').filter(|j| *j > i)?;
                Some(parse_fields(&raw[i + 1..j]))
            });
            Field {
                name: raw[..end].trim().to_string(),
                arg,
                nested,
            }
        })
        .collect()
}

/// `full` restricted to the requested fields (nested objects to their nested fields), or to
/// `default` when none were requested; `id` always stays.
fn pick(full: Map<String, Value>, fields: Option<&[Field]>, default: &[&str]) -> Value {
    let mut out = Map::new();
    match fields {
        None => {
            for (k, v) in full {
                if k == "id" || default.contains(&k.as_str()) {
                    out.insert(k, v);
                }
            }
        }
        Some(fields) => {
            if let Some(id) = full.get("id") {
                out.insert("id".into(), id.clone());
            }
            for field in fields {
                let Some(value) = full.get(&field.name) else {
                    continue;
                };
                let value = match (value, &field.nested) {
                    (Value::Object(map), Some(nested)) if !map.contains_key("data") => {
                        pick(map.clone(), Some(nested), &[])
                    }
                    _ => value.clone(),
                };
                out.insert(field.name.clone(), value);
            }
        }
    }
    Value::Object(out)
}

fn bad_token() -> Response {
    graph_error(
        StatusCode::BAD_REQUEST,
        "Invalid OAuth access token - Cannot parse access token",
        "OAuthException",
        190,
        None,
    )
}

fn no_token() -> Response {
    graph_error(
        StatusCode::BAD_REQUEST,
        "An active access token must be used to query information about the current user.",
        "OAuthException",
        2500,
        None,
    )
}

/// Checks the account's token; for a linked account the page's own token is accepted too.
#[allow(clippy::result_large_err)] // the error is the Graph answer itself
fn check_token(req: &GraphRequest, account: &Account, fb: &FacebookState) -> Result<(), Response> {
    let Some(expected) = account.config.access_token.as_deref() else {
        return Ok(());
    };
    let token = req.access_token();
    let page_token = account.config.page_id.as_deref().and_then(|page_id| {
        fb.page_configs()
            .find(|p| p.page_id == page_id)
            .and_then(|p| p.access_token.clone())
    });
    if token.as_deref() == Some(expected) || (page_token.is_some() && token == page_token) {
        return Ok(());
    }
    Err(bad_token())
}

/// Fields only an Instagram account has: `/me` asking for one of them is Instagram's even
/// when a Facebook page shares the token.
const INSTAGRAM_FIELDS: &[&str] = &[
    "username",
    "user_id",
    "account_type",
    "media_count",
    "followers_count",
    "follows_count",
];

/// `GET /{ig-id}` and `/me`: the account (default fields `id`, `username`, `name`), and
/// Facebook Login's `mentioned_comment.comment_id(..)` / `mentioned_media.media_id(..)`.
fn account_node(ig: &InstagramState, account: &Account, req: &GraphRequest) -> Response {
    let config = &account.config;
    let mut full = Map::new();
    full.insert("id".into(), json!(config.ig_id));
    full.insert("user_id".into(), json!(config.ig_id));
    full.insert("username".into(), json!(config.username));
    full.insert("name".into(), json!(config.name));
    full.insert("account_type".into(), json!("BUSINESS"));
    full.insert("media_count".into(), json!(account.media.len()));
    full.insert("followers_count".into(), json!(0));
    full.insert("follows_count".into(), json!(0));
    let fields = req.param("fields").map(|f| parse_fields(&f));
    if let Some(fields) = &fields {
        for field in fields {
            let arg = field.arg.as_deref().unwrap_or("");
            let found = match field.name.as_str() {
                "mentioned_comment" => ig
                    .live_comment(arg)
                    .filter(|(_, m)| m.mention && m.account == config.ig_id)
                    .map(|(c, _)| comments::comment_json(ig, c, field.nested.as_deref())),
                "mentioned_media" => ig
                    .media
                    .get(arg)
                    .filter(|m| m.mention && m.account == config.ig_id)
                    .map(|m| comments::media_json(ig, m, field.nested.as_deref())),
                _ => continue,
            };
            let Some(found) = found else {
                return graph_error(
                    StatusCode::BAD_REQUEST,
                    &format!(
                        "(#100) No {} with id '{arg}' mentions this account",
                        field.name
                    ),
                    "OAuthException",
                    100,
                    None,
                );
            };
            full.insert(field.name.clone(), found);
        }
    }
    axum::Json(pick(full, fields.as_deref(), &["username", "name"])).into_response()
}

/// `GET /{page-id}` of a linked page: `id`, `name`, `instagram_business_account{id}`.
fn page_node(account: &Account, fb: &FacebookState, page_id: &str, req: &GraphRequest) -> Response {
    let name = fb
        .page_configs()
        .find(|p| p.page_id == page_id)
        .map_or(account.config.name.clone(), |p| p.name.clone());
    let mut full = Map::new();
    full.insert("id".into(), json!(page_id));
    full.insert("name".into(), json!(name));
    full.insert(
        "instagram_business_account".into(),
        json!({ "id": account.config.ig_id }),
    );
    let fields = req.param("fields").map(|f| parse_fields(&f));
    axum::Json(pick(full, fields.as_deref(), &["name"])).into_response()
}

/// Does the send's recipient belong to this Instagram account (a known IGSID, or one of its
/// comments)? Decides a call shared with Messenger (`/me/messages`, a linked page).
fn recipient_is_instagram(ig: &InstagramState, ig_id: &str, req: &GraphRequest) -> bool {
    let Some(recipient) = req.object_param("recipient") else {
        return false;
    };
    if let Some(id) = recipient.get("id").and_then(Value::as_str) {
        return ig
            .customers
            .contains_key(&(ig_id.to_string(), id.to_string()));
    }
    recipient
        .get("comment_id")
        .and_then(Value::as_str)
        .and_then(|c| ig.live_comment(c))
        .is_some_and(|(_, m)| m.account == ig_id)
}

/// Handles the Graph calls that concern Instagram; `None` leaves the call to the other
/// platforms (or to the "unsupported request" error).
pub(super) fn graph(em: &Emulator, req: &GraphRequest) -> Option<Response> {
    let segments: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    let mut guard = em.state();
    let state = &mut *guard;
    let (ig, fb) = (&mut state.instagram, &state.facebook);
    if ig.accounts.is_empty() {
        return None;
    }
    let token = req.access_token();
    // Resolve `me` or a linked page to the account, when the call is Instagram's.
    let (first, rest) = segments.split_first()?;
    let owner = if *first == "me" {
        match ig.me(fb, token.as_deref()) {
            Owner::Account(id) => {
                let shared = fb
                    .page_configs()
                    .any(|p| p.access_token.is_some() && p.access_token == token);
                let ours = match (&req.method, rest) {
                    (&Method::GET, []) => req.param("fields").is_some_and(|f| {
                        parse_fields(&f)
                            .iter()
                            .any(|f| INSTAGRAM_FIELDS.contains(&f.name.as_str()))
                    }),
                    (_, ["messages"]) => recipient_is_instagram(ig, &id, req),
                    _ => true,
                };
                if shared && !ours {
                    return None;
                }
                Some(id)
            }
            Owner::NotOurs => return None,
            Owner::BadToken if rest.is_empty() => return None, // Facebook's `/me` answers
            Owner::BadToken if token.is_none() => return Some(no_token()),
            Owner::BadToken => return Some(bad_token()),
        }
    } else if ig.accounts.contains_key(*first) {
        Some(first.to_string())
    } else if let Some(account) = ig.linked(first) {
        let id = account.config.ig_id.clone();
        let page_is_facebooks = fb.page_configs().any(|p| p.page_id == *first);
        let ours = match (&req.method, rest) {
            (&Method::GET, []) => req.param("fields").is_some_and(|f| {
                parse_fields(&f)
                    .iter()
                    .any(|f| f.name == "instagram_business_account")
            }),
            (&Method::POST, ["messages"]) => recipient_is_instagram(ig, &id, req),
            _ => false,
        };
        if page_is_facebooks && !ours {
            return None;
        }
        if let Err(response) = check_token(req, &ig.accounts[&id], fb) {
            return Some(response);
        }
        return match (&req.method, rest) {
            (&Method::GET, []) => Some(page_node(&ig.accounts[&id], fb, first, req)),
            (&Method::POST, ["messages"]) => Some(messaging::send(em, ig, &id, req)),
            (&Method::POST, ["subscribed_apps"]) => {
                Some(axum::Json(json!({ "success": true })).into_response())
            }
            _ => None,
        };
    } else {
        None
    };

    if let Some(ig_id) = owner {
        // Calls on the account itself.
        let account = &ig.accounts[&ig_id];
        if let Err(response) = check_token(req, account, fb) {
            return Some(response);
        }
        let response = match (&req.method, rest) {
            (&Method::GET, []) => account_node(ig, account, req),
            (&Method::POST, ["messages"]) => messaging::send(em, ig, &ig_id, req),
            (&Method::GET, ["media"]) => comments::media_list(ig, &ig_id, req),
            (&Method::POST, ["mentions"]) => comments::mention_reply(em, ig, &ig_id, req),
            (&Method::POST, ["subscribed_apps"]) => {
                axum::Json(json!({ "success": true })).into_response()
            }
            (&Method::GET, ["subscribed_apps"]) => axum::Json(json!({
                "data": [{ "subscribed_fields": ["comments", "live_comments", "mentions", "messages", "message_reactions", "messaging_postbacks", "messaging_seen", "messaging_referral"] }]
            }))
            .into_response(),
            _ => return None,
        };
        return Some(response);
    }

    // Calls on objects: media, comments, customers.
    let object = *first;
    let account_of = |ig: &InstagramState, id: &str| -> Option<String> {
        if let Some(media) = ig.media.get(id) {
            return Some(media.account.clone());
        }
        if let Some((_, media)) = ig.live_comment(id) {
            return Some(media.account.clone());
        }
        ig.customers
            .keys()
            .find(|(_, igsid)| igsid == id)
            .map(|(account, _)| account.clone())
    };
    let ig_id = account_of(ig, object)?;
    if let Err(response) = check_token(req, &ig.accounts[&ig_id], fb) {
        return Some(response);
    }
    if ig.media.contains_key(object) {
        return comments::media_call(em, ig, object, rest, req);
    }
    if ig.comments.contains_key(object) {
        return comments::comment_call(em, ig, object, rest, req);
    }
    match (&req.method, rest) {
        (&Method::GET, []) => Some(messaging::profile(ig, &ig_id, object, req)),
        _ => None,
    }
}

impl Emulator {
    /// Registers a webhook subscriber for an Instagram account, after Meta's GET
    /// verification handshake against `callback_url`. Subscribing the same URL again
    /// replaces the old subscription.
    pub async fn subscribe_instagram(
        &self,
        ig_id: &str,
        callback_url: &str,
        verify_token: &str,
    ) -> anyhow::Result<()> {
        let Some(secret) = self.state().instagram.secret(ig_id) else {
            bail!("unknown instagram account {ig_id}");
        };
        self.verify_meta_callback(callback_url, verify_token)
            .await?;
        let subscriber = self.start_subscriber(callback_url, &secret);
        self.state().instagram.set_subscriber(ig_id, subscriber);
        Ok(())
    }
}
