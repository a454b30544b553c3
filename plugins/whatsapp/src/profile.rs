//! The business profile settings and WhatsApp's limits on them: about 139 characters,
//! address and description 256, email and vertical 128, at most 2 websites of 256 each.

use switchboard_sdk::{ConnectorError, config};

/// One profile setting and its limit in characters.
pub(crate) struct Field {
    pub key: &'static str,
    pub description: &'static str,
    /// What WhatsApp Manager calls the field.
    pub label: &'static str,
    /// Where the field is on the platform.
    pub where_to_find: &'static str,
    pub max_chars: usize,
}

/// Most websites a profile may list.
pub(crate) const MAX_WEBSITES: usize = 2;

/// Every profile setting, in the order `describe` lists them.
pub(crate) const FIELDS: [Field; 6] = [
    Field {
        key: "profile_about",
        description: "Business profile: short about text shown above the number (at most 139 characters).",
        label: "About",
        where_to_find: "WhatsApp Manager → Phone numbers → your number → Profile → About.",
        max_chars: 139,
    },
    Field {
        key: "profile_address",
        description: "Business profile: address (at most 256 characters).",
        label: "Address",
        where_to_find: "WhatsApp Manager → Phone numbers → your number → Profile → Address.",
        max_chars: 256,
    },
    Field {
        key: "profile_description",
        description: "Business profile: what the business does (at most 256 characters).",
        label: "Description",
        where_to_find: "WhatsApp Manager → Phone numbers → your number → Profile → Description.",
        max_chars: 256,
    },
    Field {
        key: "profile_email",
        description: "Business profile: public contact email (at most 128 characters).",
        label: "Email",
        where_to_find: "WhatsApp Manager → Phone numbers → your number → Profile → Email.",
        max_chars: 128,
    },
    Field {
        key: "profile_vertical",
        description: "Business profile: industry or category (at most 128 characters).",
        label: "Category",
        where_to_find: "WhatsApp Manager → Phone numbers → your number → Profile → Category.",
        max_chars: 128,
    },
    Field {
        key: "profile_websites",
        description: "Business profile: up to 2 website URLs, comma-separated (at most 256 characters each).",
        label: "Websites",
        where_to_find: "WhatsApp Manager → Phone numbers → your number → Profile → Website.",
        max_chars: 256,
    },
];

fn invalid(message: String) -> ConnectorError {
    ConnectorError::InvalidConfig(message)
}

/// Checks the profile settings that are set; unset ones are fine.
pub(crate) fn validate() -> Result<(), ConnectorError> {
    for field in &FIELDS {
        let Some(value) = config::get(field.key).filter(|v| !v.trim().is_empty()) else {
            continue;
        };
        let value = value.trim();
        match field.key {
            "profile_websites" => check_websites(field, value)?,
            key => {
                let n = value.chars().count();
                if n > field.max_chars {
                    return Err(invalid(format!(
                        "setting `{key}` is {n} characters long; WhatsApp allows at most {}",
                        field.max_chars
                    )));
                }
                if key == "profile_email" && !looks_like_email(value) {
                    return Err(invalid(format!(
                        "setting `{key}` must be an email address, got `{value}`"
                    )));
                }
            }
        }
    }
    Ok(())
}

fn looks_like_email(value: &str) -> bool {
    match value.split_once('@') {
        Some((user, domain)) => {
            !user.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !value.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

fn check_websites(field: &Field, value: &str) -> Result<(), ConnectorError> {
    let key = field.key;
    let sites: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if sites.len() > MAX_WEBSITES {
        return Err(invalid(format!(
            "setting `{key}` lists {} websites; WhatsApp allows at most {MAX_WEBSITES}",
            sites.len()
        )));
    }
    for site in sites {
        let n = site.chars().count();
        if n > field.max_chars {
            return Err(invalid(format!(
                "setting `{key}`: the website `{site:.40}...` is {n} characters long; WhatsApp allows at most {} each",
                field.max_chars
            )));
        }
        if !site.starts_with("http://") && !site.starts_with("https://") {
            return Err(invalid(format!(
                "setting `{key}`: the website `{site}` must start with http:// or https://"
            )));
        }
    }
    Ok(())
}
