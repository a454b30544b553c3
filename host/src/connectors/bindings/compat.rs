//! Values between contract versions: an older plugin's answers up to the newest types,
//! the host's arguments down to the older ones, and the older version's imports served
//! by the newest implementation.
//!
//! The versions' records differ only where a newer version added something, so each
//! conversion is written once, field by field, by the macros below, for both directions.

use super::{v0_1, v0_2};
use crate::connectors::host_api::HostState;

/// A value of one version as the same value of another.
pub(crate) trait Convert<T> {
    fn convert(self) -> T;
}

/// An older plugin's answer, in the newest types.
pub(crate) fn up<A: Convert<B>, B>(a: A) -> B {
    a.convert()
}

/// The host's argument, in an older plugin's types.
pub(crate) fn down<A: Convert<B>, B>(a: A) -> B {
    a.convert()
}

macro_rules! same {
    ($($t:ty),*) => {$(
        impl Convert<$t> for $t {
            fn convert(self) -> $t {
                self
            }
        }
    )*};
}
same!((), bool, u8, u16, u32, u64, i64, String);

impl<'a> Convert<&'a str> for &'a str {
    fn convert(self) -> &'a str {
        self
    }
}

impl<'a> Convert<&'a [String]> for &'a [String] {
    fn convert(self) -> &'a [String] {
        self
    }
}

impl<A: Convert<B>, B> Convert<Option<B>> for Option<A> {
    fn convert(self) -> Option<B> {
        self.map(Convert::convert)
    }
}

impl<A: Convert<B>, B> Convert<Vec<B>> for Vec<A> {
    fn convert(self) -> Vec<B> {
        self.into_iter().map(Convert::convert).collect()
    }
}

impl<A: Convert<B>, B, E: Convert<F>, F> Convert<Result<B, F>> for Result<A, E> {
    fn convert(self) -> Result<B, F> {
        self.map(Convert::convert).map_err(Convert::convert)
    }
}

impl<A1: Convert<B1>, B1, A2: Convert<B2>, B2> Convert<(B1, B2)> for (A1, A2) {
    fn convert(self) -> (B1, B2) {
        (self.0.convert(), self.1.convert())
    }
}

/// A record that is the same in both versions, converted field by field both ways.
macro_rules! record {
    ($($t:ident { $($f:ident),* $(,)? })*) => {$(
        impl Convert<v0_2::switchboard::connector::types::$t>
            for v0_1::switchboard::connector::types::$t
        {
            fn convert(self) -> v0_2::switchboard::connector::types::$t {
                v0_2::switchboard::connector::types::$t { $($f: self.$f.convert()),* }
            }
        }
        impl Convert<v0_1::switchboard::connector::types::$t>
            for v0_2::switchboard::connector::types::$t
        {
            fn convert(self) -> v0_1::switchboard::connector::types::$t {
                v0_1::switchboard::connector::types::$t { $($f: self.$f.convert()),* }
            }
        }
    )*};
}

/// An enum or variant that is the same in both versions (`Case` or `Case(payload)`).
macro_rules! cases {
    ($($module:ident :: $t:ident { $($case:ident $(($p:ident))?),* $(,)? })*) => {$(
        impl Convert<v0_2::switchboard::connector::$module::$t>
            for v0_1::switchboard::connector::$module::$t
        {
            fn convert(self) -> v0_2::switchboard::connector::$module::$t {
                use v0_1::switchboard::connector::$module::$t as Src;
                use v0_2::switchboard::connector::$module::$t as Dst;
                match self {
                    $(Src::$case $(($p))? => Dst::$case $(($p.convert()))?),*
                }
            }
        }
        impl Convert<v0_1::switchboard::connector::$module::$t>
            for v0_2::switchboard::connector::$module::$t
        {
            fn convert(self) -> v0_1::switchboard::connector::$module::$t {
                use v0_2::switchboard::connector::$module::$t as Src;
                use v0_1::switchboard::connector::$module::$t as Dst;
                match self {
                    $(Src::$case $(($p))? => Dst::$case $(($p.convert()))?),*
                }
            }
        }
    )*};
}

