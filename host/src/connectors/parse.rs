//! `switchboard plugin parse`: runs a connector's webhook parsing on a saved request body
//! and prints the normalized events, one JSON object per line. Partners debug a connector
//! with it; we check fidelity with it (a platform's real payload in, our events out).
//!
//! With `--secret S` the connector checks the request's signature with S, as it would in
//! production (S is offered under every name our connectors read a signing secret from).
//! With `--no-verify` the tool signs the body itself with a throwaway secret in each
//! platform's scheme (Meta, X, Apple), so the connector's own check passes and only the
//! parsing is exercised.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use hmac::{KeyInit, Mac};

use super::PluginLimits;
use super::engine::{ChannelConnector, PluginEngine};
use super::host_api::Grants;
use crate::store::Store;

/// Names our connectors read their signing secret from.
const SECRET_NAMES: &[&str] = &["app_secret", "consumer_secret", "secret"];

/// Flags of `switchboard plugin parse`.
#[derive(clap::Args, Debug)]
pub struct ParseArgs {
    /// The plugin, by file name without `.wasm`.
    #[arg(long)]
    pub plugin: String,
    /// Where the built plugins are.
    #[arg(long, default_value = "target/plugins/dist")]
    pub plugins_dir: PathBuf,
    /// A request header, `Name: value` (repeat for more).
    #[arg(long = "header", value_name = "K: V")]
    pub headers: Vec<String>,
    /// A channel setting, `key=value` (repeat for more), e.g. `page_id=1001`.
    #[arg(long = "setting", value_name = "K=V")]
    pub settings: Vec<String>,
    /// The signing secret to check the request with.
    #[arg(long, conflicts_with = "no_verify")]
    pub secret: Option<String>,
    /// Skip the signature check (the tool signs the body itself).
    #[arg(long)]
    pub no_verify: bool,
    /// The request path the platform called.
    #[arg(long, default_value = "/webhooks/channel")]
    pub path: String,
    /// The saved request body.
    pub file: PathBuf,
}

fn pairs(items: &[String], sep: char, what: &str) -> Result<Vec<(String, String)>> {
    items
        .iter()
        .map(|item| {
            let (k, v) = item
                .split_once(sep)
                .with_context(|| format!("{what} `{item}` must look like `name{sep}value`"))?;
            Ok((k.trim().to_owned(), v.trim().to_owned()))
        })
        .collect()
}

fn hmac(secret: &str, body: &[u8]) -> Vec<u8> {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("any key");
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

/// Signs `body` in every scheme our platforms use, replacing any signature headers.
fn sign_everything(
    headers: &mut Vec<(String, String)>,
    secret: &str,
    settings: &BTreeMap<String, String>,
    body: &[u8],
) {
    let b64 = base64::engine::general_purpose::STANDARD;
    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    headers.retain(|(k, _)| {
        !matches!(
            k.as_str(),
            "x-hub-signature-256" | "x-twitter-webhooks-signature" | "authorization"
        )
    });
    let digest = hmac(secret, body);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    headers.push(("x-hub-signature-256".into(), format!("sha256={hex}")));
    headers.push((
        "x-twitter-webhooks-signature".into(),
        format!("sha256={}", b64.encode(&digest)),
    ));
    // Apple: an HS256 JWT for our provider id, signed with the decoded shared secret.
    let now = crate::clock::now_ms() / 1000;
    let aud = settings.get("provider_id").cloned().unwrap_or_default();
    let header = url.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = url.encode(
        serde_json::json!({ "aud": aud, "iat": now, "exp": now + 600 })
            .to_string()
            .as_bytes(),
    );
    let key = b64
        .decode(secret)
        .unwrap_or_else(|_| secret.as_bytes().to_vec());
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).expect("any key");
    mac.update(format!("{header}.{claims}").as_bytes());
    let sig = url.encode(mac.finalize().into_bytes());
    headers.push((
        "authorization".into(),
        format!("Bearer {header}.{claims}.{sig}"),
    ));
}

/// Runs the command.
pub async fn run(args: ParseArgs) -> Result<()> {
    crate::connectors::install_crypto();
    let body =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let mut headers: Vec<(String, String)> = pairs(&args.headers, ':', "header")?
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect();
    let settings: BTreeMap<String, String> =
        pairs(&args.settings, '=', "setting")?.into_iter().collect();
    let secret = match (&args.secret, args.no_verify) {
        (Some(s), _) => s.clone(),
        (None, true) => {
            // Base64 of a fixed phrase: valid as an Apple secret and as an HMAC key.
            let s = base64::engine::general_purpose::STANDARD.encode("switchboard-plugin-parse");
            sign_everything(&mut headers, &s, &settings, &body);
            s
        }
        (None, false) => bail!("give --secret to check the signature, or --no-verify"),
    };
    let secrets: BTreeMap<String, String> = SECRET_NAMES
        .iter()
        .map(|n| (n.to_string(), secret.clone()))
        .chain(std::iter::once((
            "verify_token".into(),
            "plugin-parse".into(),
        )))
        .collect();
    let path = args.plugins_dir.join(format!("{}.wasm", args.plugin));
    if !path.exists() {
        bail!(
            "no plugin at {} (build plugins with `cargo xtask plugins`)",
            path.display()
        );
    }
    let dir = tempfile::tempdir()?;
    let store = Store::open(&dir.path().join("parse.db"))?;
    let grants = Grants {
        channel: "parse".into(),
        plugin: args.plugin.clone(),
        settings: Arc::new(settings),
        secrets: Arc::new(secrets),
        // Parsing needs no network: only what the plugin declares, and no internal address.
        egress: Arc::new(super::egress::Egress::closed()?),
        store: store.clone(),
        runtime: tokio::runtime::Handle::current(),
    };
    let engine = PluginEngine::new(&dir.path().join("cache"), PluginLimits::default())?;
    let reply = tokio::task::spawn_blocking(move || {
        let connector = ChannelConnector::new(engine, &path, grants)?;
        anyhow::Ok(connector.handle_webhook("POST", &args.path, headers, body)?)
    })
    .await??;
    store.close();
    eprintln!(
        "{}: answered {} with {} event(s)",
        args.plugin,
        reply.status,
        reply.events.len()
    );
    if !(200..300).contains(&reply.status) {
        bail!(
            "the connector refused the request ({}): {}",
            reply.status,
            String::from_utf8_lossy(&reply.body)
        );
    }
    for event in &reply.events {
        println!("{}", serde_json::to_string(event)?);
    }
    Ok(())
}
