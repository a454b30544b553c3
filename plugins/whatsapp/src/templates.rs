//! Message templates: the list the agent picks from, and the `template` object of a send.
//!
//! [`list`] reads `GET /{waba-id}/message_templates?fields=name,language,status,category,components`
//! page by page (following `paging.cursors.after` while WhatsApp says there is a `next`
//! page) and maps each template to a `TemplateInfo`: the body text with its `{{n}}`
//! placeholders, how many distinct ones it has, the header's format and text, the footer.
//! What a send needs to know about a template and cannot be told by the host (whether its
//! header is media; the names of named parameters) is remembered in the plugin's store
//! under `template/<name>/<language>` each time the list is read, so [`object`] can refuse
//! a reply that cannot work in plain words instead of WhatsApp's error codes.
//!
//! A media header is filled from the reply's first file (uploaded like any file):
//! `{"type":"header","parameters":[{"type":"image","image":{"id":..}}]}`.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use switchboard_sdk::meta::GraphFailure;
use switchboard_sdk::{ConnectorError, Template, TemplateInfo, http, kv, log};

use crate::Settings;

/// Templates asked for per page (Graph's default is 25).
const PAGE_SIZE: u32 = 100;
/// Pages read at most: a business with more than 5,000 templates is unheard of, and a
/// cursor that never ends must not hold the call forever.
const MAX_PAGES: usize = 50;
const FIELDS: &str = "name,language,status,category,components";

#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    data: Vec<Value>,
    #[serde(default)]
    paging: Option<Paging>,
}

#[derive(Deserialize)]
struct Paging {
    #[serde(default)]
    cursors: Option<Cursors>,
    #[serde(default)]
    next: Option<String>,
}

#[derive(Deserialize)]
struct Cursors {
    #[serde(default)]
    after: Option<String>,
}

/// What a send needs to know about one template, remembered from the last list.
#[derive(Serialize, Deserialize, Default, Debug, PartialEq)]
pub(crate) struct Known {
    /// The header's format, lower case (`text`, `image`, `video`, `document`, `location`).
    #[serde(default)]
    pub header: Option<String>,
    /// The body's placeholders, in order of first use.
    #[serde(default)]
    pub placeholders: Vec<String>,
}

impl Known {
    /// Whether the body uses named parameters (`{{first_name}}`) rather than numbers.
    fn named(&self) -> bool {
        self.placeholders
            .iter()
            .any(|p| !p.chars().all(|c| c.is_ascii_digit()))
    }

    fn media_header(&self) -> Option<&str> {
        self.header
            .as_deref()
            .filter(|h| matches!(*h, "image" | "video" | "document"))
    }
}

fn store_key(name: &str, language: &str) -> String {
    format!("template/{}/{}", name.trim(), language.trim())
}

/// What the last list said about a template, if it was listed.
pub(crate) fn known(name: &str, language: &str) -> Option<Known> {
    kv::get(&store_key(name, language)).and_then(|v| serde_json::from_slice(&v).ok())
}

/// The distinct `{{..}}` placeholders of a text, in order of first use.
pub(crate) fn placeholders(text: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        let name = after[..end].trim();
        if !name.is_empty()
            && name.chars().all(|c| c.is_alphanumeric() || c == '_')
            && !found.iter().any(|f| f == name)
        {
            found.push(name.to_string());
        }
        rest = &after[end + 2..];
    }
    found
}