record! {
    Author { id, name, handle, followers }
    Message {
        platform_message_id, thread_id, parent_id, visibility, author, text, attachments,
        created_at, language, from_business, metadata,
    }
    Edited { platform_message_id, thread_id, text, edited_at }
    Deleted { platform_message_id, thread_id, deleted_at }
    DeliveryStatus { platform_message_id, state, error, at }
    Description { platform, version, capabilities, config_keys, hosts }
    HttpRequest { method, url, headers, body }
    HttpResponse { status, headers, body }
    Template { name, language, parameters }
    ListItem { id, title }
    ReplyWindow { free_form, templates, until, note }
    Sent { platform_message_id }
}

// `poll-result` gained `sources` in 0.2.0: a 0.1.0 plugin reports none (its poll's
// error, if any, is the whole call's), and going down the field is dropped.
impl Convert<v0_2::switchboard::connector::types::PollResult>
    for v0_1::switchboard::connector::types::PollResult
{
    fn convert(self) -> v0_2::switchboard::connector::types::PollResult {
        v0_2::switchboard::connector::types::PollResult {
            events: self.events.convert(),
            next_cursor: self.next_cursor,
            sources: Vec::new(),
        }
    }
}

// Events only ever go up (see `event` below), and so do the answers that carry them.
impl Convert<v0_2::switchboard::connector::types::WebhookOutcome>
    for v0_1::switchboard::connector::types::WebhookOutcome
{
    fn convert(self) -> v0_2::switchboard::connector::types::WebhookOutcome {
        v0_2::switchboard::connector::types::WebhookOutcome {
            response: self.response.convert(),
            events: self.events.convert(),
        }
    }
}

// `config-key` gained `label` and `where-to-find` in 0.2.0: a 0.1.0 plugin gives
// neither (the admin desktop shows the key's name and description), and going down they
// are dropped.
impl Convert<v0_2::switchboard::connector::types::ConfigKey>
    for v0_1::switchboard::connector::types::ConfigKey
{
    fn convert(self) -> v0_2::switchboard::connector::types::ConfigKey {
        v0_2::switchboard::connector::types::ConfigKey {
            name: self.name,
            description: self.description,
            required: self.required,
            secret: self.secret,
            default_value: self.default_value,
            label: None,
            where_to_find: None,
        }
    }
}

impl Convert<v0_1::switchboard::connector::types::ConfigKey>
    for v0_2::switchboard::connector::types::ConfigKey
{
    fn convert(self) -> v0_1::switchboard::connector::types::ConfigKey {
        v0_1::switchboard::connector::types::ConfigKey {
            name: self.name,
            description: self.description,
            required: self.required,
            secret: self.secret,
            default_value: self.default_value,
        }
    }
}

// `attachment` gained `media-id`, `file-name`, `size` and `details` in 0.2.0: a 0.1.0
// plugin gives none (the host downloads from `url` alone), and going down they are dropped.
impl Convert<v0_2::switchboard::connector::types::Attachment>
    for v0_1::switchboard::connector::types::Attachment
{
    fn convert(self) -> v0_2::switchboard::connector::types::Attachment {
        v0_2::switchboard::connector::types::Attachment {
            kind: self.kind,
            url: self.url,
            mime_type: self.mime_type,
            caption: self.caption,
            media_id: None,
            file_name: None,
            size: None,
            details: Vec::new(),
        }
    }
}

impl Convert<v0_1::switchboard::connector::types::Attachment>
    for v0_2::switchboard::connector::types::Attachment
{
    fn convert(self) -> v0_1::switchboard::connector::types::Attachment {
        v0_1::switchboard::connector::types::Attachment {
            kind: self.kind,
            url: self.url,
            mime_type: self.mime_type,
            caption: self.caption,
        }
    }
}

// `outbound` gained `files` in 0.2.0. The host never gives a 0.1.0 plugin a reply with
// files (it declares no `file-limits`), so going down there are none to drop.
impl Convert<v0_1::switchboard::connector::types::Outbound>
    for v0_2::switchboard::connector::types::Outbound
{
    fn convert(self) -> v0_1::switchboard::connector::types::Outbound {
        v0_1::switchboard::connector::types::Outbound {
            thread_id: self.thread_id,
            reply_to: self.reply_to,
            recipient_id: self.recipient_id,
            visibility: self.visibility.convert(),
            text: self.text,
            last_customer_at: self.last_customer_at,
            template: self.template.convert(),
            from_handle: self.from_handle,
            list_items: self.list_items.convert(),
        }
    }
}

