//! The Switchboard connector SDK.
//!
//! A connector plugin teaches Switchboard one platform's wire format. It is a
//! WebAssembly component (target `wasm32-wasip2`) that implements the
//! `switchboard:connector@0.2.0` world (`sdk/wit/since_v0.2.0/connector.wit`; the
//! released `0.1.0` is frozen beside it, and the host loads plugins of both). The
//! component this crate builds says which version it was built for (see
//! [`CONTRACT_VERSION`]). This crate hides the
//! generated bindings: a plugin implements the [`Connector`] trait, registers its type
//! with [`export_connector!`], and reaches the host through ordinary Rust functions:
//! [`http`], [`clock`], [`log`], [`kv`] and [`config`]. [`webhook`] reads requests and
//! checks signatures; [`meta`] holds, once, what the connectors of Meta's platforms share
//! (signed webhooks and the handshake, Graph errors, the common settings); [`lenient`]
//! reads platform JSON item by item, so that one odd item never loses a whole batch.
//!
//! On native targets the same functions talk to [`testing::MockHost`], a thread-local
//! stand-in for the host, so a connector is unit-tested with a plain `cargo test`.
//!
//! # Example
//!
//! ```
//! use switchboard_sdk::{
//!     config, Author, Capability, Connector, ConnectorError, Description, Event,
//!     HttpRequest, HttpResponse, Message, Visibility, WebhookOutcome,
//! };
//!
//! #[derive(Default)]
//! struct Echo;
//!
//! impl Connector for Echo {
//!     fn describe(&self) -> Description {
//!         Description {
//!             platform: "echo".into(),
//!             version: "0.1.0".into(),
//!             capabilities: vec![Capability::Webhook],
//!             config_keys: vec![],
//!             hosts: vec![],
//!         }
//!     }
//!
//!     fn handle_webhook(&mut self, req: HttpRequest) -> Result<WebhookOutcome, ConnectorError> {
//!         let text = String::from_utf8_lossy(&req.body).into_owned();
//!         let event = Event::Message(Message {
//!             platform_message_id: "m1".into(),
//!             thread_id: "t1".into(),
//!             parent_id: None,
//!             visibility: Visibility::Public,
//!             author: Author::new("u1", "Ann"),
//!             text,
//!             attachments: vec![],
//!             created_at: switchboard_sdk::clock::now_millis(),
//!             language: None,
//!             from_business: false,
//!             metadata: vec![],
//!         });
//!         Ok(WebhookOutcome::new(HttpResponse::text(200, "ok"), vec![event]))
//!     }
//! }
//!
//! switchboard_sdk::export_connector!(Echo);
//!
//! // Natively, the host is a mock:
//! let _host = switchboard_sdk::testing::MockHost::new();
//! let outcome = Echo
//!     .handle_webhook(HttpRequest::new("POST", "/hook").with_body("hello"))
//!     .unwrap();
//! assert_eq!(outcome.response.status, 200);
//! assert_eq!(outcome.events.len(), 1);
//! ```
//!
//! Make a connector crate with `switchboard plugin new NAME`, build any connector crate
//! (in this repository or not) with `switchboard plugin build PATH`, and run saved
//! payloads through the component with `switchboard plugin test`: `docs/sdk/README.md`
//! is the guide.
#![warn(missing_docs)]

pub mod http;
mod ids;
pub mod lenient;
pub mod meta;
pub mod time;
mod types_ext;
pub mod webhook;

#[cfg(not(target_arch = "wasm32"))]
pub mod testing;

pub use __private::bindings::switchboard::connector::types::{
    Account, Attachment, Author, AuthorErased, Capability, Cipher, ConfigKey, ConnectorError,
    Deleted, DeliveryState, DeliveryStatus, Description, Edited, Event, FileKey, FileLimit,
    HttpRequest, HttpResponse, ListItem, MediaDownload, MediaUpload, Message, Outbound,
    OutboundFile, PollResult, ReplyWindow, Sent, SourceStatus, Template, TemplateInfo,
    TextCounting, TextLimit, Visibility, WebhookOutcome,
};
pub use http::HttpError;
pub use ids::IdempotencyKey;

/// The version of the `switchboard:connector` contract this SDK implements.
pub const CONTRACT_VERSION: &str = "0.2.0";

