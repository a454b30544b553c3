use super::*;
use crate::model::interaction::MediaType;
use crate::model::route::RouteRequest;

fn ctx(visibility: &str) -> Subject {
    Subject {
        channel: "facebook".into(),
        platform: "facebook".into(),
        visibility: visibility.into(),
        text: "hello".into(),
        workgroup: "Social".into(),
        dm_workgroup: "Messages".into(),
        ..Default::default()
    }
}

fn nobody() -> Arc<dyn World> {
    Arc::new(world::Empty)
}

fn write(dir: &Path, name: &str, body: &str) {
    std::fs::write(dir.join(name), body).unwrap();
}

const DEFAULT: &str = include_str!("../../../workflows/default.rhai");

#[test]
fn default_workflow_routes_by_media_type() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "default.rhai", DEFAULT);
    let wf = Workflows::load(dir.path()).unwrap();
    let public = wf
        .on_inbound("default.rhai", &ctx("public"), nobody())
        .unwrap();
    assert_eq!(
        public.effects,
        vec![Effect::Route(RouteRequest {
            workgroup: "Social".into(),
            priority: 0,
            media_type: MediaType::SocialConversation,
            skills: None,
            preferred_agent: None,
            wait_ms: 30_000,
        })]
    );
    let private = wf
        .on_inbound("default.rhai", &ctx("private"), nobody())
        .unwrap();
    assert!(matches!(&private.effects[0], Effect::Route(r)
        if r.workgroup == "Messages" && r.media_type == MediaType::SocialDirectMessage));
    let other = wf.on_inbound("default.rhai", &ctx(""), nobody()).unwrap();
    assert!(matches!(other.effects[0], Effect::Stop { .. }));
}

#[test]
fn a_broken_reload_keeps_the_running_version_and_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "default.rhai", DEFAULT);
    let wf = Workflows::load(dir.path()).unwrap();
    write(
        dir.path(),
        "default.rhai",
        "fn on_inbound(ix) {\n  route(ix, #{ workgroup: });\n}\n",
    );
    let err = wf.reload().unwrap_err().to_string();
    assert!(
        err.contains("default.rhai:2:"),
        "error names file and line: {err}"
    );
    assert_eq!(wf.current().number, 1);
    let status = wf.status();
    assert_eq!(status.version, 1);
    assert!(status.last_error.unwrap().error.contains("default.rhai:2:"));
    assert!(
        wf.on_inbound("default.rhai", &ctx("public"), nobody())
            .is_ok()
    );
    write(
        dir.path(),
        "default.rhai",
        "fn on_inbound(ix) { route(ix, #{ workgroup: \"Other\" }); }",
    );
    assert_eq!(wf.reload().unwrap(), 2);
    assert!(
        wf.status().last_error.is_none(),
        "a good reload clears the error"
    );
    let out = wf
        .on_inbound("default.rhai", &ctx("public"), nobody())
        .unwrap();
    assert_eq!(out.version, 2);
    assert!(matches!(&out.effects[0], Effect::Route(r) if r.workgroup == "Other"));
}

#[test]
fn runtime_errors_and_runaway_scripts_report_their_position() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "loop.rhai",
        "fn on_inbound(ix) {\n  loop { }\n}\n",
    );
    write(
        dir.path(),
        "bad.rhai",
        "fn on_inbound(ix) {\n  let x = 1;\n  x = 10 / ix.missing;\n}\n",
    );
    let wf = Workflows::load(dir.path()).unwrap();
    let err = wf
        .on_inbound("loop.rhai", &ctx("public"), nobody())
        .unwrap_err()
        .to_string();
    assert!(err.contains("loop.rhai:"), "{err}");
    let err = wf
        .on_inbound("bad.rhai", &ctx("public"), nobody())
        .unwrap_err()
        .to_string();
    assert!(err.contains("bad.rhai:3:"), "{err}");
}

