//! What each Cloud API message `type` becomes: its text, attachments and metadata.
//!
//! Nothing a customer sends is dropped. The contract: `text` is exactly the words the
//! customer wrote (a body, a caption, the title of a reply they tapped), empty when they
//! wrote none; everything else is an attachment the desktop renders:
//!
//! | `type` | text | attachments | metadata |
//! |---|---|---|---|
//! | `text` | the body | | |
//! | `image`, `video`, `audio`, `document`, `sticker` | the caption | one with the media id (`document` → kind `file`), MIME type, caption, file name; a voice note has detail `voice` | `media_id`, `filename`, `voice` |
//! | `location` | | `location` with `latitude`, `longitude`, `name`, `address`, `url` | `latitude`, `longitude` |
//! | `contacts` | | one `contact` per card: `name`, each `phone`, each `email`, `organization` | `contacts` (the cards as sent) |
//! | `reaction` | "reacted 👍 to a message" | | `reaction`, `reaction_to`; the parent is the reacted message |
//! | `button` | the button's text | | `button_payload` |
//! | `interactive` | the reply's title (a flow's body) | | `interactive_type`, `interactive_id`, `interactive_description`, `flow_response` |
//! | `order` | the customer's note | `order` with `catalog-id` and one `item` per product | `order` (as sent) |
//! | `system` | the platform's sentence | | `system_type`, `new_wa_id` |
//! | `unsupported` and any type this connector does not know | | one of the raw type with `error` | `error` |
//!
//! A reaction is a message of its own (the contract has no reaction event), as Instagram
//! reactions are: readable in order in the transcript, its parent the reacted message, and
//! told apart by its metadata. An edit would have replaced the reacted message's text.

use serde_json::Value;
use switchboard_sdk::Attachment;

/// Text, attachments and metadata of one message, by type.
#[derive(Default)]
pub(crate) struct Content {
    pub text: String,
    pub attachments: Vec<Attachment>,
    pub metadata: Vec<(String, String)>,
    /// The message this one is about when its type says so (a reaction's target).
    pub parent_override: Option<String>,
}

impl Content {
    fn meta(&mut self, key: &str, value: impl Into<String>) {
        let value = value.into();
        if !value.is_empty() {
            self.metadata.push((key.into(), value));
        }
    }
}

pub(crate) fn str_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut v = value;
    for key in path {
        v = v.get(key)?;
    }
    v.as_str().filter(|s| !s.is_empty())
}

