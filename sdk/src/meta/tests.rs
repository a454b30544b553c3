//! The shared Meta pieces against the mock host.

use serde_json::json;

use super::*;
use crate::testing::MockHost;
use crate::{HttpError, Level};

const TEST: Platform = Platform::new("test", "page", "https://graph.facebook.com/v19.0")
    .access_token(
        "Page access token for the Graph API.",
        "Page access token",
        "Your app → tokens.",
    )
    .webhook_console("Webhooks → Page");

// ---------------------------------------------------------------- handshake

fn hello(query: &str) -> HttpRequest {
    HttpRequest::new("GET", format!("/webhooks/x?{query}"))
}

#[test]
fn the_handshake_answers_the_raw_challenge_for_the_right_token() {
    let _host = MockHost::new();
    let ok = handshake(
        &hello("hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=tok"),
        Some("tok"),
        "test",
    );
    assert_eq!(
        (ok.status, ok.body.as_slice()),
        (200, b"1158201444".as_slice())
    );
    // A token with characters that are escaped in a query string.
    let ok = handshake(
        &hello("hub.mode=subscribe&hub.challenge=7&hub.verify_token=a%2Bb+c"),
        Some("a+b c"),
        "test",
    );
    assert_eq!(ok.status, 200);
}

#[test]
fn the_handshake_refuses_a_wrong_token_or_mode() {
    let host = MockHost::new();
    for bad in [
        "hub.mode=subscribe&hub.challenge=42&hub.verify_token=nope",
        "hub.mode=subscribe&hub.challenge=42&hub.verify_token=to",
        "hub.mode=subscribe&hub.challenge=42",
        "hub.mode=unsubscribe&hub.challenge=42&hub.verify_token=tok",
        "hub.challenge=42&hub.verify_token=tok",
    ] {
        let answer = handshake(&hello(bad), Some("tok"), "test");
        assert_eq!(answer.status, 403, "{bad}");
        assert_ne!(answer.body, b"42", "{bad}");
    }
    let ok = hello("hub.mode=subscribe&hub.challenge=42&hub.verify_token=tok");
    assert_eq!(handshake(&ok, None, "test").status, 403, "no token set");
    assert_eq!(handshake(&ok, Some(""), "test").status, 403, "empty token");
    let empty = hello("hub.mode=subscribe&hub.challenge=42&hub.verify_token=");
    assert_eq!(handshake(&empty, Some(""), "test").status, 403);
    assert_eq!(
        handshake(
            &hello("hub.mode=subscribe&hub.verify_token=tok"),
            Some("tok"),
            "test"
        )
        .status,
        400,
        "no challenge"
    );
    assert!(
        host.logs()
            .iter()
            .all(|(_, line)| line.starts_with("test: ")),
        "{:?}",
        host.logs()
    );
}

// ---------------------------------------------------------------- signatures

fn signed(secret: &str, body: &[u8]) -> HttpRequest {
    HttpRequest::new("POST", "/webhooks/x")
        .with_header("X-Hub-Signature-256", signature(secret, body))
        .with_body(body.to_vec())
}

#[test]
fn a_good_signature_passes() {
    let _host = MockHost::new();
    let body = br#"{"object":"page","entry":[]}"#;
    let sig = signature("s3cret", body);
    assert!(sig.starts_with("sha256=") && sig.len() == 7 + 64);
    assert!(verify_signature("s3cret", body, &sig));
    let upper = format!("sha256={}", sig[7..].to_uppercase());
    assert!(
        verify_signature("s3cret", body, &upper),
        "hex of either case"
    );
    assert!(verify_signature("s3cret", body, &format!(" {sig} ")));
    assert_eq!(
        check_signature(&signed("s3cret", body), Some("s3cret"), "test"),
        Ok(())
    );
}