#[test]
fn route_takes_skills_and_a_preferred_agent_and_refuses_bad_expressions() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "skills.rhai",
        "fn on_inbound(ix) {\n  route(ix, #{ skills: \"english >= 3 and billing\", preferred_agent: \"agent1\", wait_ms: 5000 });\n}\n",
    );
    write(
        dir.path(),
        "bad.rhai",
        // Built at run time, so not checked at load (a literal is: see
        // `mistakes_that_would_only_fail_at_run_time_are_refused_at_reload`).
        "fn on_inbound(ix) {\n  let s = \"english >=\";\n  route(ix, #{ skills: s });\n}\n",
    );
    let wf = Workflows::load(dir.path()).unwrap();
    let out = wf
        .on_inbound("skills.rhai", &ctx("public"), nobody())
        .unwrap();
    assert!(matches!(&out.effects[0], Effect::Route(r)
        if r.skills.as_deref() == Some("english >= 3 and billing") && r.preferred_agent.as_deref() == Some("agent1") && r.wait_ms == 5000));
    let err = wf
        .on_inbound("bad.rhai", &ctx("public"), nobody())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("bad.rhai:3:") && err.contains("number"),
        "{err}"
    );
}

#[test]
fn a_slow_script_is_stopped_by_the_wall_clock_limit() {
    let dir = tempfile::tempdir().unwrap();
    // Each iteration upper-cases a 256 KiB string: few operations, much time, so the deadline
    // (not the operation limit) must be what stops it.
    let body = "fn on_inbound(ix) {\n  let s = \"x\";\n  for i in 0..18 { s += s; }\n  for i in 0..20000 { let t = s.to_upper(); }\n}\n";
    write(dir.path(), "slow.rhai", body);
    let wf = Workflows::load(dir.path()).unwrap();
    let started = std::time::Instant::now();
    let err = wf
        .on_inbound("slow.rhai", &ctx("public"), nobody())
        .unwrap_err()
        .to_string();
    let took = started.elapsed();
    assert!(
        took >= engine::CALL_DEADLINE,
        "ran until the deadline: {took:?} ({err})"
    );
    assert!(
        took < std::time::Duration::from_secs(2),
        "stopped in time: {took:?}"
    );
    assert!(
        err.contains("slow.rhai:") && err.to_lowercase().contains("terminated"),
        "{err}"
    );
}

#[test]
fn earlier_versions_are_kept_for_their_interactions_then_released() {
    let dir = tempfile::tempdir().unwrap();
    let script = |priority: i64| {
        format!(
            "fn on_inbound(ix) {{ route(ix); }}\nfn on_transfer_conversation(ix, target) {{ route(ix, #{{ workgroup: target.workgroup, priority: {priority} }}); }}\n"
        )
    };
    write(dir.path(), "default.rhai", &script(3));
    let wf = Workflows::load(dir.path()).unwrap();
    write(dir.path(), "default.rhai", &script(8));
    assert_eq!(wf.reload().unwrap(), 2);
    let transfer = |version: i64| {
        let mut target = rhai::Map::new();
        target.insert("workgroup".into(), "Billing".into());
        let out = wf
            .on_transfer(
                version,
                "default.rhai",
                "on_transfer_conversation",
                &ctx("public"),
                target,
                nobody(),
            )
            .unwrap()
            .unwrap();
        match &out.effects[0] {
            Effect::Route(r) => (r.priority, out.version),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(
        transfer(1),
        (3, 1),
        "an interaction that started on v1 keeps v1"
    );
    assert_eq!(transfer(2), (8, 2));
    assert_eq!(wf.kept_versions(), vec![1]);
    wf.release_unused(&[1].into());
    assert_eq!(wf.kept_versions(), vec![1], "still used");
    wf.release_unused(&[2].into());
    assert!(
        wf.kept_versions().is_empty(),
        "released after its last interaction"
    );
    assert_eq!(transfer(1), (8, 2), "gone: the current version answers");
}

#[test]
fn unknown_functions_and_wrong_handler_arity_are_refused_at_load() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "default.rhai", DEFAULT);
    let wf = Workflows::load(dir.path()).unwrap();
    assert!(wf.current().has_handler("default.rhai", "on_inbound"));
    assert!(!wf.current().has_handler("default.rhai", "on_timer"));

    write(
        dir.path(),
        "default.rhai",
        "fn on_inbound(ix) {\n    let w = ix.workgroup;\n    rout(ix, #{ workgroup: w });\n}\n",
    );
    let err = wf.reload().unwrap_err().to_string();
    assert!(
        err.contains("default.rhai:3:5: unknown function `rout`"),
        "{err}"
    );

    write(
        dir.path(),
        "default.rhai",
        "fn on_inbound(ix, extra) { route(ix); }\n",
    );
    let err = wf.reload().unwrap_err().to_string();
    assert!(
        err.contains("handler `on_inbound` takes 2 parameter(s)"),
        "{err}"
    );

    // Methods, operators and script-defined helpers are all known.
    write(
        dir.path(),
        "default.rhai",
        "fn helper(x) { x + 1 }\nfn on_inbound(ix) {\n    let n = helper(1) * 2;\n    if ix.text.to_upper().contains(\"X\") { print(n); }\n    route(ix);\n}\n",
    );
    assert_eq!(wf.reload().unwrap(), 2);
}

