//! WIT types to the host's own event types.

use super::bindings::types as wit;
use crate::model::event::{Attachment, Event, InboundMessage};
use crate::model::interaction::Visibility;

pub fn visibility(v: wit::Visibility) -> Visibility {
    match v {
        wit::Visibility::Public => Visibility::Public,
        wit::Visibility::Private => Visibility::Private,
    }
}

pub fn wit_visibility(v: Visibility) -> wit::Visibility {
    match v {
        Visibility::Public => wit::Visibility::Public,
        Visibility::Private => wit::Visibility::Private,
    }
}

pub fn event(e: wit::Event) -> Event {
    match e {
        wit::Event::Message(m) => Event::Message(InboundMessage {
            platform_message_id: m.platform_message_id,
            thread_id: m.thread_id,
            parent_id: m.parent_id,
            visibility: visibility(m.visibility),
            author_id: m.author.id,
            author_name: m.author.name,
            author_handle: m.author.handle,
            text: m.text,
            attachments: m.attachments.into_iter().map(attachment).collect(),
            created_at: m.created_at,
            language: m.language,
            from_business: m.from_business,
            followers: m.author.followers.map(|n| n.min(i64::MAX as u64) as i64),
            metadata: m.metadata.into_iter().collect(),
        }),
        wit::Event::Edited(e) => Event::Edited {
            platform_message_id: e.platform_message_id,
            text: e.text,
        },
        wit::Event::Deleted(d) => Event::Deleted {
            platform_message_id: d.platform_message_id,
        },
        wit::Event::AuthorErased(a) => Event::AuthorErased {
            author_id: a.author_id,
        },
        wit::Event::Delivery(d) => Event::Delivery {
            platform_message_id: d.platform_message_id,
            state: match d.state {
                wit::DeliveryState::Sent => "sent",
                wit::DeliveryState::Delivered => "delivered",
                wit::DeliveryState::Read => "read",
                wit::DeliveryState::Failed => "failed",
            }
            .into(),
            error: d.error,
        },
    }
}

/// A connector's attachment as the host keeps it.
pub fn attachment(a: wit::Attachment) -> Attachment {
    Attachment {
        kind: a.kind,
        url: a.url,
        mime_type: a.mime_type,
        caption: a.caption,
        media_id: a.media_id,
        file_name: a.file_name,
        size: a.size,
        details: a.details,
    }
}

/// The host's attachment as a connector reads it (for `media-request`).
pub fn wit_attachment(a: &Attachment) -> wit::Attachment {
    wit::Attachment {
        kind: a.kind.clone(),
        url: a.url.clone(),
        mime_type: a.mime_type.clone(),
        caption: a.caption.clone(),
        media_id: a.media_id.clone(),
        file_name: a.file_name.clone(),
        size: a.size,
        details: a.details.clone(),
    }
}

pub fn error_text(e: &wit::ConnectorError) -> String {
    match e {
        wit::ConnectorError::InvalidConfig(m) => format!("invalid config: {m}"),
        wit::ConnectorError::Unauthorized(m) => format!("unauthorized: {m}"),
        wit::ConnectorError::RateLimited(ms) => format!("rate limited for {ms} ms"),
        wit::ConnectorError::Transient(m) => format!("transient: {m}"),
        wit::ConnectorError::Rejected(m) => format!("rejected: {m}"),
        wit::ConnectorError::Unsupported(m) => format!("unsupported: {m}"),
    }
}

/// An outbox entry as the connector receives it.
pub fn outbound(
    reply: &crate::model::reply::OutboundReply,
    last_customer_at: Option<i64>,
    files: Vec<wit::OutboundFile>,
) -> wit::Outbound {
    let extras = &reply.extras;
    wit::Outbound {
        thread_id: reply.thread_id.clone(),
        reply_to: reply.reply_to.clone(),
        recipient_id: reply.recipient_id.clone(),
        visibility: wit_visibility(reply.visibility),
        text: reply.text.clone(),
        last_customer_at,
        template: extras.template.as_ref().map(|t| wit::Template {
            name: t.name.clone(),
            language: t.language.clone(),
            parameters: t.parameters.clone(),
        }),
        from_handle: extras.from_handle.clone(),
        list_items: extras
            .list_items
            .iter()
            .map(|i| wit::ListItem {
                id: i.id.clone(),
                title: i.title.clone(),
            })
            .collect(),
        files,
    }
}

/// A reply's files as described to the connector, without uploads or links (what
/// `find-sent` compares).
pub fn described_files(reply: &crate::model::reply::OutboundReply) -> Vec<wit::OutboundFile> {
    reply.extras.files.iter().map(described_file).collect()
}

/// One of a reply's files as the connector reads it, before any upload.
pub fn described_file(f: &crate::model::reply::FileRef) -> wit::OutboundFile {
    wit::OutboundFile {
        kind: f.kind.clone(),
        file_name: f.file_name.clone(),
        mime_type: f.content_type.clone(),
        size: f.size,
        upload: None,
        link: None,
        upload_key: None,
        upload_state: None,
    }
}

/// A poll's answer in the host's types.
pub struct Polled {
    pub events: Vec<Event>,
    pub next_cursor: Option<String>,
    /// How each source fared (empty for a connector that reports none).
    pub sources: Vec<crate::connectors::sources::SourceReport>,
}

pub fn poll_result(r: wit::PollResult) -> Polled {
    Polled {
        events: r.events.into_iter().map(event).collect(),
        next_cursor: r.next_cursor,
        sources: r
            .sources
            .into_iter()
            .map(|s| crate::connectors::sources::SourceReport {
                name: s.name,
                error: s.error,
                retry_at: s.retry_at,
                warnings: s.warnings,
            })
            .collect(),
    }
}
