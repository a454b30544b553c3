//! Replies exactly once: a slow platform, a lost request, a crash during a send, a rate
//! limit far away, a resend of a reply whose delivery is unknown, a deleted channel. Each
//! reply is posted once or shown as delivery unknown, never twice.

use std::time::Duration;

use serde_json::{Value, json};
use switchboard::config::Config;
use switchboard::model::interaction::Visibility;
use switchboard::store::outbox::{self, OutboundReply};
use switchboard_emulator::XEndpoint;

use crate::harness::{Agent, World, wait_until};

/// The plugin call deadline of these tests: the emulator answers just inside or past it.
const DEADLINE_MS: u64 = 2_000;

fn tight_deadline(config: &mut Config) {
    config.server.plugin_limits.call_timeout_ms = DEADLINE_MS;
    // Every reply here has its own text; the RPC cache plays no part.
    config.channels[0].rpc_cache_timeout_s = 0;
}

/// An agent with a connected interaction on a fresh comment: (agent, interaction, post,
/// comment).
async fn connected(world: &World) -> (Agent, i64, String, String) {
    let agent = world.login("agent1").await;
    agent.available().await;
    let (post, comment) = world.post_and_comment("Ann Lee", "is this in stock?").await;
    let offered = agent.wait_for_state("alerting").await;
    let id = offered["id"].as_i64().unwrap();
    agent
        .ok("POST", &format!("/interactions/{id}/pickup"), None)
        .await;
    (agent, id, post, comment)
}

async fn reply(agent: &Agent, id: i64, text: &str, visibility: &str) -> Value {
    agent
        .ok(
            "POST",
            &format!("/interactions/{id}/reply"),
            Some(json!({ "text": text, "visibility": visibility })),
        )
        .await
}

/// How many times the platform took `text` from the business.
fn posted(world: &World, text: &str) -> usize {
    world
        .emulator
        .outbound()
        .iter()
        .filter(|o| o.text.as_deref() == Some(text))
        .count()
}

async fn outbound_of(agent: &Agent, id: i64, text: &str) -> Value {
    let detail = agent.ok("GET", &format!("/interactions/{id}"), None).await;
    detail["outbound"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["text"] == text)
        .cloned()
        .unwrap_or_else(|| panic!("no reply `{text}` in {detail}"))
}

