//! Facebook pages: the Graph API a page connector uses (feed, comments, hide, delete,
//! subscribed_apps) and the `feed` webhooks Meta sends. The control endpoints that play the
//! customers' side are in [`control`]; Messenger on the same pages is in [`messenger`], its
//! Attachment Upload API in [`upload`]; the media CDN (the files customers send, on
//! Messenger and Instagram alike) in [`cdn`].

pub(super) mod cdn;
mod control;
#[cfg(test)]
mod media_tests;
mod messenger;
#[cfg(test)]
mod tests;
mod upload;

use std::collections::{BTreeMap, HashMap};

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use sha2::Digest;

use super::graph::{GraphRequest, graph_error, graph_time};
use super::{Emulator, Subscriber, unix_now};

pub(super) use control::control_routes;

/// A Facebook page that exists on the emulated platform.
#[derive(Clone, Debug)]
pub struct FacebookPage {
    /// The page id, e.g. `"448242228374517"`.
    pub page_id: String,
    /// Display name, used as `from.name` on the page's own posts and comments.
    pub name: String,
    /// The app secret that signs webhooks for this page.
    pub app_secret: String,
    /// When set, Graph calls on this page's objects must carry this token.
    pub access_token: Option<String>,
}

/// All pages and their content.
#[derive(Default)]
pub(super) struct FacebookState {
    pages: BTreeMap<String, Page>,
    /// Post or comment id -> where it lives, so `/{object-id}` calls find their object.
    index: HashMap<String, ObjectRef>,
    /// Messenger conversations and private replies.
    messenger: messenger::MessengerState,
}

struct Page {
    config: FacebookPage,
    /// In creation order (the feed reverses it).
    posts: Vec<Post>,
    subscribers: Vec<Subscriber>,
}

#[derive(Clone)]
struct Author {
    id: String,
    name: String,
}

struct Post {
    id: String,
    message: String,
    created_time: i64,
    from: Author,
    /// Top-level comments and replies, in creation order.
    comments: Vec<Comment>,
}

struct Comment {
    id: String,
    /// The post id for a top-level comment, else the comment replied to (as in webhooks).
    parent_id: String,
    message: String,
    created_time: i64,
    from: Author,
    is_hidden: bool,
    /// Removed comments stay for the record but vanish from the Graph API.
    removed: bool,
    /// A photo, sticker or video the comment carries.
    attachment: Option<CommentAttachment>,
}

/// What a comment carries besides its text.
#[derive(Clone)]
struct CommentAttachment {
    /// `photo`, `sticker` or `video`.
    kind: String,
    /// Where its file is.
    url: String,
}

impl CommentAttachment {
    /// As the Graph API reads it on a comment (a "story attachment").
    fn story_json(&self, comment_id: &str) -> Value {
        let page = format!("https://www.facebook.com/{comment_id}");
        match self.kind.as_str() {
            "video" => json!({
                "type": "video_inline",
                "media": { "image": { "src": self.url, "height": 16, "width": 16 }, "source": self.url },
                "url": page,
            }),
            "sticker" => json!({
                "type": "sticker",
                "media": { "image": { "src": self.url, "height": 16, "width": 16 } },
                "target": { "id": "126361870881943", "url": "https://www.facebook.com/126361870881943" },
                "url": page,
            }),
            _ => json!({
                "type": "photo",
                "media": { "image": { "src": self.url, "height": 16, "width": 16 } },
                "target": { "id": comment_id, "url": page },
                "url": page,
            }),
        }
    }
}

#[derive(Clone)]
enum ObjectRef {
    Post { page_id: String },
    Comment { page_id: String, post_id: String },
}

impl FacebookState {
    pub(super) fn add_page(&mut self, config: FacebookPage) {
        let page = Page {
            config: config.clone(),
            posts: Vec::new(),
            subscribers: Vec::new(),
        };
        self.pages.insert(config.page_id, page);
    }

    /// The configured pages (other Meta products look up a linked page's token here).
    pub(super) fn page_configs(&self) -> impl Iterator<Item = &FacebookPage> {
        self.pages.values().map(|p| &p.config)
    }

