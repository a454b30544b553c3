//! What every connector of a Meta platform shares: Facebook pages and Messenger, the
//! WhatsApp Cloud API and Instagram all speak the Graph API and Meta's signed webhooks.
//!
//! The contract this module keeps, so that the Meta connectors behave alike and a new one
//! is mostly its own payloads:
//!
//! - **Webhooks.** A `GET` is Meta's verification handshake: the raw `hub.challenge` with
//!   200 when `hub.mode` is `subscribe` and `hub.verify_token` is the channel's
//!   `verify_token` (compared in constant time), else 403 (400 without a challenge). A
//!   `POST` is accepted only when its `X-Hub-Signature-256` is the HMAC-SHA256 of the exact
//!   bytes received, keyed with the channel's `app_secret`; anything else gets 401 and no
//!   events. Meta signs the body as it sent it, with non-ASCII escaped as `\uXXXX`, so the
//!   check never re-serializes. An authentic body that cannot be read is acknowledged
//!   (200 `EVENT_RECEIVED`) and logged, since Meta would deliver it again for hours and
//!   it would never read better ([`Settings::read_webhook`]).
//! - **Graph errors.** One mapping from a Graph answer to the [`ConnectorError`] the host
//!   acts on ([`check`]), whatever the platform; see its table. A connector that needs a
//!   code's own meaning (WhatsApp's 131047, Messenger's 10900) reads it from the
//!   [`GraphFailure`] rather than from the error's text.
//! - **Settings.** The keys every Meta connector reads, `graph_base_url`, `access_token`,
//!   `app_secret` and `verify_token`, declared once ([`Platform::config_keys`]) and read
//!   once ([`Settings::load`]); a connector adds its own keys around them.
//! - **Attachments.** Messenger's and Instagram's `message.attachments[]` are read by one
//!   function, every type kept ([`messaging_attachment`]); their URLs are signed CDN links
//!   that need no token, on hosts a connector declares ([`MEDIA_HOSTS`]); an agent's file
//!   goes through the Attachment Upload API ([`Graph::attachment_upload`]). See `media.rs`.
//! - **Secrets.** The access token never reaches an error or a log line: Graph quotes a
//!   malformed token in its message, and the host shows errors to administrators.
//!   Requests sent through [`Graph`] come back with the token blanked out of their errors
//!   ([`redact`]).
//!
//! # Example
//!
//! ```
//! use switchboard_sdk::meta::{self, Platform};
//! use switchboard_sdk::{ConfigKey, ConnectorError, HttpRequest, HttpResponse, WebhookOutcome};
//!
//! /// What this connector declares once: its name, its webhook `object`, its Graph base
//! /// URL and where the administrator finds its token.
//! const INSTAGRAM: Platform = Platform::new(
//!     "instagram",
//!     "instagram",
//!     "https://graph.instagram.com/v21.0",
//! )
//! .access_token(
//!     "Instagram user access token of the professional account.",
//!     "Access token",
//!     "Meta for Developers → your app → Instagram → API setup with Instagram login → Generate token.",
//! )
//! .webhook_console("Instagram → Webhooks");
//!
//! fn config_keys() -> Vec<ConfigKey> {
//!     let mut keys = vec![ConfigKey::setting("account_id", "The account.").required()];
//!     keys.extend(INSTAGRAM.config_keys());
//!     keys
//! }
//!
//! #[derive(serde::Deserialize)]
//! struct Entry {
//!     id: String,
//! }
//!
//! fn handle_webhook(req: &HttpRequest) -> Result<WebhookOutcome, ConnectorError> {
//!     let settings = INSTAGRAM.load()?;
//!     let entries = match settings.read_webhook::<Entry>(req) {
//!         Ok(entries) => entries,
//!         // The handshake, a refused signature, another object: answered already.
//!         Err(answer) => return Ok(WebhookOutcome::respond(answer)),
//!     };
//!     let _ids: Vec<String> = entries.items.into_iter().map(|e| e.id).collect();
//!     Ok(WebhookOutcome::respond(meta::accepted()))
//! }
//!
//! fn reply_to_comment(comment_id: &str, text: &str) -> Result<String, ConnectorError> {
//!     let graph = INSTAGRAM.load()?.graph();
//!     let url = format!("{}/replies", graph.object_url(comment_id));
//!     // `?` turns a Graph error into the ConnectorError the host acts on.
//!     let answer = graph.post_form(&url, &[("message", text)])?;
//!     Ok(answer.body_text())
//! }
//!
//! let host = switchboard_sdk::testing::MockHost::new();
//! host.set_config("graph_base_url", "http://graph.test/v21.0")
//!     .set_secret("access_token", "EAAG-secret")
//!     .set_secret("verify_token", "tok");
//! host.on_http(|_| Ok(HttpResponse::json(400, &serde_json::json!({
//!     "error": {"message": "Malformed access token EAAG-secret", "code": 190}
//! }))));
//! let err = reply_to_comment("17858893269000001", "thanks!").unwrap_err();
//! assert_eq!(
//!     err,
//!     ConnectorError::Unauthorized("190: Malformed access token [the token]".into())
//! );
//! let hello = HttpRequest::new(
//!     "GET",
//!     "/hook?hub.mode=subscribe&hub.challenge=42&hub.verify_token=tok",
//! );
//! assert_eq!(handle_webhook(&hello).unwrap().response.body, b"42");
//! assert_eq!(config_keys().len(), 5);
//! ```

