//! Outbound HTTP through the host.
//!
//! The host only lets a plugin reach the hosts on its allowlist; any other URL fails with
//! [`HttpError::Refused`], and a timeout, a connection or TLS failure or an answer too
//! large each with their own [`HttpError`] case. A response with an error status (4xx,
//! 5xx) is a successful fetch: check [`HttpResponse::is_success`].
//!
//! `?` turns an [`HttpError`] into the [`ConnectorError`] the host acts on: a failure the
//! channel's settings cause (refused, TLS, invalid) is `invalid-config`, which the host
//! shows to the administrator rather than retrying as if the network had blinked; a
//! timeout or a connection failure is `transient`. [`HttpError::context`] says what was
//! being asked.

pub use crate::__private::bindings::switchboard::connector::http::HttpError;
use crate::{ConnectorError, HttpRequest, HttpResponse};

impl HttpError {
    /// Whether the channel is set up wrong (a host off the allowlist, a TLS failure, a
    /// malformed URL): trying again will not help until someone changes the settings.
    pub fn is_settings(&self) -> bool {
        matches!(
            self,
            HttpError::Refused(_) | HttpError::Tls(_) | HttpError::Invalid(_)
        )
    }

    /// The failure in words: `timed out: …`, `refused by the host: …`.
    pub fn words(&self) -> String {
        match self {
            HttpError::Refused(t) => format!("refused by the host: {t}"),
            HttpError::Timeout(t) => format!("timed out: {t}"),
            HttpError::Connection(t) => format!("connection failed: {t}"),
            HttpError::Tls(t) => format!("TLS failed: {t}"),
            HttpError::TooLarge(cap) => {
                format!("the answer is over the host's limit of {cap} bytes")
            }
            HttpError::Invalid(t) => format!("cannot be sent: {t}"),
        }
    }

    /// As the connector error the host acts on, with `what` in front ("X API request
    /// failed: …"): settings problems are [`ConnectorError::InvalidConfig`], a timeout or
    /// a broken connection [`ConnectorError::Transient`], an answer too large
    /// [`ConnectorError::Rejected`].
    pub fn context(self, what: &str) -> ConnectorError {
        let text = format!("{what}: {}", self.words());
        match self {
            HttpError::Refused(_) | HttpError::Tls(_) | HttpError::Invalid(_) => {
                ConnectorError::InvalidConfig(text)
            }
            HttpError::Timeout(_) | HttpError::Connection(_) => ConnectorError::Transient(text),
            HttpError::TooLarge(_) => ConnectorError::Rejected(text),
        }
    }
}

impl From<HttpError> for ConnectorError {
    fn from(e: HttpError) -> ConnectorError {
        e.context("HTTP request failed")
    }
}

/// A plain message is a connection failure (handy in [`MockHost`](crate::testing::MockHost)
/// handlers: `Err("connection refused".into())`).
impl From<&str> for HttpError {
    fn from(text: &str) -> HttpError {
        HttpError::Connection(text.to_owned())
    }
}

impl From<String> for HttpError {
    fn from(text: String) -> HttpError {
        HttpError::Connection(text)
    }
}

/// Sends `req` through the host and waits for the response.
///
/// Natively this asks [`MockHost`](crate::testing::MockHost)'s HTTP handler.
pub fn fetch(req: &HttpRequest) -> Result<HttpResponse, HttpError> {
    #[cfg(target_arch = "wasm32")]
    {
        crate::host::http::fetch(req)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        crate::testing::backend::fetch(req)
    }
}

fn with_headers(mut req: HttpRequest, headers: &[(&str, &str)]) -> HttpRequest {
    for (name, value) in headers {
        req = req.with_header(name, *value);
    }
    req
}

/// `GET url` with extra headers.
pub fn get(url: &str, headers: &[(&str, &str)]) -> Result<HttpResponse, HttpError> {
    fetch(&with_headers(HttpRequest::new("GET", url), headers))
}

/// `DELETE url` with extra headers.
pub fn delete(url: &str, headers: &[(&str, &str)]) -> Result<HttpResponse, HttpError> {
    fetch(&with_headers(HttpRequest::new("DELETE", url), headers))
}

/// `POST url` with an `application/x-www-form-urlencoded` body made of `form`.
pub fn post_form(
    url: &str,
    headers: &[(&str, &str)],
    form: &[(&str, &str)],
) -> Result<HttpResponse, HttpError> {
    let req = with_headers(HttpRequest::new("POST", url), headers)
        .with_header("content-type", "application/x-www-form-urlencoded")
        .with_body(encode_form(form));
    fetch(&req)
}

/// `POST url` with `body` serialized as `application/json`.
pub fn post_json<T: serde::Serialize + ?Sized>(
    url: &str,
    headers: &[(&str, &str)],
    body: &T,
) -> Result<HttpResponse, HttpError> {
    let bytes = serde_json::to_vec(body)
        .map_err(|e| HttpError::Invalid(format!("cannot serialize the JSON body: {e}")))?;
    let req = with_headers(HttpRequest::new("POST", url), headers)
        .with_header("content-type", "application/json")
        .with_body(bytes);
    fetch(&req)
}

