//! Configuration: one TOML file, environment overrides, validated before anything runs.
//!
//! Secrets may be written inline or as `env:VARIABLE`, which reads the variable at start.
//! Server settings can be overridden with `SWITCHBOARD_LISTEN`, `SWITCHBOARD_DATA_DIR`,
//! `SWITCHBOARD_PLUGINS_DIR`, `SWITCHBOARD_WORKFLOWS_DIR`, `SWITCHBOARD_PUBLIC_URL` (`[media]
//! public_url`),
//! `SWITCHBOARD_DB_SYNCHRONOUS`, `SWITCHBOARD_DB_MAX_PAGE_COUNT` and
//! `SWITCHBOARD_SECRET_KEY`.

mod media;
pub mod sealed;

pub use media::{MediaConfig, S3Config};

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::routing::UtilizationTable;

/// The whole configuration.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the host listens and keeps its files.
    pub server: Server,
    /// Channels: one platform identity each.
    #[serde(default, rename = "channels")]
    pub channels: Vec<Channel>,
    /// Workgroups to create or update at start.
    #[serde(default, rename = "workgroups")]
    pub workgroups: Vec<WorkgroupSeed>,
    /// Users to create at start (existing users keep their password).
    #[serde(default, rename = "users")]
    pub users: Vec<UserSeed>,
    /// Stations to create or update at start.
    #[serde(default, rename = "stations")]
    pub stations: Vec<StationSeed>,
    /// Which platform families are routed at all.
    #[serde(default)]
    pub features: crate::routing::Features,
    /// The organisation's time zone.
    #[serde(default)]
    pub organisation: crate::model::hours::OrganisationConfig,
    /// Opening hours workflows ask about (`is_open("name")`).
    #[serde(default)]
    pub schedules: Vec<crate::model::hours::ScheduleConfig>,
    /// Where the data is kept.
    #[serde(default)]
    pub store: StoreConfig,
    /// This host among the hosts sharing the store.
    #[serde(default)]
    pub cluster: ClusterConfig,
    /// How long customers' content and personal data are kept.
    #[serde(default)]
    pub retention: RetentionConfig,
    /// Where attachment files are kept and how large they may be.
    #[serde(default)]
    pub media: MediaConfig,
}

/// `[retention]`: how long customers' messages and personal data are kept after their
/// interaction ends; a channel's `retention_days` overrides it. Unset: kept until a
/// customer is erased. Reports keep their anonymised figures either way.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionConfig {
    /// Days, 1 to 36500.
    #[serde(default)]
    pub days: Option<u32>,
}

/// `[cluster]`: this host among the hosts that share one PostgreSQL store (on SQLite, the
/// one host leads and these only name it).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// This host's id (default: made once and kept in `host-id` in the data folder).
    #[serde(default)]
    pub host_id: Option<String>,
    /// Where the other hosts and a load balancer reach this host, `HOST:PORT` (default:
    /// the address it listens on).
    #[serde(default)]
    pub address: Option<String>,
    /// How long the leader's lease lasts unless renewed, in milliseconds (default 3000): a
    /// leader that dies is replaced within this and a quarter of a heartbeat.
    #[serde(default = "default_lease_ms")]
    pub lease_ms: u64,
    /// How often each host records itself and the leader renews its lease, in
    /// milliseconds (default 1000).
    #[serde(default = "default_heartbeat_ms")]
    pub heartbeat_ms: u64,
}

impl Default for ClusterConfig {
    fn default() -> ClusterConfig {
        ClusterConfig {
            host_id: None,
            address: None,
            lease_ms: default_lease_ms(),
            heartbeat_ms: default_heartbeat_ms(),
        }
    }
}

fn default_lease_ms() -> u64 {
    3_000
}

fn default_heartbeat_ms() -> u64 {
    1_000
}

