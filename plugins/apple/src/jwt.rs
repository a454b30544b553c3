//! HS256 JSON Web Tokens as the MSP API uses them, and the base64 flavours they need.

use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::{Value, json};
use switchboard_sdk::webhook::{constant_time_eq, hmac_sha256};

/// base64url without padding (JWT segments); decoding accepts padding too.
const B64URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Standard base64 (the shared secret as Apple delivers it); padding optional.
const B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// How far clocks may disagree when checking `exp` and `nbf`, in seconds.
pub(crate) const LEEWAY_S: i64 = 60;

/// Decodes the shared secret: standard base64, or base64url, padding optional.
pub(crate) fn decode_secret(encoded: &str) -> Option<Vec<u8>> {
    let trimmed: String = encoded.chars().filter(|c| !c.is_whitespace()).collect();
    B64.decode(&trimmed)
        .or_else(|_| B64URL.decode(&trimmed))
        .ok()
        .filter(|s| !s.is_empty())
}

/// base64url of `bytes`, unpadded.
pub(crate) fn b64url(bytes: &[u8]) -> String {
    B64URL.encode(bytes)
}

/// A compact HS256 token carrying `claims`.
pub(crate) fn sign(secret: &[u8], claims: &Value) -> String {
    let header = b64url(json!({"alg": "HS256", "typ": "JWT"}).to_string().as_bytes());
    let payload = b64url(claims.to_string().as_bytes());
    let signing_input = format!("{header}.{payload}");
    let signature = b64url(&hmac_sha256(secret, signing_input.as_bytes()));
    format!("{signing_input}.{signature}")
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum JwtError {
    Malformed(&'static str),
    Algorithm(String),
    Signature,
    Audience,
    Expired,
    NotYetValid,
}

impl std::fmt::Display for JwtError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JwtError::Malformed(why) => write!(f, "malformed token: {why}"),
            JwtError::Algorithm(alg) => write!(f, "algorithm {alg:?} is not HS256"),
            JwtError::Signature => write!(f, "bad signature"),
            JwtError::Audience => write!(f, "audience is not our provider id"),
            JwtError::Expired => write!(f, "token expired"),
            JwtError::NotYetValid => write!(f, "token not valid yet"),
        }
    }
}

fn segment_json(segment: &str, what: &'static str) -> Result<Value, JwtError> {
    let bytes = B64URL
        .decode(segment)
        .map_err(|_| JwtError::Malformed(what))?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| JwtError::Malformed(what))?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(JwtError::Malformed(what))
    }
}

fn numeric(claims: &Value, name: &str) -> Result<Option<i64>, JwtError> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .or_else(|| v.as_f64().map(|f| f as i64))
            .map(Some)
            .ok_or(JwtError::Malformed("numeric claim")),
    }
}

/// Checks `token` (HS256 only, signature over `header.payload` keyed with `secret`), that
/// its `aud` is (or contains) `audience`, and `exp`/`nbf` against `now_s` with some leeway.
/// Returns the claims.
pub(crate) fn verify(
    token: &str,
    secret: &[u8],
    audience: &str,
    now_s: i64,
) -> Result<Value, JwtError> {
    let mut parts = token.trim().split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed("not three segments"));
    };
    let header = segment_json(h, "header")?;
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
    if alg != "HS256" {
        return Err(JwtError::Algorithm(alg.to_string()));
    }
    let given = B64URL
        .decode(s)
        .map_err(|_| JwtError::Malformed("signature"))?;
    let expected = hmac_sha256(secret, format!("{h}.{p}").as_bytes());
    if !constant_time_eq(&expected, &given) {
        return Err(JwtError::Signature);
    }
    let claims = segment_json(p, "payload")?;
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => a == audience,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(audience)),
        _ => false,
    };
    if !aud_ok {
        return Err(JwtError::Audience);
    }
    // Saturating: a claim may hold any number (`exp: i64::MAX` overflowed).
    if numeric(&claims, "exp")?.is_some_and(|exp| now_s > exp.saturating_add(LEEWAY_S)) {
        return Err(JwtError::Expired);
    }
    if numeric(&claims, "nbf")?.is_some_and(|nbf| nbf > now_s.saturating_add(LEEWAY_S)) {
        return Err(JwtError::NotYetValid);
    }
    Ok(claims)
}

/// A UUID (version 4 layout) derived from `seed`, so the same seed always gives the same id.
pub(crate) fn uuid_from(seed: &str) -> String {
    let digest = hmac_sha256(b"switchboard-apple-message-id", seed.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex = switchboard_sdk::webhook::to_hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}
