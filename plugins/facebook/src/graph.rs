//! Graph API calls: reading the page feed, replying, hiding and deleting. Requests go
//! through [`switchboard_sdk::meta::Graph`] (the page token as a Bearer header, one
//! mapping of Graph errors, the token kept out of errors).

use serde::Deserialize;
use switchboard_sdk::IdempotencyKey;
use switchboard_sdk::lenient::{self, Items};
use switchboard_sdk::{
    Account, ConnectorError, Event, HttpResponse, Message, Outbound, PollResult, Sent,
    SourceStatus, Visibility, clock, http, kv, log,
};

use crate::Settings;
use crate::model::{self, From, Id, Timestamp};

/// The fields a poll asks for: each post's and comment's attachments too (a photo, a
/// sticker, a video, a shared link), so that nothing a customer posted is lost.
pub(crate) const FEED_FIELDS: &str = "from,message,created_time,attachments{type,media,url,title,description,target,subattachments},comments{from,message,created_time,parent,attachment}";

#[derive(Deserialize)]
struct Me {
    #[serde(default)]
    id: Option<Id>,
    #[serde(default)]
    name: Option<String>,
}

/// The Test button: `GET /me?fields=id,name` with the page access token. A page token
/// answers with its own page, so the call proves both that the token works and which
/// page it belongs to (`GET /{page-id}` would not: any valid token reads a published
/// page). Reads only. Messages are clauses the host puts after "Facebook refused the
/// credentials: " and the like; they name the setting to fix and never hold the token.
pub(crate) fn check_credentials(settings: &Settings) -> Result<Account, ConnectorError> {
    if settings.meta.access_token.is_none() {
        return Err(ConnectorError::InvalidConfig(
            "secret `access_token` (the page access token) is required to check the credentials"
                .into(),
        ));
    }
    let page = &settings.page_id;
    let graph = settings.graph();
    // The token is already blanked out of what the Graph API answers.
    let resp = graph.get(&graph.url("me?fields=id,name")).map_err(|failure| match failure.error {
        ConnectorError::Unauthorized(why) => ConnectorError::Unauthorized(format!(
            "the page access token in secret `access_token` does not work: {why}; generate a new one for page {page} and paste it there"
        )),
        other => other,
    })?;
    let me: Me = resp.json_body().map_err(|e| {
        ConnectorError::Transient(format!(
            "unreadable Graph API answer to the credentials check: {e}"
        ))
    })?;
    let id = model::id(me.id).ok_or_else(|| {
        ConnectorError::Transient(
            "the Graph API answered the credentials check without an id".into(),
        )
    })?;
    let name = me
        .name
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| id.clone());
    if id != *page {
        return Err(ConnectorError::InvalidConfig(format!(
            "secret `access_token` holds the token of “{name}” (id {id}), not of page {page} (setting `page_id`): paste the page access token of page {page} (a user token is not enough), or set `page_id` to {id} if that is the page meant"
        )));
    }
    Ok(Account::new(id, name))
}

/// A page of the feed. Read leniently: a post or comment of a shape we cannot read is
/// left out with a warning in the feed's status (it would otherwise fail every poll while
/// it stays on the first page); a page that is not a JSON object fails the poll.
#[derive(Deserialize)]
struct FeedPage {
    #[serde(default)]
    data: Items<Post>,
    #[serde(default, deserialize_with = "lenient::opt")]
    paging: Option<FeedPaging>,
}

#[derive(Deserialize)]
struct FeedPaging {
    #[serde(default, deserialize_with = "lenient::opt")]
    cursors: Option<FeedCursors>,
}

#[derive(Deserialize)]
struct FeedCursors {
    #[serde(default, deserialize_with = "lenient::opt")]
    after: Option<String>,
}

#[derive(Deserialize)]
struct Post {
    id: Id,
    #[serde(default, deserialize_with = "lenient::opt")]
    from: Option<From>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    created_time: Option<Timestamp>,
    #[serde(default)]
    attachments: serde_json::Value,
    #[serde(default, deserialize_with = "lenient::opt")]
    comments: Option<CommentPage>,
}

#[derive(Deserialize)]
struct CommentPage {
    #[serde(default)]
    data: Items<Comment>,
}

