//! Switchboard connector for the WhatsApp Business Cloud API: inbound messages of every
//! type, delivery statuses of our own sends, free-form replies (text and files) inside the
//! 24-hour customer service window and approved templates after it.
//!
//! Settings (`[channels.settings]`): `phone_number_id` (required: only webhooks for this
//! business number are read, and replies are sent from it), `waba_id` (the WhatsApp
//! Business Account whose templates agents pick from; without it the host keeps using the
//! channel's old `templates` setting), `graph_base_url` (default
//! `https://graph.facebook.com/v19.0`), and the optional business profile
//! `profile_about`, `profile_address`, `profile_description`, `profile_email`,
//! `profile_vertical`, `profile_websites` (comma-separated, at most 2), checked against
//! WhatsApp's limits by `configure`. Secrets: `verify_token` and `app_secret` (webhooks),
//! `access_token` (sent as `Authorization: Bearer` to the Graph API and to media
//! downloads). The keys, webhooks and Graph errors it shares with the other Meta platforms
//! are [`switchboard_sdk::meta`]'s ([`META`]).
//!
//! Conversations: one thread per customer, its id the customer's `wa_id` (or the
//! business-scoped `user_id` when a newer payload carries no `wa_id`). What each message
//! type becomes is in `kinds`; media arrive as ids the host downloads through
//! `media_request` (`media`); replies are sent by `send`, templates listed by
//! `templates`.
#![warn(missing_docs)]

mod graph;
mod kinds;
mod media;
mod profile;
mod send;
mod templates;
mod webhook;

use switchboard_sdk::IdempotencyKey;
use switchboard_sdk::{
    Account, Attachment, Capability, ConfigKey, Connector, ConnectorError, Description, FileLimit,
    HttpRequest, MediaDownload, MediaUpload, Outbound, OutboundFile, ReplyWindow, Sent,
    TemplateInfo, TextLimit, Visibility, WebhookOutcome, config, log, meta,
};

/// Cloud API: a text message body takes up to 4,096 characters.
const TEXT_MAX_CHARS: u32 = 4096;

/// Default Graph API base URL.
pub const DEFAULT_GRAPH_BASE_URL: &str = "https://graph.facebook.com/v19.0";
/// The customer service window: free-form messages are allowed this long after the
/// customer's last message.
pub const WINDOW_MS: i64 = 24 * 60 * 60 * 1000;
/// Scheme of the attachment URLs that named a WhatsApp media id before the contract had
/// media ids (messages stored then still carry them; `media_request` reads them).
pub const MEDIA_URL_PREFIX: &str = "whatsapp-media:";
pub use media::MEDIA_CDN;

/// The WhatsApp connector. Settings are read from the host on every call.
#[derive(Debug, Default)]
pub struct WhatsApp;

switchboard_sdk::export_connector!(WhatsApp);

/// What WhatsApp shares with the other Meta platforms: its webhooks
/// (`object: whatsapp_business_account`), its Graph API and the keys `graph_base_url`,
/// `verify_token`, `app_secret` and `access_token` (a system user token).
pub const META: meta::Platform = meta::Platform::new(
    "whatsapp",
    "whatsapp_business_account",
    DEFAULT_GRAPH_BASE_URL,
)
.access_token(
    "System user access token for the Cloud API (Bearer).",
    "System user access token",
    "Meta Business Suite → Business settings → Users → System users → your system user → Generate new token (with whatsapp_business_messaging and whatsapp_business_management).",
)
.webhook_console("WhatsApp → Configuration → Webhook");

/// The channel settings this connector reads.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Settings {
    pub phone_number_id: String,
    /// The WhatsApp Business Account whose templates are listed, when set.
    pub waba_id: Option<String>,
    /// `graph_base_url` and the secrets, read as every Meta connector reads them.
    pub meta: meta::Settings,
}

impl Settings {
    pub(crate) fn load() -> Result<Settings, ConnectorError> {
        let phone_number_id = config::require("phone_number_id")?.trim().to_string();
        let waba_id = config::get("waba_id")
            .map(|w| w.trim().to_string())
            .filter(|w| !w.is_empty());
        if let Some(waba) = &waba_id
            && !waba.chars().all(|c| c.is_ascii_digit())
        {
            return Err(ConnectorError::InvalidConfig(format!(
                "setting `waba_id` must be the WhatsApp Business Account's numeric id, got `{waba}`"
            )));
        }
        let meta = META.load()?;
        Ok(Settings {
            phone_number_id,
            waba_id,
            meta,
        })
    }

