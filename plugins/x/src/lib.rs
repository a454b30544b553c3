//! Switchboard connector for X (API v2): tweets found by a recent search built from the
//! channel's keywords, mentions of the channel's handles, direct messages, replies that
//! thread under the customer's tweet from any of the channel's handles, deleting our own
//! tweets, Account Activity webhooks (CRC, signed events, tweet-delete compliance) and
//! keyword suspension when a keyword floods the channel.
//!
//! Whole messages: every photo, video, GIF, link, quoted or shared tweet and location a
//! customer sends is kept as an attachment (`media`), the host downloads the files
//! through `media_request` (direct-message media with the handle's token), and agents
//! send images in direct messages and public replies (`upload`, `send`). Deletions are
//! honoured in every ingest mode, and a deleted account's content is erased
//! (`compliance`).
//!
//! Settings (`[channels.settings]`): `handles` (required, comma list, the first is the
//! default reply handle), `keywords`, `exclusions`, `use_handles_as_keywords`, `languages`
//! (comma list or `any`), `skip_retweets`, `message_types` (any of `public`, `private`,
//! `compliance`), `use_stream` (public tweets from the filtered stream, whose rules follow
//! the settings, instead of the recent search), `deletion_check_minutes` (how often polls
//! look for deleted tweets and accounts, default 60, 0: never), `api_base_url` (default
//! `https://api.x.com`). Secrets: `token_<handle>`
//! (user access token of each handle, required), `bearer_token` (app token used for the
//! recent search when set), `consumer_secret` (signs Account Activity webhooks).
//!
//! The poll cursor is a JSON object holding every source's place (search, mentions per
//! handle, direct messages per handle) and where an unfinished listing continues; hosts
//! treat it as opaque text. Each source advances on its own and is reported in the poll's
//! `sources`, so one failing source does not hold back the others.
#![warn(missing_docs)]

mod api;
mod compliance;
mod find;
mod media;
mod poll;
mod send;
mod sources;
mod stream;
mod upload;
mod webhook;

use switchboard_sdk::IdempotencyKey;
use switchboard_sdk::{
    Account, Attachment, Capability, ConfigKey, Connector, ConnectorError, Description, Event,
    FileLimit, HttpRequest, MediaDownload, MediaUpload, Outbound, OutboundFile, PollResult, Sent,
    TextLimit, Visibility, WebhookOutcome, config, log,
};

/// A post (a public reply) takes 280 by X's weighted count.
const POST_MAX_WEIGHTED: u32 = 280;
/// A direct message takes up to 10,000 characters.
const DM_MAX_CHARS: u32 = 10_000;

/// Default X API base URL.
pub const DEFAULT_API_BASE_URL: &str = "https://api.x.com";
/// The longest query the recent search accepts.
pub const MAX_QUERY_LEN: usize = 512;
/// Minutes between two polling checks for deleted tweets and accounts, by default.
pub const DEFAULT_DELETION_CHECK_MINUTES: i64 = 60;

/// The X connector. Settings are read from the host on every call, so a changed setting
/// applies at once.
#[derive(Debug, Default)]
pub struct X;

switchboard_sdk::export_connector!(X);

/// The channel settings this connector reads.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Settings {
    /// Handles without `@`, as configured; the first is the default reply handle.
    pub handles: Vec<String>,
    pub keywords: Vec<String>,
    pub exclusions: Vec<String>,
    pub use_handles_as_keywords: bool,
    /// `None`: any language. Lower case.
    pub languages: Option<Vec<String>>,
    pub skip_retweets: bool,
    pub public: bool,
    pub private: bool,
    pub compliance: bool,
    pub api_base_url: String,
    pub bearer_token: Option<String>,
    /// Public tweets come from the filtered stream instead of the recent search.
    pub use_stream: bool,
    /// Milliseconds between two compliance checks of a poll (0: none).
    pub deletion_check_ms: i64,
}

fn list(key: &str) -> Vec<String> {
    config::get(key)
        .unwrap_or_default()
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn invalid(message: String) -> ConnectorError {
    ConnectorError::InvalidConfig(message)
}

fn boolean(key: &str, default: bool) -> Result<bool, ConnectorError> {
    let raw = config::get_or(key, if default { "true" } else { "false" });
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" | "on" => Ok(true),
        "false" | "no" | "0" | "off" => Ok(false),
        _ => Err(invalid(format!(
            "setting `{key}` must be true or false, got `{raw}`"
        ))),
    }
}