/// Stops the host and starts it again on the same data folder.
async fn restart(world: &mut World, tweak: impl FnOnce(&mut Config)) {
    world.host.take().unwrap().shutdown().await;
    let config = world.config(tweak);
    let host = switchboard::server::start(config)
        .await
        .expect("host restarts");
    world.base = format!("http://{}", host.addr);
    world.host = Some(host);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_platform_just_inside_and_just_past_the_deadline_gets_one_post_each_time() {
    let world = World::start(tight_deadline).await;
    let (agent, id, _, _) = connected(&world).await;

    // Just inside the deadline: an ordinary send.
    world
        .emulator
        .answer_late(Duration::from_millis(DEADLINE_MS - 600), 1);
    let inside = reply(&agent, id, "Yes, in every size.", "public").await;
    assert_eq!(inside["state"], "sent", "{inside}");
    assert_eq!(posted(&world, "Yes, in every size."), 1);

    // Just past it: the comment is posted but the answer comes too late. The host does
    // not send it again; the connector finds our comment under the customer's.
    world
        .emulator
        .answer_late(Duration::from_millis(DEADLINE_MS + 1_000), 1);
    let past = reply(&agent, id, "It ships tomorrow.", "public").await;
    assert_eq!(
        past["state"], "sent",
        "confirmed by the existence check: {past}"
    );
    let ours: Vec<_> = world
        .emulator
        .outbound()
        .into_iter()
        .filter(|o| o.text.as_deref() == Some("It ships tomorrow."))
        .collect();
    assert_eq!(ours.len(), 1, "{ours:?}");
    assert_eq!(past["platform_message_id"], ours[0].id.as_str());
    // Well past any retry's backoff: still one.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(posted(&world, "It ships tomorrow."), 1);
    let entry = outbound_of(&agent, id, "It ships tomorrow.").await;
    assert_eq!(entry["state"], "sent", "{entry}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_request_is_checked_then_sent_and_one_that_cannot_be_checked_is_unknown_until_resent()
 {
    let world = World::start(tight_deadline).await;
    let (agent, id, _, _) = connected(&world).await;

    // Lost on the way, no answer: the connector sees no such comment, so it goes again.
    world
        .emulator
        .lose_requests(Duration::from_millis(DEADLINE_MS + 1_000), 1);
    let first = reply(&agent, id, "Checking for you.", "public").await;
    assert_ne!(first["state"], "unknown", "{first}");
    let entry = wait_until("the checked reply is sent", || async {
        let entry = outbound_of(&agent, id, "Checking for you.").await;
        (entry["state"] == "sent").then_some(entry)
    })
    .await;
    assert_eq!(posted(&world, "Checking for you."), 1, "{entry}");

    // A private reply: Messenger cannot tell whether it was posted. It is not sent again
    // by itself; the agent sees delivery unknown.
    world
        .emulator
        .lose_requests(Duration::from_millis(DEADLINE_MS + 1_000), 1);
    let private = reply(&agent, id, "I sent you the tracking link.", "private").await;
    assert_eq!(private["state"], "unknown", "{private}");
    assert!(
        private["last_error"]
            .as_str()
            .unwrap()
            .contains("Delivery unknown"),
        "told in plain words: {private}"
    );
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let entry = outbound_of(&agent, id, "I sent you the tracking link.").await;
    assert_eq!(
        entry["state"], "unknown",
        "never retried by itself: {entry}"
    );
    assert_eq!(posted(&world, "I sent you the tracking link."), 0);

    // The agent resends it deliberately.
    let outbound_id = entry["id"].as_i64().unwrap();
    let again = agent
        .ok(
            "POST",
            &format!("/interactions/{id}/outbound/{outbound_id}/resend"),
            None,
        )
        .await;
    assert_eq!(again["state"], "sent", "{again}");
    assert_eq!(again["idempotency_key"], entry["idempotency_key"]);
    assert_eq!(posted(&world, "I sent you the tracking link."), 1);
    // A sent reply is not resent.
    let (status, refused) = agent
        .call(
            "POST",
            &format!("/interactions/{id}/outbound/{outbound_id}/resend"),
            None,
        )
        .await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(posted(&world, "I sent you the tracking link."), 1);
}

/// An outbox entry as the host leaves it when it stops during the platform call: recorded
/// as `attempting`, no answer recorded.
async fn attempting(world: &World, id: i64, comment: &str, text: &str, private: bool) -> i64 {
    let store = world.host.as_ref().unwrap().app.store.clone();
    let (comment, text) = (comment.to_owned(), text.to_owned());
    store
        .write(move |c| {
            let ix = switchboard::store::queries::interaction(c, id)?.unwrap();
            let send = switchboard::model::plan::Send {
                text,
                visibility: None,
                retries: 3,
                backoff_ms: 200,
            };
            let visibility = if private {
                Visibility::Private
            } else {
                Visibility::Public
            };
            let reply: OutboundReply = OutboundReply::from_workflow(
                id,
                &ix.channel,
                &ix.thread_id,
                Some(comment),
                None,
                visibility,
                &send,
            );
            let oid = outbox::enqueue(c, &reply, switchboard::clock::now_ms())?;
            let begun = outbox::begin_attempt(c, oid, 0, switchboard::clock::now_ms())?;
            assert!(matches!(begun, outbox::Begin::Go(_)), "{begun:?}");
            Ok(oid)
        })
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_under_way_at_a_crash_is_checked_at_restart_never_sent_blindly() {
    let mut world = World::start(tight_deadline).await;
    let (_, id, post, comment) = connected(&world).await;
    // The host recorded both attempts, the page's comment reached Facebook, and the host
    // stopped before either answer came back.
    let public = attempting(&world, id, &comment, "Found it: order 1234.", false).await;
    let private = attempting(&world, id, &comment, "Here is your code.", true).await;
    world
        .customer_says(json!({ "page_id": "1001", "post_id": post, "parent_id": comment,
            "author_name": "Acme Outfitters", "author_id": "1001", "text": "Found it: order 1234." }))
        .await;
    let page_comment = wait_until("the page's comment on the emulator", || async {
        let page: Value = world.emulator_json("/_emulator/facebook/pages/1001").await;
        page["posts"].as_array().unwrap().iter().find_map(|p| {
            p["comments"].as_array().unwrap().iter().find_map(|c| {
                (c["message"] == "Found it: order 1234.")
                    .then(|| c["id"].as_str().unwrap().to_owned())
            })
        })
    })
    .await;

    restart(&mut world, tight_deadline).await;
    let agent = world.login("agent1").await;
    let entry = wait_until("the public reply settled", || async {
        let entry = outbound_of(&agent, id, "Found it: order 1234.").await;
        (entry["state"] != "attempting").then_some(entry)
    })
    .await;
    assert_eq!(
        entry["state"], "sent",
        "found by the existence check: {entry}"
    );
    assert_eq!(entry["platform_message_id"], page_comment.as_str());
    assert_eq!(entry["id"], public);
    let entry = wait_until("the private reply settled", || async {
        let entry = outbound_of(&agent, id, "Here is your code.").await;
        (entry["state"] != "attempting").then_some(entry)
    })
    .await;
    assert_eq!(entry["state"], "unknown", "cannot be checked: {entry}");
    assert_eq!(entry["id"], private);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(
        posted(&world, "Found it: order 1234."),
        0,
        "nothing sent again"
    );
    assert_eq!(
        posted(&world, "Here is your code."),
        0,
        "nothing sent again"
    );
}

/// The demo `x` channel first, polling fast.
fn x_first(config: &mut Config) {
    let at = config
        .channels
        .iter()
        .position(|c| c.name == "x")
        .expect("the demo has an x channel");
    let mut ch = config.channels.remove(at);
    ch.poll_interval_ms = 200;
    ch.rpc_cache_timeout_s = 0;
    config.channels.insert(0, ch);
}

async fn x_connected(world: &World, text: &str) -> (Agent, i64) {
    let agent = world.login("agent1").await;
    agent.available().await;
    let res = world
        .http
        .post(format!("http://{}/_emulator/x/tweets", world.emulator_addr))
        .json(&json!({ "author_handle": "ann", "author_name": "Ann Lee", "text": text }))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    let offered = agent.wait_for_state("alerting").await;
    let id = offered["id"].as_i64().unwrap();
    agent
        .ok("POST", &format!("/interactions/{id}/pickup"), None)
        .await;
    (agent, id)
}

fn posts_asked(world: &World) -> usize {
    world
        .emulator
        .x_requests()
        .iter()
        .filter(|r| r.endpoint == XEndpoint::Post)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_waits_for_a_rate_limit_reset_15_minutes_away_across_a_restart() {
    let mut world = World::start(x_first).await;
    let (agent, id) = x_connected(&world, "acmecorp where is my parcel").await;
    // No tweet may be posted for the next 15 minutes.
    world.emulator.set_x_rate_limit(XEndpoint::Post, 0, 900);
    let before = switchboard::clock::now_ms();
    let waiting = reply(&agent, id, "It left our warehouse today.", "public").await;
    assert_eq!(waiting["state"], "pending", "{waiting}");
    assert_eq!(
        waiting["attempts"], 0,
        "a rate limit spends no attempt: {waiting}"
    );
    let due = waiting["next_attempt_at"].as_i64().unwrap();
    assert!(
        due >= before + 14 * 60_000 && due <= before + 16 * 60_000,
        "due at the platform's reset, 15 minutes away: {waiting}"
    );
    assert!(
        waiting["last_error"]
            .as_str()
            .unwrap()
            .contains("rate limit"),
        "{waiting}"
    );
    assert_eq!(posts_asked(&world), 1);

    restart(&mut world, x_first).await;
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    let agent = world.login("agent1").await;
    let entry = outbound_of(&agent, id, "It left our warehouse today.").await;
    assert_eq!(entry["state"], "pending", "{entry}");
    assert_eq!(entry["attempts"], 0, "{entry}");
    assert_eq!(
        entry["next_attempt_at"], due,
        "the schedule survived the restart"
    );
    assert_eq!(
        entry["last_attempt_at"], waiting["last_attempt_at"],
        "not tried again before the reset"
    );
    assert_eq!(posts_asked(&world), 1, "nothing asked before the reset");
    assert_eq!(posted(&world, "It left our warehouse today."), 0);
}

/// The demo's Facebook page behind the `faulty` test connector, whose `send` can trap
/// before or after posting.
fn faulty_sender(config: &mut Config) {
    let emulator = config.channels[0].settings["graph_base_url"].clone();
    let mut ch = config.channels[0].clone();
    ch.name = "faulty".into();
    ch.plugin = "faulty".into();
    ch.settings.clear();
    ch.settings.insert("graph_base_url".into(), emulator);
    ch.settings
        .insert("access_token".into(), "demo-page-token".into());
    ch.secrets.clear();
    config.channels.push(ch);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_that_traps_after_posting_is_not_run_again_on_a_fresh_instance() {
    let world = World::start(faulty_sender).await;
    let post = world
        .customer_says(json!({ "page_id": "1001", "author_name": "Acme Outfitters",
            "author_id": "1001", "text": "Spring sale!" }))
        .await["post_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let app = world.host.as_ref().unwrap().app.clone();
    let send = |text: &'static str| {
        let (app, post) = (app.clone(), post.clone());
        tokio::task::spawn_blocking(move || {
            let channel = app.channels.get("faulty").unwrap();
            let mut reply = OutboundReply::from_workflow(
                1,
                "faulty",
                &post,
                None,
                None,
                Visibility::Public,
                &switchboard::model::plan::Send {
                    text: text.into(),
                    visibility: None,
                    retries: 3,
                    backoff_ms: 200,
                },
            );
            reply.id = 1;
            channel.connector.send(&reply, None, Vec::new())
        })
    };
    let failure = send("trap after posting").await.unwrap().unwrap_err();
    assert!(failure.may_have_reached, "{failure:?}");
    assert_eq!(
        posted(&world, "trap after posting"),
        1,
        "the platform has it once: the call was not run again"
    );
    let failure = send("trap before posting").await.unwrap().unwrap_err();
    assert!(
        !failure.may_have_reached,
        "nothing left for the platform: safe to try later ({failure:?})"
    );
    // The channel still works afterwards.
    assert!(send("hello").await.unwrap().is_ok());
    assert_eq!(posted(&world, "hello"), 1);
}

/// The demo without its config-file Facebook channel (an administrator adds one).
fn without_facebook(config: &mut Config) {
    config.channels.retain(|c| c.plugin != "facebook");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_replies_of_a_deleted_channel_end_failed_not_pending() {
    let world = World::start(without_facebook).await;
    let admin = world.login("admin").await;
    let emulator = format!("http://{}", world.emulator_addr);
    admin
        .ok(
            "POST",
            "/channels",
            Some(json!({
                "name": "fb2", "plugin": "facebook", "workgroup": "Social",
                "ingest": "poll", "poll_interval_ms": 200,
                "allowed_hosts": [emulator],
                "settings": { "page_id": "1001", "graph_base_url": format!("{emulator}/v19.0") },
                "secrets": { "app_secret": "demo-app-secret", "verify_token": "demo-verify",
                             "access_token": "demo-page-token" },
            })),
        )
        .await;
    let (agent, id, _, _) = connected(&world).await;
    // The platform is down: the reply waits for a retry.
    let res = world
        .http
        .post(format!("{emulator}/_emulator/facebook/failures"))
        .json(&json!({ "status": 503, "code": 2, "message": "Service temporarily unavailable", "count": 1000 }))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    let waiting = reply(&agent, id, "We are looking into it.", "public").await;
    assert_eq!(waiting["state"], "pending", "{waiting}");
    let (status, _) = admin.call("DELETE", "/channels/fb2", None).await;
    assert_eq!(status, 204);
    let entry = outbound_of(&agent, id, "We are looking into it.").await;
    assert_eq!(entry["state"], "failed", "{entry}");
    assert!(
        entry["last_error"]
            .as_str()
            .unwrap()
            .contains("the channel was deleted"),
        "{entry}"
    );
    // Past its retry time: it stays so, and nothing was posted.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let entry = outbound_of(&agent, id, "We are looking into it.").await;
    assert_eq!(entry["state"], "failed", "{entry}");
    assert_eq!(posted(&world, "We are looking into it."), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rpc_cache_never_suppresses_a_reply_whose_first_attempt_failed() {
    let world = World::start(|c| c.channels[0].rpc_cache_timeout_s = 90).await;
    let (agent, id, _, _) = connected(&world).await;
    // The platform refuses the first attempt for good.
    let res = world
        .http
        .post(format!(
            "http://{}/_emulator/facebook/failures",
            world.emulator_addr
        ))
        .json(&json!({ "status": 400, "code": 100, "message": "Invalid parameter", "count": 1 }))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    let first = reply(&agent, id, "Your refund is on its way.", "public").await;
    assert_eq!(first["state"], "failed", "{first}");
    // The agent sends the same words again at once: the customer has nothing yet.
    let again = reply(&agent, id, "Your refund is on its way.", "public").await;
    assert_eq!(again["state"], "sent", "{again}");
    assert_eq!(posted(&world, "Your refund is on its way."), 1);
    // Now it did reach them: a third time is a repeat, and so is a resend of the failed one.
    let third = reply(&agent, id, "Your refund is on its way.", "public").await;
    assert_eq!(third["state"], "suppressed", "{third}");
    let resent = agent
        .ok(
            "POST",
            &format!("/interactions/{id}/outbound/{}/resend", first["id"]),
            None,
        )
        .await;
    assert_eq!(resent["state"], "suppressed", "{resent}");
    assert_eq!(posted(&world, "Your refund is on its way."), 1);
}