/// Writes `body` as the only script and reloads: the refusal, or `None` when it loaded.
fn refusal(wf: &Workflows, dir: &Path, body: &str) -> Option<String> {
    write(dir, "default.rhai", body);
    wf.reload().err().map(|e| format!("{e:#}"))
}

#[test]
fn mistakes_that_would_only_fail_at_run_time_are_refused_at_reload() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "default.rhai", DEFAULT);
    let wf = Workflows::load(dir.path()).unwrap();
    let cases: &[(&str, &str)] = &[
        // A host effect or step with the wrong number of arguments.
        (
            "fn on_inbound(ix) {\n    set_attr(ix, \"k\");\n    route(ix);\n}\n",
            "default.rhai:2:5: `set_attr` is called with 2 argument(s); it takes: set_attr(",
        ),
        (
            "fn on_inbound(ix) {\n    route(ix);\n    schedule(ix, 60000);\n}\n",
            "default.rhai:3:5: `schedule` is called with 2 argument(s); it takes: schedule(",
        ),
        // The script's own helper.
        (
            "fn tier(ix) { 1 }\nfn on_inbound(ix) {\n    let t = tier();\n    route(ix);\n}\n",
            "default.rhai:3:13: `tier` is called with 0 argument(s); it takes: tier/1 (this script)",
        ),
        // A misspelt initiator the host would never call.
        (
            "fn on_inbound(ix) { route(ix); }\nfn on_agent_replay(ix, reply) { stop(ix, \"done\"); }\n",
            "`on_agent_replay` is not an initiator the host calls (they are on_inbound, on_transfer_conversation, on_transfer_direct_message, on_agent_reply, on_disconnect, on_timer); did you mean `on_agent_reply`?",
        ),
        // A misspelt option, written as a map in the call.
        (
            "fn on_inbound(ix) {\n    route(ix, #{ workgroup: \"Social\", priorty: 5 });\n}\n",
            "default.rhai:2:5: `route` has no option `priorty`; did you mean `priority`? (its options: workgroup, priority, skills, preferred_agent, wait_ms)",
        ),
        // A map of variables is checked too (the optimizer does not fold it).
        (
            "fn on_inbound(ix) {\n    let w = ix.workgroup;\n    send(ix, \"hi\", #{ visiblity: w });\n    route(ix);\n}\n",
            "`send` has no option `visiblity`; did you mean `visibility`?",
        ),
        // A skill expression written as text that does not parse.
        (
            "fn on_inbound(ix) {\n    route(ix, #{ skills: \"vip >> 1\" });\n}\n",
            "default.rhai:2:5: skills `vip >> 1` is not a skill expression",
        ),
        // An unknown function gets the close name.
        (
            "fn on_inbound(ix) {\n    rout(ix);\n}\n",
            "default.rhai:2:5: unknown function `rout`; did you mean `route`?",
        ),
    ];
    for (body, expected) in cases {
        let refused = refusal(&wf, dir.path(), body)
            .unwrap_or_else(|| panic!("loaded, but should be refused:\n{body}"));
        assert!(
            refused.contains(expected),
            "{body}\nrefused with:\n{refused}\nexpected:\n{expected}"
        );
        assert_eq!(wf.current().number, 1, "the running version stays");
    }
    // What is right in each of them loads.
    let fine = "fn tier(ix) { 1 }\nfn on_inbound(ix) {\n    set_attr(ix, \"tier\", tier(ix));\n    \
                schedule(ix, \"recheck\", 60000);\n    send(ix, \"hi\", #{ visibility: \"private\" });\n    \
                route(ix, #{ workgroup: \"Social\", priority: 5, skills: \"vip >= 1\" });\n}\n\
                fn on_agent_reply(ix, reply) { }\n";
    assert_eq!(refusal(&wf, dir.path(), fine), None);
}

