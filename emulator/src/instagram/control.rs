//! Control endpoints under `/_emulator/instagram/`: customers comment and mention the
//! account (here) and write DMs (in [`super::inbox`]); tests add media, subscribe webhooks
//! and look at an account.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::inbox::{
    control_message, control_postback, control_reaction, control_read, control_unsend, customer_id,
    default_username,
};
use super::{Author, InstagramState, Media, author_json, new_object_id};
use crate::graph::graph_time;
use crate::{Emulator, control_error, parse_control, unix_now};

/// The `/_emulator/instagram/...` control routes.
pub(crate) fn control_routes() -> Router<Emulator> {
    Router::new()
        .route("/_emulator/instagram/messages", post(control_message))
        .route("/_emulator/instagram/reactions", post(control_reaction))
        .route("/_emulator/instagram/unsend", post(control_unsend))
        .route("/_emulator/instagram/read", post(control_read))
        .route("/_emulator/instagram/postbacks", post(control_postback))
        .route("/_emulator/instagram/comments", post(control_comment))
        .route("/_emulator/instagram/mentions", post(control_mention))
        .route("/_emulator/instagram/media", post(control_media))
        .route(
            "/_emulator/instagram/subscriptions",
            post(control_subscribe),
        )
        .route(
            "/_emulator/instagram/accounts/{ig_id}",
            get(control_account),
        )
}

fn not_found(message: impl Into<String>) -> Response {
    control_error(StatusCode::NOT_FOUND, message)
}

/// The author a control call names (`from` and/or `username`), with the username a known
/// customer already has when none is given.
#[allow(clippy::result_large_err)] // the error is the ready-made HTTP answer
fn author(
    ig: &InstagramState,
    ig_id: &str,
    from: Option<&str>,
    username: Option<&str>,
) -> Result<Author, Response> {
    let id = customer_id(from, username, None)?;
    let username = username
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_string)
        .or_else(|| {
            ig.customers
                .get(&(ig_id.to_string(), id.clone()))
                .map(|c| c.username.clone())
        })
        .unwrap_or_else(|| default_username(&id));
    Ok(Author { id, username })
}

#[derive(Deserialize)]
struct CommentRequest {
    #[serde(default)]
    account_id: Option<String>,
    #[serde(default)]
    media_id: Option<String>,
    /// A comment to reply to (threaded under its top-level comment, as Instagram does).
    #[serde(default)]
    parent_id: Option<String>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    text: Option<String>,
    /// Unix seconds; default now (an old one lets tests cross the private-reply week).
    #[serde(default)]
    created_time: Option<i64>,
    /// Announce as `live_comments` instead of `comments`.
    #[serde(default)]
    live: bool,
    #[serde(default)]
    deliveries: Option<u32>,
}

/// A customer comments on the account's media (or replies to a comment): a `comments`
/// change webhook.
async fn control_comment(AxState(em): AxState<Emulator>, body: Bytes) -> Response {
    let req: CommentRequest = match parse_control(&body) {
        Ok(req) => req,
        Err(response) => return response,
    };
    let Some(text) = req.text.filter(|t| !t.trim().is_empty()) else {
        return control_error(StatusCode::BAD_REQUEST, "text is required");
    };
    let id = new_object_id(&em);
    let mut state = em.state();
    let ig = &mut state.instagram;
    // The media: named, else the parent's, else the account's seeded post.
    let media_id = match (&req.media_id, &req.parent_id) {
        (Some(media), _) => media.clone(),
        (None, Some(parent)) => match ig.live_comment(parent) {
            Some((comment, _)) => comment.media_id.clone(),
            None => return not_found(format!("unknown comment {parent}")),
        },
        (None, None) => match ig.account_id(req.account_id.as_deref()) {
            Ok(ig_id) => ig.accounts[&ig_id].media[0].clone(),
            Err(reason) => return not_found(reason),
        },
    };
    let ig_id = match ig.media.get(&media_id) {
        Some(media)
            if !media.mention
                && req
                    .account_id
                    .as_deref()
                    .is_none_or(|a| a.is_empty() || a == media.account) =>
        {
            media.account.clone()
        }
        _ => return not_found(format!("unknown media {media_id}")),
    };
    if let Some(parent) = &req.parent_id
        && ig
            .live_comment(parent)
            .is_none_or(|(c, _)| c.media_id != media_id)
    {
        return not_found(format!("unknown comment {parent} on media {media_id}"));
    }
    let from = match author(ig, &ig_id, req.from.as_deref(), req.username.as_deref()) {
        Ok(author) => author,
        Err(response) => return response,
    };
    let igsid = from.id.clone();
    let time = req.created_time.unwrap_or_else(unix_now);
    let Some(comment_id) =
        ig.add_comment(id, &media_id, req.parent_id.as_deref(), from, &text, time)
    else {
        return not_found(format!("unknown media {media_id}"));
    };
    if let Some((ig_id, value)) = ig.comment_change(&comment_id) {
        let field = if req.live {
            "live_comments"
        } else {
            "comments"
        };
        ig.notify_change(&ig_id, field, value, req.deliveries.unwrap_or(1));
    }
    axum::Json(json!({ "media_id": media_id, "comment_id": comment_id, "igsid": igsid }))
        .into_response()
}

