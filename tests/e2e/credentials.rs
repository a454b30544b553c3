//! The channel form's Test button (`POST /api/v1/channels/{name}/check`): credentials are
//! checked against the platform (the emulator) for a running channel and for an unsaved
//! one; a refused token, a missing secret and a host off the allowlist are told in plain
//! words; nothing is stored or started by a check; stored secrets fill in what an edit
//! form leaves empty; no secret is ever in an answer.

use serde_json::{Value, json};

use crate::harness::{Agent, World};

/// Secret values of the demo's channels and of the test's own; no answer may hold them.
const SECRETS: &[&str] = &[
    "demo-app-secret",
    "demo-page-token",
    "demo-verify",
    "demo-whatsapp-token",
    "demo-x-token-acme",
    "demo-consumer-secret",
    "not-the-page-token",
];

async fn check(admin: &Agent, name: &str, body: Option<Value>) -> (u16, Value) {
    let (status, answer) = admin
        .call("POST", &format!("/channels/{name}/check"), body)
        .await;
    let text = answer.to_string();
    for secret in SECRETS {
        assert!(!text.contains(secret), "the check shows a secret: {text}");
    }
    (status, answer)
}

/// A Facebook page channel on the emulator, as the admin form sends it.
fn facebook_draft(world: &World, name: &str, token: &str) -> Value {
    let emulator = format!("http://{}", world.emulator_addr);
    json!({
        "name": name,
        "plugin": "facebook",
        "workgroup": "Social",
        "ingest": "webhook",
        "allowed_hosts": [emulator],
        "settings": { "page_id": "1001", "graph_base_url": format!("{emulator}/v19.0") },
        "secrets": { "app_secret": "demo-app-secret", "verify_token": "demo-verify",
                     "access_token": token },
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_channels_credentials_are_checked_against_the_platform() {
    let world = World::start(|_| {}).await;
    let admin = world.login("admin").await;

    let (status, fb) = check(&admin, "facebook", None).await;
    assert_eq!(status, 200, "{fb}");
    assert_eq!(fb["works"], true, "{fb}");
    assert_eq!(fb["platform"], "facebook");
    assert_eq!(fb["account"]["id"], "1001", "{fb}");
    let page = fb["account"]["name"].as_str().unwrap();
    assert!(!page.is_empty());
    assert!(
        fb["message"].as_str().unwrap().contains(page),
        "the message names the page: {fb}"
    );

    let (status, wa) = check(&admin, "whatsapp", None).await;
    assert_eq!((status, &wa["works"]), (200, &json!(true)), "{wa}");
    assert_eq!(wa["account"]["id"], "2002", "{wa}");

    let (status, x) = check(&admin, "x", None).await;
    assert_eq!((status, &x["works"]), (200, &json!(true)), "{x}");
    assert!(
        x["account"]["name"].as_str().unwrap().contains("acme"),
        "the token is @acme's: {x}"
    );

    // Apple has no read that proves the credentials: said so, not faked.
    let (status, apple) = check(&admin, "apple", None).await;
    assert_eq!(status, 200, "{apple}");
    assert_eq!(
        (&apple["works"], &apple["reason"]),
        (&json!(false), &json!("unsupported")),
        "{apple}"
    );
    assert!(
        apple["message"].as_str().unwrap().contains("first reply"),
        "{apple}"
    );

    let (status, none) = check(&admin, "nope", None).await;
    assert_eq!(status, 404, "{none}");

    // Agents and supervisors may not.
    let agent = world.login("agent1").await;
    let (status, _) = agent.call("POST", "/channels/facebook/check", None).await;
    assert_eq!(status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsaved_channel_is_checked_without_being_stored_or_started() {
    let world = World::start(|_| {}).await;
    let admin = world.login("admin").await;

    let (status, good) = check(
        &admin,
        "fb-new",
        Some(facebook_draft(&world, "fb-new", "demo-page-token")),
    )
    .await;
    assert_eq!(status, 200, "{good}");
    assert_eq!(good["works"], true, "{good}");
    assert_eq!(good["account"]["id"], "1001");
    assert_eq!(world.count("SELECT count(*) FROM channels").await, 0);
    let (status, _) = admin.call("GET", "/channels/fb-new", None).await;
    assert_eq!(status, 404, "a check starts nothing");

    // The platform refuses a wrong token: told as such, in the platform's name.
    let (status, bad) = check(
        &admin,
        "fb-new",
        Some(facebook_draft(&world, "fb-new", "not-the-page-token")),
    )
    .await;
    assert_eq!(status, 200, "{bad}");
    assert_eq!(bad["works"], false, "{bad}");
    assert_eq!(bad["reason"], "unauthorized", "{bad}");
    assert!(
        bad["message"]
            .as_str()
            .unwrap()
            .starts_with("Facebook refused the credentials"),
        "{bad}"
    );
    assert!(bad.get("account").is_none());

    // The token the check needs left out: the connector names it, nothing is asked.
    let mut missing = facebook_draft(&world, "fb-new", "demo-page-token");
    missing["secrets"]
        .as_object_mut()
        .unwrap()
        .remove("access_token");
    let (status, refused) = check(&admin, "fb-new", Some(missing)).await;
    assert_eq!(status, 200, "{refused}");
    assert_eq!(refused["reason"], "settings", "{refused}");
    assert_eq!(refused["secret"], "access_token", "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .starts_with("Check the settings:"),
        "{refused}"
    );

    // A required setting left out is refused as creating the channel would, naming it.
    let mut no_page = facebook_draft(&world, "fb-new", "demo-page-token");
    no_page["settings"]
        .as_object_mut()
        .unwrap()
        .remove("page_id");
    let (status, refused) = check(&admin, "fb-new", Some(no_page)).await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["code"], "invalid_config", "{refused}");
    assert_eq!(refused["setting"], "page_id", "{refused}");

    // A name that differs from the path is refused.
    let (status, _) = check(
        &admin,
        "other",
        Some(facebook_draft(&world, "fb-new", "demo-page-token")),
    )
    .await;
    assert_eq!(status, 400);

    // The plugin's calls keep to the channel's allowlist during a check too.
    let mut elsewhere = facebook_draft(&world, "fb-new", "demo-page-token");
    elsewhere["settings"]["graph_base_url"] = json!("http://localhost:9/v19.0");
    let (status, blocked) = check(&admin, "fb-new", Some(elsewhere)).await;
    assert_eq!(status, 200, "{blocked}");
    assert_eq!(blocked["works"], false, "{blocked}");
    assert!(
        blocked["message"].as_str().unwrap().contains("localhost"),
        "the refused host is named: {blocked}"
    );
    assert_eq!(world.count("SELECT count(*) FROM channels").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_form_is_checked_with_the_stored_secrets_it_leaves_empty() {
    let world = World::start(|_| {}).await;
    let admin = world.login("admin").await;
    let (status, created) = admin
        .call(
            "POST",
            "/channels",
            Some(facebook_draft(&world, "fb-edit", "demo-page-token")),
        )
        .await;
    assert_eq!(status, 201, "{created}");

    // The form sends no secrets (or the mask): the stored ones are used.
    let mut edited = facebook_draft(&world, "fb-edit", "x");
    edited["secrets"] = json!({ "app_secret": "••••" });
    let (status, answer) = check(&admin, "fb-edit", Some(edited.clone())).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["works"], true, "{answer}");

    // A new token typed in the form is the one checked.
    edited["secrets"] = json!({ "access_token": "not-the-page-token" });
    let (_, answer) = check(&admin, "fb-edit", Some(edited)).await;
    assert_eq!(answer["reason"], "unauthorized", "{answer}");

    // And the running channel is untouched by either check.
    let (_, running) = check(&admin, "fb-edit", None).await;
    assert_eq!(running["works"], true, "{running}");
}
