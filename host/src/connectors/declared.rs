//! What a plugin declares in `describe`, enforced by the host before the plugin's own
//! `configure` sees the channel: every connector would otherwise check it again, each a
//! little differently.
//!
//! - A required setting or secret is present and not blank. A key named with a pattern
//!   (`token_<handle>`) is present when at least one key fits it.
//! - A value is in the table its key belongs to: a declared secret written under
//!   `settings` would be shown to every administrator who opens the channel, so it is
//!   refused rather than quietly moved; a declared setting under `secrets` would never be
//!   read.
//! - Declared defaults are applied to what the plugin reads (`config.get`), not to the
//!   channel as stored, so the channel keeps following the plugin's default.
//! - The channel uses only what the plugin can do: a poll-mode channel on a plugin without
//!   the `poll` capability (or webhooks without `webhook`) is refused.
//!
//! Refusals are [`SettingsRefused`] naming the key as "setting `k`" or "secret `k`", so the
//! API and `switchboard check` point at the field, as they do for a connector's own.

use std::collections::BTreeMap;

use super::engine::{ConfigKey, PluginDescription, SettingsRefused};

/// Checks the platform a plugin says it speaks: 1-32 of `a-z`, `0-9`, `_` and `-`,
/// starting with a letter, since it is a filter value in the API and a label in reports.
/// `messenger` is taken: it names the direct messages of `facebook` channels.
pub fn check_platform(platform: &str) -> anyhow::Result<()> {
    let plain = (1..=32).contains(&platform.len())
        && platform.starts_with(|c: char| c.is_ascii_lowercase())
        && platform
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if !plain {
        anyhow::bail!(
            "the plugin names its platform `{platform}`: a platform is 1-32 of a-z, 0-9, _ \
             and -, starting with a letter"
        );
    }
    if platform == "messenger" {
        anyhow::bail!(
            "the plugin names its platform `messenger`, which names the direct messages of \
             facebook channels; give the connector a name of its own"
        );
    }
    Ok(())
}

/// A capability a channel will use, as `describe` names it: `poll`, `webhook`.
pub type Use = &'static str;

/// What a plugin is loaded for.
#[derive(Clone, Copy, Debug)]
pub enum Loading<'a> {
    /// A channel that will use these capabilities: everything is enforced.
    Channel(&'a [Use]),
    /// A tool run on one payload (`switchboard plugin parse`): only defaults are applied,
    /// since a partner parsing a saved webhook has no reason to give every credential.
    Tool,
}

/// Checks `settings` and `secrets` against `description`, and that it offers everything
/// the channel uses; returns the settings the plugin reads, declared defaults filled in.
pub fn enforce(
    description: &PluginDescription,
    settings: &BTreeMap<String, String>,
    secrets: &BTreeMap<String, String>,
    loading: Loading<'_>,
) -> Result<BTreeMap<String, String>, SettingsRefused> {
    if let Loading::Channel(uses) = loading {
        check(description, settings, secrets, uses)?;
    }
    Ok(with_defaults(description, settings))
}

