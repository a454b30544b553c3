//! What customers attach on X, and how the host downloads it.
//!
//! Every item is kept: photos (`image`), videos and animated GIFs (`video`, the MP4 of
//! the highest bit rate), links (`share` with the page's `title` when X unwound it and its
//! `url`), quoted tweets and tweets shared in a direct message (`share` with the tweet's
//! link and text), v1.1 direct-message locations (`location`), and anything else with X's
//! own type as the kind (a poll, a card, a place, a media type X adds later), so nothing a
//! customer sent is dropped. Read from API v2 (`attachments.media_keys` with
//! `includes.media`, `entities.urls`, `referenced_tweets` with `includes.tweets`) and from
//! Account Activity v1.1 (`extended_entities.media`, `entities.urls`, `quoted_status`, a
//! direct message's `attachment`). A link X made for a photo of the same tweet is not a
//! share: the photo is already there.
//!
//! Downloads (`media_request`): tweet media (pbs.twimg.com, video.twimg.com) is public,
//! a plain GET. Direct-message media is private to the conversation: a photo's
//! ton.twitter.com URL (`/1.1/ton/data/dm/<dm id>/<media id>/<file>`) is asked of
//! `GET /2/dm_conversations/media/<dm id>/<media id>/<file>` with the user access token
//! (OAuth 2.0) of the handle that received it, as X documents (the ton URL itself takes
//! only OAuth 1.0a signatures, which need secrets this connector does not hold); DM videos
//! and GIFs (a `dm_...` path on video.twimg.com or pbs.twimg.com) are asked with that token
//! too. Which handle received the message is remembered in kv (`media_handle/<url>`) when
//! it is read; the default handle otherwise.

use serde::Deserialize;
use switchboard_sdk::lenient::{self, Items};
use switchboard_sdk::{Attachment, ConnectorError, HttpRequest, http, kv};

use crate::Settings;
use crate::api;
use crate::poll::Expanded;

/// The hosts X serves media from, for `describe().hosts`.
pub(crate) const MEDIA_HOSTS: [&str; 3] = [
    "https://ton.twitter.com",
    "https://pbs.twimg.com",
    "https://video.twimg.com",
];

/// A media item of `includes.media` (API v2).
#[derive(Deserialize, Clone, Default)]
pub(crate) struct Media {
    #[serde(default, deserialize_with = "lenient::opt")]
    pub media_key: Option<String>,
    #[serde(default, rename = "type", deserialize_with = "lenient::opt")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    url: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    preview_image_url: Option<String>,
    #[serde(default)]
    variants: Items<Variant>,
    #[serde(default, deserialize_with = "lenient::opt")]
    alt_text: Option<String>,
}

/// One encoding of a video (`variants` in v2, `video_info.variants` in v1.1).
#[derive(Deserialize, Clone)]
struct Variant {
    #[serde(default, alias = "bitrate", deserialize_with = "lenient::opt")]
    bit_rate: Option<u64>,
    #[serde(default, deserialize_with = "lenient::opt")]
    content_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    url: Option<String>,
}

/// A v1.1 media entity (Account Activity tweets and direct messages).
#[derive(Deserialize, Clone)]
pub(crate) struct V1Media {
    #[serde(default, rename = "type", deserialize_with = "lenient::opt")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    id_str: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    media_url_https: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    media_url: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    video_info: Option<VideoInfo>,
    #[serde(default, deserialize_with = "lenient::opt")]
    ext_alt_text: Option<String>,
}

#[derive(Deserialize, Clone, Default)]
struct VideoInfo {
    #[serde(default)]
    variants: Items<Variant>,
}

impl V1Media {
    /// As a v2 item: for a video or GIF, `media_url_https` is its thumbnail.
    pub(crate) fn into_media(self) -> Media {
        let image = self.media_url_https.or(self.media_url);
        let kind = self.kind.unwrap_or_default();
        let is_photo = kind == "photo";
        Media {
            media_key: self.id_str,
            url: if is_photo { image.clone() } else { None },
            preview_image_url: if is_photo { None } else { image },
            kind: Some(kind),
            variants: self.video_info.unwrap_or_default().variants,
            alt_text: self.ext_alt_text,
        }
    }
}

