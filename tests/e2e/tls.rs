//! `[server.tls]`: a host with no reverse proxy in front serves HTTPS itself.

use std::time::Duration;

use serde_json::json;

use crate::harness::{self, start_emulator};

/// A self-signed certificate for `localhost` and 127.0.0.1, written as PEM files.
fn certificate(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf, String) {
    let made =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let pem = made.cert.pem();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, &pem).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    (cert, key, pem)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_serves_https_with_its_certificate_and_refuses_plain_http() {
    let _share = harness::share().await;
    let dir = tempfile::tempdir().unwrap();
    let (_emulator, em) = start_emulator().await;
    let (cert, key, pem) = certificate(dir.path());
    let mut config = harness::config(dir.path(), em, |c| {
        c.server.tls = Some(switchboard::config::Tls { cert, key });
    });
    let _pg = harness::scratch_store(&mut config);
    let host = switchboard::server::start(config)
        .await
        .expect("host starts");
    let port = host.addr.port();
    let https = reqwest::Client::builder()
        .no_proxy()
        .add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).unwrap())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let health = https
        .get(format!("https://localhost:{port}/healthz"))
        .send()
        .await
        .expect("an HTTPS answer");
    assert_eq!(health.status(), 200);
    let login = https
        .post(format!("https://localhost:{port}/api/v1/login"))
        .json(&json!({"username": "agent1", "password": "demo"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200, "the API over HTTPS");
    // Plain HTTP on the same port gets no answer a browser would take.
    let plain = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await;
    assert!(
        plain.is_err() || plain.is_ok_and(|r| r.status() != 200),
        "plain HTTP is not served"
    );
    host.shutdown().await;
}

#[test]
fn a_certificate_that_cannot_be_used_is_refused_in_plain_words() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, _) = certificate(dir.path());
    let (other_cert, _, _) = {
        let other = dir.path().join("other");
        std::fs::create_dir_all(&other).unwrap();
        certificate(&other)
    };
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate").unwrap();
    switchboard::connectors::install_crypto();
    let refused = |cert: &std::path::Path, key: &std::path::Path| {
        let tls = switchboard::config::Tls {
            cert: cert.to_owned(),
            key: key.to_owned(),
        };
        format!("{:#}", tls.server_config().unwrap_err())
    };
    let e = refused(&garbage, &key);
    assert!(
        e.contains("[server.tls] cert") && e.contains("garbage.pem"),
        "{e}"
    );
    let e = refused(&cert, &dir.path().join("missing.pem"));
    assert!(
        e.contains("[server.tls] key") && e.contains("missing.pem"),
        "{e}"
    );
    let e = refused(&other_cert, &key);
    assert!(e.contains("does not go with"), "{e}");
    let tls = switchboard::config::Tls { cert, key };
    assert!(tls.server_config().is_ok());
}