fn text_of(component: &Value) -> Option<String> {
    component
        .get("text")
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// One listed template as the agent's picker shows it; `None` without a name.
pub(crate) fn info(t: &Value) -> Option<(TemplateInfo, Known)> {
    let field = |k: &str| {
        t.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let name = field("name");
    if name.trim().is_empty() {
        return None;
    }
    let mut info = TemplateInfo {
        name,
        language: field("language"),
        status: field("status"),
        category: field("category"),
        body: String::new(),
        parameters: 0,
        header: None,
        header_text: None,
        footer: None,
    };
    let mut known = Known::default();
    for component in t
        .get("components")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let kind = component
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_ascii_uppercase();
        match kind.as_str() {
            "BODY" => info.body = text_of(component).unwrap_or_default(),
            "HEADER" => {
                let format = component
                    .get("format")
                    .and_then(Value::as_str)
                    .unwrap_or("TEXT")
                    .to_ascii_lowercase();
                if format == "text" {
                    info.header_text = text_of(component);
                }
                info.header = Some(format);
            }
            "FOOTER" => info.footer = text_of(component),
            _ => {} // buttons: nothing for the agent to fill
        }
    }
    known.placeholders = placeholders(&info.body);
    known.header = info.header.clone();
    info.parameters = known.placeholders.len() as u32;
    Some((info, known))
}

/// Every template of the channel's WhatsApp Business Account.
pub(crate) fn list(settings: &Settings) -> Result<Vec<TemplateInfo>, ConnectorError> {
    let Some(waba) = settings.waba_id.as_deref() else {
        return Err(ConnectorError::Unsupported(
            "setting `waba_id` is not set: WhatsApp's template list cannot be read, so the \
             channel's `templates` setting is used"
                .into(),
        ));
    };
    if settings.meta.access_token.is_none() {
        return Err(ConnectorError::InvalidConfig(
            "secret `access_token` (the system user access token) is required to list templates"
                .into(),
        ));
    }
    let graph = settings.graph();
    let first = format!(
        "{}/message_templates?fields={FIELDS}&limit={PAGE_SIZE}",
        graph.object_url(waba)
    );
    let mut url = first.clone();
    let mut templates = Vec::new();
    let mut cursors_seen: Vec<String> = Vec::new();
    for page_number in 1..=MAX_PAGES {
        let resp = graph.get(&url).map_err(|f| list_failed(f, waba))?;
        let page: Page = resp.json_body().map_err(|e| {
            ConnectorError::Transient(format!("unreadable template list from WhatsApp: {e}"))
        })?;
        for t in &page.data {
            match info(t) {
                Some((info, known)) => {
                    let stored = serde_json::to_vec(&known).unwrap_or_default();
                    kv::set(&store_key(&info.name, &info.language), stored);
                    templates.push(info);
                }
                None => log::warn("whatsapp: skipping a listed template without a name"),
            }
        }
        let paging = page.paging.unwrap_or(Paging {
            cursors: None,
            next: None,
        });
        let after = paging
            .cursors
            .and_then(|c| c.after)
            .filter(|a| !a.is_empty());
        match (paging.next, after) {
            (Some(_), Some(after)) if !cursors_seen.contains(&after) => {
                url = http::url_with_query(&first, &[("after", after.as_str())]);
                cursors_seen.push(after);
            }
            _ => return Ok(templates),
        }
        if page_number == MAX_PAGES {
            log::warn(format!(
                "whatsapp: the template list has more than {MAX_PAGES} pages; the rest is left out"
            ));
        }
    }
    Ok(templates)
}

/// A failed template list in plain words.
fn list_failed(failure: GraphFailure, waba: &str) -> ConnectorError {
    match (failure.code(), failure.error) {
        (_, ConnectorError::Unauthorized(why)) => ConnectorError::Unauthorized(format!(
            "WhatsApp refused the access token in secret `access_token` while listing templates: {why}"
        )),
        (Some(100), ConnectorError::Rejected(why)) => ConnectorError::InvalidConfig(format!(
            "the access token cannot see WhatsApp Business Account {waba} (setting `waba_id`): {why}; check the WhatsApp Business Account ID under WhatsApp → API Setup"
        )),
        (Some(code), ConnectorError::Rejected(why)) if code == 10 || (200..300).contains(&code) => {
            ConnectorError::InvalidConfig(format!(
                "the access token may not read the templates of WhatsApp Business Account {waba} ({why}): it needs whatsapp_business_management"
            ))
        }
        (_, other) => other,
    }
}

/// The media that fills a template's header: the message type and the uploaded media id,
/// with the file's name for a document.
pub(crate) struct HeaderMedia {
    pub kind: &'static str,
    pub id: String,
    pub file_name: String,
}

/// The `template` object of a send: name, language, the body's parameters and the header's
/// media. Refuses, before anything is sent, what the last list says cannot work.
pub(crate) fn object(
    template: &Template,
    header: Option<HeaderMedia>,
) -> Result<Value, ConnectorError> {
    let name = template.name.trim();
    if name.is_empty() {
        return Err(ConnectorError::Rejected(
            "a WhatsApp template needs a name".into(),
        ));
    }
    let language = match template.language.trim() {
        "" => "en_US",
        l => l,
    };
    let known = known(name, language);
    if let Some(known) = &known {
        match (known.media_header(), &header) {
            (Some(format), None) => {
                return Err(ConnectorError::Rejected(format!(
                    "template {name} has a header with {} ({format}): attach one to send it",
                    if format == "image" {
                        "an image"
                    } else {
                        "a file"
                    }
                )));
            }
            (Some(format), Some(media)) if format != media.kind => {
                return Err(ConnectorError::Rejected(format!(
                    "template {name} takes a header of type {format}; the attached file is of type {}",
                    media.kind
                )));
            }
            (None, Some(_)) => {
                return Err(ConnectorError::Rejected(format!(
                    "template {name} has no media header, so it cannot carry a file"
                )));
            }
            _ => {}
        }
    }
    let mut object = json!({ "name": name, "language": { "code": language } });
    let mut components = Vec::new();
    if let Some(media) = header {
        let mut file = json!({ "id": media.id });
        if media.kind == "document" && !media.file_name.is_empty() {
            file["filename"] = json!(media.file_name);
        }
        components.push(json!({
            "type": "header",
            "parameters": [{ "type": media.kind, media.kind: file }],
        }));
    }
    if !template.parameters.is_empty() {
        // Named parameters (`{{first_name}}`) must be sent with their names, in the order
        // the body uses them; numbered ones go by position.
        let names = known
            .as_ref()
            .filter(|k| k.named() && k.placeholders.len() == template.parameters.len())
            .map(|k| k.placeholders.clone());
        let parameters: Vec<Value> = template
            .parameters
            .iter()
            .enumerate()
            .map(|(i, text)| match &names {
                Some(names) => json!({ "type": "text", "parameter_name": names[i], "text": text }),
                None => json!({ "type": "text", "text": text }),
            })
            .collect();
        components.push(json!({ "type": "body", "parameters": parameters }));
    }
    if !components.is_empty() {
        object["components"] = Value::Array(components);
    }
    Ok(object)
}