/// Percent-encodes `s` for a URL query or form value: everything but ASCII letters,
/// digits and `-._~` is escaped as UTF-8 `%XX` bytes.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b >> 4)]));
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b & 0xf)]));
        }
    }
    out
}

/// Decodes a query or form component: `+` becomes a space and `%XX` a byte; invalid
/// UTF-8 is replaced.
pub fn percent_decode(s: &str) -> String {
    fn hex(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Encodes `pairs` as `k1=v1&k2=v2`, percent-encoding keys and values.
pub fn encode_form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Parses `k1=v1&k2=v2` (a query string without `?`, or a form body), decoding each
/// key and value. Empty pieces are skipped; a key without `=` has an empty value.
pub fn parse_form(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|piece| !piece.is_empty())
        .map(|piece| match piece.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(piece), String::new()),
        })
        .collect()
}

/// Appends `pairs` to `url` as query parameters (with `?` or `&` as needed).
pub fn url_with_query(url: &str, pairs: &[(&str, &str)]) -> String {
    if pairs.is_empty() {
        return url.to_string();
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{}", encode_form(pairs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MockHost;

    #[test]
    fn encoding_round_trips() {
        let s = "a b&c=d/é😀+%";
        let enc = percent_encode(s);
        assert_eq!(enc, "a%20b%26c%3Dd%2F%C3%A9%F0%9F%98%80%2B%25");
        assert_eq!(percent_decode(&enc), s);
        assert_eq!(percent_decode("a+b%2"), "a b%2");
        assert_eq!(percent_decode("%zz%41"), "%zzA");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(
            encode_form(&[("message", "hi there"), ("x", "1")]),
            "message=hi%20there&x=1"
        );
        assert_eq!(
            parse_form("a=1&&b=x+y&c&d=%F0%9F%98%80"),
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "x y".into()),
                ("c".into(), "".into()),
                ("d".into(), "😀".into())
            ]
        );
        assert_eq!(
            url_with_query("https://h/p", &[("a", "1")]),
            "https://h/p?a=1"
        );
        assert_eq!(
            url_with_query("https://h/p?x=0", &[("a", "1")]),
            "https://h/p?x=0&a=1"
        );
        assert_eq!(url_with_query("https://h/p", &[]), "https://h/p");
    }

    #[test]
    fn helpers_build_requests_through_the_mock() {
        let host = MockHost::new();
        host.on_http(|req| {
            Ok(HttpResponse::text(
                200,
                format!("{} {}", req.method, req.url),
            ))
        });
        let r = get("https://x.test/a", &[("Authorization", "Bearer t")]).unwrap();
        assert_eq!(r.body_text(), "GET https://x.test/a");
        post_form("https://x.test/f", &[], &[("message", "hé llo")]).unwrap();
        post_json("https://x.test/j", &[], &serde_json::json!({"a": 1})).unwrap();
        delete("https://x.test/d", &[]).unwrap();
        let reqs = host.requests();
        assert_eq!(reqs.len(), 4);
        assert_eq!(reqs[0].header("authorization"), Some("Bearer t"));
        assert_eq!(reqs[1].method, "POST");
        assert_eq!(
            reqs[1].header("content-type"),
            Some("application/x-www-form-urlencoded")
        );
        assert_eq!(reqs[1].body, b"message=h%C3%A9%20llo");
        assert_eq!(reqs[2].body, br#"{"a":1}"#);
        assert_eq!(reqs[2].header("content-type"), Some("application/json"));
        assert_eq!(reqs[3].method, "DELETE");
    }

    #[test]
    fn fetch_without_handler_fails() {
        let _host = MockHost::new();
        assert!(get("https://x.test/", &[]).is_err());
    }

    #[test]
    fn a_settings_failure_is_invalid_config_and_a_network_one_transient() {
        let refused = HttpError::Refused("host of `https://x.test` is not allowed".into());
        assert!(refused.is_settings());
        assert!(matches!(
            refused.context("X API request failed"),
            ConnectorError::InvalidConfig(m) if m.starts_with("X API request failed: refused by the host")
        ));
        assert!(matches!(
            ConnectorError::from(HttpError::from("connection refused")),
            ConnectorError::Transient(_)
        ));
        assert!(matches!(
            HttpError::Timeout("t".into()).context("x"),
            ConnectorError::Transient(_)
        ));
        assert!(matches!(
            HttpError::Tls("bad certificate".into()).context("x"),
            ConnectorError::InvalidConfig(_)
        ));
        assert!(matches!(
            HttpError::TooLarge(16).context("x"),
            ConnectorError::Rejected(m) if m.contains("16 bytes")
        ));
    }
}
