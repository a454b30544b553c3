//! The Graph API's answers in WhatsApp's terms: the credentials check (the Test button),
//! the regions WhatsApp may not message, and what a WhatsApp error code means to an agent
//! (131047: only a template can be sent; the template codes). Requests and the shared
//! mapping of Graph errors are [`switchboard_sdk::meta`]'s.

use serde::Deserialize;
use switchboard_sdk::meta::GraphFailure;
use switchboard_sdk::{Account, ConnectorError, config};

use crate::Settings;

/// Calling codes of the regions WhatsApp Business may not message: Cuba, Iran, North
/// Korea, Syria and Crimea.
pub(crate) const BLOCKED_PREFIXES: [(&str, &str); 5] = [
    ("53", "Cuba"),
    ("98", "Iran"),
    ("850", "North Korea"),
    ("963", "Syria"),
    ("7978", "Crimea"),
];

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

/// A failed send in the agent's terms: the shared mapping of Graph errors, and for the
/// codes an agent can act on what to do instead: 131047 (the 24-hour window closed,
/// answered synchronously) and the template codes.
pub(crate) fn explain(failure: GraphFailure) -> ConnectorError {
    let hint = match failure.code() {
        Some(131047) => {
            "more than 24 hours have passed since the customer's last message; only a template can be sent"
        }
        Some(132000) => "the template takes another number of parameters",
        Some(132001) => {
            "WhatsApp has no approved template of this name in this language; pick one from the list"
        }
        Some(132005) => "the template's text with its parameters filled in is too long",
        Some(132007) => "WhatsApp refused the filled-in text under its policies",
        Some(132012) => {
            "a parameter does not match the template (a media header needs its file, a text one its text)"
        }
        Some(132015) => "the template is paused for low quality; pick another",
        Some(132016) => "the template is disabled; pick another",
        Some(131053) => "WhatsApp could not use the uploaded file",
        _ => return failure.error,
    };
    match failure.error {
        ConnectorError::Rejected(text) => ConnectorError::Rejected(format!("{text}: {hint}")),
        other => other,
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
                (_, ConnectorError::Unauthorized(why)) => {
                    Err(ConnectorError::Unauthorized(format!(
                        "the access token in secret `access_token` does not work: {why}; generate a new system user token and paste it there"
                    )))
                }
                (Some(100), ConnectorError::Rejected(why)) => {
                    Err(ConnectorError::InvalidConfig(format!(
                        "the access token cannot see phone number {number} (setting `phone_number_id`): {why}; check the Phone number ID under WhatsApp → API Setup, and that the token's system user has this WhatsApp account assigned"
                    )))
                }
                (Some(code), ConnectorError::Rejected(why))
                    if code == 10 || (200..300).contains(&code) =>
                {
                    let account = Account::new(number.clone(), number.clone()).with_warning(format!(
                        "The access token works but may not read this number's details ({why}): sending needs whatsapp_business_messaging, reading the number whatsapp_business_management."
                    ));
                    Ok(with_template_warnings(settings, account))
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
    Ok(with_template_warnings(settings, account))
}

/// The warning while the channel still has the `templates` setting the host used before
/// templates were listed from WhatsApp, if `waba_id` is set.
pub(crate) fn old_templates_setting(settings: &Settings) -> Option<&'static str> {
    let old = config::get("templates").filter(|t| !t.trim().is_empty());
    (settings.waba_id.is_some() && old.is_some()).then_some(
        "Setting `templates` is no longer used: with `waba_id` set, the template list fetched from WhatsApp replaces it; remove the setting.",
    )
}

/// `account` with what the administrator should know about templates: the old setting
/// still there, or a template list the token cannot read (one page of one name is read).
fn with_template_warnings(settings: &Settings, mut account: Account) -> Account {
    if let Some(warning) = old_templates_setting(settings) {
        account = account.with_warning(warning);
    }
    if let Some(waba) = &settings.waba_id {
        let graph = settings.graph();
        let url = format!(
            "{}/message_templates?fields=name&limit=1",
            graph.object_url(waba)
        );
        if let Err(failure) = graph.get(&url) {
            account = account.with_warning(format!(
                "The message templates of WhatsApp Business Account {waba} (setting `waba_id`) cannot be read: {}; agents will have no templates to send after 24 hours. Check the WhatsApp Business Account ID under WhatsApp → API Setup and that the token has whatsapp_business_management.",
                failure.error.message()
            ));
        }
    }
    account
}
