//! Attachments on Meta's messaging platforms (Messenger and Instagram direct messages):
//! every kind a `message.attachments[]` item may be, the CDN hosts its files are on, and
//! the Attachment Upload API an agent's file goes through.
//!
//! The contract the Meta connectors keep with it:
//!
//! - **Nothing is dropped.** Every item becomes one [`Attachment`]
//!   ([`messaging_attachment`]), whatever its type; a type this module does not know keeps
//!   its raw `type` as the kind, with a caption saying it cannot be shown yet:
//!
//!   | `type` | kind | `url` (downloaded by the host) | details, caption |
//!   |---|---|---|---|
//!   | `image`, `video`, `audio` | the same | `payload.url` | |
//!   | `image` with `payload.sticker_id` | `sticker` | `payload.url` | `sticker-id` |
//!   | `file` | `file` | `payload.url` | the file name from the URL's last segment |
//!   | `location` | `location` | — | `latitude`, `longitude` (`payload.coordinates.lat/long`), `name` (`title`), `url` |
//!   | `fallback` (a shared link) | `fallback` | — | `title`, `url` |
//!   | `template` (a shared product or post) | `share` | the first element's `image_url` | `title`, `subtitle`, `url`, `template-type`, `product-id`, `retailer-id` |
//!   | `share` | `share` | `payload.url` | `title`; caption "a shared post" |
//!   | `ig_reel`, `reel` | `share` | `payload.url` | `shared` = `reel`, `title`, `reel-video-id` |
//!   | `ig_post` | `share` | `payload.url` | `shared` = `post`, `title`, `media-id` |
//!   | `story_mention` | `story-mention` | `payload.url` | caption: stories expire |
//!   | `unsupported_type` | `unsupported_type` | — | caption: open the conversation on the platform |
//!   | anything else | its raw type | `payload.url` | `title`; caption: cannot be shown yet, open it on the platform |
//!
//!   `title` and `url` are read from the item or from its payload (Messenger puts a
//!   fallback's and a location's there, Instagram in the payload).
//! - **Media URLs need no token and expire.** They are signed CDN links, valid for hours
//!   to days: a connector keeps the SDK's default `media_request` (a plain `GET` of the
//!   URL) and never sends its token to a CDN; the host fetches them when it stores the
//!   message. [`MEDIA_HOSTS`] are the CDN hosts to declare in `describe().hosts` so the
//!   host's allowlist lets that fetch through.
//! - **Uploads.** An agent's file reaches Messenger through the Attachment Upload API
//!   ([`Graph::attachment_upload`]): the host streams it, the answer's `attachment_id`
//!   ([`Graph::uploaded_attachment_id`]) is what the Send API sends.

use serde_json::{Map, Value, json};

use super::{Graph, GraphFailure};
use crate::{Attachment, ConnectorError, HttpRequest, HttpResponse, MediaUpload, http};

/// The hosts of Meta's media CDNs, as `describe().hosts` patterns (`*` is one label):
/// `scontent.xx.fbcdn.net` and `scontent-iad3-1.xx.fbcdn.net` (Messenger photos,
/// videos), `scontent.fbog4-1.fna.fbcdn.net` (feed photos), `cdn.fbsbx.com` (Messenger
/// files) and `lookaside.fbsbx.com` (Instagram direct messages),
/// `scontent-lga3-1.cdninstagram.com` (Instagram media).
pub const MEDIA_HOSTS: &[&str] = &[
    "https://*.fbcdn.net",
    "https://*.xx.fbcdn.net",
    "https://*.*.fna.fbcdn.net",
    "https://*.fbsbx.com",
    "https://*.cdninstagram.com",
    "https://*.*.fna.cdninstagram.com",
];

/// [`MEDIA_HOSTS`] as owned strings, to extend `describe().hosts` with.
pub fn media_hosts() -> Vec<String> {
    MEDIA_HOSTS.iter().map(|h| h.to_string()).collect()
}

/// The ids of Messenger's thumbs-up "like" sticker (small, medium, large): sent with
/// `message.sticker_id` when a customer taps the like button.
pub const LIKE_STICKERS: &[&str] = &["369239263222822", "369239343222814", "369239383222810"];

/// A sticker known only by its id (`message.sticker_id` without a sticker attachment).
pub fn sticker_attachment(sticker_id: &str) -> Attachment {
    let caption = LIKE_STICKERS
        .contains(&sticker_id)
        .then(|| "👍 (the like button)".to_string());
    Attachment::of_kind("sticker")
        .with_detail("sticker-id", sticker_id)
        .with_caption(caption)
}