/// `entities` of a tweet or a direct message (v2 and v1.1 alike).
#[derive(Deserialize, Clone, Default)]
pub(crate) struct Entities {
    #[serde(default)]
    pub urls: Items<UrlEntity>,
    /// v1.1 only: the tweet's media (`extended_entities` holds all of them).
    #[serde(default)]
    pub media: Items<V1Media>,
}

/// A link in a text, as X expanded it.
#[derive(Deserialize, Clone)]
pub(crate) struct UrlEntity {
    #[serde(default, deserialize_with = "lenient::opt")]
    url: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    expanded_url: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    unwound_url: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    title: Option<String>,
    /// Set when the link is the tweet's own photo or video.
    #[serde(default, deserialize_with = "lenient::opt")]
    media_key: Option<String>,
    /// v1.1: where the link leads and the page's title.
    #[serde(default, deserialize_with = "lenient::opt")]
    unwound: Option<Unwound>,
}

#[derive(Deserialize, Clone)]
struct Unwound {
    #[serde(default, deserialize_with = "lenient::opt")]
    url: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    title: Option<String>,
}

/// A poll of `includes.polls`.
#[derive(Deserialize, Clone)]
pub(crate) struct Poll {
    pub id: String,
    #[serde(default)]
    options: Items<PollOption>,
}

#[derive(Deserialize, Clone)]
struct PollOption {
    #[serde(default, deserialize_with = "lenient::opt")]
    label: Option<String>,
}

/// `attachments` of a v2 tweet or direct message.
#[derive(Deserialize, Clone, Default)]
pub(crate) struct Attached {
    #[serde(default, deserialize_with = "lenient::opt")]
    media_keys: Option<Vec<String>>,
    #[serde(default, deserialize_with = "lenient::opt")]
    poll_ids: Option<Vec<String>>,
    #[serde(default, deserialize_with = "lenient::opt")]
    card_ids: Option<Vec<String>>,
}

fn nonempty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The MIME type a media URL's extension says (pbs.twimg.com names files `<id>.jpg`).
fn mime_of(url: &str) -> Option<String> {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let ext = path.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(
        match ext.as_str() {
            "jpg" | "jpeg" => "image/jpeg",
            "png" => "image/png",
            "webp" => "image/webp",
            "gif" => "image/gif",
            "mp4" => "video/mp4",
            _ => return None,
        }
        .to_string(),
    )
}

impl Media {
    /// The MP4 with the highest bit rate, for a video or GIF.
    fn best_mp4(&self) -> Option<&str> {
        self.variants
            .items
            .iter()
            .filter(|v| {
                v.content_type.as_deref() == Some("video/mp4")
                    || v.url
                        .as_deref()
                        .is_some_and(|u| u.split('?').next().is_some_and(|p| p.ends_with(".mp4")))
            })
            .filter_map(|v| Some((v.bit_rate.unwrap_or(0), nonempty(&v.url)?)))
            .max_by_key(|(rate, _)| *rate)
            .map(|(_, url)| url)
    }

    /// The attachment this item is. A photo or video whose file X left out is still
    /// kept, with what is known of it.
    pub(crate) fn attachment(&self) -> Attachment {
        let kind = nonempty(&self.kind).unwrap_or("media");
        let alt = self.alt_text.clone();
        let a = match kind {
            "photo" => match nonempty(&self.url) {
                Some(url) => Attachment::at_url("image", url).with_mime_type(mime_of(url)),
                None => Attachment::of_kind("image"),
            },
            "video" | "animated_gif" => match self.best_mp4() {
                Some(url) => {
                    Attachment::at_url("video", url).with_mime_type(Some("video/mp4".into()))
                }
                None => Attachment::of_kind("video")
                    .with_detail("url", nonempty(&self.preview_image_url).unwrap_or("")),
            },
            other => {
                let mut a = Attachment::of_kind(other);
                a.url = nonempty(&self.url)
                    .or(nonempty(&self.preview_image_url))
                    .map(str::to_string);
                a
            }
        };
        a.with_caption(alt)
    }
}