use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer};
use serde_json::Value;

use crate::lenient::{self, Items};
use crate::webhook::{constant_time_eq, from_hex, header, hmac_sha256, query_param, to_hex};
use crate::{
    ConfigKey, ConnectorError, HttpError, HttpRequest, HttpResponse, ReplyWindow, Visibility,
    config, http, log,
};

// ---------------------------------------------------------------- webhooks

/// The header that carries a webhook POST's signature.
pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";

/// The body Meta expects back when a delivery was accepted.
pub const ACCEPTED: &str = "EVENT_RECEIVED";

/// 200 `EVENT_RECEIVED`: a delivery taken (or deliberately dropped: Meta retries whatever
/// is not answered 2xx, and a webhook that keeps failing gets its subscription disabled,
/// which would cost every later event).
pub fn accepted() -> HttpResponse {
    HttpResponse::text(200, ACCEPTED)
}

/// Answers Meta's webhook verification (`GET ?hub.mode=subscribe&hub.challenge=..&
/// hub.verify_token=..`): the challenge, raw, with 200 when the mode is `subscribe` and the
/// token matches `verify_token` (compared in constant time, so a caller cannot find the
/// token byte by byte from response times); else 403, and 400 without a challenge. No
/// `verify_token` configured refuses every handshake: an empty expected token would
/// accept anyone's subscription. `platform` names the connector in the log.
pub fn handshake(req: &HttpRequest, verify_token: Option<&str>, platform: &str) -> HttpResponse {
    let Some(expected) = verify_token.filter(|t| !t.is_empty()) else {
        log::warn(format!(
            "{platform}: webhook verification refused: no `verify_token` secret configured"
        ));
        return HttpResponse::text(403, "verification refused");
    };
    let token_ok = query_param(req, "hub.verify_token")
        .is_some_and(|t| constant_time_eq(t.as_bytes(), expected.as_bytes()));
    if query_param(req, "hub.mode").as_deref() != Some("subscribe") || !token_ok {
        log::warn(format!(
            "{platform}: webhook verification refused: wrong mode or verify token"
        ));
        return HttpResponse::text(403, "verification refused");
    }
    match query_param(req, "hub.challenge") {
        Some(challenge) => HttpResponse::text(200, challenge),
        None => HttpResponse::text(400, "missing hub.challenge"),
    }
}

/// Checks the `X-Hub-Signature-256` of a webhook POST against `app_secret`, over the
/// exact bytes of `req.body`. `Err` is the 401 to answer, with the reason logged under
/// `platform`: no secret configured (nothing can be verified, so nothing is accepted), no
/// header, or a signature that does not match.
pub fn check_signature(
    req: &HttpRequest,
    app_secret: Option<&str>,
    platform: &str,
) -> Result<(), HttpResponse> {
    let Some(app_secret) = app_secret.filter(|s| !s.is_empty()) else {
        log::error(format!(
            "{platform}: webhook POST refused: no `app_secret` secret configured"
        ));
        return Err(HttpResponse::text(401, "signature cannot be checked"));
    };
    let Some(signature) = header(req, SIGNATURE_HEADER) else {
        log::warn(format!(
            "{platform}: webhook POST without X-Hub-Signature-256 refused"
        ));
        return Err(HttpResponse::text(401, "missing X-Hub-Signature-256"));
    };
    if !verify_signature(app_secret, &req.body, signature) {
        log::warn(format!(
            "{platform}: webhook POST with a bad signature refused"
        ));
        return Err(HttpResponse::text(401, "invalid X-Hub-Signature-256"));
    }
    Ok(())
}

/// Checks a webhook POST's signature ([`check_signature`]) and parses its body as JSON of
/// type `T`. `Err` is the response to give instead: 401 for the signature, 400 for the
/// body, with the reason logged under `platform`.
///
/// Meta delivers again whatever is not answered 2xx, and an authentic body that cannot be
/// read now cannot be read on any later delivery: a connector that would rather
/// acknowledge it (and log it), as the built-in ones do, uses
/// [`Settings::read_webhook`].
pub fn signed_json<T: DeserializeOwned>(
    req: &HttpRequest,
    app_secret: Option<&str>,
    platform: &str,
) -> Result<T, HttpResponse> {
    check_signature(req, app_secret, platform)?;
    serde_json::from_slice(&req.body).map_err(|e| {
        log::warn(format!("{platform}: malformed webhook body: {e}"));
        HttpResponse::text(400, format!("malformed JSON body: {e}"))
    })
}

/// The `X-Hub-Signature-256` value Meta sends for `raw_body`: `sha256=<lowercase hex>`.
/// For tests and emulators.
pub fn signature(app_secret: &str, raw_body: &[u8]) -> String {
    format!(
        "sha256={}",
        to_hex(&hmac_sha256(app_secret.as_bytes(), raw_body))
    )
}

