//! Templates: the list read from the business account, sends with parameters and a media
//! header, and the warning about the old `templates` setting.

use serde_json::{Value, json};
use switchboard_sdk::testing::MockHost;
use switchboard_sdk::{Connector, ConnectorError, HttpResponse, Level, Template, TemplateInfo};

use super::sending::uploaded;
use super::{GRAPH, HOUR, NOW, PHONE_ID, accepted, cloud_error, host, reply, sent_body};
use crate::WhatsApp;

const WABA: &str = "102290129340398";

fn waba_host() -> MockHost {
    let host = host();
    host.set_config("waba_id", WABA);
    host
}

fn page_one() -> Value {
    json!({
        "data": [
            {"name": "order_update", "language": "en_US", "status": "APPROVED", "category": "UTILITY", "id": "1",
             "components": [
                {"type": "HEADER", "format": "TEXT", "text": "Your order"},
                {"type": "BODY", "text": "Hi {{1}}, order {{2}} ships {{3}}. Thanks {{1}}!"},
                {"type": "FOOTER", "text": "Reply STOP to opt out"},
                {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Track"}]}
             ]},
            {"name": "parcel_photo", "language": "en_US", "status": "APPROVED", "category": "UTILITY", "id": "2",
             "components": [
                {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::aW"]}},
                {"type": "BODY", "text": "Here is the photo of parcel {{1}}."}
             ]}
        ],
        "paging": {"cursors": {"before": "QVFI1", "after": "QVFI2"},
                   "next": "https://graph.facebook.com/v19.0/102290129340398/message_templates?after=QVFI2"}
    })
}

fn page_two() -> Value {
    json!({
        "data": [
            {"name": "spring_sale", "language": "es_ES", "status": "PENDING", "category": "MARKETING", "id": "3",
             "components": [{"type": "BODY", "text": "Hola {{first_name}}, {{discount}} de descuento."}]},
            {"language": "en_US", "status": "APPROVED"}
        ],
        "paging": {"cursors": {"before": "QVFI2", "after": "QVFI3"}}
    })
}

fn listing(host: &MockHost) {
    host.on_http(|req| {
        let page = if req.url.contains("after=QVFI2") {
            page_two()
        } else {
            page_one()
        };
        Ok(HttpResponse::json(200, &page))
    });
}

fn listed() -> (MockHost, Vec<TemplateInfo>) {
    let host = waba_host();
    listing(&host);
    let list = WhatsApp.list_templates().unwrap();
    (host, list)
}

#[test]
fn the_list_is_read_page_by_page_and_mapped() {
    let (host, list) = listed();
    let asked: Vec<String> = host.requests().iter().map(|r| r.url.clone()).collect();
    let first = format!(
        "{GRAPH}/{WABA}/message_templates?fields=name,language,status,category,components&limit=100"
    );
    assert_eq!(asked, [first.clone(), format!("{first}&after=QVFI2")]);
    assert!(
        host.requests()
            .iter()
            .all(|r| r.header("authorization") == Some("Bearer wa-token"))
    );

    let names: Vec<&str> = list.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        ["order_update", "parcel_photo", "spring_sale"],
        "a nameless one is left out"
    );
    assert_eq!(
        list[0],
        TemplateInfo {
            name: "order_update".into(),
            language: "en_US".into(),
            status: "APPROVED".into(),
            category: "UTILITY".into(),
            body: "Hi {{1}}, order {{2}} ships {{3}}. Thanks {{1}}!".into(),
            parameters: 3,
            header: Some("text".into()),
            header_text: Some("Your order".into()),
            footer: Some("Reply STOP to opt out".into()),
        }
    );
    assert_eq!(list[1].header.as_deref(), Some("image"));
    assert_eq!(list[1].header_text, None);
    assert_eq!(list[1].parameters, 1);
    assert_eq!(list[2].status, "PENDING");
    assert_eq!(list[2].parameters, 2, "named parameters count too");
}

#[test]
fn a_cursor_that_repeats_ends_the_list() {
    let host = waba_host();
    host.on_http(|_| Ok(HttpResponse::json(200, &page_one())));
    let list = WhatsApp.list_templates().unwrap();
    assert_eq!(
        host.requests().len(),
        2,
        "the second page repeats the cursor"
    );
    assert_eq!(list.len(), 4);
}

#[test]
fn without_waba_id_the_list_is_unsupported_and_errors_are_plain() {
    let host = host();
    listing(&host);
    let err = WhatsApp.list_templates().unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Unsupported(m) if m.contains("waba_id")),
        "{err:?}"
    );
    assert!(host.requests().is_empty());

    let host = waba_host();
    host.on_http(|_| {
        Ok(cloud_error(
            400,
            100,
            "Unsupported get request. Object with ID '102290129340398' does not exist",
            "",
        ))
    });
    let err = WhatsApp.list_templates().unwrap_err();
    assert!(
        matches!(&err, ConnectorError::InvalidConfig(m) if m.contains("waba_id")),
        "{err:?}"
    );
    host.on_http(|_| {
        Ok(HttpResponse::json(
            401,
            &json!({"error": {"message": "Error validating access token", "code": 190}}),
        ))
    });
    assert!(matches!(
        WhatsApp.list_templates().unwrap_err(),
        ConnectorError::Unauthorized(_)
    ));

    host.set_config("waba_id", "not-a-number");
    assert!(matches!(
        WhatsApp.configure().unwrap_err(),
        ConnectorError::InvalidConfig(m) if m.contains("waba_id")
    ));
}

