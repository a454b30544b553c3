use super::*;
use crate::interactions::model::MediaType;
use crate::routing::decision::RouteRequest;

fn ctx(visibility: &str) -> InboundContext {
    InboundContext {
        channel: "facebook".into(),
        platform: "facebook".into(),
        visibility: visibility.into(),
        text: "hello".into(),
        workgroup: "Social".into(),
        dm_workgroup: "Messages".into(),
        ..Default::default()
    }
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
    let public = wf.on_inbound("default.rhai", &ctx("public")).unwrap();
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
    let private = wf.on_inbound("default.rhai", &ctx("private")).unwrap();
    assert!(matches!(&private.effects[0], Effect::Route(r)
        if r.workgroup == "Messages" && r.media_type == MediaType::SocialDirectMessage));
    let other = wf.on_inbound("default.rhai", &ctx("")).unwrap();
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
    assert!(wf.on_inbound("default.rhai", &ctx("public")).is_ok());
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
    let out = wf.on_inbound("default.rhai", &ctx("public")).unwrap();
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
        .on_inbound("loop.rhai", &ctx("public"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("loop.rhai:"), "{err}");
    let err = wf
        .on_inbound("bad.rhai", &ctx("public"))
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
        "fn on_inbound(ix) {\n  route(ix, #{ skills: \"english >=\" });\n}\n",
    );
    let wf = Workflows::load(dir.path()).unwrap();
    let out = wf.on_inbound("skills.rhai", &ctx("public")).unwrap();
    assert!(matches!(&out.effects[0], Effect::Route(r)
        if r.skills.as_deref() == Some("english >= 3 and billing") && r.preferred_agent.as_deref() == Some("agent1") && r.wait_ms == 5000));
    let err = wf
        .on_inbound("bad.rhai", &ctx("public"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("bad.rhai:2:") && err.contains("number"),
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
        .on_inbound("slow.rhai", &ctx("public"))
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
        let mut ix = rhai::Map::new();
        ix.insert("visibility".into(), "public".into());
        let out = wf
            .on_transfer(
                version,
                "default.rhai",
                "on_transfer_conversation",
                ix,
                target,
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