/// Whether `header_value` (`sha256=<hex>`, either case of hex) is the HMAC-SHA256 of the
/// exact `raw_body` bytes keyed with `app_secret`, compared in constant time.
///
/// False for an empty secret (anyone can compute that one), a missing `sha256=` prefix or
/// malformed hex.
pub fn verify_signature(app_secret: &str, raw_body: &[u8], header_value: &str) -> bool {
    if app_secret.is_empty() {
        return false;
    }
    let Some(hex) = header_value.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Some(given) = from_hex(hex) else {
        return false;
    };
    let expected = hmac_sha256(app_secret.as_bytes(), raw_body);
    constant_time_eq(&expected, &given)
}

/// A webhook body: `{"object": .., "entry": [..]}`, the envelope of every Meta platform.
/// Entries are read one by one ([`Items`]): one of a shape the connector cannot read is
/// left out with its error, the others kept.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(bound = "E: DeserializeOwned")]
pub struct Envelope<E> {
    /// `page`, `whatsapp_business_account`, `instagram`, ...
    #[serde(default, deserialize_with = "lenient::opt")]
    pub object: Option<String>,
    /// The batch: several entries, each with several changes or messages, are normal.
    #[serde(default)]
    pub entry: Items<E>,
}

// ---------------------------------------------------------------- platform and settings

/// How a connector hands its access token to the Graph API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPlacement {
    /// `Authorization: Bearer <token>`, which the Graph API takes in place of the
    /// parameter: in a header the token stays out of URLs, so out of every error or log
    /// line that quotes one. Facebook and WhatsApp send it so.
    BearerHeader,
    /// An `access_token` query parameter on every request, for endpoints documented only
    /// that way. Errors sent through [`Graph`] are still redacted of it.
    QueryParameter,
}

/// What one Meta-family connector declares once: its name, the `object` of its webhooks,
/// its default Graph base URL, and what the administrator's console calls its token.
/// Build it as a `const` with [`Platform::new`] and the builder methods; the shared keys
/// ([`config_keys`](Platform::config_keys)), the settings ([`load`](Platform::load)) and
/// the [`Graph`] helper follow from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Platform {
    /// The connector's name, in front of its log lines (`facebook`).
    pub name: &'static str,
    /// The webhook envelope's `object` this connector reads (`page`); others are
    /// acknowledged and ignored.
    pub webhook_object: &'static str,
    /// The `graph_base_url` used when the channel does not set one, with the API version.
    pub default_graph_base_url: &'static str,
    /// How the token goes to the Graph API.
    pub token_placement: TokenPlacement,
    /// `access_token`'s description.
    pub access_token_description: &'static str,
    /// What the platform's console calls the token.
    pub access_token_label: &'static str,
    /// Where the administrator makes the token, in plain steps.
    pub access_token_where_to_find: &'static str,
    /// Where the app's webhook is set up under "Meta for Developers → your app →"
    /// (`Webhooks → Page`), for `verify_token`'s where-to-find.
    pub webhook_console_path: &'static str,
}

impl Platform {
    /// A platform called `name`, reading webhooks of `webhook_object`, on the Graph API at
    /// `default_graph_base_url` unless the channel sets another; the token as a Bearer
    /// header, described generically until [`access_token`](Platform::access_token) and
    /// [`webhook_console`](Platform::webhook_console) say more.
    pub const fn new(
        name: &'static str,
        webhook_object: &'static str,
        default_graph_base_url: &'static str,
    ) -> Platform {
        Platform {
            name,
            webhook_object,
            default_graph_base_url,
            token_placement: TokenPlacement::BearerHeader,
            access_token_description: "Access token for the Graph API.",
            access_token_label: "Access token",
            access_token_where_to_find: "Meta for Developers → your app → generate an access token.",
            webhook_console_path: "Webhooks",
        }
    }

    /// How the `access_token` key is described, labelled and found: each platform's
    /// console has its own kind of token (a page token, a system user token).
    pub const fn access_token(
        mut self,
        description: &'static str,
        label: &'static str,
        where_to_find: &'static str,
    ) -> Platform {
        self.access_token_description = description;
        self.access_token_label = label;
        self.access_token_where_to_find = where_to_find;
        self
    }

    /// Where the app's webhook is configured, after "Meta for Developers → your app →"
    /// (`WhatsApp → Configuration → Webhook`).
    pub const fn webhook_console(mut self, path: &'static str) -> Platform {
        self.webhook_console_path = path;
        self
    }

    /// Sends the token as an `access_token` query parameter instead of a Bearer header.
    pub const fn token_in_query(mut self) -> Platform {
        self.token_placement = TokenPlacement::QueryParameter;
        self
    }

    /// The shared keys, in the order the admin desktop shows them: `graph_base_url`,
    /// `verify_token`, `app_secret`, `access_token`. A connector lists its own keys
    /// around them. None is required: a channel may poll without webhooks, and a missing
    /// one is refused where it is needed (a webhook POST without `app_secret` gets 401).
    pub fn config_keys(&self) -> Vec<ConfigKey> {
        vec![
            ConfigKey::setting(
                "graph_base_url",
                "Base URL of the Graph API, with its version.",
            )
            .with_default(self.default_graph_base_url)
            .label("Graph API URL")
            .where_to_find(
                "Leave the default for the real platform; set an emulator's address for tests.",
            ),
            ConfigKey::secret(
                "verify_token",
                "Token Meta echoes in the webhook verification handshake (needed for webhooks).",
            )
            .label("Verify token")
            .where_to_find(&format!(
                "Make one up and type the same value in Meta for Developers → your app → {} → Verify token.",
                self.webhook_console_path
            )),
            ConfigKey::secret(
                "app_secret",
                "App secret that signs webhook requests (X-Hub-Signature-256; needed for webhooks).",
            )
            .label("App secret")
            .where_to_find(
                "Meta for Developers → your app → App settings → Basic → App secret → Show.",
            ),
            ConfigKey::secret("access_token", self.access_token_description)
                .label(self.access_token_label)
                .where_to_find(self.access_token_where_to_find),
        ]
    }

