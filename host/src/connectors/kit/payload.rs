//! Saved webhook requests (`switchboard plugin test PAYLOAD…`), in one of two forms:
//!
//! - a request file: a JSON object `{"method", "path", "headers": {..}, "body"}` (only
//!   `body` or `body_base64` is needed). `body` is the raw body as a string, exactly the
//!   bytes the platform signed, or any other JSON value, sent as its compact
//!   serialization; `body_base64` is for a binary body. Header values are strings, or
//!   lists of strings for a header sent more than once. The file's headers carry the
//!   platform's signature, so a scheme the host knows nothing about is tested as sent;
//! - any other file: the raw body, with the command line's `--method`, `--path` and
//!   `--header`s (or every file, with `--raw`).
//!
//! The command line's `--header`s apply to both forms and replace a file's header of the
//! same name.

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use serde_json::Value;

/// The keys of a request file.
const KEYS: &[&str] = &["method", "path", "headers", "body", "body_base64"];

/// One request, as the connector's `handle-webhook` gets it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedRequest {
    /// `POST`, usually.
    pub method: String,
    /// The path and query the platform called.
    pub path: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: Vec<u8>,
}

/// What the command line says about every request.
#[derive(Clone, Debug, Default)]
pub struct Defaults {
    /// For raw files (and request files without one).
    pub method: String,
    /// For raw files (and request files without one).
    pub path: String,
    /// Added to every request, replacing a file's header of the same name.
    pub headers: Vec<(String, String)>,
    /// Every file is a raw body, even one that looks like a request file.
    pub raw: bool,
}

/// The request saved as `bytes` (the file's name is for errors).
pub fn parse(file: &str, bytes: &[u8], defaults: &Defaults) -> Result<SavedRequest> {
    let mut request = match request_form(bytes, defaults.raw) {
        Some(object) => from_object(file, &object, defaults)?,
        None => SavedRequest {
            method: defaults.method.clone(),
            path: defaults.path.clone(),
            headers: Vec::new(),
            body: bytes.to_vec(),
        },
    };
    for (name, value) in &defaults.headers {
        let name = name.to_ascii_lowercase();
        request.headers.retain(|(k, _)| *k != name);
        request.headers.push((name, value.clone()));
    }
    Ok(request)
}

/// The JSON object of a request file: one with a `body` or `body_base64` key.
fn request_form(bytes: &[u8], raw: bool) -> Option<serde_json::Map<String, Value>> {
    if raw {
        return None;
    }
    match serde_json::from_slice::<Value>(bytes).ok()? {
        Value::Object(object)
            if object.contains_key("body") || object.contains_key("body_base64") =>
        {
            Some(object)
        }
        _ => None,
    }
}

