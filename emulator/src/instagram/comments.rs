//! Instagram media and comments from the business's side: `GET /{ig-id}/media`,
//! `GET /{media-id}`, `GET|POST /{media-id}/comments`, `GET /{comment-id}`,
//! `GET|POST /{comment-id}/replies`, `POST /{comment-id}` `hide=true|false` and
//! `DELETE /{comment-id}`, and `POST /{ig-id}/mentions` (a public reply where someone else
//! @mentioned the account). The account's own comments and replies on its own media are
//! announced by `comments` webhooks like anyone's (`from.id` is then the account's id); its
//! replies to mentions are not, as Instagram sends `comments` only for the account's media.

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::{
    Author, Comment, Field, InstagramState, Media, author_json, new_object_id, parse_fields, pick,
};
use crate::graph::{GraphRequest, graph_error, graph_time};
use crate::{Emulator, unix_now};

/// Longest comment Instagram accepts.
const MAX_COMMENT: usize = 2200;

/// Default fields of a comment, as Graph answers without `fields`.
const COMMENT_DEFAULT: &[&str] = &["text", "timestamp"];

fn fields_of(req: &GraphRequest) -> Option<Vec<Field>> {
    req.param("fields").map(|f| parse_fields(&f))
}

/// A comment as the Graph API shows it: `id`, `text`, `timestamp`, `from{id,username}`,
/// `username`, `hidden`, `like_count`, `media{id,media_product_type}`, `parent_id` (replies
/// only) and the `replies` edge when asked for.
pub(super) fn comment_json(
    ig: &InstagramState,
    comment: &Comment,
    fields: Option<&[Field]>,
) -> Value {
    let mut full = Map::new();
    full.insert("id".into(), json!(comment.id));
    full.insert("text".into(), json!(comment.text));
    full.insert("timestamp".into(), json!(graph_time(comment.timestamp)));
    full.insert("from".into(), author_json(&comment.from));
    full.insert("username".into(), json!(comment.from.username));
    full.insert("hidden".into(), json!(comment.hidden));
    full.insert("like_count".into(), json!(0));
    if let Some(media) = ig.media.get(&comment.media_id) {
        full.insert(
            "media".into(),
            json!({ "id": media.id, "media_product_type": media.product_type }),
        );
    }
    if let Some(parent) = &comment.parent_id {
        full.insert("parent_id".into(), json!(parent));
    }
    if let Some(replies) = fields.and_then(|f| f.iter().find(|f| f.name == "replies")) {
        let data: Vec<Value> = replies_of(ig, comment)
            .map(|r| comment_json(ig, r, replies.nested.as_deref()))
            .collect();
        full.insert("replies".into(), json!({ "data": data }));
    }
    pick(full, fields, COMMENT_DEFAULT)
}

fn replies_of<'a>(
    ig: &'a InstagramState,
    comment: &'a Comment,
) -> impl Iterator<Item = &'a Comment> {
    ig.media
        .get(&comment.media_id)
        .into_iter()
        .flat_map(|m| m.comments.iter())
        .filter_map(|id| ig.comments.get(id))
        .filter(move |c| !c.removed && c.parent_id.as_deref() == Some(comment.id.as_str()))
}

fn top_level<'a>(ig: &'a InstagramState, media: &'a Media) -> impl Iterator<Item = &'a Comment> {
    media
        .comments
        .iter()
        .filter_map(|id| ig.comments.get(id))
        .filter(|c| !c.removed && c.parent_id.is_none())
}

/// A media object: `id`, `caption`, `media_type`, `media_product_type`, `permalink`,
/// `timestamp`, `username`, `owner{id}`, `like_count`, `comments_count`, and the `comments`
/// edge when asked for. Without `fields`, only `id` (as Graph).
pub(super) fn media_json(ig: &InstagramState, media: &Media, fields: Option<&[Field]>) -> Value {
    let mut full = Map::new();
    full.insert("id".into(), json!(media.id));
    full.insert("caption".into(), json!(media.caption));
    full.insert("media_type".into(), json!(media.media_type));
    full.insert("media_product_type".into(), json!(media.product_type));
    full.insert(
        "permalink".into(),
        json!(format!("https://www.instagram.com/p/{}/", media.id)),
    );
    full.insert("timestamp".into(), json!(graph_time(media.timestamp)));
    full.insert("username".into(), json!(media.owner.username));
    full.insert("owner".into(), json!({ "id": media.owner.id }));
    full.insert("like_count".into(), json!(0));
    let live = media
        .comments
        .iter()
        .filter(|id| ig.comments.get(*id).is_some_and(|c| !c.removed))
        .count();
    full.insert("comments_count".into(), json!(live));
    if let Some(edge) = fields.and_then(|f| f.iter().find(|f| f.name == "comments")) {
        let data: Vec<Value> = top_level(ig, media)
            .map(|c| comment_json(ig, c, edge.nested.as_deref()))
            .collect();
        full.insert("comments".into(), json!({ "data": data }));
    }
    pick(full, fields, &[])
}