    /// `scheme://host` of the default Graph base URL, for `describe`'s `hosts`.
    pub fn graph_host(&self) -> String {
        origin(self.default_graph_base_url)
    }

    /// This channel's shared settings ([`Settings::load`]).
    pub fn load(&self) -> Result<Settings, ConnectorError> {
        Settings::load(self)
    }
}

/// `scheme://host[:port]` of `url`.
fn origin(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.split(['/', '?', '#']).next().unwrap_or("");
            format!("{scheme}://{host}")
        }
        None => url.to_string(),
    }
}

/// The shared settings of a channel, read on every call (a changed setting applies at
/// once). Its `Debug` shows which secrets are set, never their values.
#[derive(Clone, PartialEq)]
pub struct Settings {
    /// The platform they were read for.
    pub platform: Platform,
    /// `graph_base_url`, without a trailing `/`.
    pub graph_base_url: String,
    /// Secret `access_token`, when set.
    pub access_token: Option<String>,
    /// Secret `app_secret` (signs webhook POSTs), when set.
    pub app_secret: Option<String>,
    /// Secret `verify_token` (the webhook handshake), when set.
    pub verify_token: Option<String>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |s: &Option<String>| if s.is_some() { "set" } else { "not set" };
        f.debug_struct("Settings")
            .field("platform", &self.platform.name)
            .field("graph_base_url", &self.graph_base_url)
            .field("access_token", &set(&self.access_token))
            .field("app_secret", &set(&self.app_secret))
            .field("verify_token", &set(&self.verify_token))
            .finish()
    }
}

impl Settings {
    /// Reads `graph_base_url` (the platform's default when unset; it must be an http(s)
    /// URL, else [`ConnectorError::InvalidConfig`] naming it) and the secrets
    /// `access_token`, `app_secret` and `verify_token` (an empty one is not set).
    pub fn load(platform: &Platform) -> Result<Settings, ConnectorError> {
        let graph_base_url = config::get_or("graph_base_url", platform.default_graph_base_url)
            .trim()
            .trim_end_matches('/')
            .to_string();
        if !graph_base_url.starts_with("http://") && !graph_base_url.starts_with("https://") {
            return Err(ConnectorError::InvalidConfig(format!(
                "setting `graph_base_url` must be an http(s) URL, got `{graph_base_url}`"
            )));
        }
        let secret = |key: &str| config::secret(key).filter(|s| !s.is_empty());
        Ok(Settings {
            platform: *platform,
            graph_base_url,
            access_token: config::secret("access_token").filter(|t| !t.trim().is_empty()),
            app_secret: secret("app_secret"),
            verify_token: secret("verify_token"),
        })
    }

    /// Logs what `configure` should tell the administrator about missing secrets: without
    /// `access_token` Graph calls go unauthenticated (Meta refuses nearly all of them),
    /// without `app_secret` every webhook POST is refused.
    pub fn warn_if_incomplete(&self) {
        let name = self.platform.name;
        if self.access_token.is_none() {
            log::warn(format!(
                "{name}: no `access_token` secret set; Graph API calls are sent without one and Meta refuses most of them"
            ));
        }
        if self.app_secret.is_none() {
            log::warn(format!(
                "{name}: no `app_secret` secret set; webhook POSTs will be refused"
            ));
        }
    }

    /// The Graph API with this channel's base URL and token.
    pub fn graph(&self) -> Graph {
        Graph::new(
            &self.platform,
            &self.graph_base_url,
            self.access_token.as_deref(),
        )
    }

    /// The webhook handshake with this channel's `verify_token` ([`handshake`]).
    pub fn handshake(&self, req: &HttpRequest) -> HttpResponse {
        handshake(req, self.verify_token.as_deref(), self.platform.name)
    }

    /// A webhook POST's signature checked with this channel's `app_secret`
    /// ([`check_signature`]).
    pub fn check_signature(&self, req: &HttpRequest) -> Result<(), HttpResponse> {
        check_signature(req, self.app_secret.as_deref(), self.platform.name)
    }

