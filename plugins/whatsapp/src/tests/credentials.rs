//! The Test button: `check_credentials` reads the number with the access token.

use serde_json::json;
use switchboard_sdk::testing::MockHost;
use switchboard_sdk::{Connector, ConnectorError, HttpError, HttpResponse};

use super::{GRAPH, PHONE_ID, cloud_error, host};
use crate::WhatsApp;

const TOKEN: &str = "EAAGwhatsappSecret987";

fn credentials_host(answer: Result<HttpResponse, HttpError>) -> MockHost {
    let host = host();
    host.set_secret("access_token", TOKEN);
    host.on_http(move |_| answer.clone());
    host
}

fn assert_no_secret(err: &ConnectorError) {
    assert!(!err.message().contains(TOKEN), "secret leaked: {err:?}");
}

#[test]
fn check_credentials_reads_the_number() {
    let host = credentials_host(Ok(HttpResponse::json(
        200,
        &json!({"id": PHONE_ID, "display_phone_number": "+1 555-078-3881",
                "verified_name": "Acme Outfitters", "quality_rating": "GREEN"}),
    )));
    let account = WhatsApp.check_credentials().unwrap();
    assert_eq!(account.id, PHONE_ID);
    assert_eq!(account.name, "Acme Outfitters (+1 555-078-3881)");
    assert!(account.warnings.is_empty(), "{:?}", account.warnings);
    let asked = host.requests();
    assert_eq!(asked.len(), 1, "one call");
    assert_eq!(asked[0].method, "GET", "only reads");
    assert_eq!(
        asked[0].url,
        format!("{GRAPH}/{PHONE_ID}?fields=display_phone_number,verified_name,quality_rating")
    );
    assert_eq!(
        asked[0].header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );

    // A low quality rating works, with a warning.
    credentials_host(Ok(HttpResponse::json(
        200,
        &json!({"id": PHONE_ID, "display_phone_number": "15550783881",
                "verified_name": "Acme", "quality_rating": "RED"}),
    )));
    let account = WhatsApp.check_credentials().unwrap();
    assert_eq!(account.warnings.len(), 1);
    assert!(account.warnings[0].contains("quality"));
}

#[test]
fn check_credentials_reports_a_refused_token() {
    let _host = credentials_host(Ok(cloud_error(
        401,
        190,
        &format!("Malformed access token {TOKEN}"),
        "",
    )));
    let err = WhatsApp.check_credentials().unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Unauthorized(m) if m.contains("`access_token`")),
        "{err:?}"
    );
    assert_no_secret(&err);

    let _host = credentials_host(Ok(HttpResponse::text(401, format!("bad token {TOKEN}"))));
    let err = WhatsApp.check_credentials().unwrap_err();
    assert!(matches!(err, ConnectorError::Unauthorized(_)), "{err:?}");
    assert_no_secret(&err);
}

#[test]
fn check_credentials_refuses_a_number_the_token_cannot_see() {
    // Graph's answer when the token belongs to another WhatsApp account.
    let _host = credentials_host(Ok(HttpResponse::json(
        400,
        &json!({"error": {"message": format!("Unsupported get request. Object with ID '{PHONE_ID}' does not exist, cannot be loaded due to missing permissions, or does not support this operation."),
            "type": "GraphMethodException", "code": 100, "error_subcode": 33, "fbtrace_id": "Ax"}}),
    )));
    let err = WhatsApp.check_credentials().unwrap_err();
    assert!(
        matches!(&err, ConnectorError::InvalidConfig(m) if m.contains("`phone_number_id`") && m.contains(PHONE_ID)),
        "{err:?}"
    );
    assert_no_secret(&err);
}

#[test]
fn check_credentials_warns_about_a_missing_permission() {
    let _host = credentials_host(Ok(cloud_error(
        403,
        200,
        "(#200) Requires whatsapp_business_management permission",
        "",
    )));
    let account = WhatsApp.check_credentials().unwrap();
    assert_eq!(account.id, PHONE_ID);
    assert_eq!(account.warnings.len(), 1);
    assert!(account.warnings[0].contains("whatsapp_business_management"));
}

#[test]
fn check_credentials_without_a_token_or_a_network() {
    let host = credentials_host(Err("connection refused".into()));
    let err = WhatsApp.check_credentials().unwrap_err();
    assert!(matches!(err, ConnectorError::Transient(_)), "{err:?}");

    host.remove_secret("access_token").clear_requests();
    let err = WhatsApp.check_credentials().unwrap_err();
    assert!(
        matches!(&err, ConnectorError::InvalidConfig(m) if m.contains("access_token")),
        "{err:?}"
    );
    assert!(host.requests().is_empty());
}
