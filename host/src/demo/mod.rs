//! `switchboard demo`: the host, the platform emulator and a seeded organisation, on the
//! embedded defaults, with synthetic customers unless `--no-traffic`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::config::Config;
use crate::emulator::{
    AppleBusiness, Emulator, EmulatorConfig, FacebookPage, WhatsAppNumber, XAccount, XConfig,
};

/// The embedded demo configuration.
pub const DEMO_CONFIG: &str = include_str!("demo.toml");
/// The demo page.
pub const PAGE_ID: &str = "1001";
/// Its app secret (signs webhooks).
pub const APP_SECRET: &str = "demo-app-secret";
/// Its verify token (webhook handshake).
pub const VERIFY_TOKEN: &str = "demo-verify";
/// Its page access token.
pub const ACCESS_TOKEN: &str = "demo-page-token";
/// The demo WhatsApp business number id (channel `whatsapp`).
pub const WHATSAPP_PHONE_NUMBER_ID: &str = "2002";
/// Its display number.
pub const WHATSAPP_DISPLAY_NUMBER: &str = "15550002002";
/// Its Cloud API access token.
pub const WHATSAPP_ACCESS_TOKEN: &str = "demo-whatsapp-token";
/// The demo Apple Messages for Business id (channel `apple`).
pub const APPLE_BUSINESS_ID: &str = "acme-biz";
/// Our messaging service provider id.
pub const APPLE_PROVIDER_ID: &str = "demo-provider";
/// The shared secret, base64 of `demo-apple-secret` as Apple delivers it.
pub const APPLE_SECRET: &str = "ZGVtby1hcHBsZS1zZWNyZXQ=";
/// The demo X app's consumer secret (channel `x`, Account Activity webhooks).
pub const X_CONSUMER_SECRET: &str = "demo-consumer-secret";
/// The demo X accounts: handle, user id, user access token (`acme` is the channel's).
pub const X_ACCOUNTS: &[(&str, &str, &str)] = &[
    ("acme", "1111", "demo-x-token-acme"),
    ("acmehelp", "1112", "demo-x-token-acmehelp"),
];

/// Flags of `switchboard demo`.
#[derive(clap::Args, Debug, Clone)]
pub struct DemoArgs {
    /// API and web desktop address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Platform emulator address.
    #[arg(long, default_value = "127.0.0.1:9090")]
    pub emulator_listen: SocketAddr,
    /// Where the demo keeps its database.
    #[arg(long, default_value = "data/demo")]
    pub data_dir: PathBuf,
    /// No synthetic customers.
    #[arg(long)]
    pub no_traffic: bool,
}

/// The emulator's demo page.
pub fn emulator_config() -> EmulatorConfig {
    EmulatorConfig {
        apple_businesses: vec![AppleBusiness {
            business_id: APPLE_BUSINESS_ID.into(),
            provider_id: APPLE_PROVIDER_ID.into(),
            secret: APPLE_SECRET.into(),
        }],
        facebook_pages: vec![FacebookPage {
            page_id: PAGE_ID.into(),
            name: "Acme Outfitters".into(),
            app_secret: APP_SECRET.into(),
            access_token: Some(ACCESS_TOKEN.into()),
        }],
        whatsapp_numbers: vec![WhatsAppNumber {
            phone_number_id: WHATSAPP_PHONE_NUMBER_ID.into(),
            display_phone_number: WHATSAPP_DISPLAY_NUMBER.into(),
            app_secret: APP_SECRET.into(),
            access_token: Some(WHATSAPP_ACCESS_TOKEN.into()),
        }],
        x: XConfig {
            accounts: X_ACCOUNTS
                .iter()
                .map(|(handle, user_id, token)| XAccount {
                    handle: (*handle).into(),
                    user_id: (*user_id).into(),
                    token: (*token).into(),
                })
                .collect(),
            consumer_secret: X_CONSUMER_SECRET.into(),
            bearer_token: None,
        },
    }
}

/// The demo config pointed at a host and an emulator address.
pub fn config(listen: SocketAddr, emulator: SocketAddr, data_dir: PathBuf) -> Result<Config> {
    let mut config = Config::parse(DEMO_CONFIG).context("embedded demo config")?;
    config.server.listen = listen;
    config.server.data_dir = data_dir;
    for ch in &mut config.channels {
        ch.settings
            .insert("graph_base_url".into(), format!("http://{emulator}/v19.0"));
        ch.settings
            .insert("apple_base_url".into(), format!("http://{emulator}"));
        ch.settings
            .insert("api_base_url".into(), format!("http://{emulator}"));
        ch.allowed_hosts = vec![format!("http://{emulator}")];
    }
    Ok(config)
}

