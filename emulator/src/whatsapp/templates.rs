//! Message templates of a WhatsApp Business Account on the emulated Cloud API.
//!
//! Every number's account starts with the same few templates ([`seeded`]): approved ones
//! with and without parameters, one with an image header, one still pending review.
//! `GET /{waba-id}/message_templates` lists them as the Graph API does (`fields`, `limit`,
//! `after` cursors, `paging.next` while more remain), and a template send is checked
//! against them ([`check_send`]): an unknown name or language and a template that is not
//! approved are refused with 132001, a wrong number of body parameters with 132000, a
//! media header without its media with 132012 — as WhatsApp answers.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::media::{Media, check_owner_token};
use super::{Number, cloud_error};
use crate::graph::GraphRequest;
use std::collections::HashMap;

/// One template as the business account holds it.
#[derive(Clone, Debug)]
pub(super) struct TemplateDef {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) language: String,
    /// `APPROVED`, `PENDING`, `REJECTED`, `PAUSED`, `DISABLED`.
    pub(super) status: String,
    pub(super) category: String,
    /// `TEXT`, `IMAGE`, `VIDEO` or `DOCUMENT`, and the text of a text header.
    pub(super) header: Option<(String, Option<String>)>,
    pub(super) body: String,
    pub(super) footer: Option<String>,
}

/// The templates every emulated account starts with.
pub(super) fn seeded(waba_id: &str) -> Vec<TemplateDef> {
    let t = |n: usize, name: &str, status: &str, category: &str, body: &str| TemplateDef {
        id: format!("{waba_id}{n:02}"),
        name: name.into(),
        language: "en_US".into(),
        status: status.into(),
        category: category.into(),
        header: None,
        body: body.into(),
        footer: None,
    };
    vec![
        TemplateDef {
            header: Some(("TEXT".into(), Some("Hello World".into()))),
            footer: Some("WhatsApp Business Platform sample message".into()),
            ..t(
                1,
                "hello_world",
                "APPROVED",
                "UTILITY",
                "Welcome and congratulations!! This message demonstrates your ability to send a WhatsApp message notification from the Cloud API, hosted by Meta. Thank you for taking the time to test with us.",
            )
        },
        t(
            2,
            "order_update",
            "APPROVED",
            "UTILITY",
            "Good news: there is an update about your order. Reply to this message and we will tell you more.",
        ),
        TemplateDef {
            footer: Some("Reply to this message to continue".into()),
            ..t(
                3,
                "issue_resolution",
                "APPROVED",
                "UTILITY",
                "Hi {{1}}, we have an update about your request.",
            )
        },
        TemplateDef {
            footer: Some("Reply STOP to opt out".into()),
            ..t(
                4,
                "delivery_update",
                "APPROVED",
                "UTILITY",
                "Hello {{1}}, your order {{2}} will arrive {{3}}.",
            )
        },
        TemplateDef {
            header: Some(("IMAGE".into(), None)),
            ..t(
                5,
                "parcel_photo",
                "APPROVED",
                "UTILITY",
                "Here is a photo of your parcel {{1}} as we handed it over.",
            )
        },
        t(
            6,
            "spring_sale",
            "PENDING",
            "MARKETING",
            "Hi {{1}}, our spring sale starts {{2}}: up to 30% off.",
        ),
    ]
}

impl TemplateDef {
    /// The distinct `{{..}}` placeholders of the body, in order of first use.
    fn placeholders(&self) -> Vec<String> {
        let mut found: Vec<String> = Vec::new();
        let mut rest = self.body.as_str();
        while let Some(start) = rest.find("{{") {
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else { break };
            let name = after[..end].trim().to_string();
            if !found.contains(&name) {
                found.push(name);
            }
            rest = &after[end + 2..];
        }
        found
    }

    /// As the Graph API lists it.
    fn json(&self) -> Value {
        let mut components = Vec::new();
        if let Some((format, text)) = &self.header {
            let mut header = json!({ "type": "HEADER", "format": format });
            match text {
                Some(text) => header["text"] = json!(text),
                None => header["example"] = json!({ "header_handle": ["4::aW1hZ2UvanBlZw==:ARb"] }),
            }
            components.push(header);
        }
        components.push(json!({ "type": "BODY", "text": self.body }));
        if let Some(footer) = &self.footer {
            components.push(json!({ "type": "FOOTER", "text": footer }));
        }
        json!({
            "name": self.name,
            "language": self.language,
            "status": self.status,
            "category": self.category,
            "components": components,
            "id": self.id,
        })
    }
}

/// The opaque paging cursor of position `i`.
fn cursor(i: usize) -> String {
    crate::apple::base64_encode(format!("position:{i}").as_bytes())
}

fn position(cursor: &str) -> Option<usize> {
    let decoded = crate::apple::base64_decode(cursor)?;
    String::from_utf8(decoded)
        .ok()?
        .strip_prefix("position:")?
        .parse()
        .ok()
}