    /// The Graph API with this channel's base URL and access token.
    pub(crate) fn graph(&self) -> meta::Graph {
        self.meta.graph()
    }
}

/// What may be sent in a conversation whose customer last wrote at `last_customer_at`.
pub(crate) fn window(last_customer_at: Option<i64>, now: i64) -> ReplyWindow {
    match last_customer_at {
        Some(last) if now < last.saturating_add(WINDOW_MS) => ReplyWindow {
            free_form: true,
            templates: true,
            until: Some(last + WINDOW_MS),
            note: None,
        },
        Some(_) => ReplyWindow {
            free_form: false,
            templates: true,
            until: None,
            note: Some(
                "The customer last wrote more than 24 hours ago: WhatsApp only accepts an \
                 approved template until they write again."
                    .into(),
            ),
        },
        None => ReplyWindow {
            free_form: false,
            templates: true,
            until: None,
            note: Some(
                "The customer has not written to this number yet: WhatsApp only accepts an \
                 approved template to start the conversation."
                    .into(),
            ),
        },
    }
}

impl Connector for WhatsApp {
    fn describe(&self) -> Description {
        let mut config_keys = vec![
            ConfigKey::setting(
                "phone_number_id",
                "The WhatsApp business phone number id this channel receives on and sends from.",
            )
            .required()
            .label("Phone number ID")
            .where_to_find(
                "Meta for Developers → your app → WhatsApp → API Setup → Phone number ID.",
            ),
            ConfigKey::setting(
                "waba_id",
                "The WhatsApp Business Account whose approved message templates agents may send; the list is read from WhatsApp and replaces the `templates` setting.",
            )
            .label("WhatsApp Business Account ID")
            .where_to_find(
                "Meta for Developers → your app → WhatsApp → API Setup → WhatsApp Business Account ID (also in WhatsApp Manager → Account tools → Phone numbers).",
            ),
        ];
        config_keys.extend(META.config_keys());
        for field in profile::FIELDS {
            config_keys.push(
                ConfigKey::setting(field.key, field.description)
                    .label(field.label)
                    .where_to_find(field.where_to_find),
            );
        }
        Description {
            // Media downloads come from Meta's CDN, not the Graph API.
            hosts: vec![META.graph_host(), MEDIA_CDN.to_string()],
            platform: "whatsapp".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            capabilities: vec![Capability::Webhook, Capability::ReplyPrivate],
            config_keys,
        }
    }

    fn configure(&mut self) -> Result<(), ConnectorError> {
        let settings = Settings::load()?;
        profile::validate()?;
        settings.meta.warn_if_incomplete();
        if let Some(warning) = graph::old_templates_setting(&settings) {
            log::warn(format!("whatsapp: {warning}"));
        }
        Ok(())
    }

    /// `GET /{phone_number_id}` with the access token: the number's display number and
    /// verified name.
    fn check_credentials(&mut self) -> Result<Account, ConnectorError> {
        let settings = Settings::load()?;
        graph::check_credentials(&settings)
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
        Ok(media::media_request(&settings, &attachment)?.map(Into::into))
    }

    fn upload_media(
        &mut self,
        file: OutboundFile,
        message: Outbound,
    ) -> Result<Option<MediaUpload>, ConnectorError> {
        let settings = Settings::load()?;
        media::upload(&settings, &file, &message)
    }

    fn file_limits(&mut self) -> Vec<FileLimit> {
        media::file_limits()
    }

    fn list_templates(&mut self) -> Result<Vec<TemplateInfo>, ConnectorError> {
        let settings = Settings::load()?;
        templates::list(&settings)
    }

    fn reply_window(
        &mut self,
        _visibility: Visibility,
        last_customer_at: Option<i64>,
        now: i64,
    ) -> ReplyWindow {
        // Every WhatsApp conversation is private; the same rule applies whatever is asked.
        window(last_customer_at, now)
    }

    fn reply_limits(&mut self) -> Vec<TextLimit> {
        // Every conversation is private; a public reply is sent as the same message.
        vec![
            TextLimit::code_points(Visibility::Private, TEXT_MAX_CHARS),
            TextLimit::code_points(Visibility::Public, TEXT_MAX_CHARS),
        ]
    }
}

#[cfg(test)]
mod tests;