fn check(
    description: &PluginDescription,
    settings: &BTreeMap<String, String>,
    secrets: &BTreeMap<String, String>,
    uses: &[Use],
) -> Result<(), SettingsRefused> {
    for needed in uses {
        if !description.capabilities.iter().any(|c| c == needed) {
            return Err(SettingsRefused(format!(
                "this plugin ({} {}) cannot {}; it can: {}. Choose another ingest mode",
                description.platform,
                description.version,
                match *needed {
                    "poll" => "poll the platform (ingest `poll` or `both`)",
                    "webhook" => "receive webhooks (ingest `webhook` or `both`)",
                    other => other,
                },
                capability_words(&description.capabilities)
            )));
        }
    }
    for key in &description.config_keys {
        let (own, other) = if key.secret {
            (secrets, settings)
        } else {
            (settings, secrets)
        };
        let kind = if key.secret { "secret" } else { "setting" };
        if let Some(misplaced) = other.keys().find(|k| fits(key, k)) {
            return Err(SettingsRefused(if key.secret {
                format!(
                    "secret `{misplaced}` was given as a setting: settings are shown to \
                     administrators, so move it to secrets"
                )
            } else {
                format!(
                    "setting `{misplaced}` was given as a secret: move it to settings, where \
                     the plugin reads it"
                )
            }));
        }
        let present = own
            .iter()
            .any(|(k, v)| fits(key, k) && !v.trim().is_empty());
        if key.required && !present && key.default_value.is_none() {
            let what = key
                .label
                .as_deref()
                .map(|l| format!(" ({l})"))
                .unwrap_or_default();
            return Err(SettingsRefused(if key.name.contains('<') {
                format!(
                    "{kind} `{}` is required{what}: give at least one, such as `{}`",
                    key.name,
                    example(&key.name)
                )
            } else {
                format!("{kind} `{}` is required{what}", key.name)
            }));
        }
    }
    Ok(())
}

/// `settings` with every declared default the channel does not set.
fn with_defaults(
    description: &PluginDescription,
    settings: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut effective = settings.clone();
    for key in &description.config_keys {
        if let Some(default) = &key.default_value
            && !key.secret
            && !key.name.contains('<')
        {
            effective
                .entry(key.name.clone())
                .or_insert_with(|| default.clone());
        }
    }
    effective
}

/// Whether `given` is `key`'s name, or fits its pattern (`token_<handle>` fits
/// `token_acme`).
fn fits(key: &ConfigKey, given: &str) -> bool {
    match (key.name.find('<'), key.name.rfind('>')) {
        (Some(open), Some(close)) if open < close => {
            let (prefix, suffix) = (&key.name[..open], &key.name[close + 1..]);
            given.len() > prefix.len() + suffix.len()
                && given.starts_with(prefix)
                && given.ends_with(suffix)
        }
        _ => key.name == given,
    }
}

/// `token_<handle>` → `token_acme`-like example: the pattern with `name` in place.
fn example(pattern: &str) -> String {
    match (pattern.find('<'), pattern.rfind('>')) {
        (Some(open), Some(close)) if open < close => {
            format!("{}{}", &pattern[..open], &pattern[open + 1..close]).replace("__", "_")
        }
        _ => pattern.to_owned(),
    }
}