/// A number or a string of digits, as text.
pub(crate) fn scalar(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The error of a message or status as `code: title`, with details when they add something.
pub(crate) fn error_text(errors: Option<&Value>) -> Option<String> {
    let first = errors?.as_array()?.first()?;
    let code = scalar(first.get("code"));
    let title = str_at(first, &["title"]).or_else(|| str_at(first, &["message"]));
    let details = str_at(first, &["error_data", "details"]).or_else(|| str_at(first, &["details"]));
    let mut text = match (code, title) {
        (Some(c), Some(t)) => format!("{c}: {t}"),
        (Some(c), None) => c,
        (None, Some(t)) => t.to_string(),
        (None, None) => return details.map(str::to_string),
    };
    if let Some(d) = details.filter(|d| !text.contains(d)) {
        text.push_str(&format!(" ({d})"));
    }
    Some(text)
}

/// The content of a message of type `kind` (`raw` is the whole message).
pub(crate) fn content(raw: &Value, kind: &str) -> Content {
    let mut c = Content::default();
    let body = raw.get(kind).cloned().unwrap_or(Value::Null);
    match kind {
        "text" => c.text = str_at(&body, &["body"]).unwrap_or_default().to_string(),
        "image" | "video" | "audio" | "document" | "sticker" => media(&mut c, kind, &body),
        "location" => location(&mut c, &body),
        "contacts" => contacts(&mut c, raw.get("contacts")),
        "reaction" => reaction(&mut c, &body),
        "button" => {
            c.text = str_at(&body, &["text"]).unwrap_or_default().to_string();
            c.meta(
                "button_payload",
                str_at(&body, &["payload"]).unwrap_or_default(),
            );
        }
        "interactive" => interactive(&mut c, &body),
        "order" => order(&mut c, &body),
        "system" => {
            c.text = str_at(&body, &["body"]).unwrap_or_default().to_string();
            c.meta("system_type", str_at(&body, &["type"]).unwrap_or_default());
            let new_id = scalar(body.get("new_wa_id")).or_else(|| scalar(body.get("wa_id")));
            c.meta("new_wa_id", new_id.unwrap_or_default());
        }
        other => unknown(&mut c, other, raw),
    }
    c
}

/// A media message: the media id the host turns into a download through `media_request`.
fn media(c: &mut Content, kind: &str, body: &Value) {
    let id = str_at(body, &["id"]);
    let caption = str_at(body, &["caption"]).map(str::to_string);
    let filename = str_at(body, &["filename"]).map(str::to_string);
    let voice = body.get("voice").and_then(Value::as_bool) == Some(true);
    c.text = caption.clone().unwrap_or_default();
    let att_kind = if kind == "document" { "file" } else { kind };
    // A media message without an id is still kept: the desktop shows what it was.
    let mut attachment = match id {
        Some(id) => Attachment::with_media_id(att_kind, id),
        None => Attachment::of_kind(att_kind).with_detail("error", "WhatsApp sent no media id"),
    }
    .with_mime_type(str_at(body, &["mime_type"]).map(str::to_string))
    .with_caption(caption)
    .with_file_name(filename.clone());
    if voice {
        attachment = attachment.with_detail("voice", "true");
    }
    if body.get("animated").and_then(Value::as_bool) == Some(true) {
        attachment = attachment.with_detail("animated", "true");
    }
    c.attachments.push(attachment);
    c.meta("media_id", id.unwrap_or_default());
    c.meta("filename", filename.unwrap_or_default());
    if voice {
        c.meta("voice", "true");
    }
}

fn location(c: &mut Content, body: &Value) {
    let lat = scalar(body.get("latitude")).unwrap_or_default();
    let long = scalar(body.get("longitude")).unwrap_or_default();
    let mut place = Attachment::location(&lat, &long);
    for key in ["name", "address", "url"] {
        place = place.with_detail(key, str_at(body, &[key]).unwrap_or_default());
    }
    c.attachments.push(place);
    c.meta("latitude", lat);
    c.meta("longitude", long);
}

/// One `contact` attachment per shared card.
fn contacts(c: &mut Content, cards: Option<&Value>) {
    let list = cards.and_then(Value::as_array).cloned().unwrap_or_default();
    for card in &list {
        let name = str_at(card, &["name", "formatted_name"])
            .map(str::to_string)
            .or_else(|| {
                let parts: Vec<&str> = ["first_name", "middle_name", "last_name"]
                    .iter()
                    .filter_map(|k| str_at(card, &["name", k]))
                    .collect();
                (!parts.is_empty()).then(|| parts.join(" "))
            })
            .unwrap_or_else(|| "(no name)".into());
        let mut contact = Attachment::of_kind("contact").with_detail("name", name);
        for (list_key, key) in [("phones", "phone"), ("emails", "email")] {
            for entry in card
                .get(list_key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                contact = contact.with_detail(key, str_at(entry, &[key]).unwrap_or_default());
            }
        }
        let org = ["company", "department", "title"]
            .iter()
            .filter_map(|k| str_at(card, &["org", k]))
            .collect::<Vec<_>>()
            .join(", ");
        contact = contact.with_detail("organization", org);
        c.attachments.push(contact);
    }
    if list.is_empty() {
        c.attachments.push(
            Attachment::of_kind("contact")
                .with_detail("error", "WhatsApp sent a contacts message without cards"),
        );
    }
    c.meta("contacts", cards.map(Value::to_string).unwrap_or_default());
}

fn reaction(c: &mut Content, body: &Value) {
    let target = str_at(body, &["message_id"]);
    // An empty emoji takes an earlier reaction back.
    let emoji = str_at(body, &["emoji"]).unwrap_or_default();
    c.text = if emoji.is_empty() {
        "removed their reaction to a message".to_string()
    } else {
        format!("reacted {emoji} to a message")
    };
    if let Some(t) = target {
        c.meta("reaction_to", t);
        c.parent_override = Some(t.into());
    }
    c.metadata.push(("reaction".into(), emoji.into()));
}

/// A tapped list row, reply button or finished flow.
fn interactive(c: &mut Content, body: &Value) {
    let sub = str_at(body, &["type"]).unwrap_or_default().to_string();
    let reply = body.get(&sub).cloned().unwrap_or(Value::Null);
    c.text = str_at(&reply, &["title"]).unwrap_or_default().to_string();
    c.meta("interactive_type", sub.clone());
    c.meta(
        "interactive_id",
        str_at(&reply, &["id"]).unwrap_or_default(),
    );
    c.meta(
        "interactive_description",
        str_at(&reply, &["description"]).unwrap_or_default(),
    );
    if sub == "nfm_reply" {
        if c.text.is_empty() {
            c.text = str_at(&reply, &["body"]).unwrap_or_default().to_string();
        }
        c.meta(
            "flow_response",
            str_at(&reply, &["response_json"]).unwrap_or_default(),
        );
    }
    if c.text.is_empty() {
        // A reply of a kind this connector does not read: kept, with its raw type.
        let label = if sub.is_empty() {
            "interactive".to_string()
        } else {
            sub.clone()
        };
        c.attachments.push(
            Attachment::of_kind(label)
                .with_detail("title", str_at(&reply, &["title"]).unwrap_or_default()),
        );
        c.meta("interactive", body.to_string());
    }
}

/// A cart sent from the catalog.
fn order(c: &mut Content, body: &Value) {
    c.text = str_at(body, &["text"]).unwrap_or_default().to_string();
    let mut cart = Attachment::of_kind("order").with_detail(
        "catalog-id",
        scalar(body.get("catalog_id")).unwrap_or_default(),
    );
    for item in body
        .get("product_items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let quantity = scalar(item.get("quantity")).unwrap_or_else(|| "1".into());
        let product = str_at(item, &["product_retailer_id"]).unwrap_or("(unknown product)");
        let mut line = format!("{quantity} × {product}");
        if let Some(price) = scalar(item.get("item_price")) {
            let currency = str_at(item, &["currency"]).unwrap_or_default();
            line.push_str(&format!(" at {price} {currency}"));
        }
        cart = cart.with_detail("item", line.trim_end().to_string());
    }
    c.attachments.push(cart);
    c.meta("order", body.to_string());
}

/// `unsupported` (WhatsApp could not pass it on) or a type this connector does not know:
/// kept as an attachment of its raw type, with WhatsApp's error when it gave one.
fn unknown(c: &mut Content, kind: &str, raw: &Value) {
    let why = error_text(raw.get("errors"));
    let kind = if kind.is_empty() { "unsupported" } else { kind };
    let mut attachment = Attachment::of_kind(kind);
    if let Some(w) = &why {
        attachment = attachment.with_detail("error", w.clone());
    }
    if kind != "unsupported" {
        // What the platform sent, for whoever reads it later; the type is new to us.
        if let Some(object) = raw.get(kind).filter(|v| !v.is_null()) {
            let text = object.to_string();
            c.meta("raw", text.chars().take(2000).collect::<String>());
            if let Some(title) = str_at(object, &["title"]).or_else(|| str_at(object, &["body"])) {
                attachment = attachment.with_detail("title", title);
            }
        }
    }
    c.attachments.push(attachment);
    c.meta("error", why.unwrap_or_default());
}