#[test]
fn a_reload_that_would_leave_a_channel_without_its_script_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "default.rhai", DEFAULT);
    write(dir.path(), "facebook_bp.rhai", DEFAULT);
    let wf = Workflows::load(dir.path()).unwrap();
    wf.set_scripts_in_use(Arc::new(|| {
        vec![("facebook".to_string(), "facebook_bp.rhai".to_string())]
    }));
    // Its handler misspelt: the channel could not take a message.
    write(
        dir.path(),
        "facebook_bp.rhai",
        "fn on_inbund(ix) { route(ix); }\n",
    );
    let refused = format!("{:#}", wf.reload().unwrap_err());
    assert!(refused.contains("did you mean `on_inbound`?"), "{refused}");
    // A script without the handler at all.
    write(
        dir.path(),
        "facebook_bp.rhai",
        "fn helper(ix) { route(ix); }\n",
    );
    let refused = format!("{:#}", wf.reload().unwrap_err());
    assert!(
        refused.contains(
            "channel `facebook` runs `facebook_bp.rhai`, which has no `on_inbound(ix)` handler"
        ),
        "{refused}"
    );
    // The script deleted from the folder.
    std::fs::remove_file(dir.path().join("facebook_bp.rhai")).unwrap();
    let refused = format!("{:#}", wf.reload().unwrap_err());
    assert!(
        refused.contains(
            "channel `facebook` runs `facebook_bp.rhai`, which is not in the workflow folder"
        ),
        "{refused}"
    );
    assert_eq!(wf.current().number, 1, "the running version stays");
    assert!(
        wf.status()
            .last_error
            .is_some_and(|e| e.error.contains("facebook_bp.rhai"))
    );
    // Back, it loads.
    write(dir.path(), "facebook_bp.rhai", DEFAULT);
    assert_eq!(wf.reload().unwrap(), 2);
}

/// A world with one agent on thread `p1` and a live interaction 7 on it.
struct OneAgent;

impl World for OneAgent {
    fn find_active(&self, _channel: &str, by: &FindBy) -> Option<Active> {
        (by == &FindBy::Thread("p1".into())).then(|| Active {
            id: 7,
            state: "connected".into(),
            thread_id: "p1".into(),
            workgroup: "Social".into(),
            agent: Some("agent1".into()),
            message_count: 2,
            customer_id: "u1".into(),
        })
    }
    fn agent_handling(&self, _channel: &str, thread: &str) -> Option<String> {
        (thread == "p1").then(|| "agent1".into())
    }
    fn last_agent(&self, _channel: &str, customer: &str) -> Option<String> {
        (customer == "c1").then(|| "agent2".into())
    }
}

fn effects_of(script: &str, subject: &Subject, world: Arc<dyn World>) -> Result<Vec<String>> {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "t.rhai", script);
    let wf = Workflows::load(dir.path())?;
    let out = wf.on_inbound("t.rhai", subject, world)?;
    Ok(out.effects.iter().map(ToString::to_string).collect())
}

