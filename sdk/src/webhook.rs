//! Helpers for handling inbound webhook requests: headers, query strings and
//! signatures.

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

/// Answers Meta's webhook verification (`GET ?hub.mode=subscribe&hub.challenge=..&
/// hub.verify_token=..`), shared by every Meta platform (page feed, Messenger,
/// WhatsApp): the challenge when the mode is `subscribe` and the token matches
/// `verify_token` (compared in constant time), else 403; 400 without a challenge.
/// `platform` names the connector in the log.
pub fn meta_handshake(
    req: &HttpRequest,
    verify_token: Option<&str>,
    platform: &str,
) -> HttpResponse {
    let Some(expected) = verify_token.filter(|t| !t.is_empty()) else {
        crate::log::warn(format!(
            "{platform}: webhook verification refused: no `verify_token` secret configured"
        ));
        return HttpResponse::text(403, "verification refused");
    };
    let token_ok = query_param(req, "hub.verify_token")
        .is_some_and(|t| constant_time_eq(t.as_bytes(), expected.as_bytes()));
    if query_param(req, "hub.mode").as_deref() != Some("subscribe") || !token_ok {
        crate::log::warn(format!(
            "{platform}: webhook verification refused: wrong mode or verify token"
        ));
        return HttpResponse::text(403, "verification refused");
    }
    match query_param(req, "hub.challenge") {
        Some(challenge) => HttpResponse::text(200, challenge),
        None => HttpResponse::text(400, "missing hub.challenge"),
    }
}

/// Checks the `X-Hub-Signature-256` of a Meta webhook POST (page feed, Messenger,
/// WhatsApp) against `app_secret`. `Err` is the 401 to answer, with the reason logged
/// under `platform`.
pub fn meta_check_signature(
    req: &HttpRequest,
    app_secret: Option<&str>,
    platform: &str,
) -> Result<(), HttpResponse> {
    let Some(app_secret) = app_secret.filter(|s| !s.is_empty()) else {
        crate::log::error(format!(
            "{platform}: webhook POST refused: no `app_secret` secret configured"
        ));
        return Err(HttpResponse::text(401, "signature cannot be checked"));
    };
    let Some(signature) = header(req, "x-hub-signature-256") else {
        crate::log::warn(format!(
            "{platform}: webhook POST without X-Hub-Signature-256 refused"
        ));
        return Err(HttpResponse::text(401, "missing X-Hub-Signature-256"));
    };
    if !verify_meta_signature(app_secret, &req.body, signature) {
        crate::log::warn(format!(
            "{platform}: webhook POST with a bad signature refused"
        ));
        return Err(HttpResponse::text(401, "invalid X-Hub-Signature-256"));
    }
    Ok(())
}

/// Checks a Meta webhook POST's signature ([`meta_check_signature`]) and parses its body
/// as JSON of type `T`. `Err` is the response to give instead: 401 for the signature, 400
/// for the body, with the reason logged under `platform`.
///
/// Meta delivers again whatever is not answered 2xx, and an authentic body that cannot be
/// read now cannot be read on any later delivery: a connector that would rather
/// acknowledge it (and log it) checks the signature with [`meta_check_signature`] and
/// reads the body itself (see [`crate::lenient`]).
pub fn meta_signed_json<T: serde::de::DeserializeOwned>(
    req: &HttpRequest,
    app_secret: Option<&str>,
    platform: &str,
) -> Result<T, HttpResponse> {
    meta_check_signature(req, app_secret, platform)?;
    serde_json::from_slice(&req.body).map_err(|e| {
        crate::log::warn(format!("{platform}: malformed webhook body: {e}"));
        HttpResponse::text(400, format!("malformed JSON body: {e}"))
    })
}

/// The `X-Hub-Signature-256` value Meta sends for `raw_body`: `sha256=<lowercase hex>`.
/// Useful in tests and emulators.
pub fn meta_signature(app_secret: &str, raw_body: &[u8]) -> String {
    format!(
        "sha256={}",
        to_hex(&hmac_sha256(app_secret.as_bytes(), raw_body))
    )
}

/// Checks a Meta `X-Hub-Signature-256` header (`sha256=<hex>`) against the HMAC-SHA256
/// of the exact `raw_body` bytes keyed with `app_secret`, in constant time.
///
/// Returns false for an empty secret, a missing `sha256=` prefix or malformed hex.
pub fn verify_meta_signature(app_secret: &str, raw_body: &[u8], header_value: &str) -> bool {
    if app_secret.is_empty() {
        return false;
    }
    let Some(hex) = header_value.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Some(given) = from_hex(hex) else {
        return false;
    };
    let expected = hmac_sha256(app_secret.as_bytes(), raw_body);
    constant_time_eq(&expected, &given)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_handshake_echoes_the_challenge_only_for_the_right_token() {
        let _host = crate::testing::MockHost::new();
        let req = |q: &str| HttpRequest::new("GET", format!("/webhooks/x?{q}"));
        let ok = req("hub.mode=subscribe&hub.challenge=42&hub.verify_token=tok");
        let answer = meta_handshake(&ok, Some("tok"), "test");
        assert_eq!((answer.status, answer.body), (200, b"42".to_vec()));
        for bad in [
            "hub.mode=subscribe&hub.challenge=42&hub.verify_token=nope",
            "hub.mode=unsubscribe&hub.challenge=42&hub.verify_token=tok",
        ] {
            assert_eq!(
                meta_handshake(&req(bad), Some("tok"), "test").status,
                403,
                "{bad}"
            );
        }
        assert_eq!(
            meta_handshake(&ok, None, "test").status,
            403,
            "no token configured"
        );
        assert_eq!(
            meta_handshake(&ok, Some(""), "test").status,
            403,
            "empty token"
        );
        let no_challenge = req("hub.mode=subscribe&hub.verify_token=tok");
        assert_eq!(
            meta_handshake(&no_challenge, Some("tok"), "test").status,
            400
        );
    }

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            to_hex(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn meta_signature_verification() {
        let body = br#"{"object":"page","entry":[]}"#;
        let sig = meta_signature("s3cret", body);
        assert!(sig.starts_with("sha256="));
        assert!(verify_meta_signature("s3cret", body, &sig));
        assert!(verify_meta_signature(
            "s3cret",
            body,
            &sig.to_uppercase().replace("SHA256=", "sha256=")
        ));
        assert!(!verify_meta_signature("other", body, &sig));
        assert!(!verify_meta_signature("s3cret", b"{}", &sig));
        assert!(!verify_meta_signature("s3cret", body, &sig[7..]));
        assert!(!verify_meta_signature("s3cret", body, "sha256=zz"));
        assert!(!verify_meta_signature("s3cret", body, "sha256="));
        assert!(!verify_meta_signature("", body, &meta_signature("", body)));
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
