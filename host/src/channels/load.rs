//! Loading a channel: its workflow checked, its plugin started with its grants, and a
//! refusal explained in the administrator's terms.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail};

use super::{ChannelRuntime, ChannelSource};
use crate::config;
use crate::config::sealed::Sealer;
use crate::connectors::allowlist::Pattern;
use crate::connectors::catalog::PluginCatalog;
use crate::connectors::declared::{Loading, Use};
use crate::connectors::egress::Egress;
use crate::connectors::{ChannelConnector, engine::ChannelGrants};
use crate::store::Store;
use crate::workflow::Version;

/// Checks that the channel's workflow script exists and handles `on_inbound`.
pub fn check_workflow(ch: &config::Channel, version: &Version, dir: &Path) -> Result<()> {
    version
        .check_channel(&ch.name, &ch.workflow)
        .map_err(|e| anyhow::anyhow!("{e} ({})", dir.display()))
}

/// Checks that the channel's plugin file exists.
pub fn check_plugin_file(ch: &config::Channel, path: &Path) -> Result<()> {
    if !path.exists() {
        bail!(
            "channel `{}`: plugin file {} not found (build plugins with `cargo xtask plugins`)",
            ch.name,
            path.display()
        );
    }
    Ok(())
}

/// The plugin capabilities a channel of `ingest` mode uses.
pub fn uses(ingest: &config::IngestMode) -> &'static [Use] {
    match ingest {
        config::IngestMode::Webhook => &["webhook"],
        config::IngestMode::Poll => &["poll"],
        config::IngestMode::Both => &["poll", "webhook"],
    }
}

/// What a channel's plugin instances may use: its settings, secrets and hosts.
pub fn grants_for(
    ch: &config::Channel,
    store: &Store,
    runtime: tokio::runtime::Handle,
    proxy: Option<&crate::connectors::egress::ProxySetting>,
) -> Result<ChannelGrants> {
    let allowed = ch
        .allowed_hosts
        .iter()
        .map(|h| Pattern::parse(h))
        .collect::<Result<Vec<_>>>()
        .with_context(|| format!("channel `{}`: allowed_hosts", ch.name))?;
    Ok(ChannelGrants {
        channel: ch.name.clone(),
        plugin: ch.plugin.clone(),
        settings: Arc::new(ch.settings.clone()),
        secrets: Arc::new(ch.secrets.clone()),
        egress: Arc::new(Egress::new(allowed, proxy.cloned())?),
        store: store.clone(),
        runtime,
    })
}

/// Loads the channel's plugin and configures it with the channel's settings (off the
/// async threads: compiling and instantiating is CPU work). A plugin that refuses the
/// settings fails here with its own message; nothing runs yet.
pub async fn load(
    plugins: &PluginCatalog,
    store: &Store,
    ch: config::Channel,
    source: ChannelSource,
) -> Result<ChannelRuntime> {
    let path = plugins.path(&ch.plugin);
    check_plugin_file(&ch, &path)?;
    let grants = grants_for(
        &ch,
        store,
        tokio::runtime::Handle::current(),
        plugins.proxy(),
    )?;
    let engine = plugins.engine().clone();
    let config_ingest = ch.ingest;
    let connector = tokio::task::spawn_blocking(move || {
        ChannelConnector::new(
            engine,
            &path,
            grants,
            Loading::Channel(uses(&config_ingest)),
        )
    })
    .await?
    .with_context(|| format!("channel `{}`: loading plugin `{}`", ch.name, ch.plugin))?;
    tracing::info!(channel = %ch.name, plugin = %ch.plugin, platform = %connector.platform(),
        version = %connector.description().version, "channel ready");
    Ok(ChannelRuntime::new(ch, connector, source))
}

/// Why a channel's plugin could not be loaded, in the administrator's terms. The error
/// chain ("describe: instantiating: configure: …") is for the log, never for the person.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum LoadFailure {
    /// The connector refused the channel's settings; `message` is its own explanation
    /// ("setting `handles` is required: …"), `field` the setting or secret it names.
    Settings {
        message: String,
        field: Option<SettingName>,
    },
    /// The plugin itself failed (not a component, trapped, timed out): nothing the channel's
    /// settings can fix.
    Plugin,
}

/// A setting or secret a connector's message names.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct SettingName {
    /// `setting` or `secret`.
    pub kind: &'static str,
    /// Its key, as in the channel's `settings` or `secrets`.
    pub key: String,
}

impl LoadFailure {
    /// What went wrong in `e`, an error of [`load`] or [`ChannelConnector::new`].
    pub(crate) fn of(e: &anyhow::Error) -> LoadFailure {
        match e
            .chain()
            .find_map(|c| c.downcast_ref::<crate::connectors::engine::SettingsRefused>())
        {
            Some(refused) => LoadFailure::Settings {
                message: refused.0.trim().trim_end_matches('.').to_owned(),
                field: named_setting(&refused.0),
            },
            None => LoadFailure::Plugin,
        }
    }

    /// One line for the person who wrote the channel; `how_to_fix` ends "Correct it …"
    /// ("and save the channel again", "in the config file").
    pub(crate) fn message(&self, plugin: &str, how_to_fix: &str) -> String {
        match self {
            LoadFailure::Settings { message, .. } => {
                let mut chars = message.chars();
                let first = chars.next().map(|c| c.to_uppercase().to_string());
                format!(
                    "{}{}. Correct it {how_to_fix}.",
                    first.unwrap_or_default(),
                    chars.as_str()
                )
            }
            LoadFailure::Plugin => format!(
                "The `{plugin}` plugin could not be started, so the channel cannot use it. \
                 Choose another plugin or ask whoever installed it to check it; the server \
                 log has the details."
            ),
        }
    }
}

