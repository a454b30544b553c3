//! The wasmtime engine, the compiled-component cache and per-channel instances.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, Store, StoreLimitsBuilder};

use super::PluginLimits;
use super::bindings::{self, Connector, ContractVersion, types as wit};
use super::convert;
use super::host_api::{Grants, HostState, WriteLog};
use crate::model::event::Event;
use crate::model::interaction::Visibility;
use crate::model::reply::ReplyWindow;
use crate::model::text_length::{Counting, TextLimit};

/// Most elements of one wasm table (function references): a plugin's own code needs a
/// few thousand at most; growing a table past this traps like running out of memory.
const MAX_TABLE_ELEMENTS: usize = 100_000;

/// How often the epoch advances; call deadlines are counted in these ticks.
const TICK: Duration = Duration::from_millis(10);

/// The one wasmtime engine of the host, with its linker and compiled-code cache.
pub struct PluginEngine {
    engine: Engine,
    linker: Linker<HostState>,
    cache_dir: PathBuf,
    limits: PluginLimits,
    stop: Arc<AtomicBool>,
}

impl Drop for PluginEngine {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl PluginEngine {
    /// Creates the engine; compiled components are cached under `cache_dir`.
    pub fn new(cache_dir: &Path, limits: PluginLimits) -> Result<Arc<PluginEngine>> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        let engine = Engine::new(&config)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        bindings::add_to_linker(&mut linker)?;
        let stop = Arc::new(AtomicBool::new(false));
        let ticker_engine = engine.weak();
        let ticker_stop = stop.clone();
        std::thread::Builder::new()
            .name("wasm-epoch".into())
            .spawn(move || {
                while !ticker_stop.load(Ordering::Relaxed) {
                    std::thread::sleep(TICK);
                    match ticker_engine.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => return,
                    }
                }
            })?;
        std::fs::create_dir_all(cache_dir)
            .with_context(|| format!("creating plugin cache {}", cache_dir.display()))?;
        Ok(Arc::new(PluginEngine {
            engine,
            linker,
            cache_dir: cache_dir.to_owned(),
            limits,
            stop,
        }))
    }

    /// Compiles a plugin file, or loads its compiled form from the cache.
    /// The contract version it was built for is read from its stamp first: a plugin
    /// built for a version this host does not support is refused, naming both.
    pub fn load(&self, path: &Path) -> Result<Plugin> {
        let bytes =
            std::fs::read(path).with_context(|| format!("reading plugin {}", path.display()))?;
        let version =
            bindings::version_of(&bytes).with_context(|| format!("plugin {}", path.display()))?;
        let hash = hex::encode(Sha256::digest(&bytes));
        let cached = self.cache_dir.join(format!("{hash}.cwasm"));
        if cached.exists() {
            // SAFETY: the cache folder holds only files this engine serialized;
            // wasmtime checks engine compatibility and refuses anything else.
            match unsafe { Component::deserialize_file(&self.engine, &cached) } {
                Ok(component) => return Ok(Plugin { component, version }),
                Err(e) => tracing::warn!(error = %e, "ignoring stale compiled plugin cache"),
            }
        }
        let component = Component::new(&self.engine, &bytes)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("compiling plugin {}", path.display()))?;
        if let Ok(serialized) = component.serialize() {
            let tmp = cached.with_extension("tmp");
            if std::fs::write(&tmp, serialized).is_ok() {
                let _ = std::fs::rename(&tmp, &cached);
            }
        }
        Ok(Plugin { component, version })
    }

    /// Loads a plugin file and asks it what it is, without configuring it for a channel
    /// (the administrators' plugin list). `grants` only scope the instance; `describe`
    /// calls nothing.
    pub fn describe(&self, path: &Path, grants: Grants) -> Result<PluginDescription> {
        let plugin = self.load(path)?;
        self.describe_loaded(&plugin, grants, path)
    }

    /// What a loaded plugin says it is, from an instance that is not configured.
    fn describe_loaded(
        &self,
        plugin: &Plugin,
        grants: Grants,
        path: &Path,
    ) -> Result<PluginDescription> {
        let mut store = self.new_store(grants);
        let bindings =
            Connector::instantiate(plugin.version, &mut store, &plugin.component, &self.linker)
                .map_err(anyhow::Error::from)
                .with_context(|| format!("instantiating plugin {}", path.display()))?;
        let description = bindings
            .call_describe(&mut store)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("plugin {}: describe", path.display()))?;
        Ok(PluginDescription {
            contract: plugin.version.as_str().to_owned(),
            ..PluginDescription::from(description)
        })
    }

    /// A wasmtime store under the configured memory limit and call deadline.
    fn new_store(&self, grants: Grants) -> Store<HostState> {
        let limits = StoreLimitsBuilder::new()
            .memory_size((self.limits.memory_mib << 20) as usize)
            .table_elements(MAX_TABLE_ELEMENTS)
            .instances(64)
            .tables(64)
            .memories(16)
            .build();
        let mut store = Store::new(&self.engine, HostState::new(grants, limits));
        store.limiter(|s| &mut s.limits);
        store.set_epoch_deadline((self.limits.call_timeout_ms / TICK.as_millis() as u64).max(1));
        store.data_mut().deadline =
            Instant::now() + Duration::from_millis(self.limits.call_timeout_ms);
        store
    }
}

