//! This host among the hosts that share one store: who it is, a heartbeat, and whether it
//! holds the leader's lease.
//!
//! Every host runs [`Cluster::run`]: each `heartbeat_ms` it records itself (address and the
//! channels it runs) in `cluster_hosts` and renews or tries for the leader's lease (see
//! `store::cluster` for the lease and its fencing epoch). A host that does not lead tries
//! four times as often, so a lease given up on a graceful stop is taken within a quarter of
//! a heartbeat, and one left by a killed leader within its expiry plus that. A leader that
//! cannot renew steps down once its lease has run out: by then another host may lead.
//!
//! On SQLite there is one host and it always leads; the same code runs, so the cluster
//! screen and API read the same on both engines.

pub mod bus;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Serialize;
use tokio::sync::watch;
use utoipa::ToSchema;

use crate::config::ClusterConfig;
use crate::store::Store;
use crate::store::cluster::{self as rows, Fence, LEADER};

/// Hosts listed by [`Cluster::status`]: heard from within this long.
const LISTED_FOR_MS: i64 = 10 * 60_000;

/// This host's place in the cluster.
pub struct Cluster {
    host_id: String,
    /// Where others reach this host: `[cluster] address`, or the address it listens on.
    address: std::sync::Mutex<String>,
    address_set: bool,
    started_at: i64,
    lease_ms: i64,
    heartbeat: Duration,
    store: Store,
    leading: watch::Sender<Option<Fence>>,
    /// Whether other hosts may share the store (PostgreSQL). On SQLite this host is the
    /// only one: it leads from its first turn to its stop, whatever a lease write says.
    shared: bool,
    /// The leader as last seen from here (id and address), while this host follows.
    leader: watch::Sender<Option<(String, String)>>,
    /// The channels whose lease this host holds: it polls them, holds their streams.
    owned: watch::Sender<std::collections::BTreeSet<String>>,
    /// Wakes the heartbeat early: a channel was added here and wants an owner now.
    wake: tokio::sync::Notify,
    /// The channels this host runs, as it last reported them.
    channels: Box<dyn Fn() -> Vec<String> + Send + Sync>,
}

/// The cluster as `GET /api/v1/cluster` shows it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ClusterStatus {
    /// The host holding the leader's lease now (`null` while none does).
    pub leader: Option<String>,
    /// The host that answered.
    pub this_host: String,
    /// Hosts heard from in the last ten minutes.
    pub hosts: Vec<HostStatus>,
}

/// One host.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct HostStatus {
    pub host_id: String,
    /// Where the other hosts and a load balancer reach it.
    pub address: String,
    /// When it last recorded itself (milliseconds since the epoch, the database's clock).
    pub last_heartbeat: i64,
    /// How long ago that was, in milliseconds.
    pub lag_ms: i64,
    /// `up`, `missing` (no heartbeat within a lease: stopped or cut off) or `stopped`
    /// (it stopped on purpose).
    pub state: String,
    /// Whether it holds the leader's lease.
    pub leader: bool,
    /// The channels it runs (in a cluster: those whose lease it holds now).
    pub channels: Vec<String>,
    /// When it started.
    pub started_at: i64,
}

impl Cluster {
    /// This host as the config and its data folder say (`[cluster] host_id`, or an id
    /// made once and kept in `host-id` in the data folder).
    pub fn new(
        store: Store,
        config: &ClusterConfig,
        data_dir: &std::path::Path,
        address: String,
        channels: Box<dyn Fn() -> Vec<String> + Send + Sync>,
    ) -> Result<Arc<Cluster>> {
        let host_id = match &config.host_id {
            Some(id) => id.clone(),
            None => kept_host_id(data_dir)?,
        };
        let (leading, _) = watch::channel(None);
        Ok(Arc::new(Cluster {
            shared: store.is_postgres(),
            leader: watch::channel(None).0,
            owned: watch::channel(Default::default()).0,
            wake: tokio::sync::Notify::new(),
            host_id,
            address_set: config.address.is_some(),
            address: std::sync::Mutex::new(config.address.clone().unwrap_or(address)),
            started_at: crate::clock::now_ms(),
            lease_ms: config.lease_ms as i64,
            heartbeat: Duration::from_millis(config.heartbeat_ms),
            store,
            leading,
            channels,
        }))
    }