impl ClusterConfig {
    fn validate(&self) -> Result<()> {
        if let Some(id) = &self.host_id
            && (id.is_empty()
                || id.len() > 64
                || !id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
        {
            bail!("[cluster] host_id `{id}`: use 1 to 64 letters, digits, `-`, `_` or `.`");
        }
        if self.heartbeat_ms < 50 {
            bail!("[cluster] heartbeat_ms must be at least 50");
        }
        if self.lease_ms < 2 * self.heartbeat_ms {
            bail!(
                "[cluster] lease_ms ({}) must be at least twice heartbeat_ms ({}): a leader renews once a heartbeat, and one missed renewal must not cost it the lease",
                self.lease_ms,
                self.heartbeat_ms
            );
        }
        Ok(())
    }
}

/// How the host writes its log: for a person, or one JSON object a line for a collector.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// `[store]`: which database the host keeps its data in.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// `sqlite://PATH` (the default: `switchboard.db` in `[server] data_dir`) or
    /// `postgres://USER:PASSWORD@HOST:PORT/DATABASE`, which every host of a cluster
    /// shares. `env:NAME` reads it from the environment; `SWITCHBOARD_STORE_URL`
    /// overrides it.
    pub url: Option<String>,
}

/// A station created at start.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StationSeed {
    /// Unique name.
    pub name: String,
    /// Access rights: `acd_social_media`, `acd_whatsapp`.
    #[serde(default)]
    pub rights: Vec<String>,
}

/// Server settings.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Server {
    /// API, webhooks and web desktop address.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Folder for the database and caches.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// Folder with connector plugins (`<plugin>.wasm`).
    #[serde(default = "default_plugins_dir")]
    pub plugins_dir: PathBuf,
    /// Folder with the Rhai workflows.
    #[serde(default = "default_workflows_dir")]
    pub workflows_dir: PathBuf,
    /// Limits for every plugin call.
    #[serde(default)]
    pub plugin_limits: crate::connectors::PluginLimits,
    /// How the database commits and how large it may grow.
    #[serde(default)]
    pub database: crate::store::StoreOptions,
    /// How long a signed-in session lasts.
    #[serde(default)]
    pub sessions: Sessions,
    /// Reverse proxies whose `X-Forwarded-For` is believed (addresses or CIDR
    /// ranges); from any other peer the header is ignored and the peer's address is the
    /// client's (login throttling and the audit log use it).
    #[serde(default)]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The operator's key that encrypts the secrets of channels administrators create
    /// (32 random bytes in base64, `switchboard secrets new-key` makes one; `env:NAME`
    /// reads it from the environment; `SWITCHBOARD_SECRET_KEY` overrides it). Without
    /// it those secrets are stored as given, and the host says so at start.
    #[serde(default)]
    pub secret_key: Option<String>,
    /// A corporate proxy every outbound request goes through (`http://proxy.corp:3128`,
    /// with `user:password@` if it asks; `env:NAME` reads it from the environment): the
    /// plugins' requests, event streams, attachment downloads and uploads. Each target is
    /// still checked against its channel's allowlist by name; the proxy itself may be on
    /// the private network, and refusing private targets becomes its job.
    #[serde(default)]
    pub proxy: Option<String>,
    /// `text` (default) or `json`: how `serve` writes its log (`--log-format` wins).
    #[serde(default)]
    pub log_format: LogFormat,
    /// Earlier keys, still read: to rotate, make the new key `secret_key`, move the old
    /// one here and restart (every stored secret is encrypted again with the new key at
    /// start), then remove it.
    #[serde(default)]
    pub previous_secret_keys: Vec<String>,
    /// `[server.tls]`: serve HTTPS on `listen` with this certificate, for an install with
    /// no reverse proxy in front (the platforms deliver webhooks over HTTPS only).
    #[serde(default)]
    pub tls: Option<Tls>,
}

/// `[server.tls]`: the certificate chain and private key the host serves HTTPS with.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tls {
    /// PEM file: the server's certificate first, then its intermediates.
    pub cert: PathBuf,
    /// PEM file: the private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

impl Tls {
    /// Reads and checks both files: what `check` and the start refuse, in plain words.
    pub fn server_config(&self) -> Result<rustls::ServerConfig> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&self.cert)
            .and_then(|certs| certs.collect::<Result<_, _>>())
            .map_err(|e| {
                anyhow::anyhow!(
                    "[server.tls] cert {}: not a readable PEM certificate file ({e})",
                    self.cert.display()
                )
            })?;
        if certs.is_empty() {
            bail!(
                "[server.tls] cert {}: the file holds no certificate",
                self.cert.display()
            );
        }
        let key = PrivateKeyDer::from_pem_file(&self.key).map_err(|e| {
            anyhow::anyhow!(
                "[server.tls] key {}: not a readable PEM private key ({e})",
                self.key.display()
            )
        })?;
        let mut config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| {
                anyhow::anyhow!("[server.tls] the key does not go with the certificate: {e}")
            })?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(config)
    }
}

