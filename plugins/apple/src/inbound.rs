//! What each kind of customer message Apple delivers becomes. Nothing is dropped but the
//! typing indicators (`typing_start`, `typing_end`), which say nothing.
//!
//! | Apple sends | text | attachments | metadata |
//! |---|---|---|---|
//! | `text` | the body, without the U+FFFC placeholders Apple puts where attachments sit | one per `attachments[]` entry (below) | |
//! | `richLink` (or `richLinkData` on any message) | the body | `share` with `title`, `url` | |
//! | `interactive`: a list picker reply | the chosen items' titles | | `interactive_type=list_picker`, `list_picker_selection` |
//! | `interactive`: a quick reply | the chosen item's title | | `interactive_type=quick_reply`, `quick_reply_selection` |
//! | `interactive`: a time picker reply | the reply's title (else the chosen start times) | | `interactive_type=time_picker`, `time_picker_selection` |
//! | `interactive`: Apple Pay, sign-in, a form, an iMessage app | the reply's title | `interactive` with `title`, `extension` when there is no title | `interactive_type` (`apple_pay`, `authentication`, `form`, `other`) |
//! | `interactive` with `interactiveDataRef` (a reply over 10 KB) | | `interactive` with a `note` | `interactive_type=reference` |
//! | `close` | | `close` with a `note` | `apple_event=close` |
//! | a type this connector does not know | the body | one of the raw type | |
//!
//! Attachments: Apple delivers each file encrypted, behind a pre-download call and a key
//! in the payload. Each is kept as kind `image`, `video`, `audio` or `file` with its name,
//! MIME type and size, and what the download needs (address, owner, checksum, key) as
//! its `media-id`, which the host keeps for `media_request` and never shows (`files`).
//! An attachment without them is kept with a `note` saying the file cannot be fetched.
//! Payment and sign-in tokens are never kept.

use serde::Deserialize;
use serde_json::Value;
use switchboard_sdk::Attachment;
use switchboard_sdk::lenient;

/// Where Apple marks an attachment's place in the text.
const ATTACHMENT_PLACEHOLDER: char = '\u{fffc}';

/// What the desktop shows for an attachment Apple sent without what its download needs.
pub(crate) const UNREADABLE_NOTE: &str = "Apple sent this file without its address or key; its name, type and size are kept, not the file itself";

/// One entry of Apple's `attachments`.
#[derive(Deserialize)]
pub(crate) struct AppleAttachment {
    #[serde(default, deserialize_with = "lenient::opt")]
    name: Option<String>,
    #[serde(rename = "mimeType", default, deserialize_with = "lenient::opt")]
    mime_type: Option<String>,
    /// A number, or a string of digits as some gateways send it.
    #[serde(default)]
    size: Value,
    #[serde(default, deserialize_with = "lenient::opt")]
    url: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    owner: Option<String>,
    /// The file's checksum (hex, despite the name; some gateways send `signature`).
    #[serde(
        rename = "signature-base64",
        alias = "signature",
        default,
        deserialize_with = "lenient::opt"
    )]
    signature: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    key: Option<String>,
}

fn kind_of(mime: Option<&str>) -> &'static str {
    match mime.unwrap_or("").split('/').next().unwrap_or("") {
        "image" => "image",
        "video" => "video",
        "audio" => "audio",
        _ => "file",
    }
}

