//! X sources on their own, through the real host and the emulator: one failing source
//! does not hold back the others and shows its error in the channel status; a burst of
//! 150 direct messages between two polls is stored whole and once; partial errors are
//! visible; a poison stream line is kept visible and retried; a reply in a group direct
//! message reaches the group.

use std::time::Duration;

use serde_json::{Value, json};
use switchboard::config::Config;
use switchboard_emulator::XEndpoint;

use crate::harness::{Agent, World, wait_until};

/// The demo `x` channel, polling fast, with direct messages readable often enough.
fn x_channel(config: &mut Config) -> &mut switchboard::config::Channel {
    let ch = config
        .channels
        .iter_mut()
        .find(|c| c.name == "x")
        .expect("the demo has an x channel");
    ch.poll_interval_ms = 200;
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

async fn start(tweak: impl FnOnce(&mut switchboard::config::Channel)) -> World {
    let world = World::start(|c| tweak(x_channel(c))).await;
    // Polls come every 200 ms: lift the 15-per-15-minutes DM read limit.
    world
        .emulator
        .set_x_rate_limit(XEndpoint::DmRead, 100_000, 900);
    world
}

/// The channel's status as administrators see it.
async fn status(admin: &Agent) -> Value {
    admin.ok("GET", "/channels/x", None).await["status"].clone()
}

fn source<'a>(status: &'a Value, name: &str) -> Option<&'a Value> {
    status["sources"]
        .as_array()?
        .iter()
        .find(|s| s["name"] == name)
}

/// Direct messages answer 403 while search and mentions work: their messages are
/// stored, the DM source's error shows in the channel status, and once it recovers its
/// message is stored, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_failing_source_does_not_hold_back_the_others() {
    let world = start(|_| {}).await;
    let admin = world.login("admin").await;
    control(
        &world,
        "failures",
        json!({"endpoint": "dm_read", "status": 403, "title": "Forbidden",
               "detail": "This app is not permitted to read direct messages."}),
    )
    .await;
    control(
        &world,
        "dms",
        json!({"from_handle": "dora", "to_handle": "acme", "text": "dm while reads fail"}),
    )
    .await;
    control(
        &world,
        "tweets",
        json!({"author_handle": "ann", "text": "acmecorp searched while dms fail"}),
    )
    .await;
    control(
        &world,
        "tweets",
        json!({"author_handle": "bob", "text": "@acme mentioned while dms fail"}),
    )
    .await;
    world
        .wait_count(
            "SELECT count(*) FROM messages WHERE channel = 'x' AND text LIKE '% while dms fail'",
            2,
        )
        .await;
    let shown = wait_until("the DM source's error in the channel status", || async {
        let s = status(&admin).await;
        let dm = source(&s, "direct messages @acme")?.clone();
        (dm["ok"] == false).then_some((s, dm))
    })
    .await;
    let (s, dm) = shown;
    assert!(
        dm["error"]
            .as_str()
            .unwrap()
            .contains("not permitted to read direct messages"),
        "{dm}"
    );
    assert_eq!(source(&s, "search").unwrap()["ok"], true, "{s}");
    assert_eq!(source(&s, "mentions @acme").unwrap()["ok"], true, "{s}");
    assert!(
        !s.to_string().contains("demo-x-token"),
        "no token in the status: {s}"
    );
    assert_eq!(
        world
            .count("SELECT count(*) FROM messages WHERE text = 'dm while reads fail'")
            .await,
        0
    );

    // The DM source recovers: its message comes once, and its status clears.
    control(
        &world,
        "failures",
        json!({"endpoint": "dm_read", "count": 0}),
    )
    .await;
    world
        .wait_count(
            "SELECT count(*) FROM messages WHERE text = 'dm while reads fail'",
            1,
        )
        .await;
    wait_until("the DM source is fine again", || async {
        let s = status(&admin).await;
        (source(&s, "direct messages @acme")?["ok"] == true).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        world
            .count("SELECT count(*) FROM messages WHERE channel = 'x' AND text LIKE '%while%fail'")
            .await,
        3,
        "each message stored once"
    );
}

