//! Supervisor reports end to end: the real-time dashboard and the interaction search,
//! over Facebook comments, Messenger and WhatsApp messages sent through the emulator.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use switchboard::config::Config;
use switchboard::routing::{Utilization, UtilizationTable};

use crate::harness::{Agent, World};

const MINUTE_MS: i64 = 60_000;

/// Every interaction fills an agent: agent1 holds exactly the one it picked up.
fn one_at_a_time(config: &mut Config) {
    for group in &mut config.workgroups {
        let mut t = UtilizationTable::default();
        for media in ["social_conversation", "social_direct_message"] {
            let full = Utilization {
                percent: 100,
                max: 1,
            };
            t.by_type.insert(media.into(), full);
        }
        group.utilization = t;
    }
}

/// The demo world, with the WhatsApp number's webhook subscribed too.
async fn world() -> World {
    let world = World::start(one_at_a_time).await;
    let url = format!("{}/webhooks/whatsapp", world.base);
    world
        .emulator
        .subscribe_whatsapp("2002", &url, "demo-verify")
        .await
        .expect("whatsapp webhook subscription handshake");
    world
}

/// Calls an emulator control route.
async fn emulator(world: &World, path: &str, body: Value) {
    let url = format!("http://{}/_emulator/{path}", world.emulator_addr);
    let res = world.http.post(url).json(&body).send().await.unwrap();
    assert!(res.status().is_success(), "emulator refused {path} {body}");
}

/// Injects one message and waits until the host has made the `n`th interaction of it,
/// so interactions are created in the order the test sends them.
async fn arrives(world: &World, n: i64, send: impl std::future::Future<Output = ()>) {
    send.await;
    world
        .wait_count("SELECT count(*) FROM interactions", n)
        .await;
}

async fn comment(world: &World, author: &str, text: &str) {
    world.post_and_comment(author, text).await;
}

async fn messenger(world: &World, name: &str, text: &str) {
    let body = json!({ "page_id": "1001", "name": name, "text": text });
    emulator(world, "messenger/messages", body).await;
}