/// The contract version, stamped into every component built with this crate as the
/// custom section `switchboard:contract-version`, which the host reads before compiling
/// a plugin (as Zed's extension API does). A component without it is a `0.1.0` one.
#[cfg(target_arch = "wasm32")]
#[unsafe(link_section = "switchboard:contract-version")]
#[doc(hidden)]
#[used]
pub static __SWITCHBOARD_CONTRACT_VERSION: [u8; 5] = *b"0.2.0";
pub use log::Level;

/// A connector plugin: one platform's wire format translated to Switchboard events.
///
/// Only [`describe`](Connector::describe) is required. The other calls default to
/// `Ok(())` ([`configure`](Connector::configure)) or to
/// [`ConnectorError::Unsupported`]. The host creates one value per plugin instance
/// (with [`Default`], see [`export_connector!`]) and calls its methods one at a time.
pub trait Connector: 'static {
    /// What this connector is, what it can do and which settings it reads.
    fn describe(&self) -> Description;

    /// Checks the channel's settings, read through [`config`]. Called after the plugin
    /// is loaded for a channel and again when its settings change.
    fn configure(&mut self) -> Result<(), ConnectorError> {
        Ok(())
    }

    /// Checks the channel's credentials against the platform with one read that needs
    /// them (the page, the phone number or the user a token belongs to), after
    /// [`configure`](Connector::configure); the admin desktop's Test button calls it.
    /// Never change anything on the platform here. Answer
    /// [`ConnectorError::Unauthorized`] when the platform refuses the credentials and
    /// [`ConnectorError::InvalidConfig`] when they work for another account than the
    /// settings name. The default: [`ConnectorError::Unsupported`].
    fn check_credentials(&mut self) -> Result<Account, ConnectorError> {
        Err(ConnectorError::Unsupported(
            "this connector cannot check its credentials".into(),
        ))
    }

    /// Fetches events created since `cursor` (an opaque string this connector returned
    /// earlier as `next_cursor`; `None` on the first poll), at most about `limit`.
    ///
    /// A connector with several sources (a search, mentions, direct messages) keeps each
    /// one's place in the cursor, lets each fail on its own (a source's error must not
    /// throw away the others' events) and says how each fared with
    /// [`PollResult::with_sources`]; the host shows them in the channel's status. The
    /// host saves `next_cursor` only after the events are stored.
    fn poll(&mut self, cursor: Option<String>, limit: u32) -> Result<PollResult, ConnectorError> {
        let _ = (cursor, limit);
        Err(ConnectorError::Unsupported(
            "this connector does not poll".into(),
        ))
    }

    /// Handles one request the platform sent to the channel's webhook URL.
    fn handle_webhook(&mut self, req: HttpRequest) -> Result<WebhookOutcome, ConnectorError> {
        let _ = req;
        Err(ConnectorError::Unsupported(
            "this connector does not receive webhooks".into(),
        ))
    }

    /// Sends a reply. A retry of the same reply carries the same `idempotency_key`.
    fn send(
        &mut self,
        msg: Outbound,
        idempotency_key: IdempotencyKey,
    ) -> Result<Sent, ConnectorError> {
        let _ = (msg, idempotency_key);
        Err(ConnectorError::Unsupported(
            "this connector does not send messages".into(),
        ))
    }

    /// Whether a reply whose [`send`](Connector::send) may or may not have reached the
    /// platform (the plugin trapped or ran out of time during it, its answer was lost, the
    /// host crashed) exists there: `Ok(Some(sent))` it was posted, `Ok(None)` the platform
    /// says it is not there (the host may send it again), an error when this connector
    /// cannot tell (the host shows the reply as delivery unknown and the agent decides).
    /// Look for the business's own message with `msg.text` in `msg`'s conversation,
    /// created at or after `attempted_at` (unix ms; allow for clock skew). Read only: never
    /// change anything on the platform here.
    ///
    /// The default answers from [`kv::sent_before`] (a send this connector remembered
    /// with [`kv::remember_sent`]) and otherwise cannot tell
    /// ([`ConnectorError::Unsupported`]).
    fn find_sent(
        &mut self,
        msg: Outbound,
        idempotency_key: IdempotencyKey,
        attempted_at: i64,
    ) -> Result<Option<Sent>, ConnectorError> {
        let _ = (msg, attempted_at);
        match kv::sent_before(&idempotency_key) {
            Some(id) => Ok(Some(Sent {
                platform_message_id: id,
            })),
            None => Err(ConnectorError::Unsupported(
                "this connector cannot tell whether a message was sent".into(),
            )),
        }
    }

    /// The request to hold open for a stream of line-delimited events, when this
    /// channel streams (see the WIT `stream-open`). The default: no stream.
    fn stream_open(&mut self) -> Result<Option<HttpRequest>, ConnectorError> {
        Ok(None)
    }

    /// The events in lines received on the stream (keep-alives are not passed).
    fn stream_lines(&mut self, lines: Vec<String>) -> Result<Vec<Event>, ConnectorError> {
        let _ = lines;
        Ok(Vec::new())
    }

    /// What may be sent now in a conversation whose customer last wrote at
    /// `last_customer_at` (unix ms). The default: anything, at any time.
    fn reply_window(
        &mut self,
        visibility: Visibility,
        last_customer_at: Option<i64>,
        now: i64,
    ) -> ReplyWindow {
        let _ = (visibility, last_customer_at, now);
        ReplyWindow::open()
    }

    /// The longest text the platform takes, per kind of reply (the host refuses longer
    /// replies before sending, and the desktop counts as the agent types). The default:
    /// none known.
    fn reply_limits(&mut self) -> Vec<TextLimit> {
        Vec::new()
    }

    /// The request that downloads `attachment`'s bytes, with the platform's
    /// authentication; the host makes it and streams the answer to storage. A connector
    /// may first make small calls with [`http::fetch`] (WhatsApp turns a media id into a
    /// URL). `Ok(None)`: nothing to download (a location, a contact card). An
    /// [`HttpRequest`] converts with `.into()`; a platform that keeps files encrypted
    /// adds the key ([`MediaDownload::decrypted_with`]) and the host decrypts.
    ///
    /// The default: a plain `GET` of [`Attachment::url`] (a platform whose media URLs need
    /// no credentials, such as Messenger's signed CDN links), and nothing without one.
    fn media_request(
        &mut self,
        attachment: Attachment,
    ) -> Result<Option<MediaDownload>, ConnectorError> {
        Ok(attachment
            .url
            .map(|url| HttpRequest::new("GET", url).into()))
    }

    /// The upload that gives the platform an agent's file before [`send`](Connector::send)
    /// (see [`MediaUpload`]), or `Ok(None)` when the platform takes the file by
    /// [`OutboundFile::link`]. The host passes the platform's answer to `send` in
    /// [`OutboundFile::upload`]. The default: no upload.
    fn upload_media(
        &mut self,
        file: OutboundFile,
        message: Outbound,
    ) -> Result<Option<MediaUpload>, ConnectorError> {
        let _ = (file, message);
        Ok(None)
    }

    /// The files the platform takes per kind of reply; the host refuses others before
    /// sending. The default: none (this connector sends no files).
    fn file_limits(&mut self) -> Vec<FileLimit> {
        Vec::new()
    }

    /// The message templates of the channel's business account, as the platform lists
    /// them now. The default: [`ConnectorError::Unsupported`].
    fn list_templates(&mut self) -> Result<Vec<TemplateInfo>, ConnectorError> {
        Err(ConnectorError::Unsupported(
            "this platform has no message templates".into(),
        ))
    }

    /// Deletes a message on the platform.
    fn delete(&mut self, id: String) -> Result<(), ConnectorError> {
        let _ = id;
        Err(ConnectorError::Unsupported(
            "this connector does not delete messages".into(),
        ))
    }

    /// Hides a message from the public on the platform.
    fn hide(&mut self, id: String) -> Result<(), ConnectorError> {
        let _ = id;
        Err(ConnectorError::Unsupported(
            "this connector does not hide messages".into(),
        ))
    }
}