fn from_object(
    file: &str,
    object: &serde_json::Map<String, Value>,
    defaults: &Defaults,
) -> Result<SavedRequest> {
    if let Some(unknown) = object.keys().find(|k| !KEYS.contains(&k.as_str())) {
        bail!(
            "{file}: unknown key `{unknown}`: a JSON file with a `body` is read as a request \
             ({}); give --raw to send the file itself as the body",
            KEYS.join(", ")
        );
    }
    let text = |key: &str, default: &str| -> Result<String> {
        match object.get(key) {
            None | Some(Value::Null) => Ok(default.to_owned()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => bail!("{file}: `{key}` must be a string, not {other}"),
        }
    };
    let method = text("method", &defaults.method)?;
    let path = text("path", &defaults.path)?;
    let mut headers = Vec::new();
    match object.get("headers") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (name, value) in map {
                let name = name.to_ascii_lowercase();
                match value {
                    Value::String(v) => headers.push((name, v.clone())),
                    Value::Array(values) => {
                        for v in values {
                            let v = v.as_str().with_context(|| {
                                format!("{file}: header `{name}`: values must be strings")
                            })?;
                            headers.push((name.clone(), v.to_owned()));
                        }
                    }
                    other => bail!("{file}: header `{name}` must be a string, not {other}"),
                }
            }
        }
        Some(other) => {
            bail!("{file}: `headers` must be an object of names and values, not {other}")
        }
    }
    let body = match (object.get("body"), object.get("body_base64")) {
        (Some(_), Some(_)) => bail!("{file}: give `body` or `body_base64`, not both"),
        (Some(Value::String(raw)), None) => raw.clone().into_bytes(),
        (Some(Value::Null), None) => Vec::new(),
        (Some(json), None) => serde_json::to_vec(json)?,
        (None, Some(Value::String(b64))) => base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .with_context(|| format!("{file}: `body_base64` is not base64"))?,
        (None, Some(_)) => bail!("{file}: `body_base64` must be a string"),
        (None, None) => unreachable!("a request file has a body"),
    };
    Ok(SavedRequest {
        method,
        path,
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Defaults {
        Defaults {
            method: "POST".into(),
            path: "/webhooks/channel".into(),
            headers: Vec::new(),
            raw: false,
        }
    }

    #[test]
    fn a_request_file_carries_its_method_path_headers_and_exact_body() {
        let file = br#"{
            "method": "PUT",
            "path": "/webhooks/acme?x=1",
            "headers": {"X-Signature-256": "sha256=ab", "X-Many": ["1", "2"]},
            "body": "{\"id\":\"m1\",  \"text\":\"hi\"}"
        }"#;
        let r = parse("a.json", file, &defaults()).unwrap();
        assert_eq!(r.method, "PUT");
        assert_eq!(r.path, "/webhooks/acme?x=1");
        assert_eq!(
            r.headers,
            vec![
                ("x-many".to_string(), "1".to_string()),
                ("x-many".to_string(), "2".to_string()),
                ("x-signature-256".to_string(), "sha256=ab".to_string()),
            ]
        );
        assert_eq!(
            r.body, br#"{"id":"m1",  "text":"hi"}"#,
            "the string, byte for byte"
        );
    }

    #[test]
    fn a_json_body_is_sent_compact_and_the_rest_defaults() {
        let r = parse(
            "b.json",
            br#"{"body": {"b": [1, 2], "a": "x"}}"#,
            &defaults(),
        )
        .unwrap();
        assert_eq!(
            (r.method.as_str(), r.path.as_str()),
            ("POST", "/webhooks/channel")
        );
        assert!(r.headers.is_empty());
        assert_eq!(r.body, br#"{"a":"x","b":[1,2]}"#);
        let b64 = parse("c.json", br#"{"body_base64": "AAEC"}"#, &defaults()).unwrap();
        assert_eq!(b64.body, vec![0, 1, 2]);
        let empty = parse("d.json", br#"{"body": null}"#, &defaults()).unwrap();
        assert!(empty.body.is_empty());
    }

    #[test]
    fn anything_else_is_the_raw_body_with_the_command_lines_request() {
        let mut d = defaults();
        d.headers = vec![("X-Hub-Signature-256".into(), "sha256=00".into())];
        for raw in [
            &br#"{"object":"page","entry":[]}"#[..],
            b"a=1&b=2",
            b"\xff\xfe not utf-8",
            b"[1, 2]",
        ] {
            let r = parse("raw", raw, &d).unwrap();
            assert_eq!(r.body, raw);
            assert_eq!(r.method, "POST");
            assert_eq!(
                r.headers,
                vec![("x-hub-signature-256".to_string(), "sha256=00".to_string())]
            );
        }
        // --raw: even a request-shaped file is sent as it is.
        d.raw = true;
        let file = br#"{"body": "x"}"#;
        assert_eq!(parse("raw", file, &d).unwrap().body, file);
    }

    #[test]
    fn command_line_headers_replace_the_files_own() {
        let mut d = defaults();
        d.headers = vec![("x-signature-256".into(), "sha256=cd".into())];
        let file = br#"{"headers": {"X-Signature-256": "sha256=ab", "a": "1"}, "body": ""}"#;
        let r = parse("e.json", file, &d).unwrap();
        assert_eq!(
            r.headers,
            vec![
                ("a".to_string(), "1".to_string()),
                ("x-signature-256".to_string(), "sha256=cd".to_string()),
            ]
        );
    }

    #[test]
    fn a_mistake_in_a_request_file_is_named() {
        for (file, says) in [
            (
                &br#"{"header": {}, "body": ""}"#[..],
                "unknown key `header`",
            ),
            (br#"{"body": "", "body_base64": ""}"#, "not both"),
            (br#"{"headers": {"a": 1}, "body": ""}"#, "header `a`"),
            (br#"{"headers": ["a"], "body": ""}"#, "`headers` must be"),
            (br#"{"method": 1, "body": ""}"#, "`method` must be a string"),
            (br#"{"body_base64": "!!"}"#, "not base64"),
        ] {
            let e = parse("f.json", file, &defaults()).unwrap_err().to_string();
            assert!(e.starts_with("f.json: ") && e.contains(says), "{e}");
        }
    }
}
