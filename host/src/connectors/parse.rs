//! `switchboard plugin parse`: runs a connector's webhook parsing on a saved request body
//! and prints the normalized events, one JSON object per line. Partners debug a connector
//! with it; we check fidelity with it (a platform's real payload in, our events out).
//!
//! With `--secret S` the connector checks the request's signature with S, as it would in
//! production (S is offered under every name our connectors read a signing secret from);
//! `--secret name=value` gives any secret by name. With `--no-verify` the tool signs the
//! body itself with a throwaway secret in each platform's scheme (Meta, X, Apple), so the
//! connector's own check passes and only the parsing is exercised. `switchboard plugin
//! test` does the same for several saved requests, each with its own headers, and compares
//! the events with expected ones.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use hmac::{KeyInit, Mac};

use super::kit::samples::{self, SECRET_NAMES, Sandbox, SecretArg, pairs};

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
    /// The signing secret to check the request with; or any secret by name, `name=value`
    /// (repeat for more).
    #[arg(long = "secret", value_name = "[K=]V")]
    pub secrets: Vec<String>,
    /// Skip the signature check (the tool signs the body itself).
    #[arg(long)]
    pub no_verify: bool,
    /// The request path the platform called.
    #[arg(long, default_value = "/webhooks/channel")]
    pub path: String,
    /// The saved request body.
    pub file: PathBuf,
}

/// HMAC-SHA256 of `body` keyed with `secret`.
pub(crate) fn hmac(secret: &str, body: &[u8]) -> Vec<u8> {
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

/// The channel's secrets: a throwaway signing secret under every [`SECRET_NAMES`] with
/// `--no-verify` (the body is signed with it), a `verify_token`, then the `--secret`s.
fn secrets(args: &ParseArgs, throwaway: Option<&str>) -> Result<BTreeMap<String, String>> {
    let given: Vec<SecretArg> = args.secrets.iter().map(|s| SecretArg::parse(s)).collect();
    let bare = given.iter().any(|s| matches!(s, SecretArg::Bare(_)));
    if throwaway.is_some() && bare {
        bail!(
            "--no-verify signs the body with a secret of its own: drop the unnamed --secret, \
             or --no-verify to check the signature with it"
        );
    }
    if throwaway.is_none() && given.is_empty() {
        bail!("give --secret to check the signature, or --no-verify");
    }
    let mut secrets = BTreeMap::from([("verify_token".to_owned(), "plugin-parse".to_owned())]);
    if let Some(s) = throwaway {
        for name in SECRET_NAMES {
            secrets.insert(name.to_string(), s.to_owned());
        }
    }
    secrets.extend(samples::secrets_of(&given));
    Ok(secrets)
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
    let throwaway = args.no_verify.then(|| {
        // Base64 of a fixed phrase: valid as an Apple secret and as an HMAC key.
        let s = base64::engine::general_purpose::STANDARD.encode("switchboard-plugin-parse");
        sign_everything(&mut headers, &s, &settings, &body);
        s
    });
    let secrets = secrets(&args, throwaway.as_deref())?;
    let path = args.plugins_dir.join(format!("{}.wasm", args.plugin));
    if !path.exists() {
        bail!(
            "no plugin at {} (build plugins with `cargo xtask plugins`)",
            path.display()
        );
    }
    // One instance, configured once (its warnings print once).
    let sandbox = Sandbox::load(&path, &args.plugin, settings, secrets).await?;
    let reply = sandbox.webhook("POST", &args.path, headers, body).await?;
    drop(sandbox);
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        args: ParseArgs,
    }

    fn args(extra: &[&str]) -> ParseArgs {
        let base = ["parse", "--plugin", "facebook", "body.json"];
        Cli::try_parse_from(base.iter().chain(extra)).unwrap().args
    }

    #[test]
    fn a_bare_secret_keeps_its_meaning_and_named_ones_are_added() {
        let secrets = secrets(&args(&["--secret", "s3cret"]), None).unwrap();
        for name in SECRET_NAMES {
            assert_eq!(secrets[*name], "s3cret");
        }
        assert_eq!(secrets["verify_token"], "plugin-parse");
        let secrets = secrets_of_named();
        assert_eq!(secrets["access_token"], "t");
        assert_eq!(secrets["app_secret"], "throwaway");
        assert_eq!(secrets["verify_token"], "v");
    }

    fn secrets_of_named() -> BTreeMap<String, String> {
        let a = args(&[
            "--no-verify",
            "--secret",
            "access_token=t",
            "--secret",
            "verify_token=v",
        ]);
        secrets(&a, Some("throwaway")).unwrap()
    }

    #[test]
    fn a_signature_is_checked_with_a_secret_or_not_at_all() {
        let e = secrets(&args(&[]), None).unwrap_err();
        assert!(e.to_string().contains("give --secret"), "{e}");
        // Any secret by name: the connector checks with the one it reads.
        let named = secrets(&args(&["--secret", "webhook_secret=w"]), None).unwrap();
        assert_eq!(named["webhook_secret"], "w");
        assert!(!named.contains_key("app_secret"));
        let e = secrets(&args(&["--no-verify", "--secret", "s"]), Some("x")).unwrap_err();
        assert!(e.to_string().contains("--no-verify signs"), "{e}");
    }
}