/// Makes this crate a Switchboard connector component exporting `$connector`.
///
/// `$connector` must implement [`Connector`] and [`Default`]; the value is created on
/// the first call the host makes into the instance. Invoke the macro once, at the top
/// level of the plugin crate (a `cdylib`). On native targets it only checks the type,
/// so the crate still builds and unit-tests natively.
///
/// ```
/// # use switchboard_sdk::{Connector, Description};
/// #[derive(Default)]
/// struct Mine;
/// impl Connector for Mine {
///     fn describe(&self) -> Description {
///         Description {
///             platform: "mine".into(),
///             version: "0.1.0".into(),
///             capabilities: vec![],
///             config_keys: vec![],
///             hosts: vec![],
///         }
///     }
/// }
/// switchboard_sdk::export_connector!(Mine);
/// ```
#[macro_export]
macro_rules! export_connector {
    ($connector:ty) => {
        const _: () = {
            fn __switchboard_assert_connector<T: $crate::Connector + ::core::default::Default>() {}
            let _ = __switchboard_assert_connector::<$connector>;
        };
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            type __SwitchboardComponent = $crate::__private::Component<$connector>;
            $crate::__private::bindings::__export_connector_world!(
                __SwitchboardComponent with_types_in $crate::__private::bindings
            );
        };
    };
}

