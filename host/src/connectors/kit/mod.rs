//! The partner kit: from nothing to a tested connector component.
//!
//! - `switchboard plugin new NAME [--dir DIR]` makes a connector crate ([`scaffold`]);
//! - `switchboard plugin build PATH [--out DIR]` builds any connector crate with the recipe
//!   our own plugins are built with, and checks this host loads the result ([`package`]);
//! - `switchboard plugin test NAME PAYLOAD… [--expect FILE]` runs saved webhook requests
//!   ([`payload`]) through a built connector and compares its events with the expected
//!   ones ([`expect`]), for partners' CI.

mod expect;
mod package;
mod payload;
pub(crate) mod samples;
mod scaffold;

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

/// Flags of `switchboard plugin new`.
#[derive(clap::Args, Debug)]
pub struct NewArgs {
    /// The platform: names the plugin file (`NAME.wasm`), the crate (`plugin-NAME`) and
    /// `describe`'s platform. Lower-case letters, digits, `-` and `_`.
    pub name: String,
    /// The crate's folder (default: `plugins/NAME` inside a Switchboard checkout, else
    /// `./NAME`); it must not exist, or be empty.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// The Switchboard SDK a crate outside a checkout depends on, by path (default: the
    /// `sdk/` of the checkout this binary was built from).
    #[arg(long, value_name = "PATH")]
    pub sdk: Option<PathBuf>,
}

/// Flags of `switchboard plugin build`.
#[derive(clap::Args, Debug)]
pub struct BuildArgs {
    /// The connector crate's folder.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Where to write `<crate folder name>.wasm` (default: `plugins/dist/` under the
    /// crate's cargo target folder).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// The debug profile (default: release, as `cargo xtask plugins`).
    #[arg(long)]
    pub debug: bool,
}

/// Flags of `switchboard plugin test`.
#[derive(clap::Args, Debug)]
pub struct TestArgs {
    /// The plugin: a file name in --plugins-dir without `.wasm`, or a path to a `.wasm`.
    pub plugin: String,
    /// Saved webhook requests: request files (`{"method", "path", "headers", "body"}`) or
    /// raw bodies.
    #[arg(required = true, value_name = "PAYLOAD")]
    pub payloads: Vec<PathBuf>,
    /// Expected events (a JSON array, or one JSON event a line): on any difference the
    /// first is printed and the exit code is 1.
    #[arg(long, value_name = "FILE")]
    pub expect: Option<PathBuf>,
    /// Where the built plugins are.
    #[arg(long, default_value = "target/plugins/dist")]
    pub plugins_dir: PathBuf,
    /// A channel setting, `name=value` (repeat for more).
    #[arg(long = "setting", value_name = "K=V")]
    pub settings: Vec<String>,
    /// A channel secret, `name=value` (repeat for more); a value without a name is offered
    /// as `app_secret`, `consumer_secret` and `secret`.
    #[arg(long = "secret", value_name = "K=V")]
    pub secrets: Vec<String>,
    /// A request header for every payload, `Name: value` (repeat for more); it replaces a
    /// request file's header of the same name.
    #[arg(long = "header", value_name = "K: V")]
    pub headers: Vec<String>,
    /// The method of raw-body payloads.
    #[arg(long, default_value = "POST")]
    pub method: String,
    /// The path (and query) of raw-body payloads.
    #[arg(long, default_value = "/webhooks/channel")]
    pub path: String,
    /// Every payload is a raw body, even a JSON file that looks like a request file.
    #[arg(long)]
    pub raw: bool,
}

/// `switchboard plugin new`.
pub fn new(args: NewArgs) -> Result<()> {
    let cwd = std::env::current_dir()?;
    let plan = scaffold::plan(&args.name, args.dir.as_deref(), args.sdk.as_deref(), &cwd)?;
    let files = scaffold::write(&plan)?;
    println!("created {} in {}", plan.package, plan.dir.display());
    for file in &files {
        println!("  {}", file.display());
    }
    if plan.lock.is_some() {
        println!("  Cargo.lock (the Switchboard checkout's, to start from)");
    }
    let name = &plan.name;
    let flags = format!(
        "--setting account_id={} --secret webhook_secret={}",
        scaffold::TEST_ACCOUNT,
        scaffold::TEST_SECRET
    );
    match &plan.member_of {
        Some(root) => {
            let rel = plan.dir.strip_prefix(root).unwrap_or(&plan.dir).display();
            println!(
                "\nnext, from {}:\n  cargo test -p {}\n  switchboard plugin build {rel}   \
                 (or `cargo xtask plugins`, with the others)\n  switchboard plugin test {name} \
                 {rel}/tests/payloads/message.json \\\n      --expect \
                 {rel}/tests/payloads/message.expected.jsonl {flags}",
                root.display(),
                plan.package
            );
        }
        None => println!(
            "\nnext:\n  cd {}\n  cargo test\n  switchboard plugin build .\n  switchboard plugin \
             test {name} tests/payloads/message.json \\\n      --expect \
             tests/payloads/message.expected.jsonl {flags}",
            plan.dir.display()
        ),
    }
    Ok(())
}

/// `switchboard plugin build`: prints the component's path on stdout, what it is on stderr.
pub async fn build(args: BuildArgs) -> Result<()> {
    let packaged = package::build(&args.path, args.out.as_deref(), !args.debug).await?;
    let d = &packaged.description;
    eprintln!(
        "switchboard: {}: platform `{}` {}, contract {}, capabilities {}; {} KiB",
        packaged
            .path
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default(),
        d.platform,
        d.version,
        d.contract,
        if d.capabilities.is_empty() {
            "none".to_owned()
        } else {
            d.capabilities.join(", ")
        },
        packaged.size.div_ceil(1024)
    );
    println!("{}", packaged.path.display());
    Ok(())
}