    /// Everything a webhook request goes through before its entries: `Ok` with the entries
    /// of an authentic POST of this platform's `object`, or `Err` with the answer already
    /// decided, to give as it is:
    ///
    /// - `GET`: the handshake ([`handshake`]);
    /// - a `POST` whose signature fails: 401 ([`check_signature`]);
    /// - an authentic `POST` whose body is not a JSON object of the envelope's shape: 200
    ///   `EVENT_RECEIVED`, and an ERROR log line (the host tags it with the channel): it
    ///   would read no better on Meta's retries, which go on for hours and get the
    ///   subscription disabled;
    /// - an envelope of another `object`: 200, with an info line;
    /// - another method: 405.
    ///
    /// The entries are read one by one ([`Items`]): the connector logs their
    /// [`summary`](Items::summary) with its own.
    pub fn read_webhook<E: DeserializeOwned>(
        &self,
        req: &HttpRequest,
    ) -> Result<Items<E>, HttpResponse> {
        let name = self.platform.name;
        match req.method.to_ascii_uppercase().as_str() {
            "GET" => return Err(self.handshake(req)),
            "POST" => {}
            other => {
                return Err(HttpResponse::text(
                    405,
                    format!("method {other} not allowed"),
                ));
            }
        }
        self.check_signature(req)?;
        let envelope: Envelope<E> = lenient::object(&req.body).map_err(|why| {
            log::error(format!(
                "{name}: an authentic webhook body could not be read and was dropped: {why}"
            ));
            accepted()
        })?;
        if envelope.object.as_deref() != Some(self.platform.webhook_object) {
            log::info(format!(
                "{name}: ignoring webhook for object {:?}",
                envelope.object.unwrap_or_default()
            ));
            return Err(accepted());
        }
        Ok(envelope.entry)
    }
}

// ---------------------------------------------------------------- Graph errors

/// Back-off after an app, page or account rate limit (codes 4, 17, 32, 613, 80001-80009,
/// HTTP 429) when the answer says no better: Meta's windows are about an hour long but
/// lift gradually, so a minute is a fair first wait.
pub const RATE_LIMIT_BACKOFF_MS: u64 = 60_000;
/// Back-off after WhatsApp's per-number throughput limit (130429: messages per second).
pub const THROUGHPUT_BACKOFF_MS: u64 = 1_000;
/// Back-off after WhatsApp's pair rate limit (131056: about one message per 6 s to one
/// user).
pub const PAIR_RATE_BACKOFF_MS: u64 = 6_000;
/// The longest back-off taken from an answer's headers: a later attempt that is still
/// too early is simply told to wait again.
pub const MAX_BACKOFF_MS: u64 = 3_600_000;

/// The `error` object of a Graph error body
/// (`{"error":{"message","type","code","error_subcode","fbtrace_id"}}`), read leniently:
/// a field of an unexpected shape is `None`, a code may come as a string of digits.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct GraphError {
    /// The developer's message: `(#100) Invalid parameter`.
    #[serde(default, deserialize_with = "lenient::opt")]
    pub message: Option<String>,
    /// `OAuthException`, `GraphMethodException`, ...
    #[serde(default, rename = "type", deserialize_with = "lenient::opt")]
    pub kind: Option<String>,
    /// The error code (190 bad token, 4 rate limited, 100 bad parameter, ...).
    #[serde(default, deserialize_with = "lenient_i64")]
    pub code: Option<i64>,
    /// The subcode that narrows it (2018278 outside the messaging window, ...).
    #[serde(default, deserialize_with = "lenient_i64")]
    pub error_subcode: Option<i64>,
    /// Meta's trace id, for a support request.
    #[serde(default, deserialize_with = "lenient::opt")]
    pub fbtrace_id: Option<String>,
    /// A short title (the Cloud API's errors have one: `Re-engagement message`).
    #[serde(default, deserialize_with = "lenient::opt")]
    pub title: Option<String>,
    /// The title Meta shows users, when it gives one.
    #[serde(default, deserialize_with = "lenient::opt")]
    pub error_user_title: Option<String>,
    /// The message Meta shows users, when it gives one.
    #[serde(default, deserialize_with = "lenient::opt")]
    pub error_user_msg: Option<String>,
    /// Meta's own hint that trying again may work.
    #[serde(default, deserialize_with = "lenient::opt")]
    pub is_transient: Option<bool>,
    /// More about it (the Cloud API puts `details` here).
    #[serde(default)]
    pub error_data: Option<Value>,
}

fn lenient_i64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

#[derive(Deserialize)]
struct ErrorBody {
    error: GraphError,
}

impl GraphError {
    /// The Graph error in `body`, when it is one: a JSON object whose `error` is an
    /// object. Nothing else is (serde would read a struct from a list too, and a 200 list
    /// is an unreadable answer, not a Graph error).
    pub fn from_body(body: &[u8]) -> Option<GraphError> {
        lenient::object::<ErrorBody>(body).ok().map(|b| b.error)
    }

    /// The short title: `title`, else `message` without its `(#code) ` prefix, else the
    /// user title.
    pub fn title(&self) -> Option<String> {
        let nonempty = |s: &Option<String>| s.clone().filter(|s| !s.trim().is_empty());
        nonempty(&self.title)
            .or_else(|| {
                nonempty(&self.message).map(|m| match m.strip_prefix("(#") {
                    Some(rest) => rest
                        .split_once(") ")
                        .map(|(_, t)| t.to_string())
                        .unwrap_or(m),
                    None => m,
                })
            })
            .or_else(|| nonempty(&self.error_user_title))
    }

    /// `error_data.details`, when given.
    pub fn details(&self) -> Option<String> {
        self.error_data
            .as_ref()?
            .get("details")?
            .as_str()
            .filter(|d| !d.is_empty())
            .map(str::to_string)
    }