#[derive(Deserialize)]
struct MentionRequest {
    #[serde(default)]
    account_id: Option<String>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    text: Option<String>,
    /// A media of an earlier mention to comment on again; default a new media.
    #[serde(default)]
    media_id: Option<String>,
    /// The mention is in the new media's caption (no comment).
    #[serde(default)]
    in_caption: bool,
}

/// Someone @mentions the account on their own media, in a comment (default) or in the
/// caption: a `mentions` change webhook `{media_id, comment_id?}`.
async fn control_mention(AxState(em): AxState<Emulator>, body: Bytes) -> Response {
    let req: MentionRequest = match parse_control(&body) {
        Ok(req) => req,
        Err(response) => return response,
    };
    let Some(text) = req.text.filter(|t| !t.trim().is_empty()) else {
        return control_error(StatusCode::BAD_REQUEST, "text is required");
    };
    let (new_media, new_comment) = (new_object_id(&em), new_object_id(&em));
    let mut state = em.state();
    let ig = &mut state.instagram;
    let ig_id = match ig.account_id(req.account_id.as_deref()) {
        Ok(id) => id,
        Err(reason) => return not_found(reason),
    };
    let from = match author(ig, &ig_id, req.from.as_deref(), req.username.as_deref()) {
        Ok(author) => author,
        Err(response) => return response,
    };
    let media_id = match &req.media_id {
        Some(id) => match ig.media.get(id) {
            Some(m) if m.mention && m.account == ig_id && !req.in_caption => id.clone(),
            _ => return not_found(format!("unknown mentioning media {id}")),
        },
        None => {
            let caption = if req.in_caption {
                text.clone()
            } else {
                String::new()
            };
            ig.media.insert(
                new_media.clone(),
                Media {
                    id: new_media.clone(),
                    account: ig_id.clone(),
                    owner: from.clone(),
                    caption,
                    media_type: "IMAGE".into(),
                    product_type: "FEED".into(),
                    timestamp: unix_now(),
                    comments: Vec::new(),
                    mention: true,
                },
            );
            new_media
        }
    };
    let comment_id = if req.in_caption {
        None
    } else {
        ig.add_comment(new_comment, &media_id, None, from, &text, unix_now())
    };
    let mut value = json!({ "media_id": media_id });
    if let Some(comment_id) = &comment_id {
        value["comment_id"] = json!(comment_id);
    }
    ig.notify_change(&ig_id, "mentions", value, 1);
    axum::Json(json!({ "media_id": media_id, "comment_id": comment_id })).into_response()
}

#[derive(Deserialize)]
struct MediaRequest {
    #[serde(default)]
    account_id: Option<String>,
    #[serde(default)]
    caption: Option<String>,
    #[serde(default)]
    media_product_type: Option<String>,
    #[serde(default)]
    media_type: Option<String>,
}

/// The account publishes a media (no webhook): `{"media_id"}`.
async fn control_media(AxState(em): AxState<Emulator>, body: Bytes) -> Response {
    let req: MediaRequest = match parse_control(&body) {
        Ok(req) => req,
        Err(response) => return response,
    };
    let product_type = req.media_product_type.unwrap_or_else(|| "FEED".into());
    if !["FEED", "REELS", "STORY", "AD"].contains(&product_type.as_str()) {
        return control_error(
            StatusCode::BAD_REQUEST,
            "media_product_type is FEED, REELS, STORY or AD",
        );
    }
    let media_id = new_object_id(&em);
    let mut state = em.state();
    let ig = &mut state.instagram;
    let ig_id = match ig.account_id(req.account_id.as_deref()) {
        Ok(id) => id,
        Err(reason) => return not_found(reason),
    };
    let config = &ig.accounts[&ig_id].config;
    let owner = Author {
        id: config.ig_id.clone(),
        username: config.username.clone(),
    };
    let media_type = req.media_type.unwrap_or_else(|| {
        if product_type == "REELS" {
            "VIDEO"
        } else {
            "IMAGE"
        }
        .into()
    });
    ig.media.insert(
        media_id.clone(),
        Media {
            id: media_id.clone(),
            account: ig_id.clone(),
            owner,
            caption: req.caption.unwrap_or_default(),
            media_type,
            product_type,
            timestamp: unix_now(),
            comments: Vec::new(),
            mention: false,
        },
    );
    if let Some(account) = ig.accounts.get_mut(&ig_id) {
        account.media.push(media_id.clone());
    }
    axum::Json(json!({ "media_id": media_id })).into_response()
}

