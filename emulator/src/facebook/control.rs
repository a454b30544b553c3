//! Control endpoints under `/_emulator/facebook/`: customers post, comment (with a photo, a
//! sticker or a video too), edit and remove; tests subscribe webhooks, look at a page and
//! inject Graph failures.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Author, CommentAttachment, author_id_for, author_json, cdn};
use crate::graph::graph_time;
use crate::{Emulator, InjectedFailure, control_error, parse_control, unix_now};

/// The `/_emulator/facebook/...` control routes.
pub(crate) fn control_routes() -> Router<Emulator> {
    Router::new()
        .route("/_emulator/facebook/comments", post(control_comment))
        .route("/_emulator/facebook/subscriptions", post(control_subscribe))
        .route("/_emulator/facebook/pages/{page_id}", get(control_page))
        .route("/_emulator/facebook/edit", post(control_edit))
        .route("/_emulator/facebook/remove", post(control_remove))
        .route("/_emulator/facebook/failures", post(control_failures))
        .merge(super::messenger::control_routes())
        .merge(super::upload::routes())
        .merge(super::cdn::routes())
}

#[derive(Deserialize)]
struct CommentRequest {
    page_id: String,
    #[serde(default)]
    post_id: Option<String>,
    #[serde(default)]
    parent_id: Option<String>,
    author_name: String,
    #[serde(default)]
    author_id: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    deliveries: Option<u32>,
    #[serde(default)]
    created_time: Option<i64>,
    /// A photo, sticker or video on a comment.
    #[serde(default)]
    attachment: Option<AttachmentRequest>,
}

#[derive(Deserialize)]
struct AttachmentRequest {
    /// `photo` (the default), `sticker` or `video`.
    #[serde(rename = "type", default)]
    kind: Option<String>,
    /// Its file (default: a sample on the emulator's CDN).
    #[serde(default)]
    url: Option<String>,
}

/// A customer posts on the page or comments; the page's subscribers get a feed webhook.
async fn control_comment(
    AxState(em): AxState<Emulator>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let req: CommentRequest = match parse_control(&body) {
        Ok(req) => req,
        Err(response) => return response,
    };
    let attachment = match &req.attachment {
        None => None,
        Some(a) => {
            let kind = a.kind.clone().unwrap_or_else(|| "photo".into());
            let sample = match kind.as_str() {
                "photo" => "photo.png",
                "sticker" => "sticker.png",
                "video" => "clip.mp4",
                other => {
                    return control_error(
                        StatusCode::BAD_REQUEST,
                        format!("attachment type is photo, sticker or video, not {other}"),
                    );
                }
            };
            let url = a
                .url
                .clone()
                .unwrap_or_else(|| cdn::sample_url(&headers, sample));
            Some(CommentAttachment { kind, url })
        }
    };
    let text = req.text.filter(|t| !t.trim().is_empty());
    if text.is_none() && attachment.is_none() {
        return control_error(StatusCode::BAD_REQUEST, "text is required");
    }
    if attachment.is_some() && req.post_id.is_none() && req.parent_id.is_none() {
        return control_error(
            StatusCode::BAD_REQUEST,
            "an attachment goes on a comment: name post_id or parent_id",
        );
    }
    let text = text.unwrap_or_default();
    let from = Author {
        id: req
            .author_id
            .unwrap_or_else(|| author_id_for(&req.author_name)),
        name: req.author_name,
    };
    let time = req.created_time.unwrap_or_else(unix_now);
    let deliveries = req.deliveries.unwrap_or(1);
    let seq = em.next_id();
    let mut state = em.state();
    let fb = &mut state.facebook;
    if !fb.pages.contains_key(&req.page_id) {
        return control_error(
            StatusCode::NOT_FOUND,
            format!("unknown page {}", req.page_id),
        );
    }
    // A parent comment alone is enough to know the post.
    let post_id = req.post_id.or_else(|| {
        let parent = req.parent_id.as_deref()?;
        fb.locate(parent).map(|(_, post)| post)
    });
    let Some(post_id) = post_id else {
        let Some(id) = fb.create_post(&req.page_id, seq, from, &text, time) else {
            return control_error(
                StatusCode::NOT_FOUND,
                format!("unknown page {}", req.page_id),
            );
        };
        if let Some(value) = fb.post_change(&req.page_id, &id) {
            fb.notify(&req.page_id, value, deliveries);
        }
        return axum::Json(json!({ "post_id": id, "comment_id": null })).into_response();
    };
    match fb.locate(&post_id) {
        Some((page_id, post)) if page_id == req.page_id && post == post_id => {}
        _ => {
            return control_error(
                StatusCode::NOT_FOUND,
                format!("unknown post {post_id} on page {}", req.page_id),
            );
        }
    }
    let parent_id = req.parent_id.unwrap_or_else(|| post_id.clone());
    match fb.locate(&parent_id) {
        Some((_, post)) if post == post_id => {}
        _ => {
            return control_error(
                StatusCode::NOT_FOUND,
                format!("unknown parent {parent_id} on post {post_id}"),
            );
        }
    }
    let Some(comment_id) = fb.create_comment(&parent_id, seq, from, &text, time) else {
        return control_error(StatusCode::NOT_FOUND, format!("unknown parent {parent_id}"));
    };
    if let Some((comment, _, _)) = fb.comment_mut(&comment_id) {
        comment.attachment = attachment;
    }
    fb.notify_comment(&comment_id, "add", deliveries);
    axum::Json(json!({ "post_id": post_id, "comment_id": comment_id })).into_response()
}

