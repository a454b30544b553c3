//! Attachments as agents see them: a label in words for every kind, including kinds
//! Switchboard does not know (kept with the platform's raw type, never dropped), and a
//! file's state from its `media` row.

use crate::model::event::Attachment;
use crate::model::interaction::AttachmentView;

/// Where a file stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MediaState {
    /// Not downloaded yet (or being retried).
    Pending,
    /// The bytes are stored and served.
    Stored,
    /// The download gave up; `error` says why.
    Failed,
    /// Removed by retention or erasure.
    Erased,
}

impl MediaState {
    pub fn parse(s: &str) -> MediaState {
        match s {
            "stored" => MediaState::Stored,
            "failed" => MediaState::Failed,
            "erased" => MediaState::Erased,
            _ => MediaState::Pending,
        }
    }
}

/// A file's row, as transcripts show it.
#[derive(Clone, Debug, PartialEq)]
pub struct MediaRow {
    pub id: i64,
    pub position: i64,
    pub state: MediaState,
    pub error: Option<String>,
    pub size: Option<i64>,
    pub content_type: Option<String>,
}

/// Whether the desktop may show a file of `content_type` inline (an image, a player);
/// anything else is served as a download, so no stored file can run as a page.
pub fn inline(content_type: &str) -> bool {
    matches!(
        content_type,
        "image/png"
            | "image/jpeg"
            | "image/gif"
            | "image/webp"
            | "image/bmp"
            | "image/avif"
            | "audio/mpeg"
            | "audio/ogg"
            | "audio/x-wav"
            | "audio/aac"
            | "audio/m4a"
            | "audio/x-flac"
            | "audio/webm"
            | "video/mp4"
            | "video/webm"
            | "video/quicktime"
            | "video/ogg"
    )
}

/// The kind of file a MIME type is: `image`, `video`, `audio` or `file`.
pub fn kind_of(content_type: &str) -> &'static str {
    match content_type.split('/').next().unwrap_or("") {
        "image" => "image",
        "video" => "video",
        "audio" => "audio",
        _ => "file",
    }
}

/// The words for a kind the host knows; none for a platform's own type.
pub fn known_label(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "image" => "Photo",
        "video" => "Video",
        "audio" => "Audio",
        "file" => "Document",
        "sticker" => "Sticker",
        "location" => "Location",
        "contact" => "Contact card",
        "share" => "Shared post",
        "story-mention" => "Mentioned you in their story",
        "story-reply" => "Replied to your story",
        "fallback" => "Link",
        _ => return None,
    })
}

/// What the desktop shows for `kind`.
pub fn label(kind: &str) -> String {
    match known_label(kind) {
        Some(words) => words.to_owned(),
        None if kind.trim().is_empty() => "Content Switchboard cannot show yet".to_owned(),
        None => format!("Content Switchboard cannot show yet ({kind})"),
    }
}

/// An attachment as kept with its message, with its file's row if it has one.
pub fn view(a: &Attachment, file: Option<&MediaRow>) -> AttachmentView {
    let kind = if a.kind.is_empty() {
        file.and_then(|f| f.content_type.as_deref())
            .map(|t| kind_of(t).to_owned())
            .unwrap_or_default()
    } else {
        a.kind.clone()
    };
    let mut view = AttachmentView {
        id: None,
        label: label(&kind),
        kind,
        url: None,
        state: None,
        error: None,
        mime_type: a.mime_type.clone(),
        inline: false,
        caption: a.caption.clone(),
        file_name: a.file_name.clone(),
        size: a.size.map(|s| s.min(i64::MAX as u64) as i64),
        details: a.details.iter().cloned().collect(),
    };
    if let Some(f) = file {
        view.id = Some(f.id);
        view.url = Some(format!("/api/v1/attachments/{}", f.id));
        view.state = Some(f.state);
        view.error = f.error.clone();
        if f.state == MediaState::Stored {
            view.mime_type = f.content_type.clone();
            view.size = f.size;
            view.inline = f.content_type.as_deref().is_some_and(inline);
        }
        if f.state == MediaState::Erased {
            view.url = None;
        }
    }
    view
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_words_and_unknown_ones_say_their_type() {
        assert_eq!(label("image"), "Photo");
        assert_eq!(label("location"), "Location");
        assert_eq!(
            label("ig_reel"),
            "Content Switchboard cannot show yet (ig_reel)"
        );
        assert_eq!(label(""), "Content Switchboard cannot show yet");
    }

    #[test]
    fn a_file_is_served_by_the_host_once_stored() {
        let a = Attachment {
            kind: "image".into(),
            url: Some("https://cdn.example/secret-signed-url".into()),
            ..Attachment::default()
        };
        let pending = MediaRow {
            id: 7,
            position: 0,
            state: MediaState::Pending,
            error: Some("the platform answered 503".into()),
            size: None,
            content_type: None,
        };
        let v = view(&a, Some(&pending));
        assert_eq!(v.url.as_deref(), Some("/api/v1/attachments/7"));
        assert_eq!(v.state, Some(MediaState::Pending));
        assert!(!v.inline);
        let json = serde_json::to_string(&v).unwrap();
        assert!(!json.contains("secret-signed-url"), "{json}");
        let stored = MediaRow {
            state: MediaState::Stored,
            error: None,
            size: Some(42),
            content_type: Some("image/png".into()),
            ..pending
        };
        let v = view(&a, Some(&stored));
        assert!(v.inline);
        assert_eq!(v.mime_type.as_deref(), Some("image/png"));
        assert_eq!(v.size, Some(42));
        let location = Attachment {
            kind: "location".into(),
            details: vec![("latitude".into(), "52.1".into())],
            ..Attachment::default()
        };
        let v = view(&location, None);
        assert_eq!(v.id, None);
        assert_eq!(v.details["latitude"], "52.1");
    }
}