/// `[server.sessions]`: when a signed-in session ends by itself. The defaults fit a
/// contact-center shift: a whole shift signed in, ended after an hour nobody used it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sessions {
    /// A session unused this long ends (seconds; an open event stream does not count
    /// as use). Default 3600.
    #[serde(default = "default_idle_timeout_s")]
    pub idle_timeout_s: u64,
    /// A session ends this long after sign-in whatever happens (seconds). Default
    /// 43200 (12 hours).
    #[serde(default = "default_max_age_s")]
    pub max_age_s: u64,
}

impl Default for Sessions {
    fn default() -> Self {
        Sessions {
            idle_timeout_s: default_idle_timeout_s(),
            max_age_s: default_max_age_s(),
        }
    }
}

fn default_idle_timeout_s() -> u64 {
    3600
}

fn default_max_age_s() -> u64 {
    43_200
}

/// How a channel receives platform events.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IngestMode {
    /// The platform calls `/webhooks/<channel>`.
    Webhook,
    /// The host polls every `poll_interval_ms`.
    Poll,
    /// Both (the store dedupes).
    Both,
}

/// One channel. Serialized as stored for channels administrators create through the API.
#[derive(Clone, Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Channel {
    /// Unique name; the webhook URL is `/webhooks/<name>`.
    pub name: String,
    /// Plugin file name without `.wasm`.
    pub plugin: String,
    /// Workgroup for public conversations.
    pub workgroup: String,
    /// Workgroup for direct messages (defaults to `workgroup`).
    #[serde(default)]
    pub dm_workgroup: Option<String>,
    /// Workflow script handling this channel.
    #[serde(default = "default_workflow")]
    pub workflow: String,
    /// Webhook, polling, or both.
    #[serde(default = "default_ingest")]
    pub ingest: IngestMode,
    /// Poll interval (default 5000 ms).
    #[serde(default = "default_poll_interval")]
    pub poll_interval_ms: u64,
    /// Most items fetched per poll (default 100).
    #[serde(default = "default_post_limit")]
    pub post_limit: u32,
    /// A production channel (default) or a lab/test one; shown to administrators and in
    /// reports, it changes nothing else.
    #[serde(default = "default_true")]
    pub production: bool,
    /// Keep no personal data of authors beyond their platform id (which replies need):
    /// names, handles, follower counts and platform metadata are not stored.
    #[serde(default)]
    pub do_not_store_personal_data: bool,
    /// The same text to the same customer is sent once within this many seconds
    /// (0-3600, default 90; 0 turns the RPC cache off).
    #[serde(default = "default_rpc_cache")]
    pub rpc_cache_timeout_s: u32,
    /// How long `group` collects a sender's messages by default, 10-3600 s (default 60).
    #[serde(default = "default_grouping_timeout")]
    pub grouping_timeout_s: u32,
    /// Days this channel's customer content is kept after its interaction ends (1-36500),
    /// instead of `[retention] days`.
    #[serde(default)]
    pub retention_days: Option<u32>,
    /// Hosts the plugin may call, as `scheme://host[:port]`, `*` as a wildcard label.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// Plain settings the plugin reads.
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
    /// Secrets the plugin reads (`env:NAME` reads an environment variable).
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
}

impl Channel {
    /// The direct-message workgroup.
    pub fn dm_workgroup(&self) -> &str {
        self.dm_workgroup.as_deref().unwrap_or(&self.workgroup)
    }

    /// Checks what one channel's settings can say on their own (name, ranges, allowed
    /// hosts); the config file and the administrators' API both apply it.
    pub fn validate(&self) -> Result<()> {
        if self.name.is_empty()
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            bail!(
                "channel name `{}` must be non-empty letters, digits, - or _",
                self.name
            );
        }
        let name = &self.name;
        if self.poll_interval_ms < 100 {
            bail!("channel `{name}`: poll_interval_ms must be at least 100");
        }
        if !(1..=1000).contains(&self.post_limit) {
            bail!("channel `{name}`: post_limit must be within 1-1000");
        }
        if self.rpc_cache_timeout_s > 3600 {
            bail!("channel `{name}`: rpc_cache_timeout_s must be within 0-3600");
        }
        if self
            .retention_days
            .is_some_and(|d| !(1..=36_500).contains(&d))
        {
            bail!("channel `{name}`: retention_days must be within 1-36500 days");
        }
        if !(10..=3600).contains(&self.grouping_timeout_s) {
            bail!("channel `{name}`: grouping_timeout_s must be within 10-3600");
        }
        for host in &self.allowed_hosts {
            crate::connectors::allowlist::Pattern::parse(host)
                .with_context(|| format!("channel `{name}`: allowed_hosts"))?;
        }
        Ok(())
    }
}

