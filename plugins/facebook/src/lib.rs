//! Switchboard connector for a Facebook page: its feed (posts, comments and replies to
//! comments, their edits and removals; public replies, hiding and deleting comments) and
//! its Messenger conversations (messages with every kind of attachment, reactions,
//! postbacks, edits, echoes, ad referrals; replies with files inside Meta's 24-hour /
//! 7-day windows; private replies to comments). Messenger threads are `psid:<PSID>`; see
//! [`messenger`] for the windows and the private-reply link, [`media`] for files both ways.
//!
//! Settings (`[channels.settings]`): `page_id` (required), `graph_base_url`
//! (default `https://graph.facebook.com/v19.0`), `post_limit` (default 100); secrets:
//! `verify_token` and `app_secret` (needed for webhooks), `access_token` (sent to the
//! Graph API when set, as `Authorization: Bearer`, never in a URL). The keys, webhooks
//! and Graph errors it shares with the other Meta platforms are
//! [`switchboard_sdk::meta`]'s ([`META`]).
//!
//! Poll cursors are the largest `created_time` seen so far, in unix milliseconds, as
//! a decimal string. A poll returns everything created at or after the cursor, so
//! consecutive polls overlap; the host stores each platform message id once. The feed's
//! pages are followed while they hold new posts; a poll that could not read them all
//! keeps the time and says where to continue ([`feed_cursor`]).
#![warn(missing_docs)]

mod feed_cursor;
mod graph;
mod media;
mod messenger;
mod model;
mod webhook;

use switchboard_sdk::IdempotencyKey;
use switchboard_sdk::{
    Account, Capability, ConfigKey, Connector, ConnectorError, Description, FileLimit, HttpRequest,
    MediaUpload, Outbound, OutboundFile, PollResult, ReplyWindow, Sent, TextLimit, Visibility,
    WebhookOutcome, config, kv, meta,
};

/// Graph API: a page comment takes up to 8,000 characters.
const COMMENT_MAX_CHARS: u32 = 8000;
/// Send API: a Messenger message (and a private reply to a comment) up to 2,000.
const MESSENGER_MAX_CHARS: u32 = 2000;

/// Default Graph API base URL.
pub const DEFAULT_GRAPH_BASE_URL: &str = "https://graph.facebook.com/v19.0";
/// Default number of posts fetched per poll.
pub const DEFAULT_POST_LIMIT: u32 = 100;

/// The Facebook page connector. Settings are read from the host on every call, so a
/// changed setting applies at once.
#[derive(Debug, Default)]
pub struct Facebook;

switchboard_sdk::export_connector!(Facebook);

/// What the page connector shares with the other Meta platforms: its webhooks
/// (`object: page`), its Graph API and the keys `graph_base_url`, `verify_token`,
/// `app_secret` and `access_token` (a page token).
pub const META: meta::Platform = meta::Platform::new("facebook", "page", DEFAULT_GRAPH_BASE_URL)
    .access_token(
        "Page access token for the Graph API.",
        "Page access token",
        "Meta for Developers → your app → Messenger API Settings → Generate access tokens → your page → Generate.",
    )
    .webhook_console("Webhooks → Page");

/// The channel settings this connector reads.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Settings {
    pub page_id: String,
    pub post_limit: u32,
    /// `graph_base_url` and the secrets, read as every Meta connector reads them.
    pub meta: meta::Settings,
}

impl Settings {
    pub(crate) fn load() -> Result<Settings, ConnectorError> {
        let page_id = config::require("page_id")?.trim().to_string();
        let meta = META.load()?;
        let post_limit = config::parse_or("post_limit", DEFAULT_POST_LIMIT)?;
        if post_limit == 0 {
            return Err(ConnectorError::InvalidConfig(
                "setting `post_limit` must be at least 1".into(),
            ));
        }
        Ok(Settings {
            page_id,
            post_limit,
            meta,
        })
    }

    /// The Graph API with this channel's base URL and page token.
    pub(crate) fn graph(&self) -> meta::Graph {
        self.meta.graph()
    }
}