    pub(super) fn page_secret(&self, page_id: &str) -> Option<String> {
        Some(self.pages.get(page_id)?.config.app_secret.clone())
    }

    /// Adds a subscriber, replacing (and so stopping) an older one with the same URL.
    pub(super) fn set_subscriber(&mut self, page_id: &str, subscriber: Subscriber) {
        if let Some(page) = self.pages.get_mut(page_id) {
            page.subscribers
                .retain(|s| s.callback_url != subscriber.callback_url);
            page.subscribers.push(subscriber);
        }
    }

    fn post_mut(&mut self, page_id: &str, post_id: &str) -> Option<&mut Post> {
        let page = self.pages.get_mut(page_id)?;
        page.posts.iter_mut().find(|p| p.id == post_id)
    }

    fn comment_mut(&mut self, comment_id: &str) -> Option<(&mut Comment, String, String)> {
        let Some(ObjectRef::Comment { page_id, post_id }) = self.index.get(comment_id).cloned()
        else {
            return None;
        };
        let post = self.post_mut(&page_id, &post_id)?;
        let comment = post.comments.iter_mut().find(|c| c.id == comment_id)?;
        Some((comment, page_id, post_id))
    }

    /// Where a live (not removed) object lives: its page id and post id.
    fn locate(&self, object_id: &str) -> Option<(String, String)> {
        match self.index.get(object_id)? {
            ObjectRef::Post { page_id } => Some((page_id.clone(), object_id.to_string())),
            ObjectRef::Comment { page_id, post_id } => {
                let post = self
                    .pages
                    .get(page_id)?
                    .posts
                    .iter()
                    .find(|p| p.id == *post_id)?;
                let comment = post.comments.iter().find(|c| c.id == object_id)?;
                (!comment.removed).then(|| (page_id.clone(), post_id.clone()))
            }
        }
    }

    fn create_post(
        &mut self,
        page_id: &str,
        seq: u64,
        from: Author,
        message: &str,
        time: i64,
    ) -> Option<String> {
        let page = self.pages.get_mut(page_id)?;
        let id = format!("{page_id}_{seq}");
        page.posts.push(Post {
            id: id.clone(),
            message: message.to_string(),
            created_time: time,
            from,
            comments: Vec::new(),
        });
        self.index.insert(
            id.clone(),
            ObjectRef::Post {
                page_id: page_id.to_string(),
            },
        );
        Some(id)
    }

    /// Creates a comment on a post or a reply to a comment; `target_id` must be live.
    fn create_comment(
        &mut self,
        target_id: &str,
        seq: u64,
        from: Author,
        message: &str,
        time: i64,
    ) -> Option<String> {
        let (page_id, post_id) = self.locate(target_id)?;
        let suffix = post_id.rsplit('_').next().unwrap_or(&post_id).to_string();
        let id = format!("{suffix}_{seq}");
        self.post_mut(&page_id, &post_id)?.comments.push(Comment {
            id: id.clone(),
            parent_id: target_id.to_string(),
            message: message.to_string(),
            created_time: time,
            from,
            is_hidden: false,
            removed: false,
            attachment: None,
        });
        self.index.insert(
            id.clone(),
            ObjectRef::Comment {
                page_id: page_id.clone(),
                post_id,
            },
        );
        Some(id)
    }

    /// The feed webhook `value` for a comment, with `verb`; removals carry no message.
    fn comment_change(&mut self, comment_id: &str, verb: &str) -> Option<(String, Value)> {
        let (comment, page_id, post_id) = self.comment_mut(comment_id)?;
        let mut value = json!({
            "from": { "id": comment.from.id, "name": comment.from.name },
            "post_id": post_id,
            "comment_id": comment.id,
            "parent_id": comment.parent_id,
            "created_time": comment.created_time,
            "item": "comment",
            "verb": verb,
        });
        if verb != "remove" {
            value["message"] = json!(comment.message);
            // Webhooks give a comment's photo (a sticker too) or video as a bare URL.
            if let Some(a) = &comment.attachment {
                let field = if a.kind == "video" { "video" } else { "photo" };
                value[field] = json!(a.url);
            }
        }
        Some((page_id, value))
    }