async fn whatsapp(world: &World, from: &str, name: &str, text: &str) {
    let body = json!({ "phone_number_id": "2002", "from": from, "name": name, "type": "text", "text": text });
    emulator(world, "whatsapp/messages", body).await;
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// The search result of `query`, checking that `total` agrees with one full page.
async fn search(sup: &Agent, query: &str) -> Vec<Value> {
    let page = sup.ok("GET", &format!("/interactions?{query}"), None).await;
    let items = page["items"].as_array().unwrap().clone();
    assert_eq!(page["total"], items.len(), "{query}: {page}");
    items
}

/// The ids `query` finds, newest first.
async fn ids(sup: &Agent, query: &str) -> Vec<i64> {
    let items = search(sup, query).await;
    items.iter().map(|ix| ix["id"].as_i64().unwrap()).collect()
}

fn sum(minutes: &Value, field: &str) -> i64 {
    let list = minutes.as_array().unwrap();
    list.iter().map(|m| m[field].as_i64().unwrap()).sum()
}

/// Arrivals per minute start, from the interactions' own creation times.
fn expected_minutes(items: &[Value], field: &str) -> BTreeMap<i64, i64> {
    let mut by_minute = BTreeMap::new();
    for t in items.iter().filter_map(|ix| ix[field].as_i64()) {
        *by_minute.entry(t - t % MINUTE_MS).or_insert(0) += 1;
    }
    by_minute
}

/// Asserts that `per_minute` is the last hour and holds exactly `expected` for `field`.
fn assert_minutes(realtime: &Value, field: &str, expected: &BTreeMap<i64, i64>) {
    let now = realtime["now"].as_i64().unwrap();
    let minutes = realtime["per_minute"].as_array().unwrap();
    assert_eq!(minutes.len(), 60, "{realtime}");
    assert_eq!(minutes[59]["minute"], now - now % MINUTE_MS, "ends now");
    assert_eq!(minutes[0]["minute"], now - now % MINUTE_MS - 59 * MINUTE_MS);
    for m in minutes {
        let minute = m["minute"].as_i64().unwrap();
        let want = expected.get(&minute).copied().unwrap_or(0);
        assert_eq!(m[field], want, "{field} in minute {minute}: {realtime}");
    }
}

fn social(workgroups: &Value) -> Value {
    let list = workgroups.as_array().unwrap();
    list.iter()
        .find(|w| w["workgroup"] == "Social")
        .unwrap()
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn realtime_counts_follow_arrivals_and_pickups() {
    let world = world().await;
    let sup = world.login("super").await;
    let a1 = world.login("agent1").await;
    let (status, body) = a1.call("GET", "/stats/realtime", None).await;
    assert_eq!(status, 403, "agents do not see the dashboard: {body}");

    let before = sup.ok("GET", "/stats/realtime", None).await;
    assert_eq!(
        before["conversations"],
        json!({"active": 0, "longest_ms": 0, "longest_id": null})
    );
    assert_eq!(before["direct_messages"]["active"], 0);
    assert_minutes(&before, "arrivals", &BTreeMap::new());
    let by_status = before["agents_by_status"].as_object().unwrap();
    let mut keys: Vec<&str> = by_status.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["available", "away", "logged_out", "not_responding"]);
    let agents: i64 = by_status.values().map(|v| v.as_i64().unwrap()).sum();
    assert_eq!(agents, 3, "admin, agent1 and agent2 have the agent right");

    arrives(&world, 1, comment(&world, "Ann", "first comment")).await;
    arrives(&world, 2, comment(&world, "Bo", "second comment")).await;
    arrives(&world, 3, messenger(&world, "Cy", "a direct message")).await;
    arrives(&world, 4, whatsapp(&world, "15550001", "Di", "on whatsapp")).await;
    let all = search(&sup, "").await;
    let now = sup.ok("GET", "/stats/realtime", None).await;
    assert_eq!(now["conversations"]["active"], 2, "{now}");
    assert_eq!(now["direct_messages"]["active"], 2, "{now}");
    let oldest = all.last().unwrap();
    assert_eq!(oldest["customer_name"], "Ann");
    assert_eq!(now["conversations"]["longest_id"], oldest["id"]);
    let age = now["now"].as_i64().unwrap() - oldest["created_at"].as_i64().unwrap();
    assert_eq!(now["conversations"]["longest_ms"], age);
    assert_minutes(&now, "arrivals", &expected_minutes(&all, "created_at"));
    assert_eq!(sum(&now["per_minute"], "arrivals"), 4);
    assert_eq!(sum(&now["per_minute"], "answered"), 0);
    assert_eq!(social(&now["workgroups"])["waiting"], 4, "{now}");

    a1.available().await;
    let offered = a1.wait_for_state("alerting").await;
    let id = offered["id"].as_i64().unwrap();
    a1.ok("POST", &format!("/interactions/{id}/pickup"), None)
        .await;
    let after = sup.ok("GET", "/stats/realtime", None).await;
    let all = search(&sup, "").await;
    assert_minutes(&after, "answered", &expected_minutes(&all, "answered_at"));
    assert_eq!(sum(&after["per_minute"], "answered"), 1, "{after}");
    assert_eq!(after["agents_by_status"]["available"], 1, "{after}");
    let queue = social(&after["workgroups"]);
    assert_eq!(
        (queue["answered"].clone(), queue["waiting"].clone()),
        (json!(1), json!(3))
    );

    // The dashboard's workgroups are the numbers of /queues, without the members.
    let queues = sup.ok("GET", "/queues", None).await;
    let mut from_queues = social(&queues);
    from_queues
        .as_object_mut()
        .unwrap()
        .remove("agents_by_status");
    let queue = social(&sup.ok("GET", "/stats/realtime", None).await["workgroups"]);
    let strip_wait = |mut v: Value| {
        v.as_object_mut().unwrap().remove("longest_wait_ms");
        v
    };
    assert_eq!(strip_wait(queue), strip_wait(from_queues));

    a1.ok("POST", &format!("/interactions/{id}/disconnect"), None)
        .await;
    let done = sup.ok("GET", "/stats/realtime", None).await;
    let active = done["conversations"]["active"].as_i64().unwrap()
        + done["direct_messages"]["active"].as_i64().unwrap();
    assert_eq!(active, 3, "a disconnected one is no longer active: {done}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_search_filter_finds_exactly_its_interactions() {
    let world = world().await;
    let sup = world.login("super").await;
    let a1 = world.login("agent1").await;
    let (status, body) = a1.call("GET", "/interactions", None).await;
    assert_eq!(status, 403, "agents do not search: {body}");

    arrives(&world, 1, comment(&world, "Zoe Quill", "My zipper broke")).await;
    arrives(&world, 2, comment(&world, "Bo Brandt", "Loving the jacket")).await;
    arrives(
        &world,
        3,
        messenger(&world, "Ann Lee", "Where is my parcel?"),
    )
    .await;
    let middle = now_ms() + 1;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    arrives(
        &world,
        4,
        whatsapp(&world, "15550002", "Sheena Nelson", "parcel never came"),
    )
    .await;

    let all = search(&sup, "").await;
    let names: Vec<&str> = all
        .iter()
        .map(|ix| ix["customer_name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["Sheena Nelson", "Ann Lee", "Bo Brandt", "Zoe Quill"],
        "newest first"
    );
    let [wa, dm, bo, zoe] = [0, 1, 2, 3].map(|i| all[i]["id"].as_i64().unwrap());
    let platforms: Vec<&str> = all
        .iter()
        .map(|ix| ix["platform"].as_str().unwrap())
        .collect();
    assert_eq!(platforms, ["whatsapp", "messenger", "facebook", "facebook"]);
    assert_eq!(all[1]["preview"], "Where is my parcel?");
    assert_eq!(all[3]["preview"], "My zipper broke");
    assert_eq!(
        all[3]["state"], "queued",
        "the usual interaction fields are there"
    );

    let cases: &[(&str, &[i64])] = &[
        ("text=zipper", &[zoe]),
        ("text=PARCEL", &[wa, dm]),
        ("author=quill", &[zoe]),
        ("author=Sheena", &[wa]),
        ("media_type=social_conversation", &[bo, zoe]),
        ("media_type=social_direct_message", &[wa, dm]),
        ("platform=facebook", &[bo, zoe]),
        ("platform=messenger", &[dm]),
        ("platform=whatsapp", &[wa]),
        ("platform=x", &[]),
        ("channel=facebook", &[dm, bo, zoe]),
        ("channel=whatsapp", &[wa]),
        ("workgroup=Billing", &[]),
        ("state=queued", &[wa, dm, bo, zoe]),
        ("text=parcel&platform=messenger", &[dm]),
    ];
    for (query, expected) in cases {
        assert_eq!(ids(&sup, query).await, expected.to_vec(), "{query}");
    }
    assert_eq!(ids(&sup, &format!("from={middle}")).await, [wa]);
    assert_eq!(ids(&sup, &format!("to={middle}")).await, [dm, bo, zoe]);
    let page = sup.ok("GET", "/interactions?limit=2&offset=1", None).await;
    assert_eq!(page["total"], 4);
    let on_page: Vec<i64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ix| ix["id"].as_i64().unwrap())
        .collect();
    assert_eq!(on_page, [dm, bo]);

    a1.available().await;
    let offered = a1.wait_for_state("alerting").await;
    let id = offered["id"].as_i64().unwrap();
    a1.ok("POST", &format!("/interactions/{id}/pickup"), None)
        .await;
    assert_eq!(ids(&sup, "agent=agent1").await, [id]);
    assert_eq!(ids(&sup, "agent=agent2").await, Vec::<i64>::new());
    assert_eq!(ids(&sup, "state=connected").await, [id]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_search_parameter_is_a_400_that_names_it() {
    let world = World::start(|_| {}).await;
    let admin = world.login("admin").await;
    let cases = [
        ("media_type=email", "media_type"),
        ("platform=myspace", "platform"),
        ("state=asleep", "state"),
        ("from=yesterday", "from"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("offset=-3", "offset"),
    ];
    for (query, name) in cases {
        let (status, body) = admin
            .call("GET", &format!("/interactions?{query}"), None)
            .await;
        assert_eq!(status, 400, "{query}: {body}");
        let error = body["error"].as_str().unwrap();
        assert!(error.contains(&format!("`{name}`")), "{query}: {error}");
    }
    // An inverted range is explained in dates, not in the parameters' names.
    let (status, body) = admin
        .call("GET", "/interactions?from=5000000&to=1000", None)
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "inverted_range");
    let error = body["error"].as_str().unwrap();
    assert!(
        error.contains("is after the end") && error.contains("1970"),
        "{error}"
    );
    assert!(!error.contains("5000000"), "no epoch milliseconds: {error}");
    let ok = admin
        .ok("GET", "/interactions?limit=200&offset=0", None)
        .await;
    assert_eq!(
        ok,
        json!({"total": 0, "items": []}),
        "social_media_admin may search"
    );
}

/// A supervisor sets an agent's status for them: Available brings them work at once,
/// Logged out stops new work and leaves what they hold theirs; the agent is told who did
/// it and why. Only supervisors may, and only to a status a person chooses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_sets_an_agents_status_and_the_agent_is_told_why() {
    let world = World::start(|_| {}).await;
    let sup = world.login("super").await;
    let agent1 = world.login("agent1").await;
    world.post_and_comment("Ann Lee", "is anyone there?").await;
    // agent1 is away; the supervisor makes them Available, and the waiting comment comes.
    let row = sup
        .ok(
            "PUT",
            "/agents/agent1/status",
            Some(json!({"status": "available", "reason": "the queue is long"})),
        )
        .await;
    assert_eq!(row["username"], "agent1");
    assert_eq!(row["status"], "available");
    let offered = agent1.wait_for_state("alerting").await;
    assert_eq!(agent1.ok("GET", "/me", None).await["status"], "available");
    // Logged out: no new work; the offer they hold stays theirs.
    let row = sup
        .ok(
            "PUT",
            "/agents/agent1/status",
            Some(json!({"status": "logged_out"})),
        )
        .await;
    assert_eq!(row["status"], "logged_out");
    let id = offered["id"].as_i64().unwrap();
    assert!(
        agent1.interactions().await.iter().any(|ix| ix["id"] == id),
        "what they hold stays theirs"
    );
    world.post_and_comment("Bo Lee", "hello?").await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        agent1.interactions().await.len(),
        1,
        "no new work while logged out"
    );
    // Refused: a status the system sets, an unknown agent, a user without the right.
    let (status, e) = sup
        .call(
            "PUT",
            "/agents/agent1/status",
            Some(json!({"status": "not_responding"})),
        )
        .await;
    assert_eq!(status, 400, "{e}");
    let (status, _) = sup
        .call(
            "PUT",
            "/agents/nobody/status",
            Some(json!({"status": "away"})),
        )
        .await;
    assert_eq!(status, 404);
    let agent2 = world.login("agent2").await;
    let (status, _) = agent2
        .call(
            "PUT",
            "/agents/agent1/status",
            Some(json!({"status": "away"})),
        )
        .await;
    assert_eq!(status, 403);
}

/// A supervisor closes stuck interactions, queued or held by an agent, with a reason kept
/// in the history; the agent is freed at once and owes no wrap-up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_closes_a_stuck_interaction_with_a_reason() {
    let world = World::start(one_at_a_time).await;
    let sup = world.login("super").await;
    let agent1 = world.login("agent1").await;
    // A queued one, nobody available.
    world.post_and_comment("Ann Lee", "first").await;
    let queued = wait_until_search(&sup, "Ann Lee").await;
    let (status, e) = sup
        .call(
            "POST",
            &format!("/supervisor/interactions/{queued}/close"),
            Some(json!({"reason": "  "})),
        )
        .await;
    assert_eq!(status, 400, "{e}");
    let (status, _) = agent1
        .call(
            "POST",
            &format!("/supervisor/interactions/{queued}/close"),
            Some(json!({"reason": "mine"})),
        )
        .await;
    assert_eq!(status, 403);
    let closed = sup
        .ok(
            "POST",
            &format!("/supervisor/interactions/{queued}/close"),
            Some(json!({"reason": "duplicate of another thread"})),
        )
        .await;
    assert_eq!(closed["state"], "disconnected");
    let trace = sup
        .ok("GET", &format!("/interactions/{queued}/trace"), None)
        .await;
    let event = trace["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "closed_by_supervisor")
        .cloned()
        .unwrap_or_else(|| panic!("the close is in the history: {trace}"));
    assert_eq!(event["detail"], "duplicate of another thread");
    let (status, e) = sup
        .call(
            "POST",
            &format!("/supervisor/interactions/{queued}/close"),
            Some(json!({"reason": "again"})),
        )
        .await;
    assert_eq!(status, 409, "{e}");

    // One the agent holds: closed, the agent is free for the next one, no wrap-up owed.
    agent1.available().await;
    world.post_and_comment("Bo Lee", "second").await;
    let held = agent1.wait_for_state("alerting").await["id"]
        .as_i64()
        .unwrap();
    agent1
        .ok("POST", &format!("/interactions/{held}/pickup"), None)
        .await;
    world.post_and_comment("Cy Lee", "third").await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        agent1.interactions().await.len(),
        1,
        "one at a time: the third waits"
    );
    sup.ok(
        "POST",
        &format!("/supervisor/interactions/{held}/close"),
        Some(json!({"reason": "customer called instead"})),
    )
    .await;
    let next = agent1.wait_for_state("alerting").await;
    assert_ne!(
        next["id"].as_i64(),
        Some(held),
        "the freed agent gets the next one"
    );
    let ended = sup.ok("GET", &format!("/interactions/{held}"), None).await;
    assert_eq!(ended["state"], "disconnected");
    assert_eq!(ended["wrapup_pending"], false, "no wrap-up owed");
}

/// The id of the newest interaction whose author matches `author`, once searchable.
async fn wait_until_search(sup: &Agent, author: &str) -> i64 {
    crate::harness::wait_until("the interaction", || async {
        let found = sup
            .ok(
                "GET",
                &format!("/interactions?author={}", author.replace(' ', "%20")),
                None,
            )
            .await;
        found["items"].as_array()?.first()?["id"].as_i64()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_moves_a_stuck_interaction_to_another_agent_or_takes_it_over() {
    let world = World::start(one_at_a_time).await;
    let sup = world.login("super").await;
    let agent1 = world.login("agent1").await;
    let agent2 = world.login("agent2").await;
    let admin = world.login("admin").await;
    agent1.available().await;
    world.post_and_comment("Dee Lee", "stuck with agent1").await;
    let id = agent1.wait_for_state("alerting").await["id"]
        .as_i64()
        .unwrap();
    agent1
        .ok("POST", &format!("/interactions/{id}/pickup"), None)
        .await;
    let path = format!("/supervisor/interactions/{id}/reassign");

    // Refused in plain words: no reason, an agent who is away, someone not an agent, and
    // agents may not do it.
    let (status, _) = sup
        .call(
            "POST",
            &path,
            Some(json!({"to_user": "agent2", "reason": " "})),
        )
        .await;
    assert_eq!(status, 400);
    let (status, e) = sup
        .call(
            "POST",
            &path,
            Some(json!({"to_user": "agent2", "reason": "away"})),
        )
        .await;
    assert_eq!(status, 409, "agent2 is away: {e}");
    assert!(
        e["error"].as_str().unwrap().contains("not available"),
        "{e}"
    );
    let (status, e) = sup
        .call(
            "POST",
            &path,
            Some(json!({"to_user": "nobody", "reason": "x"})),
        )
        .await;
    assert_eq!(status, 400, "{e}");
    let (status, _) = agent1
        .call(
            "POST",
            &path,
            Some(json!({"to_user": "agent2", "reason": "mine"})),
        )
        .await;
    assert_eq!(status, 403);

    // To agent2: agent1 loses it, agent2 is offered it with the reason as the note.
    agent2.available().await;
    let moved = sup
        .ok(
            "POST",
            &path,
            Some(json!({"to_user": "agent2", "reason": "agent1 is in a meeting"})),
        )
        .await;
    assert!(
        matches!(moved["state"].as_str(), Some("queued" | "alerting")),
        "waiting for agent2, or offered to them already: {moved}"
    );
    let offered = agent2.wait_for_state("alerting").await;
    assert_eq!(offered["id"], id);
    assert_eq!(
        offered["transferred_from"]["note"], "agent1 is in a meeting",
        "{offered}"
    );
    assert_eq!(offered["transferred_from"]["user"], "super");
    assert!(
        agent1.interactions().await.iter().all(|i| i["id"] != id),
        "gone from agent1"
    );
    agent2
        .ok("POST", &format!("/interactions/{id}/pickup"), None)
        .await;
    let trace = sup
        .ok("GET", &format!("/interactions/{id}/trace"), None)
        .await;
    let event = trace["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "reassigned_by_supervisor")
        .cloned()
        .unwrap_or_else(|| panic!("the move is in the history: {trace}"));
    assert_eq!(event["detail"], "agent1 is in a meeting");
    assert_eq!(event["user"], "super");

    // Taking it over: the administrator (an agent too) must be available, then is offered it.
    let take = json!({"to_user": "admin", "reason": "escalated to me"});
    let take_path = format!("/supervisor/interactions/{id}/reassign");
    let (status, e) = admin.call("POST", &take_path, Some(take.clone())).await;
    assert_eq!(status, 409, "{e}");
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains("set yourself Available"),
        "{e}"
    );
    admin.available().await;
    admin.ok("POST", &take_path, Some(take)).await;
    assert_eq!(admin.wait_for_state("alerting").await["id"], id);
    admin
        .ok("POST", &format!("/interactions/{id}/pickup"), None)
        .await;

    // To a workgroup; then, once ended, nothing moves it.
    let to_billing = sup
        .ok(
            "POST",
            &path,
            Some(json!({"to_workgroup": "Billing", "reason": "billing question"})),
        )
        .await;
    assert_eq!(to_billing["workgroup"], "Billing");
    let (status, e) = sup
        .call(
            "POST",
            &path,
            Some(json!({"to_workgroup": "Nowhere", "reason": "x"})),
        )
        .await;
    assert_eq!(status, 400, "{e}");
    sup.ok(
        "POST",
        &format!("/supervisor/interactions/{id}/close"),
        Some(json!({"reason": "done"})),
    )
    .await;
    let (status, e) = sup
        .call(
            "POST",
            &path,
            Some(json!({"to_workgroup": "Social", "reason": "again"})),
        )
        .await;
    assert_eq!(status, 409, "{e}");
}

/// Reads an event stream until `until` holds for what was read, for at most `secs`.
async fn read_stream(
    res: reqwest::Response,
    secs: u64,
    until: impl Fn(&str) -> bool,
) -> (bool, String) {
    use futures::StreamExt;
    let mut stream = res.bytes_stream();
    let mut seen = String::new();
    let found = tokio::time::timeout(std::time::Duration::from_secs(secs), async {
        while let Some(chunk) = stream.next().await {
            seen.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
            if until(&seen) {
                return true;
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    (found, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supervisors_streams_say_when_the_figures_change_and_agents_do_not_get_it() {
    let world = World::start(one_at_a_time).await;
    let sup = world.login("super").await;
    let agent = world.login("agent1").await;
    let open = |token: String| {
        let url = format!("{}/api/v1/events?token={token}", world.base);
        let http = world.http.clone();
        async move { http.get(url).send().await.unwrap() }
    };
    let sup_stream = open(sup.token().to_owned()).await;
    let agent_stream = open(agent.token().to_owned()).await;
    world.post_and_comment("Fay", "a new arrival").await;
    let (found, seen) = read_stream(sup_stream, 10, |s| s.contains("event: figures")).await;
    assert!(found, "the supervisor is told: {seen}");
    let (found, seen) = read_stream(agent_stream, 2, |s| s.contains("event: figures")).await;
    assert!(
        !found,
        "an agent's stream carries only their own notices: {seen}"
    );
}