#[derive(Deserialize)]
struct Comment {
    id: Id,
    #[serde(default, deserialize_with = "lenient::opt")]
    from: Option<From>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    created_time: Option<Timestamp>,
    #[serde(default, deserialize_with = "lenient::opt")]
    parent: Option<Parent>,
    #[serde(default)]
    attachment: serde_json::Value,
    #[serde(default, deserialize_with = "lenient::opt")]
    comments: Option<CommentPage>,
}

#[derive(Deserialize)]
struct Parent {
    #[serde(default)]
    id: Option<Id>,
}

#[allow(clippy::too_many_arguments)]
fn message(
    settings: &Settings,
    id: String,
    thread_id: String,
    parent_id: Option<String>,
    from: Option<From>,
    text: Option<String>,
    created_at: i64,
    attachments: &serde_json::Value,
) -> Message {
    let (author, from_business) = model::author(from, &settings.page_id);
    Message {
        platform_message_id: id,
        thread_id,
        parent_id,
        visibility: Visibility::Public,
        author,
        text: text.unwrap_or_default(),
        attachments: crate::media::story_attachments(attachments),
        created_at,
        language: None,
        from_business,
        metadata: Vec::new(),
    }
}

/// The comments of a post (and their replies: the recursion is bounded by serde_json's
/// nesting limit on the answer it was read from), with unreadable ones counted in
/// `unreadable`.
fn collect_comments(
    settings: &Settings,
    post_id: &str,
    page: Option<CommentPage>,
    now: i64,
    out: &mut Vec<Message>,
    unreadable: &mut Vec<String>,
) {
    let data = page.map(|p| p.data).unwrap_or_default();
    unreadable.extend(data.errors);
    for comment in data.items {
        let id = comment.id.into_string();
        if id.is_empty() {
            continue;
        }
        let parent = comment
            .parent
            .and_then(|p| model::id(p.id))
            .unwrap_or_else(|| post_id.to_string());
        let created = model::millis(&comment.created_time).unwrap_or(now);
        out.push(message(
            settings,
            id,
            post_id.to_string(),
            Some(parent),
            comment.from,
            comment.message,
            created,
            &comment.attachment,
        ));
        collect_comments(settings, post_id, comment.comments, now, out, unreadable);
    }
}

/// Pages of the feed followed in one poll.
const MAX_PAGES: usize = 10;