    /// The feed webhook `value` announcing a new post.
    fn post_change(&self, page_id: &str, post_id: &str) -> Option<Value> {
        let post = self
            .pages
            .get(page_id)?
            .posts
            .iter()
            .find(|p| p.id == post_id)?;
        // Meta calls the page's own posts "status" and visitors' posts "post".
        let item = if post.from.id == page_id {
            "status"
        } else {
            "post"
        };
        Some(json!({
            "from": author_json(&post.from),
            "message": post.message,
            "post_id": post.id,
            "created_time": post.created_time,
            "item": item,
            "verb": "add",
            "published": 1,
        }))
    }

    /// Queues a feed webhook `times` times to every subscriber of the page. Called with the
    /// state lock held, which keeps deliveries in creation order.
    fn notify(&self, page_id: &str, value: Value, times: u32) {
        let Some(page) = self.pages.get(page_id) else {
            return;
        };
        let payload = json!({
            "object": "page",
            "entry": [{
                "id": page_id,
                "time": unix_now(),
                "changes": [{ "field": "feed", "value": value }],
            }],
        });
        for subscriber in &page.subscribers {
            for _ in 0..times {
                subscriber.send(payload.clone());
            }
        }
    }

    fn notify_comment(&mut self, comment_id: &str, verb: &str, times: u32) {
        if let Some((page_id, value)) = self.comment_change(comment_id, verb) {
            self.notify(&page_id, value, times);
        }
    }
}

/// A stable, Facebook-looking user id for a name, so the same customer keeps one id.
fn author_id_for(name: &str) -> String {
    let digest = sha2::Sha256::digest(name.as_bytes());
    let n = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"));
    (1_000_000_000_000_000 + n % 9_000_000_000_000_000).to_string()
}

fn author_json(author: &Author) -> Value {
    json!({ "id": author.id, "name": author.name })
}

fn comment_json(comment: &Comment, post_id: &str) -> Value {
    let mut value = json!({
        "id": comment.id,
        "message": comment.message,
        "created_time": graph_time(comment.created_time),
        "from": author_json(&comment.from),
    });
    // Graph only has `parent` on replies; a top-level comment's parent is the post itself.
    if comment.parent_id != post_id {
        value["parent"] = json!({ "id": comment.parent_id });
    }
    if let Some(a) = &comment.attachment {
        value["attachment"] = a.story_json(&comment.id);
    }
    value
}

fn post_json(post: &Post, fields: Option<&[String]>) -> Value {
    let comments: Vec<Value> = post
        .comments
        .iter()
        .filter(|c| !c.removed)
        .map(|c| comment_json(c, &post.id))
        .collect();
    let mut value = json!({
        "id": post.id,
        "message": post.message,
        "created_time": graph_time(post.created_time),
        "from": author_json(&post.from),
    });
    // Like Graph, an edge with nothing in it is left out rather than sent empty.
    if !comments.is_empty() {
        let first = comments[0]["id"].as_str().unwrap_or_default();
        let last = comments[comments.len() - 1]["id"]
            .as_str()
            .unwrap_or_default();
        let cursors = json!({ "before": cursor(first), "after": cursor(last) });
        value["comments"] = json!({ "data": comments, "paging": { "cursors": cursors } });
    }
    if let (Some(fields), Value::Object(map)) = (fields, &mut value) {
        map.retain(|k, _| k == "id" || fields.iter().any(|f| f == k));
    }
    value
}

/// Opaque paging cursor for an object id (Graph's are opaque too).
fn cursor(id: &str) -> String {
    hex::encode(id)
}