/// Implementation details used by [`export_connector!`]. Not a stable API.
#[doc(hidden)]
#[allow(missing_docs)]
pub mod __private {
    use std::cell::RefCell;
    use std::marker::PhantomData;

    use crate::IdempotencyKey;
    use crate::{
        Account, Attachment, Connector, ConnectorError, Description, Event, FileLimit, HttpRequest,
        MediaDownload, MediaUpload, Outbound, OutboundFile, PollResult, ReplyWindow, Sent,
        TemplateInfo, TextLimit, Visibility, WebhookOutcome,
    };

    #[allow(missing_docs, clippy::all)]
    pub mod bindings {
        wit_bindgen::generate!({
            path: "wit/since_v0.2.0",
            world: "connector",
            additional_derives: [PartialEq],
            pub_export_macro: true,
            export_macro_name: "__export_connector_world",
            default_bindings_module: "switchboard_sdk::__private::bindings",
        });
    }

    thread_local! {
        static INSTANCE: RefCell<Option<Box<dyn Connector>>> = const { RefCell::new(None) };
    }

    /// Runs `f` on this instance's connector, creating it with `T::default()` first.
    fn with_connector<T: Connector + Default, R>(f: impl FnOnce(&mut dyn Connector) -> R) -> R {
        INSTANCE.with(|cell| {
            let mut slot = cell.borrow_mut();
            let connector = slot.get_or_insert_with(|| Box::new(T::default()));
            f(connector.as_mut())
        })
    }

    /// The exported component: forwards every export to the connector of type `T`.
    pub struct Component<T>(PhantomData<T>);

    impl<T: Connector + Default> bindings::Guest for Component<T> {
        fn describe() -> Description {
            with_connector::<T, _>(|c| c.describe())
        }

        fn configure() -> Result<(), ConnectorError> {
            with_connector::<T, _>(|c| c.configure())
        }

        fn check_credentials() -> Result<Account, ConnectorError> {
            with_connector::<T, _>(|c| c.check_credentials())
        }

        fn poll(cursor: Option<String>, limit: u32) -> Result<PollResult, ConnectorError> {
            with_connector::<T, _>(|c| c.poll(cursor, limit))
        }

        fn handle_webhook(request: HttpRequest) -> Result<WebhookOutcome, ConnectorError> {
            with_connector::<T, _>(|c| c.handle_webhook(request))
        }

        fn send(message: Outbound, idempotency_key: String) -> Result<Sent, ConnectorError> {
            with_connector::<T, _>(|c| c.send(message, IdempotencyKey::new(idempotency_key)))
        }

        fn find_sent(
            message: Outbound,
            idempotency_key: String,
            attempted_at: i64,
        ) -> Result<Option<Sent>, ConnectorError> {
            with_connector::<T, _>(|c| {
                c.find_sent(message, IdempotencyKey::new(idempotency_key), attempted_at)
            })
        }

        fn stream_open() -> Result<Option<HttpRequest>, ConnectorError> {
            with_connector::<T, _>(|c| c.stream_open())
        }

        fn stream_lines(lines: Vec<String>) -> Result<Vec<Event>, ConnectorError> {
            with_connector::<T, _>(|c| c.stream_lines(lines))
        }

        fn reply_window(
            visibility: Visibility,
            last_customer_at: Option<i64>,
            now: i64,
        ) -> ReplyWindow {
            with_connector::<T, _>(|c| c.reply_window(visibility, last_customer_at, now))
        }

        fn reply_limits() -> Vec<TextLimit> {
            with_connector::<T, _>(|c| c.reply_limits())
        }

        fn media_request(attachment: Attachment) -> Result<Option<MediaDownload>, ConnectorError> {
            with_connector::<T, _>(|c| c.media_request(attachment))
        }

