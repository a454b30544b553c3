//! A connector loaded for a throwaway channel, to run saved requests through (`plugin
//! parse`, `plugin test`) or to ask what it is (`plugin build`): a temporary store, no
//! network, the settings and secrets given on the command line.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};

use crate::connectors::PluginLimits;
use crate::connectors::allowlist::Pattern;
use crate::connectors::declared::Loading;
use crate::connectors::egress::Egress;
use crate::connectors::engine::{ChannelConnector, PluginDescription, PluginEngine, WebhookReply};
use crate::connectors::host_api::Grants;
use crate::store::Store;

/// Names our connectors read their signing secret from: a `--secret VALUE` without a name
/// is offered under each of them (what `plugin parse --secret` always did).
pub const SECRET_NAMES: &[&str] = &["app_secret", "consumer_secret", "secret"];

/// A host no request can reach (`.invalid` never resolves).
const NOWHERE: &str = "https://plugin-samples.invalid";

/// `k=v` (or `K: V`) items from the command line, trimmed.
pub fn pairs(items: &[String], sep: char, what: &str) -> Result<Vec<(String, String)>> {
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

/// One `--secret`: `name=value`, or a bare value offered under every [`SECRET_NAMES`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretArg {
    /// `name=value`.
    Named(String, String),
    /// A value alone.
    Bare(String),
}

impl SecretArg {
    /// Reads `name=value` when what comes before the first `=` is a key name and what
    /// follows is more than `=` signs; anything else is a bare value, so a base64 secret
    /// with its padding (`c2VjcmV0==`) stays whole.
    pub fn parse(text: &str) -> SecretArg {
        match text.split_once('=') {
            Some((name, value))
                if is_key_name(name.trim()) && !value.trim().chars().all(|c| c == '=') =>
            {
                SecretArg::Named(name.trim().to_owned(), value.trim().to_owned())
            }
            _ => SecretArg::Bare(text.trim().to_owned()),
        }
    }
}

/// A settings or secrets key: a letter or `_`, then letters, digits, `_`, `-` or `.`.
fn is_key_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// The channel's secrets: each bare value under every [`SECRET_NAMES`], then the named
/// ones, which win.
pub fn secrets_of(args: &[SecretArg]) -> BTreeMap<String, String> {
    let mut secrets = BTreeMap::new();
    for arg in args {
        if let SecretArg::Bare(value) = arg {
            for name in SECRET_NAMES {
                secrets.insert(name.to_string(), value.clone());
            }
        }
    }
    for arg in args {
        if let SecretArg::Named(name, value) = arg {
            secrets.insert(name.clone(), value.clone());
        }
    }
    secrets
}

/// A plugin's name and file, given as a name in `dir` (`whatsapp`: `dir/whatsapp.wasm`) or
/// as a path to a `.wasm` file.
pub fn plugin_file(name_or_path: &str, dir: &Path) -> (String, std::path::PathBuf) {
    let as_path = Path::new(name_or_path);
    let path = if name_or_path.ends_with(".wasm") || as_path.components().count() > 1 {
        as_path.to_path_buf()
    } else {
        dir.join(format!("{name_or_path}.wasm"))
    };
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| name_or_path.to_owned());
    (name, path)
}

/// A temporary store and compile cache, dropped with it.
struct Scratch {
    store: Store,
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Result<Scratch> {
        let dir = tempfile::tempdir()?;
        let store = Store::open(&dir.path().join("samples.db"))?;
        Ok(Scratch { dir, store })
    }

    /// The grants of a throwaway channel named `plugin-samples`.
    ///
    /// Its operator list is one host nothing can reach: no request leaves (a saved payload
    /// gives the same events on every machine), and, unlike an empty list, it does not make
    /// the host swap in the plugin's declared hosts after `describe`, which would throw the
    /// configured instance away and run `configure` (and print its warnings) a second time.
    fn grants(
        &self,
        plugin: &str,
        settings: BTreeMap<String, String>,
        secrets: BTreeMap<String, String>,
    ) -> Result<Grants> {
        Ok(Grants {
            channel: "plugin-samples".into(),
            plugin: plugin.to_owned(),
            settings: Arc::new(settings),
            secrets: Arc::new(secrets),
            egress: Arc::new(Egress::new(vec![Pattern::parse(NOWHERE)?], None)?),
            store: self.store.clone(),
            runtime: tokio::runtime::Handle::current(),
        })
    }

    fn engine(&self) -> Result<Arc<PluginEngine>> {
        PluginEngine::new(&self.dir.path().join("cache"), PluginLimits::default())
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        self.store.close();
    }
}

/// A connector configured once for a throwaway channel (see [`Scratch::grants`]).
pub struct Sandbox {
    connector: Arc<ChannelConnector>,
    _scratch: Scratch,
}