/// Top-level names of a Graph `fields` parameter, e.g. `from,comments{from,message}`.
fn top_level_fields(fields: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut depth = 0usize;
    let mut current = String::new();
    for ch in fields.chars() {
        match ch {
            '{' | '(' => depth += 1,
            '}' | ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => names.push(std::mem::take(&mut current)),
            _ if depth == 0 => current.push(ch),
            _ => {}
        }
    }
    names.push(current);
    names
        .into_iter()
        .map(|n| n.split('.').next().unwrap_or("").trim().to_string())
        .filter(|n| !n.is_empty())
        .collect()
}

/// Handles the Graph calls that concern Facebook pages; `None` leaves the call to other
/// platforms (or the "unsupported request" error).
pub(super) fn graph(em: &Emulator, req: &GraphRequest) -> Option<Response> {
    let segments: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    let mut state = em.state();
    let fb = &mut state.facebook;
    if let Some(response) = messenger::graph(em, fb, req, &segments) {
        return Some(response);
    }
    if let (&Method::GET, ["me"]) = (&req.method, segments.as_slice()) {
        return Some(me(fb, req));
    }
    let (object_id, edge) = match segments.as_slice() {
        [id] => (*id, None),
        [id, edge] => (*id, Some(*edge)),
        _ => return None,
    };
    // Find the page that owns the object, for the token check.
    let (page_id, post_id) = if fb.pages.contains_key(object_id) {
        (object_id.to_string(), None)
    } else {
        let (page_id, post_id) = fb.locate(object_id)?;
        (page_id, Some(post_id))
    };
    let page = &fb.pages[&page_id];
    if let Err(response) = req.check_token(page.config.access_token.as_deref()) {
        return Some(response);
    }
    let is_comment = post_id.as_deref().is_some_and(|p| p != object_id);
    let response = match (&req.method, edge, post_id.is_some()) {
        (&Method::GET, Some("feed"), false) => feed(page, req),
        (&Method::POST, Some("subscribed_apps"), false) => json!({ "success": true }),
        (&Method::GET, None, false) => page_json(page, req),
        (&Method::POST, Some("comments"), true) => {
            // A comment is text, a photo by URL (`attachment_url`), or both.
            let message = req.param("message").filter(|m| !m.trim().is_empty());
            let photo = req.param("attachment_url").filter(|u| !u.trim().is_empty());
            if message.is_none() && photo.is_none() {
                return Some(graph_error(
                    StatusCode::BAD_REQUEST,
                    "(#100) The parameter message or attachment_url is required",
                    "OAuthException",
                    100,
                    None,
                ));
            }
            if photo
                .as_deref()
                .is_some_and(|u| !u.starts_with("http://") && !u.starts_with("https://"))
            {
                return Some(graph_error(
                    StatusCode::BAD_REQUEST,
                    "(#100) param attachment_url must be a valid URL",
                    "OAuthException",
                    100,
                    None,
                ));
            }
            let from = Author {
                id: page.config.page_id.clone(),
                name: page.config.name.clone(),
            };
            let text = message.clone().unwrap_or_default();
            let id = fb.create_comment(object_id, em.next_id(), from, &text, unix_now())?;
            if let Some(url) = &photo
                && let Some((comment, _, _)) = fb.comment_mut(&id)
            {
                comment.attachment = Some(CommentAttachment {
                    kind: "photo".into(),
                    url: url.clone(),
                });
            }
            em.record(
                "facebook",
                "comment",
                Some(object_id),
                &id,
                message.as_deref(),
            );
            // The real platform echoes the page's own comments as feed webhooks too.
            fb.notify_comment(&id, "add", 1);
            json!({ "id": id })
        }
        (&Method::GET, Some("comments"), true) => {
            let post_id = post_id.as_deref()?;
            let post = page.posts.iter().find(|p| p.id == post_id)?;
            let data: Vec<Value> = post
                .comments
                .iter()
                .filter(|c| !c.removed && c.parent_id == object_id)
                .map(|c| comment_json(c, post_id))
                .collect();
            json!({ "data": data })
        }
        (&Method::GET, None, true) => {
            let post_id = post_id.as_deref()?;
            let post = page.posts.iter().find(|p| p.id == post_id)?;
            match post.comments.iter().find(|c| c.id == object_id) {
                Some(comment) => comment_json(comment, post_id),
                None => post_json(post, None),
            }
        }
        (&Method::POST, None, true) if is_comment => {
            let (comment, _, _) = fb.comment_mut(object_id)?;
            if let Some(hidden) = req.param("is_hidden") {
                comment.is_hidden = hidden == "true" || hidden == "1";
                let kind = if comment.is_hidden { "hide" } else { "unhide" };
                em.record("facebook", kind, Some(object_id), object_id, None);
            } else if let Some(message) = req.param("message") {
                comment.message = message.clone();
                em.record(
                    "facebook",
                    "edit",
                    Some(object_id),
                    object_id,
                    Some(&message),
                );
                fb.notify_comment(object_id, "edited", 1);
            } else {
                return Some(graph_error(
                    StatusCode::BAD_REQUEST,
                    "(#100) Nothing to update: pass is_hidden or message",
                    "OAuthException",
                    100,
                    None,
                ));
            }
            json!({ "success": true })
        }
        (&Method::DELETE, None, true) if is_comment => {
            fb.comment_mut(object_id)?.0.removed = true;
            em.record("facebook", "delete", Some(object_id), object_id, None);
            fb.notify_comment(object_id, "remove", 1);
            json!({ "success": true })
        }
        _ => return None,
    };
    Some(axum::Json(response).into_response())
}