/// A workgroup created at start.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkgroupSeed {
    /// Unique name.
    pub name: String,
    /// Member usernames.
    #[serde(default)]
    pub members: Vec<String>,
    /// Offer timeout (default 30 s).
    #[serde(default = "default_alert_timeout")]
    pub alert_timeout_ms: u64,
    /// Utilization defaults per interaction type.
    #[serde(default)]
    pub utilization: UtilizationTable,
    /// Service-level target in seconds (default 60).
    #[serde(default = "default_sl_target")]
    pub sl_target_s: u64,
    /// Wrap-up codes agents choose from.
    #[serde(default)]
    pub wrapup_codes: Vec<String>,
    /// Whether a wrap-up code is required (keeps the agent out of routing until set).
    #[serde(default)]
    pub wrapup_required: bool,
    /// How long a required wrap-up may take (default 120 s).
    #[serde(default = "default_wrapup_timeout")]
    pub wrapup_timeout_ms: u64,
}

/// A user created at start.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSeed {
    /// Login name.
    pub username: String,
    /// Display name (defaults to the username).
    #[serde(default)]
    pub display_name: Option<String>,
    /// Initial password (`env:NAME` allowed); existing users keep theirs.
    pub password: String,
    /// Rights: `agent`, `supervisor`, `social_media_admin`, `acd_social_media`, `acd_whatsapp`.
    #[serde(default)]
    pub rights: Vec<String>,
    /// Skills with proficiency.
    #[serde(default)]
    pub skills: std::collections::HashMap<String, u32>,
}

fn default_listen() -> SocketAddr {
    "127.0.0.1:8080".parse().unwrap()
}
fn default_data_dir() -> PathBuf {
    PathBuf::from("data")
}
fn default_plugins_dir() -> PathBuf {
    PathBuf::from("target/plugins/dist")
}
fn default_workflows_dir() -> PathBuf {
    PathBuf::from("workflows")
}
fn default_true() -> bool {
    true
}

fn default_rpc_cache() -> u32 {
    90
}

fn default_grouping_timeout() -> u32 {
    60
}

fn default_workflow() -> String {
    "default.rhai".into()
}
fn default_ingest() -> IngestMode {
    IngestMode::Webhook
}
fn default_poll_interval() -> u64 {
    5000
}
fn default_post_limit() -> u32 {
    100
}
fn default_alert_timeout() -> u64 {
    30_000
}
fn default_sl_target() -> u64 {
    60
}
fn default_wrapup_timeout() -> u64 {
    120_000
}