        fn upload_media(
            file: OutboundFile,
            message: Outbound,
        ) -> Result<Option<MediaUpload>, ConnectorError> {
            with_connector::<T, _>(|c| c.upload_media(file, message))
        }

        fn file_limits() -> Vec<FileLimit> {
            with_connector::<T, _>(|c| c.file_limits())
        }

        fn list_templates() -> Result<Vec<TemplateInfo>, ConnectorError> {
            with_connector::<T, _>(|c| c.list_templates())
        }

        fn delete(platform_message_id: String) -> Result<(), ConnectorError> {
            with_connector::<T, _>(|c| c.delete(platform_message_id))
        }

        fn hide(platform_message_id: String) -> Result<(), ConnectorError> {
            with_connector::<T, _>(|c| c.hide(platform_message_id))
        }
    }
}

#[cfg(target_arch = "wasm32")]
use __private::bindings::switchboard::connector as host;

/// Wall-clock time from the host.
pub mod clock {
    /// Milliseconds since the unix epoch (natively: [`MockHost`](crate::testing::MockHost)'s clock).
    pub fn now_millis() -> i64 {
        #[cfg(target_arch = "wasm32")]
        {
            crate::host::clock::now_millis()
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            crate::testing::backend::now_millis()
        }
    }
}

/// Logging into the host's log, tagged with the channel and plugin. Never log secrets.
pub mod log {
    pub use crate::__private::bindings::switchboard::connector::log::Level;

    /// Writes one log line at `level`.
    pub fn write(level: Level, message: impl AsRef<str>) {
        #[cfg(target_arch = "wasm32")]
        {
            crate::host::log::write(level, message.as_ref())
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            crate::testing::backend::log(level, message.as_ref())
        }
    }

    /// Writes a trace line.
    pub fn trace(message: impl AsRef<str>) {
        write(Level::Trace, message)
    }

    /// Writes a debug line.
    pub fn debug(message: impl AsRef<str>) {
        write(Level::Debug, message)
    }

    /// Writes an info line.
    pub fn info(message: impl AsRef<str>) {
        write(Level::Info, message)
    }

    /// Writes a warning.
    pub fn warn(message: impl AsRef<str>) {
        write(Level::Warn, message)
    }

    /// Writes an error line.
    pub fn error(message: impl AsRef<str>) {
        write(Level::Error, message)
    }
}

/// A small persistent key-value store private to this plugin and channel.
pub mod kv {
    use crate::IdempotencyKey;

    /// The value stored under `key`, if any.
    pub fn get(key: &str) -> Option<Vec<u8>> {
        #[cfg(target_arch = "wasm32")]
        {
            crate::host::kv::get(key)
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            crate::testing::backend::kv_get(key)
        }
    }

    /// The value stored under `key` as UTF-8 text (`None` if absent or not UTF-8).
    pub fn get_string(key: &str) -> Option<String> {
        get(key).and_then(|v| String::from_utf8(v).ok())
    }

    /// Stores `value` under `key`, replacing any previous value.
    pub fn set(key: &str, value: impl AsRef<[u8]>) {
        #[cfg(target_arch = "wasm32")]
        {
            crate::host::kv::set(key, value.as_ref())
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            crate::testing::backend::kv_set(key, value.as_ref())
        }
    }

    /// The platform id a send with this idempotency key already got (see
    /// [`remember_sent`]). Exactly once is the host's job: it records each attempt before
    /// calling `send` and never repeats one that may have reached the platform. This
    /// memory only helps answer [`Connector::find_sent`](crate::Connector::find_sent)
    /// (its default uses it) and a deliberate resend of the same reply, which keeps its
    /// key: it is written after the platform call, so a crash in between loses it. `None`
    /// for an empty key.
    pub fn sent_before(idempotency_key: &IdempotencyKey) -> Option<String> {
        (!idempotency_key.is_empty())
            .then(|| get_string(&format!("sent/{idempotency_key}")))
            .flatten()
    }

    /// Remembers that the send with this idempotency key became `platform_id`, right after
    /// the platform accepted it (see [`sent_before`]). Does nothing for an empty key.
    pub fn remember_sent(idempotency_key: &IdempotencyKey, platform_id: &str) {
        if !idempotency_key.is_empty() {
            set(&format!("sent/{idempotency_key}"), platform_id);
        }
    }