/// A text or number field of a JSON object as a string (ids and coordinates come as
/// either); none when absent or empty.
fn text(map: Option<&Map<String, Value>>, key: &str) -> Option<String> {
    match map?.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The last path segment of a URL, decoded, when it looks like a file name
/// (`.../Invoice-1042.pdf?_nc_cat=..` → `Invoice-1042.pdf`).
fn file_name_of(url: &str) -> Option<String> {
    let path = url.split(['?', '#']).next()?;
    let path = path.split_once("://").map_or(path, |(_, rest)| rest);
    let (_, segment) = path.rsplit_once('/')?;
    let name = http::percent_decode(segment);
    (name.contains('.') && !name.starts_with('.') && name.len() <= 255).then_some(name)
}

/// One `message.attachments[]` item of a Messenger or Instagram webhook, whatever its type
/// (see the module's table). `platform` names the platform in captions (`Messenger`,
/// `Instagram`).
pub fn messaging_attachment(platform: &str, raw: &Value) -> Attachment {
    let item = raw.as_object();
    let payload = item
        .and_then(|i| i.get("payload"))
        .and_then(Value::as_object);
    let kind = text(item, "type").unwrap_or_else(|| "unknown".into());
    // Either level, and Messenger's docs spell a fallback's link `URL` too.
    let field = |key: &str| text(payload, key).or_else(|| text(item, key));
    let url = field("url").or_else(|| text(item, "URL"));
    let title = field("title");
    let at = |kind: &str| match &url {
        Some(url) => Attachment::at_url(kind, url.clone()),
        None => Attachment::of_kind(kind),
    };
    match kind.as_str() {
        "image" if text(payload, "sticker_id").is_some() => {
            let id = text(payload, "sticker_id").unwrap_or_default();
            let mut sticker = sticker_attachment(&id);
            sticker.url = url;
            sticker
        }
        "image" | "video" | "audio" | "file" => {
            let mut a = at(&kind).with_caption(title);
            if kind == "file" {
                a.file_name = url.as_deref().and_then(file_name_of);
            }
            if a.url.is_none() {
                a.caption = Some(format!(
                    "{platform} sent this {kind} without a link to it: open the conversation in {platform} to see it"
                ));
            }
            a
        }
        "location" => {
            let coordinates = payload
                .and_then(|p| p.get("coordinates"))
                .and_then(Value::as_object);
            let base = match (text(coordinates, "lat"), text(coordinates, "long")) {
                (Some(lat), Some(long)) => Attachment::location(lat, long),
                _ => Attachment::of_kind("location"),
            };
            base.with_detail("name", title.clone().unwrap_or_default())
                .with_detail("url", url.unwrap_or_default())
                .with_caption(title)
        }
        "fallback" => Attachment::of_kind("fallback")
            .with_detail("title", title.clone().unwrap_or_default())
            .with_detail("url", url.unwrap_or_default())
            .with_caption(title.or(Some("a shared link".into()))),
        "template" => template(payload),
        "share" => at("share")
            .with_detail("title", title.clone().unwrap_or_default())
            .with_caption(title.or(Some("a shared post".into()))),
        "ig_reel" | "reel" => at("share")
            .with_detail("shared", "reel")
            .with_detail("title", title.clone().unwrap_or_default())
            .with_detail("reel-video-id", text(payload, "reel_video_id").unwrap_or_default())
            .with_caption(title.or(Some("a shared reel".into()))),
        "ig_post" => at("share")
            .with_detail("shared", "post")
            .with_detail("title", title.clone().unwrap_or_default())
            .with_detail(
                "media-id",
                text(payload, "ig_post_media_id").unwrap_or_default(),
            )
            .with_caption(title.or(Some(format!("a shared {platform} post")))),
        "story_mention" => at("story-mention").with_caption(Some(format!(
            "mentioned the account in their {platform} story (stories expire after 24 hours)"
        ))),
        "unsupported_type" => Attachment::of_kind("unsupported_type").with_caption(Some(format!(
            "{platform} did not pass this attachment on (unsupported type): open the conversation in {platform} to see it"
        ))),
        other => {
            let mut caption = format!(
                "an attachment of type `{other}` that Switchboard cannot show yet: open the conversation in {platform} to see it"
            );
            if let Some(title) = &title {
                caption.push_str(&format!(" ({title})"));
            }
            at(other)
                .with_detail("title", title.unwrap_or_default())
                .with_caption(Some(caption))
        }
    }
}

/// A `template` attachment: a shared product (`payload.product.elements`) or post
/// (`payload.elements`, a generic template), read from its first element.
fn template(payload: Option<&Map<String, Value>>) -> Attachment {
    let product = payload
        .and_then(|p| p.get("product"))
        .and_then(Value::as_object);
    let elements = product
        .or(payload)
        .and_then(|p| p.get("elements"))
        .and_then(Value::as_array);
    let first = elements.and_then(|e| e.first()).and_then(Value::as_object);
    let link = first
        .and_then(|e| e.get("default_action"))
        .and_then(Value::as_object)
        .and_then(|a| text(Some(a), "url"))
        .or_else(|| text(first, "url"))
        .or_else(|| text(first, "item_url"));
    let template_type = text(payload, "template_type")
        .or_else(|| product.map(|_| "product".to_string()))
        .unwrap_or_default();
    let title = text(first, "title");
    let mut a = Attachment::of_kind("share")
        .with_detail("template-type", template_type)
        .with_detail("title", title.clone().unwrap_or_default())
        .with_detail("subtitle", text(first, "subtitle").unwrap_or_default())
        .with_detail("url", link.unwrap_or_default())
        .with_detail("product-id", text(first, "id").unwrap_or_default())
        .with_detail(
            "retailer-id",
            text(first, "retailer_id").unwrap_or_default(),
        )
        .with_caption(title.or(Some("a shared product or post".into())));
    a.url = text(first, "image_url");
    a
}

/// What a reaction says in a transcript: "reacted ❤️ to a message", "removed their
/// reaction to a message". A reaction is a message of its own rather than an edit of the
/// reacted one, whose text (often the business's own reply) an edit would replace.
pub fn reaction_text(action: &str, emoji: Option<&str>, name: Option<&str>) -> String {
    let emoji = emoji.filter(|e| !e.trim().is_empty());
    let name = name.filter(|n| !n.trim().is_empty());
    match (action, emoji, name) {
        ("unreact", _, _) => "removed their reaction to a message".to_string(),
        (_, Some(emoji), _) => format!("reacted {emoji} to a message"),
        (_, None, Some(name)) => format!("reacted ({name}) to a message"),
        _ => "reacted to a message".to_string(),
    }
}

/// The kinds of file the Send API takes as an attachment.
const UPLOAD_KINDS: &[&str] = &["image", "video", "audio", "file"];

impl Graph {
    /// The Attachment Upload API for an agent's file of `kind` (`image`, `video`, `audio`,
    /// `file`): `POST /{node_id}/message_attachments` as `multipart/form-data` with
    /// `message={"attachment":{"type":kind,"payload":{"is_reusable":true}}}` (and
    /// `platform` when given: `instagram` for a linked page's Instagram account) and the
    /// file as `filedata`, authorized like every call of this channel. The host makes it;
    /// read its answer with [`uploaded_attachment_id`](Graph::uploaded_attachment_id).
    ///
    /// An upload gives nothing to the customer yet, so a send refused afterwards (a closed
    /// window) has sent nothing; reusable ids last 90 days.
    pub fn attachment_upload(
        &self,
        node_id: &str,
        kind: &str,
        platform: Option<&str>,
    ) -> Result<MediaUpload, ConnectorError> {
        if !UPLOAD_KINDS.contains(&kind) {
            return Err(ConnectorError::Rejected(format!(
                "{} cannot send a file of kind `{kind}`: image, video, audio or file only",
                self.platform
            )));
        }
        let url = format!("{}/message_attachments", self.object_url(node_id));
        let message = json!({"attachment": {"type": kind, "payload": {"is_reusable": true}}});
        let mut form = vec![("message".to_string(), message.to_string())];
        if let Some(platform) = platform {
            form.push(("platform".to_string(), platform.to_string()));
        }
        let request = self.authorize(HttpRequest::new("POST", url));
        Ok(MediaUpload::multipart(request, form, "filedata"))
    }

    /// The `attachment_id` in the answer to an [`attachment_upload`](Graph::attachment_upload):
    /// a Graph error in it is the same [`GraphFailure`] a call of this connector would get
    /// ([`read_answer`](Graph::read_answer)), an answer without an id is `rejected`.
    pub fn uploaded_attachment_id(&self, answer: &HttpResponse) -> Result<String, GraphFailure> {
        let answer = self.read_answer(answer.clone())?;
        answer
            .json_body::<Value>()
            .ok()
            .and_then(|v| text(v.as_object(), "attachment_id"))
            .ok_or_else(|| {
                let body: String = answer.body_text().chars().take(200).collect();
                ConnectorError::Rejected(format!(
                    "{} took the file but answered without an attachment_id: {body}",
                    self.platform
                ))
                .into()
            })
    }
}

#[cfg(test)]
#[path = "media_tests.rs"]
mod tests;
