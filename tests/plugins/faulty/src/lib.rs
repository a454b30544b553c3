//! A deliberately misbehaving connector for host tests.
//!
//! `handle_webhook` takes any request whose body is `{"id": "...", "text": "..."}` and
//! returns one public message (thread and message id = `id`, author `u1` "Tester")
//! with a 200, except when `text` is:
//! - `trap`: panics, so the instance traps;
//! - `loop`: spins forever, so only the host's deadline stops it;
//! - `hog`: allocates and touches 1 GiB, so the host's memory limit stops it;
//! - `exfiltrate <url>`: tries to fetch `<url>` (a host the channel does not allow) and
//!   reports what happened as the message text.
//!
//! `send` posts the text as a comment under the thread (`POST {graph_base_url}/{thread}/comments`
//! with the setting `access_token`, as Facebook does), except that a text starting with
//! `trap before` panics before posting, and one starting with `trap` otherwise panics
//! right after posting (the platform has the comment; the host never learns its id).
//!
//! `poll` returns no events. Nothing is signed or checked.
#![warn(missing_docs)]

use switchboard_sdk::{
    Author, Capability, Connector, ConnectorError, Description, Event, HttpRequest, HttpResponse,
    Message, Outbound, PollResult, Sent, Visibility, WebhookOutcome, clock, config, http,
};

/// The faulty connector.
#[derive(Debug, Default)]
pub struct Faulty;

switchboard_sdk::export_connector!(Faulty);

/// Allocates `bytes` and writes every byte, so the memory is really committed.
/// Returns a checksum so the work cannot be optimized away.
fn hog(bytes: usize) -> usize {
    let mut v: Vec<u8> = Vec::new();
    v.resize(bytes, 1);
    let v = std::hint::black_box(v);
    v.iter().step_by(4096).map(|&b| usize::from(b)).sum()
}

impl Connector for Faulty {
    fn describe(&self) -> Description {
        Description {
            platform: "faulty".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            capabilities: vec![
                Capability::Webhook,
                Capability::Poll,
                Capability::ReplyPublic,
            ],
            config_keys: vec![],
            // With no `allowed_hosts` in its config it may call this host and no other.
            hosts: vec!["http://declared.invalid".into()],
        }
    }

    fn send(
        &mut self,
        msg: Outbound,
        _key: switchboard_sdk::IdempotencyKey,
    ) -> Result<Sent, ConnectorError> {
        if msg.text.starts_with("trap before") {
            panic!("faulty connector: trap requested before posting");
        }
        let url = format!(
            "{}/{}/comments",
            config::get_or("graph_base_url", ""),
            msg.thread_id
        );
        let token = config::get_or("access_token", "");
        let resp = http::post_form(
            &url,
            &[],
            &[
                ("message", msg.text.as_str()),
                ("access_token", token.as_str()),
            ],
        )
        .map_err(|e| e.context("posting the comment"))?;
        if msg.text.starts_with("trap") {
            panic!("faulty connector: trap requested after posting");
        }
        let id: serde_json::Value = resp
            .json_body()
            .map_err(|e| ConnectorError::Rejected(format!("no id: {e}")))?;
        Ok(Sent {
            platform_message_id: id["id"].as_str().unwrap_or_default().to_string(),
        })
    }

    fn poll(&mut self, cursor: Option<String>, _limit: u32) -> Result<PollResult, ConnectorError> {
        Ok(PollResult::new(Vec::new(), cursor))
    }

    fn handle_webhook(&mut self, req: HttpRequest) -> Result<WebhookOutcome, ConnectorError> {
        let body: serde_json::Value = match serde_json::from_slice(&req.body) {
            Ok(v) => v,
            Err(e) => {
                return Ok(WebhookOutcome::respond(HttpResponse::text(
                    400,
                    format!("malformed JSON body: {e}"),
                )));
            }
        };
        let id = body["id"].as_str().unwrap_or_default().to_string();
        let text = body["text"].as_str().unwrap_or_default().to_string();
        match text.as_str() {
            "trap" => panic!("faulty connector: trap requested"),
            "loop" => loop {
                std::hint::black_box(());
            },
            "hog" => {
                std::hint::black_box(hog(1 << 30));
            }
            _ => {}
        }
        let text = match text.strip_prefix("exfiltrate ") {
            Some(url) => match switchboard_sdk::http::get(url, &[]) {
                Ok(res) => format!("fetched {url}: status {}", res.status),
                Err(e) => format!("refused: {e}"),
            },
            None => text,
        };
        let event = Event::Message(Message {
            platform_message_id: id.clone(),
            thread_id: id,
            parent_id: None,
            visibility: Visibility::Public,
            author: Author::new("u1", "Tester"),
            text,
            attachments: Vec::new(),
            created_at: clock::now_millis(),
            language: None,
            from_business: false,
            metadata: Vec::new(),
        });
        Ok(WebhookOutcome::new(
            HttpResponse::text(200, "ok"),
            vec![event],
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_sdk::testing::MockHost;

    #[test]
    fn ordinary_text_becomes_a_message() {
        let host = MockHost::new();
        host.set_now_millis(7);
        let req = HttpRequest::new("POST", "/hook").with_body(r#"{"id":"m1","text":"hello"}"#);
        let out = Faulty.handle_webhook(req).unwrap();
        assert_eq!(out.response.status, 200);
        match &out.events[..] {
            [Event::Message(m)] => {
                assert_eq!(m.platform_message_id, "m1");
                assert_eq!(m.thread_id, "m1");
                assert_eq!(m.author.id, "u1");
                assert_eq!(m.author.name, "Tester");
                assert_eq!(m.text, "hello");
                assert_eq!(m.created_at, 7);
            }
            other => panic!("unexpected events {other:?}"),
        }
    }

    #[test]
    #[should_panic(expected = "trap requested")]
    fn trap_panics() {
        let _host = MockHost::new();
        let req = HttpRequest::new("POST", "/hook").with_body(r#"{"id":"m1","text":"trap"}"#);
        let _ = Faulty.handle_webhook(req);
    }

    #[test]
    fn hog_touches_memory() {
        assert_eq!(hog(4096 * 3), 3);
    }
}
