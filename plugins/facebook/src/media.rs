//! Files, both ways.
//!
//! In: Messenger attachments of every kind are read by
//! [`switchboard_sdk::meta::messaging_attachment`]; feed comments and posts carry theirs as
//! `photo`/`video` URLs in webhooks and as Graph "story attachments" when polled
//! ([`story_attachments`]). Their URLs are Meta CDN links that need no token and expire
//! within hours or days: the connector keeps the SDK's default `media_request` (a plain
//! `GET`), declares the CDN hosts ([`switchboard_sdk::meta::MEDIA_HOSTS`]) so the host's
//! allowlist lets it fetch them, and the host fetches them as soon as it stores the
//! message.
//!
//! Out ([`file_limits`], [`upload_media`]):
//!
//! | Reply | How a file goes | Limits |
//! |---|---|---|
//! | Messenger (`psid:` thread) | the host uploads it through the Attachment Upload API (`POST /{page-id}/message_attachments`, `filedata`), then `send` sends `{"attachment":{"type","payload":{"attachment_id"}}}`, one message per file after the text | image (JPEG, PNG, GIF), video, audio, file: 25 MB each (Meta's limit for uploaded assets) |
//! | private reply to a comment | refused: Facebook allows one private reply per comment, and it is text | — |
//! | public comment | by link: `attachment_url` = the host's public link to the file, one photo per comment (the first with the text) | image (JPEG, PNG, GIF), 4 MB |
//!
//! Why upload first rather than a multipart `POST /messages` with the file: the upload
//! sends nothing to the customer, so the window and tag are still decided by `send`, a
//! refused send has sent nothing, and a retried upload cannot message the customer twice.
//! A reply of several parts remembers each part sent (`sent/<key>#<n>`), so a retry
//! after a failure in the middle sends only what is left.

use serde_json::Value;
use switchboard_sdk::IdempotencyKey;
use switchboard_sdk::{
    Attachment, ConnectorError, FileLimit, MediaUpload, Outbound, OutboundFile, Visibility, kv,
};

use crate::Settings;
use crate::messenger::psid_of;

/// Meta's limit for an uploaded Messenger asset of any kind.
pub(crate) const MESSENGER_MAX_BYTES: u64 = 25 * 1024 * 1024;
/// Facebook's limit for a photo (a comment's `attachment_url`).
pub(crate) const COMMENT_PHOTO_MAX_BYTES: u64 = 4 * 1024 * 1024;
/// The image types both take.
const IMAGE_TYPES: &[&str] = &["image/jpeg", "image/png", "image/gif"];

/// The files each kind of reply takes (see the module's table).
pub(crate) fn file_limits() -> Vec<FileLimit> {
    let private = Visibility::Private;
    vec![
        FileLimit::new(private, "image", MESSENGER_MAX_BYTES, IMAGE_TYPES),
        FileLimit::new(private, "video", MESSENGER_MAX_BYTES, &[]),
        FileLimit::new(private, "audio", MESSENGER_MAX_BYTES, &[]),
        FileLimit::new(private, "file", MESSENGER_MAX_BYTES, &[]),
        FileLimit::new(
            Visibility::Public,
            "image",
            COMMENT_PHOTO_MAX_BYTES,
            IMAGE_TYPES,
        ),
    ]
}

/// The refusal of a file in a private reply to a comment.
pub(crate) fn no_file_in_private_reply() -> ConnectorError {
    ConnectorError::Rejected(
        "a private reply to a comment is one text message (Facebook allows one per comment): send the file in Messenger once the customer answers"
            .into(),
    )
}

/// The upload a file needs before `send`: Messenger's Attachment Upload API; none for a
/// public comment (it takes the host's link).
pub(crate) fn upload_media(
    settings: &Settings,
    file: &OutboundFile,
    msg: &Outbound,
) -> Result<Option<MediaUpload>, ConnectorError> {
    match (msg.visibility, psid_of(&msg.thread_id)) {
        (Visibility::Private, Some(_)) => settings
            .graph()
            .attachment_upload(&settings.page_id, &file.kind, None)
            .map(Some),
        (Visibility::Private, None) => Err(no_file_in_private_reply()),
        (Visibility::Public, _) => Ok(None),
    }
}