/// A link to a tweet, as the text gave it or X's canonical one.
fn tweet_link(id: &str, urls: &[UrlEntity]) -> String {
    let needle = format!("/status/{id}");
    urls.iter()
        .filter_map(|u| nonempty(&u.expanded_url))
        .find(|u| u.contains(&needle))
        .map(str::to_string)
        .unwrap_or_else(|| format!("https://x.com/i/web/status/{id}"))
}

/// A quoted or shared tweet: a `share` with its link and text.
pub(crate) fn tweet_share(id: &str, text: Option<&str>, urls: &[UrlEntity]) -> Attachment {
    Attachment::of_kind("share")
        .with_detail("title", text.unwrap_or("").trim())
        .with_detail("url", tweet_link(id, urls))
        .with_detail("tweet-id", id)
}

/// True for a link X made to a tweet's own photo or video (`.../photo/1`).
fn is_media_link(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    (lower.contains("twitter.com/") || lower.contains("x.com/"))
        && (lower.contains("/photo/") || lower.contains("/video/"))
}

/// The links of a text as `share`s, except media links and the tweets in `skip` (shared
/// as tweets already).
pub(crate) fn link_shares(urls: &[UrlEntity], skip: &[&str]) -> Vec<Attachment> {
    let mut seen: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for u in urls {
        if nonempty(&u.media_key).is_some() {
            continue;
        }
        let unwound = u.unwound.as_ref();
        let Some(target) = nonempty(&u.unwound_url)
            .or(unwound.and_then(|w| nonempty(&w.url)))
            .or(nonempty(&u.expanded_url))
            .or(nonempty(&u.url))
        else {
            continue;
        };
        if is_media_link(target)
            || skip
                .iter()
                .any(|id| target.contains(&format!("/status/{id}")))
            || seen.iter().any(|s| s == target)
        {
            continue;
        }
        seen.push(target.to_string());
        let title = nonempty(&u.title)
            .or(unwound.and_then(|w| nonempty(&w.title)))
            .unwrap_or("");
        out.push(
            Attachment::of_kind("share")
                .with_detail("title", title)
                .with_detail("url", target),
        );
    }
    out
}

/// What a v2 tweet or direct message carries: its media, polls and cards, the tweet it
/// quotes or shares, and its links.
pub(crate) fn v2_attachments(
    attached: Option<&Attached>,
    shared_tweets: &[&str],
    entities: Option<&Entities>,
    expanded: &Expanded,
) -> Vec<Attachment> {
    let mut out = Vec::new();
    let attached = attached.cloned().unwrap_or_default();
    for key in attached.media_keys.unwrap_or_default() {
        out.push(match expanded.media.get(&key) {
            Some(m) => m.attachment(),
            // X left the item out of `includes`: still say something was attached.
            None => Attachment::of_kind("media").with_detail("media-key", key),
        });
    }
    for id in attached.poll_ids.unwrap_or_default() {
        let options = expanded
            .polls
            .get(&id)
            .map(|p| {
                p.options
                    .items
                    .iter()
                    .filter_map(|o| nonempty(&o.label))
                    .collect::<Vec<_>>()
                    .join(" / ")
            })
            .unwrap_or_default();
        out.push(
            Attachment::of_kind("poll")
                .with_detail("poll-id", id)
                .with_detail("options", options),
        );
    }
    for id in attached.card_ids.unwrap_or_default() {
        out.push(Attachment::of_kind("card").with_detail("card-id", id));
    }
    let urls: &[UrlEntity] = entities.map(|e| e.urls.items.as_slice()).unwrap_or(&[]);
    for id in shared_tweets {
        let text = expanded.tweets.get(*id).map(|t| t.text());
        out.push(tweet_share(id, text, urls));
    }
    out.extend(link_shares(urls, shared_tweets));
    out
}

