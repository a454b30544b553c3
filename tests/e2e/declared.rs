//! What a plugin declares is enforced by the host before the plugin's own `configure`:
//! the ingest mode among its capabilities, required settings and secrets present, and a
//! secret never accepted among the (shown) settings. Refusals name the field and leave
//! nothing behind, through the API and `switchboard check` alike.

use serde_json::{Value, json};

use crate::harness::World;

fn whatsapp(world: &World, ingest: &str) -> Value {
    let emulator = format!("http://{}", world.emulator_addr);
    json!({
        "name": "wa2", "plugin": "whatsapp", "workgroup": "Social", "ingest": ingest,
        "allowed_hosts": [emulator],
        "settings": { "phone_number_id": "2002", "graph_base_url": emulator },
        "secrets": { "app_secret": "s", "verify_token": "v", "access_token": "demo-whatsapp-token" },
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_refuses_what_the_plugin_does_not_declare() {
    let world = World::start(|_| {}).await;
    let admin = world.login("admin").await;

    // WhatsApp receives webhooks only: polling is refused by the host, in words.
    let (status, refused) = admin
        .call("POST", "/channels", Some(whatsapp(&world, "poll")))
        .await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["code"], "invalid_config");
    let message = refused["error"].as_str().unwrap();
    assert!(message.contains("cannot poll the platform"), "{message}");
    assert!(
        message.contains("webhook"),
        "says what it can do: {message}"
    );

    // A declared secret among the settings (which administrators see) is refused.
    let mut shown = whatsapp(&world, "webhook");
    shown["settings"]["access_token"] = json!("demo-whatsapp-token");
    shown["secrets"]
        .as_object_mut()
        .unwrap()
        .remove("access_token");
    let (status, refused) = admin.call("POST", "/channels", Some(shown)).await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["secret"], "access_token", "{refused}");
    assert!(
        !refused.to_string().contains("demo-whatsapp-token"),
        "{refused}"
    );

    // A required setting missing is named.
    let mut missing = whatsapp(&world, "webhook");
    missing["settings"]
        .as_object_mut()
        .unwrap()
        .remove("phone_number_id");
    let (status, refused) = admin.call("POST", "/channels", Some(missing)).await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["setting"], "phone_number_id", "{refused}");

    assert_eq!(world.count("SELECT count(*) FROM channels").await, 0);
    let (status, created) = admin
        .call("POST", "/channels", Some(whatsapp(&world, "webhook")))
        .await;
    assert_eq!(status, 201, "{created}");
}