#[derive(Deserialize)]
struct SubscribeRequest {
    #[serde(default)]
    account_id: Option<String>,
    callback_url: String,
    /// Default: the account's configured verify token.
    #[serde(default)]
    verify_token: Option<String>,
}

/// Same as [`Emulator::subscribe_instagram`], over HTTP.
async fn control_subscribe(AxState(em): AxState<Emulator>, body: Bytes) -> Response {
    let req: SubscribeRequest = match parse_control(&body) {
        Ok(req) => req,
        Err(response) => return response,
    };
    let (ig_id, configured) = {
        let state = em.state();
        let ig = &state.instagram;
        match ig.account_id(req.account_id.as_deref()) {
            Ok(id) => {
                let token = ig.accounts[&id].config.verify_token.clone();
                (id, token)
            }
            Err(reason) => return not_found(reason),
        }
    };
    let verify_token = req.verify_token.unwrap_or(configured);
    match em
        .subscribe_instagram(&ig_id, &req.callback_url, &verify_token)
        .await
    {
        Ok(()) => axum::Json(json!({ "ok": true })).into_response(),
        Err(err) => control_error(StatusCode::BAD_GATEWAY, format!("{err:#}")),
    }
}

fn media_view(ig: &InstagramState, media: &Media) -> Value {
    let comments: Vec<Value> = media
        .comments
        .iter()
        .filter_map(|id| ig.comments.get(id))
        .map(|c| {
            json!({
                "id": c.id,
                "parent_id": c.parent_id,
                "text": c.text,
                "timestamp": graph_time(c.timestamp),
                "from": author_json(&c.from),
                "hidden": c.hidden,
                "removed": c.removed,
                "private_reply": ig.private_replies.contains_key(&c.id),
            })
        })
        .collect();
    json!({
        "id": media.id,
        "caption": media.caption,
        "media_product_type": media.product_type,
        "owner": author_json(&media.owner),
        "timestamp": graph_time(media.timestamp),
        "comments": comments,
    })
}

/// The account: its media (with every comment, hidden and deleted ones flagged), the media
/// that mention it, its customers, the sends it made and its subscribers.
async fn control_account(AxState(em): AxState<Emulator>, Path(ig_id): Path<String>) -> Response {
    let state = em.state();
    let ig = &state.instagram;
    let Some(account) = ig.accounts.get(&ig_id) else {
        return not_found(format!("unknown instagram account {ig_id}"));
    };
    let media: Vec<Value> = account
        .media
        .iter()
        .filter_map(|id| ig.media.get(id))
        .map(|m| media_view(ig, m))
        .collect();
    let mut mentions: Vec<(&i64, &String, Value)> = ig
        .media
        .values()
        .filter(|m| m.mention && m.account == ig_id)
        .map(|m| (&m.timestamp, &m.id, media_view(ig, m)))
        .collect();
    mentions.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    let mut customers: Vec<Value> = ig
        .customers
        .iter()
        .filter(|((account, _), _)| *account == ig_id)
        .map(|((_, igsid), c)| {
            json!({
                "igsid": igsid,
                "username": c.username,
                "name": c.name,
                "last_message_ms": c.last_user_ms,
            })
        })
        .collect();
    customers.sort_by(|a, b| a["igsid"].as_str().cmp(&b["igsid"].as_str()));
    let sent: Vec<&Value> = ig
        .sent
        .iter()
        .filter(|s| s["account_id"] == ig_id.as_str())
        .collect();
    let fetched: Vec<&Value> = ig
        .fetched
        .iter()
        .filter(|f| f["account_id"] == ig_id.as_str())
        .collect();
    let subscribers: Vec<&str> = account
        .subscribers
        .iter()
        .map(|s| s.callback_url.as_str())
        .collect();
    let config = &account.config;
    axum::Json(json!({
        "id": config.ig_id,
        "username": config.username,
        "name": config.name,
        "page_id": config.page_id,
        "media": media,
        "mentions": mentions.into_iter().map(|(_, _, v)| v).collect::<Vec<_>>(),
        "customers": customers,
        "sent": sent,
        "fetched": fetched,
        "subscribers": subscribers,
    }))
    .into_response()
}
