//! Historical reports end to end: what agents did through the API shows in the report per
//! workgroup and per agent, the CSV says the same as the JSON, and each figure lists the
//! interactions behind it.

use serde_json::{Value, json};

use crate::harness::{Agent, World, id_of, one_at_a_time};

/// The JSON report and the CSV of the same query.
async fn both(sup: &Agent, world: &World, path: &str) -> (Value, Vec<Vec<String>>) {
    let json = sup.ok("GET", path, None).await;
    let sep = if path.contains('?') { '&' } else { '?' };
    let res = world
        .http
        .get(format!("{}/api/v1{path}{sep}format=csv", world.base))
        .bearer_auth(sup.token())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"report-"),
    );
    let text = res.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let head: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    let mut rows = vec![head];
    for rec in reader.records() {
        rows.push(rec.unwrap().iter().map(str::to_owned).collect());
    }
    (json, rows)
}

/// The CSV line of `key` and interval `label`, as column name → value.
fn csv_line(rows: &[Vec<String>], key: &str) -> std::collections::HashMap<String, String> {
    let line = rows[1..]
        .iter()
        .find(|r| r[0] == key)
        .unwrap_or_else(|| panic!("no CSV line for {key}: {rows:?}"));
    rows[0].iter().cloned().zip(line.iter().cloned()).collect()
}