impl Config {
    /// Reads, overrides from the environment, resolves `env:` secrets and validates.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config {}", path.display()))?;
        Config::parse(&text).with_context(|| format!("in config {}", path.display()))
    }

    /// Like [`Config::load`], from text.
    pub fn parse(text: &str) -> Result<Config> {
        let mut config: Config = toml::from_str(text)?;
        config.apply_env()?;
        config.validate()?;
        Ok(config)
    }

    fn apply_env(&mut self) -> Result<()> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        if let Some(v) = var("SWITCHBOARD_LISTEN") {
            self.server.listen = v
                .parse()
                .with_context(|| format!("SWITCHBOARD_LISTEN={v}"))?;
        }
        if let Some(v) = var("SWITCHBOARD_DATA_DIR") {
            self.server.data_dir = v.into();
        }
        if let Some(v) = var("SWITCHBOARD_PUBLIC_URL") {
            self.media.public_url = Some(v);
        }
        if let Some(v) = var("SWITCHBOARD_PLUGINS_DIR") {
            self.server.plugins_dir = v.into();
        }
        if let Some(v) = var("SWITCHBOARD_WORKFLOWS_DIR") {
            self.server.workflows_dir = v.into();
        }
        if let Some(v) = var("SWITCHBOARD_DB_SYNCHRONOUS") {
            self.server.database.synchronous = v
                .parse()
                .with_context(|| format!("SWITCHBOARD_DB_SYNCHRONOUS={v}"))?;
        }
        if let Some(v) = var("SWITCHBOARD_DB_MAX_PAGE_COUNT") {
            self.server.database.max_page_count = v
                .parse()
                .with_context(|| format!("SWITCHBOARD_DB_MAX_PAGE_COUNT={v}: a number of pages"))?;
        }
        if let Some(v) = var("SWITCHBOARD_STORE_URL") {
            self.store.url = Some(v);
        }
        if let Some(url) = self.store.url.as_mut() {
            *url = resolve_env(url).context("[store] url")?;
        }
        if let Some(v) = var("SWITCHBOARD_SECRET_KEY") {
            self.server.secret_key = Some(v);
        }
        if let Some(key) = self.server.secret_key.as_mut() {
            *key = resolve_env(key).context("[server] secret_key")?;
        }
        if let Some(proxy) = self.server.proxy.as_mut() {
            *proxy = resolve_env(proxy).context("[server] proxy")?;
        }
        for key in self.server.previous_secret_keys.iter_mut() {
            *key = resolve_env(key).context("[server] previous_secret_keys")?;
        }
        for channel in &mut self.channels {
            for (key, value) in channel.secrets.iter_mut() {
                *value = resolve_env(value)
                    .with_context(|| format!("channel `{}`: secret `{key}`", channel.name))?;
            }
        }
        for user in &mut self.users {
            user.password =
                resolve_env(&user.password).with_context(|| format!("user `{}`", user.username))?;
        }
        self.media.resolve_env()?;
        Ok(())
    }

    /// The sealer of channel secrets at rest, from `[server] secret_key` (checked by
    /// [`Config::validate`]).
    pub fn sealer(&self) -> Result<sealed::Sealer> {
        sealed::Sealer::new(
            self.server.secret_key.as_deref(),
            &self.server.previous_secret_keys,
        )
    }

    /// The organisation's time zone and schedules, checked.
    pub fn organisation(&self) -> Result<crate::model::hours::Organisation> {
        crate::model::hours::Organisation::new(&self.organisation, &self.schedules)
            .map_err(|e| anyhow::anyhow!(e))
    }

    /// Checks everything that does not need the plugins or scripts loaded.
    pub fn validate(&self) -> Result<()> {
        self.organisation()?;
        self.store_url()?;
        self.cluster.validate()?;
        if self
            .retention
            .days
            .is_some_and(|d| !(1..=36_500).contains(&d))
        {
            bail!("[retention] days must be within 1-36500");
        }
        if let Some(tls) = &self.server.tls {
            crate::connectors::install_crypto();
            tls.server_config()?;
        }
        let sessions = &self.server.sessions;
        if !(60..=86_400).contains(&sessions.idle_timeout_s) {
            bail!("[server.sessions] idle_timeout_s must be within 60-86400 seconds");
        }
        if !(300..=7 * 86_400).contains(&sessions.max_age_s) {
            bail!("[server.sessions] max_age_s must be within 300-604800 seconds");
        }
        for key in self
            .server
            .secret_key
            .iter()
            .chain(&self.server.previous_secret_keys)
        {
            sealed::Key::parse(key)?;
        }
        if let Some(proxy) = &self.server.proxy {
            crate::connectors::egress::ProxySetting::parse(proxy)?;
        }
        self.media.validate()?;
        if !(1..=2048).contains(&self.media.max_mib) {
            bail!(
                "[media] max_mib must be between 1 and 2048 (MiB); it is {}",
                self.media.max_mib
            );
        }
        let mut names = std::collections::HashSet::new();
        for ch in &self.channels {
            ch.validate()?;
            if !names.insert(&ch.name) {
                bail!("channel `{}` is defined twice", ch.name);
            }
        }
        let mut groups = std::collections::HashSet::new();
        for g in &self.workgroups {
            if !groups.insert(&g.name) {
                bail!("workgroup `{}` is defined twice", g.name);
            }
            g.utilization
                .validate()
                .map_err(|e| anyhow::anyhow!("workgroup `{}`: {e}", g.name))?;
            for m in &g.members {
                if !self.users.iter().any(|u| &u.username == m) {
                    tracing::debug!(workgroup = %g.name, member = %m, "member not seeded here; must exist in the database");
                }
            }
        }
        Ok(())
    }

    /// Path of the SQLite database file (the default store, or the one `[store] url`
    /// names).
    /// The proxy every outbound request goes through (`[server] proxy`), if any.
    pub fn proxy(&self) -> Result<Option<crate::connectors::egress::ProxySetting>> {
        self.server
            .proxy
            .as_deref()
            .map(crate::connectors::egress::ProxySetting::parse)
            .transpose()
    }

    /// The folder attachment files are kept in.
    pub fn media_dir(&self) -> PathBuf {
        self.media
            .dir
            .clone()
            .unwrap_or_else(|| self.server.data_dir.join("media"))
    }

    pub fn database_path(&self) -> PathBuf {
        match self.store_url() {
            Ok(crate::store::StoreUrl::Sqlite(path)) => path,
            _ => self.server.data_dir.join("switchboard.db"),
        }
    }

    /// Where the data is kept: `[store] url`, or SQLite in the data folder.
    pub fn store_url(&self) -> Result<crate::store::StoreUrl> {
        match &self.store.url {
            Some(url) => crate::store::StoreUrl::parse(url).context("[store] url"),
            None => Ok(crate::store::StoreUrl::Sqlite(
                self.server.data_dir.join("switchboard.db"),
            )),
        }
    }
}