/// Apple's attachment as kept: kind, name, type and size, with the note.
pub(crate) fn attachment(a: &AppleAttachment) -> Attachment {
    let mut kept = Attachment::of_kind(kind_of(a.mime_type.as_deref()))
        .with_mime_type(a.mime_type.clone())
        .with_file_name(a.name.clone());
    let field = |f: &Option<String>| f.clone().unwrap_or_default();
    match crate::files::Handle::of(
        &field(&a.url),
        &field(&a.owner),
        &field(&a.signature),
        &field(&a.key),
    ) {
        Some(handle) => kept.media_id = Some(handle.to_media_id()),
        None => kept = kept.with_detail("note", UNREADABLE_NOTE),
    }
    kept.size = match &a.size {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    // A voice note recorded in Messages is Core Audio.
    if a.mime_type.as_deref() == Some("audio/x-caf") {
        kept = kept.with_detail("voice", "true");
    }
    kept
}

/// The body as the customer wrote it, without the attachments' placeholders.
pub(crate) fn text_of(body: Option<&str>) -> String {
    let body = body.unwrap_or_default();
    if body.contains(ATTACHMENT_PLACEHOLDER) {
        body.replace(ATTACHMENT_PLACEHOLDER, "").trim().to_string()
    } else {
        body.to_string()
    }
}

/// A rich link the customer shared (`richLinkData: {url, title}`).
pub(crate) fn rich_link(data: &Value) -> Option<Attachment> {
    let url = data.get("url").and_then(Value::as_str).unwrap_or_default();
    let title = data
        .get("title")
        .and_then(Value::as_str)
        .unwrap_or_default();
    (!url.is_empty() || !title.is_empty()).then(|| {
        Attachment::of_kind("share")
            .with_detail("title", title)
            .with_detail("url", url)
    })
}

/// What an interactive reply says: its text, metadata and attachments.
#[derive(Default)]
pub(crate) struct Reply {
    pub text: String,
    pub metadata: Vec<(String, String)>,
    pub attachments: Vec<Attachment>,
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// Items of `sections[].items[]` (list pickers) or `items[]`, the selected ones when
/// they are flagged (some senders list every item and flag the chosen).
fn chosen_items(container: &Value) -> Vec<&Value> {
    let sectioned = container
        .get("sections")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|s| {
            s.get("items")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        });
    let flat = container
        .get("items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    let items: Vec<&Value> = sectioned.chain(flat).collect();
    let flagged: Vec<&Value> = items
        .iter()
        .copied()
        .filter(|i| i.get("selected").and_then(Value::as_bool) == Some(true))
        .collect();
    if flagged.is_empty() { items } else { flagged }
}

fn values(items: &[&Value], key: &str) -> Vec<String> {
    items
        .iter()
        .filter_map(|i| str_of(i, key).map(str::to_string))
        .collect()
}

/// An `interactive` message: `interactiveData` (or the reference Apple sends instead when
/// it is over 10 KB). Always a reply, so it is always kept.
pub(crate) fn interactive(data: Option<&Value>, reference: Option<&Value>) -> Reply {
    let mut r = Reply::default();
    let Some(interactive) = data else {
        r.metadata
            .push(("interactive_type".into(), "reference".into()));
        let mut kept = Attachment::of_kind("interactive").with_detail(
            "note",
            "Apple sent this reply encrypted (it is over 10 KB); it was not opened",
        );
        kept.size = reference
            .and_then(|r| r.get("size"))
            .and_then(Value::as_u64);
        r.attachments.push(kept);
        return r;
    };
    let data = interactive.get("data").cloned().unwrap_or(Value::Null);
    if let Some(rid) = str_of(&data, "requestIdentifier") {
        r.metadata
            .push(("apple_request_identifier".into(), rid.to_string()));
    }
    let title = data
        .get("replyMessage")
        .and_then(|m| str_of(m, "title").or_else(|| str_of(m, "alternateTitle")))
        .map(str::to_string);
    let (kind, text) = if let Some(picker) = data.get("listPicker") {
        let chosen = chosen_items(picker);
        let titles = values(&chosen, "title");
        let ids = values(&chosen, "identifier");
        r.metadata
            .push(("list_picker_selection".into(), ids.join(",")));
        let text = if !titles.is_empty() {
            titles.join(", ")
        } else if !ids.is_empty() {
            ids.join(", ")
        } else {
            title.unwrap_or_default()
        };
        ("list_picker", text)
    } else if let Some(quick) = data.get("quick-reply") {
        let chosen = str_of(quick, "selectedIdentifier").map(str::to_string);
        let items = chosen_items(quick);
        let picked = items
            .iter()
            .find(|i| str_of(i, "identifier").map(str::to_string) == chosen)
            .and_then(|i| str_of(i, "title"))
            .map(str::to_string);
        r.metadata.push((
            "quick_reply_selection".into(),
            chosen.clone().unwrap_or_default(),
        ));
        (
            "quick_reply",
            picked.or(title).or(chosen).unwrap_or_default(),
        )
    } else if let Some(event) = data.get("event") {
        let slots: Vec<&Value> = event
            .get("timeslots")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .collect();
        r.metadata.push((
            "time_picker_selection".into(),
            values(&slots, "identifier").join(","),
        ));
        let starts = values(&slots, "startTime").join(", ");
        ("time_picker", title.unwrap_or(starts))
    } else {
        // Apple Pay, sign-in and forms carry tokens and personal data: only their kind
        // and the reply's title are kept.
        let kind = if data.get("payment").is_some() {
            "apple_pay"
        } else if data.get("authenticate").is_some() {
            "authentication"
        } else if data.get("dynamic").is_some() || data.get("form").is_some() {
            "form"
        } else {
            "other"
        };
        (kind, title.unwrap_or_default())
    };
    r.metadata.push(("interactive_type".into(), kind.into()));
    if text.is_empty() {
        r.attachments.push(
            Attachment::of_kind("interactive")
                .with_detail("title", kind.replace('_', " "))
                .with_detail("extension", str_of(interactive, "bid").unwrap_or_default()),
        );
    }
    r.text = text;
    r
}

/// The customer closed the conversation in Messages.
pub(crate) fn closed() -> Attachment {
    Attachment::of_kind("close")
        .with_detail("note", "The customer closed the conversation in Messages")
}