    /// In one line for an agent or an administrator: `<code>: <title> (<details>)
    /// (subcode <n>)`, each part when known. `status` is said when nothing else is.
    fn describe(&self, status: u16) -> String {
        let mut text = match (self.code, self.title()) {
            (Some(code), Some(title)) => format!("{code}: {title}"),
            (Some(code), None) => format!("{code}: Graph API error (HTTP {status})"),
            (None, Some(title)) => title,
            (None, None) => format!("Graph API error (HTTP {status})"),
        };
        if let Some(details) = self.details().filter(|d| !text.contains(d.as_str())) {
            text.push_str(&format!(" ({details})"));
        }
        if let Some(sub) = self.error_subcode {
            text.push_str(&format!(" (subcode {sub})"));
        }
        text
    }
}

/// A Graph call that did not succeed: the error the host is told, with what it was made
/// from, so that a connector can give a code its own meaning (a 10900 remembered, a 100
/// that names the wrong setting) without reading the error's text. `?` turns it into its
/// [`ConnectorError`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct GraphFailure {
    /// What the host is told (see [`check`]).
    pub error: ConnectorError,
    /// The HTTP status, when the platform answered.
    pub status: Option<u16>,
    /// The Graph error body, when the answer had one (boxed: it is large, and a failure
    /// travels through every `?` of a connector).
    pub graph: Option<Box<GraphError>>,
}

impl GraphFailure {
    /// The Graph error code, when the answer had one.
    pub fn code(&self) -> Option<i64> {
        self.graph.as_ref()?.code
    }

    /// The Graph error subcode, when the answer had one.
    pub fn subcode(&self) -> Option<i64> {
        self.graph.as_ref()?.error_subcode
    }

    /// The same failure with `secret` blanked out of its texts ([`redact`]).
    pub fn redact(mut self, secret: &str) -> GraphFailure {
        self.error = redact_error(self.error, secret);
        if let Some(graph) = &mut self.graph {
            for text in [
                &mut graph.message,
                &mut graph.title,
                &mut graph.error_user_title,
                &mut graph.error_user_msg,
            ]
            .into_iter()
            .flatten()
            {
                *text = redact(text, secret);
            }
            if let Some(data) = &graph.error_data {
                let redacted = redact(&data.to_string(), secret);
                graph.error_data = serde_json::from_str(&redacted).ok();
            }
        }
        self
    }
}

/// A failure that is not the platform's answer (an answer a connector cannot use), so
/// that one function can return both with `?`.
impl From<ConnectorError> for GraphFailure {
    fn from(error: ConnectorError) -> GraphFailure {
        GraphFailure {
            error,
            status: None,
            graph: None,
        }
    }
}

impl From<GraphFailure> for ConnectorError {
    fn from(failure: GraphFailure) -> ConnectorError {
        failure.error
    }
}

impl std::fmt::Display for GraphFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.error)
    }
}

/// Maps a Graph answer (or a fetch that got none) to the response, when it succeeded, or
/// to the error the host acts on. One table for every Meta connector, first match wins:
///
/// | The answer | Error |
/// |---|---|
/// | no answer ([`HttpError`]) | [`HttpError::context`]`("Graph API request failed")`: a host off the allowlist is `invalid-config`, a timeout `transient` |
/// | code 190 (bad or expired token), or HTTP 401 | `unauthorized` |
/// | HTTP 403 without a Graph error body | `unauthorized` |
/// | code 130429 (WhatsApp throughput) | `rate-limited`, [`THROUGHPUT_BACKOFF_MS`] |
/// | code 131056 (WhatsApp pair rate) | `rate-limited`, [`PAIR_RATE_BACKOFF_MS`] |
/// | codes 4, 17, 32, 613, 80001-80009, or HTTP 429 | `rate-limited`, [`RATE_LIMIT_BACKOFF_MS`] |
/// | HTTP 5xx, codes 1, 2, 131000, 131016, or `is_transient` | `transient` |
/// | anything else, among them 10, 200-299 (permissions), 100, 368, 551, 10900 | `rejected` |
///
/// A rate limit waits as long as the answer says when it says: `Retry-After` (seconds),
/// else the largest `estimated_time_to_regain_access` (minutes) in
/// `X-Business-Use-Case-Usage`, at most [`MAX_BACKOFF_MS`]. (`X-App-Usage` gives only
/// percentages of the quota used, no time, so the default applies.)
///
/// Permission errors (10, 200, 230 and the rest of 200-299) are `rejected`, as both
/// connectors had them, not `unauthorized`: Graph accepted the token (a bad one is 190)
/// and refused this call on this object: a page that may not hide another page's
/// comment, a message outside the window (10 with subcode 2018278), a token that may send
/// but not read a number's details (WhatsApp's credentials check warns about that and
/// goes on). `unauthorized` would tell the administrator that the credentials are refused
/// outright, and send them regenerating a token that works.
///
/// An answer with an error body is an error even under a 2xx status. The error's text is
/// `<code>: <title> (<details>) (subcode <n>)`, or for an answer without an error body
/// `Graph API answered HTTP <status>: <start of the body>`.
pub fn check(result: Result<HttpResponse, HttpError>) -> Result<HttpResponse, GraphFailure> {
    let resp = result.map_err(|e| GraphFailure {
        error: e.context("Graph API request failed"),
        status: None,
        graph: None,
    })?;
    let graph = GraphError::from_body(&resp.body);
    if resp.is_success() && graph.is_none() {
        return Ok(resp);
    }
    let status = resp.status;
    let text = match &graph {
        Some(g) => g.describe(status),
        None => {
            let body: String = resp.body_text().chars().take(300).collect();
            format!("Graph API answered HTTP {status}: {body}")
        }
    };
    let code = graph.as_ref().and_then(|g| g.code);
    let transient = graph.as_ref().and_then(|g| g.is_transient) == Some(true);
    let error = match code {
        Some(190) => ConnectorError::Unauthorized(text),
        _ if status == 401 => ConnectorError::Unauthorized(text),
        _ if status == 403 && graph.is_none() => ConnectorError::Unauthorized(text),
        Some(130429) => ConnectorError::RateLimited(backoff(&resp, THROUGHPUT_BACKOFF_MS)),
        Some(131056) => ConnectorError::RateLimited(backoff(&resp, PAIR_RATE_BACKOFF_MS)),
        Some(4 | 17 | 32 | 613 | 80001..=80009) => {
            ConnectorError::RateLimited(backoff(&resp, RATE_LIMIT_BACKOFF_MS))
        }
        _ if status == 429 => ConnectorError::RateLimited(backoff(&resp, RATE_LIMIT_BACKOFF_MS)),
        // 131000 "Something went wrong", 131016 "Service unavailable" (Cloud API);
        // 1 unknown, 2 temporary (Graph).
        Some(1 | 2 | 131000 | 131016) => ConnectorError::Transient(text),
        _ if status >= 500 || transient => ConnectorError::Transient(text),
        _ => ConnectorError::Rejected(text),
    };
    Err(GraphFailure {
        error,
        status: Some(status),
        graph: graph.map(Box::new),
    })
}