// `event` gained `author-erased` in 0.2.0; events only ever go up.
impl Convert<v0_2::switchboard::connector::types::Event>
    for v0_1::switchboard::connector::types::Event
{
    fn convert(self) -> v0_2::switchboard::connector::types::Event {
        use v0_1::switchboard::connector::types::Event as Src;
        use v0_2::switchboard::connector::types::Event as Dst;
        match self {
            Src::Message(m) => Dst::Message(m.convert()),
            Src::Edited(e) => Dst::Edited(e.convert()),
            Src::Deleted(d) => Dst::Deleted(d.convert()),
            Src::Delivery(s) => Dst::Delivery(s.convert()),
        }
    }
}

cases! {
    types::Visibility { Public, Private }
    types::DeliveryState { Sent, Delivered, Read, Failed }
    types::Capability { Webhook, Poll, ReplyPublic, ReplyPrivate, Delete, Hide }
    types::ConnectorError {
        InvalidConfig(m), Unauthorized(m), RateLimited(ms), Transient(m), Rejected(m),
        Unsupported(m),
    }
    log::Level { Trace, Debug, Info, Warn, Error }
}

// ---- 0.1.0's imports, served by the newest implementation ------------------------------

use v0_1::switchboard::connector as old;
use v0_2::switchboard::connector as new;

impl old::types::Host for HostState {}

impl old::http::Host for HostState {
    fn fetch(
        &mut self,
        request: old::types::HttpRequest,
    ) -> Result<old::types::HttpResponse, String> {
        // 0.1.0 knows no kinds of failure: it gets the text alone.
        new::http::Host::fetch(self, up(request))
            .map(down)
            .map_err(crate::connectors::host_api::http_error_text)
    }
}

impl old::clock::Host for HostState {
    fn now_millis(&mut self) -> i64 {
        new::clock::Host::now_millis(self)
    }
}

impl old::log::Host for HostState {
    fn write(&mut self, level: old::log::Level, message: String) {
        new::log::Host::write(self, up(level), message)
    }
}

impl old::kv::Host for HostState {
    fn get(&mut self, key: String) -> Option<Vec<u8>> {
        new::kv::Host::get(self, key)
    }

    fn set(&mut self, key: String, value: Vec<u8>) {
        new::kv::Host::set(self, key, value)
    }

    fn delete(&mut self, key: String) {
        new::kv::Host::delete(self, key)
    }
}

impl old::config::Host for HostState {
    fn get(&mut self, key: String) -> Option<String> {
        new::config::Host::get(self, key)
    }

    fn secret(&mut self, key: String) -> Option<String> {
        new::config::Host::secret(self, key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_old_plugins_event_reaches_the_host_whole() {
        let old_event = old::types::Event::Message(old::types::Message {
            platform_message_id: "m1".into(),
            thread_id: "t1".into(),
            parent_id: Some("p".into()),
            visibility: old::types::Visibility::Private,
            author: old::types::Author {
                id: "a".into(),
                name: "Ann".into(),
                handle: Some("@ann".into()),
                followers: Some(7),
            },
            text: "hi".into(),
            attachments: vec![old::types::Attachment {
                kind: "image".into(),
                url: Some("https://x/y.png".into()),
                mime_type: None,
                caption: Some("c".into()),
            }],
            created_at: 5,
            language: Some("en".into()),
            from_business: false,
            metadata: vec![("k".into(), "v".into())],
        });
        let new_event: new::types::Event = up(old_event.clone());
        let new::types::Event::Message(m) = new_event else {
            panic!("a message stays a message: {new_event:?}")
        };
        let back: old::types::Message = down(m);
        let old::types::Event::Message(old_message) = old_event else {
            unreachable!()
        };
        assert_eq!(format!("{old_message:?}"), format!("{back:?}"));
        let err: Result<(), new::types::ConnectorError> =
            up(Err::<(), _>(old::types::ConnectorError::RateLimited(30)));
        assert!(matches!(
            err,
            Err(new::types::ConnectorError::RateLimited(30))
        ));
    }

    #[test]
    fn an_old_plugins_poll_reports_no_sources() {
        let old_result = old::types::PollResult {
            events: Vec::new(),
            next_cursor: Some("c".into()),
        };
        let new_result: new::types::PollResult = up(old_result);
        assert_eq!(new_result.next_cursor.as_deref(), Some("c"));
        assert!(new_result.sources.is_empty());
    }
}
