//! Security headers on every answer: pages, assets, API answers and errors.

use crate::harness::World;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_carries_the_security_headers() {
    let world = World::start(|_| {}).await;
    for path in [
        "/",
        "/agent",
        "/assets/agent.js",
        "/api/v1/openapi.json",
        "/api/v1/me",
        "/no-such-page",
    ] {
        let res = world
            .http
            .get(format!("{}{path}", world.base))
            .send()
            .await
            .unwrap();
        let h = res.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
    }
}
