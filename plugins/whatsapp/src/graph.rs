//! Sending through the Cloud API: `POST /{phone-number-id}/messages` and the checks made
//! before anything is sent (blocked regions, the 24-hour window). Requests and the
//! mapping of Graph errors are [`switchboard_sdk::meta`]'s; this module only adds what a
//! WhatsApp code means to an agent (131047: only a template can be sent).

use serde::Deserialize;
use serde_json::{Value, json};
use switchboard_sdk::meta::GraphFailure;
use switchboard_sdk::{Account, ConnectorError, Outbound, Sent, clock, kv, log};

use crate::{Settings, WINDOW_MS};

/// Calling codes of the regions WhatsApp Business may not message: Cuba, Iran, North
/// Korea, Syria and Crimea.
pub(crate) const BLOCKED_PREFIXES: [(&str, &str); 5] = [
    ("53", "Cuba"),
    ("98", "Iran"),
    ("850", "North Korea"),
    ("963", "Syria"),
    ("7978", "Crimea"),
];
/// Longest text body the Cloud API accepts.
pub(crate) const MAX_TEXT_CHARS: usize = 4096;

/// The region a recipient's number belongs to, when it is one we must never message.
pub(crate) fn blocked_region(recipient: &str) -> Option<&'static str> {
    let digits: String = recipient
        .trim()
        .trim_start_matches('+')
        .trim_start_matches("00")
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.'))
        .collect();
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None; // a business-scoped user id, not a phone number
    }
    BLOCKED_PREFIXES
        .iter()
        .find(|(prefix, _)| digits.starts_with(prefix))
        .map(|(_, region)| *region)
}

/// A failed send in the agent's terms: the shared mapping of Graph errors, and for 131047
/// (the 24-hour window closed, answered synchronously) what to do instead.
fn explain(failure: GraphFailure) -> ConnectorError {
    match (failure.code(), failure.error) {
        (Some(131047), ConnectorError::Rejected(text)) => ConnectorError::Rejected(format!(
            "{text}: more than 24 hours have passed since the customer's last message; only a template can be sent"
        )),
        (_, error) => error,
    }
}

#[derive(Deserialize)]
struct PhoneNumber {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    display_phone_number: Option<String>,
    #[serde(default)]
    verified_name: Option<String>,
    #[serde(default)]
    quality_rating: Option<String>,
}

/// The Test button: `GET /{phone-number-id}?fields=display_phone_number,verified_name,quality_rating`
/// with the access token. Reads only. A token that works but cannot see this number
/// (Graph code 100: no such object for this token) is the wrong `phone_number_id` or a
/// token of another WhatsApp account; a token without the permission to read the
/// number (codes 10, 200-299) works, with a warning.
pub(crate) fn check_credentials(settings: &Settings) -> Result<Account, ConnectorError> {
    if settings.meta.access_token.is_none() {
        return Err(ConnectorError::InvalidConfig(
            "secret `access_token` (the system user access token) is required to check the credentials"
                .into(),
        ));
    }
    let number = &settings.phone_number_id;
    let graph = settings.graph();
    let url = format!(
        "{}?fields=display_phone_number,verified_name,quality_rating",
        graph.object_url(number)
    );
    // The token is already blanked out of what the Graph API answers.
    let resp = match graph.get(&url) {
        Ok(resp) => resp,
        Err(failure) => {
            return match (failure.code(), failure.error) {
                (_, ConnectorError::Unauthorized(why)) => Err(ConnectorError::Unauthorized(format!(
                    "the access token in secret `access_token` does not work: {why}; generate a new system user token and paste it there"
                ))),
                (Some(100), ConnectorError::Rejected(why)) => Err(ConnectorError::InvalidConfig(format!(
                    "the access token cannot see phone number {number} (setting `phone_number_id`): {why}; check the Phone number ID under WhatsApp → API Setup, and that the token's system user has this WhatsApp account assigned"
                ))),
                (Some(code), ConnectorError::Rejected(why))
                    if code == 10 || (200..300).contains(&code) =>
                {
                    Ok(Account::new(number.clone(), number.clone()).with_warning(format!(
                        "The access token works but may not read this number's details ({why}): sending needs whatsapp_business_messaging, reading the number whatsapp_business_management."
                    )))
                }
                (_, other) => Err(other),
            };
        }
    };
    let found: PhoneNumber = resp.json_body().map_err(|e| {
        ConnectorError::Transient(format!(
            "unreadable Graph API answer to the credentials check: {e}"
        ))
    })?;
    if let Some(id) = found
        .id
        .as_deref()
        .filter(|id| !id.is_empty() && id != number)
    {
        return Err(ConnectorError::InvalidConfig(format!(
            "WhatsApp answered for phone number {id}, not {number}: check setting `phone_number_id`"
        )));
    }
    let display = found.display_phone_number.filter(|d| !d.trim().is_empty());
    let name = match (
        found.verified_name.filter(|n| !n.trim().is_empty()),
        display,
    ) {
        (Some(name), Some(display)) => format!("{name} ({display})"),
        (Some(name), None) => name,
        (None, Some(display)) => display,
        (None, None) => number.clone(),
    };
    let mut account = Account::new(number.clone(), name);
    match found.quality_rating.as_deref().map(str::to_ascii_uppercase).as_deref() {
        Some("RED") => {
            account = account.with_warning(
                "The number's quality rating is low (red): WhatsApp may lower how many customers it may message a day.",
            )
        }
        Some("YELLOW") => {
            account = account.with_warning(
                "The number's quality rating is medium (yellow): customers have been blocking or reporting its messages.",
            )
        }
        _ => {}
    }
    Ok(account)
}

