//! Starting and stopping the host: the store opened, the config's users seeded, the
//! workflows, plugins and channels loaded, the workers and the HTTP server started.
//! The one module that knows every other one, so nothing else has to.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};

use crate::app::App;
use crate::channels::{self, ChannelRegistry, ChannelSource};
use crate::config::Config;
use crate::connectors::catalog::PluginCatalog;
use crate::connectors::declared::Loading;
use crate::connectors::{ChannelConnector, PluginEngine, install_crypto};
use crate::fswatch::WatchGuard;
use crate::interactions::{Core, Interactions, Sends};
use crate::model::hours::Organisation;
use crate::store::{Store, directory};
use crate::workflow::{DirectorySource, Workflows};

/// A started host.
pub struct Running {
    /// Shared state.
    pub app: Arc<App>,
    /// Where the API listens.
    pub addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
    /// The heartbeat and the leader's lease; at a stop it hands the lease over.
    membership: tokio::task::JoinHandle<()>,
    _watches: Vec<WatchGuard>,
}

impl Running {
    /// Stops serving, finishes pending writes and closes the database.
    pub async fn shutdown(self) {
        let _ = self.app.shutdown.send(true);
        let _ = self.server.await;
        // Before the store closes: the lease is given up for the next host at once.
        let _ = self.membership.await;
        self.app.store.close();
    }
}

/// What the workflow checks may know: the configured schedules, and the users and skills
/// in the store at the time of each (re)load.
fn directory_source(store: &Store, organisation: &Organisation) -> DirectorySource {
    let store = store.clone();
    let schedules: Vec<String> = organisation
        .schedule_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    Arc::new(move || {
        let users = store.read_blocking(|c| crate::store::directory::users(c).map(Some));
        let (users, skills) = match users {
            Ok(Some(users)) => (
                Some(users.iter().map(|u| u.username.clone()).collect()),
                Some(
                    users
                        .iter()
                        .flat_map(|u| u.skills.keys().map(|k| k.to_lowercase()))
                        .collect(),
                ),
            ),
            _ => (None, None),
        };
        crate::workflow::lint::Directory {
            schedules: Some(schedules.clone()),
            users,
            skills,
        }
    })
}

/// Checks that every plugin and workflow the config names loads, without serving.
pub fn check(config: &Config) -> Result<()> {
    install_crypto();
    // The schedules are the config's; the users are the store's, which `check` does not
    // open, so they are not checked here.
    let schedules = config
        .organisation()?
        .schedule_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let directory = crate::workflow::lint::Directory {
        schedules: Some(schedules),
        ..Default::default()
    };
    let workflows = Workflows::load_with(
        &config.server.workflows_dir,
        Some(Arc::new(move || directory.clone())),
    )?;
    let version = workflows.current();
    for ch in &config.channels {
        channels::check_workflow(ch, &version, &config.server.workflows_dir)?;
        channels::check_plugin_file(ch, &plugin_path(config, &ch.plugin))?;
    }
    let dir = tempfile_dir()?;
    let store = Store::open(&dir.join("check.db"))?;
    let engine = PluginEngine::new(&dir.join("cache"), config.server.plugin_limits.clone())?;
    let runtime = tokio::runtime::Handle::try_current().ok();
    let rt = match runtime {
        Some(h) => h,
        None => anyhow::bail!("check must run inside a tokio runtime"),
    };
    let proxy = config.proxy()?;
    for ch in &config.channels {
        let grants = channels::grants_for(ch, &store, rt.clone(), proxy.as_ref())?;
        if let Err(e) = ChannelConnector::new(
            engine.clone(),
            &plugin_path(config, &ch.plugin),
            grants,
            Loading::Channel(channels::uses(&ch.ingest)),
        ) {
            // The person reads what to change; the chain is for whoever debugs the plugin.
            let failure = channels::LoadFailure::of(&e);
            match failure {
                channels::LoadFailure::Settings { .. } => tracing::debug!(channel = %ch.name,
                    plugin = %ch.plugin, error = %format!("{e:#}"), "settings refused"),
                channels::LoadFailure::Plugin => tracing::error!(channel = %ch.name,
                    plugin = %ch.plugin, error = %format!("{e:#}"), "plugin could not be started"),
            }
            anyhow::bail!(
                "channel `{}`: {}",
                ch.name,
                failure.message(&ch.plugin, "in the config file")
            );
        }
    }
    store.close();
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn tempfile_dir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "switchboard-check-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn plugin_path(config: &Config, plugin: &str) -> PathBuf {
    config.server.plugins_dir.join(format!("{plugin}.wasm"))
}