/// A compiled plugin and the contract version it was built for.
#[derive(Clone)]
pub struct Plugin {
    component: Component,
    version: ContractVersion,
}

/// What a plugin says it is (the WIT `description`), in host types.
#[derive(Clone, Debug, Default, serde::Serialize, utoipa::ToSchema)]
pub struct PluginDescription {
    /// The platform family: `facebook`, `x`, `whatsapp`, `apple`, ...
    pub platform: String,
    /// The connector's own version.
    pub version: String,
    /// What it can do: `webhook`, `poll`, `reply_public`, `reply_private`, `delete`, `hide`.
    pub capabilities: Vec<String>,
    /// The settings and secrets it reads.
    pub config_keys: Vec<ConfigKey>,
    /// The hosts it calls unless a channel lists its own.
    pub hosts: Vec<String>,
    /// The `switchboard:connector` contract version it was built for (`0.1.0`, `0.2.0`).
    pub contract: String,
}

/// One setting a plugin reads.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ConfigKey {
    /// The key in the channel's `settings` (or `secrets`, for credentials).
    pub name: String,
    /// What it means.
    pub description: String,
    /// Configuration fails without it.
    pub required: bool,
    /// A credential: set it in `secrets`; it is never shown.
    pub secret: bool,
    /// Used when the key is not set.
    pub default_value: Option<String>,
    /// What the platform's own console calls it ("Page access token"); the form's label.
    /// None from a 0.1.0 plugin.
    pub label: Option<String>,
    /// Where the administrator finds it on the platform, in plain steps.
    pub where_to_find: Option<String>,
}

/// The account a channel's credentials belong to (the connector's `check-credentials`).
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Account {
    /// The platform's id for it (a page id, a phone number id, a user id).
    pub id: String,
    /// Its name as the platform shows it.
    pub name: String,
    /// What the administrator should know although the credentials work.
    pub warnings: Vec<String>,
}

impl From<wit::Description> for PluginDescription {
    fn from(d: wit::Description) -> Self {
        let capability = |c: &wit::Capability| {
            match c {
                wit::Capability::Webhook => "webhook",
                wit::Capability::Poll => "poll",
                wit::Capability::ReplyPublic => "reply_public",
                wit::Capability::ReplyPrivate => "reply_private",
                wit::Capability::Delete => "delete",
                wit::Capability::Hide => "hide",
            }
            .to_owned()
        };
        PluginDescription {
            platform: d.platform,
            version: d.version,
            capabilities: d.capabilities.iter().map(capability).collect(),
            config_keys: d
                .config_keys
                .into_iter()
                .map(|k| ConfigKey {
                    name: k.name,
                    description: k.description,
                    required: k.required,
                    secret: k.secret,
                    default_value: k.default_value,
                    label: k.label,
                    where_to_find: k.where_to_find,
                })
                .collect(),
            hosts: d.hosts,
            contract: String::new(),
        }
    }
}

/// What a channel's credentials check found.
#[derive(Debug)]
pub enum CredentialsCheck {
    /// The platform took them: this is whose they are.
    Works(Account),
    /// The connector says they do not work, or it cannot tell; `message` is its own,
    /// without secrets.
    Refused {
        reason: CheckRefusal,
        message: String,
    },
}

