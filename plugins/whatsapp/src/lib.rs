//! Switchboard connector for the WhatsApp Business Cloud API: inbound messages of every
//! type, delivery statuses of our own sends, free-form replies inside the 24-hour customer
//! service window and approved templates after it.
//!
//! Settings (`[channels.settings]`): `phone_number_id` (required: only webhooks for this
//! business number are read, and replies are sent from it), `graph_base_url` (default
//! `https://graph.facebook.com/v19.0`), and the optional business profile
//! `profile_about`, `profile_address`, `profile_description`, `profile_email`,
//! `profile_vertical`, `profile_websites` (comma-separated, at most 2), checked against
//! WhatsApp's limits by `configure`. Secrets: `verify_token` and `app_secret` (webhooks),
//! `access_token` (sent as `Authorization: Bearer` to the Graph API). The keys, webhooks
//! and Graph errors it shares with the other Meta platforms are
//! [`switchboard_sdk::meta`]'s ([`META`]).
//!
//! Conversations: one thread per customer, its id the customer's `wa_id` (or the
//! business-scoped `user_id` when a newer payload carries no `wa_id`). Media arrive as ids
//! only; an attachment's `url` is `whatsapp-media:<media id>` (fetch it through
//! `GET /{media-id}` with the access token). Locations carry `geo:<lat>,<long>`.
#![warn(missing_docs)]

mod graph;
mod profile;
mod webhook;

use switchboard_sdk::{
    Account, Capability, ConfigKey, Connector, ConnectorError, Description, HttpRequest, Outbound,
    ReplyWindow, Sent, TextLimit, Visibility, WebhookOutcome, config, meta,
};

/// Cloud API: a text message body takes up to 4,096 characters.
const TEXT_MAX_CHARS: u32 = 4096;

/// Default Graph API base URL.
pub const DEFAULT_GRAPH_BASE_URL: &str = "https://graph.facebook.com/v19.0";
/// The customer service window: free-form messages are allowed this long after the
/// customer's last message.
pub const WINDOW_MS: i64 = 24 * 60 * 60 * 1000;
/// Scheme of an attachment URL that names a WhatsApp media id.
pub const MEDIA_URL_PREFIX: &str = "whatsapp-media:";

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
    /// `graph_base_url` and the secrets, read as every Meta connector reads them.
    pub meta: meta::Settings,
}

impl Settings {
    pub(crate) fn load() -> Result<Settings, ConnectorError> {
        let phone_number_id = config::require("phone_number_id")?.trim().to_string();
        let meta = META.load()?;
        Ok(Settings {
            phone_number_id,
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
            hosts: vec![META.graph_host()],
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

    fn send(&mut self, msg: Outbound, idempotency_key: String) -> Result<Sent, ConnectorError> {
        let settings = Settings::load()?;
        graph::send(&settings, &msg, &idempotency_key)
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