/// `switchboard plugin test`: the events as JSON lines on stdout, one summary line per
/// payload on stderr; with `--expect`, the first difference is the error (exit code 1).
pub async fn test(args: TestArgs) -> Result<()> {
    crate::connectors::install_crypto();
    let expected = match &args.expect {
        Some(file) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("reading {}", file.display()))?;
            Some(expect::read(&file.display().to_string(), &text)?)
        }
        None => None,
    };
    let defaults = payload::Defaults {
        method: args.method.clone(),
        path: args.path.clone(),
        headers: samples::pairs(&args.headers, ':', "header")?,
        raw: args.raw,
    };
    let mut requests = Vec::new();
    for file in &args.payloads {
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let name = file.display().to_string();
        requests.push((name.clone(), payload::parse(&name, &bytes, &defaults)?));
    }
    let settings = samples::pairs(&args.settings, '=', "setting")?
        .into_iter()
        .collect();
    let secrets = samples::secrets_of(
        &args
            .secrets
            .iter()
            .map(|s| samples::SecretArg::parse(s))
            .collect::<Vec<_>>(),
    );
    let (plugin, path) = samples::plugin_file(&args.plugin, &args.plugins_dir);
    let sandbox = samples::Sandbox::load(&path, &plugin, settings, secrets).await?;
    let mut actual = Vec::new();
    for (name, request) in requests {
        let reply = sandbox
            .webhook(
                &request.method,
                &request.path,
                request.headers,
                request.body,
            )
            .await
            .with_context(|| format!("{name}: handle-webhook"))?;
        eprintln!(
            "{name}: answered {} with {} event(s)",
            reply.status,
            reply.events.len()
        );
        if !(200..300).contains(&reply.status) {
            bail!(
                "{name}: the connector refused the request ({}): {}",
                reply.status,
                String::from_utf8_lossy(&reply.body)
            );
        }
        for (i, event) in reply.events.iter().enumerate() {
            // Printed in the fields' order, as `plugin parse` prints it.
            println!("{}", serde_json::to_string(event)?);
            actual.push(expect::Actual {
                payload: name.clone(),
                index: i + 1,
                event: serde_json::to_value(event)?,
            });
        }
    }
    if let (Some(expected), Some(file)) = (expected, &args.expect) {
        let file = file.display().to_string();
        if let Some(difference) = expect::first_difference(&file, &actual, &expected) {
            bail!("{difference}");
        }
        eprintln!("{} event(s) as {file} expects", actual.len());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(clap::Parser, Debug)]
    enum Cli {
        New(NewArgs),
        Build(BuildArgs),
        Test(TestArgs),
    }

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("plugin").chain(args.iter().copied()))
    }

    #[test]
    fn plugin_new_takes_a_name_and_where_to_put_it() {
        let Ok(Cli::New(args)) = parse(&["new", "telegram"]) else {
            panic!("new")
        };
        assert_eq!(
            (args.name.as_str(), args.dir, args.sdk),
            ("telegram", None, None)
        );
        let Ok(Cli::New(args)) = parse(&["new", "telegram", "--dir", "/x/y", "--sdk", "/s"]) else {
            panic!("new --dir --sdk")
        };
        assert_eq!(args.dir, Some(PathBuf::from("/x/y")));
        assert_eq!(args.sdk, Some(PathBuf::from("/s")));
        assert!(parse(&["new"]).is_err(), "NAME is required");
    }

    #[test]
    fn plugin_build_defaults_to_this_folder_in_release() {
        let Ok(Cli::Build(args)) = parse(&["build"]) else {
            panic!("build")
        };
        assert_eq!(
            (args.path, args.out, args.debug),
            (PathBuf::from("."), None, false)
        );
        let Ok(Cli::Build(args)) = parse(&["build", "crates/tg", "--out", "dist", "--debug"])
        else {
            panic!("build PATH --out --debug")
        };
        assert_eq!(
            (args.path, args.out, args.debug),
            ("crates/tg".into(), Some("dist".into()), true)
        );
    }

    #[test]
    fn plugin_test_takes_payloads_and_any_setting_or_secret_by_name() {
        let Ok(Cli::Test(args)) = parse(&[
            "test",
            "telegram",
            "a.json",
            "b.json",
            "--expect",
            "e.jsonl",
            "--setting",
            "account_id=1",
            "--secret",
            "webhook_secret=s",
            "--secret",
            "bare",
            "--header",
            "X-A: 1",
            "--raw",
        ]) else {
            panic!("test")
        };
        assert_eq!(args.plugin, "telegram");
        assert_eq!(args.payloads, [PathBuf::from("a.json"), "b.json".into()]);
        assert_eq!(args.expect, Some("e.jsonl".into()));
        assert_eq!(args.plugins_dir, PathBuf::from("target/plugins/dist"));
        assert_eq!(args.settings, ["account_id=1"]);
        assert_eq!(args.secrets, ["webhook_secret=s", "bare"]);
        assert_eq!(args.headers, ["X-A: 1"]);
        assert_eq!(
            (args.method.as_str(), args.path.as_str()),
            ("POST", "/webhooks/channel")
        );
        assert!(args.raw);
        assert!(
            parse(&["test", "telegram"]).is_err(),
            "a PAYLOAD is required"
        );
    }
}