    /// Removes `key`.
    pub fn delete(key: &str) {
        #[cfg(target_arch = "wasm32")]
        {
            crate::host::kv::delete(key)
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            crate::testing::backend::kv_delete(key)
        }
    }
}

/// The channel's settings and secrets.
///
/// The helpers ([`get_or`](config::get_or), [`require`](config::require),
/// [`require_secret`](config::require_secret), [`parse_or`](config::parse_or)) treat
/// a value that is empty or only whitespace as not set.
pub mod config {
    use crate::ConnectorError;

    /// A plain setting of this channel, exactly as configured.
    pub fn get(key: &str) -> Option<String> {
        #[cfg(target_arch = "wasm32")]
        {
            crate::host::config::get(key)
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            crate::testing::backend::config_get(key)
        }
    }

    /// A secret of this channel (app secret, access token). Never log it.
    pub fn secret(key: &str) -> Option<String> {
        #[cfg(target_arch = "wasm32")]
        {
            crate::host::config::secret(key)
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            crate::testing::backend::config_secret(key)
        }
    }

    fn non_empty(value: Option<String>) -> Option<String> {
        value.filter(|v| !v.trim().is_empty())
    }

    /// The setting `key`, or `default` when it is not set.
    pub fn get_or(key: &str, default: &str) -> String {
        non_empty(get(key)).unwrap_or_else(|| default.to_string())
    }

    /// The setting `key`, or [`ConnectorError::InvalidConfig`] naming it when missing.
    pub fn require(key: &str) -> Result<String, ConnectorError> {
        non_empty(get(key))
            .ok_or_else(|| ConnectorError::InvalidConfig(format!("setting `{key}` is required")))
    }

    /// The secret `key`, or [`ConnectorError::InvalidConfig`] naming it when missing.
    pub fn require_secret(key: &str) -> Result<String, ConnectorError> {
        non_empty(secret(key))
            .ok_or_else(|| ConnectorError::InvalidConfig(format!("secret `{key}` is required")))
    }