/// True for a valid X handle: 1 to 15 letters, digits or underscores.
pub(crate) fn valid_handle(handle: &str) -> bool {
    (1..=15).contains(&handle.len())
        && handle
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn valid_language(code: &str) -> bool {
    let mut parts = code.split('-');
    let first = parts.next().unwrap_or("");
    (2..=3).contains(&first.len())
        && first.bytes().all(|b| b.is_ascii_alphabetic())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// A search term: keyword or exclusion, quoted when it holds spaces.
pub(crate) fn term(word: &str) -> String {
    if word.contains(char::is_whitespace) {
        format!("\"{}\"", word.replace('"', ""))
    } else {
        word.to_string()
    }
}

impl Settings {
    pub(crate) fn load() -> Result<Settings, ConnectorError> {
        let handles: Vec<String> = list("handles")
            .into_iter()
            .map(|h| h.trim_start_matches('@').to_string())
            .collect();
        if handles.is_empty() {
            return Err(invalid(
                "setting `handles` is required: a comma list of X handles, the first is the default reply handle".into(),
            ));
        }
        for h in &handles {
            if !valid_handle(h) {
                return Err(invalid(format!(
                    "setting `handles`: `{h}` is not an X handle (1-15 letters, digits or _)"
                )));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for h in &handles {
            if !seen.insert(h.to_ascii_lowercase()) {
                return Err(invalid(format!("setting `handles` lists `{h}` twice")));
            }
        }
        let keywords = list("keywords");
        for k in &keywords {
            if k.starts_with('-') || k.chars().any(|c| c.is_control() || c == '"') {
                return Err(invalid(format!(
                    "setting `keywords`: `{k}` is not a keyword (no leading `-`, quotes or control characters; put exclusions in `exclusions`)"
                )));
            }
        }
        let exclusions: Vec<String> = list("exclusions")
            .into_iter()
            .map(|e| e.trim_start_matches('-').trim().to_string())
            .collect();
        for e in &exclusions {
            if e.is_empty() || e.chars().any(|c| c.is_control() || c == '"') {
                return Err(invalid(format!(
                    "setting `exclusions`: `{e}` is not a word to exclude"
                )));
            }
        }
        let use_handles_as_keywords = boolean("use_handles_as_keywords", false)?;
        let skip_retweets = boolean("skip_retweets", false)?;
        let use_stream = boolean("use_stream", false)?;

        let raw_languages = list("languages");
        let languages = if raw_languages.is_empty()
            || raw_languages.iter().any(|l| l.eq_ignore_ascii_case("any"))
        {
            if raw_languages.len() > 1 {
                return Err(invalid(
                    "setting `languages`: `any` cannot be combined with language codes".into(),
                ));
            }
            None
        } else {
            for l in &raw_languages {
                if !valid_language(l) {
                    return Err(invalid(format!(
                        "setting `languages`: `{l}` is not a language code (such as `en`, `fr`) or `any`"
                    )));
                }
            }
            Some(
                raw_languages
                    .iter()
                    .map(|l| l.to_ascii_lowercase())
                    .collect(),
            )
        };

        let types = list("message_types");
        let (mut public, mut private, mut compliance) =
            (types.is_empty(), types.is_empty(), types.is_empty());
        for t in &types {
            match t.to_ascii_lowercase().as_str() {
                "public" => public = true,
                "private" => private = true,
                "compliance" => compliance = true,
                _ => {
                    return Err(invalid(format!(
                        "setting `message_types`: `{t}` is not one of public, private, compliance"
                    )));
                }
            }
        }

        let api_base_url = config::get_or("api_base_url", DEFAULT_API_BASE_URL)
            .trim()
            .trim_end_matches('/')
            .to_string();
        if !api_base_url.starts_with("http://") && !api_base_url.starts_with("https://") {
            return Err(invalid(format!(
                "setting `api_base_url` must be an http(s) URL, got `{api_base_url}`"
            )));
        }
        let bearer_token = config::secret("bearer_token").filter(|t| !t.trim().is_empty());
        let raw_check = config::get_or(
            "deletion_check_minutes",
            &DEFAULT_DELETION_CHECK_MINUTES.to_string(),
        );
        let deletion_check_ms = match raw_check.trim().parse::<i64>() {
            Ok(m) if (0..=7 * 24 * 60).contains(&m) => m * 60_000,
            _ => {
                return Err(invalid(format!(
                    "setting `deletion_check_minutes` must be a number of minutes from 0 (never) to 10080 (a week), got `{raw_check}`"
                )));
            }
        };
        Ok(Settings {
            handles,
            keywords,
            exclusions,
            use_handles_as_keywords,
            languages,
            skip_retweets,
            public,
            private,
            compliance,
            api_base_url,
            bearer_token,
            use_stream,
            deletion_check_ms,
        })
    }

    /// The default reply handle.
    pub(crate) fn default_handle(&self) -> &str {
        &self.handles[0]
    }

    /// The channel's own spelling of `handle` (with or without `@`, any case).
    pub(crate) fn find_handle(&self, handle: &str) -> Option<&str> {
        let wanted = handle.trim().trim_start_matches('@');
        self.handles
            .iter()
            .find(|h| h.eq_ignore_ascii_case(wanted))
            .map(String::as_str)
    }

    pub(crate) fn is_own_handle(&self, username: &str) -> bool {
        self.find_handle(username).is_some()
    }

    /// The user access token of `handle` (secret `token_<handle>`, as configured or in
    /// lower case).
    pub(crate) fn user_token(&self, handle: &str) -> Option<String> {
        config::secret(&format!("token_{handle}"))
            .or_else(|| config::secret(&format!("token_{}", handle.to_ascii_lowercase())))
            .filter(|t| !t.trim().is_empty())
    }

    /// The token for `handle`, or [`ConnectorError::InvalidConfig`] naming the secret.
    pub(crate) fn require_user_token(&self, handle: &str) -> Result<String, ConnectorError> {
        self.user_token(handle).ok_or_else(|| {
            invalid(format!(
                "secret `token_{handle}` (the user access token of @{handle}) is required"
            ))
        })
    }

    /// The token for the recent search: the app's bearer token, else the default handle's.
    pub(crate) fn search_token(&self) -> Result<String, ConnectorError> {
        match &self.bearer_token {
            Some(t) => Ok(t.clone()),
            None => self.require_user_token(self.default_handle()),
        }
    }

    /// True when `language` passes the channel's language filter.
    pub(crate) fn language_ok(&self, language: Option<&str>) -> bool {
        match (&self.languages, language) {
            (None, _) => true,
            (Some(_), None) => true,
            (Some(_), Some(l)) if l.is_empty() || l == "und" => true,
            (Some(list), Some(l)) => {
                let l = l.to_ascii_lowercase();
                list.iter()
                    .any(|w| *w == l || l.split('-').next() == Some(w.as_str()))
            }
        }
    }

    /// The excluded word the text contains, if any (case-insensitive).
    pub(crate) fn excluded(&self, text: &str) -> Option<&str> {
        let lower = text.to_lowercase();
        self.exclusions
            .iter()
            .find(|e| lower.contains(&e.to_lowercase()))
            .map(String::as_str)
    }
}

impl Connector for X {
    fn reply_limits(&mut self) -> Vec<TextLimit> {
        vec![
            TextLimit::x_weighted(Visibility::Public, POST_MAX_WEIGHTED),
            TextLimit::code_points(Visibility::Private, DM_MAX_CHARS),
        ]
    }

    fn describe(&self) -> Description {
        Description {
            hosts: std::iter::once("https://api.x.com")
                .chain(media::MEDIA_HOSTS)
                .map(String::from)
                .collect(),
            platform: "x".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            capabilities: vec![
                Capability::Webhook,
                Capability::Poll,
                Capability::ReplyPublic,
                Capability::ReplyPrivate,
                Capability::Delete,
            ],
            config_keys: vec![
                ConfigKey::setting(
                    "handles",
                    "Comma list of the channel's X handles; the first is the default reply handle.",
                )
                .required()
                .label("X handles"),
                ConfigKey::setting(
                    "keywords",
                    "Comma list of keywords searched (OR'ed) in recent tweets.",
                )
                .label("Keywords"),
                ConfigKey::setting(
                    "exclusions",
                    "Comma list of words a tweet must not contain.",
                )
                .label("Excluded words"),
                ConfigKey::setting(
                    "use_handles_as_keywords",
                    "Also search for tweets naming the handles (@handle).",
                )
                .with_default("false")
                .label("Search for the handles"),
                ConfigKey::setting(
                    "languages",
                    "Comma list of language codes to take, or `any`.",
                )
                .with_default("any")
                .label("Languages"),
                ConfigKey::setting("skip_retweets", "Leave retweets out.")
                    .with_default("false")
                    .label("Skip retweets"),
                ConfigKey::setting(
                    "use_stream",
                    "Take public tweets from the filtered stream (rules kept in line with the keywords) instead of polling the recent search.",
                )
                .with_default("false")
                .label("Use the filtered stream"),
                ConfigKey::setting(
                    "message_types",
                    "Which messages to take: any of public, private, compliance.",
                )
                .with_default("public,private,compliance")
                .label("Message types"),
                ConfigKey::setting(
                    "deletion_check_minutes",
                    "How often polls ask X which of the tweets and authors taken were deleted (up to 100 of each per check, counted in the app's monthly read cap); 0: never.",
                )
                .with_default("60")
                .label("Deletion check minutes"),
                ConfigKey::setting("api_base_url", "Base URL of the X API.")
                    .with_default(DEFAULT_API_BASE_URL)
                    .label("X API URL")
                    .where_to_find(
                        "Leave the default for the real platform; set an emulator's address for tests.",
                    ),
                ConfigKey::secret(
                    "token_<handle>",
                    "User access token of each handle (one secret per handle, e.g. `token_acme`).",
                )
                .required()
                .label("User access token")
                .where_to_find(
                    "Sign in as the handle through your app's OAuth 2.0 authorization flow (X Developer Console → your app → Keys and tokens → OAuth 2.0 Client ID and Client Secret) and paste the access token it returns.",
                ),
                ConfigKey::secret(
                    "bearer_token",
                    "App bearer token, used for the recent search when set.",
                )
                .label("Bearer Token")
                .where_to_find("X Developer Console → your app → Keys and tokens → Bearer Token."),
                ConfigKey::secret(
                    "consumer_secret",
                    "Consumer secret of the app: answers the webhook CRC and checks webhook signatures.",
                )
                .label("API Key Secret")
                .where_to_find(
                    "X Developer Console → your app → Keys and tokens → Consumer Keys → API Key Secret (shown once when generated).",
                ),
            ],
        }
    }

    fn configure(&mut self) -> Result<(), ConnectorError> {
        let settings = Settings::load()?;
        for handle in &settings.handles {
            settings.require_user_token(handle)?;
        }
        if settings.public
            && let Some(query) = poll::build_query(&settings, &[])
            && query.chars().count() > MAX_QUERY_LEN
        {
            return Err(invalid(format!(
                "the search built from `keywords`, `exclusions` and `languages` is {} characters long; X accepts at most {MAX_QUERY_LEN}",
                query.chars().count()
            )));
        }
        if config::secret("consumer_secret").is_none_or(|s| s.trim().is_empty()) {
            log::warn(
                "x: no `consumer_secret` secret set; Account Activity webhooks will be refused",
            );
        }
        Ok(())
    }

    /// `GET /2/users/me` with the default handle's user access token: the account it
    /// belongs to must be that handle.
    fn check_credentials(&mut self) -> Result<Account, ConnectorError> {
        let settings = Settings::load()?;
        api::check_credentials(&settings)
    }

    fn poll(&mut self, cursor: Option<String>, limit: u32) -> Result<PollResult, ConnectorError> {
        let settings = Settings::load()?;
        poll::poll(&settings, cursor, limit)
    }

    fn handle_webhook(&mut self, req: HttpRequest) -> Result<WebhookOutcome, ConnectorError> {
        let settings = Settings::load()?;
        Ok(webhook::handle(&settings, &req))
    }

    fn send(
        &mut self,
        msg: Outbound,
        idempotency_key: IdempotencyKey,
    ) -> Result<Sent, ConnectorError> {
        let settings = Settings::load()?;
        send::send(&settings, &msg, &idempotency_key)
    }

    /// Looks among the sending handle's recent tweets (or direct messages).
    fn find_sent(
        &mut self,
        msg: Outbound,
        idempotency_key: IdempotencyKey,
        attempted_at: i64,
    ) -> Result<Option<Sent>, ConnectorError> {
        let settings = Settings::load()?;
        find::find_sent(&settings, &msg, &idempotency_key, attempted_at)
    }

    fn stream_open(&mut self) -> Result<Option<HttpRequest>, ConnectorError> {
        let settings = Settings::load()?;
        stream::open(&settings)
    }

    fn stream_lines(&mut self, lines: Vec<String>) -> Result<Vec<Event>, ConnectorError> {
        let settings = Settings::load()?;
        stream::lines(&settings, &lines)
    }

    /// Tweet media: a plain GET. Direct-message media: with the receiving handle's token
    /// (see `media`).
    fn media_request(
        &mut self,
        attachment: Attachment,
    ) -> Result<Option<MediaDownload>, ConnectorError> {
        let Some(url) = attachment.url.filter(|u| !u.trim().is_empty()) else {
            return Ok(None);
        };
        let settings = Settings::load()?;
        media::media_request(&settings, url.trim()).map(|r| Some(r.into()))
    }

    /// `POST /2/media/upload`, one request per image (see `upload`).
    fn upload_media(
        &mut self,
        file: OutboundFile,
        message: Outbound,
    ) -> Result<Option<MediaUpload>, ConnectorError> {
        let settings = Settings::load()?;
        upload::upload_media(&settings, &file, &message).map(Some)
    }

    fn file_limits(&mut self) -> Vec<FileLimit> {
        upload::file_limits()
    }

    fn delete(&mut self, id: String) -> Result<(), ConnectorError> {
        let settings = Settings::load()?;
        send::delete(&settings, &id)
    }
}

#[cfg(test)]
mod tests;