fn total<'a>(report: &'a Value, key: &str) -> &'a Value {
    report["totals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["key"] == key)
        .unwrap_or_else(|| panic!("no total for {key}: {report}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_agents_did_shows_per_workgroup_and_agent_as_json_csv_and_drill_down() {
    let world = World::start(one_at_a_time).await;
    let sup = world.login("super").await;
    let a1 = world.login("agent1").await;
    let start = sup.ok("GET", "/me", None).await;
    assert!(start["username"] == "super");
    let from = "2020-01-01T00:00:00Z";

    world.post_and_comment("Ann", "first").await;
    world
        .wait_count("SELECT count(*) FROM interactions", 1)
        .await;
    a1.available().await;
    let first = id_of(&a1.wait_for_state("alerting").await);
    a1.ok("POST", &format!("/interactions/{first}/pickup"), None)
        .await;
    a1.ok("POST", &format!("/interactions/{first}/disconnect"), None)
        .await;

    world.post_and_comment("Bo", "second").await;
    let second = id_of(&a1.wait_for_state("alerting").await);
    assert_ne!(first, second);
    a1.ok("POST", &format!("/interactions/{second}/pickup"), None)
        .await;
    a1.ok(
        "POST",
        &format!("/interactions/{second}/transfer"),
        Some(json!({"to_workgroup": "Billing"})),
    )
    .await;
    // agent1 is Billing's only member: it comes back to them there.
    let again = id_of(&a1.wait_for_state("alerting").await);
    assert_eq!(again, second);
    a1.ok("POST", &format!("/interactions/{second}/pickup"), None)
        .await;

    let path = format!("/reports/workgroups?from={from}&interval=week");
    let (report, csv) = both(&sup, &world, &path).await;
    let social = total(&report, "Social");
    assert_eq!(
        (
            &social["arrivals"],
            &social["answered"],
            &social["transfers_out"]
        ),
        (&json!(2), &json!(2), &json!(1)),
        "{report}"
    );
    let billing = total(&report, "Billing");
    assert_eq!(
        (
            &billing["arrivals"],
            &billing["answered"],
            &billing["transfers_in"]
        ),
        (&json!(1), &json!(1), &json!(1)),
        "the live one counts too: {report}"
    );
    assert_eq!(report["overall"]["arrivals"], 3);
    assert_eq!(report["time_zone"], "UTC");
    // The CSV's lines are the JSON's rows (one week here), the same figures.
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(csv.len() - 1, rows.len(), "{csv:?}");
    for row in rows {
        let key = row["key"].as_str().unwrap();
        let line = csv_line(&csv, key);
        for field in [
            "arrivals",
            "answered",
            "abandoned",
            "answered_in_target",
            "transfers_in",
            "transfers_out",
        ] {
            assert_eq!(line[field], row[field].to_string(), "{key} {field}");
        }
        let interval = row["interval"].as_i64().unwrap();
        let label = report["intervals"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["start"] == interval)
            .unwrap()["label"]
            .as_str()
            .unwrap();
        assert_eq!(line["interval"], label);
    }

    // Drill down: Social's transfers out are the second interaction.
    let drill = sup
        .ok(
            "GET",
            &format!(
                "/reports/workgroups/interactions?key=Social&figure=transfers_out&from={from}"
            ),
            None,
        )
        .await;
    assert_eq!(drill["total"], 1, "{drill}");
    assert_eq!(drill["items"][0]["interaction_id"], second);
    assert_eq!(drill["items"][0]["agent"], "agent1");
    let answered = sup
        .ok(
            "GET",
            &format!("/reports/workgroups/interactions?key=Social&figure=answered&from={from}"),
            None,
        )
        .await;
    let ids: Vec<i64> = answered["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["interaction_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [first, second], "oldest first");

    // Per agent: agent1 answered all three segments and has been available since.
    let (agents, csv) = both(
        &sup,
        &world,
        &format!("/reports/agents?from={from}&interval=week"),
    )
    .await;
    let a = total(&agents, "agent1");
    assert_eq!(a["answered"], 3, "{agents}");
    assert!(a["status_s"]["available"].as_i64().unwrap() >= 0);
    assert!(a["status_s"].get("logged_out").is_some());
    assert!(csv[0].iter().any(|c| c == "occupancy_percent"));
    let line = csv_line(&csv, "agent1");
    assert_eq!(line["answered"], "3");

    // Per platform and media type.
    let platforms = sup
        .ok(
            "GET",
            &format!("/reports/platforms?from={from}&interval=week"),
            None,
        )
        .await;
    assert_eq!(total(&platforms, "facebook")["arrivals"], 3, "{platforms}");
    let media = sup
        .ok(
            "GET",
            &format!("/reports/media-types?from={from}&interval=week"),
            None,
        )
        .await;
    assert_eq!(total(&media, "social_conversation")["arrivals"], 3);
    let channels = sup
        .ok(
            "GET",
            &format!("/reports/channels?from={from}&interval=week"),
            None,
        )
        .await;
    assert_eq!(total(&channels, "facebook")["arrivals"], 3);

    // The search as CSV: every match (whatever `limit` says), in the search's order.
    let res = world
        .http
        .get(format!(
            "{}/api/v1/interactions?format=csv&limit=1&from={from}",
            world.base
        ))
        .bearer_auth(sup.token())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    let text = res.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(reader.headers().unwrap().get(0), Some("id"));
    let csv_ids: Vec<i64> = reader
        .records()
        .map(|r| r.unwrap()[0].parse().unwrap())
        .collect();
    let page = sup.ok("GET", "/interactions", None).await;
    let json_ids: Vec<i64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    assert_eq!(csv_ids, json_ids);
    assert_eq!(csv_ids.len(), 2);
    let (status, _) = sup.call("GET", "/interactions?format=xml", None).await;
    assert_eq!(status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_refuse_what_they_cannot_answer_in_plain_words() {
    let world = World::start(|_| {}).await;
    let sup = world.login("super").await;
    let a1 = world.login("agent1").await;
    let (status, e) = a1.call("GET", "/reports/workgroups", None).await;
    assert_eq!(status, 403, "agents see no reports: {e}");
    let (status, e) = sup.call("GET", "/reports/weather", None).await;
    assert_eq!(status, 404);
    assert!(
        e["error"].as_str().unwrap().contains("workgroups, agents"),
        "{e}"
    );
    let (status, e) = sup
        .call("GET", "/reports/workgroups?interval=fortnight", None)
        .await;
    assert_eq!(status, 400);
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains("15m, hour, day or week"),
        "{e}"
    );
    let (status, e) = sup
        .call(
            "GET",
            "/reports/workgroups?from=2026-12-02&to=2026-12-01",
            None,
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        e["error"].as_str().unwrap().contains("before the end"),
        "{e}"
    );
    let (status, e) = sup
        .call("GET", "/reports/workgroups?from=yesterday", None)
        .await;
    assert_eq!(status, 400);
    assert!(e["error"].as_str().unwrap().contains("RFC 3339"), "{e}");
    let (status, e) = sup
        .call(
            "GET",
            "/reports/workgroups?from=2020-01-01&to=2026-01-01&interval=15m",
            None,
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        e["error"].as_str().unwrap().contains("longer interval"),
        "{e}"
    );
    let (status, e) = sup
        .call("GET", "/reports/workgroups?format=pdf", None)
        .await;
    assert_eq!(status, 400, "{e}");
    let (status, e) = sup
        .call("GET", "/reports/workgroups/interactions", None)
        .await;
    assert_eq!(status, 400);
    assert!(e["error"].as_str().unwrap().contains("`key`"), "{e}");
    // Dates alone and unix milliseconds are read as well as date-times.
    let r = sup
        .ok(
            "GET",
            "/reports/workgroups?from=2026-12-01&to=2026-12-03",
            None,
        )
        .await;
    assert_eq!(r["intervals"].as_array().unwrap().len(), 2, "{r}");
    assert_eq!(r["from"], 1_764_547_200_000i64 + 365 * 86_400_000);
    let r = sup
        .ok(
            "GET",
            "/reports/workgroups?from=0&to=3600000&interval=15m",
            None,
        )
        .await;
    assert_eq!(r["intervals"].as_array().unwrap().len(), 4);
}
