//! The administrator API: users, workgroups and stations, who may touch them, what is
//! refused, and that routing follows every change at once.

use futures::future::join_all;
use serde_json::{Value, json};

use crate::harness::{Agent, World};

/// A body an administrator could send to `method path`, so the refusal of anyone else
/// can only come from who is asking.
fn body_for(method: &str, path: &str) -> Option<Value> {
    let family = path.split('/').nth(1).unwrap_or_default();
    match (method, family) {
        ("POST", "users") => Some(json!({ "username": "eve", "password": "x" })),
        ("PUT", "users") => Some(json!({ "display_name": "Eve" })),
        ("POST", "workgroups") => Some(json!({ "name": "Evil" })),
        ("PUT", "workgroups") => Some(json!({ "sl_target_s": 5 })),
        ("POST", "stations") => Some(json!({ "name": "Evil" })),
        ("PUT", "stations") => Some(json!({ "rights": [] })),
        ("POST", "channels") => Some(json!({ "name": "evil", "plugin": "facebook" })),
        ("PUT", "channels") => Some(json!({ "enabled": false })),
        ("POST" | "PUT", _) => Some(json!({})),
        _ => None,
    }
}

/// Every administrator route of the OpenAPI document (tagged `admin`), with its path
/// parameters filled in: the router registers each route from the same description, so
/// a new administrator route is in this list without anyone adding it.
async fn every_route(
    admin: &Agent,
    user: i64,
    group: i64,
    station: i64,
) -> Vec<(&'static str, String, Option<Value>)> {
    let doc = admin.ok("GET", "/openapi.json", None).await;
    let mut routes = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let tagged = op["tags"]
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t == "admin"));
            if !tagged {
                continue;
            }
            let method: &'static str = match method.as_str() {
                "get" => "GET",
                "post" => "POST",
                "put" => "PUT",
                "delete" => "DELETE",
                other => panic!("an admin route with method {other}: {path}"),
            };
            let path = path.trim_start_matches("/api/v1");
            let id = match path.split('/').nth(1) {
                Some("users") => user,
                Some("workgroups") => group,
                _ => station,
            };
            let filled = path
                .replace("{id}", &id.to_string())
                .replace("{name}", "facebook")
                .replace("{keyword}", "refund");
            assert!(!filled.contains('{'), "a path parameter is left: {filled}");
            routes.push((method, filled.clone(), body_for(method, &filled)));
        }
    }
    for family in ["users", "workgroups", "stations", "channels", "plugins"] {
        assert!(
            routes
                .iter()
                .any(|(_, p, _)| p.starts_with(&format!("/{family}"))),
            "the document lists no administrator route for {family}: {routes:?}"
        );
    }
    routes
}

async fn id_of(admin: &Agent, family: &str, key: &str, name: &str) -> i64 {
    let list = admin.ok("GET", family, None).await;
    list.as_array()
        .unwrap()
        .iter()
        .find(|x| x[key] == name)
        .unwrap_or_else(|| panic!("{name} not in {family}: {list}"))["id"]
        .as_i64()
        .unwrap()
}