    pub fn host_id(&self) -> &str {
        &self.host_id
    }

    /// The address the server listens on, once bound (a port of 0 is known only then):
    /// what others reach this host at unless `[cluster] address` says. A wildcard
    /// address (`0.0.0.0`) is shown with the machine's name.
    pub fn listening_on(&self, addr: std::net::SocketAddr) {
        if self.address_set {
            return;
        }
        let shown = if addr.ip().is_unspecified() {
            format!("{}:{}", hostname(), addr.port())
        } else {
            addr.to_string()
        };
        *self.address.lock().unwrap() = shown;
    }

    /// The leader's lease when this host holds it.
    pub fn leading(&self) -> Option<Fence> {
        self.leading.borrow().clone()
    }

    /// Whether this host runs routing, timers, follow-up jobs and sends now.
    pub fn leads(&self) -> bool {
        self.leading.borrow().is_some()
    }

    /// Whether other hosts may share the store, so that leadership can move.
    pub fn shared(&self) -> bool {
        self.shared
    }

    /// The fence leader writes carry (`None` on SQLite, where no other host can write).
    pub fn fence(&self) -> Option<Fence> {
        if self.shared { self.leading() } else { None }
    }

    /// The leader's id and address, as last seen while this host follows.
    pub fn leader(&self) -> Option<(String, String)> {
        if self.leads() {
            return Some((self.host_id.clone(), self.address.lock().unwrap().clone()));
        }
        self.leader.borrow().clone()
    }

    /// Whether this host runs channel `name`'s poller and stream (it holds the channel's
    /// lease; on SQLite, always).
    pub fn owns(&self, name: &str) -> bool {
        !self.shared || self.owned.borrow().contains(name)
    }

    /// A channel was added or replaced on this host: share the channels again now rather
    /// than at the next heartbeat.
    pub fn channels_changed(&self) {
        self.wake.notify_one();
    }

    /// Resolves once this host owns channel `name`.
    pub async fn until_owned(&self, name: &str) {
        if !self.shared {
            return;
        }
        let mut owned = self.owned.subscribe();
        let _ = owned.wait_for(|o| o.contains(name)).await;
    }

    /// Resolves once this host no longer owns channel `name` (never on SQLite).
    pub async fn until_lost(&self, name: &str) {
        if !self.shared {
            return std::future::pending().await;
        }
        let mut owned = self.owned.subscribe();
        let _ = owned.wait_for(|o| !o.contains(name)).await;
    }

    /// Resolves when the leader this host last saw changes (or this host leads): a
    /// request passed to the old one is not waited for any longer.
    pub async fn leader_changed(&self, from: &str) {
        let mut leader = self.leader.subscribe();
        let mut leading = self.leading.subscribe();
        tokio::select! {
            _ = leader.wait_for(|l| l.as_ref().is_some_and(|(id, _)| id != from)) => {}
            _ = leading.wait_for(|l| l.is_some()) => {}
        }
    }

    /// Told each time this host starts or stops leading.
    pub fn watch_leading(&self) -> watch::Receiver<Option<Fence>> {
        self.leading.subscribe()
    }

    /// The first turn, before the host serves: records this host and tries for the
    /// leader's lease once, so a lone host leads from its first request. On SQLite it
    /// leads whatever happens.
    pub async fn first_turn(&self) -> Result<()> {
        self.beat().await?;
        match self.try_lead().await {
            Ok(Some(fence)) => self.lead(fence),
            Ok(None) => {}
            Err(e) if self.shared => return Err(e),
            Err(_) => {}
        }
        if !self.shared && !self.leads() {
            self.lead(Fence {
                lease: LEADER.into(),
                holder: self.host_id.clone(),
                epoch: 0,
            });
        }
        Ok(())
    }