/// The first setting or secret a connector's message names: connectors write them as
/// "setting `key` …" or "secret `key` …" (the SDK's `config::require` and friends do).
pub(crate) fn named_setting(message: &str) -> Option<SettingName> {
    let found = ["setting `", "secret `"]
        .into_iter()
        .filter_map(|p| message.find(p).map(|at| (at, p)))
        .min()?;
    let (at, prefix) = found;
    let rest = &message[at + prefix.len()..];
    let key = &rest[..rest.find('`')?];
    let plausible = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    plausible.then(|| SettingName {
        kind: if prefix.starts_with("setting") {
            "setting"
        } else {
            "secret"
        },
        key: key.to_owned(),
    })
}

/// Loads the channels administrators created, skipping (with a warning) any whose name
/// a config-file channel holds and (with an error) any that no longer loads, so one bad
/// row never keeps the host from starting.
/// Their secrets are kept sealed with the operator's key (`config::sealed`): any stored
/// plain, or sealed with an earlier key, is sealed again with the current one first.
pub async fn load_stored(
    plugins: &PluginCatalog,
    store: &Store,
    config_names: &[String],
    sealer: &Sealer,
) -> Result<Vec<ChannelRuntime>> {
    reseal(store, sealer).await?;
    let stored = store
        .read(crate::store::channels::list::<config::Channel>)
        .await?;
    if !sealer.enabled()
        && stored
            .iter()
            .any(|r| r.config.as_ref().is_ok_and(|c| !c.secrets.is_empty()))
    {
        tracing::warn!(
            "channel secrets are stored unencrypted: set [server] secret_key (or SWITCHBOARD_SECRET_KEY) so backups hold no plain credential"
        );
    }
    let mut loaded = Vec::new();
    for row in stored {
        if config_names.contains(&row.name) {
            tracing::warn!(channel = %row.name,
                "a stored channel has the name of a config-file channel; the config file wins and the stored one is skipped");
            continue;
        }
        let name = row.name.clone();
        match load_row(plugins, store, row, sealer).await {
            Ok(runtime) => loaded.push(runtime),
            Err(e) => tracing::error!(channel = %name, error = %format!("{e:#}"),
                "stored channel not started; fix or delete it through the API"),
        }
    }
    Ok(loaded)
}

/// Loads stored channel `name` as it is in the store now (another host changed it);
/// `None` when it is no longer stored.
pub async fn load_one_stored(
    plugins: &PluginCatalog,
    store: &Store,
    name: &str,
    sealer: &Sealer,
) -> Result<Option<ChannelRuntime>> {
    let stored = store
        .read(crate::store::channels::list::<config::Channel>)
        .await?;
    let Some(row) = stored.into_iter().find(|r| r.name == name) else {
        return Ok(None);
    };
    load_row(plugins, store, row, sealer).await.map(Some)
}

async fn load_row(
    plugins: &PluginCatalog,
    store: &Store,
    row: crate::store::channels::StoredChannel<config::Channel>,
    sealer: &Sealer,
) -> Result<ChannelRuntime> {
    let mut ch = row.config?;
    ch.secrets = sealer.open(&ch.secrets)?;
    ch.validate()?;
    load(plugins, store, ch, ChannelSource::Admin).await
}

/// Seals again every stored channel whose secrets are plain or sealed with an earlier
/// key, each in its own write; returns how many. A row that cannot be opened is left
/// as it is (its channel does not start, and says why).
async fn reseal(store: &Store, sealer: &Sealer) -> Result<usize> {
    if !sealer.enabled() {
        return Ok(0);
    }
    let stored = store
        .read(crate::store::channels::list::<config::Channel>)
        .await?;
    let mut done = 0;
    for row in stored {
        let Ok(mut ch) = row.config else { continue };
        if !sealer.needs_resealing(&ch.secrets) {
            continue;
        }
        match sealer.seal(&ch.secrets) {
            Ok(secrets) => ch.secrets = secrets,
            Err(e) => {
                tracing::error!(channel = %row.name, error = %format!("{e:#}"), "stored channel secrets could not be encrypted again");
                continue;
            }
        }
        let now = crate::clock::now_ms();
        store
            .write(move |c| crate::store::channels::update(c, &ch.name, &ch, now))
            .await?;
        done += 1;
    }
    if done > 0 {
        tracing::info!(
            channels = done,
            "stored channel secrets encrypted with the current key"
        );
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_setting_is_explained_without_the_chain_and_named() {
        let e = anyhow::Error::new(crate::connectors::engine::SettingsRefused(
            "setting `handles` is required: a comma list of X handles".into(),
        ))
        .context("instantiating")
        .context("channel `x-live`: loading plugin `x`");
        let failure = LoadFailure::of(&e);
        assert_eq!(
            failure,
            LoadFailure::Settings {
                message: "setting `handles` is required: a comma list of X handles".into(),
                field: Some(SettingName {
                    kind: "setting",
                    key: "handles".into()
                }),
            }
        );
        assert_eq!(
            failure.message("x", "and save the channel again"),
            "Setting `handles` is required: a comma list of X handles. Correct it and save \
             the channel again."
        );

        let secret = named_setting("secret `secret` is not valid base64").unwrap();
        assert_eq!((secret.kind, secret.key.as_str()), ("secret", "secret"));
        assert_eq!(named_setting("the page is not reachable"), None);
        assert_eq!(named_setting("setting `a b` is odd"), None);

        let trapped = anyhow::anyhow!("wasm trap: unreachable").context("loading plugin");
        assert_eq!(LoadFailure::of(&trapped), LoadFailure::Plugin);
        let text = LoadFailure::Plugin.message("faulty", "and save the channel again");
        assert!(
            text.contains("`faulty` plugin") && !text.contains("trap"),
            "{text}"
        );
    }
}