fn template(name: &str, parameters: &[&str]) -> Template {
    Template {
        name: name.into(),
        language: "en_US".into(),
        parameters: parameters.iter().map(|p| p.to_string()).collect(),
    }
}

#[test]
fn a_template_with_a_media_header_takes_the_first_file() {
    let (host, _) = listed();
    host.clear_requests().on_http(|_| Ok(accepted("wamid.tpl")));
    let mut msg = reply("", Some(NOW - 72 * HOUR));
    msg.reply_to = None;
    msg.template = Some(template("parcel_photo", &["#1042"]));
    msg.files = vec![uploaded("image", "parcel.jpg", "image/jpeg", "img-77")];
    let sent = WhatsApp.send(msg, "t1".into()).unwrap();
    assert_eq!(sent.platform_message_id, "wamid.tpl");
    assert_eq!(
        host.requests()[0].url,
        format!("{GRAPH}/{PHONE_ID}/messages")
    );
    assert_eq!(
        sent_body(&host, 0)["template"],
        json!({
            "name": "parcel_photo",
            "language": {"code": "en_US"},
            "components": [
                {"type": "header", "parameters": [{"type": "image", "image": {"id": "img-77"}}]},
                {"type": "body", "parameters": [{"type": "text", "text": "#1042"}]}
            ]
        })
    );
}

#[test]
fn a_document_header_carries_its_file_name_even_for_an_unlisted_template() {
    let host = waba_host();
    host.on_http(|_| Ok(accepted("wamid.tpl")));
    let mut msg = reply("", Some(NOW - 72 * HOUR));
    msg.template = Some(template("invoice_ready", &[]));
    msg.files = vec![uploaded("file", "invoice.pdf", "application/pdf", "doc-5")];
    WhatsApp.send(msg, "t2".into()).unwrap();
    assert_eq!(
        sent_body(&host, 0)["template"]["components"],
        json!([{"type": "header", "parameters": [
            {"type": "document", "document": {"id": "doc-5", "filename": "invoice.pdf"}}
        ]}])
    );
}

#[test]
fn what_the_list_says_cannot_work_is_refused_before_sending() {
    let (host, _) = listed();
    host.clear_requests().on_http(|_| Ok(accepted("wamid.x")));
    let mut msg = reply("", Some(NOW - 72 * HOUR));

    // An image header without an image.
    msg.template = Some(template("parcel_photo", &["#1"]));
    let err = WhatsApp.send(msg.clone(), "t3".into()).unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Rejected(m) if m.contains("image")),
        "{err:?}"
    );

    // A file for a template whose header is text.
    msg.template = Some(template("order_update", &["Ann", "#1", "today"]));
    msg.files = vec![uploaded("image", "a.png", "image/png", "m")];
    let err = WhatsApp.send(msg.clone(), "t4".into()).unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Rejected(m) if m.contains("no media header")),
        "{err:?}"
    );

    // A document where an image is expected; two files.
    msg.template = Some(template("parcel_photo", &["#1"]));
    msg.files = vec![uploaded("file", "a.pdf", "application/pdf", "m")];
    assert!(WhatsApp.send(msg.clone(), "t5".into()).is_err());
    msg.files = vec![
        uploaded("image", "a.png", "image/png", "m1"),
        uploaded("image", "b.png", "image/png", "m2"),
    ];
    let err = WhatsApp.send(msg, "t6".into()).unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Rejected(m) if m.contains("at most one file")),
        "{err:?}"
    );
    assert!(host.requests().is_empty(), "nothing was sent");
}