/// kv: which handle received the direct message a media URL belongs to.
fn handle_key(url: &str) -> String {
    format!("media_handle/{url}")
}

/// Remembers that `handle` received these direct-message attachments, for their download.
pub(crate) fn remember_dm_handle(attachments: &[Attachment], handle: &str) {
    for url in attachments.iter().filter_map(|a| a.url.as_deref()) {
        kv::set(&handle_key(url), handle.as_bytes());
    }
}

/// `scheme://host[:port]` and the path of an absolute URL.
fn split_url(url: &str) -> Option<(&str, &str)> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let origin_len = url.len() - rest.len() + host_end;
    let path = url[origin_len..].split(['?', '#']).next().unwrap_or("");
    Some((&url[..origin_len], path))
}

/// The dm id, media id and file of a ton.twitter.com direct-message URL.
fn ton_parts(path: &str) -> Option<(&str, &str, &str)> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let at = segments
        .windows(2)
        .position(|w| w[0] == "data" && w[1] == "dm")?;
    match segments.get(at + 2..at + 5)? {
        [dm, media, file] => Some((dm, media, file)),
        _ => None,
    }
}

/// The request that downloads `url`: public media as is, direct-message media with the
/// receiving handle's token. A token goes only to X's media hosts or the API's own
/// address, never to a host a payload names.
pub(crate) fn media_request(settings: &Settings, url: &str) -> Result<HttpRequest, ConnectorError> {
    let (origin, path) = split_url(url).ok_or_else(|| {
        ConnectorError::Rejected(format!("the attachment's address is not a URL: {url}"))
    })?;
    let origin_lower = origin.to_ascii_lowercase();
    let api_origin = split_url(&settings.api_base_url)
        .map(|(o, _)| o.to_ascii_lowercase())
        .unwrap_or_default();
    let ton = origin_lower == "https://ton.twitter.com";
    let x_host = ton || MEDIA_HOSTS.contains(&origin_lower.as_str()) || origin_lower == api_origin;
    let dm_path = path.split('/').any(|s| s.starts_with("dm_"));
    if !(ton || (x_host && dm_path)) {
        return Ok(HttpRequest::new("GET", url));
    }
    let handle = kv::get_string(&handle_key(url))
        .and_then(|h| settings.find_handle(&h).map(str::to_string))
        .unwrap_or_else(|| settings.default_handle().to_string());
    let token = settings.require_user_token(&handle)?;
    let target = match ton_parts(path).filter(|_| ton) {
        Some((dm, media, file)) => format!(
            "{}/2/dm_conversations/media/{}/{}/{}",
            settings.api_base_url,
            http::percent_encode(dm),
            http::percent_encode(media),
            http::percent_encode(file)
        ),
        None => url.to_string(),
    };
    Ok(api::request("GET", target, &token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_and_ton_paths_are_read() {
        assert_eq!(
            split_url("https://ton.twitter.com/1.1/ton/data/dm/1/2/a.jpg?x=1"),
            Some(("https://ton.twitter.com", "/1.1/ton/data/dm/1/2/a.jpg"))
        );
        assert_eq!(
            split_url("http://127.0.0.1:9/p"),
            Some(("http://127.0.0.1:9", "/p"))
        );
        assert_eq!(split_url("ftp://x"), None);
        assert_eq!(
            ton_parts("/1.1/ton/data/dm/11/22/abc.jpg"),
            Some(("11", "22", "abc.jpg"))
        );
        assert_eq!(ton_parts("/i/ton/data/dm/11/22"), None);
        assert_eq!(
            mime_of("https://pbs.twimg.com/media/Fx.JPG"),
            Some("image/jpeg".into())
        );
        assert_eq!(mime_of("https://pbs.twimg.com/media/Fx"), None);
    }
}