/// How long a rate-limited answer asks us to wait, or `default`.
fn backoff(resp: &HttpResponse, default: u64) -> u64 {
    let retry_after = resp
        .header("retry-after")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|s| *s > 0)
        .map(|s| s.saturating_mul(1000));
    let regain = resp
        .header("x-business-use-case-usage")
        .and_then(|v| serde_json::from_str::<Value>(v).ok())
        .and_then(|usage| {
            usage
                .as_object()?
                .values()
                .filter_map(Value::as_array)
                .flatten()
                .filter_map(|u| u.get("estimated_time_to_regain_access")?.as_u64())
                .max()
        })
        .filter(|m| *m > 0)
        .map(|m| m.saturating_mul(60_000));
    retry_after
        .or(regain)
        .map_or(default, |ms| ms.min(MAX_BACKOFF_MS))
}

// ---------------------------------------------------------------- redaction

/// `text` with every occurrence of `secret` (and of its URL-encoded form) replaced by
/// `[the token]`: Graph quotes a malformed token in its error message ("Malformed access
/// token EAAG..."), a failed fetch may quote its URL, and a secret never goes into an
/// error or a log line. An empty secret changes nothing.
pub fn redact(text: &str, secret: &str) -> String {
    let secret = secret.trim();
    if secret.is_empty() {
        return text.to_string();
    }
    let mut out = text.replace(secret, "[the token]");
    let encoded = http::percent_encode(secret);
    if encoded != secret {
        out = out.replace(&encoded, "[the token]");
    }
    out
}

/// `error` with `secret` blanked out of its text ([`redact`]).
pub fn redact_error(error: ConnectorError, secret: &str) -> ConnectorError {
    match error {
        ConnectorError::InvalidConfig(m) => ConnectorError::InvalidConfig(redact(&m, secret)),
        ConnectorError::Unauthorized(m) => ConnectorError::Unauthorized(redact(&m, secret)),
        ConnectorError::Transient(m) => ConnectorError::Transient(redact(&m, secret)),
        ConnectorError::Rejected(m) => ConnectorError::Rejected(redact(&m, secret)),
        ConnectorError::Unsupported(m) => ConnectorError::Unsupported(redact(&m, secret)),
        ConnectorError::RateLimited(ms) => ConnectorError::RateLimited(ms),
    }
}

// ---------------------------------------------------------------- requests

/// The Graph API of one channel: its base URL and token, handed over as the platform
/// does ([`TokenPlacement`]). Every call's answer goes through [`check`], comes back with
/// the token blanked out of its error, and a rate limit is logged under the platform's
/// name. Its `Debug` never shows the token.
#[derive(Clone)]
pub struct Graph {
    platform: &'static str,
    base_url: String,
    access_token: Option<String>,
    placement: TokenPlacement,
}

impl std::fmt::Debug for Graph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Graph")
            .field("platform", &self.platform)
            .field("base_url", &self.base_url)
            .field("access_token", &self.access_token.as_ref().map(|_| "set"))
            .field("placement", &self.placement)
            .finish()
    }
}

impl Graph {
    /// The Graph API at `base_url` (with its version, no trailing `/`) with
    /// `access_token` (none: calls go without one), as `platform` sends it.
    pub fn new(platform: &Platform, base_url: &str, access_token: Option<&str>) -> Graph {
        Graph {
            platform: platform.name,
            base_url: base_url.trim_end_matches('/').to_string(),
            access_token: access_token.map(str::to_string),
            placement: platform.token_placement,
        }
    }

    /// The base URL, with its version.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Whether calls carry a token.
    pub fn has_token(&self) -> bool {
        self.access_token.is_some()
    }