fn capability_words(capabilities: &[String]) -> String {
    if capabilities.is_empty() {
        return "nothing".into();
    }
    capabilities.join(", ").replace('_', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str, required: bool, secret: bool, default: Option<&str>) -> ConfigKey {
        ConfigKey {
            name: name.into(),
            description: String::new(),
            required,
            secret,
            default_value: default.map(Into::into),
            label: None,
            where_to_find: None,
        }
    }

    fn description(keys: Vec<ConfigKey>, capabilities: &[&str]) -> PluginDescription {
        PluginDescription {
            platform: "demo".into(),
            version: "1.0.0".into(),
            capabilities: capabilities.iter().map(|c| c.to_string()).collect(),
            config_keys: keys,
            ..PluginDescription::default()
        }
    }

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn required_keys_must_be_present_and_not_blank() {
        let d = description(
            vec![
                key("page_id", true, false, None),
                key("access_token", true, true, None),
            ],
            &["webhook"],
        );
        let e = enforce(
            &d,
            &map(&[]),
            &map(&[("access_token", "t")]),
            Loading::Channel(&["webhook"]),
        )
        .unwrap_err();
        assert_eq!(e.0, "setting `page_id` is required");
        let e = enforce(
            &d,
            &map(&[("page_id", "1")]),
            &map(&[("access_token", "  ")]),
            Loading::Channel(&["webhook"]),
        )
        .unwrap_err();
        assert!(
            e.0.starts_with("secret `access_token` is required"),
            "{}",
            e.0
        );
        assert!(
            enforce(
                &d,
                &map(&[("page_id", "1")]),
                &map(&[("access_token", "t")]),
                Loading::Channel(&["webhook"])
            )
            .is_ok()
        );
    }

    #[test]
    fn a_pattern_key_is_present_when_one_key_fits_it() {
        let d = description(vec![key("token_<handle>", true, true, None)], &["poll"]);
        let e = enforce(
            &d,
            &map(&[]),
            &map(&[("token_", "t")]),
            Loading::Channel(&["poll"]),
        )
        .unwrap_err();
        assert!(e.0.contains("such as `token_handle`"), "{}", e.0);
        assert!(
            enforce(
                &d,
                &map(&[]),
                &map(&[("token_acme", "t")]),
                Loading::Channel(&["poll"])
            )
            .is_ok()
        );
    }

    #[test]
    fn a_secret_among_the_settings_is_refused_not_moved() {
        let d = description(
            vec![
                key("access_token", false, true, None),
                key("token_<h>", false, true, None),
                key("page_id", false, false, None),
            ],
            &[],
        );
        let e = enforce(
            &d,
            &map(&[("access_token", "t")]),
            &map(&[]),
            Loading::Channel(&[]),
        )
        .unwrap_err();
        assert!(
            e.0.starts_with("secret `access_token` was given as a setting"),
            "{}",
            e.0
        );
        let e = enforce(
            &d,
            &map(&[("token_acme", "t")]),
            &map(&[]),
            Loading::Channel(&[]),
        )
        .unwrap_err();
        assert!(e.0.starts_with("secret `token_acme`"), "{}", e.0);
        let e = enforce(
            &d,
            &map(&[]),
            &map(&[("page_id", "1")]),
            Loading::Channel(&[]),
        )
        .unwrap_err();
        assert!(
            e.0.starts_with("setting `page_id` was given as a secret"),
            "{}",
            e.0
        );
    }

    #[test]
    fn defaults_fill_what_the_plugin_reads_and_a_default_satisfies_required() {
        let d = description(
            vec![
                key("api_version", true, false, Some("v19.0")),
                key("poll_comments", false, false, Some("true")),
            ],
            &[],
        );
        let read = enforce(
            &d,
            &map(&[("poll_comments", "false")]),
            &map(&[]),
            Loading::Channel(&[]),
        )
        .unwrap();
        assert_eq!(
            read,
            map(&[("api_version", "v19.0"), ("poll_comments", "false")])
        );
        // A tool parsing one payload is not held to the required keys, and gets defaults.
        let d = description(
            vec![
                key("token", true, true, None),
                key("v", false, false, Some("2")),
            ],
            &[],
        );
        assert_eq!(
            enforce(&d, &map(&[]), &map(&[]), Loading::Tool).unwrap(),
            map(&[("v", "2")])
        );
        assert!(enforce(&d, &map(&[]), &map(&[]), Loading::Channel(&[])).is_err());
    }

    #[test]
    fn a_platform_is_a_plain_name() {
        for good in ["telegram", "x", "line-biz", "wechat_2"] {
            assert!(check_platform(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "Telegram",
            "2line",
            "tele gram",
            "messenger",
            &"a".repeat(33),
        ] {
            assert!(check_platform(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_channel_uses_only_what_the_plugin_can_do() {
        let d = description(vec![], &["webhook", "reply_private"]);
        let e = enforce(&d, &map(&[]), &map(&[]), Loading::Channel(&["poll"])).unwrap_err();
        assert_eq!(
            e.0,
            "this plugin (demo 1.0.0) cannot poll the platform (ingest `poll` or `both`); it \
             can: webhook, reply private. Choose another ingest mode"
        );
        assert!(enforce(&d, &map(&[]), &map(&[]), Loading::Channel(&["webhook"])).is_ok());
    }
}