impl Connector for Facebook {
    fn describe(&self) -> Description {
        Description {
            // The Graph API, and the CDNs its attachments are on (the host downloads them).
            hosts: [vec![META.graph_host()], meta::media_hosts()].concat(),
            platform: "facebook".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            capabilities: vec![
                Capability::Webhook,
                Capability::Poll,
                Capability::ReplyPublic,
                Capability::ReplyPrivate,
                Capability::Delete,
                Capability::Hide,
            ],
            config_keys: [
                vec![
                    ConfigKey::setting("page_id", "The Facebook page id this channel listens to.")
                        .required()
                        .label("Page ID")
                        .where_to_find("Your Facebook page → About → Page transparency → Page ID."),
                ],
                META.config_keys(),
                vec![
                    ConfigKey::setting("post_limit", "Posts fetched per poll.")
                        .with_default("100")
                        .label("Posts per poll"),
                ],
            ]
            .concat(),
        }
    }

    fn configure(&mut self) -> Result<(), ConnectorError> {
        Settings::load()?.meta.warn_if_incomplete();
        Ok(())
    }

    /// `GET /me` with the page access token: a page token answers with its own page,
    /// which must be the configured `page_id` (`GET /{page_id}` would not tell: any valid
    /// token reads a published page).
    fn check_credentials(&mut self) -> Result<Account, ConnectorError> {
        let settings = Settings::load()?;
        graph::check_credentials(&settings)
    }

    fn poll(&mut self, cursor: Option<String>, limit: u32) -> Result<PollResult, ConnectorError> {
        let settings = Settings::load()?;
        graph::poll(&settings, cursor, limit)
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
        match (msg.visibility, messenger::psid_of(&msg.thread_id)) {
            (Visibility::Private, Some(psid)) => {
                messenger::send_message(&settings, psid, &msg, &idempotency_key)
            }
            (Visibility::Public, Some(_)) => Err(ConnectorError::Rejected(
                "a Messenger conversation is private: reply with private visibility".into(),
            )),
            (Visibility::Public, None) => graph::reply_public(&settings, &msg, &idempotency_key),
            (Visibility::Private, None) => {
                messenger::private_reply(&settings, &msg, &idempotency_key)
            }
        }
    }

    /// Public replies are looked up under the post or comment they answer; for Messenger
    /// the Send API has no lookup, so only a send remembered after the platform took it
    /// answers (else: cannot tell).
    fn find_sent(
        &mut self,
        msg: Outbound,
        idempotency_key: IdempotencyKey,
        attempted_at: i64,
    ) -> Result<Option<Sent>, ConnectorError> {
        let settings = Settings::load()?;
        if let Some(id) = kv::sent_before(&idempotency_key) {
            return Ok(Some(Sent {
                platform_message_id: id,
            }));
        }
        match (msg.visibility, messenger::psid_of(&msg.thread_id)) {
            (Visibility::Public, None) => graph::find_public_reply(&settings, &msg, attempted_at),
            _ => Err(ConnectorError::Unsupported(
                "Messenger cannot tell whether a message was sent".into(),
            )),
        }
    }

    fn reply_window(
        &mut self,
        visibility: Visibility,
        last_customer_at: Option<i64>,
        now: i64,
    ) -> ReplyWindow {
        messenger::reply_window(visibility, last_customer_at, now)
    }

    fn reply_limits(&mut self) -> Vec<TextLimit> {
        vec![
            TextLimit::code_points(Visibility::Public, COMMENT_MAX_CHARS),
            TextLimit::code_points(Visibility::Private, MESSENGER_MAX_CHARS),
        ]
    }

    /// Messenger's attachments are signed CDN links that need no token: the SDK's default
    /// (a plain `GET` of the URL) downloads them, and the page token never goes to a CDN.
    /// They expire, so the host fetches them when it stores the message.
    ///
    /// A file for Messenger is uploaded first (the Attachment Upload API); a photo in a
    /// public comment goes by the host's link (see [`media`]).
    fn upload_media(
        &mut self,
        file: OutboundFile,
        message: Outbound,
    ) -> Result<Option<MediaUpload>, ConnectorError> {
        media::upload_media(&Settings::load()?, &file, &message)
    }

    fn file_limits(&mut self) -> Vec<FileLimit> {
        media::file_limits()
    }

    fn delete(&mut self, id: String) -> Result<(), ConnectorError> {
        let settings = Settings::load()?;
        graph::delete(&settings, &id)
    }

    fn hide(&mut self, id: String) -> Result<(), ConnectorError> {
        let settings = Settings::load()?;
        graph::hide(&settings, &id)
    }
}

#[cfg(test)]
mod tests;
