//! Media and links on the emulated X: customers' photos, videos, GIFs (and media of any
//! other type a test names), links and quoted or shared tweets, in the v2 shapes
//! (`attachments.media_keys` with `includes.media`, `entities.urls`, `includes.tweets`) and
//! the v1.1 shapes of Account Activity webhooks; the business's uploads
//! (`POST /2/media/upload`, multipart, one request) and their use in tweets and direct
//! messages (uploads themselves are in [`super::upload`]); the downloads.
//!
//! Files are small synthetic ones that sniff as what they claim (a 1×1 PNG, an MP4 `ftyp`
//! box). Tweet media is public at `{origin}/_emulator/x/cdn/<folder>/<media id>/<file>` (the
//! emulator's own address standing in for pbs.twimg.com and video.twimg.com). A direct
//! message's photo has X's real `https://ton.twitter.com/1.1/ton/data/dm/<dm id>/<media id>/<file>`
//! URL and is served by `GET /2/dm_conversations/media/<dm id>/<media id>/<file>` to a
//! participant's user token; its videos and GIFs are under `cdn/dm_video/` and `cdn/dm_gif/`
//! and need such a token too (401 otherwise).

use axum::Router;
use axum::extract::{Path, State as AxState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

use super::limits::{Caller, gate, with_rate};
use super::{Tweet, XEndpoint, XState, problem};
use crate::Emulator;

/// A valid 1×1 PNG.
pub(super) const PNG: [u8; 70] = [
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0x64, 0x60, 0xf8, 0x5f,
    0x0f, 0x00, 0x02, 0x87, 0x01, 0x80, 0xeb, 0x47, 0xba, 0x92, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// An MP4's `ftyp` box and an empty `mdat`: enough to sniff as video/mp4.
pub(super) const MP4: [u8; 32] = [
    0x00, 0x00, 0x00, 0x18, b'f', b't', b'y', b'p', b'i', b's', b'o', b'm', 0x00, 0x00, 0x02, 0x00,
    b'i', b's', b'o', b'm', b'm', b'p', b'4', b'1', 0x00, 0x00, 0x00, 0x08, b'm', b'd', b'a', b't',
];

/// A photo, video, GIF or other media item.
#[derive(Clone, Debug)]
pub(super) struct MediaItem {
    pub(super) id: String,
    /// `photo`, `video`, `animated_gif`, or a type a test named.
    pub(super) kind: String,
    pub(super) alt_text: Option<String>,
    pub(super) bytes: Vec<u8>,
    pub(super) content_type: String,
    /// The file's name in its URLs.
    pub(super) resource: String,
    /// The account that uploaded it (the business's uploads), who alone may send it.
    pub(super) owner: Option<String>,
    /// `media_category` of an upload.
    pub(super) category: Option<String>,
    /// The direct message it was sent in: private to that conversation.
    pub(super) dm: Option<String>,
}

impl MediaItem {
    /// X's media key: `3_` photos, `7_` videos, `16_` GIFs.
    pub(super) fn key(&self) -> String {
        let prefix = match self.kind.as_str() {
            "photo" => "3",
            "video" => "7",
            "animated_gif" => "16",
            _ => "99",
        };
        format!("{prefix}_{}", self.id)
    }

    fn is_video(&self) -> bool {
        matches!(self.kind.as_str(), "video" | "animated_gif")
    }
}

/// A link of a text: X's `t.co` address, where it leads, and the page's title when X
/// unwound it. Media and quote links are links too (`media_key` marks the first).
#[derive(Clone, Debug, Default)]
pub(crate) struct Link {
    pub(super) tco: String,
    pub(super) expanded: String,
    pub(super) display: String,
    pub(super) title: Option<String>,
    pub(super) description: Option<String>,
    pub(super) media_key: Option<String>,
    /// Code-point offsets in the text.
    pub(super) start: usize,
    pub(super) end: usize,
}

impl Link {
    /// `entities.urls[]` of API v2.
    pub(super) fn v2(&self) -> Value {
        let mut v = json!({
            "start": self.start, "end": self.end, "url": self.tco,
            "expanded_url": self.expanded, "display_url": self.display,
        });
        if let Some(key) = &self.media_key {
            v["media_key"] = json!(key);
        } else {
            v["unwound_url"] = json!(self.expanded);
            v["status"] = json!(200);
        }
        if let Some(t) = &self.title {
            v["title"] = json!(t);
        }
        if let Some(d) = &self.description {
            v["description"] = json!(d);
        }
        v
    }

    /// `entities.urls[]` of v1.1 (media links are in `entities.media` there).
    fn v1(&self) -> Option<Value> {
        if self.media_key.is_some() {
            return None;
        }
        let mut v = json!({
            "url": self.tco, "expanded_url": self.expanded, "display_url": self.display,
            "indices": [self.start, self.end],
        });
        if self.title.is_some() {
            v["unwound"] = json!({ "url": self.expanded, "status": 200,
                "title": self.title, "description": self.description });
        }
        Some(v)
    }
}

/// A link a customer's text carries (control routes).
#[derive(Deserialize, Clone)]
pub(super) struct LinkSpec {
    pub(super) url: String,
    #[serde(default)]
    pub(super) title: Option<String>,
    #[serde(default)]
    pub(super) description: Option<String>,
}

/// A media item a customer attaches (control routes).
#[derive(Deserialize, Clone)]
pub(super) struct MediaSpec {
    #[serde(rename = "type")]
    pub(super) kind: String,
    #[serde(default)]
    pub(super) alt_text: Option<String>,
}

/// What a customer's tweet or direct message carries besides its text.
pub(super) struct Extras {
    pub(super) text: String,
    pub(super) media: Vec<String>,
    pub(super) links: Vec<Link>,
}

/// Appends X's `t.co` links to `text`: the given links, then a link to `referenced` (a
/// quoted or shared tweet, `(id, author handle)`), then one for the media (`media_link`
/// says where it leads). Creates the media items (`dm`: of that direct message).
pub(super) fn customer_extras(
    em: &Emulator,
    text: &str,
    links: &[LinkSpec],
    referenced: Option<(&str, &str)>,
    media: &[MediaSpec],
    media_link: &str,
    dm: Option<&str>,
) -> Extras {
    let mut out = Extras {
        text: text.to_string(),
        media: Vec::new(),
        links: Vec::new(),
    };
    let add = |out: &mut Extras, link: Link| {
        if !out.text.is_empty() {
            out.text.push(' ');
        }
        let start = out.text.chars().count();
        out.text.push_str(&link.tco);
        let end = out.text.chars().count();
        out.links.push(Link { start, end, ..link });
    };
    for l in links {
        let tco = format!("https://t.co/{:x}", em.next_id());
        let display: String = l
            .url
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .chars()
            .take(26)
            .collect();
        add(
            &mut out,
            Link {
                tco,
                expanded: l.url.clone(),
                display,
                title: l.title.clone(),
                description: l.description.clone(),
                ..Link::default()
            },
        );
    }
    if let Some((id, by)) = referenced {
        let tco = format!("https://t.co/{:x}", em.next_id());
        add(
            &mut out,
            Link {
                tco,
                expanded: format!("https://x.com/{by}/status/{id}"),
                display: format!("x.com/{by}/status/{id}"),
                ..Link::default()
            },
        );
    }
    let mut state_items = Vec::new();
    for spec in media {
        let id = em.next_id().to_string();
        let kind = spec.kind.trim().to_string();
        let (bytes, content_type, ext) = match kind.as_str() {
            "video" | "animated_gif" => (MP4.to_vec(), "video/mp4", "mp4"),
            _ => (PNG.to_vec(), "image/png", "png"),
        };
        state_items.push(MediaItem {
            resource: format!("m{id}.{ext}"),
            id,
            kind,
            alt_text: spec.alt_text.clone(),
            bytes,
            content_type: content_type.into(),
            owner: None,
            category: None,
            dm: dm.map(str::to_string),
        });
    }
    if let Some(first) = state_items.first() {
        let tco = format!("https://t.co/{:x}", em.next_id());
        let key = first.key();
        let what = if first.is_video() { "video" } else { "photo" };
        add(
            &mut out,
            Link {
                display: format!("pic.x.com/{}", &tco[13..]),
                tco,
                expanded: format!("{media_link}/{what}/1"),
                media_key: Some(key),
                ..Link::default()
            },
        );
    }
    let mut state = em.state();
    for item in state_items {
        out.media.push(item.key());
        state.x.media.insert(item.key(), item);
    }
    out
}

impl XState {
    /// Where media item `m` is, as X hands it out.
    fn media_urls(&self, m: &MediaItem) -> (Option<String>, Option<String>) {
        let base = format!("{}/_emulator/x/cdn", self.origin);
        let id = &m.id;
        let stem = m
            .resource
            .rsplit_once('.')
            .map(|(s, _)| s)
            .unwrap_or(&m.resource);
        match (m.dm.as_deref(), m.kind.as_str()) {
            (Some(dm), "photo") => (
                Some(format!(
                    "https://ton.twitter.com/1.1/ton/data/dm/{dm}/{id}/{}",
                    m.resource
                )),
                None,
            ),
            (Some(_), "video" | "animated_gif") => {
                let folder = if m.kind == "video" {
                    "dm_video"
                } else {
                    "dm_gif"
                };
                (
                    Some(format!("{base}/{folder}/{id}/{}", m.resource)),
                    Some(format!("{base}/{folder}_preview/{id}/{stem}.png")),
                )
            }
            (None, "video" | "animated_gif") => {
                let folder = if m.kind == "video" {
                    "ext_tw_video"
                } else {
                    "tweet_video"
                };
                (
                    Some(format!("{base}/{folder}/{id}/{}", m.resource)),
                    Some(format!("{base}/{folder}_thumb/{id}/{stem}.png")),
                )
            }
            _ => (Some(format!("{base}/media/{id}/{}", m.resource)), None),
        }
    }

    /// One `includes.media[]` item of API v2.
    pub(super) fn media_v2(&self, key: &str) -> Option<Value> {
        let m = self.media.get(key)?;
        let (url, preview) = self.media_urls(m);
        let mut v = json!({ "media_key": key, "type": m.kind, "width": 1, "height": 1 });
        if m.is_video() {
            let bit_rate = if m.kind == "video" { 832_000 } else { 0 };
            v["preview_image_url"] = json!(preview);
            v["variants"] = json!([
                { "bit_rate": bit_rate, "content_type": "video/mp4", "url": url },
                { "content_type": "application/x-mpegURL",
                  "url": url.as_deref().map(|u| u.replace(".mp4", ".m3u8")) },
            ]);
            if m.kind == "video" {
                v["duration_ms"] = json!(1000);
            }
        } else {
            v["url"] = json!(url);
        }
        if let Some(alt) = &m.alt_text {
            v["alt_text"] = json!(alt);
        }
        Some(v)
    }

    /// One v1.1 media entity (Account Activity).
    pub(super) fn media_v1(&self, key: &str, link: Option<&Link>) -> Option<Value> {
        let m = self.media.get(key)?;
        let (url, preview) = self.media_urls(m);
        let mut v = json!({
            "id": m.id.parse::<u64>().unwrap_or(0), "id_str": m.id, "type": m.kind,
            "media_url_https": if m.is_video() { preview } else { url.clone() },
        });
        if let Some(l) = link {
            v["url"] = json!(l.tco);
            v["expanded_url"] = json!(l.expanded);
            v["display_url"] = json!(l.display);
        }
        if m.is_video() {
            v["video_info"] = json!({ "variants": [
                { "bitrate": if m.kind == "video" { 832_000 } else { 0 }, "content_type": "video/mp4", "url": url },
            ]});
        }
        if let Some(alt) = &m.alt_text {
            v["ext_alt_text"] = json!(alt);
        }
        Some(v)
    }

    /// v1.1 `entities` (and `extended_entities` for media) of a text with these links.
    pub(super) fn v1_entities(&self, media: &[String], links: &[Link]) -> (Value, Option<Value>) {
        let media_link = links.iter().find(|l| l.media_key.is_some());
        let all: Vec<Value> = media
            .iter()
            .filter_map(|k| self.media_v1(k, media_link))
            .collect();
        let mut entities = json!({
            "hashtags": [], "user_mentions": [], "symbols": [],
            "urls": links.iter().filter_map(Link::v1).collect::<Vec<_>>(),
        });
        if let Some(first) = all.first() {
            entities["media"] = json!([first]);
        }
        let extended = (!all.is_empty()).then(|| json!({ "media": all }));
        (entities, extended)
    }

    /// Adds `media` and the referenced `tweets` of `tweets` to an `includes` object.
    pub(super) fn add_includes<'a>(
        &self,
        includes: &mut Value,
        tweets: impl Iterator<Item = &'a Tweet>,
    ) {
        let mut media = Vec::new();
        let mut referenced = Vec::new();
        for t in tweets {
            media.extend(t.media.iter().filter_map(|k| self.media_v2(k)));
            for id in t.quote_of.iter().chain(t.in_reply_to_tweet_id.iter()) {
                if let Some(r) = self.tweet(id).filter(|r| !r.deleted) {
                    referenced.push(self.tweet_json(r));
                }
            }
        }
        if !media.is_empty() {
            includes["media"] = Value::Array(media);
        }
        if !referenced.is_empty() {
            includes["tweets"] = Value::Array(referenced);
        }
    }

    /// True when user `me` takes part in the conversation of direct message `dm_id`.
    fn in_dm(&self, dm_id: &str, me: &str) -> bool {
        self.dms.iter().any(|d| {
            d.id == dm_id
                && (d.sender_id == me
                    || d.recipient_id == me
                    || self.faults.in_group(&d.conversation_id, me))
        })
    }

    /// The business's uploads `ids` for a send by `me`: their media keys, or why not. A
    /// direct message (`dm`) takes one, a tweet up to four photos or one video or GIF.
    pub(super) fn take_uploads(
        &mut self,
        me: &str,
        ids: &[String],
        dm: Option<&str>,
    ) -> Result<Vec<String>, String> {
        let max = if dm.is_some() { 1 } else { 4 };
        if ids.len() > max {
            return Err(format!("At most {max} media ids may be attached here."));
        }
        let mut keys = Vec::new();
        for id in ids {
            let Some(item) = self
                .media
                .values()
                .find(|m| &m.id == id && m.owner.as_deref() == Some(me))
            else {
                return Err(format!("Media id {id} is not one of your uploads."));
            };
            let wanted = if dm.is_some() { "dm_" } else { "tweet_" };
            if !item
                .category
                .as_deref()
                .unwrap_or("tweet_image")
                .starts_with(wanted)
            {
                return Err(format!(
                    "Media id {id} was uploaded for another use: its media_category must start with {wanted}."
                ));
            }
            keys.push(item.key());
        }
        let videos = keys.iter().filter(|k| !k.starts_with("3_")).count();
        if videos > 0 && keys.len() > 1 {
            return Err("A video or GIF must be the only media of a Tweet.".into());
        }
        for key in &keys {
            if let (Some(item), Some(dm)) = (self.media.get_mut(key), dm) {
                item.dm = Some(dm.to_string());
            }
        }
        Ok(keys)
    }
}

/// The body of a direct message the business sends: `{"text"?, "attachments"?: [{"media_id"}]}`.
#[derive(Deserialize, Default)]
pub(super) struct DmBody {
    #[serde(default)]
    pub(super) text: Option<String>,
    #[serde(default)]
    pub(super) attachments: Vec<MediaRef>,
}

/// `{"media_id"}` of a send.
#[derive(Deserialize)]
pub(super) struct MediaRef {
    pub(super) media_id: String,
}

impl DmBody {
    pub(super) fn media_ids(&self) -> Vec<String> {
        self.attachments
            .iter()
            .map(|a| a.media_id.clone())
            .collect()
    }
}

/// Records the media of a send the business made, after its message's own record.
pub(super) fn record_media(em: &Emulator, kind: &str, message_id: &str, keys: &[String]) {
    let ids: Vec<String> = {
        let state = em.state();
        keys.iter()
            .filter_map(|k| state.x.media.get(k).map(|m| m.id.clone()))
            .collect()
    };
    for id in ids {
        em.record("x", kind, Some(message_id), &id, None);
    }
}

/// Remembers the address the emulator is reached at, from a request's `Host`.
pub(super) fn remember_origin(x: &mut XState, headers: &HeaderMap) {
    if let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) {
        x.origin = format!("http://{host}");
    }
}

