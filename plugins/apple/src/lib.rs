//! Switchboard connector for Apple Messages for Business, speaking the messaging service
//! provider (MSP) API: inbound text, list-picker replies, typing and close events on the
//! channel's webhook; outbound text, files and list pickers to `POST /v1/message`.
//!
//! Both directions carry `Authorization: Bearer <JWT>` signed HS256 with the shared secret
//! Apple gives the provider (base64-encoded): inbound tokens must name our provider id as
//! `aud`, outbound tokens name it as `iss`.
//!
//! Settings (`[channels.settings]`): `business_id` (required: the business this channel
//! answers for), `provider_id` (required), `apple_base_url` (default
//! `https://mspgw.push.apple.com`); secret: `secret` (the shared secret, base64 as Apple
//! delivers it).
//!
//! What reaches the host: every customer message becomes a private message in the
//! customer's thread (thread id = the customer's opaque `sourceId`): text, attachments
//! (downloaded and decrypted by the host, see `files`), rich links, list-picker, quick-reply,
//! time-picker and other interactive replies, and `close` (with metadata
//! `apple_event=close`, so a workflow can leave it unrouted). Only `typing_start` and
//! `typing_end` are answered 200 with no event. See `inbound` for each kind.
#![warn(missing_docs)]

mod files;
mod inbound;
mod jwt;
mod send;
mod webhook;

use switchboard_sdk::IdempotencyKey;
use switchboard_sdk::{
    Account, Attachment, Capability, ConfigKey, Connector, ConnectorError, Description, FileLimit,
    HttpRequest, MediaDownload, MediaUpload, Outbound, OutboundFile, Sent, WebhookOutcome, config,
    log,
};

/// Default base URL of Apple's MSP gateway.
pub const DEFAULT_APPLE_BASE_URL: &str = "https://mspgw.push.apple.com";

/// The Apple Messages for Business connector. Settings are read on every call.
#[derive(Debug, Default)]
pub struct Apple;

switchboard_sdk::export_connector!(Apple);

/// The channel settings this connector reads.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Settings {
    pub business_id: String,
    pub provider_id: String,
    pub apple_base_url: String,
    /// The shared secret, decoded from base64 (`None` when not configured).
    pub secret: Option<Vec<u8>>,
}

impl Settings {
    pub(crate) fn load() -> Result<Settings, ConnectorError> {
        let business_id = config::require("business_id")?.trim().to_string();
        let provider_id = config::require("provider_id")?.trim().to_string();
        let apple_base_url = config::get_or("apple_base_url", DEFAULT_APPLE_BASE_URL)
            .trim()
            .trim_end_matches('/')
            .to_string();
        if !apple_base_url.starts_with("http://") && !apple_base_url.starts_with("https://") {
            return Err(ConnectorError::InvalidConfig(format!(
                "setting `apple_base_url` must be an http(s) URL, got `{apple_base_url}`"
            )));
        }
        let secret = match config::secret("secret").filter(|s| !s.trim().is_empty()) {
            None => None,
            Some(encoded) => Some(jwt::decode_secret(&encoded).ok_or_else(|| {
                ConnectorError::InvalidConfig("secret `secret` is not valid base64".into())
            })?),
        };
        Ok(Settings {
            business_id,
            provider_id,
            apple_base_url,
            secret,
        })
    }

    /// The decoded secret, or an error naming it.
    pub(crate) fn require_secret(&self) -> Result<&[u8], ConnectorError> {
        self.secret
            .as_deref()
            .ok_or_else(|| ConnectorError::InvalidConfig("secret `secret` is required".into()))
    }
}

impl Connector for Apple {
    fn describe(&self) -> Description {
        Description {
            hosts: vec!["https://mspgw.push.apple.com".into()],
            platform: "apple".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            capabilities: vec![Capability::Webhook, Capability::ReplyPrivate],
            config_keys: vec![
                ConfigKey::setting(
                    "business_id",
                    "The Messages for Business id this channel answers for.",
                )
                .required()
                .label("Business ID")
                .where_to_find(
                    "Apple Business Register → Messages for Business → your account → Business ID.",
                ),
                ConfigKey::setting(
                    "provider_id",
                    "Our messaging service provider id (JWT `aud` inbound, `iss` outbound).",
                )
                .required()
                .label("MSP ID")
                .where_to_find(
                    "Apple Business Register → Messaging Service Providers → your MSP → MSP ID.",
                ),
                ConfigKey::setting("apple_base_url", "Base URL of Apple's MSP gateway.")
                    .with_default(DEFAULT_APPLE_BASE_URL)
                    .label("MSP gateway URL")
                    .where_to_find(
                        "Leave the default for the real platform; set an emulator's address for tests.",
                    ),
                ConfigKey::secret(
                    "secret",
                    "The shared secret Apple issued, base64-encoded as delivered (signs JWTs both ways).",
                )
                .required()
                .label("API secret")
                .where_to_find(
                    "Apple Business Register → Messaging Service Providers → your MSP → API secret (paste it base64-encoded, as Apple shows it).",
                ),
            ],
        }
    }

    fn configure(&mut self) -> Result<(), ConnectorError> {
        let settings = Settings::load()?;
        settings.require_secret()?;
        log::debug(format!(
            "apple: business {} via provider {}",
            settings.business_id, settings.provider_id
        ));
        Ok(())
    }

    /// Apple's MSP API has no read-only call to try the credentials with: the settings
    /// are checked here, the credentials by Apple on the first reply.
    fn check_credentials(&mut self) -> Result<Account, ConnectorError> {
        let settings = Settings::load()?;
        settings.require_secret()?;
        Err(ConnectorError::Unsupported(
            "Apple Messages for Business has no read-only call to check credentials: Apple checks the MSP ID and API secret on the first reply sent (and every message it delivers is signed with the same secret)".into(),
        ))
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

    fn media_request(
        &mut self,
        attachment: Attachment,
    ) -> Result<Option<MediaDownload>, ConnectorError> {
        let settings = Settings::load()?;
        files::media_request(&settings, &attachment)
    }

    fn upload_media(
        &mut self,
        file: OutboundFile,
        _message: Outbound,
    ) -> Result<Option<MediaUpload>, ConnectorError> {
        let settings = Settings::load()?;
        files::upload_media(&settings, &file).map(Some)
    }

    fn file_limits(&mut self) -> Vec<FileLimit> {
        files::limits()
    }
}

#[cfg(test)]
mod tests;