#[test]
fn a_bad_or_missing_signature_is_refused_with_401() {
    let host = MockHost::new();
    let body = br#"{"object":"page","entry":[]}"#;
    let sig = signature("s3cret", body);
    assert!(!verify_signature("other", body, &sig));
    assert!(!verify_signature("s3cret", b"{}", &sig));
    assert!(
        !verify_signature("s3cret", body, &sig[7..]),
        "no sha256= prefix"
    );
    assert!(!verify_signature(
        "s3cret",
        body,
        &sig.replace("sha256=", "sha1=")
    ));
    assert!(!verify_signature("s3cret", body, "sha256=zz"));
    assert!(!verify_signature("s3cret", body, "sha256="));
    assert!(
        !verify_signature("", body, &signature("", body)),
        "empty secret"
    );

    let wrong_key = signed("other", body);
    let refused = check_signature(&wrong_key, Some("s3cret"), "test").unwrap_err();
    assert_eq!(refused.status, 401);
    let missing = HttpRequest::new("POST", "/webhooks/x").with_body(body.to_vec());
    let refused = check_signature(&missing, Some("s3cret"), "test").unwrap_err();
    assert_eq!(refused.status, 401);
    assert_eq!(refused.body_text(), "missing X-Hub-Signature-256");
    let no_secret = check_signature(&signed("s3cret", body), None, "test").unwrap_err();
    assert_eq!(no_secret.status, 401);
    let empty_secret = check_signature(&signed("", body), Some(""), "test").unwrap_err();
    assert_eq!(empty_secret.status, 401);
    let mut tampered = signed("s3cret", body);
    tampered.body[2] ^= 1;
    assert!(check_signature(&tampered, Some("s3cret"), "test").is_err());
    assert!(
        host.logs()
            .iter()
            .any(|(level, line)| *level == Level::Error && line.contains("no `app_secret`"))
    );
}

/// Meta signs the body as it sent it, with non-ASCII escaped as `\uXXXX`: the check is over
/// those bytes, never over a re-serialization of what they mean.
#[test]
fn the_signature_covers_the_exact_bytes_with_unicode_escapes() {
    let _host = MockHost::new();
    let escaped = br#"{"object":"page","entry":[{"messaging":[{"message":{"text":"caf\u00e9 \ud83d\ude00 \u00fcber"}}]}]}"#;
    let sig = signature("s3cret", escaped);
    assert!(verify_signature("s3cret", escaped, &sig));

    // The same JSON with the characters themselves is another body.
    let value: serde_json::Value = serde_json::from_slice(escaped).unwrap();
    let reserialized = serde_json::to_vec(&value).unwrap();
    assert!(String::from_utf8_lossy(&reserialized).contains("café 😀 über"));
    assert!(!verify_signature("s3cret", &reserialized, &sig));

    let req = HttpRequest::new("POST", "/webhooks/x")
        .with_header(SIGNATURE_HEADER, sig)
        .with_body(escaped.to_vec());
    let read: serde_json::Value = signed_json(&req, Some("s3cret"), "test").unwrap();
    assert_eq!(
        read["entry"][0]["messaging"][0]["message"]["text"],
        "café 😀 über"
    );
}

#[test]
fn signed_json_refuses_a_malformed_body_with_400() {
    let _host = MockHost::new();
    let req = signed("s3cret", b"{\"object\":");
    let answer = signed_json::<serde_json::Value>(&req, Some("s3cret"), "test").unwrap_err();
    assert_eq!(answer.status, 400);
}

#[test]
#[allow(deprecated)]
fn the_old_names_in_webhook_still_answer() {
    let _host = MockHost::new();
    let body = b"{}";
    let sig = crate::webhook::meta_signature("k", body);
    assert_eq!(sig, signature("k", body));
    assert!(crate::webhook::verify_meta_signature("k", body, &sig));
    let req = signed("k", body);
    assert_eq!(
        crate::webhook::meta_check_signature(&req, Some("k"), "t"),
        Ok(())
    );
    let hi = hello("hub.mode=subscribe&hub.challenge=1&hub.verify_token=v");
    assert_eq!(
        crate::webhook::meta_handshake(&hi, Some("v"), "t").status,
        200
    );
}

// ---------------------------------------------------------------- settings

fn channel() -> MockHost {
    let host = MockHost::new();
    host.set_config("graph_base_url", "http://graph.test/v19.0/")
        .set_secret("access_token", "EAAG-token")
        .set_secret("app_secret", "s3cret")
        .set_secret("verify_token", "tok");
    host
}

