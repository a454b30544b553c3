//! Switchboard connector for an Instagram professional account: direct messages (text,
//! attachments of every kind, story replies and story mentions, reactions, unsends,
//! echoes, postbacks, read receipts), comments and live comments on the account's media,
//! @mentions of the account, public replies, private replies to comments, direct
//! messages with files (by the host's public link), hiding and deleting comments.
//!
//! Two API flavours share this connector and its webhooks (`"object":"instagram"`):
//! Instagram Login (the default, `https://graph.instagram.com/v21.0` with the account's
//! Instagram user token) and Facebook Login (`graph_base_url =
//! "https://graph.facebook.com/v21.0"` with the linked page's token). Every call it makes
//! works on both: `/{ig_user_id}/messages`, `/{comment-id}/replies`, `/{media-id}/comments`,
//! `/{comment-id}`.
//!
//! Threads: a DM conversation is `igsid:<IGSID>` (the customer's Instagram-scoped id), so
//! it never collides with a media id; comments are threaded under their media id. The
//! webhook handshake, signatures, Graph errors and the shared settings are
//! [`switchboard_sdk::meta`]'s ([`META`]).
//!
//! Key-value store: `sent/<idempotency key>` (sends done), `private_reply/<comment id>`
//! (private replies done), `profile/<igsid>` (the customer's name and username),
//! `mention/<media id>` (media that mention the account: a public reply there goes
//! through `/{ig_user_id}/mentions`).
#![warn(missing_docs)]

mod comments;
mod dm;
mod send;
mod webhook;

use switchboard_sdk::IdempotencyKey;
use switchboard_sdk::{
    Account, Capability, ConfigKey, Connector, ConnectorError, Description, FileLimit, HttpRequest,
    MediaUpload, Outbound, OutboundFile, ReplyWindow, Sent, TextLimit, Visibility, WebhookOutcome,
    config, meta,
};

/// Default Graph API base URL: the Instagram Login flavour.
pub const DEFAULT_GRAPH_BASE_URL: &str = "https://graph.instagram.com/v21.0";
/// Longest DM (and private reply) Instagram accepts, in characters.
pub const DM_MAX_CHARS: u32 = 1000;
/// Longest comment Instagram accepts, in characters.
pub const COMMENT_MAX_CHARS: u32 = 2200;

const MB: u64 = 1024 * 1024;

/// What a direct message takes, from Meta's Instagram messaging references ("Send a
/// Message" and "Upload Media for Instagram Messaging"): images (PNG, JPEG) up to 8 MB;
/// video (MP4, OGG, AVI, MOV, WebM) and audio (AAC, M4A, WAV, MP4) up to 25 MB; documents
/// as PDF up to 25 MB. Comments and private replies take none.
fn dm_file_limits() -> Vec<FileLimit> {
    let private = Visibility::Private;
    vec![
        FileLimit::new(private, "image", 8 * MB, &["image/png", "image/jpeg"]),
        FileLimit::new(
            private,
            "video",
            25 * MB,
            &[
                "video/mp4",
                "video/ogg",
                "video/x-msvideo",
                "video/avi",
                "video/quicktime",
                "video/webm",
            ],
        ),
        FileLimit::new(
            private,
            "audio",
            25 * MB,
            &[
                "audio/aac",
                "audio/mp4",
                "audio/m4a",
                "audio/x-m4a",
                "audio/wav",
                "audio/x-wav",
                "audio/wave",
            ],
        ),
        FileLimit::new(private, "file", 25 * MB, &["application/pdf"]),
    ]
}

/// What this connector shares with the other Meta platforms: webhooks of
/// `object: instagram`, its Graph API and the keys `graph_base_url`, `verify_token`,
/// `app_secret` and `access_token`.
pub const META: meta::Platform =
    meta::Platform::new("instagram", "instagram", DEFAULT_GRAPH_BASE_URL)
        .access_token(
            "Instagram user access token of the professional account (Instagram Login); with Facebook Login, the access token of the Facebook page linked to the account.",
            "Access token",
            "Meta for Developers → your app → Instagram → API setup with Instagram business login → Generate access tokens → Generate token next to the account → log in to Instagram → copy the token. (Facebook Login: Messenger API Settings → Generate access tokens → the linked page.)",
        )
        .webhook_console("Instagram → API setup with Instagram business login → Configure webhooks");

/// The Instagram connector. Settings are read on every call.
#[derive(Debug, Default)]
pub struct Instagram;

switchboard_sdk::export_connector!(Instagram);

/// The channel's settings.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Settings {
    /// The account's Instagram id (webhooks' `entry[].id`, DM recipient).
    pub ig_user_id: String,
    /// `graph_base_url` and the secrets, read as every Meta connector reads them.
    pub meta: meta::Settings,
}