/// Why a credentials check did not succeed, as the connector classed it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckRefusal {
    /// The platform refused the credentials.
    Unauthorized,
    /// They work, but not with these settings (another account than the settings name).
    Settings,
    /// The platform refused the request for another reason.
    Rejected,
    /// The platform could not be reached or asked to wait; nothing is known yet.
    Unreachable,
    /// The connector cannot check credentials (its platform has no such read, or it was
    /// built for contract 0.1.0).
    Unsupported,
}

/// The plugin's `configure` refused the channel's settings (`invalid-config`). The text is
/// the connector's own, written for the administrator ("setting `page_id` is required").
#[derive(Debug, thiserror::Error)]
#[error("the plugin refused the channel's settings: {0}")]
pub struct SettingsRefused(pub String);

/// Why a plugin call failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The plugin trapped, ran out of time or memory (twice in a row, for calls that are
    /// safe to repeat).
    #[error("plugin `{plugin}` on channel `{channel}` failed: {message}")]
    Trapped {
        channel: String,
        plugin: String,
        message: String,
    },
    /// The plugin answered with an error.
    #[error("plugin `{plugin}` on channel `{channel}`: {message}")]
    Plugin {
        channel: String,
        plugin: String,
        message: String,
        retryable: bool,
        retry_after_ms: Option<u64>,
    },
}

impl CallError {
    /// Whether trying again later may succeed.
    pub fn retryable(&self) -> bool {
        match self {
            CallError::Trapped { .. } => true,
            CallError::Plugin { retryable, .. } => *retryable,
        }
    }
}

/// Whether a call may run again on a fresh instance after a trap or overrun.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Retry {
    /// Safe to repeat: it only reads or parses (webhooks, polls, stream lines, windows).
    OnFreshInstance,
    /// It may have changed something on the platform before failing (`send`, `delete`,
    /// `hide`).
    Never,
}

/// What files the platform takes in one kind of reply.
#[derive(Clone, Debug, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct FileLimit {
    /// Public or private replies.
    pub visibility: Visibility,
    /// `image`, `video`, `audio` or `file`.
    pub kind: String,
    /// The largest file, in bytes.
    pub max_bytes: u64,
    /// The MIME types it takes; empty: any of this kind.
    pub mime_types: Vec<String>,
}

/// A download the connector asks the host to make: method, URL and headers (which may
/// carry the platform's token: never logged), and the key when the bytes are encrypted.
#[derive(Clone)]
pub struct MediaRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    /// As the connector gave it: the media layer checks it (`media::crypt`).
    pub decrypt: Option<wit::FileKey>,
}

/// A send that failed, and whether it may have reached the platform all the same.
#[derive(Debug)]
pub struct SendFailure {
    /// What went wrong.
    pub error: CallError,
    /// The platform may have the message: do not send it again blindly.
    pub may_have_reached: bool,
}

/// A webhook answer and the events it carried.
pub struct WebhookReply {
    /// HTTP status for the platform.
    pub status: u16,
    /// Response headers.
    pub headers: Vec<(String, String)>,
    /// Response body.
    pub body: Vec<u8>,
    /// Events to store before answering.
    pub events: Vec<Event>,
}

/// Instances per channel: one per core, at most four.
fn pool_size() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 4)
}

struct Live {
    store: Store<HostState>,
    bindings: Connector,
}

/// A plugin bound to one channel: its grants, its component and a small pool of live
/// instances (one per core), so calls for one busy channel run side by side. Callers
/// on async threads first take a [`ChannelConnector::permit`], so requests beyond the
/// pool wait as cheap tasks rather than as blocked threads.
pub struct ChannelConnector {
    engine: Arc<PluginEngine>,
    grants: Grants,
    plugin_path: PathBuf,
    component: RwLock<Plugin>,
    pool: Vec<Mutex<Option<Live>>>,
    permits: tokio::sync::Semaphore,
    description: PluginDescription,
    /// Instances replaced after a trap or overrun, since the channel was loaded.
    restarts: AtomicU64,
    /// The longest text the platform takes, per kind of reply (none known: empty).
    limits: RwLock<Vec<(Visibility, TextLimit)>>,
    /// The files the platform takes per kind of reply, as the plugin said when loaded.
    file_limits: RwLock<Vec<FileLimit>>,
}