/// The public link the host made for a file, or why there is none.
pub(crate) fn link_of(file: &OutboundFile) -> Result<&str, ConnectorError> {
    file.link.as_deref().filter(|l| !l.is_empty()).ok_or_else(|| {
        ConnectorError::Rejected(format!(
            "Facebook takes a photo in a comment only by a public link, and this Switchboard has none for {} (set [server] public_url)",
            file.file_name
        ))
    })
}

/// The platform id part `n` of the reply with this idempotency key already got.
pub(crate) fn part_sent(idempotency_key: &IdempotencyKey, n: usize) -> Option<String> {
    (!idempotency_key.is_empty())
        .then(|| kv::get_string(&format!("sent/{idempotency_key}#{n}")))
        .flatten()
}

/// Remembers that part `n` of the reply went out as `id`.
pub(crate) fn remember_part(idempotency_key: &IdempotencyKey, n: usize, id: &str) {
    if !idempotency_key.is_empty() {
        kv::set(&format!("sent/{idempotency_key}#{n}"), id);
    }
}

/// A text field of a Graph object.
fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// The attachments of a post (`attachments{data:[..]}`) or a comment (`attachment`), as
/// the Graph API reads them ("story attachments"): a photo or a GIF is an image, a sticker a
/// sticker, a video a video when Graph gives its `source` (else a link to its page), a
/// shared link a share, an album its photos; any other type is kept with its raw type.
pub(crate) fn story_attachments(raw: &Value) -> Vec<Attachment> {
    let mut out = Vec::new();
    match raw.get("data").and_then(Value::as_array) {
        Some(items) => items.iter().for_each(|a| story_attachment(a, &mut out)),
        None if raw.is_object() => story_attachment(raw, &mut out),
        None => {}
    }
    out
}

fn story_attachment(a: &Value, out: &mut Vec<Attachment>) {
    let kind = text(a, "type").unwrap_or_else(|| "unknown".into());
    let image = a.pointer("/media/image/src").and_then(Value::as_str);
    let link = text(a, "url").or_else(|| {
        a.pointer("/target/url")
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    let title = text(a, "title").or_else(|| text(a, "description"));
    let at = |k: &str, url: Option<&str>| match url.filter(|u| !u.is_empty()) {
        Some(url) => Attachment::at_url(k, url),
        None => Attachment::of_kind(k),
    };
    if let Some(subs) = a.pointer("/subattachments/data").and_then(Value::as_array) {
        subs.iter().for_each(|s| story_attachment(s, out));
        return;
    }
    let attachment = match kind.as_str() {
        "photo" | "cover_photo" | "profile_media" | "animated_image_share"
        | "animated_image_autoplay" => at("image", image),
        "sticker" => at("sticker", image).with_detail(
            "sticker-id",
            a.pointer("/target/id").and_then(Value::as_str).unwrap_or_default(),
        ),
        k if k.starts_with("video") => match a.pointer("/media/source").and_then(Value::as_str) {
            Some(source) => Attachment::at_url("video", source),
            None => Attachment::of_kind("video")
                .with_detail("url", link.clone().unwrap_or_default())
                .with_caption(Some("a video: open it on Facebook".into())),
        },
        "share" => at("share", image)
            .with_detail("title", title.clone().unwrap_or_default())
            .with_detail("url", link.clone().unwrap_or_default()),
        "album" => Attachment::of_kind("album")
            .with_detail("title", title.clone().unwrap_or_default())
            .with_detail("url", link.clone().unwrap_or_default()),
        other => at(other, image)
            .with_detail("title", title.clone().unwrap_or_default())
            .with_detail("url", link.clone().unwrap_or_default())
            .with_caption(Some(format!(
                "a Facebook attachment of type `{other}` that Switchboard cannot show yet: open it on Facebook"
            ))),
    };
    out.push(attachment.with_caption_if_none(title));
}

/// A caption only where none was set.
trait CaptionIfNone {
    fn with_caption_if_none(self, caption: Option<String>) -> Self;
}

impl CaptionIfNone for Attachment {
    fn with_caption_if_none(self, caption: Option<String>) -> Self {
        if self.caption.is_some() {
            return self;
        }
        self.with_caption(caption)
    }
}
