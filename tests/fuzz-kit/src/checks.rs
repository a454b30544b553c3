//! Properties every connector answer must have, whatever the payload.

use switchboard_sdk::{Event, Level, WebhookOutcome};

use crate::Verdict;

/// Whether `bytes` is one JSON value (within serde_json's nesting limit).
pub fn is_json(bytes: &[u8]) -> bool {
    serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok()
}

/// Every event names what it is about: a message has a platform id and a thread, an
/// edit, removal or delivery status the platform id it concerns. The host stores and
/// deduplicates by these ids, so an empty one would merge unrelated messages.
pub fn check_events(events: &[Event]) -> Result<(), String> {
    for (i, event) in events.iter().enumerate() {
        let (id, thread) = match event {
            Event::Message(m) => (&m.platform_message_id, Some(&m.thread_id)),
            Event::Edited(e) => (&e.platform_message_id, e.thread_id.as_ref()),
            Event::Deleted(d) => (&d.platform_message_id, d.thread_id.as_ref()),
            Event::Delivery(d) => (&d.platform_message_id, None),
            Event::AuthorErased(a) => (&a.author_id, None),
        };
        if id.is_empty() {
            return Err(format!("event {i} has no platform id: {event:?}"));
        }
        if thread.is_some_and(|t| t.is_empty()) {
            return Err(format!("event {i} has an empty thread id: {event:?}"));
        }
    }
    Ok(())
}

/// Whether `logs` (from `MockHost::logs`) hold a line at `level` or more severe.
pub fn logged_at_least(logs: &[(Level, String)], level: Level) -> bool {
    let rank = |l: &Level| match l {
        Level::Trace => 0,
        Level::Debug => 1,
        Level::Info => 2,
        Level::Warn => 3,
        Level::Error => 4,
    };
    logs.iter().any(|(l, _)| rank(l) >= rank(&level))
}

/// Whether `bytes` is one JSON object.
pub fn is_object(bytes: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(bytes).is_ok_and(|v| v.is_object())
}

/// The verdict on a webhook answer of a platform that delivers again whatever is not
/// answered 2xx (Meta, X): a `forged` request is refused 401 with no events; an authentic
/// one is acknowledged 200 (the same bytes can never be read on a redelivery), and a body
/// that is not a JSON object leaves an ERROR line in `logs`.
pub fn acknowledged(
    out: &WebhookOutcome,
    forged: bool,
    bytes: &[u8],
    logs: &[(Level, String)],
) -> Verdict {
    check_events(&out.events)?;
    let status = out.response.status;
    if forged {
        return match (status, out.events.is_empty()) {
            (401, true) => Ok("forged: 401"),
            _ => Err(format!(
                "a forged request got {status} and {:?}",
                out.events
            )),
        };
    }
    if status != 200 {
        return Err(format!("an authentic delivery was answered {status}"));
    }
    if !is_object(bytes) && !logged_at_least(logs, Level::Error) {
        return Err("an unreadable body was dropped without an error in the log".into());
    }
    Ok(if out.events.is_empty() {
        "200, no events"
    } else {
        "200 with events"
    })
}