#[test]
fn named_parameters_are_sent_with_their_names() {
    let (host, _) = listed();
    host.clear_requests().on_http(|_| Ok(accepted("wamid.x")));
    let mut msg = reply("", Some(NOW - 72 * HOUR));
    msg.template = Some(Template {
        name: "spring_sale".into(),
        language: "es_ES".into(),
        parameters: vec!["Ana".into(), "20 %".into()],
    });
    WhatsApp.send(msg, "t7".into()).unwrap();
    assert_eq!(
        sent_body(&host, 0)["template"]["components"][0]["parameters"],
        json!([
            {"type": "text", "parameter_name": "first_name", "text": "Ana"},
            {"type": "text", "parameter_name": "discount", "text": "20 %"}
        ])
    );
}

#[test]
fn template_errors_say_what_to_do() {
    let host = waba_host();
    host.on_http(|_| {
        Ok(cloud_error(
            400,
            132000,
            "(#132000) Number of parameters does not match the expected number of params",
            "body: number of localizable_params (1) does not match the expected number of params (3)",
        ))
    });
    let mut msg = reply("", Some(NOW - 72 * HOUR));
    msg.template = Some(template("order_update", &["Ann"]));
    let err = WhatsApp.send(msg, "t8".into()).unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Rejected(m) if m.contains("another number of parameters")),
        "{err:?}"
    );
}

fn number_then_templates(host: &MockHost, templates: HttpResponse) {
    host.on_http(move |req| {
        if req.url.contains("/message_templates") {
            Ok(templates.clone())
        } else {
            Ok(HttpResponse::json(
                200,
                &json!({"id": PHONE_ID, "display_phone_number": "15550783881", "verified_name": "Acme"}),
            ))
        }
    });
}

#[test]
fn the_old_templates_setting_is_warned_about_once_waba_id_is_set() {
    let host = waba_host();
    host.set_config("templates", "order_update:en_US, hello_world:en_US");
    number_then_templates(&host, HttpResponse::json(200, &json!({"data": []})));
    let account = WhatsApp.check_credentials().unwrap();
    assert_eq!(account.warnings.len(), 1, "{:?}", account.warnings);
    assert!(account.warnings[0].contains("`templates`"));
    assert!(account.warnings[0].contains("remove"));
    // The list itself was tried, with one short read.
    assert!(
        host.requests()
            .iter()
            .any(|r| r.url.ends_with("/message_templates?fields=name&limit=1"))
    );

    WhatsApp.configure().unwrap();
    assert!(
        host.logs()
            .iter()
            .any(|(level, line)| *level == Level::Warn && line.contains("`templates`"))
    );

    // Without `waba_id`, the old setting is still the one in use: no warning.
    host.remove_config("waba_id").clear_requests();
    let account = WhatsApp.check_credentials().unwrap();
    assert!(account.warnings.is_empty(), "{:?}", account.warnings);
    assert_eq!(host.requests().len(), 1);
}

#[test]
fn a_template_list_the_token_cannot_read_is_a_warning() {
    let host = waba_host();
    number_then_templates(
        &host,
        cloud_error(
            403,
            200,
            "(#200) Requires whatsapp_business_management permission",
            "",
        ),
    );
    let account = WhatsApp.check_credentials().unwrap();
    assert_eq!(account.name, "Acme (15550783881)");
    assert_eq!(account.warnings.len(), 1);
    assert!(account.warnings[0].contains(WABA), "{:?}", account.warnings);
    assert!(!account.warnings[0].contains("wa-token"));
}
