//! X: a tweet with the channel's keyword is polled, reaches an agent, and the replies
//! thread under it from the default and a second handle; filters; 429 back-off;
//! direct messages; tweet-delete compliance erases the stored text.

use std::time::Duration;

use serde_json::{Value, json};
use switchboard::config::Config;
use switchboard_emulator::XEndpoint;

use crate::harness::{World, wait_until};

/// The demo `x` channel, polling fast, with `acmehelp` as a second handle.
fn x_channel(config: &mut Config) -> &mut switchboard::config::Channel {
    let ch = config
        .channels
        .iter_mut()
        .find(|c| c.name == "x")
        .expect("the demo has an x channel");
    ch.poll_interval_ms = 200;
    ch.settings.insert("handles".into(), "acme,acmehelp".into());
    ch.secrets
        .insert("token_acmehelp".into(), "demo-x-token-acmehelp".into());
    ch
}

async fn control(world: &World, path: &str, body: Value) -> Value {
    let res = world
        .http
        .post(format!("http://{}/_emulator/x/{path}", world.emulator_addr))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(
        res.status().is_success(),
        "emulator refused {body}: {}",
        res.status()
    );
    res.json().await.unwrap()
}

async fn emulated_tweet(world: &World, id: &str) -> Value {
    world
        .emulator_json(&format!("/_emulator/x/tweets/{id}"))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyword_tweet_reaches_an_agent_and_replies_thread_under_it_from_two_handles() {
    let world = World::start(|c| {
        x_channel(c);
    })
    .await;
    let agent = world.login("agent1").await;
    agent.available().await;
    let tweet = control(
        &world,
        "tweets",
        json!({"author_handle": "ann", "author_name": "Ann Lee", "followers": 4321,
               "text": "acmecorp my new boots fell apart 😞"}),
    )
    .await;
    let tweet_id = tweet["tweet_id"].as_str().unwrap().to_string();

    let offered = agent.wait_for_state("alerting").await;
    assert_eq!(offered["channel"], "x");
    assert_eq!(offered["media_type"], "social_conversation");
    assert_eq!(offered["thread_id"], tweet_id.as_str());
    let id = offered["id"].as_i64().unwrap();
    agent
        .ok("POST", &format!("/interactions/{id}/pickup"), None)
        .await;
    let detail = agent.ok("GET", &format!("/interactions/{id}"), None).await;
    let inbound: Vec<&Value> = detail["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["direction"] == "inbound")
        .collect();
    assert_eq!(inbound.len(), 1, "{detail}");
    assert_eq!(inbound[0]["text"], "acmecorp my new boots fell apart 😞");
    assert_eq!(inbound[0]["platform_message_id"], tweet_id.as_str());
    assert_eq!(inbound[0]["author"], "Ann Lee");

    // From the default handle.
    let sent = agent
        .ok(
            "POST",
            &format!("/interactions/{id}/reply"),
            Some(json!({ "text": "Sorry Ann, a new pair ships today.", "visibility": "public" })),
        )
        .await;
    assert_eq!(sent["state"], "sent", "{sent}");
    let ours = world.emulator.outbound();
    assert_eq!(ours.len(), 1, "{ours:?}");
    assert_eq!(
        (ours[0].platform.as_str(), ours[0].kind.as_str()),
        ("x", "tweet")
    );
    assert_eq!(ours[0].target_id.as_deref(), Some(tweet_id.as_str()));
    let reply = emulated_tweet(&world, &ours[0].id).await;
    assert_eq!(
        reply["in_reply_to"],
        tweet_id.as_str(),
        "threads under the tweet"
    );
    assert_eq!(reply["conversation_id"], tweet_id.as_str());
    assert_eq!(reply["author_handle"], "acme");

    // From the second handle.
    let sent = agent
        .ok(
            "POST",
            &format!("/interactions/{id}/reply"),
            Some(json!({ "text": "DM us your order number, please.", "visibility": "public", "from_handle": "acmehelp" })),
        )
        .await;
    assert_eq!(sent["state"], "sent", "{sent}");
    let ours = world.emulator.outbound();
    assert_eq!(ours.len(), 2, "{ours:?}");
    let reply = emulated_tweet(&world, &ours[1].id).await;
    assert_eq!(reply["author_handle"], "acmehelp");
    assert_eq!(reply["in_reply_to"], tweet_id.as_str());

    // A handle that is not the channel's is refused, and nothing is tweeted.
    let (_, refused) = agent
        .call(
            "POST",
            &format!("/interactions/{id}/reply"),
            Some(json!({ "text": "from a stranger", "visibility": "public", "from_handle": "someoneelse" })),
        )
        .await;
    assert_ne!(refused["state"], "sent", "{refused}");
    assert_eq!(world.emulator.outbound().len(), 2);

    // The agent deletes our second tweet: gone on X, erased in the transcript.
    let ours = world.emulator.outbound();
    let second = ours[1].id.clone();
    let (status, _) = agent
        .call(
            "POST",
            &format!("/interactions/{id}/messages/{second}/delete"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let log = world.emulator.outbound();
    assert_eq!(log.len(), 3, "{log:?}");
    assert_eq!(log[2].kind, "delete", "{log:?}");
    assert!(
        log[2].id == second || log[2].target_id.as_deref() == Some(second.as_str()),
        "{log:?}"
    );
    let detail = agent.ok("GET", &format!("/interactions/{id}"), None).await;
    let deleted = detail["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["platform_message_id"] == second.as_str())
        .cloned()
        .unwrap_or_else(|| panic!("our tweet in the transcript: {detail}"));
    assert_eq!(deleted["deleted"], true);
    assert_eq!(deleted["text"], "");
    // A message of another conversation cannot be deleted through this one.
    let (status, body) = agent
        .call(
            "POST",
            &format!("/interactions/{id}/messages/999/delete"),
            None,
        )
        .await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyword_exclusion_language_and_retweet_filters() {
    let world = World::start(|c| {
        let ch = x_channel(c);
        ch.settings.insert("exclusions".into(), "giveaway".into());
        ch.settings.insert("languages".into(), "en".into());
        ch.settings.insert("skip_retweets".into(), "true".into());
        ch.settings.insert("message_types".into(), "public".into());
    })
    .await;
    let original = control(
        &world,
        "tweets",
        json!({"author_handle": "bob", "text": "no keyword at all"}),
    )
    .await;
    control(
        &world,
        "tweets",
        json!({"author_handle": "cid", "text": "acmecorp giveaway, click here"}),
    )
    .await;
    control(
        &world,
        "tweets",
        json!({"author_handle": "dee", "text": "acmecorp mes bottes sont cassées", "lang": "fr"}),
    )
    .await;
    control(
        &world,
        "tweets",
        json!({"author_handle": "eve", "text": "RT acmecorp", "retweet_of": original["tweet_id"]}),
    )
    .await;
    control(
        &world,
        "tweets",
        json!({"author_handle": "ann", "text": "acmecorp where is my parcel?"}),
    )
    .await;

    world
        .wait_count(
            "SELECT count(*) FROM messages WHERE channel = 'x' AND text = 'acmecorp where is my parcel?'",
            1,
        )
        .await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        world
            .count("SELECT count(*) FROM messages WHERE channel = 'x'")
            .await,
        1,
        "only the English, non-excluded, original keyword tweet"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_makes_the_connector_wait_until_the_reset() {
    let world = World::start(|c| {
        let ch = x_channel(c);
        ch.settings.insert("message_types".into(), "public".into());
    })
    .await;
    // No search calls allowed for now: every window answers 429 until it resets.
    world.emulator.set_x_rate_limit(XEndpoint::Search, 0, 2);
    let first_429 = wait_until("a 429 on the search", || async {
        world
            .emulator
            .x_requests()
            .into_iter()
            .find(|r| r.endpoint == XEndpoint::Search && r.status == 429)
    })
    .await;
    let reset_ms = first_429.reset.unwrap() * 1000;
    world.emulator.set_x_rate_limit(XEndpoint::Search, 100, 900);
    control(
        &world,
        "tweets",
        json!({"author_handle": "ann", "text": "acmecorp after the wait"}),
    )
    .await;
    world
        .wait_count(
            "SELECT count(*) FROM messages WHERE channel = 'x' AND text = 'acmecorp after the wait'",
            1,
        )
        .await;
    let log = world.emulator.x_requests();
    let search: Vec<_> = log
        .iter()
        .filter(|r| r.endpoint == XEndpoint::Search)
        .collect();
    let after = search
        .iter()
        .find(|r| r.at_ms > first_429.at_ms)
        .expect("the search resumed");
    assert!(
        after.at_ms >= reset_ms,
        "searched at {} before the reset at {reset_ms}: {search:?}",
        after.at_ms
    );
    // Nowhere a call after a 429 or an exhausted window before its reset.
    for pair in search.windows(2) {
        if pair[0].status == 429 || pair[0].remaining == Some(0) {
            let reset_ms = pair[0].reset.unwrap() * 1000;
            assert!(pair[1].at_ms >= reset_ms, "{search:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_message_reaches_an_agent_and_the_reply_is_a_dm() {
    let world = World::start(|c| {
        let ch = x_channel(c);
        ch.settings.insert("message_types".into(), "private".into());
    })
    .await;
    world
        .emulator
        .set_x_rate_limit(XEndpoint::DmRead, 1000, 900);
    let agent = world.login("agent1").await;
    agent.available().await;
    let dm = control(
        &world,
        "dms",
        json!({"from_handle": "ann", "to_handle": "acme", "text": "my order number is 1042"}),
    )
    .await;
    let offered = agent.wait_for_state("alerting").await;
    assert_eq!(offered["channel"], "x");
    assert_eq!(offered["media_type"], "social_direct_message");
    assert_eq!(offered["thread_id"], dm["dm_conversation_id"]);
    let id = offered["id"].as_i64().unwrap();
    agent
        .ok("POST", &format!("/interactions/{id}/pickup"), None)
        .await;
    let sent = agent
        .ok(
            "POST",
            &format!("/interactions/{id}/reply"),
            Some(json!({ "text": "Thanks, it ships today.", "visibility": "private" })),
        )
        .await;
    assert_eq!(sent["state"], "sent", "{sent}");
    let ours = world.emulator.outbound();
    assert_eq!(ours.len(), 1, "{ours:?}");
    assert_eq!(ours[0].kind, "dm");
    assert_eq!(
        ours[0].target_id.as_ref(),
        dm["sender_id"].as_str().map(str::to_string).as_ref()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compliance_delete_erases_the_stored_text() {
    let world = World::start(|c| {
        x_channel(c);
    })
    .await;
    world
        .emulator
        .subscribe_x(&format!("{}/webhooks/x", world.base))
        .await
        .expect("CRC handshake with the x channel");
    let tweet = control(
        &world,
        "tweets",
        json!({"author_handle": "ann", "text": "acmecorp call me at 555-0100"}),
    )
    .await;
    world
        .wait_count(
            "SELECT count(*) FROM messages WHERE channel = 'x' AND text LIKE '%555-0100%'",
            1,
        )
        .await;
    control(&world, "delete", json!({"tweet_id": tweet["tweet_id"]})).await;
    world
        .wait_count(
            "SELECT count(*) FROM messages WHERE channel = 'x' AND text LIKE '%555-0100%'",
            0,
        )
        .await;
    assert_eq!(
        world
            .count("SELECT count(*) FROM messages WHERE channel = 'x' AND deleted = 1")
            .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_keyword_is_suspended_until_an_admin_lifts_it() {
    let world = World::start(|c| {
        let ch = x_channel(c);
        ch.settings.insert("message_types".into(), "public".into());
    })
    .await;
    // Let the first poll (the backlog, never counted) pass.
    wait_until("a first search", || async {
        world
            .emulator
            .x_requests()
            .iter()
            .any(|r| r.endpoint == XEndpoint::Search)
            .then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    for i in 0..350 {
        control(
            &world,
            "tweets",
            json!({"author_handle": format!("fan{i}"), "text": format!("acmecorp flood #{i}")}),
        )
        .await;
    }
    world
        .wait_count(
            "SELECT count(*) FROM plugin_kv WHERE channel = 'x' AND key = 'suspended/acmecorp'",
            1,
        )
        .await;
    // While suspended the keyword is not searched: a new tweet is not found.
    let searches = |world: &World| {
        world
            .emulator
            .x_requests()
            .iter()
            .filter(|r| r.endpoint == XEndpoint::Search)
            .count()
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = searches(&world);
    control(
        &world,
        "tweets",
        json!({"author_handle": "ann", "text": "acmecorp while suspended"}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        searches(&world),
        before,
        "no search while the only keyword is suspended"
    );
    assert_eq!(
        world
            .count("SELECT count(*) FROM messages WHERE text = 'acmecorp while suspended'")
            .await,
        0
    );

    // The admin sees the suspension and lifts it: the search resumes where it was.
    let admin = world.login("admin").await;
    let listed = admin.ok("GET", "/channels/x/suspensions", None).await;
    assert_eq!(listed[0]["keyword"], "acmecorp", "{listed}");
    assert!(listed[0]["until"].as_i64().unwrap() > 0);
    let (status, _) = admin
        .call("DELETE", "/channels/x/suspensions/acmecorp", None)
        .await;
    assert_eq!(status, 204);
    world
        .wait_count(
            "SELECT count(*) FROM messages WHERE text = 'acmecorp while suspended'",
            1,
        )
        .await;
}

/// The emulator's filtered-stream state (`POST /_emulator/x/stream`, optionally changing it).
async fn stream_state(world: &World, body: Value) -> Value {
    control(world, "stream", body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_use_stream_a_keyword_tweet_arrives_through_the_filtered_stream_and_survives_a_disconnect()
 {
    let world = World::start(|c| {
        x_channel(c)
            .settings
            .insert("use_stream".into(), "true".into());
    })
    .await;
    stream_state(&world, json!({"keepalive_s": 1})).await;
    let agent = world.login("agent1").await;
    agent.available().await;

    // The host opens the stream after the connector put the channel's query in the rules.
    let state = wait_until("the stream is open", || async {
        let s = stream_state(&world, json!({})).await;
        (s["open"] == 1).then_some(s)
    })
    .await;
    let rules = state["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 1, "{state}");
    assert_eq!(rules[0]["value"], "acmecorp", "the channel's search query");
    assert_eq!(rules[0]["tag"], "switchboard");

    let tweet = control(
        &world,
        "tweets",
        json!({"author_handle": "ann", "author_name": "Ann Lee", "text": "acmecorp streamed boots"}),
    )
    .await;
    let tweet_id = tweet["tweet_id"].as_str().unwrap().to_string();
    let offered = agent.wait_for_state("alerting").await;
    assert_eq!(offered["channel"], "x");
    assert_eq!(offered["thread_id"], tweet_id.as_str());
    assert!(
        !world
            .emulator
            .x_requests()
            .iter()
            .any(|r| r.endpoint == XEndpoint::Search),
        "public tweets come from the stream, not the search"
    );

    // The platform drops the connection: the host reconnects and the next tweet arrives.
    let dropped_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let closed = stream_state(&world, json!({"disconnect": true})).await;
    assert_eq!(closed["closed"], 1);
    wait_until("the stream is open again", || async {
        let s = stream_state(&world, json!({})).await;
        (s["open"] == 1 && s["opened"].as_u64() >= Some(2)).then_some(())
    })
    .await;
    control(
        &world,
        "tweets",
        json!({"author_handle": "bob", "text": "acmecorp after the reconnect"}),
    )
    .await;
    world
        .wait_count(
            "SELECT count(*) FROM messages WHERE text = 'acmecorp after the reconnect'",
            1,
        )
        .await;
    let rules = stream_state(&world, json!({})).await["rules"].clone();
    assert_eq!(
        rules.as_array().unwrap().len(),
        1,
        "the rule is kept, not duplicated"
    );
    // The search is asked only to fill the gap the reconnect left (tweets posted while
    // the stream was closed), never while the stream was open.
    assert!(
        world
            .emulator
            .x_requests()
            .iter()
            .filter(|r| r.endpoint == XEndpoint::Search)
            .all(|r| r.at_ms >= dropped_at),
        "{:?}",
        world.emulator.x_requests()
    );
}

/// X compliance on a streaming channel: a tweet deleted on X is erased here, and a
/// customer who deletes their account has everything they wrote on the channel erased
/// (the compliance stream's `delete` and `user_delete` events; plugin tests cover the
/// lookups a polling channel makes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compliance_events_on_the_stream_erase_a_deleted_tweet_and_a_deleted_accounts_content() {
    let world = World::start(|c| {
        x_channel(c)
            .settings
            .insert("use_stream".into(), "true".into());
    })
    .await;
    stream_state(&world, json!({"keepalive_s": 1})).await;
    wait_until("the stream is open", || async {
        let s = stream_state(&world, json!({})).await;
        (s["open"] == 1).then_some(())
    })
    .await;
    let first = control(
        &world,
        "tweets",
        json!({"author_handle": "ann", "author_name": "Ann Lee", "text": "acmecorp my address is 1 Elm St"}),
    )
    .await;
    control(
        &world,
        "tweets",
        json!({"author_handle": "ann", "author_name": "Ann Lee", "text": "acmecorp and my phone 555-0101"}),
    )
    .await;
    control(
        &world,
        "tweets",
        json!({"author_handle": "bob", "author_name": "Bob", "text": "acmecorp bob stays"}),
    )
    .await;
    world
        .wait_count(
            "SELECT count(*) FROM messages WHERE channel = 'x' AND text LIKE 'acmecorp%'",
            3,
        )
        .await;

    control(
        &world,
        "delete_tweet",
        json!({"id": first["tweet_id"], "stream": true}),
    )
    .await;
    world
        .wait_count(
            "SELECT count(*) FROM messages WHERE channel = 'x' AND text LIKE '%1 Elm St%'",
            0,
        )
        .await;

    let erased = control(
        &world,
        "delete_user",
        json!({"handle": "ann", "stream": true}),
    )
    .await;
    assert_eq!(erased["deleted"], true, "{erased}");
    world
        .wait_count(
            "SELECT count(*) FROM messages WHERE channel = 'x' AND text LIKE '%555-0101%'",
            0,
        )
        .await;
    assert_eq!(
        world
            .count("SELECT count(*) FROM messages WHERE channel = 'x' AND author_name = 'Ann Lee'")
            .await,
        0,
        "nothing of the deleted account is left"
    );
    assert_eq!(
        world
            .count(
                "SELECT count(*) FROM messages WHERE channel = 'x' AND text = 'acmecorp bob stays'"
            )
            .await,
        1,
        "other customers keep theirs"
    );
}