    fn lead(&self, fence: Fence) {
        if self.leading.borrow().as_ref() != Some(&fence) {
            tracing::info!(host = %self.host_id, epoch = fence.epoch, "this host leads the cluster");
            crate::metrics::set_leader(true, fence.epoch);
            self.leader.send_replace(None);
            self.leading.send_replace(Some(fence));
        }
    }

    /// Runs the heartbeat and the lease until `stop`, when it gives the lease up for the
    /// next host. Call [`Cluster::first_turn`] first.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut last_beat = Some(tokio::time::Instant::now());
        let mut renewed_at = self.leads().then(tokio::time::Instant::now);
        loop {
            let now = tokio::time::Instant::now();
            if last_beat.is_none_or(|at| now.duration_since(at) >= self.heartbeat) {
                match self.beat().await {
                    Ok(()) => last_beat = Some(now),
                    Err(e) => {
                        tracing::warn!(host = %self.host_id, error = %format!("{e:#}"), "cluster heartbeat failed")
                    }
                }
            }
            let leading = self.leading.borrow().is_some();
            let due =
                !leading || renewed_at.is_none_or(|at| now.duration_since(at) >= self.heartbeat);
            if due {
                match self.try_lead().await {
                    Ok(Some(fence)) => {
                        renewed_at = Some(now);
                        if self.shared {
                            self.lead(fence);
                        }
                    }
                    // On SQLite no other host can hold it: keep leading.
                    Ok(None) | Err(_) if !self.shared => {}
                    Ok(None) => {
                        if leading {
                            tracing::warn!(host = %self.host_id, "another host holds the leader's lease; this host follows");
                        }
                        renewed_at = None;
                        self.step_down();
                    }
                    Err(e) => {
                        tracing::warn!(host = %self.host_id, error = %format!("{e:#}"), "renewing the leader's lease failed");
                        let expired = renewed_at.is_none_or(|at| {
                            now.duration_since(at) >= Duration::from_millis(self.lease_ms as u64)
                        });
                        if expired {
                            self.step_down();
                        }
                    }
                }
            }
            let pause = if self.leading.borrow().is_some() {
                self.heartbeat
            } else {
                self.heartbeat / 4
            };
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = self.wake.notified() => last_beat = None,
                _ = stop.changed() => break,
            }
        }
        self.leave().await;
    }

    fn step_down(&self) {
        if self.leading.borrow().is_some() {
            crate::metrics::set_leader(false, 0);
            self.leading.send_replace(None);
        }
    }

    /// Records this host as up and, in a cluster, takes its share of the channels.
    async fn beat(&self) -> Result<()> {
        let (id, started) = (self.host_id.clone(), self.started_at);
        let address = self.address.lock().unwrap().clone();
        let channels = (self.channels)();
        let (shared, ttl) = (self.shared, self.lease_ms);
        let owned = self
            .store
            .write(move |c| {
                let owned = if shared {
                    rows::share_channels(c, &id, &channels, ttl)?
                } else {
                    channels
                };
                rows::heartbeat(c, &id, &address, started, &serde_json::to_string(&owned)?)?;
                Ok(owned)
            })
            .await?;
        crate::metrics::set_channels_owned(owned.len());
        let owned: std::collections::BTreeSet<String> = owned.into_iter().collect();
        self.owned.send_if_modified(|o| {
            let changed = *o != owned;
            if changed {
                *o = owned;
            }
            changed
        });
        Ok(())
    }

    async fn try_lead(&self) -> Result<Option<Fence>> {
        let (id, ttl) = (self.host_id.clone(), self.lease_ms);
        let (epoch, leader) = self
            .store
            .write(move |c| {
                let epoch = rows::acquire(c, LEADER, &id, ttl)?;
                let leader = match epoch {
                    Some(_) => None,
                    None => rows::holder(c, LEADER)?,
                };
                Ok((epoch, leader))
            })
            .await?;
        if epoch.is_none() {
            self.leader.send_if_modified(|seen| {
                let changed = *seen != leader;
                *seen = leader;
                changed
            });
        }
        Ok(epoch.map(|epoch| Fence {
            lease: LEADER.into(),
            holder: self.host_id.clone(),
            epoch,
        }))
    }

    /// Gives the leader's lease up while staying in the cluster (this host could not take
    /// up the role): another host may take it at its next try.
    pub async fn give_up_lead(&self) {
        if !self.shared {
            return;
        }
        let id = self.host_id.clone();
        self.step_down();
        if let Err(e) = self
            .store
            .write(move |c| rows::release(c, LEADER, &id))
            .await
        {
            tracing::warn!(host = %self.host_id, error = %format!("{e:#}"), "could not give the leader's lease up");
        }
    }

    /// A graceful stop: the lease is given up at once and the host marked stopped.
    async fn leave(&self) {
        let id = self.host_id.clone();
        let led = self.leading.borrow().is_some();
        self.step_down();
        let owned: Vec<String> = self.owned.borrow().iter().cloned().collect();
        self.owned.send_replace(Default::default());
        let left = self
            .store
            .write(move |c| {
                if led {
                    rows::release(c, LEADER, &id)?;
                }
                for name in &owned {
                    rows::release(c, &rows::channel_lease(name), &id)?;
                }
                rows::stopped(c, &id)
            })
            .await;
        if let Err(e) = left {
            tracing::warn!(host = %self.host_id, error = %format!("{e:#}"), "could not hand the lease over at stop");
        }
    }

    /// Every host heard from lately, and which leads.
    pub async fn status(&self) -> Result<ClusterStatus> {
        let lease_ms = self.lease_ms;
        let (hosts, leases, now) = self
            .store
            .read(move |c| {
                let now = rows::db_now(c)?;
                let (hosts, _) = rows::hosts(c, now - LISTED_FOR_MS)?;
                Ok((hosts, rows::leases(c)?, now))
            })
            .await?;
        let leader = leases
            .iter()
            .find(|l| l.name == LEADER && l.expires_at >= now)
            .map(|l| l.holder.clone());
        // In a cluster the leases say who runs a channel now; a host's own report may be
        // from before it died.
        let held = |host: &str| -> Option<Vec<String>> {
            self.shared.then(|| {
                leases
                    .iter()
                    .filter(|l| l.holder == host && l.expires_at >= now)
                    .filter_map(|l| l.name.strip_prefix("channel:").map(str::to_owned))
                    .collect()
            })
        };
        let hosts = hosts
            .into_iter()
            .map(|h| {
                let lag_ms = (now - h.heartbeat_at).max(0);
                let state = if h.stopped_at.is_some() {
                    "stopped"
                } else if lag_ms > lease_ms {
                    "missing"
                } else {
                    "up"
                };
                HostStatus {
                    leader: leader.as_deref() == Some(h.host_id.as_str()),
                    channels: held(&h.host_id)
                        .unwrap_or_else(|| serde_json::from_str(&h.channels).unwrap_or_default()),
                    host_id: h.host_id,
                    address: h.address,
                    last_heartbeat: h.heartbeat_at,
                    lag_ms,
                    state: state.into(),
                    started_at: h.started_at,
                }
            })
            .collect();
        Ok(ClusterStatus {
            leader,
            this_host: self.host_id.clone(),
            hosts,
        })
    }
}

/// The id kept in `DATA_DIR/host-id`, made the first time.
fn kept_host_id(data_dir: &std::path::Path) -> Result<String> {
    let path = data_dir.join("host-id");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let id = text.trim();
        if !id.is_empty() {
            return Ok(id.to_owned());
        }
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating data folder {}", data_dir.display()))?;
    let host = hostname();
    let id = format!("{host}-{:08x}", rand::random::<u32>());
    std::fs::write(&path, format!("{id}\n"))
        .with_context(|| format!("keeping this host's id in {}", path.display()))?;
    Ok(id)
}

/// The machine's name, for a host id a person recognises.
fn hostname() -> String {
    let name = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "host".into());
    name.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(32)
        .collect()
}
