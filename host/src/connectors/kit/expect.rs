//! Expected events (`switchboard plugin test --expect FILE`): the file is a JSON array of
//! events, or JSON lines (one event a line, blank lines skipped), each event as `plugin
//! test` prints it (`{"message": {..}}`). The events of every payload, in order, are
//! compared with them. A key an expected event leaves out is not compared (write `null`
//! to insist on none), so an expectation keeps holding when a later host adds a field;
//! lists are compared whole.

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// One event a connector gave, with where it came from.
#[derive(Clone, Debug)]
pub struct Actual {
    /// The payload file.
    pub payload: String,
    /// Its place among that payload's events, from 1.
    pub index: usize,
    /// The event as printed.
    pub event: Value,
}

/// The expected events in `text` (from the file `file`).
pub fn read(file: &str, text: &str) -> Result<Vec<Value>> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') {
        let value: Value =
            serde_json::from_str(text).with_context(|| format!("{file}: not a JSON array"))?;
        let Value::Array(events) = value else {
            unreachable!("starts with [")
        };
        return Ok(events);
    }
    let mut events = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let event = serde_json::from_str(line).with_context(|| {
            format!(
                "{file}:{}: not a JSON event (a file of expected events is a JSON array, or \
                 one JSON event a line)",
                n + 1
            )
        })?;
        events.push(event);
    }
    if events.is_empty() && !text.trim().is_empty() {
        bail!("{file}: no events");
    }
    Ok(events)
}

/// The first difference between what the connector gave and what `file` expects, in
/// words; `None` when they agree.
pub fn first_difference(file: &str, actual: &[Actual], expected: &[Value]) -> Option<String> {
    for (n, (got, want)) in actual.iter().zip(expected).enumerate() {
        if let Some(at) = difference(&got.event, want, String::new()) {
            return Some(format!(
                "event {} ({}, its event {}) differs from {file} at `{}`:\n  expected: {}\n  \
                 actual:   {}\nthe whole event:\n  {}",
                n + 1,
                got.payload,
                got.index,
                at.path,
                at.expected,
                at.actual,
                got.event
            ));
        }
    }
    match actual.len().cmp(&expected.len()) {
        std::cmp::Ordering::Less => {
            let n = actual.len();
            Some(format!(
                "{} event(s) given, {file} expects {}: event {} is missing:\n  expected: {}",
                actual.len(),
                expected.len(),
                n + 1,
                expected[n]
            ))
        }
        std::cmp::Ordering::Greater => {
            let extra = &actual[expected.len()];
            Some(format!(
                "{} event(s) given, {file} expects {}: event {} ({}, its event {}) is not \
                 expected:\n  actual:   {}",
                actual.len(),
                expected.len(),
                expected.len() + 1,
                extra.payload,
                extra.index,
                extra.event
            ))
        }
        std::cmp::Ordering::Equal => None,
    }
}

/// Where two values first differ.
struct At {
    /// `message.text`, `message.attachments[0].kind`.
    path: String,
    expected: String,
    actual: String,
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn difference(actual: &Value, expected: &Value, path: String) -> Option<At> {
    match (actual, expected) {
        (Value::Object(actual), Value::Object(expected)) => {
            expected
                .iter()
                .find_map(|(key, want)| match actual.get(key) {
                    Some(got) => difference(got, want, join(&path, key)),
                    None => Some(At {
                        path: join(&path, key),
                        expected: want.to_string(),
                        actual: "(no such key)".into(),
                    }),
                })
        }
        (Value::Array(got), Value::Array(want)) if got.len() == want.len() => got
            .iter()
            .zip(want)
            .enumerate()
            .find_map(|(i, (g, w))| difference(g, w, format!("{path}[{i}]"))),
        (Value::Number(got), Value::Number(want)) if got.as_f64() == want.as_f64() => None,
        _ if actual == expected => None,
        _ => Some(At {
            path: if path.is_empty() {
                "(the event)".into()
            } else {
                path
            },
            expected: expected.to_string(),
            actual: actual.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn actual(events: &[Value]) -> Vec<Actual> {
        events
            .iter()
            .enumerate()
            .map(|(i, e)| Actual {
                payload: "message.json".into(),
                index: i + 1,
                event: e.clone(),
            })
            .collect()
    }

    fn message(text: &str) -> Value {
        json!({"message": {"platform_message_id": "m1", "text": text, "parent_id": null,
                           "attachments": [{"kind": "image"}], "created_at": 1000}})
    }

    #[test]
    fn expected_events_are_a_json_array_or_json_lines() {
        let lines = "{\"message\": {\"text\": \"a\"}}\n\n{\"deleted\": {}}\n";
        assert_eq!(read("e.jsonl", lines).unwrap().len(), 2);
        let array = " [ {\"message\": {}}, {\"deleted\": {}} ]";
        assert_eq!(read("e.json", array).unwrap().len(), 2);
        assert!(read("empty", "").unwrap().is_empty());
        let e = read("e.jsonl", "{\"message\": {}}\n{oops\n").unwrap_err();
        assert!(format!("{e:#}").contains("e.jsonl:2:"), "{e:#}");
        assert!(read("e.json", "[1,").is_err());
    }

    #[test]
    fn equal_events_agree_and_left_out_keys_are_not_compared() {
        let got = actual(&[message("hi")]);
        assert!(first_difference("e", &got, &[message("hi")]).is_none());
        let partial = json!({"message": {"text": "hi"}});
        assert!(first_difference("e", &got, &[partial]).is_none());
        let float = json!({"message": {"created_at": 1000.0}});
        assert!(first_difference("e", &got, &[float]).is_none());
    }

    #[test]
    fn the_first_difference_is_named_with_its_path_and_both_values() {
        let got = actual(&[message("hi"), message("hello")]);
        let want = [message("hi"), message("bye")];
        let diff = first_difference("e.jsonl", &got, &want).unwrap();
        assert!(
            diff.starts_with(
                "event 2 (message.json, its event 2) differs from e.jsonl at `message.text`:"
            ),
            "{diff}"
        );
        assert!(
            diff.contains("expected: \"bye\"") && diff.contains("actual:   \"hello\""),
            "{diff}"
        );

        let null = json!({"message": {"parent_id": "p1"}});
        let diff = first_difference("e", &got[..1], &[null]).unwrap();
        assert!(
            diff.contains("`message.parent_id`") && diff.contains("actual:   null"),
            "{diff}"
        );

        let nested = json!({"message": {"attachments": [{"kind": "video"}]}});
        let diff = first_difference("e", &got[..1], &[nested]).unwrap();
        assert!(diff.contains("`message.attachments[0].kind`"), "{diff}");

        let missing_key = json!({"message": {"language": null}});
        let diff = first_difference("e", &got[..1], &[missing_key]).unwrap();
        assert!(diff.contains("(no such key)"), "{diff}");

        let other_kind = json!({"deleted": {"platform_message_id": "m1"}});
        let diff = first_difference("e", &got[..1], &[other_kind]).unwrap();
        assert!(diff.contains("at `deleted`"), "{diff}");
    }

    #[test]
    fn a_missing_or_unexpected_event_is_named() {
        let got = actual(&[message("hi")]);
        let diff = first_difference("e", &got, &[message("hi"), message("more")]).unwrap();
        assert!(
            diff.contains("1 event(s) given, e expects 2: event 2 is missing"),
            "{diff}"
        );
        let diff = first_difference("e", &got, &[]).unwrap();
        assert!(
            diff.contains(
                "1 event(s) given, e expects 0: event 1 (message.json, its event 1) is not expected"
            ),
            "{diff}"
        );
    }
}