/// `GET /{page-id}/feed`: posts and their comments created at or after the cursor. The
/// feed is newest first: pages are followed (`paging.cursors.after`) while every post on
/// them is new, so more new posts than one page holds are not skipped. When a poll
/// cannot read them all (a later page fails, or [`MAX_PAGES`]), the cursor keeps its
/// time and records where to continue (see [`crate::feed_cursor`]).
pub(crate) fn poll(
    settings: &Settings,
    cursor: Option<String>,
    limit: u32,
) -> Result<PollResult, ConnectorError> {
    let cur = crate::feed_cursor::FeedCursor::parse(cursor.as_deref());
    let since = cur.since;
    let limit = if limit == 0 {
        settings.post_limit
    } else {
        limit.min(settings.post_limit)
    };
    let limit_text = limit.to_string();
    let graph = settings.graph();
    let base = format!(
        "{}/feed?fields={FEED_FIELDS}&limit={limit_text}",
        graph.object_url(&settings.page_id)
    );

    let now = clock::now_millis();
    let mut found = Vec::new();
    let mut after = cur.after.clone();
    let mut stopped: Option<ConnectorError> = None;
    let mut complete = false;
    let (mut unreadable_posts, mut unreadable_comments) = (Vec::new(), Vec::new());
    for page_no in 0..MAX_PAGES {
        let url = match &after {
            None => base.clone(),
            Some(a) => http::url_with_query(&base, &[("after", a.as_str())]),
        };
        let page = graph
            .get(&url)
            .map_err(ConnectorError::from)
            .and_then(|resp| {
                lenient::object::<FeedPage>(&resp.body).map_err(|why| {
                    ConnectorError::Transient(format!("unreadable Graph API feed response: {why}"))
                })
            });
        let page = match page {
            Ok(p) => p,
            Err(e) if page_no == 0 => return Err(e),
            Err(e) => {
                stopped = Some(e);
                break;
            }
        };
        let mut reached_cursor = page.data.items.is_empty();
        unreadable_posts.extend(page.data.errors);
        for post in page.data.items {
            let post_id = post.id.into_string();
            if post_id.is_empty() {
                continue;
            }
            let created = model::millis(&post.created_time).unwrap_or(now);
            if since.is_some_and(|s| created < s) {
                reached_cursor = true;
            }
            found.push(message(
                settings,
                post_id.clone(),
                post_id.clone(),
                None,
                post.from,
                post.message,
                created,
                &post.attachments,
            ));
            collect_comments(
                settings,
                &post_id,
                post.comments,
                now,
                &mut found,
                &mut unreadable_comments,
            );
        }
        after = page
            .paging
            .and_then(|p| p.cursors)
            .and_then(|c| c.after)
            .filter(|a| !a.is_empty());
        // Without a cursor yet, the first page is the backlog taken.
        if reached_cursor || since.is_none() || after.is_none() {
            complete = true;
            break;
        }
    }

    let mut fresh: Vec<Message> = found
        .into_iter()
        .filter(|m| since.is_none_or(|s| m.created_at >= s))
        .collect();
    fresh.sort_by_key(|m| m.created_at);
    let newest = fresh.iter().map(|m| m.created_at).chain(cur.newest).max();
    let next = crate::feed_cursor::FeedCursor {
        since,
        after: if complete { None } else { after },
        newest,
    };
    let warnings: Vec<String> = [
        lenient::summary(&unreadable_posts, "post"),
        lenient::summary(&unreadable_comments, "comment"),
    ]
    .into_iter()
    .flatten()
    .collect();
    for w in &warnings {
        log::warn(format!("facebook: page feed: {w}"));
    }
    let mut status = match stopped {
        None => SourceStatus::ok("page feed"),
        Some(e) => {
            log::warn(format!(
                "facebook: a later page of the feed failed; the pages read are kept and the rest is read next poll: {e:?}"
            ));
            SourceStatus::failed(
                "page feed",
                format!(
                    "a later page of the feed failed (the pages read are kept, the rest is read next poll): {}",
                    crate::feed_cursor::plain(&e)
                ),
            )
        }
    };
    status.warnings = warnings;
    Ok(PollResult::new(
        fresh.into_iter().map(Event::Message).collect(),
        next.render().or(cursor),
    )
    .with_sources(vec![status]))
}

#[derive(Deserialize)]
struct Created {
    #[serde(default)]
    id: Option<Id>,
}

/// `POST /{object-id}/comments` with `message`: a public reply under a post or comment.
pub(crate) fn reply_public(
    settings: &Settings,
    msg: &Outbound,
    idempotency_key: &IdempotencyKey,
) -> Result<Sent, ConnectorError> {
    if let Some(id) = kv::sent_before(idempotency_key) {
        log::info(format!(
            "facebook: reply {idempotency_key} was already sent as {id}"
        ));
        return Ok(Sent {
            platform_message_id: id,
        });
    }
    let target = msg
        .reply_to
        .as_deref()
        .filter(|t| !t.is_empty())
        .unwrap_or(&msg.thread_id);
    if target.is_empty() {
        return Err(ConnectorError::Rejected(
            "a reply needs a thread id or a message to reply to".into(),
        ));
    }
    // Every photo's link first, so that a reply that cannot go whole posts nothing.
    let links = msg
        .files
        .iter()
        .map(|f| match f.kind.as_str() {
            "image" => crate::media::link_of(f),
            other => Err(ConnectorError::Rejected(format!(
                "a Facebook comment takes a photo, not a file of kind `{other}` ({})",
                f.file_name
            ))),
        })
        .collect::<Result<Vec<&str>, _>>()?;
    let text = msg.text.trim();
    if text.is_empty() && links.is_empty() {
        return Err(ConnectorError::Rejected(
            "a comment needs some text or a photo".into(),
        ));
    }
    // One photo per comment: the first goes with the text, each other in a comment of its own.
    let mut parts: Vec<Vec<(&str, &str)>> = Vec::new();
    let mut first = Vec::new();
    if !text.is_empty() {
        first.push(("message", msg.text.as_str()));
    }
    if let Some(link) = links.first() {
        first.push(("attachment_url", *link));
    }
    parts.push(first);
    parts.extend(links.iter().skip(1).map(|l| vec![("attachment_url", *l)]));
    let graph = settings.graph();
    let url = format!("{}/comments", graph.object_url(target));
    let mut ids = Vec::new();
    for (n, form) in parts.iter().enumerate() {
        if let Some(id) = crate::media::part_sent(idempotency_key, n) {
            ids.push(id);
            continue;
        }
        let resp = graph.post_form(&url, form)?;
        let id = resp
            .json_body::<Created>()
            .ok()
            .and_then(|c| model::id(c.id))
            .ok_or_else(|| {
                ConnectorError::Rejected(format!(
                    "Graph API accepted the reply but returned no id: {}",
                    resp.body_text()
                ))
            })?;
        if parts.len() > 1 {
            crate::media::remember_part(idempotency_key, n, &id);
        }
        ids.push(id);
    }
    let id = ids.swap_remove(0);
    kv::remember_sent(idempotency_key, &id);
    Ok(Sent {
        platform_message_id: id,
    })
}