/// The user id behind a request's user token, if any.
fn user_of(x: &XState, headers: &HeaderMap) -> Option<String> {
    let token = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?
        .trim()
        .to_string();
    x.config
        .accounts
        .iter()
        .find(|a| !a.token.is_empty() && a.token == token)
        .map(|a| a.user_id.clone())
}

fn bytes_response(item: &MediaItem, thumbnail: bool) -> Response {
    let (body, kind) = if thumbnail {
        (PNG.to_vec(), "image/png".to_string())
    } else {
        (item.bytes.clone(), item.content_type.clone())
    };
    let mut response = (StatusCode::OK, body).into_response();
    if let Ok(v) = HeaderValue::from_str(&kind) {
        response.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    response
}

/// `GET /_emulator/x/cdn/{folder}/{media_id}/{file}`: the files of pbs.twimg.com and
/// video.twimg.com. `dm_...` folders need a participant's user token.
async fn cdn(
    AxState(em): AxState<Emulator>,
    headers: HeaderMap,
    Path((folder, id, file)): Path<(String, String, String)>,
) -> Response {
    let state = em.state();
    let x = &state.x;
    let Some(item) = x.media.values().find(|m| m.id == id) else {
        return (StatusCode::NOT_FOUND, "no such media").into_response();
    };
    if folder.starts_with("dm_") {
        let allowed = match (item.dm.as_deref(), user_of(x, &headers)) {
            (Some(dm), Some(me)) => x.in_dm(dm, &me),
            _ => false,
        };
        if !allowed {
            return (
                StatusCode::UNAUTHORIZED,
                "direct-message media needs a participant's token",
            )
                .into_response();
        }
    }
    let thumbnail = folder.ends_with("_thumb") || folder.ends_with("_preview");
    if !thumbnail && file != item.resource {
        return (StatusCode::NOT_FOUND, "no such file").into_response();
    }
    bytes_response(item, thumbnail)
}

/// `GET /2/dm_conversations/media/{dm_id}/{media_id}/{resource_id}`: a direct message's
/// photo, for a participant's user token.
async fn dm_media(
    AxState(em): AxState<Emulator>,
    headers: HeaderMap,
    Path((dm, id, resource)): Path<(String, String, String)>,
) -> Response {
    let (caller, rate) = match gate(&em, XEndpoint::DmMedia, &headers, true) {
        Ok(ok) => ok,
        Err(response) => return response,
    };
    let state = em.state();
    let x = &state.x;
    let found = x
        .media
        .values()
        .find(|m| m.id == id && m.dm.as_deref() == Some(dm.as_str()) && m.resource == resource);
    let member = match &caller {
        Caller::User(me) => x.in_dm(&dm, me),
        Caller::App => false,
    };
    match found {
        Some(item) if member => with_rate(bytes_response(item, false), rate),
        Some(_) => with_rate(
            problem(
                StatusCode::FORBIDDEN,
                "Forbidden",
                "You are not a participant of the conversation of this message.",
                None,
            ),
            rate,
        ),
        None => with_rate(
            problem(
                StatusCode::NOT_FOUND,
                "Not Found Error",
                &format!("Could not find media {id} of direct message {dm}."),
                Some("resource-not-found"),
            ),
            rate,
        ),
    }
}

/// The DM-media and CDN routes.
pub(super) fn routes() -> Router<Emulator> {
    Router::new()
        .route(
            "/2/dm_conversations/media/{dm}/{media}/{resource}",
            get(dm_media),
        )
        .route("/_emulator/x/cdn/{folder}/{id}/{file}", get(cdn))
}
