//! `switchboard demo`: the host, the platform emulator and a seeded organisation, on the
//! embedded defaults, with synthetic customers unless `--no-traffic`.

mod traffic;

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use switchboard_emulator::{
    AppleBusiness, Emulator, EmulatorConfig, FacebookPage, WhatsAppNumber, XAccount, XConfig,
};

use crate::config::Config;

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
/// The demo Instagram professional account id (channel `instagram`, @acme).
pub const INSTAGRAM_ID: &str = "17841400000000001";
/// Its Instagram user access token.
pub const INSTAGRAM_ACCESS_TOKEN: &str = "demo-instagram-token";
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
        instagram_accounts: vec![switchboard_emulator::InstagramAccount {
            ig_id: INSTAGRAM_ID.into(),
            username: "acme".into(),
            name: "Acme Outfitters".into(),
            access_token: Some(INSTAGRAM_ACCESS_TOKEN.into()),
            app_secret: APP_SECRET.into(),
            verify_token: VERIFY_TOKEN.into(),
            page_id: None,
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

/// The demo started from another directory than the checkout (`target/debug/switchboard
/// demo` from `/tmp`) still finds the plugins and workflows the build made: a relative
/// folder that is not there is looked for beside the binary (`target/<profile>/`), unless
/// the environment named it.
fn find_beside_the_binary(config: &mut Config) {
    let Some(bin_dir) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(PathBuf::from))
    else {
        return;
    };
    let look = |dir: &mut PathBuf, env: &str, beside: &str| {
        if dir.is_relative() && !dir.is_dir() && std::env::var_os(env).is_none() {
            let candidate = bin_dir.join(beside);
            if let Ok(candidate) = candidate.canonicalize()
                && candidate.is_dir()
            {
                tracing::info!(from = %dir.display(), to = %candidate.display(),
                    "not in the current directory: using the one beside the binary");
                *dir = candidate;
            }
        }
    };
    look(
        &mut config.server.plugins_dir,
        "SWITCHBOARD_PLUGINS_DIR",
        "../plugins/dist",
    );
    look(
        &mut config.server.workflows_dir,
        "SWITCHBOARD_WORKFLOWS_DIR",
        "../../workflows",
    );
}

/// Runs the demo until Ctrl-C.
pub async fn run(args: DemoArgs) -> Result<()> {
    let emulator = Emulator::new(emulator_config());
    let em_listener = tokio::net::TcpListener::bind(args.emulator_listen)
        .await
        .with_context(|| format!("emulator: listening on {}", args.emulator_listen))?;
    let em_addr = em_listener.local_addr()?;
    tokio::spawn(emulator.clone().serve(em_listener));

    let mut config = config(args.listen, em_addr, args.data_dir.clone())?;
    find_beside_the_binary(&mut config);
    let running = crate::server::start(config).await?;
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
        .subscribe_instagram(
            INSTAGRAM_ID,
            &format!("http://{host}/webhooks/instagram"),
            VERIFY_TOKEN,
        )
        .await
        .context("subscribing the demo Instagram account's webhook")?;
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
        traffic::start(em_addr);
    }
    tokio::signal::ctrl_c().await?;
    running.shutdown().await;
    Ok(())
}