impl ChannelConnector {
    /// Loads the plugin for a channel (or a tool), enforces what it declares
    /// ([`super::declared`]) and lets it check the channel's configuration.
    pub fn new(
        engine: Arc<PluginEngine>,
        plugin_path: &Path,
        mut grants: Grants,
        loading: super::declared::Loading<'_>,
    ) -> Result<ChannelConnector> {
        let component = engine.load(plugin_path)?;
        let declared = engine.describe_loaded(&component, grants.clone(), plugin_path)?;
        super::declared::check_platform(&declared.platform)?;
        let read = super::declared::enforce(&declared, &grants.settings, &grants.secrets, loading)?;
        grants.settings = Arc::new(read);
        let mut connector = ChannelConnector {
            engine,
            grants,
            plugin_path: plugin_path.to_owned(),
            component: RwLock::new(component),
            pool: (0..pool_size()).map(|_| Mutex::new(None)).collect(),
            permits: tokio::sync::Semaphore::new(pool_size()),
            description: PluginDescription::default(),
            restarts: AtomicU64::new(0),
            limits: RwLock::new(Vec::new()),
            file_limits: RwLock::new(Vec::new()),
        };
        // Instantiating runs `configure`: a plugin that refuses the channel's settings
        // fails here with a [`SettingsRefused`] the caller can show the administrator. The
        // instance then answers `describe` (the first free slot is this one).
        let live = connector.instantiate()?;
        *connector.pool[0].lock().unwrap() = Some(live);
        let description = connector
            .call("describe", |b, s| b.call_describe(s))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        connector.description = PluginDescription {
            contract: connector
                .component
                .read()
                .unwrap()
                .version
                .as_str()
                .to_owned(),
            ..PluginDescription::from(description)
        };
        connector.load_limits()?;
        let description = &connector.description;
        // The operator's `allowed_hosts` win (a proxy, the emulator); without them the
        // channel may call exactly what the connector declares.
        if connector.grants.egress.operator_listed_none() && !description.hosts.is_empty() {
            let declared = description
                .hosts
                .iter()
                .map(|h| super::allowlist::Pattern::parse(h))
                .collect::<Result<Vec<_>>>()
                .with_context(|| {
                    format!("plugin `{}` declares a bad host", connector.grants.plugin)
                })?;
            connector.grants.egress = Arc::new(connector.grants.egress.with_declared(declared)?);
            // The instance that answered `describe` holds the old grants.
            for slot in &connector.pool {
                slot.lock().unwrap().take();
            }
        }
        Ok(connector)
    }

