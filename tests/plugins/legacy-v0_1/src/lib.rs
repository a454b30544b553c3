//! A connector pinned to the released contract, `switchboard:connector@0.1.0`, bound
//! straight from `sdk/wit/since_v0.1.0` as a partner's plugin built before 0.2.0 is: no
//! SDK, no version stamp. The host must keep loading it and routing what it reports.
//!
//! Its webhook takes `{"id": "...", "author": "...", "text": "..."}` and reports one
//! private message; `send` answers with a made-up id.

#![allow(clippy::all)]
// Only a component: the raw bindings have no native stand-in for the host (the SDK's
// MockHost is 0.2.0's), so natively (`cargo test --workspace`) this crate is empty.
#![cfg(target_arch = "wasm32")]

wit_bindgen::generate!({
    path: "../../../sdk/wit/since_v0.1.0",
    world: "connector",
});

// The world's `use types.{...}` already brought its types into scope; these are the rest.
use switchboard::connector::types::{Author, Capability, HttpResponse, Message};

struct Legacy;

/// The value of `"key": "..."` in a flat JSON object (enough for this test plugin).
fn field(body: &str, key: &str) -> Option<String> {
    let at = body.find(&format!("\"{key}\""))?;
    let rest = &body[at + key.len() + 2..];
    let start = rest.find('"')? + 1;
    let end = start + rest[start..].find('"')?;
    Some(rest[start..end].to_owned())
}

impl Guest for Legacy {
    fn describe() -> Description {
        Description {
            platform: "legacy".into(),
            version: "0.1.0".into(),
            capabilities: vec![Capability::Webhook, Capability::ReplyPrivate],
            config_keys: vec![],
            // A test plugin: only a host under a TLD reserved for tests.
            hosts: vec!["http://legacy.invalid".into()],
        }
    }

    fn configure() -> Result<(), ConnectorError> {
        Ok(())
    }

    fn poll(_cursor: Option<String>, _limit: u32) -> Result<PollResult, ConnectorError> {
        Ok(PollResult {
            events: vec![],
            next_cursor: None,
        })
    }

    fn handle_webhook(request: HttpRequest) -> Result<WebhookOutcome, ConnectorError> {
        let body = String::from_utf8_lossy(&request.body).into_owned();
        let (Some(id), Some(text)) = (field(&body, "id"), field(&body, "text")) else {
            return Err(ConnectorError::Rejected("expected id and text".into()));
        };
        let author = field(&body, "author").unwrap_or_else(|| "someone".into());
        let message = Message {
            platform_message_id: id.clone(),
            thread_id: format!("t-{author}"),
            parent_id: None,
            visibility: Visibility::Private,
            author: Author {
                id: author.clone(),
                name: author,
                handle: None,
                followers: None,
            },
            text,
            attachments: vec![],
            created_at: switchboard::connector::clock::now_millis(),
            language: None,
            from_business: false,
            metadata: vec![],
        };
        Ok(WebhookOutcome {
            response: HttpResponse {
                status: 200,
                headers: vec![],
                body: b"ok".to_vec(),
            },
            events: vec![Event::Message(message)],
        })
    }

    fn send(message: Outbound, idempotency_key: String) -> Result<Sent, ConnectorError> {
        switchboard::connector::log::write(
            switchboard::connector::log::Level::Info,
            &format!("legacy send of {} characters", message.text.chars().count()),
        );
        Ok(Sent {
            platform_message_id: format!("legacy-{idempotency_key}"),
        })
    }

    fn reply_window(
        _visibility: Visibility,
        _last_customer_at: Option<i64>,
        _now: i64,
    ) -> ReplyWindow {
        ReplyWindow {
            free_form: true,
            templates: false,
            until: None,
            note: None,
        }
    }

    fn stream_open() -> Result<Option<HttpRequest>, ConnectorError> {
        Ok(None)
    }

    fn stream_lines(_lines: Vec<String>) -> Result<Vec<Event>, ConnectorError> {
        Ok(vec![])
    }

    fn delete(_id: String) -> Result<(), ConnectorError> {
        Err(ConnectorError::Unsupported("no delete".into()))
    }

    fn hide(_id: String) -> Result<(), ConnectorError> {
        Err(ConnectorError::Unsupported("no hide".into()))
    }
}

export!(Legacy);