    /// The setting `key` parsed as `T`, or `default` when not set; an unparsable value
    /// is [`ConnectorError::InvalidConfig`].
    pub fn parse_or<T: std::str::FromStr>(key: &str, default: T) -> Result<T, ConnectorError> {
        match non_empty(get(key)) {
            None => Ok(default),
            Some(raw) => raw.trim().parse().map_err(|_| {
                ConnectorError::InvalidConfig(format!(
                    "setting `{key}` has an invalid value `{raw}`"
                ))
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MockHost;

    #[derive(Default)]
    struct Minimal;

    impl Connector for Minimal {
        fn describe(&self) -> Description {
            Description {
                platform: "minimal".into(),
                version: "1".into(),
                capabilities: vec![Capability::Poll],
                config_keys: vec![],
                hosts: vec![],
            }
        }
    }

    export_connector!(Minimal);

    #[test]
    fn defaults_are_unsupported_except_configure() {
        let mut c = Minimal;
        assert_eq!(c.configure(), Ok(()));
        assert!(matches!(
            c.poll(None, 10),
            Err(ConnectorError::Unsupported(_))
        ));
        assert!(matches!(
            c.handle_webhook(HttpRequest::new("GET", "/")),
            Err(ConnectorError::Unsupported(_))
        ));
        let out = Outbound::text("t", Visibility::Public, "hi");
        assert_eq!(
            c.reply_window(Visibility::Private, Some(0), 1),
            ReplyWindow::open(),
            "by default anything may be sent at any time"
        );
        assert!(matches!(
            c.send(out, "k".into()),
            Err(ConnectorError::Unsupported(_))
        ));
        assert!(matches!(
            c.delete("x".into()),
            Err(ConnectorError::Unsupported(_))
        ));
        assert!(matches!(
            c.hide("x".into()),
            Err(ConnectorError::Unsupported(_))
        ));
    }

    #[test]
    fn component_forwards_to_one_lazily_created_connector() {
        use crate::__private::{Component, bindings::Guest};

        #[derive(Default)]
        struct Counter(u32);
        impl Connector for Counter {
            fn describe(&self) -> Description {
                Description {
                    platform: "counter".into(),
                    version: self.0.to_string(),
                    capabilities: vec![],
                    config_keys: vec![],
                    hosts: vec![],
                }
            }
            fn configure(&mut self) -> Result<(), ConnectorError> {
                self.0 += 1;
                Ok(())
            }
        }
        assert_eq!(<Component<Counter> as Guest>::describe().version, "0");
        <Component<Counter> as Guest>::configure().unwrap();
        <Component<Counter> as Guest>::configure().unwrap();
        assert_eq!(<Component<Counter> as Guest>::describe().version, "2");
    }

    #[test]
    fn config_helpers() {
        let host = MockHost::new();
        host.set_config("limit", "42")
            .set_config("blank", "  ")
            .set_config("bad", "x")
            .set_secret("token", "s3cret");
        assert_eq!(config::get("limit").as_deref(), Some("42"));
        assert_eq!(config::get("token"), None);
        assert_eq!(config::secret("token").as_deref(), Some("s3cret"));
        assert_eq!(config::get_or("blank", "dflt"), "dflt");
        assert_eq!(config::get_or("missing", "dflt"), "dflt");
        assert_eq!(config::parse_or::<u32>("limit", 7), Ok(42));
        assert_eq!(config::parse_or::<u32>("missing", 7), Ok(7));
        assert!(matches!(
            config::parse_or::<u32>("bad", 7),
            Err(ConnectorError::InvalidConfig(m)) if m.contains("bad")
        ));
        assert!(matches!(
            config::require("blank"),
            Err(ConnectorError::InvalidConfig(m)) if m.contains("blank")
        ));
        assert_eq!(config::require_secret("token").as_deref(), Ok("s3cret"));
    }

    #[test]
    fn find_sent_answers_from_a_remembered_send_and_otherwise_cannot_tell() {
        let _host = MockHost::new();
        let mut c = Minimal;
        let out = Outbound::text("t", Visibility::Public, "hi");
        assert!(matches!(
            c.find_sent(out.clone(), "k1".into(), 0),
            Err(ConnectorError::Unsupported(_))
        ));
        kv::remember_sent(&"k1".into(), "mid.1");
        assert_eq!(
            c.find_sent(out, "k1".into(), 0),
            Ok(Some(Sent {
                platform_message_id: "mid.1".into()
            }))
        );
    }

    #[test]
    fn a_send_is_remembered_by_its_idempotency_key() {
        let host = MockHost::new();
        let (k1, k2, none) = (
            IdempotencyKey::new("k1"),
            IdempotencyKey::new("k2"),
            IdempotencyKey::default(),
        );
        assert_eq!(kv::sent_before(&k1), None);
        kv::remember_sent(&k1, "mid.1");
        assert_eq!(kv::sent_before(&k1).as_deref(), Some("mid.1"));
        assert_eq!(kv::sent_before(&k2), None);
        // Without a key nothing is remembered, so nothing is ever skipped.
        kv::remember_sent(&none, "mid.2");
        assert_eq!(kv::sent_before(&none), None);
        assert_eq!(host.kv_get("sent/k1"), Some(b"mid.1".to_vec()));
    }

    #[test]
    fn kv_clock_and_log_use_the_mock() {
        let host = MockHost::new();
        assert_eq!(kv::get("a"), None);
        kv::set("a", b"1");
        kv::set("b", "two");
        assert_eq!(kv::get("a"), Some(b"1".to_vec()));
        assert_eq!(kv::get_string("b").as_deref(), Some("two"));
        kv::delete("a");
        assert_eq!(kv::get("a"), None);
        assert_eq!(host.kv_get("b"), Some(b"two".to_vec()));

        host.set_now_millis(1_000);
        assert_eq!(clock::now_millis(), 1_000);
        host.advance_millis(500);
        assert_eq!(clock::now_millis(), 1_500);

        log::info("hello");
        log::warn(format!("n={}", 3));
        log::error("bad");
        log::debug("dbg");
        assert_eq!(
            host.logs(),
            vec![
                (Level::Info, "hello".to_string()),
                (Level::Warn, "n=3".to_string()),
                (Level::Error, "bad".to_string()),
                (Level::Debug, "dbg".to_string()),
            ]
        );
    }

    #[test]
    fn connector_error_display_mentions_the_message() {
        let e = ConnectorError::Rejected("bad parameter".into());
        assert!(e.to_string().contains("bad parameter"));
        assert_eq!(e.message(), "bad parameter");
        assert_eq!(
            ConnectorError::RateLimited(5).message(),
            "rate limited for 5 ms"
        );
    }
}
