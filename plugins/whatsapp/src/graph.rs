//! Sending through the Cloud API: `POST /{phone-number-id}/messages`, the checks made
//! before anything is sent (blocked regions, the 24-hour window), and Graph error mapping.

use serde::Deserialize;
use serde_json::{Value, json};
use switchboard_sdk::{
    Account, ConnectorError, HttpError, HttpResponse, Outbound, Sent, clock, http, kv, log,
};

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
/// Back-off after an app-level rate limit (code 4 and friends).
pub(crate) const APP_RATE_LIMIT_MS: u64 = 60_000;
/// Back-off after the per-number throughput limit (130429).
pub(crate) const THROUGHPUT_LIMIT_MS: u64 = 1_000;
/// Back-off after the pair rate limit (131056: about one message per 6 s to one user).
pub(crate) const PAIR_RATE_LIMIT_MS: u64 = 6_000;

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

#[derive(Deserialize)]
struct ErrorBody {
    error: GraphError,
}

#[derive(Deserialize)]
struct GraphError {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    error_user_title: Option<String>,
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    error_data: Option<Value>,
    #[serde(default)]
    is_transient: Option<bool>,
}

impl GraphError {
    /// The short title: `title`, or `message` without its `(#code) ` prefix.
    fn title(&self) -> String {
        if let Some(t) = self.title.as_deref().or(self.error_user_title.as_deref()) {
            return t.to_string();
        }
        let message = self.message.as_deref().unwrap_or("Graph API error");
        match message.strip_prefix("(#") {
            Some(rest) => rest
                .split_once(") ")
                .map(|(_, t)| t)
                .unwrap_or(message)
                .to_string(),
            None => message.to_string(),
        }
    }

    fn details(&self) -> Option<String> {
        self.error_data
            .as_ref()?
            .get("details")?
            .as_str()
            .filter(|d| !d.is_empty())
            .map(str::to_string)
    }
}

/// Maps a Graph API answer (or a failed fetch) to a usable response or an error.
pub(crate) fn check(
    result: Result<HttpResponse, HttpError>,
) -> Result<HttpResponse, ConnectorError> {
    let resp = result.map_err(|e| e.context("Graph API request failed"))?;
    let error = resp.json_body::<ErrorBody>().ok().map(|b| b.error);
    if resp.is_success() && error.is_none() {
        return Ok(resp);
    }
    let status = resp.status;
    let Some(error) = error else {
        let body: String = resp.body_text().chars().take(300).collect();
        let text = format!("Graph API answered HTTP {status}: {body}");
        return Err(match status {
            401 => ConnectorError::Unauthorized(text),
            429 => ConnectorError::RateLimited(APP_RATE_LIMIT_MS),
            500..=599 => ConnectorError::Transient(text),
            _ => ConnectorError::Rejected(text),
        });
    };
    let code = error.code.unwrap_or(0);
    let mut text = format!("{code}: {}", error.title());
    if let Some(details) = error.details().filter(|d| !text.contains(d.as_str())) {
        text.push_str(&format!(" ({details})"));
    }
    Err(match code {
        190 => ConnectorError::Unauthorized(text),
        130429 => {
            log::warn(format!("whatsapp: throughput limit reached: {text}"));
            ConnectorError::RateLimited(THROUGHPUT_LIMIT_MS)
        }
        131056 => {
            log::warn(format!("whatsapp: pair rate limit reached: {text}"));
            ConnectorError::RateLimited(PAIR_RATE_LIMIT_MS)
        }
        4 | 17 | 32 | 613 | 80007 => {
            log::warn(format!("whatsapp: rate limited by the Graph API: {text}"));
            ConnectorError::RateLimited(APP_RATE_LIMIT_MS)
        }
        131047 => ConnectorError::Rejected(format!(
            "{text}: more than 24 hours have passed since the customer's last message; only a template can be sent"
        )),
        // 131000 "Something went wrong", 131016 "Service unavailable", 1/2 unknown/temporary.
        1 | 2 | 131000 | 131016 => ConnectorError::Transient(text),
        _ if status >= 500 || error.is_transient == Some(true) => ConnectorError::Transient(text),
        _ if status == 401 => ConnectorError::Unauthorized(text),
        _ => ConnectorError::Rejected(text),
    })
}

/// The Graph error code of an answer, when it carries a Graph error body.
fn error_code(resp: &HttpResponse) -> Option<i64> {
    resp.json_body::<ErrorBody>().ok()?.error.code
}

/// `text` with every occurrence of `secret` blanked out: Graph may quote a malformed
/// token in its error message, and a secret never goes into an error or a log.
pub(crate) fn redact(text: &str, secret: &str) -> String {
    let secret = secret.trim();
    if secret.is_empty() {
        return text.to_string();
    }
    text.replace(secret, "[the token]")
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
    let Some(token) = settings.access_token.as_deref() else {
        return Err(ConnectorError::InvalidConfig(
            "secret `access_token` (the system user access token) is required to check the credentials"
                .into(),
        ));
    };
    let number = &settings.phone_number_id;
    let url = format!(
        "{}/{}?fields=display_phone_number,verified_name,quality_rating",
        settings.graph_base_url,
        http::percent_encode(number)
    );
    let auth = format!("Bearer {token}");
    let fetched = http::get(&url, &[("Authorization", auth.as_str())]);
    let code = fetched.as_ref().ok().and_then(error_code);
    let status = fetched.as_ref().ok().map(|r| r.status);
    let refused = |why: &str| {
        ConnectorError::Unauthorized(format!(
            "the access token in secret `access_token` does not work: {}; generate a new system user token and paste it there",
            redact(why, token)
        ))
    };
    let resp = match check(fetched) {
        Ok(resp) => resp,
        Err(ConnectorError::Unauthorized(why)) => return Err(refused(&why)),
        Err(ConnectorError::Rejected(why)) if code.is_none() && status == Some(403) => {
            return Err(refused(&why));
        }
        Err(ConnectorError::Rejected(why)) if code == Some(100) => {
            return Err(ConnectorError::InvalidConfig(format!(
                "the access token cannot see phone number {number} (setting `phone_number_id`): {}; check the Phone number ID under WhatsApp → API Setup, and that the token's system user has this WhatsApp account assigned",
                redact(&why, token)
            )));
        }
        Err(ConnectorError::Rejected(why))
            if code.is_some_and(|c| c == 10 || (200..300).contains(&c)) =>
        {
            return Ok(Account::new(number.clone(), number.clone()).with_warning(format!(
                "The access token works but may not read this number's details ({}): sending needs whatsapp_business_messaging, reading the number whatsapp_business_management.",
                redact(&why, token)
            )));
        }
        Err(ConnectorError::Rejected(why)) => {
            return Err(ConnectorError::Rejected(redact(&why, token)));
        }
        Err(ConnectorError::Transient(why)) => {
            return Err(ConnectorError::Transient(redact(&why, token)));
        }
        Err(other) => return Err(other),
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
    let url = format!(
        "{}/{}/messages",
        settings.graph_base_url,
        http::percent_encode(&settings.phone_number_id)
    );
    let auth = settings
        .access_token
        .as_ref()
        .map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth
        .as_deref()
        .map(|a| vec![("Authorization", a)])
        .unwrap_or_default();
    let resp = check(http::post_json(&url, &headers, &body))?;
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