/// Asserts a refusal: status and an `error` message containing every one of `words`.
async fn refused(
    admin: &Agent,
    method: &str,
    path: &str,
    body: Value,
    status: u16,
    words: &[&str],
) {
    let (got, answer) = admin.call(method, path, Some(body.clone())).await;
    assert_eq!(got, status, "{method} {path} {body} -> {answer}");
    let message = answer["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error message: {answer}"));
    for word in words {
        assert!(
            message.contains(word),
            "{method} {path} {body}: `{message}` does not mention `{word}`"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_administrators_may_use_any_admin_route() {
    let world = World::start(|_| {}).await;
    let admin = world.login("admin").await;
    let station = admin
        .ok("POST", "/stations", Some(json!({ "name": "QA Desk" })))
        .await["id"]
        .as_i64()
        .unwrap();
    let user = id_of(&admin, "/users", "username", "agent2").await;
    let group = id_of(&admin, "/workgroups", "name", "Social").await;
    let before: Vec<Value> =
        join_all(["/users", "/workgroups", "/stations"].map(|p| admin.ok("GET", p, None))).await;

    for who in ["agent1", "super"] {
        let caller = world.login(who).await;
        for (method, path, body) in every_route(&admin, user, group, station).await {
            let (status, answer) = caller.call(method, &path, body).await;
            assert_eq!(status, 403, "{who}: {method} {path} -> {answer}");
            assert!(
                answer["error"]
                    .as_str()
                    .is_some_and(|m| m.contains("social_media_admin")),
                "{answer}"
            );
        }
    }
    // Without a token, or with a wrong one: 401.
    for (method, path, body) in every_route(&admin, user, group, station).await {
        for token in [None, Some("not-a-token")] {
            let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let mut req = world
                .http
                .request(method.clone(), format!("{}/api/v1{path}", world.base));
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            if let Some(b) = &body {
                req = req.json(b);
            }
            let res = req.send().await.unwrap();
            assert_eq!(res.status(), 401, "{method} {path} with token {token:?}");
            assert!(res.json::<Value>().await.unwrap()["error"].is_string());
        }
    }
    // Nothing was changed by the refused calls.
    let after: Vec<Value> =
        join_all(["/users", "/workgroups", "/stations"].map(|p| admin.ok("GET", p, None))).await;
    assert_eq!(before, after);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_are_created_read_updated_and_deleted() {
    let world = World::start(|_| {}).await;
    let admin = world.login("admin").await;

    let (status, created) = admin
        .call(
            "POST",
            "/users",
            Some(json!({
                "username": "dana",
                "display_name": "Dana Doe",
                "password": "demo",
                "rights": ["agent", "acd_social_media"],
                "skills": { "English": 80, "billing": 20 },
                "utilization": { "social_conversation": { "percent": 50, "max": 2 } },
                "workgroups": ["Social"],
            })),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["username"], "dana");
    assert_eq!(created["display_name"], "Dana Doe");
    assert_eq!(created["rights"], json!(["agent", "acd_social_media"]));
    assert_eq!(
        created["skills"],
        json!({ "english": 80, "billing": 20 }),
        "skill names are lower-cased"
    );
    assert_eq!(created["workgroups"], json!(["Social"]));
    let text = created.to_string();
    assert!(
        !text.contains("password") && !text.contains("argon2"),
        "no password in {text}"
    );

    // The new user can sign in, and is a member of Social.
    let dana = world.login("dana").await;
    assert_eq!(
        dana.ok("GET", "/me", None).await["display_name"],
        "Dana Doe"
    );
    let social = id_of(&admin, "/workgroups", "name", "Social").await;
    let group = admin
        .ok("GET", &format!("/workgroups/{social}"), None)
        .await;
    assert!(
        group["members"]
            .as_array()
            .unwrap()
            .contains(&json!("dana")),
        "{group}"
    );

    // Read, one and all.
    let one = admin.ok("GET", &format!("/users/{id}"), None).await;
    assert_eq!(one["username"], "dana");
    let all = admin.ok("GET", "/users", None).await;
    let names: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(
        &names[..4],
        ["admin", "super", "agent1", "agent2"],
        "demo users first, by id"
    );
    assert_eq!(names.last(), Some(&"dana"));
    assert!(!all.to_string().contains("argon2"));

    // Update: only what is sent changes; a new password works, the old one does not.
    let updated = admin
        .ok(
            "PUT",
            &format!("/users/{id}"),
            Some(json!({ "display_name": "Dana D.", "password": "s3cret", "workgroups": [] })),
        )
        .await;
    assert_eq!(updated["display_name"], "Dana D.");
    assert_eq!(updated["rights"], json!(["agent", "acd_social_media"]));
    assert_eq!(updated["skills"]["english"], 80);
    assert_eq!(updated["workgroups"], json!([]));
    let group = admin
        .ok("GET", &format!("/workgroups/{social}"), None)
        .await;
    assert!(
        !group["members"]
            .as_array()
            .unwrap()
            .contains(&json!("dana")),
        "{group}"
    );
    let login = |password: &'static str| {
        let world = &world;
        async move {
            world
                .http
                .post(format!("{}/api/v1/login", world.base))
                .json(&json!({ "username": "dana", "password": password }))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(login("s3cret").await, 200);
    assert_eq!(login("demo").await, 401);

    // Conflicts and unknowns.
    refused(
        &admin,
        "POST",
        "/users",
        json!({ "username": "agent1", "password": "x" }),
        409,
        &["agent1"],
    )
    .await;
    // A user name never changes once made (history and the audit log name people by
    // it); giving the same one is no change.
    refused(
        &admin,
        "PUT",
        &format!("/users/{id}"),
        json!({ "username": "agent2" }),
        400,
        &["cannot change", "dana"],
    )
    .await;
    refused(
        &admin,
        "PUT",
        &format!("/users/{id}"),
        json!({ "username": "dana2" }),
        400,
        &["cannot change"],
    )
    .await;
    let same = admin
        .ok(
            "PUT",
            &format!("/users/{id}"),
            Some(json!({ "username": "dana" })),
        )
        .await;
    assert_eq!(same["username"], "dana");
    refused(
        &admin,
        "POST",
        "/users",
        json!({ "username": "nopass" }),
        400,
        &["password"],
    )
    .await;
    refused(
        &admin,
        "POST",
        "/users",
        json!({ "password": "x" }),
        400,
        &["username"],
    )
    .await;
    refused(
        &admin,
        "PUT",
        "/users/9999",
        json!({ "display_name": "x" }),
        404,
        &["9999"],
    )
    .await;
    let (status, _) = admin.call("GET", "/users/9999", None).await;
    assert_eq!(status, 404);
    let (status, _) = admin.call("GET", "/users/abc", None).await;
    assert_eq!(status, 400);
    let me = id_of(&admin, "/users", "username", "admin").await;
    let (status, answer) = admin.call("DELETE", &format!("/users/{me}"), None).await;
    assert_eq!(status, 409, "deleting yourself: {answer}");

    // Delete: gone, and their session with them.
    let (status, _) = admin.call("DELETE", &format!("/users/{id}"), None).await;
    assert_eq!(status, 204);
    let (status, _) = admin.call("GET", &format!("/users/{id}"), None).await;
    assert_eq!(status, 404);
    let (status, _) = dana.call("GET", "/me", None).await;
    assert_eq!(status, 401);
    let (status, _) = admin.call("DELETE", &format!("/users/{id}"), None).await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workgroups_are_created_read_updated_and_deleted() {
    let world = World::start(|_| {}).await;
    let admin = world.login("admin").await;

    let agent2 = id_of(&admin, "/users", "username", "agent2").await;
    assert_eq!(
        admin.ok("GET", &format!("/users/{agent2}"), None).await["workgroups"],
        json!(["Social"])
    );
    let (status, created) = admin
        .call(
            "POST",
            "/workgroups",
            Some(json!({ "name": "QA Billing", "members": ["agent1"] })),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["members"], json!(["agent1"]));
    assert_eq!(created["sl_target_s"], 60, "default service-level target");
    assert_eq!(created["alert_timeout_ms"], 30000);
    assert_eq!(created["wrapup_timeout_ms"], 120000);
    assert_eq!(created["wrapup_required"], false);
    assert_eq!(created["wrapup_codes"], json!([]));

    let updated = admin
        .ok(
            "PUT",
            &format!("/workgroups/{id}"),
            Some(json!({
                "name": "QA Billing EU",
                "members": ["agent1", "agent2"],
                "utilization": { "email": { "percent": 50, "max": 2 } },
                "sl_target_s": 120,
                "alert_timeout_ms": 15000,
                "wrapup_codes": ["Solved", "Escalated"],
                "wrapup_required": true,
                "wrapup_timeout_ms": 60000,
            })),
        )
        .await;
    assert_eq!(updated["name"], "QA Billing EU");
    assert_eq!(updated["members"], json!(["agent1", "agent2"]));
    assert_eq!(
        updated["utilization"],
        json!({ "email": { "percent": 50, "max": 2 } })
    );
    assert_eq!(updated["sl_target_s"], 120);
    assert_eq!(updated["alert_timeout_ms"], 15000);
    assert_eq!(updated["wrapup_codes"], json!(["Solved", "Escalated"]));
    assert_eq!(updated["wrapup_required"], true);
    assert_eq!(updated["wrapup_timeout_ms"], 60000);
    assert_eq!(
        admin.ok("GET", &format!("/workgroups/{id}"), None).await,
        updated
    );
    let user = admin.ok("GET", &format!("/users/{agent2}"), None).await;
    assert_eq!(
        user["workgroups"],
        json!(["Social", "QA Billing EU"]),
        "the user view follows membership"
    );

    // Only what is sent changes.
    let again = admin
        .ok(
            "PUT",
            &format!("/workgroups/{id}"),
            Some(json!({ "sl_target_s": 30 })),
        )
        .await;
    assert_eq!(again["sl_target_s"], 30);
    assert_eq!(again["wrapup_codes"], json!(["Solved", "Escalated"]));

    refused(
        &admin,
        "POST",
        "/workgroups",
        json!({ "name": "Social" }),
        409,
        &["Social"],
    )
    .await;
    refused(
        &admin,
        "PUT",
        &format!("/workgroups/{id}"),
        json!({ "name": "Social" }),
        409,
        &["Social"],
    )
    .await;
    refused(
        &admin,
        "POST",
        "/workgroups",
        json!({ "name": "X", "members": ["nobody"] }),
        400,
        &["members", "nobody"],
    )
    .await;
    refused(
        &admin,
        "POST",
        "/workgroups",
        json!({ "members": [] }),
        400,
        &["name"],
    )
    .await;
    refused(
        &admin,
        "PUT",
        "/workgroups/9999",
        json!({ "sl_target_s": 30 }),
        404,
        &["9999"],
    )
    .await;
    // The demo channel routes to Social: it stays.
    let social = id_of(&admin, "/workgroups", "name", "Social").await;
    refused(
        &admin,
        "PUT",
        &format!("/workgroups/{social}"),
        json!({ "name": "Renamed" }),
        409,
        &["facebook"],
    )
    .await;
    let (status, answer) = admin
        .call("DELETE", &format!("/workgroups/{social}"), None)
        .await;
    assert_eq!(status, 409, "{answer}");

    let (status, _) = admin
        .call("DELETE", &format!("/workgroups/{id}"), None)
        .await;
    assert_eq!(status, 204);
    let (status, _) = admin.call("GET", &format!("/workgroups/{id}"), None).await;
    assert_eq!(status, 404);
    let user = admin.ok("GET", &format!("/users/{agent2}"), None).await;
    assert_eq!(user["workgroups"], json!(["Social"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stations_are_created_read_updated_and_deleted() {
    let world = World::start(|_| {}).await;
    let admin = world.login("admin").await;

    let (status, created) = admin
        .call(
            "POST",
            "/stations",
            Some(json!({ "name": "QA Desk 1", "rights": ["acd_social_media"] })),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["name"], "QA Desk 1");
    assert_eq!(created["rights"], json!(["acd_social_media"]));
    assert_eq!(
        admin.ok("GET", &format!("/stations/{id}"), None).await,
        created
    );
    assert!(
        admin
            .ok("GET", "/stations", None)
            .await
            .as_array()
            .unwrap()
            .contains(&created)
    );

    let updated = admin
        .ok(
            "PUT",
            &format!("/stations/{id}"),
            Some(json!({ "name": "QA Desk A", "rights": ["acd_social_media", "acd_whatsapp"] })),
        )
        .await;
    assert_eq!(
        updated,
        json!({ "id": id, "name": "QA Desk A", "rights": ["acd_social_media", "acd_whatsapp"] })
    );
    let renamed_only = admin
        .ok(
            "PUT",
            &format!("/stations/{id}"),
            Some(json!({ "name": "QA Desk B" })),
        )
        .await;
    assert_eq!(
        renamed_only["rights"],
        json!(["acd_social_media", "acd_whatsapp"])
    );

    admin
        .ok("POST", "/stations", Some(json!({ "name": "QA Desk 2" })))
        .await;
    refused(
        &admin,
        "POST",
        "/stations",
        json!({ "name": "QA Desk 2" }),
        409,
        &["QA Desk 2"],
    )
    .await;
    refused(
        &admin,
        "PUT",
        &format!("/stations/{id}"),
        json!({ "name": "QA Desk 2" }),
        409,
        &["QA Desk 2"],
    )
    .await;
    refused(
        &admin,
        "POST",
        "/stations",
        json!({ "name": "QA Desk 3", "rights": ["agent"] }),
        400,
        &["rights", "agent"],
    )
    .await;
    refused(
        &admin,
        "POST",
        "/stations",
        json!({ "name": "  " }),
        400,
        &["name"],
    )
    .await;
    refused(
        &admin,
        "PUT",
        "/stations/9999",
        json!({ "rights": [] }),
        404,
        &["9999"],
    )
    .await;

    let (status, _) = admin.call("DELETE", &format!("/stations/{id}"), None).await;
    assert_eq!(status, 204);
    let (status, _) = admin.call("GET", &format!("/stations/{id}"), None).await;
    assert_eq!(status, 404);
    let (status, _) = admin.call("DELETE", &format!("/stations/{id}"), None).await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_user_view_shows_effective_utilization_and_where_it_comes_from() {
    let world = World::start(|_| {}).await;
    let admin = world.login("admin").await;
    // Lower id first: Email sets email and chat; Chat (created later) sets chat and call.
    admin
        .ok(
            "POST",
            "/workgroups",
            Some(json!({ "name": "Email", "utilization": {
                "email": { "percent": 50, "max": 2 }, "chat": { "percent": 40, "max": 3 } } })),
        )
        .await;
    admin
        .ok(
            "POST",
            "/workgroups",
            Some(json!({ "name": "Chat", "utilization": {
                "chat": { "percent": 20, "max": 5 }, "call": { "percent": 100, "max": 1 } } })),
        )
        .await;
    let user = admin
        .ok(
            "POST",
            "/users",
            Some(json!({
                "username": "dana", "password": "demo",
                "utilization": { "email": { "percent": 10, "max": 7 } },
                // Listed in the other order: the workgroup id decides, not the list.
                "workgroups": ["Chat", "Email"],
            })),
        )
        .await;
    let u = &user["utilization"];
    let types: Vec<&String> = u.as_object().unwrap().keys().collect();
    let mut want = [
        "call",
        "callback",
        "chat",
        "email",
        "generic",
        "social_conversation",
        "social_direct_message",
        "work_item",
    ];
    want.sort();
    assert_eq!(types, want, "every interaction type: {u}");
    assert_eq!(
        u["email"],
        json!({ "percent": 10, "max": 7, "inherited": false, "from": "user" })
    );
    assert_eq!(
        u["chat"],
        json!({ "percent": 40, "max": 3, "inherited": true, "from": "Email" })
    );
    assert_eq!(
        u["call"],
        json!({ "percent": 100, "max": 1, "inherited": true, "from": "Chat" })
    );
    for ty in [
        "social_conversation",
        "social_direct_message",
        "callback",
        "generic",
        "work_item",
    ] {
        assert_eq!(u[ty]["inherited"], true, "{ty}: {u}");
        assert_eq!(u[ty]["from"], "default", "{ty}: {u}");
    }
    assert_eq!(
        user["utilization_overrides"],
        json!({ "email": { "percent": 10, "max": 7 } })
    );

    // Setting the type on the user takes over; clearing it falls back to the workgroup.
    let id = user["id"].as_i64().unwrap();
    let changed = admin
        .ok(
            "PUT",
            &format!("/users/{id}"),
            Some(json!({ "utilization": { "chat": { "percent": 0, "max": 25 } } })),
        )
        .await;
    assert_eq!(
        changed["utilization"]["chat"],
        json!({ "percent": 0, "max": 25, "inherited": false, "from": "user" })
    );
    assert_eq!(
        changed["utilization"]["email"],
        json!({ "percent": 50, "max": 2, "inherited": true, "from": "Email" })
    );

    // Leaving a workgroup changes what is inherited.
    let left = admin
        .ok(
            "PUT",
            &format!("/users/{id}"),
            Some(json!({ "workgroups": ["Chat"] })),
        )
        .await;
    assert_eq!(left["utilization"]["email"]["from"], "default");
    assert_eq!(left["utilization"]["call"]["from"], "Chat");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_settings_are_refused_with_a_message_naming_the_field() {
    let world = World::start(|_| {}).await;
    let admin = world.login("admin").await;
    let agent1 = id_of(&admin, "/users", "username", "agent1").await;
    let social = id_of(&admin, "/workgroups", "name", "Social").await;
    let user = format!("/users/{agent1}");
    let group = format!("/workgroups/{social}");
    let plain = admin
        .ok("POST", "/workgroups", Some(json!({ "name": "QA Plain" })))
        .await["id"]
        .as_i64()
        .unwrap();
    let plain = format!("/workgroups/{plain}");
    let before: Vec<Value> =
        join_all(["/users", "/workgroups", "/stations"].map(|p| admin.ok("GET", p, None))).await;

    let cases = [
        (
            json!({ "social_conversation": { "percent": 101, "max": 1 } }),
            vec!["utilization", "percent", "101"],
        ),
        (
            json!({ "email": { "percent": 10, "max": 0 } }),
            vec!["utilization", "max", "0"],
        ),
        (
            json!({ "email": { "percent": 10, "max": 26 } }),
            vec!["utilization", "max", "26"],
        ),
        (
            json!({ "fax": { "percent": 10, "max": 1 } }),
            vec!["utilization", "fax"],
        ),
    ];
    for (table, words) in cases {
        refused(
            &admin,
            "PUT",
            &user,
            json!({ "utilization": table }),
            400,
            &words,
        )
        .await;
        refused(
            &admin,
            "PUT",
            &group,
            json!({ "utilization": table }),
            400,
            &words,
        )
        .await;
        let create = json!({ "username": "new", "password": "x", "utilization": table });
        refused(&admin, "POST", "/users", create, 400, &words).await;
        refused(
            &admin,
            "POST",
            "/workgroups",
            json!({ "name": "New", "utilization": table }),
            400,
            &words,
        )
        .await;
    }
    refused(
        &admin,
        "PUT",
        &user,
        json!({ "rights": ["agent", "root"] }),
        400,
        &["rights", "root"],
    )
    .await;
    refused(
        &admin,
        "POST",
        "/users",
        json!({ "username": "n", "password": "x", "rights": ["god"] }),
        400,
        &["god"],
    )
    .await;
    refused(
        &admin,
        "PUT",
        &user,
        json!({ "skills": { "english": 101 } }),
        400,
        &["skills", "english", "101"],
    )
    .await;
    refused(
        &admin,
        "PUT",
        &user,
        json!({ "skills": { "english": -1 } }),
        400,
        &["skills"],
    )
    .await;
    refused(
        &admin,
        "PUT",
        &user,
        json!({ "skills": { "bad skill!": 5 } }),
        400,
        &["skills", "bad skill!"],
    )
    .await;
    refused(
        &admin,
        "PUT",
        &user,
        json!({ "workgroups": ["Nowhere"] }),
        400,
        &["workgroups", "Nowhere"],
    )
    .await;
    refused(
        &admin,
        "PUT",
        &user,
        json!({ "username": "" }),
        400,
        &["username"],
    )
    .await;
    refused(
        &admin,
        "PUT",
        &user,
        json!({ "password": "" }),
        400,
        &["password"],
    )
    .await;
    refused(
        &admin,
        "PUT",
        &user,
        json!({ "utilisation": {} }),
        400,
        &["utilisation"],
    )
    .await;
    refused(
        &admin,
        "PUT",
        &plain,
        json!({ "wrapup_required": true }),
        400,
        &["wrapup_required", "wrapup_codes"],
    )
    .await;
    refused(
        &admin,
        "PUT",
        &plain,
        json!({ "wrapup_required": true, "wrapup_codes": [] }),
        400,
        &["wrapup_required", "wrapup_codes"],
    )
    .await;
    refused(
        &admin,
        "POST",
        "/workgroups",
        json!({ "name": "W", "wrapup_required": true, "wrapup_codes": [] }),
        400,
        &["wrapup_required"],
    )
    .await;
    refused(
        &admin,
        "PUT",
        &group,
        json!({ "wrapup_codes": ["a", "a"] }),
        400,
        &["wrapup_codes", "a"],
    )
    .await;
    refused(
        &admin,
        "PUT",
        &group,
        json!({ "sl_target_s": 0 }),
        400,
        &["sl_target_s"],
    )
    .await;
    refused(
        &admin,
        "PUT",
        &group,
        json!({ "sl_target_s": 86401 }),
        400,
        &["sl_target_s"],
    )
    .await;
    refused(
        &admin,
        "PUT",
        &group,
        json!({ "alert_timeout_ms": 999 }),
        400,
        &["alert_timeout_ms"],
    )
    .await;
    refused(
        &admin,
        "PUT",
        &group,
        json!({ "alert_timeout_ms": 600001 }),
        400,
        &["alert_timeout_ms"],
    )
    .await;
    refused(
        &admin,
        "PUT",
        &group,
        json!({ "members": ["agent1", "ghost"] }),
        400,
        &["members", "ghost"],
    )
    .await;
    let me = id_of(&admin, "/users", "username", "admin").await;
    refused(
        &admin,
        "PUT",
        &format!("/users/{me}"),
        json!({ "rights": ["agent"] }),
        409,
        &["social_media_admin"],
    )
    .await;

    refused(
        &admin,
        "POST",
        "/stations",
        json!({ "name": "QA S", "rights": ["acd_fax"] }),
        400,
        &["rights", "acd_fax"],
    )
    .await;

    // Nothing was half-applied.
    let after: Vec<Value> =
        join_all(["/users", "/workgroups", "/stations"].map(|p| admin.ok("GET", p, None))).await;
    assert_eq!(before, after);
}

/// Waits until an interaction is queued in the store.
async fn one_queued(world: &World) {
    world
        .wait_count(
            "SELECT count(*) FROM interactions WHERE state = 'queued'",
            1,
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_work_is_offered_the_moment_an_admin_adds_an_agent_to_the_workgroup() {
    let world = World::start(|_| {}).await;
    let admin = world.login("admin").await;
    let created = admin
        .ok(
            "POST",
            "/users",
            Some(json!({ "username": "dana", "password": "demo", "rights": ["agent", "acd_social_media"] })),
        )
        .await;
    let dana = world.login("dana").await;
    dana.available().await;

    world
        .post_and_comment("Ann Lee", "Where is my order?")
        .await;
    one_queued(&world).await;
    dana.expect_nothing("nothing offered yet").await;

    let id = created["id"].as_i64().unwrap();
    admin
        .ok(
            "PUT",
            &format!("/users/{id}"),
            Some(json!({ "workgroups": ["Social"] })),
        )
        .await;
    let offered = dana.wait_for_state("alerting").await;
    assert_eq!(offered["workgroup"], "Social");
    assert_eq!(offered["assigned_to"], "dana");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_work_is_offered_the_moment_an_admin_grants_the_access_right() {
    let world = World::start(|_| {}).await;
    let admin = world.login("admin").await;
    let created = admin
        .ok(
            "POST",
            "/users",
            Some(json!({ "username": "dana", "password": "demo", "rights": ["agent"] })),
        )
        .await;
    let social = id_of(&admin, "/workgroups", "name", "Social").await;
    admin
        .ok(
            "PUT",
            &format!("/workgroups/{social}"),
            Some(json!({ "members": ["agent1", "agent2", "dana"] })),
        )
        .await;
    let dana = world.login("dana").await;
    dana.available().await;

    world
        .post_and_comment("Ann Lee", "Do you ship abroad?")
        .await;
    one_queued(&world).await;
    dana.expect_nothing("nothing offered yet").await;

    let id = created["id"].as_i64().unwrap();
    admin
        .ok(
            "PUT",
            &format!("/users/{id}"),
            Some(json!({ "rights": ["agent", "acd_social_media"] })),
        )
        .await;
    // Other rights end her session (she signed in as someone she no longer is); the
    // offer was made at the change, without her doing anything: a new sign-in finds it.
    let (status, _) = dana.call("GET", "/me", None).await;
    assert_eq!(status, 401, "a change of rights ends the session");
    let dana = world.login("dana").await;
    let offered = dana.wait_for_state("alerting").await;
    assert_eq!(offered["assigned_to"], "dana");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_work_is_offered_the_moment_an_admin_gives_the_agents_station_the_right() {
    let world = World::start(|_| {}).await;
    let admin = world.login("admin").await;
    let station = admin
        .ok("POST", "/stations", Some(json!({ "name": "QA Desk" })))
        .await["id"]
        .as_i64()
        .unwrap();
    let created = admin
        .ok("POST", "/users", Some(json!({ "username": "dana", "password": "demo", "rights": ["agent"], "workgroups": ["Social"] })))
        .await;
    let dana = world.login("dana").await;
    dana.ok("POST", "/me/station", Some(json!({ "station": "QA Desk" })))
        .await;
    dana.available().await;

    world
        .post_and_comment("Ann Lee", "Is the store open on Sunday?")
        .await;
    one_queued(&world).await;
    dana.expect_nothing("nothing offered yet").await;

    // A rename follows the agent; the right on the station reaches them at once.
    admin
        .ok(
            "PUT",
            &format!("/stations/{station}"),
            Some(json!({ "name": "QA Desk 9", "rights": ["acd_social_media"] })),
        )
        .await;
    let offered = dana.wait_for_state("alerting").await;
    assert_eq!(offered["assigned_to"], "dana");
    let id = created["id"].as_i64().unwrap();
    assert_eq!(
        admin.ok("GET", &format!("/users/{id}"), None).await["station"],
        "QA Desk 9"
    );
}
