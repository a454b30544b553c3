//! Whether a reply whose send was interrupted (a timeout, a trap, a crash) exists on X:
//! the sending handle's own recent tweets (`GET /2/users/:id/tweets`) or, for a direct
//! message, its recent direct messages (`GET /2/dm_events`). Read only.

use serde::Deserialize;
use switchboard_sdk::{ConnectorError, IdempotencyKey, Outbound, Sent, Visibility, http, kv, time};

use crate::Settings;
use crate::api;

/// How much earlier than our attempt X's clock may date our tweet.
const CLOCK_SKEW_MS: i64 = 120_000;

#[derive(Deserialize)]
struct Page<T> {
    #[serde(default = "Vec::new")]
    data: Vec<T>,
}

#[derive(Deserialize)]
struct TweetItem {
    id: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    referenced_tweets: Vec<Reference>,
}

#[derive(Deserialize)]
struct Reference {
    #[serde(rename = "type")]
    kind: String,
    id: String,
}

#[derive(Deserialize)]
struct DmItem {
    id: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    sender_id: Option<String>,
    #[serde(default)]
    dm_conversation_id: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
}

/// A text as X may give it back: X replaces every link with a `t.co` one, so links are
/// compared as links, not by address (else our own reply would look absent and be sent
/// twice).
fn comparable(text: &str) -> String {
    text.split_whitespace()
        .map(|w| {
            if w.starts_with("http://") || w.starts_with("https://") {
                "<link>"
            } else {
                w
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn recent(created_at: &Option<String>, attempted_at: i64) -> bool {
    created_at
        .as_deref()
        .and_then(time::parse_iso8601_millis)
        .is_none_or(|at| at >= attempted_at - CLOCK_SKEW_MS)
}

pub(crate) fn find_sent(
    settings: &Settings,
    msg: &Outbound,
    idempotency_key: &IdempotencyKey,
    attempted_at: i64,
) -> Result<Option<Sent>, ConnectorError> {
    // The whole reply, or its first part (a reply with files is several messages).
    if let Some(id) = kv::sent_before(idempotency_key)
        .or_else(|| crate::send::part_key(idempotency_key, 0).and_then(|k| kv::get_string(&k)))
    {
        return Ok(Some(Sent {
            platform_message_id: id,
        }));
    }
    if !msg.files.is_empty() && msg.text.trim().is_empty() {
        return Err(ConnectorError::Unsupported(
            "a reply made only of files cannot be told apart from others on X".into(),
        ));
    }
    let handle = match msg.from_handle.as_deref().map(str::trim) {
        Some(h) if !h.is_empty() => settings.find_handle(h).unwrap_or(settings.default_handle()),
        _ => settings.default_handle(),
    }
    .to_string();
    let token = settings.require_user_token(&handle)?;
    let own_id = api::user_id(settings, &handle)?;
    let text = comparable(&msg.text);
    // X ends the text of a message with media with the media's link.
    let with_files = !msg.files.is_empty();
    let same = |found: &str| {
        let found = comparable(found);
        found == text
            || (with_files
                && found
                    .strip_suffix("<link>")
                    .is_some_and(|f| f.trim_end() == text))
    };
    let found = match msg.visibility {
        Visibility::Public => {
            let target = msg
                .reply_to
                .as_deref()
                .filter(|t| !t.is_empty())
                .or(Some(msg.thread_id.as_str()).filter(|t| !t.is_empty()));
            let start = time::format_iso8601_millis(attempted_at - CLOCK_SKEW_MS);
            let url = http::url_with_query(
                &format!(
                    "{}/2/users/{}/tweets",
                    settings.api_base_url,
                    http::percent_encode(&own_id)
                ),
                &[
                    ("max_results", "100"),
                    ("start_time", &start),
                    ("tweet.fields", "created_at,referenced_tweets"),
                ],
            );
            let page: Page<TweetItem> = read(api::request("GET", url, &token))?;
            // Newest first: the last match is the oldest, the first of the attempt.
            page.data
                .into_iter()
                .rfind(|t| {
                    same(&t.text)
                        && recent(&t.created_at, attempted_at)
                        && target.is_none_or(|target| {
                            t.referenced_tweets
                                .iter()
                                .any(|r| r.kind == "replied_to" && r.id == target)
                        })
                })
                .map(|t| t.id)
        }
        Visibility::Private => {
            let url = http::url_with_query(
                &format!("{}/2/dm_events", settings.api_base_url),
                &[
                    ("max_results", "100"),
                    ("dm_event.fields", "created_at,sender_id,dm_conversation_id"),
                ],
            );
            let page: Page<DmItem> = read(api::request("GET", url, &token))?;
            page.data
                .into_iter()
                .rfind(|d| {
                    d.sender_id.as_deref() == Some(own_id.as_str())
                        && same(&d.text)
                        && recent(&d.created_at, attempted_at)
                        && d.dm_conversation_id.as_deref().is_none_or(|c| {
                            c == msg.thread_id
                                || msg.recipient_id.as_deref().is_some_and(|r| c.contains(r))
                        })
                })
                .map(|d| d.id)
        }
    };
    Ok(found.map(|id| Sent {
        platform_message_id: id,
    }))
}

fn read<T: serde::de::DeserializeOwned>(
    req: switchboard_sdk::HttpRequest,
) -> Result<T, ConnectorError> {
    let resp = http::fetch(&req).map_err(|e| e.context("X API request failed"))?;
    let resp = api::check(resp)?;
    resp.json_body()
        .map_err(|e| ConnectorError::Transient(format!("unreadable X API answer: {e}")))
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use switchboard_sdk::testing::MockHost;
    use switchboard_sdk::{HttpResponse, Outbound, Visibility};

    const NOW: i64 = 1_705_320_300_000; // 2024-01-15T12:05:00Z

    fn host() -> MockHost {
        let host = MockHost::new();
        host.set_config("handles", "acme")
            .set_config("api_base_url", "http://x.test")
            .set_secret("token_acme", "tok-acme")
            .set_now_millis(NOW);
        host.kv_set("user_id/acme", b"1111");
        host
    }

    fn reply(text: &str) -> Outbound {
        Outbound {
            reply_to: Some("500".into()),
            ..Outbound::text("500", Visibility::Public, text)
        }
    }

    #[test]
    fn an_interrupted_reply_is_our_own_tweet_answering_the_same_tweet_after_the_attempt() {
        let host = host();
        host.on_http(|req| {
            assert_eq!(req.method, "GET", "only reads");
            assert!(req.url.contains("/2/users/1111/tweets"), "{}", req.url);
            Ok(HttpResponse::json(
                200,
                &json!({"data": [
                    {"id": "903", "text": "On it!", "created_at": "2024-01-15T12:05:02.000Z",
                     "referenced_tweets": [{"type": "replied_to", "id": "777"}]},
                    {"id": "902", "text": "On it!", "created_at": "2024-01-15T12:05:01.000Z",
                     "referenced_tweets": [{"type": "replied_to", "id": "500"}]},
                    {"id": "901", "text": "Something else", "created_at": "2024-01-15T12:05:00.500Z",
                     "referenced_tweets": [{"type": "replied_to", "id": "500"}]},
                ]}),
            ))
        });
        let settings = crate::Settings::load().unwrap();
        let found = super::find_sent(&settings, &reply("On it!"), &"k".into(), NOW).unwrap();
        assert_eq!(found.map(|s| s.platform_message_id).as_deref(), Some("902"));
        let none = super::find_sent(&settings, &reply("Not posted"), &"k".into(), NOW).unwrap();
        assert_eq!(none, None);
    }

    #[test]
    fn links_x_shortened_still_match() {
        assert_eq!(
            super::comparable("Track it here: https://acme.example/t/42  thanks"),
            super::comparable("Track it here: https://t.co/AbC123 thanks")
        );
        assert_ne!(
            super::comparable("Track it here"),
            super::comparable("Track it there")
        );
    }
}