/// 150 direct messages arrive between two polls (reads fail meanwhile): every page is
/// followed, all 150 are stored, each once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_150_direct_messages_between_two_polls_is_stored_whole() {
    let world = start(|ch| {
        ch.settings.insert("message_types".into(), "private".into());
    })
    .await;
    // A first message gives the DM source its place.
    control(
        &world,
        "dms",
        json!({"from_handle": "erin", "to_handle": "acme", "text": "before the burst"}),
    )
    .await;
    world
        .wait_count(
            "SELECT count(*) FROM messages WHERE text = 'before the burst'",
            1,
        )
        .await;
    control(
        &world,
        "failures",
        json!({"endpoint": "dm_read", "status": 503, "title": "Service Unavailable"}),
    )
    .await;
    for i in 0..150 {
        control(
            &world,
            "dms",
            json!({"from_handle": "erin", "to_handle": "acme", "text": format!("burst {i}")}),
        )
        .await;
    }
    control(
        &world,
        "failures",
        json!({"endpoint": "dm_read", "count": 0}),
    )
    .await;
    world
        .wait_count(
            "SELECT count(*) FROM messages WHERE channel = 'x' AND text LIKE 'burst %'",
            150,
        )
        .await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        world
            .count("SELECT count(DISTINCT text) FROM messages WHERE channel = 'x' AND text LIKE 'burst %'")
            .await,
        150
    );
    assert_eq!(
        world
            .count("SELECT count(*) FROM messages WHERE channel = 'x' AND text LIKE 'burst %'")
            .await,
        150,
        "each once"
    );
}

/// A 200 with `errors[]` keeps its results and shows the errors on its source; a tweet
/// whose author is missing is not stored as nobody's and says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_errors_are_visible_and_nothing_is_lost() {
    let world = start(|ch| {
        ch.settings.insert("message_types".into(), "public".into());
    })
    .await;
    let admin = world.login("admin").await;
    control(&world, "partial_errors", json!({"endpoint": "search"})).await;
    control(
        &world,
        "tweets",
        json!({"author_handle": "fay", "text": "acmecorp with a partial error"}),
    )
    .await;
    world
        .wait_count(
            "SELECT count(*) FROM messages WHERE text = 'acmecorp with a partial error'",
            1,
        )
        .await;
    wait_until("the partial error in the channel status", || async {
        let s = status(&admin).await;
        source(&s, "search")?["warnings"]
            .as_array()?
            .iter()
            .any(|w| {
                w["text"]
                    .as_str()
                    .is_some_and(|t| t.contains("Could not find user with id: [9999999]"))
            })
            .then_some(())
    })
    .await;

    control(
        &world,
        "partial_errors",
        json!({"endpoint": "mentions", "drop_author": true}),
    )
    .await;
    let tweet = control(
        &world,
        "tweets",
        json!({"author_handle": "gus", "text": "@acme who wrote this?"}),
    )
    .await;
    let id = tweet["tweet_id"].as_str().unwrap().to_string();
    wait_until("the author-less tweet in the channel status", || async {
        let s = status(&admin).await;
        source(&s, "mentions @acme")?["warnings"]
            .as_array()?
            .iter()
            .any(|w| {
                w["text"]
                    .as_str()
                    .is_some_and(|t| t.contains(&id) && t.contains("without its author"))
            })
            .then_some(())
    })
    .await;
    assert_eq!(
        world
            .count("SELECT count(*) FROM messages WHERE channel = 'x' AND author_id = ''")
            .await,
        0,
        "no message without its customer"
    );
}

/// A line the connector cannot read is kept in the channel status and retried, while
/// the tweets after it are stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_stream_line_is_visible_and_retried() {
    let world = start(|ch| {
        ch.settings.insert("use_stream".into(), "true".into());
        ch.settings.insert("message_types".into(), "public".into());
    })
    .await;
    let admin = world.login("admin").await;
    wait_until("the stream is open", || async {
        let s = control(&world, "stream", json!({})).await;
        (s["open"] == 1).then_some(())
    })
    .await;
    let written = control(
        &world,
        "stream",
        json!({"raw_line": "{\"data\":{\"id\":\"17\",\"text\":"}),
    )
    .await;
    assert_eq!(written["written"], 1);
    control(
        &world,
        "tweets",
        json!({"author_handle": "hal", "text": "acmecorp after the poison"}),
    )
    .await;
    world
        .wait_count(
            "SELECT count(*) FROM messages WHERE text = 'acmecorp after the poison'",
            1,
        )
        .await;
    let failure = wait_until("the poison line retried", || async {
        let s = status(&admin).await;
        let f = s["stream_failures"].as_array()?.first()?.clone();
        (f["attempts"].as_u64()? >= 2).then_some(f)
    })
    .await;
    assert!(
        failure["line"].as_str().unwrap().starts_with("{\"data\""),
        "{failure}"
    );
    assert!(
        failure["error"]
            .as_str()
            .unwrap()
            .contains("unreadable stream line"),
        "{failure}"
    );
}