/// Seeds users, stations and workgroups named in the config when they do not exist yet.
/// Once created they belong to the administrators: a restart never undoes their edits.
async fn seed(store: &Store, config: &Config) -> Result<()> {
    for user in &config.users {
        let (name, display) = (
            user.username.clone(),
            user.display_name
                .clone()
                .unwrap_or_else(|| user.username.clone()),
        );
        let exists = {
            let name = name.clone();
            store
                .read(move |c| directory::user_exists(c, &name))
                .await?
        };
        if exists {
            continue;
        }
        let password = user.password.clone();
        let hash = tokio::task::spawn_blocking(move || crate::api::auth::hash_password(&password))
            .await??;
        let (rights, skills) = (user.rights.clone(), user.skills.clone());
        store
            .write(move |c| {
                let id = directory::upsert_user(c, &name, &display, &hash, &rights)?;
                let mut u = directory::user(c, id)?.context("user just created")?;
                u.skills = skills;
                directory::update_user(c, &u)
            })
            .await?;
    }
    for station in config.stations.clone() {
        store
            .write(move |c| {
                if directory::station_by_name(c, &station.name)?.is_none() {
                    directory::upsert_station(c, &station.name, &station.rights)?;
                }
                Ok(())
            })
            .await?;
    }

    for group in config.workgroups.clone() {
        store
            .write(move |c| {
                if let Some(existing) = directory::workgroup_by_name(c, &group.name)? {
                    return Ok(existing.id);
                }
                let users = directory::users(c)?;
                let members = group
                    .members
                    .iter()
                    .map(|m| {
                        users
                            .iter()
                            .find(|u| &u.username == m)
                            .map(|u| u.id)
                            .with_context(|| {
                                format!("workgroup `{}`: no user named `{m}`", group.name)
                            })
                    })
                    .collect::<Result<Vec<_>>>()?;
                directory::upsert_workgroup(
                    c,
                    &directory::Workgroup {
                        id: 0,
                        name: group.name.clone(),
                        alert_timeout_ms: group.alert_timeout_ms as i64,
                        utilization: group.utilization.clone(),
                        sl_target_s: group.sl_target_s as i64,
                        wrapup_codes: group.wrapup_codes.clone(),
                        wrapup_required: group.wrapup_required,
                        wrapup_timeout_ms: group.wrapup_timeout_ms as i64,
                        members,
                    },
                )
            })
            .await?;
    }
    Ok(())
}