impl Sandbox {
    /// Loads the plugin at `path` as `plugin` and configures it with `settings` and
    /// `secrets`; the plugin's refusal of them is the error.
    pub async fn load(
        path: &Path,
        plugin: &str,
        settings: BTreeMap<String, String>,
        secrets: BTreeMap<String, String>,
    ) -> Result<Sandbox> {
        if !path.is_file() {
            anyhow::bail!(
                "no plugin at {} (build a connector crate with `switchboard plugin build \
                 CRATE --out DIR`, or ours with `cargo xtask plugins`)",
                path.display()
            );
        }
        let scratch = Scratch::new()?;
        let grants = scratch.grants(plugin, settings, secrets)?;
        let engine = scratch.engine()?;
        let path = path.to_owned();
        let connector = tokio::task::spawn_blocking(move || {
            ChannelConnector::new(engine, &path, grants, Loading::Tool)
        })
        .await??;
        Ok(Sandbox {
            connector: Arc::new(connector),
            _scratch: scratch,
        })
    }

    /// Hands one request to the connector's `handle-webhook`.
    pub async fn webhook(
        &self,
        method: &str,
        path: &str,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> Result<WebhookReply> {
        let connector = self.connector.clone();
        let (method, path) = (method.to_owned(), path.to_owned());
        let reply = tokio::task::spawn_blocking(move || {
            connector.handle_webhook(&method, &path, headers, body)
        })
        .await??;
        Ok(reply)
    }
}

/// What the plugin at `path` says it is, asked as the host asks it (which also checks the
/// host can compile it, link its imports and read its contract version).
pub async fn describe(path: &Path, plugin: &str) -> Result<PluginDescription> {
    let scratch = Scratch::new()?;
    let grants = scratch.grants(plugin, BTreeMap::new(), BTreeMap::new())?;
    let engine = scratch.engine()?;
    let path = path.to_owned();
    let description = tokio::task::spawn_blocking(move || engine.describe(&path, grants)).await??;
    drop(scratch);
    Ok(description)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_named_only_when_it_looks_like_name_equals_value() {
        let parse = SecretArg::parse;
        let named = |k: &str, v: &str| SecretArg::Named(k.into(), v.into());
        let bare = |v: &str| SecretArg::Bare(v.into());
        assert_eq!(
            parse("webhook_secret=s3cret"),
            named("webhook_secret", "s3cret")
        );
        assert_eq!(parse(" app_secret = a=b "), named("app_secret", "a=b"));
        assert_eq!(parse("x.key-1=v"), named("x.key-1", "v"));
        // Today's meaning: a bare value, including base64 with its padding.
        assert_eq!(parse("the-app-secret"), bare("the-app-secret"));
        assert_eq!(parse("c2VjcmV0=="), bare("c2VjcmV0=="));
        assert_eq!(parse("c2VjcmV0cw="), bare("c2VjcmV0cw="));
        assert_eq!(parse("=value"), bare("=value"));
        assert_eq!(parse("1abc=value"), bare("1abc=value"));
        assert_eq!(parse("a b=c"), bare("a b=c"));
    }

    #[test]
    fn bare_secrets_go_under_every_signing_name_and_named_ones_win() {
        let secrets = secrets_of(&[
            SecretArg::Named("app_secret".into(), "mine".into()),
            SecretArg::Bare("shared".into()),
            SecretArg::Named("access_token".into(), "t".into()),
        ]);
        assert_eq!(secrets["app_secret"], "mine");
        assert_eq!(secrets["consumer_secret"], "shared");
        assert_eq!(secrets["secret"], "shared");
        assert_eq!(secrets["access_token"], "t");
        assert_eq!(secrets.len(), 4);
        assert!(secrets_of(&[]).is_empty());
    }

    #[test]
    fn a_plugin_is_a_name_in_the_folder_or_a_path() {
        let dir = Path::new("target/plugins/dist");
        assert_eq!(
            plugin_file("whatsapp", dir),
            ("whatsapp".into(), dir.join("whatsapp.wasm"))
        );
        assert_eq!(
            plugin_file("out/acme.wasm", dir),
            ("acme".into(), "out/acme.wasm".into())
        );
        assert_eq!(
            plugin_file("acme.wasm", dir),
            ("acme".into(), "acme.wasm".into())
        );
        assert_eq!(
            plugin_file("/abs/acme", dir),
            ("acme".into(), "/abs/acme".into())
        );
    }

    #[test]
    fn pairs_need_their_separator() {
        let items = vec!["page_id = 1001".to_string(), "k=a=b".to_string()];
        assert_eq!(
            pairs(&items, '=', "setting").unwrap(),
            vec![
                ("page_id".to_string(), "1001".to_string()),
                ("k".to_string(), "a=b".to_string())
            ]
        );
        let e = pairs(&["nope".to_string()], '=', "setting").unwrap_err();
        assert!(e.to_string().contains("`nope`"), "{e}");
    }
}