/// How much earlier than our attempt the platform's clock may date our comment.
const CLOCK_SKEW_MS: i64 = 120_000;

/// Whether our public reply exists: the page's own comment with this text under the post
/// or comment it answers, created at or after the attempt (`GET /{object-id}/comments`,
/// newest first). The oldest such comment is ours.
pub(crate) fn find_public_reply(
    settings: &Settings,
    msg: &Outbound,
    attempted_at: i64,
) -> Result<Option<Sent>, ConnectorError> {
    let target = msg
        .reply_to
        .as_deref()
        .filter(|t| !t.is_empty())
        .unwrap_or(&msg.thread_id);
    if target.is_empty() {
        return Ok(None);
    }
    let graph = settings.graph();
    let url = format!(
        "{}/comments?fields=id,from,message,created_time&order=reverse_chronological&limit=100",
        graph.object_url(target)
    );
    let resp = graph.get(&url)?;
    let page: CommentPage = resp.json_body().map_err(|e| {
        ConnectorError::Transient(format!("unreadable Graph API comments response: {e}"))
    })?;
    let found = page
        .data
        .items
        .into_iter()
        .filter(|c| {
            let ours = c
                .from
                .as_ref()
                .and_then(|f| f.id.clone())
                .map(Id::into_string)
                == Some(settings.page_id.clone());
            let same = c.message.as_deref().map(str::trim) == Some(msg.text.trim());
            let since =
                model::millis(&c.created_time).is_none_or(|at| at >= attempted_at - CLOCK_SKEW_MS);
            ours && same && since
        })
        .filter_map(|c| Some((model::millis(&c.created_time), model::id(Some(c.id))?)))
        .min_by_key(|(at, _)| *at)
        .map(|(_, id)| Sent {
            platform_message_id: id,
        });
    Ok(found)
}

#[derive(Deserialize)]
struct Success {
    #[serde(default)]
    success: Option<bool>,
}

fn expect_success(resp: HttpResponse, what: &str) -> Result<(), ConnectorError> {
    match resp.json_body::<Success>().ok().and_then(|s| s.success) {
        Some(false) => Err(ConnectorError::Rejected(format!(
            "Graph API did not {what}: {}",
            resp.body_text()
        ))),
        _ => Ok(()),
    }
}

/// `DELETE /{object-id}`.
pub(crate) fn delete(settings: &Settings, id: &str) -> Result<(), ConnectorError> {
    let graph = settings.graph();
    let resp = graph.delete(&graph.object_url(id))?;
    expect_success(resp, &format!("delete {id}"))
}

/// `POST /{comment-id}` with `is_hidden=true`.
pub(crate) fn hide(settings: &Settings, id: &str) -> Result<(), ConnectorError> {
    let graph = settings.graph();
    let resp = graph.post_form(&graph.object_url(id), &[("is_hidden", "true")])?;
    expect_success(resp, &format!("hide {id}"))
}
