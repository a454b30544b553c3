//! Structured fuzzing of the inbound MSP webhook (see `tests/fuzz-kit`): the message
//! body behind a valid token, and the token's claims themselves (signed with the shared
//! secret over the mutated claims, so the signature check passes and the claims are
//! read), both fed through the connector's real entry point. Apple has no poll.
//! `SWITCHBOARD_FUZZ_CASES` sets the count.

use fuzz_kit::{Case, Corpus, Verdict, check_events, fuzz, logged_at_least};
use serde_json::{Value, json};
use switchboard_sdk::webhook::hmac_sha256;
use switchboard_sdk::{Connector, HttpRequest, Level};

use super::{BUSINESS, CUSTOMER, NOW_S, PROVIDER, SECRET, good_token, host, text_body};
use crate::{Apple, jwt};

fn body_corpus() -> Corpus {
    let picker = json!({"v": 1, "type": "interactive", "id": "a1", "sourceId": CUSTOMER,
        "destinationId": BUSINESS, "interactiveData": {"data": {"requestIdentifier": "r1",
        "listPicker": {"sections": [{"items": [
            {"identifier": "1", "title": "Red", "selected": true},
            {"identifier": "2", "title": "Blue"}]}]}}}});
    let reply = json!({"v": 1, "type": "interactive", "id": "a2", "sourceId": CUSTOMER,
        "destinationId": BUSINESS, "interactiveData": {"data": {"replyMessage": {"title": "OK"}}}});
    let mut attachments = text_body("a3", "a photo");
    attachments["attachments"] = json!([{"name": "p.jpg", "mimeType": "image/jpeg", "size": 10}]);
    attachments["intent"] = json!("billing");
    attachments["group"] = json!("vip");
    Corpus::new()
        .bytes(
            "fixture",
            include_str!("../../../../tests/fixtures/payloads/apple_text.json"),
        )
        .json("list picker", &picker)
        .json("reply message", &reply)
        .json("attachments", &attachments)
        .json(
            "rich link and quick reply",
            &json!({"v": 1, "type": "richLink", "id": "a5", "sourceId": CUSTOMER,
            "destinationId": BUSINESS, "body": "https://x.test", "richLinkData": {"url": "https://x.test", "title": "X"},
            "interactiveData": {"data": {"quick-reply": {"selectedIdentifier": "1", "items": [{"identifier": "1", "title": "Y"}]}}}}),
        )
        .json(
            "reference and close",
            &json!({"v": 1, "type": "interactive", "id": "a6", "sourceId": CUSTOMER,
            "destinationId": BUSINESS, "interactiveDataRef": {"size": 20480, "key": "00"}}),
        )
        .json(
            "typing",
            &json!({"v": 1, "type": "typing_start", "id": "a4",
            "sourceId": CUSTOMER, "destinationId": BUSINESS}),
        )
}

fn request(token: &str, body: Vec<u8>) -> HttpRequest {
    HttpRequest::new("POST", "/webhooks/apple")
        .with_header("content-type", "application/json")
        .with_header("authorization", format!("Bearer {token}"))
        .with_header("id", "hdr-id")
        .with_header("source-id", CUSTOMER)
        .with_header("destination-id", BUSINESS)
        .with_body(body)
}

fn body_case(case: &mut Case) -> Verdict {
    let host = host();
    let forged = case.one_in(20);
    let token = if forged {
        jwt::sign(b"not-the-secret", &json!({"aud": PROVIDER}))
    } else {
        good_token()
    };
    let out = Apple
        .handle_webhook(request(&token, case.bytes.clone()))
        .map_err(|e| format!("handle_webhook failed: {e:?}"))?;
    check_events(&out.events)?;
    let status = out.response.status;
    let object = serde_json::from_slice::<Value>(&case.bytes).is_ok_and(|v| v.is_object());
    match (forged, status, object) {
        (true, 401, _) if out.events.is_empty() => Ok("forged: 401"),
        (true, ..) => Err(format!("a forged request got {status}")),
        // See `webhook.rs`: a body that is not an object is refused, and logged.
        (false, 400, false) if logged_at_least(&host.logs(), Level::Error) => Ok("400"),
        (false, 200, true) if out.events.is_empty() => Ok("200, no events"),
        (false, 200, true) => Ok("200 with events"),
        _ => Err(format!(
            "answered {status} to {} body",
            if object { "an object" } else { "a non-object" }
        )),
    }
}

#[test]
fn fuzz_apple_webhook() {
    let report = fuzz("apple_webhook", body_corpus(), body_case);
    assert!(report.reached("200 with events", 0.1), "{report:?}");
    assert!(
        report.reached("400", 0.0) && report.reached("forged: 401", 0.0),
        "{report:?}"
    );
}

fn claims_corpus() -> Corpus {
    Corpus::new()
        .json(
            "claims",
            &json!({"aud": PROVIDER, "iss": "apple", "iat": NOW_S, "exp": NOW_S + 3600, "nbf": NOW_S - 10}),
        )
        .json(
            "audience list",
            &json!({"aud": ["other", PROVIDER], "iat": NOW_S, "exp": (NOW_S + 60) as f64}),
        )
}

/// A token over the mutated claims bytes, signed with the channel's secret.
fn token_over(claims: &[u8]) -> String {
    let header = jwt::b64url(br#"{"alg":"HS256","typ":"JWT"}"#);
    let input = format!("{header}.{}", jwt::b64url(claims));
    format!(
        "{input}.{}",
        jwt::b64url(&hmac_sha256(SECRET, input.as_bytes()))
    )
}

fn claims_case(case: &mut Case) -> Verdict {
    let _host = host();
    let body = serde_json::to_vec(&text_body("c1", "hi")).unwrap_or_default();
    let out = Apple
        .handle_webhook(request(&token_over(&case.bytes), body))
        .map_err(|e| format!("handle_webhook failed: {e:?}"))?;
    check_events(&out.events)?;
    match out.response.status {
        200 if !out.events.is_empty() => Ok("accepted"),
        401 if out.events.is_empty() => Ok("refused: 401"),
        other => Err(format!("answered {other} with {:?}", out.events)),
    }
}

#[test]
fn fuzz_apple_token_claims() {
    let report = fuzz("apple_claims", claims_corpus(), claims_case);
    assert!(report.reached("accepted", 0.05), "{report:?}");
    assert!(report.reached("refused: 401", 0.0), "{report:?}");
}

// ---------------------------------------------------------------- found by fuzzing

/// `exp: i64::MAX` (or a huge float, read as `i64::MAX`) overflowed `exp + leeway` and
/// panicked in a debug build; such a token simply does not expire.
#[test]
fn the_largest_expiry_does_not_overflow() {
    for exp in [json!(i64::MAX), json!(1e300)] {
        let claims = json!({"aud": PROVIDER, "exp": exp, "nbf": i64::MIN});
        assert!(jwt::verify(&jwt::sign(SECRET, &claims), SECRET, PROVIDER, NOW_S).is_ok());
        let claims = json!({"aud": PROVIDER, "nbf": i64::MAX});
        assert!(jwt::verify(&jwt::sign(SECRET, &claims), SECRET, PROVIDER, i64::MAX).is_ok());
    }
}
