use super::*;

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
        vec![Effect::Route {
            workgroup: "Social".into(),
            priority: 0,
            media_type: "social_conversation".into(),
            skills: None,
            preferred_agent: None,
            wait_ms: 30_000,
        }]
    );
    let private = wf.on_inbound("default.rhai", &ctx("private")).unwrap();
    assert!(
        matches!(&private.effects[0], Effect::Route { workgroup, media_type, .. }
        if workgroup == "Messages" && media_type == "social_direct_message")
    );
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
    assert!(wf.on_inbound("default.rhai", &ctx("public")).is_ok());
    write(
        dir.path(),
        "default.rhai",
        "fn on_inbound(ix) { route(ix, #{ workgroup: \"Other\" }); }",
    );
    assert_eq!(wf.reload().unwrap(), 2);
    let out = wf.on_inbound("default.rhai", &ctx("public")).unwrap();
    assert_eq!(out.version, 2);
    assert!(matches!(&out.effects[0], Effect::Route { workgroup, .. } if workgroup == "Other"));
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
        "fn on_inbound(ix) {\n  let x = 1;\n  x.no_such_method();\n}\n",
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
    assert!(
        matches!(&out.effects[0], Effect::Route { skills: Some(s), preferred_agent: Some(a), wait_ms: 5000, .. }
        if s == "english >= 3 and billing" && a == "agent1")
    );
    let err = wf
        .on_inbound("bad.rhai", &ctx("public"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("bad.rhai:2:") && err.contains("number"),
        "{err}"
    );
}