    /// Waits for a free instance of the pool; hold the permit across the blocking call.
    pub async fn permit(&self) -> tokio::sync::SemaphorePermit<'_> {
        self.permits
            .acquire()
            .await
            .expect("pool semaphore is never closed")
    }

    /// An idle instance slot, or (all busy) the first one to free up.
    fn free_slot(&self) -> std::sync::MutexGuard<'_, Option<Live>> {
        for slot in &self.pool {
            if let Ok(guard) = slot.try_lock() {
                return guard;
            }
        }
        self.pool[0]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The channel's name.
    pub fn channel(&self) -> &str {
        &self.grants.channel
    }

    /// The platform family the plugin says it speaks.
    pub fn platform(&self) -> &str {
        &self.description.platform
    }

    /// What the plugin said it is when the channel loaded it.
    pub fn description(&self) -> &PluginDescription {
        &self.description
    }

    /// How many times an instance was replaced after a trap or overrun.
    pub fn restarts(&self) -> u64 {
        self.restarts.load(Ordering::Relaxed)
    }

    /// The plugin file.
    pub fn plugin_path(&self) -> &Path {
        &self.plugin_path
    }

    /// Swaps in a new build of the plugin file; the next call runs on it.
    pub fn reload(&self) -> Result<()> {
        let component = self.engine.load(&self.plugin_path)?;
        *self.component.write().unwrap() = component;
        for slot in &self.pool {
            slot.lock().unwrap().take();
        }
        self.load_limits()
    }

    /// Asks the plugin for the platform's text limits (once per load: they are fixed).
    fn load_limits(&self) -> Result<()> {
        let limits = self
            .call("reply-limits", |b, s| b.call_reply_limits(s))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        *self.limits.write().unwrap() = limits
            .into_iter()
            .map(|l| {
                let counting = match l.counting {
                    wit::TextCounting::CodePoints => Counting::Characters,
                    wit::TextCounting::XWeighted => Counting::X,
                };
                let limit = TextLimit {
                    max: l.max,
                    counting,
                };
                (convert::visibility(l.visibility), limit)
            })
            .collect();
        let files = self
            .call("file-limits", |b, s| b.call_file_limits(s))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        *self.file_limits.write().unwrap() = files
            .into_iter()
            .map(|l| FileLimit {
                visibility: convert::visibility(l.visibility),
                kind: l.kind,
                max_bytes: l.max_bytes,
                mime_types: l.mime_types,
            })
            .collect();
        Ok(())
    }

    /// The files the platform takes in replies (none: this connector sends no files).
    pub fn file_limits(&self) -> Vec<FileLimit> {
        self.file_limits.read().unwrap().clone()
    }

    /// The upload that gives the platform `file` before `send`, as the connector
    /// describes it; none when it takes the file by link. Changes nothing on the platform
    /// by itself (the host makes the upload).
    pub fn upload_media(
        &self,
        file: &wit::OutboundFile,
        reply: &crate::store::outbox::OutboundReply,
    ) -> Result<Option<wit::MediaUpload>, CallError> {
        let message = convert::outbound(reply, None, Vec::new());
        self.call_checked("upload-media", |b, s| {
            b.call_upload_media(s, file, &message)
        })
    }

    /// The business account's message templates, as the platform lists them now; none
    /// when the connector has no templates to list (`unsupported`).
    pub fn list_templates(&self) -> Result<Option<Vec<wit::TemplateInfo>>, CallError> {
        match self.call("list-templates", |b, s| b.call_list_templates(s))? {
            Ok(list) => Ok(Some(list)),
            Err(wit::ConnectorError::Unsupported(_)) => Ok(None),
            Err(e) => Err(self.plugin_error("list-templates", e)),
        }
    }

    /// Whether the connector says it sends replies of `visibility` (its `reply-public` and
    /// `reply-private` capabilities).
    pub fn replies(&self, visibility: Visibility) -> bool {
        let needed = match visibility {
            Visibility::Public => "reply_public",
            Visibility::Private => "reply_private",
        };
        self.description.capabilities.iter().any(|c| c == needed)
    }

    /// The longest text the platform takes for a reply of `visibility`, if it says.
    pub fn text_limit(&self, visibility: Visibility) -> Option<TextLimit> {
        self.limits
            .read()
            .unwrap()
            .iter()
            .find(|(v, _)| *v == visibility)
            .map(|(_, l)| *l)
    }

    /// The request that downloads `attachment`'s bytes, as the connector builds it (with
    /// the platform's authentication); none when there is nothing to download. A read,
    /// safe to repeat.
    pub fn media_request(
        &self,
        attachment: &crate::model::event::Attachment,
    ) -> Result<Option<MediaRequest>, CallError> {
        let wit_attachment = convert::wit_attachment(attachment);
        let request = self.call_checked("media-request", |b, s| {
            b.call_media_request(s, &wit_attachment)
        })?;
        Ok(request.map(|d| MediaRequest {
            method: d.request.method,
            url: d.request.url,
            headers: d.request.headers,
            decrypt: d.decrypt,
        }))
    }

    /// Hands a webhook request to the plugin.
    pub fn handle_webhook(
        &self,
        method: &str,
        url: &str,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> Result<WebhookReply, CallError> {
        let request = wit::HttpRequest {
            method: method.into(),
            url: url.into(),
            headers,
            body,
        };
        let outcome =
            self.call_checked("handle-webhook", |b, s| b.call_handle_webhook(s, &request))?;
        Ok(WebhookReply {
            status: outcome.response.status,
            headers: outcome.response.headers,
            body: outcome.response.body,
            events: outcome.events.into_iter().map(convert::event).collect(),
        })
    }

    /// Checks the channel's credentials against the platform (the connector's
    /// `check-credentials`, a read, so safe to repeat): whose account they are, or why the
    /// connector says not. `Err` only when the plugin itself failed. Secret values are
    /// scrubbed from everything the connector says.
    pub fn check_credentials(&self) -> Result<CredentialsCheck, CallError> {
        let answer = self.call("check-credentials", |b, s| b.call_check_credentials(s))?;
        Ok(match answer {
            Ok(account) => CredentialsCheck::Works(Account {
                id: account.id,
                name: self.scrub(&account.name),
                warnings: account.warnings.iter().map(|w| self.scrub(w)).collect(),
            }),
            Err(e) => {
                let (reason, message) = match e {
                    wit::ConnectorError::Unauthorized(m) => (CheckRefusal::Unauthorized, m),
                    wit::ConnectorError::InvalidConfig(m) => (CheckRefusal::Settings, m),
                    wit::ConnectorError::Unsupported(m) => (CheckRefusal::Unsupported, m),
                    wit::ConnectorError::Rejected(m) => (CheckRefusal::Rejected, m),
                    wit::ConnectorError::Transient(m) => (CheckRefusal::Unreachable, m),
                    wit::ConnectorError::RateLimited(ms) => (
                        CheckRefusal::Unreachable,
                        format!(
                            "the platform asks to wait {} s before asking again",
                            ms.div_ceil(1000)
                        ),
                    ),
                };
                CredentialsCheck::Refused {
                    reason,
                    message: self.scrub(&message),
                }
            }
        })
    }

    /// Asks the plugin for events after `cursor`: the events, the next cursor and how
    /// each source fared.
    pub fn poll(&self, cursor: Option<&str>, limit: u32) -> Result<convert::Polled, CallError> {
        let cursor = cursor.map(str::to_owned);
        let result = self.call_checked("poll", |b, s| b.call_poll(s, cursor.as_deref(), limit))?;
        let mut polled = convert::poll_result(result);
        for source in &mut polled.sources {
            source.error = source.error.as_deref().map(|e| self.scrub(e));
            for warning in &mut source.warnings {
                *warning = self.scrub(warning);
            }
        }
        Ok(polled)
    }

    /// Sends a reply from the outbox; returns the platform's id for it, or the error and
    /// whether the call may have reached the platform anyway (it trapped or ran out of
    /// time after starting a request that could change something, or such a request got
    /// no answer). Never run twice: a send that may have reached the platform must not be
    /// repeated blindly (see `outbound::send`).
    /// `last_customer_at` lets the connector apply the platform's reply windows.
    pub fn send(
        &self,
        reply: &crate::store::outbox::OutboundReply,
        last_customer_at: Option<i64>,
        files: Vec<wit::OutboundFile>,
    ) -> Result<String, SendFailure> {
        let message = convert::outbound(reply, last_customer_at, files);
        let key = reply.idempotency_key.as_str();
        let (result, writes) =
            self.call_logged("send", Retry::Never, |b, s| b.call_send(s, &message, key));
        let may_have_reached = match &result {
            Ok(Ok(_)) => false,
            // The plugin answered: only a request left without an answer is in doubt.
            Ok(Err(_)) => writes.unanswered > 0,
            // A trap or overrun can strike after the platform accepted the request.
            Err(_) => writes.started > 0,
        };
        match result {
            Ok(Ok(sent)) => Ok(sent.platform_message_id),
            Ok(Err(e)) => Err(SendFailure {
                error: self.plugin_error("send", e),
                may_have_reached,
            }),
            Err(error) => Err(SendFailure {
                error,
                may_have_reached,
            }),
        }
    }

    /// Whether the message of a send that may or may not have reached the platform exists
    /// there (the connector's `find-sent`): `Some(id)` posted, `None` not there, an error
    /// (`unsupported` included) when the connector cannot tell. Safe to repeat: it only
    /// reads.
    pub fn find_sent(
        &self,
        reply: &crate::store::outbox::OutboundReply,
        last_customer_at: Option<i64>,
        attempted_at: i64,
    ) -> Result<Option<String>, CallError> {
        let files = convert::described_files(reply);
        let message = convert::outbound(reply, last_customer_at, files);
        let key = reply.idempotency_key.as_str();
        let found = self.call_checked("find-sent", |b, s| {
            b.call_find_sent(s, &message, key, attempted_at)
        })?;
        Ok(found.map(|s| s.platform_message_id))
    }

    /// The request to hold open for the channel's event stream, if it streams.
    pub fn stream_open(&self) -> Result<Option<StreamRequest>, CallError> {
        let request = self.call_checked("stream-open", |b, s| b.call_stream_open(s))?;
        Ok(request.map(|r| StreamRequest {
            method: r.method,
            url: r.url,
            headers: r.headers,
            body: r.body,
        }))
    }

    /// The events in lines received on the stream.
    pub fn stream_lines(&self, lines: &[String]) -> Result<Vec<Event>, CallError> {
        let events = self.call_checked("stream-lines", |b, s| b.call_stream_lines(s, lines))?;
        Ok(events.into_iter().map(convert::event).collect())
    }

    /// Where the channel may send requests, for those the host makes on the plugin's
    /// behalf (the event stream): the same checks and client as the plugin's own.
    pub(crate) fn egress(&self) -> &super::egress::Egress {
        &self.grants.egress
    }

    /// `text` (a plugin's or a platform's words) without the channel's secret values.
    pub(crate) fn scrub(&self, text: &str) -> String {
        super::redact::secrets(&self.grants.secrets, text).into_owned()
    }

    /// Deletes a message on the platform (our own tweet, a customer's comment).
    pub fn delete(&self, platform_message_id: &str) -> Result<(), CallError> {
        // It may have reached the platform before a trap: the agent sees the failure and
        // decides, rather than the host deleting twice.
        self.call_checked_once("delete", |b, s| b.call_delete(s, platform_message_id))
    }

    /// Hides a customer's comment from the public.
    pub fn hide(&self, platform_message_id: &str) -> Result<(), CallError> {
        self.call_checked_once("hide", |b, s| b.call_hide(s, platform_message_id))
    }

    /// What the platform lets the business send now in a conversation whose customer
    /// last wrote at `last_customer_at`.
    pub fn reply_window(
        &self,
        visibility: Visibility,
        last_customer_at: Option<i64>,
        now: i64,
    ) -> Result<ReplyWindow, CallError> {
        if !self.replies(visibility) {
            return Ok(ReplyWindow {
                free_form: false,
                templates: false,
                until: None,
                note: Some(format!(
                    "This platform takes no {} replies.",
                    visibility.as_str()
                )),
                limit: None,
            });
        }
        let v = convert::wit_visibility(visibility);
        let w = self.call("reply-window", |b, s| {
            b.call_reply_window(s, v, last_customer_at, now)
        })?;
        Ok(ReplyWindow {
            free_form: w.free_form,
            templates: w.templates,
            until: w.until,
            note: w.note,
            limit: self.text_limit(visibility),
        })
    }

    /// Runs an export that returns `result<T, connector-error>`.
    fn call_checked<T>(
        &self,
        what: &'static str,
        f: impl Fn(
            &Connector,
            &mut Store<HostState>,
        ) -> wasmtime::Result<Result<T, wit::ConnectorError>>,
    ) -> Result<T, CallError> {
        self.call(what, f)?.map_err(|e| self.plugin_error(what, e))
    }

    /// Like [`Self::call_checked`], for a call that changes something on the platform:
    /// never run again after a trap or overrun.
    fn call_checked_once<T>(
        &self,
        what: &'static str,
        f: impl Fn(
            &Connector,
            &mut Store<HostState>,
        ) -> wasmtime::Result<Result<T, wit::ConnectorError>>,
    ) -> Result<T, CallError> {
        self.call_logged(what, Retry::Never, f)
            .0?
            .map_err(|e| self.plugin_error(what, e))
    }

    /// A connector's error as the host's.
    fn plugin_error(&self, what: &str, e: wit::ConnectorError) -> CallError {
        let (retryable, retry_after_ms) = match &e {
            wit::ConnectorError::Transient(_) => (true, None),
            wit::ConnectorError::RateLimited(ms) => (true, Some(*ms)),
            _ => (false, None),
        };
        CallError::Plugin {
            channel: self.grants.channel.clone(),
            plugin: self.grants.plugin.clone(),
            message: self.scrub(&format!("{what}: {}", convert::error_text(&e))),
            retryable,
            retry_after_ms,
        }
    }

    /// Runs one export under the limits. A trap or timeout replaces the instance and the
    /// call runs once more on the fresh one, so a plugin that failed once on bad luck (a
    /// poisoned state, a leak) does not lose the work. Only for calls that are safe to
    /// repeat (reading, parsing); `send`, `delete` and `hide` are not (see [`Retry`]).
    fn call<T>(
        &self,
        what: &'static str,
        f: impl Fn(&Connector, &mut Store<HostState>) -> wasmtime::Result<T>,
    ) -> Result<T, CallError> {
        self.call_logged(what, Retry::OnFreshInstance, f).0
    }

    /// Runs one export under the limits; also returns what the last run asked of the
    /// platform beyond reading. `what` is the export's name, a literal (a metric label).
    fn call_logged<T>(
        &self,
        what: &'static str,
        retry: Retry,
        f: impl Fn(&Connector, &mut Store<HostState>) -> wasmtime::Result<T>,
    ) -> (Result<T, CallError>, WriteLog) {
        let mut slot = self.free_slot();
        let mut last_error = String::new();
        let mut writes = WriteLog::default();
        let runs = match retry {
            Retry::OnFreshInstance => 2,
            Retry::Never => 1,
        };
        for attempt in 1..=runs {
            if slot.is_none() {
                match self.instantiate() {
                    Ok(live) => *slot = Some(live),
                    Err(e) => {
                        last_error = self.scrub(&format!("instantiating: {e:#}"));
                        break;
                    }
                }
            }
            let live = slot.as_mut().expect("instance present");
            let timeout = Duration::from_millis(self.engine.limits.call_timeout_ms);
            live.store.data_mut().deadline = Instant::now() + timeout;
            live.store.data_mut().writes = WriteLog::default();
            live.store
                .set_epoch_deadline((timeout.as_millis() / TICK.as_millis()).max(1) as u64);
            let started = Instant::now();
            let result = f(&live.bindings, &mut live.store);
            crate::metrics::plugin_call(&self.grants.channel, what, started.elapsed());
            writes = live.store.data().writes;
            match result {
                Ok(value) => return (Ok(value), writes),
                Err(e) => {
                    last_error = self.scrub(&format!("{e:?}"));
                    tracing::error!(
                        channel = %self.grants.channel,
                        plugin = %self.grants.plugin,
                        call = what,
                        attempt,
                        error = %last_error,
                        "plugin trapped; replacing its instance"
                    );
                    self.restarts.fetch_add(1, Ordering::Relaxed);
                    crate::metrics::plugin_trap(&self.grants.channel, what);
                    *slot = None;
                }
            }
        }
        let error = CallError::Trapped {
            channel: self.grants.channel.clone(),
            plugin: self.grants.plugin.clone(),
            message: format!("{what}: {last_error}"),
        };
        (Err(error), writes)
    }

    fn instantiate(&self) -> Result<Live> {
        let mut store = self.engine.new_store(self.grants.clone());
        let plugin = self.component.read().unwrap().clone();
        let bindings = Connector::instantiate(
            plugin.version,
            &mut store,
            &plugin.component,
            &self.engine.linker,
        )?;
        store.data_mut().deadline =
            Instant::now() + Duration::from_millis(self.engine.limits.call_timeout_ms);
        let started = Instant::now();
        let configured = bindings.call_configure(&mut store);
        crate::metrics::plugin_call(&self.grants.channel, "configure", started.elapsed());
        match configured? {
            Ok(()) => {}
            Err(wit::ConnectorError::InvalidConfig(m)) => {
                return Err(SettingsRefused(self.scrub(&m)).into());
            }
            Err(e) => anyhow::bail!("configure: {}", self.scrub(&convert::error_text(&e))),
        }
        Ok(Live { store, bindings })
    }
}

pub use super::host_api::Grants as ChannelGrants;

/// The request a connector asks the host to hold open for its event stream.
#[derive(Clone, Debug)]
pub struct StreamRequest {
    /// `GET`, usually.
    pub method: String,
    /// Absolute URL.
    pub url: String,
    /// Headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// Body, if any.
    pub body: Vec<u8>,
}