#[derive(Deserialize)]
struct SubscribeRequest {
    page_id: String,
    callback_url: String,
    #[serde(default)]
    verify_token: String,
}

/// Same as [`Emulator::subscribe_facebook`], over HTTP.
async fn control_subscribe(AxState(em): AxState<Emulator>, body: Bytes) -> Response {
    let req: SubscribeRequest = match parse_control(&body) {
        Ok(req) => req,
        Err(response) => return response,
    };
    if em.state().facebook.page_secret(&req.page_id).is_none() {
        return control_error(
            StatusCode::NOT_FOUND,
            format!("unknown page {}", req.page_id),
        );
    }
    match em
        .subscribe_facebook(&req.page_id, &req.callback_url, &req.verify_token)
        .await
    {
        Ok(()) => axum::Json(json!({ "ok": true })).into_response(),
        Err(err) => control_error(StatusCode::BAD_GATEWAY, format!("{err:#}")),
    }
}

/// The page with all its posts and comments (removed and hidden ones flagged), oldest first.
async fn control_page(AxState(em): AxState<Emulator>, Path(page_id): Path<String>) -> Response {
    let state = em.state();
    let Some(page) = state.facebook.pages.get(&page_id) else {
        return control_error(StatusCode::NOT_FOUND, format!("unknown page {page_id}"));
    };
    let posts: Vec<Value> = page
        .posts
        .iter()
        .map(|post| {
            let comments: Vec<Value> = post
                .comments
                .iter()
                .map(|c| {
                    json!({
                        "id": c.id,
                        "parent_id": c.parent_id,
                        "message": c.message,
                        "created_time": graph_time(c.created_time),
                        "from": author_json(&c.from),
                        "is_hidden": c.is_hidden,
                        "removed": c.removed,
                        "attachment": c.attachment.as_ref().map(|a| json!({ "type": a.kind, "url": a.url })),
                    })
                })
                .collect();
            json!({
                "id": post.id,
                "message": post.message,
                "created_time": graph_time(post.created_time),
                "from": author_json(&post.from),
                "comments": comments,
            })
        })
        .collect();
    let subscribers: Vec<&str> = page
        .subscribers
        .iter()
        .map(|s| s.callback_url.as_str())
        .collect();
    axum::Json(json!({
        "id": page.config.page_id,
        "name": page.config.name,
        "posts": posts,
        "subscribers": subscribers,
    }))
    .into_response()
}

#[derive(Deserialize)]
struct EditRequest {
    comment_id: String,
    #[serde(default)]
    text: Option<String>,
}

/// The customer edits their comment: `verb: "edited"` webhook with the new message.
async fn control_edit(AxState(em): AxState<Emulator>, body: Bytes) -> Response {
    let req: EditRequest = match parse_control(&body) {
        Ok(req) => req,
        Err(response) => return response,
    };
    let Some(text) = req.text.filter(|t| !t.trim().is_empty()) else {
        return control_error(StatusCode::BAD_REQUEST, "text is required");
    };
    let mut state = em.state();
    let fb = &mut state.facebook;
    match fb.comment_mut(&req.comment_id) {
        Some((comment, _, _)) if !comment.removed => comment.message = text,
        _ => {
            return control_error(
                StatusCode::NOT_FOUND,
                format!("unknown comment {}", req.comment_id),
            );
        }
    }
    fb.notify_comment(&req.comment_id, "edited", 1);
    axum::Json(json!({ "ok": true })).into_response()
}

#[derive(Deserialize)]
struct RemoveRequest {
    comment_id: String,
}

/// The customer removes their comment: `verb: "remove"` webhook without a message.
async fn control_remove(AxState(em): AxState<Emulator>, body: Bytes) -> Response {
    let req: RemoveRequest = match parse_control(&body) {
        Ok(req) => req,
        Err(response) => return response,
    };
    let mut state = em.state();
    let fb = &mut state.facebook;
    match fb.comment_mut(&req.comment_id) {
        Some((comment, _, _)) if !comment.removed => comment.removed = true,
        _ => {
            return control_error(
                StatusCode::NOT_FOUND,
                format!("unknown comment {}", req.comment_id),
            );
        }
    }
    fb.notify_comment(&req.comment_id, "remove", 1);
    axum::Json(json!({ "ok": true })).into_response()
}

/// The next `count` Graph calls fail with the given status and Graph error.
async fn control_failures(AxState(em): AxState<Emulator>, body: Bytes) -> Response {
    let failure: InjectedFailure = match parse_control(&body) {
        Ok(failure) => failure,
        Err(response) => return response,
    };
    match em.inject_failures(failure) {
        Ok(()) => axum::Json(json!({ "ok": true })).into_response(),
        Err(reason) => control_error(StatusCode::BAD_REQUEST, reason),
    }
}
