//! Every refusal of the API is JSON in the documented error shape (`{"error", "code"}`),
//! with a message in plain words, and its status is documented for the operation: the
//! refusals axum's extractors make (a path id that is not a number, a body that is not
//! JSON or not sent as JSON, a wrong field, a body over the limit, a bad query) and the
//! router's own (an unknown path, a wrong method), besides the handlers' (issue 13;
//! Schemathesis checks the same in CI, on generated requests).

use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};

use crate::harness::World;

/// One request and what it must be answered.
struct Case {
    method: &'static str,
    /// Under `/api/v1`.
    path: &'static str,
    /// The operation in the document (`None`: no operation, such as an unknown path).
    operation: Option<&'static str>,
    body: Body,
    token: bool,
    status: u16,
    code: &'static str,
    /// Words the message must contain.
    words: &'static [&'static str],
}

enum Body {
    None,
    Json(Value),
    Raw(&'static str, Vec<u8>),
}

fn case(method: &'static str, path: &'static str, status: u16, code: &'static str) -> Case {
    Case {
        method,
        path,
        operation: None,
        body: Body::None,
        token: true,
        status,
        code,
        words: &[],
    }
}

impl Case {
    fn of(mut self, operation: &'static str) -> Case {
        self.operation = Some(operation);
        self
    }
    fn json(mut self, body: Value) -> Case {
        self.body = Body::Json(body);
        self
    }
    fn raw(mut self, content_type: &'static str, body: impl Into<Vec<u8>>) -> Case {
        self.body = Body::Raw(content_type, body.into());
        self
    }
    fn anonymous(mut self) -> Case {
        self.token = false;
        self
    }
    fn saying(mut self, words: &'static [&'static str]) -> Case {
        self.words = words;
        self
    }
}

/// What a person should never have to read: serde's and axum's internals.
const INTERNALS: &[&str] = &[
    "invalid type",
    "line 1 column",
    "Failed to",
    "deserialize",
    "i64",
    "u32",
    "struct ",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refusal_is_json_in_the_documented_error_shape() {
    let world = World::start(|_| {}).await;
    let admin = world.login("admin").await;
    let doc = admin.ok("GET", "/openapi.json", None).await;
    let reply = "/api/v1/interactions/{id}/reply";
    let cases = [
        case("GET", "/me", 401, "unauthorized")
            .of("/api/v1/me")
            .anonymous()
            .saying(&["Sign in"]),
        case("GET", "/interactions/abc", 400, "invalid")
            .of("/api/v1/interactions/{id}")
            .saying(&["conversation id", "whole number", "abc"]),
        case("GET", "/users/1.5", 400, "invalid")
            .of("/api/v1/users/{id}")
            .saying(&["user id", "whole number"]),
        case("GET", "/users/99999999999999999999", 400, "invalid")
            .of("/api/v1/users/{id}")
            .saying(&["user id", "too large"]),
        case("POST", "/interactions/1/outbound/x/resend", 400, "invalid")
            .of("/api/v1/interactions/{id}/outbound/{outbound_id}/resend")
            .saying(&["reply id", "“x”"]),
        case("GET", "/channels/%FF", 400, "invalid")
            .of("/api/v1/channels/{name}")
            .saying(&["channel name", "UTF-8"]),
        case(
            "POST",
            "/interactions/1/reply",
            415,
            "unsupported_media_type",
        )
        .of(reply)
        .raw("text/plain", "hello")
        .saying(&["Content-Type: application/json"]),
        case("POST", "/interactions/1/reply", 400, "invalid_json")
            .of(reply)
            .raw("application/json", "{\"text\": ")
            .saying(&["not valid JSON"]),
        case("POST", "/interactions/1/reply", 400, "invalid")
            .of(reply)
            .json(json!({ "text": 5 }))
            .saying(&["`text`", "must be text", "the number 5"]),
        case("POST", "/interactions/1/reply", 400, "invalid")
            .of(reply)
            .json(json!({}))
            .saying(&["`text` is required"]),
        case("POST", "/interactions/1/reply", 400, "invalid")
            .of(reply)
            .json(json!({ "text": "hi", "visibility": "loud" }))
            .saying(&["`visibility`", "public", "“loud”"]),
        case("PUT", "/me/status", 400, "invalid")
            .of("/api/v1/me/status")
            .json(json!([]))
            .saying(&["must be an object"]),
        case("POST", "/users", 400, "invalid")
            .of("/api/v1/users")
            .json(json!({ "username": "x", "nick": "y" }))
            .saying(&["`nick`", "not a field", "`username`"]),
        case("PUT", "/users/1", 400, "invalid")
            .of("/api/v1/users/{id}")
            .json(json!({ "skills": { "english": -1 } }))
            .saying(&["`skills.english`", "0 or more", "-1"]),
        case("POST", "/stations", 413, "too_large")
            .of("/api/v1/stations")
            .raw("application/json", big_body())
            .saying(&["too large"]),
        case("GET", "/interactions?limit=many", 400, "invalid")
            .of("/api/v1/interactions")
            .saying(&["limit"]),
        case("GET", "/nothing/here", 404, "not_found").saying(&["/api/v1/nothing/here"]),
        case("PATCH", "/users", 405, "method_not_allowed").saying(&["PATCH"]),
    ];
    for c in cases {
        let what = format!("{} {}", c.method, c.path);
        let method = reqwest::Method::from_bytes(c.method.as_bytes()).unwrap();
        // A body refused before it is read leaves its connection unusable (the server
        // closes it with the answer): send it on a connection of its own, so the next
        // case does not pick that one from the pool and fail with an incomplete message.
        let http = match &c.body {
            Body::Raw(_, bytes) if bytes.len() > 1 << 20 => reqwest::Client::builder()
                .no_proxy()
                .pool_max_idle_per_host(0)
                .build()
                .unwrap(),
            _ => world.http.clone(),
        };
        let mut req = http.request(method, format!("{}/api/v1{}", world.base, c.path));
        if c.token {
            req = req.bearer_auth(admin.token());
        }
        req = match c.body {
            Body::None => req,
            Body::Json(v) => req.json(&v),
            Body::Raw(content_type, bytes) => req.header(CONTENT_TYPE, content_type).body(bytes),
        };
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let content_type = res
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let text = res.text().await.unwrap();
        assert_eq!(status, c.status, "{what}: {text}");
        assert_eq!(content_type, "application/json", "{what}: {text}");
        let body: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{what}: {text}"));
        assert_eq!(body["code"], c.code, "{what}: {body}");
        let message = body["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{what}: {body}"));
        for word in c.words {
            assert!(message.contains(word), "{what}: `{message}` lacks `{word}`");
        }
        for internal in INTERNALS {
            assert!(
                !message.contains(internal),
                "{what}: `{message}` shows `{internal}`"
            );
        }
        if let Some(operation) = c.operation {
            let documented = &doc["paths"][operation][c.method.to_lowercase()]["responses"]
                [c.status.to_string()]["content"]["application/json"]["schema"]["$ref"];
            assert_eq!(
                documented, "#/components/schemas/ErrorBody",
                "{what}: {} {operation} does not document {}",
                c.method, c.status
            );
        }
    }
}

/// A JSON body over the host's 8 MiB limit.
fn big_body() -> Vec<u8> {
    let mut body = b"{\"name\": \"".to_vec();
    body.resize(9 << 20, b'a');
    body.extend_from_slice(b"\"}");
    body
}