/// `GET /{waba-id}/message_templates`.
pub(super) fn list(number: &Number, req: &GraphRequest) -> Response {
    if let Err(refused) = check_owner_token(number, req) {
        return refused;
    }
    let limit = req
        .param("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0)
        .unwrap_or(25);
    let start = match req.param("after") {
        Some(after) => match position(&after) {
            Some(p) => p,
            None => {
                return cloud_error(
                    StatusCode::BAD_REQUEST,
                    100,
                    "Invalid parameter",
                    "The parameter after is not a valid cursor.",
                );
            }
        },
        None => 0,
    };
    let wanted: Option<Vec<String>> = req
        .param("fields")
        .map(|f| f.split(',').map(|s| s.trim().to_string()).collect());
    let all = &number.templates;
    let end = (start + limit).min(all.len());
    let data: Vec<Value> = all
        .get(start..end)
        .unwrap_or_default()
        .iter()
        .map(|t| {
            let mut v = t.json();
            if let (Some(wanted), Value::Object(map)) = (&wanted, &mut v) {
                map.retain(|k, _| k == "id" || wanted.contains(k));
            }
            v
        })
        .collect();
    let mut paging = json!({ "cursors": { "before": cursor(start), "after": cursor(end) } });
    if end < all.len() {
        // Absolute like Graph's; a client follows the `after` cursor on its own base URL.
        paging["next"] = json!(format!(
            "https://graph.facebook.com/v19.0/{}/message_templates?limit={limit}&after={}",
            number.waba_id,
            cursor(end)
        ));
    }
    axum::Json(json!({ "data": data, "paging": paging })).into_response()
}

fn template_error(code: i64, title: &str, details: &str) -> Response {
    cloud_error(StatusCode::BAD_REQUEST, code, title, details)
}

/// What a template send carried, checked against the account's templates: the recorded
/// summary (`parameters`, `header`, `rendered` body), or WhatsApp's refusal.
#[allow(clippy::result_large_err)] // the error is the ready-made HTTP answer
pub(super) fn check_send(
    number: &Number,
    media: &HashMap<String, Media>,
    object: &Value,
) -> Result<Value, Response> {
    let name = object.get("name").and_then(Value::as_str).unwrap_or("");
    let language = object
        .pointer("/language/code")
        .and_then(Value::as_str)
        .unwrap_or("");
    let Some(def) = number
        .templates
        .iter()
        .find(|t| t.name == name && t.language == language)
    else {
        return Err(template_error(
            132001,
            "Template name does not exist in the translation",
            &format!("template name ({name}) does not exist in {language}"),
        ));
    };
    match def.status.as_str() {
        "APPROVED" => {}
        "PAUSED" => {
            return Err(template_error(
                132015,
                "Template is paused",
                &format!("template {name} is paused"),
            ));
        }
        "DISABLED" => {
            return Err(template_error(
                132016,
                "Template is disabled",
                &format!("template {name} is disabled"),
            ));
        }
        other => {
            return Err(template_error(
                132001,
                "Template name does not exist in the translation",
                &format!("template {name} is {other}, not approved"),
            ));
        }
    }
    let components: Vec<&Value> = object
        .get("components")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    let of_type = |kind: &str| {
        components.iter().find(|c| {
            c.get("type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.eq_ignore_ascii_case(kind))
        })
    };
    let parameters: Vec<String> = of_type("body")
        .and_then(|c| c.get("parameters"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| {
            p.get("text")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        })
        .collect();
    let expected = def.placeholders();
    if parameters.len() != expected.len() {
        return Err(template_error(
            132000,
            "Number of parameters does not match the expected number of params",
            &format!(
                "body: number of localizable_params ({}) does not match the expected number of params ({})",
                parameters.len(),
                expected.len()
            ),
        ));
    }
    let mut header = Value::Null;
    if let Some((format, _)) = def.header.as_ref().filter(|(f, _)| f != "TEXT") {
        let kind = format.to_ascii_lowercase();
        let given = of_type("header")
            .and_then(|c| c.pointer("/parameters/0"))
            .filter(|p| p.get("type").and_then(Value::as_str) == Some(kind.as_str()))
            .and_then(|p| p.get(&kind));
        let Some(given) = given else {
            return Err(template_error(
                132012,
                "Parameter format does not match format in the created template",
                &format!("header: Format mismatch, expected {format}, received UNKNOWN"),
            ));
        };
        header = super::media::sent_media(media, &number.config.phone_number_id, &kind, given)?;
        header["type"] = json!(kind);
    }
    let mut rendered = def.body.clone();
    for (name, value) in expected.iter().zip(&parameters) {
        rendered = rendered.replace(&format!("{{{{{name}}}}}"), value);
    }
    Ok(json!({
        "name": name,
        "language": language,
        "parameters": parameters,
        "header": header,
        "rendered": rendered,
    }))
}