fn resolve_env(value: &str) -> Result<String> {
    match value.strip_prefix("env:") {
        Some(name) => {
            std::env::var(name).with_context(|| format!("environment variable {name} is not set"))
        }
        None => Ok(value.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
        [server]
        listen = "127.0.0.1:0"
        [[channels]]
        name = "facebook"
        plugin = "facebook"
        workgroup = "Social"
        allowed_hosts = ["http://127.0.0.1:9090"]
        [channels.secrets]
        app_secret = "s"
    "#;

    #[test]
    fn defaults_fill_the_gaps() {
        let c = Config::parse(MINIMAL).unwrap();
        let ch = &c.channels[0];
        assert_eq!(ch.poll_interval_ms, 5000);
        assert_eq!(ch.post_limit, 100);
        assert_eq!(ch.workflow, "default.rhai");
        assert_eq!(ch.dm_workgroup(), "Social");
    }

    #[test]
    fn the_documented_example_parses() {
        for var in [
            "AGENT1_PASSWORD",
            "FB_APP_SECRET",
            "FB_VERIFY_TOKEN",
            "FB_PAGE_TOKEN",
        ] {
            // SAFETY: these variables are read only by this test.
            unsafe { std::env::set_var(var, "x") };
        }
        let text = include_str!("../../../switchboard.example.toml");
        let c = Config::parse(text).unwrap();
        assert_eq!(c.channels[0].secrets["app_secret"], "x");
        assert_eq!(c.organisation().unwrap().schedule_names(), ["support"]);
        assert_eq!(
            c.server.database.synchronous,
            crate::store::Synchronous::Full
        );
        assert_eq!(
            c.workgroups[0]
                .utilization
                .get(crate::model::interaction::MediaType::SocialConversation)
                .max,
            4
        );
    }

    #[test]
    fn mistakes_are_named() {
        let err = Config::parse(&MINIMAL.replace("plugin =", "plugn =")).unwrap_err();
        assert!(format!("{err:#}").contains("plugn"), "{err:#}");
        let twice =
            format!("{MINIMAL}\n[[channels]]\nname=\"facebook\"\nplugin=\"x\"\nworkgroup=\"S\"\n");
        assert!(format!("{:#}", Config::parse(&twice).unwrap_err()).contains("twice"));
        let bad_host = MINIMAL.replace("http://127.0.0.1:9090", "http://x/path");
        assert!(format!("{:#}", Config::parse(&bad_host).unwrap_err()).contains("allowed_hosts"));
        let missing = MINIMAL.replace(
            "app_secret = \"s\"",
            "app_secret = \"env:SB_TEST_UNSET_VAR\"",
        );
        assert!(
            format!("{:#}", Config::parse(&missing).unwrap_err()).contains("SB_TEST_UNSET_VAR")
        );
    }
}