/// Runs the demo until Ctrl-C.
pub async fn run(args: DemoArgs) -> Result<()> {
    let emulator = Emulator::new(emulator_config());
    let em_listener = tokio::net::TcpListener::bind(args.emulator_listen)
        .await
        .with_context(|| format!("emulator: listening on {}", args.emulator_listen))?;
    let em_addr = em_listener.local_addr()?;
    tokio::spawn(emulator.clone().serve(em_listener));

    let config = config(args.listen, em_addr, args.data_dir.clone())?;
    let running = crate::app::start(config).await?;
    let host = running.addr;
    emulator
        .subscribe_facebook(
            PAGE_ID,
            &format!("http://{host}/webhooks/facebook"),
            VERIFY_TOKEN,
        )
        .await
        .context("subscribing the demo page's webhook")?;
    emulator
        .subscribe_whatsapp(
            WHATSAPP_PHONE_NUMBER_ID,
            &format!("http://{host}/webhooks/whatsapp"),
            VERIFY_TOKEN,
        )
        .await
        .context("subscribing the demo WhatsApp number's webhook")?;
    emulator
        .subscribe_apple(APPLE_BUSINESS_ID, &format!("http://{host}/webhooks/apple"))
        .context("subscribing the demo Apple business's webhook")?;
    emulator
        .subscribe_x(&format!("http://{host}/webhooks/x"))
        .await
        .context("subscribing the demo X Account Activity webhook")?;

    println!();
    println!("  Switchboard demo is running.");
    println!("  Agent desktop:  http://{host}/   (agent1 / demo, agent2 / demo)");
    println!("  Also:           admin / demo, super / demo");
    println!("  API:            http://{host}/api/v1/openapi.json");
    println!("  Emulator:       http://{em_addr}/_emulator/outbound   (page {PAGE_ID})");
    println!("  Post a comment: curl -XPOST http://{em_addr}/_emulator/facebook/comments \\");
    println!("                    -H 'content-type: application/json' \\");
    println!(
        "                    -d '{{\"page_id\":\"{PAGE_ID}\",\"author_name\":\"Ann\",\"text\":\"Where is my order?\"}}'"
    );
    println!("  Data:           {}", args.data_dir.display());
    println!();

    if !args.no_traffic {
        tokio::spawn(traffic(em_addr));
        tokio::spawn(apple_traffic(em_addr));
        tokio::spawn(messenger_traffic(em_addr));
    }
    tokio::signal::ctrl_c().await?;
    running.shutdown().await;
    Ok(())
}

/// Synthetic customers: a new post now and then, and comments under it.
async fn traffic(emulator: SocketAddr) {
    const CUSTOMERS: &[(&str, &str)] = &[
        ("Ann Lee", "My order #1042 still hasn't shipped. Any news?"),
        ("Bo Chen", "Love the new jackets! Do you ship to Canada? 🇨🇦"),
        (
            "Chloé Martin",
            "La fermeture éclair de mon sac est cassée 😞",
        ),
        ("Dev Patel", "Is the store on Main St open on Sunday?"),
        ("Eva Novak", "Third time asking: where is my refund??"),
    ];
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("http client");
    let url = format!("http://{emulator}/_emulator/facebook/comments");
    let mut i = 0usize;
    loop {
        tokio::time::sleep(Duration::from_secs(20)).await;
        let (name, text) = CUSTOMERS[i % CUSTOMERS.len()];
        i += 1;
        let post = client
            .post(&url)
            .json(&serde_json::json!({ "page_id": PAGE_ID, "author_name": "Acme Outfitters", "author_id": PAGE_ID, "text": format!("Weekly update #{i}: new arrivals are in!") }))
            .send()
            .await;
        let Ok(post) = post else { continue };
        let Ok(body) = post.json::<serde_json::Value>().await else {
            continue;
        };
        let Some(post_id) = body["post_id"].as_str() else {
            continue;
        };
        let _ = client
            .post(&url)
            .json(&serde_json::json!({ "page_id": PAGE_ID, "post_id": post_id, "parent_id": post_id, "author_name": name, "text": text }))
            .send()
            .await;
    }
}

/// Synthetic Messenger customers: now and then one writes to the demo page, one of them
/// coming from an ad (its referral becomes metadata of the message).
async fn messenger_traffic(emulator: SocketAddr) {
    const CUSTOMERS: &[(&str, &str)] = &[
        (
            "Farah Haddad",
            "Hi, can I still return the boots I bought last week?",
        ),
        ("Gus Olsen", "Saw your ad: is the parka waterproof? 🧥"),
        ("Hana Sato", "配送状況を教えてください 📦"),
    ];
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("http client");
    let url = format!("http://{emulator}/_emulator/messenger/messages");
    for i in 0usize.. {
        tokio::time::sleep(Duration::from_secs(35)).await;
        let (name, text) = CUSTOMERS[i % CUSTOMERS.len()];
        let mut body = serde_json::json!({ "page_id": PAGE_ID, "name": name, "text": text });
        if i % CUSTOMERS.len() == 1 {
            body["referral"] = serde_json::json!({ "ref": "parka-spring", "ad_id": "6045246247433", "source": "ADS", "type": "OPEN_THREAD" });
        }
        let _ = client.post(&url).json(&body).send().await;
    }
}

/// Synthetic Apple Messages customers: now and then one writes to the demo business.
async fn apple_traffic(emulator: SocketAddr) {
    const TEXTS: &[&str] = &[
        "Hi! Can I change the size of my order #2210?",
        "Do you have the rain jacket in green? 🌧️",
        "Mon colis est arrivé abîmé 📦",
    ];
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("http client");
    let url = format!("http://{emulator}/_emulator/apple/messages");
    for i in 0usize.. {
        tokio::time::sleep(Duration::from_secs(45)).await;
        let body = serde_json::json!({ "business_id": APPLE_BUSINESS_ID, "source_id": format!("urn:mbid:demo-customer-{}", i % 3), "type": "text", "body": TEXTS[i % TEXTS.len()] });
        let _ = client.post(&url).json(&body).send().await;
    }
}
