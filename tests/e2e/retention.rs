//! Erasure and retention leave no trace of a customer's content: after erasing a customer,
//! or the purge of what ended before the retention period, a marker written into every
//! place a customer's words and name travel (their name, their comment, the agent's reply,
//! a transfer note, the contact's notes) is in no column of any table. The walk reads the
//! tables and columns from the database's own catalogue, so a table added later cannot
//! escape it. Reports keep counting the interactions.

use serde_json::{Value, json};

use crate::harness::{World, id_of, one_at_a_time};

/// Every (table, column) holding the marker, on either engine.
async fn traces_of(world: &World, marker: &'static str) -> Vec<String> {
    let store = world.host.as_ref().unwrap().app.store.clone();
    store
        .read(move |c| {
            let columns: Vec<(String, String, bool)> = if c.is_postgres() {
                let mut stmt = c.prepare(
                    "SELECT table_name::text, column_name::text, data_type = 'bytea'
                     FROM information_schema.columns WHERE table_schema = current_schema()",
                )?;
                let rows = stmt.query_map((), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
                rows.collect::<anyhow::Result<_>>()?
            } else {
                let tables: Vec<String> = {
                    let mut stmt = c.prepare(
                        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
                    )?;
                    let rows = stmt.query_map((), |r| r.get(0))?;
                    rows.collect::<anyhow::Result<_>>()?
                };
                let mut out = Vec::new();
                for t in tables {
                    let mut stmt = c.prepare(&format!("SELECT name FROM pragma_table_info('{t}')"))?;
                    let rows = stmt.query_map((), |r| r.get::<_, String>(0))?;
                    for col in rows {
                        out.push((t.clone(), col?, false));
                    }
                }
                out
            };
            assert!(columns.len() > 100, "the catalogue lists the schema: {}", columns.len());
            let mut found = Vec::new();
            for (table, column, bytes) in columns {
                let test = if bytes {
                    format!("position(convert_to('{marker}', 'UTF8') in \"{column}\") > 0")
                } else {
                    format!("CAST(\"{column}\" AS TEXT) LIKE '%{marker}%'")
                };
                let n: i64 = c.query_row(&format!("SELECT count(*) FROM \"{table}\" WHERE {test}"), (), |r| r.get(0))?;
                if n > 0 {
                    found.push(format!("{table}.{column}"));
                }
            }
            Ok(found)
        })
        .await
        .unwrap()
}

/// A customer writes (name and text carry `marker`); agent1 answers, transfers with a
/// note, picks it up again in Billing, ends it with a wrap-up; notes go on the contact.
/// Answers the interaction and its contact.
async fn conversation(world: &World, marker: &str) -> (i64, i64) {
    let a1 = world.login("agent1").await;
    a1.available().await;
    world
        .post_and_comment(
            &format!("Cust {marker}"),
            &format!("my order {marker} is broken"),
        )
        .await;
    let id = id_of(&a1.wait_for_state("alerting").await);
    a1.ok("POST", &format!("/interactions/{id}/pickup"), None)
        .await;
    a1.ok(
        "POST",
        &format!("/interactions/{id}/reply"),
        Some(json!({"text": format!("Sorry about {marker}")})),
    )
    .await;
    a1.ok(
        "POST",
        &format!("/interactions/{id}/transfer"),
        Some(json!({"to_workgroup": "Billing", "note": format!("refund {marker}")})),
    )
    .await;
    assert_eq!(id_of(&a1.wait_for_state("alerting").await), id);
    a1.ok("POST", &format!("/interactions/{id}/pickup"), None)
        .await;
    a1.ok("POST", &format!("/interactions/{id}/disconnect"), None)
        .await;
    let d = a1.ok("GET", &format!("/interactions/{id}"), None).await;
    let contact = d["contact"]["id"].as_i64().unwrap();
    a1.ok(
        "PUT",
        &format!("/contacts/{contact}"),
        Some(json!({"notes": format!("likes {marker}")})),
    )
    .await;
    a1.ok("PUT", "/me/status", Some(json!({"status": "away"})))
        .await;
    (id, contact)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erasing_a_customer_leaves_no_trace_in_any_table_and_reports_still_count_them() {
    const MARKER: &str = "Qzx9erase";
    let world = World::start(one_at_a_time).await;
    let admin = world.login("admin").await;
    let (id, contact) = conversation(&world, MARKER).await;
    assert!(
        !traces_of(&world, MARKER).await.is_empty(),
        "the walk finds the marker before"
    );

    // The access request first: everything about them, as a file.
    let res = world
        .http
        .get(format!("{}/api/v1/contacts/{contact}/export", world.base))
        .bearer_auth(admin.token())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-disposition"],
        format!("attachment; filename=\"contact-{contact}.json\"")
    );
    let export: Value = res.json().await.unwrap();
    let text = export.to_string();
    assert!(
        text.contains(&format!("my order {MARKER} is broken")),
        "{text}"
    );
    assert!(text.contains(&format!("likes {MARKER}")));
    assert_eq!(export["transcripts"][0]["interaction"]["id"], id);

    // Only administrators erase; not while a conversation of theirs is live.
    let a1 = world.login("agent1").await;
    let (status, _) = a1
        .call("POST", &format!("/contacts/{contact}/erase"), None)
        .await;
    assert_eq!(status, 403);
    let (status, _) = a1
        .call("GET", &format!("/contacts/{contact}/export"), None)
        .await;
    assert_eq!(status, 403);

    let erased = admin
        .ok("POST", &format!("/contacts/{contact}/erase"), None)
        .await;
    assert_eq!(erased["interactions"], 1);
    assert_eq!(traces_of(&world, MARKER).await, Vec::<String>::new());
    let (status, _) = admin
        .call("GET", &format!("/contacts/{contact}"), None)
        .await;
    assert_eq!(status, 404);
    let (status, _) = admin
        .call("POST", &format!("/contacts/{contact}/erase"), None)
        .await;
    assert_eq!(status, 404);

    // Reports still count the interaction; the audit log says who erased, not what.
    let r = admin
        .ok(
            "GET",
            "/reports/workgroups?from=2020-01-01&interval=week",
            None,
        )
        .await;
    assert_eq!(
        r["overall"]["arrivals"], 2,
        "Social, then Billing by transfer: {r}"
    );
    let audit = admin.ok("GET", "/audit", None).await;
    let entry = audit
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["target"] == format!("/api/v1/contacts/{contact}/erase") && e["status"] == 200)
        .unwrap_or_else(|| panic!("{audit}"));
    assert_eq!(entry["actor"], "admin");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_customer_is_not_erased() {
    let world = World::start(one_at_a_time).await;
    let admin = world.login("admin").await;
    world.post_and_comment("Live Lu", "still talking").await;
    world.wait_count("SELECT count(*) FROM contacts", 1).await;
    let contact = world.count("SELECT max(id) FROM contacts").await;
    let (status, e) = admin
        .call("POST", &format!("/contacts/{contact}/erase"), None)
        .await;
    assert_eq!(status, 409, "{e}");
    assert!(
        e["error"].as_str().unwrap().contains("still being worked"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_purge_removes_what_ended_before_the_period_and_keeps_the_rest() {
    const OLD: &str = "Wvy3old";
    const NEW: &str = "Wvy3new";
    let world = World::start(|c| {
        one_at_a_time(c);
        c.retention.days = Some(30);
    })
    .await;
    let admin = world.login("admin").await;
    let (old, _) = conversation(&world, OLD).await;
    let (recent, _) = conversation(&world, NEW).await;
    assert_ne!(old, recent);
    // The first ended 31 days ago.
    let store = world.host.as_ref().unwrap().app.store.clone();
    store
        .write(move |c| {
            let then = switchboard::clock::now_ms() - 31 * 86_400_000;
            c.execute(
                "UPDATE interactions SET updated_at = ?1, created_at = ?1 WHERE id = ?2",
                switchboard::store::params_from_iter([then, old]),
            )?;
            c.execute(
                "UPDATE messages SET stored_at = ?1 WHERE interaction_id = ?2",
                switchboard::store::params_from_iter([then, old]),
            )?;
            c.execute(
                "UPDATE contact_identities SET created_at = ?1 WHERE id = (SELECT identity_id FROM interactions WHERE id = ?2)",
                switchboard::store::params_from_iter([then, old]),
            )?;
            Ok(())
        })
        .await
        .unwrap();
    let status = admin.ok("GET", "/retention", None).await;
    assert_eq!(status["days"], 30);
    assert_eq!(status["channels"][0]["days"], 30, "{status}");
    let run = admin.ok("POST", "/retention/run", None).await;
    assert_eq!(run["scrubbed"], 1, "{run}");
    assert_eq!(traces_of(&world, OLD).await, Vec::<String>::new());
    assert!(
        !traces_of(&world, NEW).await.is_empty(),
        "what ended within the period is kept"
    );
    let after = admin.ok("GET", "/retention", None).await;
    let last = after["last_run_at"].as_i64().unwrap();
    assert_eq!(after["next_run_at"].as_i64().unwrap(), last + 3_600_000);
    assert_eq!(after["last_scrubbed"], 1);
    let d = admin.ok("GET", &format!("/interactions/{old}"), None).await;
    assert_eq!(
        d["state"], "disconnected",
        "the interaction stays, without its content"
    );
    assert_eq!(d["messages"][0]["text"], "");
    let (status, _) = world
        .login("agent1")
        .await
        .call("POST", "/retention/run", None)
        .await;
    assert_eq!(status, 403);
}