    /// `<base>/<path>`; `path` is used as it is (`me?fields=id,name`).
    pub fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base_url, path.trim_start_matches('/'))
    }

    /// `<base>/<object id>`, the id percent-encoded: an id comes from the platform or an
    /// agent and must not add a path or a query.
    pub fn object_url(&self, id: &str) -> String {
        format!("{}/{}", self.base_url, http::percent_encode(id))
    }

    /// `req` with the token added as the platform takes it.
    pub fn authorize(&self, mut req: HttpRequest) -> HttpRequest {
        let Some(token) = &self.access_token else {
            return req;
        };
        match self.placement {
            TokenPlacement::BearerHeader => {
                req.with_header("authorization", format!("Bearer {token}"))
            }
            TokenPlacement::QueryParameter => {
                req.url = http::url_with_query(&req.url, &[("access_token", token.as_str())]);
                req
            }
        }
    }

    /// Sends `req` with the token and checks the answer ([`check`]).
    pub fn fetch(&self, req: HttpRequest) -> Result<HttpResponse, GraphFailure> {
        self.answered(http::fetch(&self.authorize(req)))
    }

    /// Checks an answer to a request made for this channel by someone else (the host's
    /// upload of a [`MediaUpload`](crate::MediaUpload)) as [`fetch`](Graph::fetch) checks
    /// its own: [`check`], the token blanked out, a rate limit logged.
    pub fn read_answer(&self, answer: HttpResponse) -> Result<HttpResponse, GraphFailure> {
        self.answered(Ok(answer))
    }

    fn answered(
        &self,
        result: Result<HttpResponse, HttpError>,
    ) -> Result<HttpResponse, GraphFailure> {
        check(result).map_err(|failure| {
            let failure = match &self.access_token {
                Some(token) => failure.redact(token),
                None => failure,
            };
            if let ConnectorError::RateLimited(ms) = failure.error {
                let why = match &failure.graph {
                    Some(g) => g.describe(failure.status.unwrap_or(0)),
                    None => format!("HTTP {}", failure.status.unwrap_or(0)),
                };
                log::warn(format!(
                    "{}: rate limited by the Graph API for {ms} ms: {why}",
                    self.platform
                ));
            }
            failure
        })
    }

    /// `GET url`.
    pub fn get(&self, url: &str) -> Result<HttpResponse, GraphFailure> {
        self.fetch(HttpRequest::new("GET", url))
    }

    /// `DELETE url`.
    pub fn delete(&self, url: &str) -> Result<HttpResponse, GraphFailure> {
        self.fetch(HttpRequest::new("DELETE", url))
    }

    /// `POST url` with an `application/x-www-form-urlencoded` body made of `form`.
    pub fn post_form(
        &self,
        url: &str,
        form: &[(&str, &str)],
    ) -> Result<HttpResponse, GraphFailure> {
        self.fetch(
            HttpRequest::new("POST", url)
                .with_header("content-type", "application/x-www-form-urlencoded")
                .with_body(http::encode_form(form)),
        )
    }

    /// `POST url` with `body` as `application/json`.
    pub fn post_json<T: serde::Serialize + ?Sized>(
        &self,
        url: &str,
        body: &T,
    ) -> Result<HttpResponse, GraphFailure> {
        let bytes = serde_json::to_vec(body).map_err(|e| {
            HttpError::Invalid(format!("cannot serialize the JSON body: {e}"))
                .context("Graph API request failed")
        })?;
        self.fetch(
            HttpRequest::new("POST", url)
                .with_header("content-type", "application/json")
                .with_body(bytes),
        )
    }
}

mod media;
pub use media::{
    LIKE_STICKERS, MEDIA_HOSTS, media_hosts, messaging_attachment, reaction_text,
    sticker_attachment,
};

#[cfg(test)]
mod tests;

// ---- the messaging window (Messenger and Instagram) ----------------------------------------

/// Meta's standard messaging window after the customer's last message.
pub const DAY_MS: i64 = 24 * 60 * 60 * 1000;
/// The `HUMAN_AGENT` tag's window (and a comment's private-reply window).
pub const WEEK_MS: i64 = 7 * DAY_MS;
/// Shown to the agent between 24 hours and 7 days.
pub const HUMAN_AGENT_NOTE: &str = "outside 24 h: sent with the HUMAN_AGENT tag";

/// What may be sent privately in a Messenger or Instagram conversation whose customer last
/// wrote at `last_customer_at`: freely for 24 hours, then with the `HUMAN_AGENT` tag up to
/// 7 days, then nothing until they write again. `platform` names it in the agent's note.
pub fn messaging_window(
    platform: &str,
    visibility: Visibility,
    last_customer_at: Option<i64>,
    now: i64,
) -> ReplyWindow {
    let (Visibility::Private, Some(last)) = (visibility, last_customer_at) else {
        return ReplyWindow::open();
    };
    let age = now - last;
    if age < DAY_MS {
        ReplyWindow::open_until(last + DAY_MS)
    } else if age < WEEK_MS {
        ReplyWindow {
            note: Some(HUMAN_AGENT_NOTE.into()),
            ..ReplyWindow::open_until(last + WEEK_MS)
        }
    } else {
        ReplyWindow::closed(format!(
            "the customer last wrote more than 7 days ago: {platform} accepts no reply until they write again"
        ))
    }
}