/// `GET /{page-id}` (and `/me` with a page token): `id` and `name`, restricted to `fields`
/// when given (`id` always; fields a page here does not have are left out).
fn page_json(page: &Page, req: &GraphRequest) -> Value {
    let mut value = json!({ "id": page.config.page_id, "name": page.config.name });
    if let (Some(fields), Value::Object(map)) = (req.param("fields"), &mut value) {
        let wanted = top_level_fields(&fields);
        map.retain(|k, _| k == "id" || wanted.iter().any(|f| f == k));
    }
    value
}

/// `GET /me`: with a page access token, the page it belongs to (as Graph answers). A
/// token no page has → 400 code 190. A page configured without a token takes any
/// token, so `/me` names it when it is the only such page.
fn me(fb: &FacebookState, req: &GraphRequest) -> Response {
    let token = req.access_token().filter(|t| !t.is_empty());
    let by_token = token.as_deref().and_then(|t| {
        fb.pages
            .values()
            .find(|p| p.config.access_token.as_deref() == Some(t))
    });
    let open: Vec<&Page> = fb
        .pages
        .values()
        .filter(|p| p.config.access_token.is_none())
        .collect();
    let page = by_token.or(match open.as_slice() {
        [only] => Some(*only),
        _ => None,
    });
    match (page, token) {
        (Some(page), _) => axum::Json(page_json(page, req)).into_response(),
        (None, None) => graph_error(
            StatusCode::BAD_REQUEST,
            "An active access token must be used to query information about the current user.",
            "OAuthException",
            2500,
            None,
        ),
        (None, Some(_)) => graph_error(
            StatusCode::BAD_REQUEST,
            "Invalid OAuth access token - Cannot parse access token",
            "OAuthException",
            190,
            None,
        ),
    }
}

/// `GET /{page-id}/feed`: newest post first, `limit` posts (default 25), `after` cursor.
fn feed(page: &Page, req: &GraphRequest) -> Value {
    let limit = req
        .param("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(25)
        .clamp(1, 100);
    let fields = req.param("fields").map(|f| top_level_fields(&f));
    let mut posts: Vec<&Post> = page.posts.iter().rev().collect();
    if let Some(after) = req.param("after")
        && let Some(pos) = posts.iter().position(|p| cursor(&p.id) == after)
    {
        posts.drain(..=pos);
    }
    posts.truncate(limit);
    let data: Vec<Value> = posts
        .iter()
        .map(|p| post_json(p, fields.as_deref()))
        .collect();
    let mut body = json!({ "data": data });
    if let (Some(first), Some(last)) = (posts.first(), posts.last()) {
        body["paging"] =
            json!({ "cursors": { "before": cursor(&first.id), "after": cursor(&last.id) } });
    }
    body
}