#[test]
fn settings_are_loaded_with_the_platform_default() {
    let host = channel();
    let settings = TEST.load().unwrap();
    assert_eq!(settings.graph_base_url, "http://graph.test/v19.0");
    assert_eq!(settings.access_token.as_deref(), Some("EAAG-token"));
    assert_eq!(settings.app_secret.as_deref(), Some("s3cret"));
    assert_eq!(settings.verify_token.as_deref(), Some("tok"));
    let debug = format!("{settings:?}");
    assert!(
        !debug.contains("EAAG-token") && !debug.contains("s3cret") && !debug.contains("\"tok\""),
        "{debug}"
    );
    assert!(!format!("{:?}", settings.graph()).contains("EAAG-token"));

    host.remove_config("graph_base_url")
        .set_secret("access_token", "  ")
        .set_secret("app_secret", "")
        .remove_secret("verify_token");
    let settings = Settings::load(&TEST).unwrap();
    assert_eq!(settings.graph_base_url, "https://graph.facebook.com/v19.0");
    assert_eq!(
        (
            settings.access_token,
            settings.app_secret,
            settings.verify_token
        ),
        (None, None, None)
    );

    host.set_config("graph_base_url", "graph.test");
    assert!(matches!(
        TEST.load(),
        Err(ConnectorError::InvalidConfig(m)) if m.contains("`graph_base_url`")
    ));
}

#[test]
fn missing_secrets_are_warned_about() {
    let host = MockHost::new();
    TEST.load().unwrap().warn_if_incomplete();
    let logs = host.logs();
    assert_eq!(logs.len(), 2, "{logs:?}");
    assert!(logs[0].1.starts_with("test: no `access_token`"));
    assert!(logs[1].1.starts_with("test: no `app_secret`"));
    let host = channel();
    TEST.load().unwrap().warn_if_incomplete();
    assert!(host.logs().is_empty());
}

#[test]
fn the_shared_keys_are_declared_once() {
    let keys = TEST.config_keys();
    let names: Vec<&str> = keys.iter().map(|k| k.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "graph_base_url",
            "verify_token",
            "app_secret",
            "access_token"
        ]
    );
    assert!(!keys[0].secret && keys[1..].iter().all(|k| k.secret));
    assert!(keys.iter().all(|k| !k.required));
    assert_eq!(
        keys[0].default_value.as_deref(),
        Some("https://graph.facebook.com/v19.0")
    );
    assert_eq!(
        keys[1].where_to_find.as_deref(),
        Some(
            "Make one up and type the same value in Meta for Developers → your app → Webhooks → Page → Verify token."
        )
    );
    assert_eq!(keys[3].label.as_deref(), Some("Page access token"));
    assert_eq!(keys[3].description, "Page access token for the Graph API.");
    assert!(
        keys.iter()
            .all(|k| k.label.is_some() && k.where_to_find.is_some())
    );
    assert_eq!(TEST.graph_host(), "https://graph.facebook.com");
    let local = Platform::new("x", "x", "http://127.0.0.1:9000/v1");
    assert_eq!(local.graph_host(), "http://127.0.0.1:9000");
}

// ---------------------------------------------------------------- reading a webhook

#[derive(Debug, serde::Deserialize, PartialEq)]
struct Entry {
    id: String,
}