#[test]
fn every_effect_is_queued_in_order_with_its_options() {
    let script = r#"
        fn on_inbound(ix) {
            let live = find_active(#{ post_id: "p1" });
            merge_into(live, ix);
            merge_into(9, ix);
            buffer(ix, #{ until_free_agent_of: "p1", recheck_ms: 2000 });
            group(ix, #{ key: ix.author_id });
            set_attr(ix, "score", 3);
            set_desktop_flags(ix, "negative", true, false);
            send(ix, "On it", #{ visibility: "private", retries: 2, backoff_ms: 500 });
            schedule(ix, "nudge", 60000);
            route(ix, #{ skills: "fb", preferred_agent: last_agent(ix), wait_ms: 100 });
            stop(ix, "done");
        }
    "#;
    let mut subject = ctx("public");
    subject.author_id = "c1".into();
    subject.grouping_timeout_s = 120;
    let lines = effects_of(script, &subject, Arc::new(OneAgent)).unwrap();
    assert_eq!(
        lines,
        vec![
            "merge_into 7",
            "merge_into 9",
            "buffer until_free_agent_of=p1 recheck_ms=2000",
            "group key=c1 timeout_s=120",
            "set_attr score=\"3\"",
            "desktop_flags sentiment=negative actionable=true expand=false",
            "send \"On it\" visibility=private retries=2 backoff_ms=500",
            "schedule nudge in 60000ms",
            "route workgroup=Social priority=0 skills=\"fb\" preferred_agent=agent2 wait_ms=100",
            "stop \"done\"",
        ]
    );
}

#[test]
fn lookups_answer_from_the_world_and_find_nothing_without_one() {
    let script = r#"
        fn on_inbound(ix) {
            let a = agent_handling(ix.thread_id);
            let live = find_active(#{ post_id: ix.thread_id });
            set_attr(ix, "agent", if a == () { "none" } else { a });
            set_attr(ix, "live", if live == () { "none" } else { live.state + "/" + live.message_count });
        }
    "#;
    let mut subject = ctx("public");
    subject.thread_id = "p1".into();
    let with = effects_of(script, &subject, Arc::new(OneAgent)).unwrap();
    assert_eq!(
        with,
        vec!["set_attr agent=\"agent1\"", "set_attr live=\"connected/2\""]
    );
    let without = effects_of(script, &subject, nobody()).unwrap();
    assert_eq!(
        without,
        vec!["set_attr agent=\"none\"", "set_attr live=\"none\""]
    );
}

#[test]
fn bad_effect_options_fail_the_handler_with_a_clear_message() {
    let cases = [
        (
            "group(ix, #{ key: \"k\", timeout_s: 5 });",
            "group: timeout_s is 5; it must be 10 to 3600",
        ),
        // An options map built elsewhere cannot be checked at load: at run time it is.
        (
            "let opts = #{ workgroop: \"x\" }; route(ix, opts);",
            "route: unknown option `workgroop`",
        ),
        (
            "send(ix, \"hi\", #{ visibility: \"secret\" });",
            "send: visibility `secret`",
        ),
        ("send(ix, \"  \");", "send: text is empty"),
        (
            "set_desktop_flags(ix, \"angry\", true, true);",
            "sentiment `angry`",
        ),
        ("merge_into(\"x\", ix);", "merge_into: the first argument"),
        (
            "find_active(#{ post_id: \"a\", author_id: \"b\" });",
            "find_active: give exactly one",
        ),
        ("schedule(ix, \"t\", -1);", "schedule: delay_ms -1"),
    ];
    for (body, want) in cases {
        let script = format!("fn on_inbound(ix) {{\n    {body}\n}}\n");
        let err = effects_of(&script, &ctx("public"), nobody())
            .unwrap_err()
            .to_string();
        assert!(err.contains(want), "{body}: {err}");
        assert!(err.contains("t.rhai:2:"), "names the line: {err}");
    }
}

#[test]
fn classify_and_influence_use_the_folders_rules() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "t.rhai",
        "fn on_inbound(ix) { let c = classify(ix); set_attr(ix, \"s\", c.sentiment); set_attr(ix, \"i\", influence(ix).level); }",
    );
    write(
        dir.path(),
        "classify.toml",
        "default_language = \"en\"\n[thresholds]\npositive = 1\nnegative = -1\nactionable = 1\n[languages.en.sentiment]\nmeh = -1\n",
    );
    let wf = Workflows::load(dir.path()).unwrap();
    let mut subject = ctx("public");
    subject.text = "meh".into();
    subject.followers = Some(20_000);
    let lines: Vec<String> = wf
        .on_inbound("t.rhai", &subject, nobody())
        .unwrap()
        .effects
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        lines,
        vec!["set_attr s=\"negative\"", "set_attr i=\"high\""]
    );

    // A broken rule file is refused like a broken script; the old rules keep running.
    write(
        dir.path(),
        "classify.toml",
        "default_language = \"en\"\n[thresholds\n",
    );
    let err = wf.reload().unwrap_err().to_string();
    assert!(err.contains("classify.toml:2"), "{err}");
    assert_eq!(wf.status().refused_reloads, 1);
    assert_eq!(wf.current().number, 1);
}

#[test]
fn a_run_time_error_leads_with_the_innermost_fault_and_what_the_call_takes() {
    let script = "fn mark(ix) {\n    set_attr(ix, 5, 6);\n}\nfn on_inbound(ix) {\n    route(ix);\n    mark(ix);\n}\n";
    let err = format!(
        "{:#}",
        effects_of(script, &ctx("public"), nobody()).unwrap_err()
    );
    let fault = err
        .find("t.rhai:2:5: Function not found: set_attr")
        .unwrap_or_else(|| panic!("{err}"));
    let call = err
        .find("in `mark`, called from `on_inbound` at ")
        .unwrap_or_else(|| panic!("{err}"));
    assert!(fault < call, "the innermost fault first: {err}");
    assert!(err.contains("t.rhai:6:5"), "where `mark` was called: {err}");
    assert!(
        err.contains("; it takes: set_attr("),
        "the signature it takes: {err}"
    );
    assert!(err.contains("in handler `on_inbound`"), "{err}");
    assert!(!err.contains("(line "), "one location format: {err}");
}

#[test]
fn schedules_users_and_skills_the_host_knows_are_checked_at_load_and_reload() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "default.rhai", DEFAULT);
    let directory = lint::Directory {
        schedules: Some(vec!["support".into()]),
        users: Some(["agent1".to_string()].into()),
        skills: Some(["english".to_string()].into()),
    };
    let wf = Workflows::load_with(dir.path(), Some(Arc::new(move || directory.clone()))).unwrap();
    wf.set_scripts_in_use(Arc::new(|| {
        vec![("facebook".into(), "default.rhai".into())]
    }));
    // A schedule the config does not define, in a script a channel runs: refused, with
    // the one that is close.
    let refused = refusal(
        &wf,
        dir.path(),
        "fn on_inbound(ix) {\n    if is_open(\"suport\") { route(ix); }\n}\n",
    )
    .expect("refused");
    assert!(
        refused.contains("default.rhai:2:8: no schedule named `suport`; did you mean `support`? (schedules: support)"),
        "{refused}"
    );
    assert_eq!(wf.current().number, 1, "the running version stays");
    // In a script no channel runs (a sample kept in the folder): a warning.
    write(
        dir.path(),
        "spare.rhai",
        "fn on_inbound(ix) {\n    if is_open(\"night\") { route(ix); }\n}\n",
    );
    write(dir.path(), "default.rhai", DEFAULT);
    assert_eq!(wf.reload().unwrap(), 2);
    let warnings = wf.status().warnings;
    assert!(
        warnings.len() == 1 && warnings[0].contains("spare.rhai:2:8: no schedule named `night`"),
        "{warnings:#?}"
    );
    std::fs::remove_file(dir.path().join("spare.rhai")).unwrap();
    // A preferred agent or a skill nobody has yet: published, with warnings.
    let body = "fn on_inbound(ix) {\n    route(ix, #{ preferred_agent: \"agent2\", skills: \"english and germn >= 2\" });\n}\n";
    write(dir.path(), "default.rhai", body);
    assert_eq!(wf.reload().unwrap(), 3);
    let warnings = wf.status().warnings;
    assert_eq!(warnings.len(), 2, "{warnings:#?}");
    assert!(
        warnings[0].contains("default.rhai:2:5: no user has the skill `germn`"),
        "{warnings:#?}"
    );
    assert!(
        warnings[1].contains("no user is named `agent2` (yet)")
            && warnings[1].contains("did you mean `agent1`?"),
        "{warnings:#?}"
    );
    // Fixed: no warnings left.
    write(
        dir.path(),
        "default.rhai",
        "fn on_inbound(ix) {\n    if is_open(\"support\") { route(ix, #{ preferred_agent: \"agent1\", skills: \"english\" }); }\n}\n",
    );
    assert_eq!(wf.reload().unwrap(), 4);
    assert!(wf.status().warnings.is_empty());
}