#[derive(Deserialize)]
struct SendAnswer {
    #[serde(default)]
    messages: Vec<SentMessage>,
}

#[derive(Deserialize)]
struct SentMessage {
    #[serde(default)]
    id: Option<String>,
}

/// The JSON body of a send, after the checks.
pub(crate) fn body(msg: &Outbound, to: &str, now: i64) -> Result<Value, ConnectorError> {
    let mut body = json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
    });
    match &msg.template {
        Some(template) => {
            if template.name.trim().is_empty() {
                return Err(ConnectorError::Rejected(
                    "a WhatsApp template needs a name".into(),
                ));
            }
            let language = if template.language.trim().is_empty() {
                "en_US"
            } else {
                template.language.trim()
            };
            let mut t = json!({
                "name": template.name.trim(),
                "language": { "code": language },
            });
            if !template.parameters.is_empty() {
                let parameters: Vec<Value> = template
                    .parameters
                    .iter()
                    .map(|p| json!({ "type": "text", "text": p }))
                    .collect();
                t["components"] = json!([{ "type": "body", "parameters": parameters }]);
            }
            body["type"] = json!("template");
            body["template"] = t;
        }
        None => {
            if let Some(last) = msg.last_customer_at
                && now >= last.saturating_add(WINDOW_MS)
            {
                return Err(ConnectorError::Rejected(
                    "only a template can be sent: more than 24 hours have passed since the \
                     customer's last WhatsApp message, so WhatsApp refuses free-form text"
                        .into(),
                ));
            }
            if msg.text.trim().is_empty() {
                return Err(ConnectorError::Rejected(
                    "a WhatsApp text message cannot be empty".into(),
                ));
            }
            let n = msg.text.chars().count();
            if n > MAX_TEXT_CHARS {
                return Err(ConnectorError::Rejected(format!(
                    "the text is {n} characters long; WhatsApp accepts at most {MAX_TEXT_CHARS}"
                )));
            }
            body["type"] = json!("text");
            body["text"] = json!({ "preview_url": false, "body": msg.text });
        }
    }
    if let Some(reply_to) = msg.reply_to.as_deref().filter(|r| !r.is_empty()) {
        body["context"] = json!({ "message_id": reply_to });
    }
    Ok(body)
}

/// `POST /{phone-number-id}/messages`: a text or a template to one customer.
pub(crate) fn send(
    settings: &Settings,
    msg: &Outbound,
    idempotency_key: &str,
) -> Result<Sent, ConnectorError> {
    if let Some(id) = kv::sent_before(idempotency_key) {
        log::info(format!(
            "whatsapp: reply {idempotency_key} was already sent as {id}"
        ));
        return Ok(Sent {
            platform_message_id: id,
        });
    }
    let to = msg
        .recipient_id
        .as_deref()
        .filter(|r| !r.trim().is_empty())
        .unwrap_or(&msg.thread_id)
        .trim()
        .trim_start_matches('+')
        .to_string();
    if to.is_empty() {
        return Err(ConnectorError::Rejected(
            "a WhatsApp message needs a recipient (the customer's wa_id)".into(),
        ));
    }
    if let Some(region) = blocked_region(&to) {
        return Err(ConnectorError::Rejected(format!(
            "WhatsApp messages to numbers in {region} are not allowed; nothing was sent to +{to}"
        )));
    }
    let body = body(msg, &to, clock::now_millis())?;
    let graph = settings.graph();
    let url = format!("{}/messages", graph.object_url(&settings.phone_number_id));
    let resp = graph.post_json(&url, &body).map_err(explain)?;
    let id = resp
        .json_body::<SendAnswer>()
        .ok()
        .and_then(|a| a.messages.into_iter().next())
        .and_then(|m| m.id)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| {
            ConnectorError::Rejected(format!(
                "the Cloud API accepted the message but returned no id: {}",
                resp.body_text()
            ))
        })?;
    kv::remember_sent(idempotency_key, &id);
    Ok(Sent {
        platform_message_id: id,
    })
}