#[test]
fn read_webhook_gives_the_entries_of_an_authentic_post() {
    let host = channel();
    let settings = TEST.load().unwrap();
    let body = json!({"object": "page", "entry": [{"id": "1"}, 42, {"id": "2"}]}).to_string();
    let entries = settings
        .read_webhook::<Entry>(&signed("s3cret", body.as_bytes()))
        .unwrap();
    assert_eq!(
        entries.items,
        [Entry { id: "1".into() }, Entry { id: "2".into() }]
    );
    assert_eq!(
        entries.errors.len(),
        1,
        "the odd entry is left out, with why"
    );

    let answer = settings
        .read_webhook::<Entry>(&hello(
            "hub.mode=subscribe&hub.challenge=9&hub.verify_token=tok",
        ))
        .unwrap_err();
    assert_eq!(
        (answer.status, answer.body.as_slice()),
        (200, b"9".as_slice())
    );
    let forged = settings
        .read_webhook::<Entry>(&signed("other", body.as_bytes()))
        .unwrap_err();
    assert_eq!(forged.status, 401);
    let put = settings
        .read_webhook::<Entry>(&HttpRequest::new("PUT", "/x"))
        .unwrap_err();
    assert_eq!(put.status, 405);

    // Authentic, and unreadable or of another object: acknowledged, not retried forever.
    for body in ["{\"object\":", "[]", r#"{"object":"instagram","entry":[]}"#] {
        let answer = settings
            .read_webhook::<Entry>(&signed("s3cret", body.as_bytes()))
            .unwrap_err();
        assert_eq!(
            (answer.status, answer.body_text().as_str()),
            (200, ACCEPTED),
            "{body}"
        );
    }
    let logs = host.logs();
    assert!(
        logs.iter().any(|(level, line)| *level == Level::Error
            && line
                .starts_with("test: an authentic webhook body could not be read and was dropped")),
        "{logs:?}"
    );
    assert!(
        logs.iter()
            .any(|(level, line)| *level == Level::Info && line.contains("\"instagram\"")),
        "{logs:?}"
    );
}

// ---------------------------------------------------------------- Graph errors

fn graph_error(status: u16, error: serde_json::Value) -> HttpResponse {
    HttpResponse::json(status, &json!({ "error": error }))
}