/// A reply in a group conversation goes to the group
/// (`POST /2/dm_conversations/:id/messages`), not to one participant.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_in_a_group_direct_message_reaches_the_group() {
    let world = start(|ch| {
        ch.settings.insert("message_types".into(), "private".into());
    })
    .await;
    let agent = world.login("agent1").await;
    agent.available().await;
    let group = control(
        &world,
        "group_dms",
        json!({"from_handle": "ivy", "participants": ["acme", "jon"], "text": "the three of us need help"}),
    )
    .await;
    let conversation = group["dm_conversation_id"].as_str().unwrap().to_string();
    let offered = agent.wait_for_state("alerting").await;
    assert_eq!(offered["thread_id"], conversation.as_str());
    let id = offered["id"].as_i64().unwrap();
    agent
        .ok("POST", &format!("/interactions/{id}/pickup"), None)
        .await;
    let sent = agent
        .ok(
            "POST",
            &format!("/interactions/{id}/reply"),
            Some(json!({ "text": "Hello both, on it.", "visibility": "private" })),
        )
        .await;
    assert_eq!(sent["state"], "sent", "{sent}");
    let ours = world.emulator.outbound();
    assert_eq!(ours.len(), 1, "{ours:?}");
    assert_eq!(
        (ours[0].kind.as_str(), ours[0].target_id.as_deref()),
        ("dm_conversation", Some(conversation.as_str())),
        "{ours:?}"
    );
}

/// Tweets posted while the filtered stream is closed are read with the search since the
/// last streamed tweet once it reopens, each stored once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gap_in_the_stream_is_backfilled_after_the_reconnect() {
    let world = start(|ch| {
        ch.settings.insert("use_stream".into(), "true".into());
        ch.settings.insert("message_types".into(), "public".into());
    })
    .await;
    wait_until("the stream is open", || async {
        let s = control(&world, "stream", json!({})).await;
        (s["open"] == 1).then_some(())
    })
    .await;
    control(
        &world,
        "tweets",
        json!({"author_handle": "kim", "text": "acmecorp streamed first"}),
    )
    .await;
    world
        .wait_count(
            "SELECT count(*) FROM messages WHERE text = 'acmecorp streamed first'",
            1,
        )
        .await;
    // The stream drops and its first reconnect is refused: tweets meanwhile are not
    // streamed.
    control(
        &world,
        "failures",
        json!({"endpoint": "stream", "status": 503, "count": 1}),
    )
    .await;
    let closed = control(&world, "stream", json!({"disconnect": true})).await;
    assert_eq!(closed["closed"], 1);
    for text in ["acmecorp while closed 1", "acmecorp while closed 2"] {
        control(
            &world,
            "tweets",
            json!({"author_handle": "lea", "text": text}),
        )
        .await;
    }
    world
        .wait_count(
            "SELECT count(*) FROM messages WHERE channel = 'x' AND text LIKE 'acmecorp while closed %'",
            2,
        )
        .await;
    wait_until("the stream is open again", || async {
        let s = control(&world, "stream", json!({})).await;
        (s["open"] == 1).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        world
            .count("SELECT count(*) FROM messages WHERE channel = 'x' AND text LIKE 'acmecorp%'")
            .await,
        3,
        "each once"
    );
}

/// The search runs out of calls: its source shows the rate limit's reason and reset while
/// the mentions go on being stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_source_shows_its_reason_and_reset_while_the_others_go_on() {
    let world = start(|ch| {
        ch.settings.insert("message_types".into(), "public".into());
    })
    .await;
    world.emulator.set_x_rate_limit(XEndpoint::Search, 1, 900);
    let admin = world.login("admin").await;
    let limited = wait_until("the search's rate limit in the channel status", || async {
        let s = status(&admin).await;
        let search = source(&s, "search")?.clone();
        (search["ok"] == false).then_some(search)
    })
    .await;
    let error = limited["error"].as_str().unwrap();
    assert!(
        error.contains("Too Many Requests") || error.contains("no calls left"),
        "{limited}"
    );
    // The window that ran out: polls made before the limit was set had a window of
    // their own, with another reset.
    let reset = world
        .emulator
        .x_requests()
        .iter()
        .filter(|r| r.endpoint == XEndpoint::Search)
        .filter(|r| r.remaining == Some(0) || r.status == 429)
        .find_map(|r| r.reset)
        .unwrap();
    assert_eq!(
        limited["retry_at"].as_i64(),
        Some(reset * 1000),
        "{limited}"
    );
    control(
        &world,
        "tweets",
        json!({"author_handle": "max", "text": "@acme mentioned while the search waits"}),
    )
    .await;
    world
        .wait_count(
            "SELECT count(*) FROM messages WHERE text = '@acme mentioned while the search waits'",
            1,
        )
        .await;
}