/// Starts the host: store, seeds, workflows, plugins, routing, pollers and the server.
pub async fn start(config: Config) -> Result<Running> {
    install_crypto();
    let organisation = Arc::new(config.organisation()?);
    let store = Store::open_url(&config.store_url()?, &config.server.database)?;
    seed(&store, &config).await?;
    let workflows = Workflows::load_with(
        &config.server.workflows_dir,
        Some(directory_source(&store, &organisation)),
    )
    .with_context(|| {
        format!(
            "loading workflows from {}",
            config.server.workflows_dir.display()
        )
    })?;
    let engine = PluginEngine::new(
        &config.server.data_dir.join("plugin-cache"),
        config.server.plugin_limits.clone(),
    )?;
    let plugins =
        PluginCatalog::new(engine, &config.server.plugins_dir).with_proxy(config.proxy()?);
    // As `check` and every reload: a channel's script is there, takes new messages, and
    // names only schedules the config has.
    let version = workflows.current();
    for ch in &config.channels {
        channels::check_workflow(ch, &version, &config.server.workflows_dir)?;
    }
    let mut loaded = Vec::new();
    for ch in &config.channels {
        loaded.push(channels::load(&plugins, &store, ch.clone(), ChannelSource::Config).await?);
    }
    let config_names: Vec<String> = config.channels.iter().map(|c| c.name.clone()).collect();
    let sealer = config.sealer()?;
    loaded.extend(channels::load_stored(&plugins, &store, &config_names, &sealer).await?);
    let channel_rights = loaded
        .iter()
        .map(|ch| {
            (
                ch.config.name.clone(),
                crate::routing::Right::for_platform(ch.connector.platform()),
            )
        })
        .collect();
    let interactions = Interactions::new(
        store.clone(),
        channel_rights,
        config.features,
        store.is_postgres(),
    );
    let (shutdown, stop) = tokio::sync::watch::channel(false);
    let (sends, started) = Sends::new();
    let registry = Arc::new(ChannelRegistry::with(loaded.into_iter().map(Arc::new)));
    let running_channels = registry.clone();
    let cluster = crate::cluster::Cluster::new(
        store.clone(),
        &config.cluster,
        &config.server.data_dir,
        config.server.listen.to_string(),
        Box::new(move || {
            running_channels
                .list()
                .iter()
                .map(|c| c.config.name.clone())
                .collect()
        }),
    )?;
    let core = Core {
        store: store.clone(),
        interactions: interactions.clone(),
        workflows: workflows.clone(),
        world: Arc::new(crate::interactions::hooks::StoreWorld::new(
            store.clone(),
            interactions.clone(),
            organisation.clone(),
        )),
        channels: registry,
        sends,
        stop,
        cluster: cluster.clone(),
        media: crate::media::Media::new(&config)?,
    };
    // Every host downloads attachments: rows are claimed with a lease.
    tokio::spawn(crate::media::fetch::run(
        crate::media::fetch::FetchContext {
            store: core.store.clone(),
            channels: core.channels.clone(),
            media: core.media.clone(),
            stop: core.stop.clone(),
        },
    ));
    let bus = crate::cluster::bus::Bus::start(&store, cluster.host_id());
    let (bus, messages) = match bus {
        Some((bus, messages)) => {
            interactions.join_bus(bus.clone());
            (Some(bus), Some(messages))
        }
        None => (None, None),
    };
    let app = Arc::new(App {
        config: config.clone(),
        plugins,
        core,
        shutdown,
        cluster: cluster.clone(),
        bus: bus.clone(),
    });
    if let Some(messages) = messages {
        tokio::spawn(from_other_hosts(app.clone(), messages));
    }

    let channels = app.core.channels.clone();
    workflows.set_scripts_in_use(Arc::new(move || {
        channels
            .list()
            .iter()
            .map(|c| (c.config.name.clone(), c.config.workflow.clone()))
            .collect()
    }));
    let mut watches = vec![crate::workflow::watch(workflows)?];
    if config.server.plugins_dir.is_dir() {
        watches.push(watch_plugins(&app)?);
    }
    tokio::spawn(release_workflow_versions(app.core.clone()));
    // Which channels are paused, on every host; the leader routes what a resume frees.
    tokio::spawn(crate::ingest::held::run(app.core.clone()));
    // Read before binding: a certificate that cannot be used stops the start.
    let tls = match &config.server.tls {
        Some(tls) => Some(Arc::new(tls.server_config()?)),
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(config.server.listen)
        .await
        .with_context(|| format!("listening on {}", config.server.listen))?;
    let addr = listener.local_addr()?;
    cluster.listening_on(addr);
    // A lone host leads before it serves; in a cluster this host may follow.
    cluster.first_turn().await?;
    let (first_term, term_ready) = tokio::sync::oneshot::channel();
    tokio::spawn(leadership(
        app.core.clone(),
        Arc::new(tokio::sync::Mutex::new(started)),
        bus,
        app.config.retention.days,
        first_term,
    ));
    term_ready
        .await
        .unwrap_or_else(|_| Err(anyhow::anyhow!("routing stopped at start")))?;
    for channel in app.channels.list() {
        crate::app::start_tasks(&app.core, &channel);
    }

    let membership = tokio::spawn(cluster.clone().run(app.shutdown.subscribe()));
    let mut stop = app.shutdown.subscribe();
    let router = crate::api::router(app.clone());
    tokio::spawn(end_expired_sessions(app.clone()));
    let server = tokio::spawn(async move {
        let service = router.into_make_service_with_connect_info::<SocketAddr>();
        let served = match tls {
            None => {
                axum::serve(listener, service)
                    .with_graceful_shutdown(async move {
                        let _ = stop.changed().await;
                    })
                    .await
            }
            Some(tls) => serve_tls(listener, tls, service, stop).await,
        };
        if let Err(e) = served {
            tracing::error!(error = %e, "server stopped");
        }
    });
    tracing::info!(%addr, "switchboard listening");
    Ok(Running {
        app,
        addr,
        server,
        membership,
        _watches: watches,
    })
}

/// Serves HTTPS on `listener` (`[server.tls]`) until `stop`, then lets requests in flight
/// finish for up to 30 s, as the plain listener does.
async fn serve_tls(
    listener: tokio::net::TcpListener,
    tls: Arc<rustls::ServerConfig>,
    service: axum::extract::connect_info::IntoMakeServiceWithConnectInfo<axum::Router, SocketAddr>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<()> {
    let handle = axum_server::Handle::new();
    let stopping = handle.clone();
    tokio::spawn(async move {
        let _ = stop.changed().await;
        stopping.graceful_shutdown(Some(std::time::Duration::from_secs(30)));
    });
    let listener = listener.into_std()?;
    axum_server::from_tcp_rustls(
        listener,
        axum_server::tls_rustls::RustlsConfig::from_config(tls),
    )?
    .handle(handle)
    .serve(service)
    .await
}

/// Runs what only the leader runs, for as long as this host leads: the router (loaded
/// from the store at each term's start), its timers, the workflow timers, the follow-up
/// jobs and the sends. A host that follows relays the sends its workflows store to the
/// leader. `first_term` is answered once the first term (leading or following) runs.
async fn leadership(
    core: Core,
    started: crate::outbound::SharedStarted,
    bus: Option<Arc<crate::cluster::bus::Bus>>,
    retention_days: Option<u32>,
    first_term: tokio::sync::oneshot::Sender<Result<()>>,
) {
    let mut first_term = Some(first_term);
    let mut leading = core.cluster.watch_leading();
    let mut stop = core.stop.clone();
    loop {
        let fence = leading.borrow_and_update().clone();
        let (end_term, term) = tokio::sync::watch::channel(false);
        let term_core = Core {
            stop: term,
            ..core.clone()
        };
        let began = if fence.is_some() {
            let began = core.interactions.take_lead(core.cluster.fence()).await;
            if began.is_ok() {
                tokio::spawn(crate::interactions::hooks::run_timers(term_core.clone()));
                tokio::spawn(crate::interactions::jobs::run_jobs(term_core.clone()));
                tokio::spawn({
                    let store = term_core.store.clone();
                    let stop = term_core.stop.clone();
                    async move { crate::reports::catch_up(&store, stop).await }
                });
                tokio::spawn(crate::interactions::retention::run_periodically(
                    term_core.clone(),
                    retention_days,
                ));
                crate::outbound::resume_pending(&term_core, started.clone()).await
            } else {
                began
            }
        } else {
            core.interactions.step_down();
            if let Some(bus) = &bus {
                tokio::spawn(crate::outbound::relay_to_leader(
                    started.clone(),
                    bus.clone(),
                    term_core.stop.clone(),
                ));
            }
            Ok(())
        };
        match (began, first_term.take()) {
            (result, Some(answer)) => {
                let failed = result.is_err();
                let _ = answer.send(result);
                if failed {
                    return;
                }
            }
            (Err(e), None) => {
                // The lease stays this host's but routing could not load: give it up
                // so another host leads, and try again at the next turn.
                tracing::error!(error = %format!("{e:#}"), "could not load routing as the leader");
                core.cluster.give_up_lead().await;
            }
            (Ok(()), None) => {}
        }
        tokio::select! {
            _ = leading.changed() => {}
            _ = stop.changed() => {}
        }
        let _ = end_term.send(true);
        if *stop.borrow() {
            return;
        }
    }
}

/// Acts on what other hosts send: notices for streams open here, and wake-ups for the
/// leader's workers.
async fn from_other_hosts(
    app: Arc<App>,
    mut messages: tokio::sync::mpsc::UnboundedReceiver<crate::cluster::bus::Message>,
) {
    use crate::cluster::bus::Message;
    let core = &app.core;
    while let Some(message) = messages.recv().await {
        match message {
            Message::Notice { user, kind, data } => core.interactions.hub.deliver(user, kind, data),
            Message::InteractionNotice { user, kind, id } => {
                let read = core
                    .store
                    .read(move |c| crate::store::queries::interaction(c, id));
                if let Ok(Some(ix)) = read.await {
                    let data = serde_json::to_value(&ix).unwrap_or_default();
                    core.interactions.hub.deliver(user, kind, data);
                }
            }
            Message::Jobs if core.interactions.leads() => core.interactions.kick_jobs_here(),
            Message::Sends { ids } if core.interactions.leads() => core.sends.start(ids),
            Message::Channel { name } => app.reload_stored_channel(&name).await,
            Message::Pause { name, paused } => core
                .channels
                .pauses_changed(paused.then_some(name.as_str())),
            Message::Jobs | Message::Sends { .. } => {}
        }
    }
}

/// Reloads a channel's plugin when its file changes; a build that fails to load is
/// refused and the running one stays.
fn watch_plugins(app: &Arc<App>) -> Result<WatchGuard> {
    let app = app.clone();
    let dir = app.config.server.plugins_dir.clone();
    crate::fswatch::watch(&dir, std::time::Duration::from_millis(300), move |paths| {
        for channel in app.channels.list() {
            let path = channel.connector.plugin_path();
            if !paths.iter().any(|p| p.file_name() == path.file_name()) || !path.exists() {
                continue;
            }
            match channel.connector.reload() {
                Ok(()) => {
                    tracing::info!(channel = %channel.config.name, plugin = %channel.config.plugin, "plugin reloaded")
                }
                Err(e) => {
                    tracing::error!(channel = %channel.config.name, plugin = %channel.config.plugin,
                    error = %format!("{e:#}"), "plugin reload refused; the running build stays")
                }
            }
        }
    })
}

/// Every few seconds, lets go of workflow versions no live interaction started on: an
/// interaction keeps running on its version until it ends.
async fn release_workflow_versions(app: Core) {
    let mut stop = app.stop.clone();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(5)) => {}
            _ = stop.changed() => return,
        }
        if app.workflows.kept_versions().is_empty() {
            continue;
        }
        match app
            .store
            .read(crate::store::queries::live_workflow_versions)
            .await
        {
            Ok(live) => app.workflows.release_unused(&live),
            Err(e) => tracing::warn!(error = %e, "could not list live workflow versions"),
        }
    }
}

/// Every few minutes, forgets sessions past their idle or absolute limit (a lookup
/// refuses them anyway; this keeps the table to the live ones).
async fn end_expired_sessions(app: Arc<App>) {
    let mut stop = app.stop.clone();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(300)) => {}
            _ = stop.changed() => return,
        }
        let limits = app.config.server.sessions.clone();
        let now = crate::clock::now_ms();
        let idle_before = now - limits.idle_timeout_s as i64 * 1000;
        let begun_before = now - limits.max_age_s as i64 * 1000;
        // Sign-in failures are forgotten an hour after their last wait ended.
        let throttled_before = now - 3_600_000;
        if let Err(e) = app
            .store
            .write(move |c| {
                crate::store::throttle::forget_before(c, throttled_before)?;
                directory::end_expired_sessions(c, idle_before, begun_before)
            })
            .await
        {
            tracing::warn!(error = %e, "could not forget expired sessions");
        }
    }
}
