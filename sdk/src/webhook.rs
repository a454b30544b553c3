//! Helpers for handling inbound webhook requests: headers, query strings and
//! signatures (HMAC-SHA256, constant-time comparison, hex). Meta's signed webhooks and
//! handshake are in [`crate::meta`].

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::{HttpRequest, HttpResponse};

/// The first header of `req` called `name` (case-insensitive).
pub fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.header(name)
}

/// Parses a query string (with or without its leading `?`) into decoded pairs.
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    crate::http::parse_form(query.strip_prefix('?').unwrap_or(query))
}

/// The decoded query parameters of `req.url`, in order.
pub fn query(req: &HttpRequest) -> Vec<(String, String)> {
    let without_fragment = req.url.split('#').next().unwrap_or("");
    match without_fragment.split_once('?') {
        Some((_, q)) => parse_query(q),
        None => Vec::new(),
    }
}

/// The first query parameter of `req.url` called `name`, decoded.
pub fn query_param(req: &HttpRequest, name: &str) -> Option<String> {
    query(req)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// HMAC-SHA256 of `data` with `key`.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// Lower-case hexadecimal of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

/// Decodes hexadecimal (either case); `None` if it is not valid hex.
pub fn from_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    s.as_bytes()
        .chunks(2)
        .map(|pair| {
            let text = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(text, 16).ok()
        })
        .collect()
}

// Meta's webhooks live in [`crate::meta`] with the rest of what Meta's platforms share;
// these names stay for connectors written before it.

/// Meta's webhook handshake: see [`meta::handshake`](crate::meta::handshake).
#[deprecated(since = "0.2.0", note = "use switchboard_sdk::meta::handshake")]
pub fn meta_handshake(
    req: &HttpRequest,
    verify_token: Option<&str>,
    platform: &str,
) -> HttpResponse {
    crate::meta::handshake(req, verify_token, platform)
}

/// Meta's signature check: see [`meta::check_signature`](crate::meta::check_signature).
#[deprecated(since = "0.2.0", note = "use switchboard_sdk::meta::check_signature")]
pub fn meta_check_signature(
    req: &HttpRequest,
    app_secret: Option<&str>,
    platform: &str,
) -> Result<(), HttpResponse> {
    crate::meta::check_signature(req, app_secret, platform)
}

/// A signed Meta body as JSON: see [`meta::signed_json`](crate::meta::signed_json).
#[deprecated(since = "0.2.0", note = "use switchboard_sdk::meta::signed_json")]
pub fn meta_signed_json<T: serde::de::DeserializeOwned>(
    req: &HttpRequest,
    app_secret: Option<&str>,
    platform: &str,
) -> Result<T, HttpResponse> {
    crate::meta::signed_json(req, app_secret, platform)
}

/// Meta's `X-Hub-Signature-256` for a body: see [`meta::signature`](crate::meta::signature).
#[deprecated(since = "0.2.0", note = "use switchboard_sdk::meta::signature")]
pub fn meta_signature(app_secret: &str, raw_body: &[u8]) -> String {
    crate::meta::signature(app_secret, raw_body)
}

/// Checks Meta's `X-Hub-Signature-256`: see
/// [`meta::verify_signature`](crate::meta::verify_signature).
#[deprecated(since = "0.2.0", note = "use switchboard_sdk::meta::verify_signature")]
pub fn verify_meta_signature(app_secret: &str, raw_body: &[u8], header_value: &str) -> bool {
    crate::meta::verify_signature(app_secret, raw_body, header_value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            to_hex(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn hex_and_constant_time_eq() {
        assert_eq!(from_hex("00ffA0"), Some(vec![0, 255, 160]));
        assert_eq!(from_hex("0"), None);
        assert_eq!(from_hex("+1"), None);
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }

    #[test]
    fn query_parsing() {
        let req = HttpRequest::new(
            "GET",
            "/webhooks/fb?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=a%2Bb+c",
        );
        assert_eq!(
            query_param(&req, "hub.challenge").as_deref(),
            Some("1158201444")
        );
        assert_eq!(
            query_param(&req, "hub.verify_token").as_deref(),
            Some("a+b c")
        );
        assert_eq!(query_param(&req, "missing"), None);
        assert_eq!(query(&HttpRequest::new("GET", "/x")), vec![]);
        assert_eq!(
            parse_query("?a=1"),
            vec![("a".to_string(), "1".to_string())]
        );
        let req = req.with_header("X-Hub-Signature-256", "sha256=ab");
        assert_eq!(header(&req, "x-hub-signature-256"), Some("sha256=ab"));
    }
}
