//! Contacts end to end: a contact per platform identity made at ingest, the earlier
//! conversation of a thread beside a new interaction, an agent linking a customer's
//! comment identity and Messenger identity into one person and opening that person's
//! history, unlinking, and a channel that keeps no personal data.

use serde_json::{Value, json};

use crate::harness::{World, id_of, one_at_a_time};

async fn messenger(world: &World, name: &str, text: &str) {
    let url = format!(
        "http://{}/_emulator/messenger/messages",
        world.emulator_addr
    );
    let body = json!({ "page_id": "1001", "name": name, "text": text });
    let res = world.http.post(url).json(&body).send().await.unwrap();
    assert!(res.status().is_success());
}

fn texts(messages: &Value) -> Vec<String> {
    messages
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_sees_the_thread_before_links_a_customers_identities_and_opens_their_history() {
    let world = World::start(one_at_a_time).await;
    let a1 = world.login("agent1").await;
    let sup = world.login("super").await;
    a1.available().await;

    // Ann comments; agent1 answers and ends it.
    let (post, _) = world.post_and_comment("Ann Lee", "my parcel is late").await;
    let first = id_of(&a1.wait_for_state("alerting").await);
    a1.ok("POST", &format!("/interactions/{first}/pickup"), None)
        .await;
    a1.ok(
        "POST",
        &format!("/interactions/{first}/reply"),
        Some(json!({"text": "Sorry Ann, checking now."})),
    )
    .await;
    a1.ok("POST", &format!("/interactions/{first}/disconnect"), None)
        .await;
    let d1 = a1.ok("GET", &format!("/interactions/{first}"), None).await;
    let contact = d1["contact"]["id"].as_i64().expect("a contact at ingest");
    assert_eq!(d1["contact"]["name"], "Ann Lee");

    // She comments again on the same post: a new interaction, with the earlier
    // conversation of the thread beside it.
    world
        .customer_says(json!({ "page_id": "1001", "post_id": post, "parent_id": post, "author_name": "Ann Lee", "text": "any news?" }))
        .await;
    let second = id_of(&a1.wait_for_state("alerting").await);
    assert_ne!(second, first);
    a1.ok("POST", &format!("/interactions/{second}/pickup"), None)
        .await;
    let d2 = a1.ok("GET", &format!("/interactions/{second}"), None).await;
    assert_eq!(
        d2["contact"]["id"], contact,
        "the same identity, the same contact"
    );
    let earlier = texts(&d2["earlier"]);
    assert!(
        earlier.contains(&"my parcel is late".to_owned()),
        "{earlier:?}"
    );
    assert!(
        !earlier.contains(&"any news?".to_owned()),
        "only what came before: {earlier:?}"
    );
    assert_eq!(texts(&d2["messages"]), ["any news?"]);
    a1.ok("POST", &format!("/interactions/{second}/disconnect"), None)
        .await;

    // On Messenger she is another identity: another contact, until linked.
    messenger(&world, "Ann Lee", "hello on messenger").await;
    let dm = id_of(&a1.wait_for_state("alerting").await);
    a1.ok("POST", &format!("/interactions/{dm}/pickup"), None)
        .await;
    let d3 = a1.ok("GET", &format!("/interactions/{dm}"), None).await;
    let dm_contact = d3["contact"]["id"].as_i64().unwrap();
    assert_ne!(dm_contact, contact);

    let found = a1.ok("GET", "/contacts?q=ann%20l", None).await;
    let ids: Vec<i64> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert!(
        ids.contains(&contact) && ids.contains(&dm_contact),
        "{found}"
    );
    let (status, e) = a1.call("GET", "/contacts?q=a", None).await;
    assert_eq!(status, 400, "{e}");

    // agent2 has answered neither: not theirs to see.
    let a2 = world.login("agent2").await;
    let (status, _) = a2.call("GET", &format!("/contacts/{contact}"), None).await;
    assert_eq!(status, 404);

    let linked = a1
        .ok(
            "POST",
            &format!("/contacts/{dm_contact}/link"),
            Some(json!({"contact_id": contact})),
        )
        .await;
    assert_eq!(
        linked["identities"].as_array().unwrap().len(),
        2,
        "{linked}"
    );
    let history: Vec<i64> = linked["interactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    assert_eq!(history, [dm, second, first], "newest first");
    assert_eq!(linked["interactions"][1]["agent"], "agent1");
    assert_eq!(linked["identities"][0]["platform"], "facebook");
    let (status, _) = a1.call("GET", &format!("/contacts/{contact}"), None).await;
    assert_eq!(status, 404, "the linked contact is gone");
    let (status, e) = a1
        .call(
            "POST",
            &format!("/contacts/{dm_contact}/link"),
            Some(json!({"contact_id": contact})),
        )
        .await;
    assert_eq!(status, 400, "{e}");

    a1.ok(
        "PUT",
        &format!("/contacts/{dm_contact}"),
        Some(json!({"notes": "Prefers Messenger."})),
    )
    .await;
    let c = sup
        .ok("GET", &format!("/contacts/{dm_contact}"), None)
        .await;
    assert_eq!(c["notes"], "Prefers Messenger.");

    // Unlinking the comment identity gives it a contact of its own, with its history.
    let comment_identity = linked["identities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| {
            i["name"] == "Ann Lee" && i["created_at"] == linked["identities"][0]["created_at"]
        })
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let alone = a1
        .ok(
            "POST",
            &format!("/contacts/{dm_contact}/unlink"),
            Some(json!({"identity_id": comment_identity})),
        )
        .await;
    let alone_history: Vec<i64> = alone["interactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    assert_eq!(alone_history, [second, first]);
    let (status, e) = a1
        .call(
            "POST",
            &format!("/contacts/{dm_contact}/unlink"),
            Some(json!({"identity_id": comment_identity})),
        )
        .await;
    assert_eq!(status, 400, "{e}");

    // agent1's own history: what they ended, newest first, searchable; not agent2's.
    let ids_of = |v: &Value| -> Vec<i64> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_i64().unwrap())
            .collect()
    };
    let history = a1.ok("GET", "/me/history", None).await;
    assert_eq!(
        ids_of(&history),
        [second, first],
        "the live one is not history yet: {history}"
    );
    let parcel = a1.ok("GET", "/me/history?text=PARCEL", None).await;
    assert_eq!(ids_of(&parcel), [first]);
    let none = a2.ok("GET", "/me/history", None).await;
    assert_eq!(none["total"], 0);
    let (status, _) = a1.call("GET", "/me/history?from=soon", None).await;
    assert_eq!(status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_without_personal_data_keys_its_contacts_by_a_hash_and_names_no_one() {
    let world = World::start(|c| {
        for ch in &mut c.channels {
            ch.do_not_store_personal_data = true;
        }
    })
    .await;
    let sup = world.login("super").await;
    world.post_and_comment("Bea Private", "hello").await;
    world.post_and_comment("Bea Private", "again").await;
    world
        .wait_count("SELECT count(*) FROM interactions", 2)
        .await;
    let found = sup.ok("GET", "/interactions", None).await;
    let ids: Vec<i64> = found["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    let d = sup
        .ok("GET", &format!("/interactions/{}", ids[0]), None)
        .await;
    let contact = d["contact"]["id"].as_i64().unwrap();
    assert_eq!(d["contact"]["name"], "");
    let c = sup.ok("GET", &format!("/contacts/{contact}"), None).await;
    assert_eq!(
        c["interactions"].as_array().unwrap().len(),
        2,
        "the same customer, found again: {c}"
    );
    let identity = &c["identities"][0];
    assert_eq!(
        (
            &identity["platform_id"],
            &identity["name"],
            &identity["handle"]
        ),
        (&Value::Null, &Value::Null, &Value::Null)
    );
    let plain = world
        .count(
            "SELECT count(*) FROM contact_identities ci JOIN interactions i ON i.identity_id = ci.id
             WHERE ci.key = i.customer_id OR ci.name IS NOT NULL OR ci.handle IS NOT NULL",
        )
        .await;
    assert_eq!(
        plain, 0,
        "the key is not the customer id, and nothing else is kept"
    );
    let named = world
        .count("SELECT count(*) FROM contacts WHERE name <> ''")
        .await;
    assert_eq!(named, 0);
}