/// `{"data":[..],"paging":{"cursors":{"before","after"}}}` of `limit` items (default 25,
/// at most 100) after the `after` cursor; `paging` left out when `data` is empty.
fn paged(items: Vec<(String, Value)>, req: &GraphRequest) -> Value {
    let limit = req
        .param("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(25)
        .clamp(1, 100);
    let mut items = items;
    if let Some(after) = req.param("after")
        && let Some(pos) = items.iter().position(|(id, _)| hex::encode(id) == after)
    {
        items.drain(..=pos);
    }
    let more = items.len() > limit;
    items.truncate(limit);
    let mut body = json!({ "data": items.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>() });
    if let (Some((first, _)), Some((last, _))) = (items.first(), items.last()) {
        body["paging"] =
            json!({ "cursors": { "before": hex::encode(first), "after": hex::encode(last) } });
        if more {
            body["paging"]["next"] = json!(format!("?after={}&limit={limit}", hex::encode(last)));
        }
    }
    body
}

/// `GET /{ig-id}/media` (or `/me/media`): the account's media, newest first.
pub(super) fn media_list(ig: &InstagramState, ig_id: &str, req: &GraphRequest) -> Response {
    let fields = fields_of(req);
    let items = ig.accounts[ig_id]
        .media
        .iter()
        .rev()
        .filter_map(|id| ig.media.get(id))
        .map(|m| (m.id.clone(), media_json(ig, m, fields.as_deref())))
        .collect();
    axum::Json(paged(items, req)).into_response()
}

/// A Graph "invalid parameter" answer: 400, code 100.
fn invalid(message: &str) -> Response {
    graph_error(
        StatusCode::BAD_REQUEST,
        &format!("(#100) {message}"),
        "OAuthException",
        100,
        None,
    )
}

/// `POST /{ig-id}/mentions` `media_id, comment_id?, message` (its token already checked):
/// the account answers a mention on someone else's media, under the mentioning comment
/// (`comment_id`, a reply to a reply threads under its top-level comment) or, without it,
/// as a top-level comment on the media whose caption mentions it. `{"id"}`; outbound
/// `mention_reply` with the comment (or media) answered as target; no webhook.
pub(super) fn mention_reply(
    em: &Emulator,
    ig: &mut InstagramState,
    ig_id: &str,
    req: &GraphRequest,
) -> Response {
    let Some(media_id) = req.param("media_id").filter(|m| !m.is_empty()) else {
        return invalid("The parameter media_id is required");
    };
    if ig
        .media
        .get(&media_id)
        .is_none_or(|m| !m.mention || m.account != ig_id)
    {
        return invalid(&format!(
            "Media {media_id} does not mention this account or does not exist"
        ));
    }
    let comment_id = req.param("comment_id").filter(|c| !c.is_empty());
    if let Some(comment_id) = &comment_id
        && ig
            .live_comment(comment_id)
            .is_none_or(|(c, _)| c.media_id != media_id)
    {
        return invalid(&format!(
            "Comment {comment_id} does not exist on media {media_id}"
        ));
    }
    let message = match message_param(req) {
        Ok(message) => message,
        Err(response) => return response,
    };
    let from = account_author(ig, ig_id);
    let Some(id) = ig.add_comment(
        new_object_id(em),
        &media_id,
        comment_id.as_deref(),
        from,
        &message,
        unix_now(),
    ) else {
        return invalid(&format!("Media {media_id} cannot be replied to"));
    };
    let target = comment_id.as_deref().unwrap_or(&media_id);
    em.record(
        "instagram",
        "mention_reply",
        Some(target),
        &id,
        Some(&message),
    );
    axum::Json(json!({ "id": id })).into_response()
}

#[allow(clippy::result_large_err)] // the error is the Graph answer itself
fn message_param(req: &GraphRequest) -> Result<String, Response> {
    let Some(message) = req.param("message").filter(|m| !m.trim().is_empty()) else {
        return Err(graph_error(
            StatusCode::BAD_REQUEST,
            "(#100) The parameter message is required",
            "OAuthException",
            100,
            None,
        ));
    };
    if message.chars().count() > MAX_COMMENT {
        return Err(graph_error(
            StatusCode::BAD_REQUEST,
            &format!("(#100) The comment must be at most {MAX_COMMENT} characters long"),
            "OAuthException",
            100,
            None,
        ));
    }
    Ok(message)
}

/// The account, as the author of its own comments.
fn account_author(ig: &InstagramState, ig_id: &str) -> Author {
    let config = &ig.accounts[ig_id].config;
    Author {
        id: config.ig_id.clone(),
        username: config.username.clone(),
    }
}

/// Calls on a media object (its token already checked).
pub(super) fn media_call(
    em: &Emulator,
    ig: &mut InstagramState,
    media_id: &str,
    rest: &[&str],
    req: &GraphRequest,
) -> Option<Response> {
    let media = ig.media.get(media_id)?;
    let response = match (&req.method, rest) {
        (&Method::GET, []) => {
            axum::Json(media_json(ig, media, fields_of(req).as_deref())).into_response()
        }
        (&Method::GET, ["comments"]) => {
            let fields = fields_of(req);
            let items = top_level(ig, media)
                .map(|c| (c.id.clone(), comment_json(ig, c, fields.as_deref())))
                .collect();
            axum::Json(paged(items, req)).into_response()
        }
        (&Method::POST, ["comments"]) if !media.mention => {
            let message = match message_param(req) {
                Ok(message) => message,
                Err(response) => return Some(response),
            };
            let ig_id = media.account.clone();
            let from = account_author(ig, &ig_id);
            let id = ig.add_comment(
                new_object_id(em),
                media_id,
                None,
                from,
                &message,
                unix_now(),
            )?;
            em.record("instagram", "comment", Some(media_id), &id, Some(&message));
            announce(ig, &id);
            axum::Json(json!({ "id": id })).into_response()
        }
        _ => return None,
    };
    Some(response)
}

/// The `comments` webhook of a new comment, to the account its media concerns.
pub(super) fn announce(ig: &InstagramState, comment_id: &str) {
    if let Some((ig_id, value)) = ig.comment_change(comment_id) {
        ig.notify_change(&ig_id, "comments", value, 1);
    }
}

/// Calls on a comment (its token already checked); deleted comments are not there.
pub(super) fn comment_call(
    em: &Emulator,
    ig: &mut InstagramState,
    comment_id: &str,
    rest: &[&str],
    req: &GraphRequest,
) -> Option<Response> {
    let (comment, media) = ig.live_comment(comment_id)?;
    let on_own_media = !media.mention;
    let response = match (&req.method, rest) {
        (&Method::GET, []) => {
            axum::Json(comment_json(ig, comment, fields_of(req).as_deref())).into_response()
        }
        (&Method::GET, ["replies"]) => {
            let fields = fields_of(req);
            let items = replies_of(ig, comment)
                .map(|c| (c.id.clone(), comment_json(ig, c, fields.as_deref())))
                .collect();
            axum::Json(paged(items, req)).into_response()
        }
        (&Method::POST, ["replies"]) if on_own_media => {
            let message = match message_param(req) {
                Ok(message) => message,
                Err(response) => return Some(response),
            };
            let (media_id, ig_id) = (media.id.clone(), media.account.clone());
            let from = account_author(ig, &ig_id);
            let id = ig.add_comment(
                new_object_id(em),
                &media_id,
                Some(comment_id),
                from,
                &message,
                unix_now(),
            )?;
            em.record("instagram", "reply", Some(comment_id), &id, Some(&message));
            announce(ig, &id);
            axum::Json(json!({ "id": id })).into_response()
        }
        (&Method::POST, []) if on_own_media => {
            let Some(hide) = req.param("hide") else {
                return Some(graph_error(
                    StatusCode::BAD_REQUEST,
                    "(#100) The parameter hide is required",
                    "OAuthException",
                    100,
                    None,
                ));
            };
            let hidden = hide == "true" || hide == "1";
            ig.comments.get_mut(comment_id)?.hidden = hidden;
            let kind = if hidden { "hide" } else { "unhide" };
            em.record("instagram", kind, Some(comment_id), comment_id, None);
            json_success()
        }
        (&Method::DELETE, []) if on_own_media => {
            // A deleted comment takes its replies with it.
            let media_id = media.id.clone();
            let thread: Vec<String> = ig.media[&media_id]
                .comments
                .iter()
                .filter(|id| {
                    id.as_str() == comment_id
                        || ig.comments.get(*id).and_then(|c| c.parent_id.as_deref())
                            == Some(comment_id)
                })
                .cloned()
                .collect();
            for id in thread {
                if let Some(c) = ig.comments.get_mut(&id) {
                    c.removed = true;
                }
            }
            em.record("instagram", "delete", Some(comment_id), comment_id, None);
            json_success()
        }
        _ => return None,
    };
    Some(response)
}

fn json_success() -> Response {
    axum::Json(json!({ "success": true })).into_response()
}