impl Settings {
    pub(crate) fn load() -> Result<Settings, ConnectorError> {
        let ig_user_id = config::require("ig_user_id")?.trim().to_string();
        if !ig_user_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ConnectorError::InvalidConfig(format!(
                "setting `ig_user_id` must be the account's numeric Instagram id, got `{ig_user_id}`"
            )));
        }
        Ok(Settings {
            ig_user_id,
            meta: META.load()?,
        })
    }

    pub(crate) fn graph(&self) -> meta::Graph {
        self.meta.graph()
    }
}

/// The keys: `ig_user_id`, then the shared Meta keys with Instagram's words (the shared
/// `graph_base_url` and `app_secret` texts speak of Facebook's console; `meta` has no
/// per-platform override for them, so they are adjusted here).
fn config_keys() -> Vec<ConfigKey> {
    let mut keys = vec![
        ConfigKey::setting(
            "ig_user_id",
            "The Instagram id of the professional account this channel answers for (the `entry[].id` of its webhooks).",
        )
        .required()
        .label("Instagram user ID")
        .where_to_find(
            "Meta for Developers → your app → Instagram → API setup with Instagram business login → Generate access tokens: the ID under the account's name (or the `id` of GET /me with its token). Facebook Login: GET /{page-id}?fields=instagram_business_account.",
        ),
    ];
    for mut key in META.config_keys() {
        match key.name.as_str() {
            "graph_base_url" => {
                key.description = "Base URL of the Graph API, with its version. The default is the Instagram Login flavour (graph.instagram.com, the account's Instagram user token); for the Facebook Login flavour set https://graph.facebook.com/v21.0 and use the linked page's access token.".into();
                key.where_to_find = Some("Leave the default for Instagram Login; https://graph.facebook.com/v21.0 for Facebook Login; an emulator's address for tests.".into());
            }
            "app_secret" => {
                key.where_to_find = Some("Meta for Developers → your app → Instagram → API setup with Instagram business login → Instagram app secret → Show (Facebook Login flavour: App settings → Basic → App secret).".into());
            }
            _ => {}
        }
        keys.push(key);
    }
    keys
}

impl Connector for Instagram {
    fn describe(&self) -> Description {
        Description {
            platform: "instagram".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            capabilities: vec![
                Capability::Webhook,
                Capability::ReplyPublic,
                Capability::ReplyPrivate,
                Capability::Delete,
                Capability::Hide,
            ],
            config_keys: config_keys(),
            // Both Graph flavours, and the CDNs attachments are on (the host downloads them).
            hosts: [
                vec![META.graph_host(), "https://graph.facebook.com".into()],
                meta::media_hosts(),
            ]
            .concat(),
        }
    }

    fn configure(&mut self) -> Result<(), ConnectorError> {
        Settings::load()?.meta.warn_if_incomplete();
        Ok(())
    }

    fn check_credentials(&mut self) -> Result<Account, ConnectorError> {
        send::check_credentials(&Settings::load()?)
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
        send::send(&Settings::load()?, &msg, &idempotency_key)
    }

    fn reply_window(
        &mut self,
        visibility: Visibility,
        last_customer_at: Option<i64>,
        now: i64,
    ) -> ReplyWindow {
        send::reply_window(visibility, last_customer_at, now)
    }

    fn reply_limits(&mut self) -> Vec<TextLimit> {
        vec![
            TextLimit::code_points(Visibility::Private, DM_MAX_CHARS),
            TextLimit::code_points(Visibility::Public, COMMENT_MAX_CHARS),
        ]
    }

    /// Attachment URLs (`lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=..&signature=..`,
    /// `*.cdninstagram.com`) are signed and need no token: the SDK's default (a plain `GET`)
    /// downloads them, and the token never goes to a CDN. They expire, so the host fetches
    /// them when it stores the message.
    ///
    /// Instagram takes an agent's file by URL only: no upload, `send` gives Instagram the
    /// host's public link (`OutboundFile::link`). Comments and private replies take no file.
    fn upload_media(
        &mut self,
        _file: OutboundFile,
        message: Outbound,
    ) -> Result<Option<MediaUpload>, ConnectorError> {
        match (message.visibility, dm::igsid_of(&message.thread_id)) {
            (Visibility::Private, Some(_)) => Ok(None),
            _ => Err(send::no_files_here(&message)),
        }
    }

    fn file_limits(&mut self) -> Vec<FileLimit> {
        dm_file_limits()
    }

    fn delete(&mut self, id: String) -> Result<(), ConnectorError> {
        send::delete(&Settings::load()?, &id)
    }

    fn hide(&mut self, id: String) -> Result<(), ConnectorError> {
        send::hide(&Settings::load()?, &id)
    }
}

#[cfg(test)]
mod tests;