fn coded(status: u16, code: i64, message: &str) -> HttpResponse {
    graph_error(
        status,
        json!({"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "Ax"}),
    )
}

fn mapped(resp: HttpResponse) -> ConnectorError {
    check(Ok(resp)).unwrap_err().error
}

#[test]
fn a_success_passes_and_an_error_body_never_does() {
    let ok = HttpResponse::json(200, &json!({"id": "1"}));
    assert_eq!(check(Ok(ok.clone())), Ok(ok));
    // A list is an unreadable answer for the caller to judge, not a Graph error.
    let list = HttpResponse::json(200, &json!([{"error": {"code": 1}}]));
    assert!(check(Ok(list)).is_ok());
    // A string `error` is not a Graph error body either.
    assert!(check(Ok(HttpResponse::json(200, &json!({"error": "x"})))).is_ok());
    // An error body under a 200 is an error.
    assert!(matches!(
        mapped(coded(200, 190, "expired")),
        ConnectorError::Unauthorized(_)
    ));
}

#[test]
fn no_answer_is_the_http_layers_error_in_context() {
    let failure = check(Err(HttpError::from("connection refused"))).unwrap_err();
    assert_eq!(
        failure.error,
        ConnectorError::Transient(
            "Graph API request failed: connection failed: connection refused".into()
        )
    );
    assert_eq!((failure.status, failure.code()), (None, None));
    let refused = HttpError::Refused("host of `https://graph.test` is not allowed".into());
    assert!(matches!(
        check(Err(refused)).unwrap_err().error,
        ConnectorError::InvalidConfig(m) if m.starts_with("Graph API request failed: refused by the host")
    ));
}

#[test]
fn a_refused_token_is_unauthorized() {
    assert_eq!(
        mapped(coded(
            400,
            190,
            "Error validating access token: Session has expired"
        )),
        ConnectorError::Unauthorized(
            "190: Error validating access token: Session has expired".into()
        )
    );
    // HTTP 401 whatever the code says (only WhatsApp mapped it so before).
    assert!(matches!(
        mapped(coded(401, 100, "Invalid OAuth access token")),
        ConnectorError::Unauthorized(m) if m.contains("Invalid OAuth access token")
    ));
    assert_eq!(
        mapped(HttpResponse::text(401, "no")),
        ConnectorError::Unauthorized("Graph API answered HTTP 401: no".into())
    );
    // A bare 403 (a proxy, a revoked app) refuses the credentials; a 403 with a Graph
    // error says what was refused.
    assert!(matches!(
        mapped(HttpResponse::text(403, "<html>Forbidden</html>")),
        ConnectorError::Unauthorized(m) if m.contains("403")
    ));
    assert!(matches!(
        mapped(HttpResponse::empty(403)),
        ConnectorError::Unauthorized(_)
    ));
}

#[test]
fn permission_errors_are_rejected_not_unauthorized() {
    for code in [10, 200, 230, 299] {
        assert!(
            matches!(mapped(coded(403, code, "(#200) Permissions error")), ConnectorError::Rejected(m) if m.contains("Permissions error")),
            "code {code}"
        );
    }
    let window = graph_error(
        400,
        json!({"message": "(#10) This message is sent outside of allowed window.", "code": 10, "error_subcode": 2018278}),
    );
    assert_eq!(
        mapped(window),
        ConnectorError::Rejected(
            "10: This message is sent outside of allowed window. (subcode 2018278)".into()
        )
    );
}

#[test]
fn rate_limits_wait_as_long_as_the_code_or_the_answer_says() {
    let mut codes = vec![4, 17, 32, 613];
    codes.extend(80001..=80009);
    for code in codes {
        assert_eq!(
            mapped(coded(400, code, "(#4) Application request limit reached")),
            ConnectorError::RateLimited(RATE_LIMIT_BACKOFF_MS),
            "code {code}"
        );
    }
    assert_eq!(
        mapped(HttpResponse::text(429, "slow down")),
        ConnectorError::RateLimited(RATE_LIMIT_BACKOFF_MS)
    );
    assert_eq!(
        mapped(coded(429, 4, "(#4) Application request limit reached")),
        ConnectorError::RateLimited(RATE_LIMIT_BACKOFF_MS)
    );
    assert_eq!(
        mapped(coded(400, 130429, "(#130429) Rate limit hit")),
        ConnectorError::RateLimited(THROUGHPUT_BACKOFF_MS)
    );
    assert_eq!(
        mapped(coded(400, 131056, "(#131056) Pair rate limit hit")),
        ConnectorError::RateLimited(PAIR_RATE_BACKOFF_MS)
    );

    // The answer's own word on how long.
    let with = |name: &str, value: &str| coded(400, 4, "limit").with_header(name, value);
    assert_eq!(
        mapped(with("Retry-After", "120")),
        ConnectorError::RateLimited(120_000)
    );
    let usage = r#"{"448242228374517":[{"type":"pages","call_count":100,"total_cputime":25,"total_time":25,"estimated_time_to_regain_access":5},{"type":"messenger","estimated_time_to_regain_access":2}]}"#;
    assert_eq!(
        mapped(with("X-Business-Use-Case-Usage", usage)),
        ConnectorError::RateLimited(5 * 60_000)
    );
    assert_eq!(
        mapped(with("Retry-After", "999999")),
        ConnectorError::RateLimited(MAX_BACKOFF_MS)
    );
    for useless in [
        ("Retry-After", "0"),
        ("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT"),
    ] {
        assert_eq!(
            mapped(with(useless.0, useless.1)),
            ConnectorError::RateLimited(RATE_LIMIT_BACKOFF_MS),
            "{useless:?}"
        );
    }
    assert_eq!(
        mapped(with("X-Business-Use-Case-Usage", "not json")),
        ConnectorError::RateLimited(RATE_LIMIT_BACKOFF_MS)
    );
    // `X-App-Usage` says how much of the quota is used, not for how long.
    assert_eq!(
        mapped(with(
            "X-App-Usage",
            r#"{"call_count":100,"total_time":40,"total_cputime":30}"#
        )),
        ConnectorError::RateLimited(RATE_LIMIT_BACKOFF_MS)
    );
    // A header does not make a rate limit of another error.
    assert!(matches!(
        mapped(coded(400, 100, "Invalid parameter").with_header("Retry-After", "5")),
        ConnectorError::Rejected(_)
    ));
}

#[test]
fn server_trouble_is_transient() {
    assert!(matches!(
        mapped(HttpResponse::text(503, "upstream unavailable")),
        ConnectorError::Transient(m) if m == "Graph API answered HTTP 503: upstream unavailable"
    ));
    assert!(matches!(
        mapped(coded(500, 999, "An unexpected error has occurred")),
        ConnectorError::Transient(m) if m.contains("An unexpected error")
    ));
    for code in [1, 2, 131000, 131016] {
        assert!(
            matches!(
                mapped(coded(400, code, "try later")),
                ConnectorError::Transient(_)
            ),
            "code {code}"
        );
    }
    let hinted = graph_error(
        400,
        json!({"message": "busy", "code": 9999, "is_transient": true}),
    );
    assert!(matches!(mapped(hinted), ConnectorError::Transient(_)));
}

#[test]
fn anything_else_is_rejected_with_the_platforms_words() {
    assert_eq!(
        mapped(coded(400, 100, "(#100) Invalid parameter")),
        ConnectorError::Rejected("100: Invalid parameter".into())
    );
    for code in [368, 551, 10900, 131026, 131047] {
        assert!(
            matches!(mapped(coded(400, code, "no")), ConnectorError::Rejected(_)),
            "code {code}"
        );
    }
    let cloud = graph_error(
        400,
        json!({"message": "(#131047) Re-engagement message", "code": 131047,
               "error_data": {"messaging_product": "whatsapp", "details": "More than 24 hours have passed."}}),
    );
    let failure = check(Ok(cloud)).unwrap_err();
    assert_eq!(
        failure.error,
        ConnectorError::Rejected(
            "131047: Re-engagement message (More than 24 hours have passed.)".into()
        )
    );
    assert_eq!((failure.status, failure.code()), (Some(400), Some(131047)));
    assert_eq!(failure.to_string(), failure.error.to_string());
    assert_eq!(
        ConnectorError::from(failure.clone()),
        failure.error,
        "`?` gives the error"
    );
    let long = HttpResponse::text(418, "x".repeat(1000));
    assert!(matches!(mapped(long), ConnectorError::Rejected(m) if m.len() < 400));
}

#[test]
fn the_error_body_is_read_leniently() {
    let odd = graph_error(
        400,
        json!({"message": 5, "type": ["x"], "code": "190", "error_subcode": "463", "fbtrace_id": 1}),
    );
    let failure = check(Ok(odd)).unwrap_err();
    assert_eq!(failure.code(), Some(190));
    assert_eq!(failure.subcode(), Some(463));
    assert_eq!(
        failure.error,
        ConnectorError::Unauthorized("190: Graph API error (HTTP 400) (subcode 463)".into())
    );
    let empty = GraphError::from_body(br#"{"error": {}}"#).unwrap();
    assert_eq!(empty, GraphError::default());
    assert_eq!(
        mapped(graph_error(400, json!({}))),
        ConnectorError::Rejected("Graph API error (HTTP 400)".into())
    );
    let titled = GraphError::from_body(
        br#"{"error": {"title": "Re-engagement message", "message": "(#131047) other words"}}"#,
    )
    .unwrap();
    assert_eq!(titled.title().as_deref(), Some("Re-engagement message"));
    let user = GraphError::from_body(br#"{"error": {"error_user_title": "Not sent"}}"#).unwrap();
    assert_eq!(user.title().as_deref(), Some("Not sent"));
}

// ---------------------------------------------------------------- redaction

#[test]
fn a_secret_is_blanked_out_of_texts_and_errors() {
    assert_eq!(
        redact("Malformed access token EAAG-x1", "EAAG-x1"),
        "Malformed access token [the token]"
    );
    assert_eq!(redact("token EAAG x", " EAAG x "), "token [the token]");
    assert_eq!(
        redact("url ?access_token=a%2Bb", "a+b"),
        "url ?access_token=[the token]"
    );
    assert_eq!(redact("nothing to hide", ""), "nothing to hide");
    assert_eq!(redact("nothing to hide", "   "), "nothing to hide");
    assert_eq!(
        redact_error(ConnectorError::Rejected("t=abc".into()), "abc"),
        ConnectorError::Rejected("t=[the token]".into())
    );
    assert_eq!(
        redact_error(ConnectorError::RateLimited(5), "abc"),
        ConnectorError::RateLimited(5)
    );
    let failure = check(Ok(graph_error(
        400,
        json!({"message": "Malformed access token abc", "code": 190, "error_data": {"details": "abc"}}),
    )))
    .unwrap_err()
    .redact("abc");
    assert!(!format!("{failure:?}").contains("abc"), "{failure:?}");
}

// ---------------------------------------------------------------- requests

#[test]
fn graph_sends_the_token_as_a_bearer_header_and_redacts_it() {
    let host = channel();
    host.on_http(|req| {
        Ok(if req.url.ends_with("/me?fields=id,name") {
            HttpResponse::json(200, &json!({"id": "1"}))
        } else {
            coded(400, 190, "Malformed access token EAAG-token")
        })
    });
    let graph = TEST.load().unwrap().graph();
    assert!(graph.has_token());
    assert_eq!(graph.base_url(), "http://graph.test/v19.0");
    assert_eq!(
        graph.url("/me?fields=id,name"),
        "http://graph.test/v19.0/me?fields=id,name"
    );
    assert_eq!(
        graph.object_url("1_2/x?y"),
        "http://graph.test/v19.0/1_2%2Fx%3Fy"
    );
    graph.get(&graph.url("me?fields=id,name")).unwrap();
    let err = graph
        .post_form(&graph.object_url("c1"), &[("message", "hi")])
        .unwrap_err();
    assert_eq!(
        err.error,
        ConnectorError::Unauthorized("190: Malformed access token [the token]".into())
    );
    assert_eq!(
        err.graph.unwrap().message.as_deref(),
        Some("Malformed access token [the token]")
    );
    graph.delete(&graph.object_url("c1")).unwrap_err();
    graph
        .post_json(&graph.url("p/messages"), &json!({"a": 1}))
        .unwrap_err();
    let reqs = host.requests();
    assert_eq!(reqs.len(), 4);
    for req in &reqs {
        assert_eq!(req.header("authorization"), Some("Bearer EAAG-token"));
        assert!(!req.url.contains("EAAG"));
    }
    assert_eq!(reqs[1].body, b"message=hi");
    assert_eq!(
        reqs[1].header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(reqs[2].method, "DELETE");
    assert_eq!(reqs[3].header("content-type"), Some("application/json"));

    host.remove_secret("access_token").clear_requests();
    let graph = TEST.load().unwrap().graph();
    assert!(!graph.has_token());
    let _ = graph.get(&graph.url("me"));
    assert_eq!(host.requests()[0].header("authorization"), None);
}

#[test]
fn graph_can_send_the_token_as_a_parameter_and_still_keep_it_out_of_errors() {
    let host = channel();
    host.set_secret("access_token", "IG+token");
    host.on_http(|req| {
        Err(HttpError::Refused(format!(
            "host of `{}` is not allowed",
            req.url
        )))
    });
    let platform = TEST.token_in_query();
    assert_eq!(platform.token_placement, TokenPlacement::QueryParameter);
    let graph = platform.load().unwrap().graph();
    let err = graph.get(&graph.url("me?fields=id")).unwrap_err();
    let asked = &host.requests()[0];
    assert_eq!(
        asked.url,
        "http://graph.test/v19.0/me?fields=id&access_token=IG%2Btoken"
    );
    assert_eq!(asked.header("authorization"), None);
    assert!(matches!(
        &err.error,
        ConnectorError::InvalidConfig(m) if m.contains("access_token=[the token]") && !m.contains("IG")
    ));
}

#[test]
fn graph_logs_a_rate_limit_under_the_platforms_name() {
    let host = channel();
    host.on_http(|_| Ok(coded(400, 4, "(#4) Application request limit reached")));
    let graph = TEST.load().unwrap().graph();
    let err: ConnectorError = graph.get(&graph.url("me")).unwrap_err().into();
    assert_eq!(err, ConnectorError::RateLimited(RATE_LIMIT_BACKOFF_MS));
    let logs = host.logs();
    assert!(
        logs.iter().any(|(level, line)| *level == Level::Warn
            && line == "test: rate limited by the Graph API for 60000 ms: 4: Application request limit reached"),
        "{logs:?}"
    );
}
