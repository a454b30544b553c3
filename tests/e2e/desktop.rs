//! What the web desktop relies on beyond the agent API: its pages and files, the
//! directory of names, and the interaction detail as the Current Interaction shows it.
//! The desktop itself is tested in a real browser by `tests/browser`.

use serde_json::{Value, json};

use crate::harness::World;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_and_their_files_are_served() {
    let world = World::start(|_| {}).await;
    for (path, kind, needle) in [
        ("/", "text/html", "Sign in"),
        ("/agent", "text/html", "My Interactions"),
        ("/supervisor", "text/html", "Interaction search"),
        ("/admin", "text/html", "/assets/admin.js"),
        ("/assets/app.css", "text/css", ":root"),
        (
            "/assets/agent.js",
            "text/javascript",
            "from \"/assets/api.js\"",
        ),
    ] {
        let res = world
            .http
            .get(format!("{}{path}", world.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let ctype = res.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(ctype.starts_with(kind), "{path}: {ctype}");
        let body = res.text().await.unwrap();
        assert!(body.contains(needle), "{path} lacks {needle}");
    }
    let missing = world
        .http
        .get(format!("{}/assets/nothing.js", world.base))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_directory_names_channels_workgroups_agents_and_stations() {
    let world = World::start(|_| {}).await;
    let agent = world.login("agent2").await;
    let dir = agent.ok("GET", "/directory", None).await;
    let names = |key: &str, field: &str| -> Vec<String> {
        dir[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v[field].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        names("channels", "name"),
        ["apple", "facebook", "instagram", "whatsapp", "x"]
    );
    assert_eq!(
        names("channels", "platform"),
        ["apple", "facebook", "instagram", "whatsapp", "x"]
    );
    assert_eq!(names("workgroups", "name"), ["Billing", "Social"]);
    assert_eq!(dir["workgroups"][1]["alert_timeout_ms"], 30000);
    assert_eq!(
        dir["workgroups"][1]["wrapup_codes"],
        json!(["Resolved", "Escalated", "No action needed"])
    );
    // Only users with the agent right can take a transfer.
    let mut agents = names("agents", "username");
    agents.sort();
    assert_eq!(agents, ["admin", "agent1", "agent2"]);
    assert_eq!(dir["stations"], json!(["desk-1", "desk-2"]));
    let anonymous = world
        .http
        .get(format!("{}/api/v1/directory", world.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401, "the directory needs a session");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_detail_carries_platform_customer_attachments_wrapup_and_templates() {
    let world = World::start(|_| {}).await;
    world
        .emulator
        .subscribe_whatsapp(
            "2002",
            &format!("{}/webhooks/whatsapp", world.base),
            "demo-verify",
        )
        .await
        .expect("whatsapp webhook handshake");
    let agent = world.login("agent1").await;
    agent.available().await;
    let res = world
        .http
        .post(format!(
            "http://{}/_emulator/whatsapp/messages",
            world.emulator_addr
        ))
        .json(&json!({
            "phone_number_id": "2002", "from": "15550001111", "name": "Pia Photo",
            "type": "image", "media_id": "media-77", "mime_type": "image/jpeg",
            "caption": "The scratch on the lid",
        }))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    let offered = agent.wait_for_state("alerting").await;
    let id = offered["id"].as_i64().unwrap();
    let detail: Value = agent.ok("GET", &format!("/interactions/{id}"), None).await;
    assert_eq!(detail["platform"], "whatsapp", "{detail}");
    assert_eq!(detail["customer"]["name"], "Pia Photo");
    assert_eq!(detail["customer"]["influence_level"], "unknown");
    let attachment = &detail["messages"][0]["attachments"][0];
    assert_eq!(attachment["kind"], "image", "{detail}");
    assert_eq!(attachment["mime_type"], "image/jpeg");
    assert_eq!(attachment["caption"], "The scratch on the lid");
    assert_eq!(
        detail["wrapup"],
        json!({ "codes": ["Resolved", "Escalated", "No action needed"], "required": false })
    );
    // The channel names its business account: the templates are the platform's list.
    let listed = agent
        .ok("GET", &format!("/interactions/{id}/templates"), None)
        .await;
    assert_eq!(listed["source"], "platform", "{listed}");
    let names: Vec<&str> = listed["templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"order_update") && names.contains(&"hello_world"),
        "{listed}"
    );
    let order = listed["templates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "delivery_update")
        .unwrap();
    assert_eq!(order["parameters"], 3, "{order}");
    assert_eq!(order["status"], "APPROVED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_facebook_page_direct_message_is_messenger_with_its_image_inline() {
    let world = World::start(|_| {}).await;
    let agent = world.login("agent1").await;
    agent.available().await;
    let res = world
        .http
        .post(format!(
            "http://{}/_emulator/messenger/messages",
            world.emulator_addr
        ))
        .json(&json!({
            "page_id": "1001", "psid": "77001", "name": "Mia Messenger", "text": "Look:",
            "attachments": [{ "type": "image", "url": "https://cdn.example/boot.jpg" }],
        }))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    let offered = agent.wait_for_state("alerting").await;
    let id = offered["id"].as_i64().unwrap();
    let detail: Value = agent.ok("GET", &format!("/interactions/{id}"), None).await;
    assert_eq!(detail["platform"], "messenger", "{detail}");
    assert_eq!(detail["media_type"], "social_direct_message");
    assert_eq!(detail["customer"]["name"], "Mia Messenger");
    // The host serves the file; the platform's URL never reaches the desktop.
    let attachment = &detail["messages"][0]["attachments"][0];
    assert_eq!(attachment["kind"], "image", "{detail}");
    assert_eq!(attachment["label"], "Photo");
    assert!(
        attachment["url"]
            .as_str()
            .unwrap()
            .starts_with("/api/v1/attachments/"),
        "{detail}"
    );
    // (A refusal may name the host, never the file's address.)
    assert!(!detail.to_string().contains("boot.jpg"), "{detail}");
}
