//! The host's metrics: one registry every module adds to, rendered by `GET /metrics` in
//! the Prometheus / OpenMetrics text format (`prometheus-client`).
//!
//! This module imports nothing from the rest of the host, so the store, ingest, outbound
//! and the job worker can count without depending on `api`. To add a metric: a field in
//! [`Metrics`], its registration in [`Metrics::new`], and a small function that updates
//! it. Values that are only known at scrape time (read from the store or from the
//! workflows) are added by the page through [`render`]'s `extra` registry instead.

use std::sync::LazyLock;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Every metric name starts with this.
pub(crate) const PREFIX: &str = "switchboard";

/// What became of an outbound reply (a state change of an outbox entry).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OutboundState {
    /// The platform accepted it.
    Sent,
    /// It failed for good (the agent sees why).
    Failed,
    /// An attempt failed and another one is scheduled.
    Retried,
    /// The send may or may not have reached the platform: shown as delivery unknown.
    Unknown,
}

impl OutboundState {
    fn label(self) -> &'static str {
        match self {
            OutboundState::Sent => "sent",
            OutboundState::Failed => "failed",
            OutboundState::Retried => "retried",
            OutboundState::Unknown => "unknown",
        }
    }
}

/// How the host answered one webhook request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WebhookOutcome {
    /// Answered 2xx: its events (if any) are stored.
    Accepted,
    /// The plugin refused it (bad signature, wrong verify token): 401, 403 and the
    /// other 4xx.
    Refused,
    /// The plugin could not read it (400, 422): a body the platform should not send.
    Malformed,
    /// The host could not process or store it and answered 5xx: the platform delivers again.
    Error,
}

impl WebhookOutcome {
    fn label(self) -> &'static str {
        match self {
            WebhookOutcome::Accepted => "accepted",
            WebhookOutcome::Refused => "refused",
            WebhookOutcome::Malformed => "malformed",
            WebhookOutcome::Error => "error",
        }
    }
}

/// A histogram family's constructor: the buckets every series of it gets.
type Buckets = fn() -> Histogram;

/// 0.5 ms to about 16 s: requests, ingest, commits, plugin calls (their HTTP included:
/// the default call deadline is 10 s).
fn latency() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

/// 0.1 ms to about 0.8 s: workflow handlers, whose wall-clock limit is 250 ms.
fn handler_latency() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.0, 14))
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    /// The route's template (`/api/v1/interactions/{id}`), never the raw path: the
    /// number of series stays bounded whatever clients send.
    route: String,
    method: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabel {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChannelLabel {
    channel: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutboundLabels {
    /// The plugin's platform family (`facebook`, `x`, ...): one per installed plugin.
    platform: String,
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PlatformLabel {
    platform: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PluginCallLabels {
    channel: String,
    /// The connector export (`handle-webhook`, `send`, ...): a literal of the host's.
    call: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HandlerLabel {
    /// A workflow initiator the host calls (`on_inbound`, `on_timer`, ...).
    handler: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WorkgroupLabel {
    /// A configured workgroup's name: administrators create them, customers cannot.
    workgroup: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WebhookLabels {
    channel: String,
    outcome: &'static str,
}

/// The process-wide metrics. Cloning a metric clones a handle to the same value.
struct Metrics {
    registry: Registry,
    workflow_errors: Counter,
    workflow_handler_seconds: Family<HandlerLabel, Histogram, Buckets>,
    workflow_handler_errors: Family<HandlerLabel, Counter>,
    outbound: Family<OutboundLabels, Counter>,
    outbound_send_seconds: Family<PlatformLabel, Histogram, Buckets>,
    webhooks: Family<WebhookLabels, Counter>,
    ingest_messages: Family<WebhookLabels, Counter>,
    media_downloads: Family<WebhookLabels, Counter>,
    plugin_call_seconds: Family<PluginCallLabels, Histogram, Buckets>,
    plugin_traps: Family<PluginCallLabels, Counter>,
    plugin_restarts: Family<ChannelLabel, Counter>,
    workgroup_offers: Family<WorkgroupLabel, Counter>,
    workgroup_alert_timeouts: Family<WorkgroupLabel, Counter>,
    workgroup_answered: Family<WorkgroupLabel, Counter>,
    workgroup_answered_in_target: Family<WorkgroupLabel, Counter>,
    commit_seconds: Histogram,
    commit_failures: Counter,
    jobs_pending: Gauge,
    jobs_failed: Gauge,
    plugin_log_lines: Family<PluginLogLabels, Counter>,
    http_requests: Family<HttpLabels, Counter>,
    http_seconds: Family<RouteLabel, Histogram, Buckets>,
    webhook_seconds: Family<ChannelLabel, Histogram, Buckets>,
    batch_writes: Histogram,
    cluster_leader: Gauge,
    cluster_epoch: Gauge,
    cluster_channels: Gauge,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PluginLogLabels {
    channel: String,
    level: &'static str,
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::with_prefix(PREFIX);
        let workflow_errors = Counter::default();
        registry.register(
            "workflow_errors",
            "Workflow handler calls that failed; their interactions took the fallback route.",
            workflow_errors.clone(),
        );
        let workflow_handler_seconds =
            Family::<HandlerLabel, Histogram, Buckets>::new_with_constructor(handler_latency);
        registry.register(
            "workflow_handler_seconds",
            "Time one workflow handler call took (on_inbound, on_timer, on_agent_reply, ...), in seconds.",
            workflow_handler_seconds.clone(),
        );
        let workflow_handler_errors = Family::<HandlerLabel, Counter>::default();
        registry.register(
            "workflow_handler_errors",
            "Workflow handler calls that failed, per handler (the same failures as workflow_errors, which also counts a script that is not loaded).",
            workflow_handler_errors.clone(),
        );
        let outbound = Family::<OutboundLabels, Counter>::default();
        registry.register(
            "outbound",
            "Outbound replies per platform by what became of them: sent, failed, retried, unknown (delivery unknown).",
            outbound.clone(),
        );
        let outbound_send_seconds =
            Family::<PlatformLabel, Histogram, Buckets>::new_with_constructor(latency);
        registry.register(
            "outbound_send_seconds",
            "Time of the platform call of one send attempt (the plugin's send, its HTTP included), per platform, in seconds.",
            outbound_send_seconds.clone(),
        );
        let webhooks = Family::<WebhookLabels, Counter>::default();
        registry.register(
            "webhooks",
            "Webhook requests per channel by outcome: accepted (2xx), malformed (400, 422: the plugin could not read it), refused by the plugin (other 4xx: signature, verify token), error (5xx, the platform delivers again).",
            webhooks.clone(),
        );
        let media_downloads = Family::<WebhookLabels, Counter>::default();
        registry.register(
            "media_downloads",
            "Attachment download attempts per channel: stored, retry (failed, tried again later) or failed (given up)",
            media_downloads.clone(),
        );
        let ingest_messages = Family::<WebhookLabels, Counter>::default();
        registry.register(
            "ingest_messages",
            "Messages platforms delivered (webhook, poll or stream), per channel: stored (new) or duplicate (the store already had its platform id: a redelivery).",
            ingest_messages.clone(),
        );
        let plugin_call_seconds =
            Family::<PluginCallLabels, Histogram, Buckets>::new_with_constructor(latency);
        registry.register(
            "plugin_call_seconds",
            "Time of one call into a plugin instance, per channel and export (handle-webhook, poll, send, find-sent, stream-lines, configure, ...), in seconds; a call run again after a trap counts twice.",
            plugin_call_seconds.clone(),
        );
        let plugin_traps = Family::<PluginCallLabels, Counter>::default();
        registry.register(
            "plugin_traps",
            "Plugin calls that trapped, ran out of memory or ran past their deadline, per channel and export.",
            plugin_traps.clone(),
        );
        let plugin_restarts = Family::<ChannelLabel, Counter>::default();
        registry.register(
            "plugin_restarts",
            "Plugin instances thrown away after a trap or overrun and replaced by a fresh one, per channel.",
            plugin_restarts.clone(),
        );
        let workgroup_offers = Family::<WorkgroupLabel, Counter>::default();
        registry.register(
            "workgroup_offers",
            "Offers of an interaction to an agent, recorded in the store, per workgroup (counted by the leader, which routes).",
            workgroup_offers.clone(),
        );
        let workgroup_alert_timeouts = Family::<WorkgroupLabel, Counter>::default();
        registry.register(
            "workgroup_alert_timeouts",
            "Offers not picked up within the workgroup's alert timeout (the interaction went back to the queue), per workgroup.",
            workgroup_alert_timeouts.clone(),
        );
        let workgroup_answered = Family::<WorkgroupLabel, Counter>::default();
        registry.register(
            "workgroup_answered",
            "Interactions answered (picked up by an agent for the first time), per workgroup.",
            workgroup_answered.clone(),
        );
        let workgroup_answered_in_target = Family::<WorkgroupLabel, Counter>::default();
        registry.register(
            "workgroup_answered_in_target",
            "Interactions answered within the workgroup's service-level target (sl_target_s) of being queued; divided by workgroup_answered_total, the service level.",
            workgroup_answered_in_target.clone(),
        );
        // 0.5 ms to about 8 s: a commit with synchronous=FULL is one or two fsyncs.
        let commit_seconds = Histogram::new(exponential_buckets(0.0005, 2.0, 15));
        registry.register(
            "store_commit_seconds",
            "Time to commit one group of writes (COMMIT with its fsync), in seconds.",
            commit_seconds.clone(),
        );
        let commit_failures = Counter::default();
        registry.register(
            "store_commit_failures",
            "Groups of writes that could not be committed (disk full, I/O error); every write in the group was answered with an error.",
            commit_failures.clone(),
        );
        let plugin_log_lines = Family::<PluginLogLabels, Counter>::default();
        registry.register(
            "plugin_log_lines",
            "Warnings and errors plugins logged, per channel and level (a plugin logs an unreadable payload it acknowledged as an error).",
            plugin_log_lines.clone(),
        );
        let jobs_pending = Gauge::default();
        registry.register(
            "jobs_pending",
            "Durable follow-up jobs waiting or running.",
            jobs_pending.clone(),
        );
        let jobs_failed = Gauge::default();
        registry.register(
            "jobs_failed",
            "Durable follow-up jobs that gave up after their retries.",
            jobs_failed.clone(),
        );
        let http_requests = Family::<HttpLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route template, method and status.",
            http_requests.clone(),
        );
        let http_seconds = Family::<RouteLabel, Histogram, Buckets>::new_with_constructor(latency);
        registry.register(
            "http_request_seconds",
            "Time from a request's arrival to its answer, per route template, in seconds.",
            http_seconds.clone(),
        );
        let webhook_seconds =
            Family::<ChannelLabel, Histogram, Buckets>::new_with_constructor(latency);
        registry.register(
            "webhook_seconds",
            "Ingest latency: a webhook's arrival to its answer (its events stored and committed), per channel, in seconds.",
            webhook_seconds.clone(),
        );
        // 1 to 1024 writes: the group commit's size.
        let batch_writes = Histogram::new(exponential_buckets(1.0, 2.0, 11));
        registry.register(
            "store_commit_writes",
            "Writes committed together in one group commit.",
            batch_writes.clone(),
        );
        let cluster_leader = Gauge::default();
        registry.register(
            "cluster_leader",
            "1 while this host holds the leader's lease, else 0.",
            cluster_leader.clone(),
        );
        let cluster_channels = Gauge::default();
        registry.register(
            "cluster_channels_owned",
            "Channels whose lease this host holds: it polls them and holds their streams.",
            cluster_channels.clone(),
        );
        let cluster_epoch = Gauge::default();
        registry.register(
            "cluster_leader_epoch",
            "The epoch of the leader's lease this host last held (0: never).",
            cluster_epoch.clone(),
        );
        Metrics {
            registry,
            workflow_errors,
            workflow_handler_seconds,
            workflow_handler_errors,
            outbound,
            outbound_send_seconds,
            webhooks,
            ingest_messages,
            media_downloads,
            plugin_call_seconds,
            plugin_traps,
            plugin_restarts,
            workgroup_offers,
            workgroup_alert_timeouts,
            workgroup_answered,
            workgroup_answered_in_target,
            plugin_log_lines,
            commit_seconds,
            commit_failures,
            jobs_pending,
            jobs_failed,
            http_requests,
            http_seconds,
            webhook_seconds,
            batch_writes,
            cluster_leader,
            cluster_epoch,
            cluster_channels,
        }
    }
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// Counts a workflow handler that failed (its interaction took the fallback route).
pub fn workflow_error() {
    METRICS.workflow_errors.inc();
}

/// Shows the error count of every handler the engine calls from the start, at zero, so
/// an alert on its increase sees the first failure. `handlers` is the engine's fixed list.
pub fn workflow_handlers(handlers: impl IntoIterator<Item = &'static str>) {
    for handler in handlers {
        drop(
            METRICS
                .workflow_handler_errors
                .get_or_create(&HandlerLabel { handler }),
        );
    }
}

/// Records one call of workflow `handler`: how long it took and whether it failed.
/// `handler` is one of the engine's initiators, never a script's own function name.
pub fn workflow_handler(handler: &'static str, took: Duration, failed: bool) {
    let label = HandlerLabel { handler };
    METRICS
        .workflow_handler_seconds
        .get_or_create(&label)
        .observe(took.as_secs_f64());
    if failed {
        METRICS.workflow_handler_errors.get_or_create(&label).inc();
    }
}

/// Every state an outbound reply can reach.
const OUTBOUND_STATES: [OutboundState; 4] = [
    OutboundState::Sent,
    OutboundState::Failed,
    OutboundState::Retried,
    OutboundState::Unknown,
];

/// Counts an outbound reply of `platform` reaching `state`. A platform's first count
/// also shows its other states (at zero): platforms are known only once a channel sends,
/// and a dashboard or alert should not see a series appear only with its first event.
pub fn outbound(platform: &str, state: OutboundState) {
    let labels = |state: OutboundState| OutboundLabels {
        platform: platform.to_owned(),
        state: state.label(),
    };
    let seen = METRICS.outbound.get(&labels(state)).is_some();
    if !seen {
        for other in OUTBOUND_STATES {
            drop(METRICS.outbound.get_or_create(&labels(other)));
        }
    }
    METRICS.outbound.get_or_create(&labels(state)).inc();
}

/// Records how long the platform call of one send attempt took on `platform`.
pub fn outbound_send_latency(platform: &str, took: Duration) {
    METRICS
        .outbound_send_seconds
        .get_or_create(&PlatformLabel {
            platform: platform.to_owned(),
        })
        .observe(took.as_secs_f64());
}

/// Counts the messages one committed batch of `channel` carried: `stored` new ones and
/// `duplicates` the store already had (a platform delivering again). Both series appear
/// with the channel's first batch, so a first duplicate is seen as an increase.
pub fn ingested(channel: &str, stored: usize, duplicates: usize) {
    for (outcome, n) in [("stored", stored), ("duplicate", duplicates)] {
        METRICS
            .ingest_messages
            .get_or_create(&WebhookLabels {
                channel: channel.to_owned(),
                outcome,
            })
            .inc_by(n as u64);
    }
}

/// Counts one attachment download attempt of `channel` and how it ended (`stored`,
/// `retry`, `failed`).
pub fn media_download(channel: &str, outcome: &'static str) {
    METRICS
        .media_downloads
        .get_or_create(&WebhookLabels {
            channel: channel.to_owned(),
            outcome,
        })
        .inc();
}

/// Records one call into `channel`'s plugin instance: the export `call` and how long it
/// took. `call` is a literal of the host's (the export's name), so the set is fixed.
pub fn plugin_call(channel: &str, call: &'static str, took: Duration) {
    METRICS
        .plugin_call_seconds
        .get_or_create(&PluginCallLabels {
            channel: channel.to_owned(),
            call,
        })
        .observe(took.as_secs_f64());
}

/// Counts a call of `channel`'s plugin that trapped or overran, and the instance that
/// was thrown away for it (the next run makes a fresh one).
pub fn plugin_trap(channel: &str, call: &'static str) {
    METRICS
        .plugin_traps
        .get_or_create(&PluginCallLabels {
            channel: channel.to_owned(),
            call,
        })
        .inc();
    METRICS
        .plugin_restarts
        .get_or_create(&ChannelLabel {
            channel: channel.to_owned(),
        })
        .inc();
}

/// Shows `workgroup`'s offer and alert-timeout counts (at zero until the first one), so
/// an alert on their increase sees the first event. Called with the configured names.
pub fn workgroup_known(workgroup: &str) {
    let label = WorkgroupLabel {
        workgroup: workgroup.to_owned(),
    };
    drop(METRICS.workgroup_offers.get_or_create(&label));
    drop(METRICS.workgroup_alert_timeouts.get_or_create(&label));
    drop(METRICS.workgroup_answered.get_or_create(&label));
    drop(METRICS.workgroup_answered_in_target.get_or_create(&label));
}

/// Counts an interaction of `workgroup` answered for the first time, and whether within
/// the workgroup's service-level target.
pub fn workgroup_answered(workgroup: &str, in_target: bool) {
    let label = WorkgroupLabel {
        workgroup: workgroup.to_owned(),
    };
    METRICS.workgroup_answered.get_or_create(&label).inc();
    if in_target {
        METRICS
            .workgroup_answered_in_target
            .get_or_create(&label)
            .inc();
    }
}

/// Counts an offer to an agent of an interaction of `workgroup`, once it is durable.
pub fn workgroup_offer(workgroup: &str) {
    METRICS
        .workgroup_offers
        .get_or_create(&WorkgroupLabel {
            workgroup: workgroup.to_owned(),
        })
        .inc();
}

/// Counts an offer of `workgroup` that was not picked up in time (back to the queue).
pub fn workgroup_alert_timeout(workgroup: &str) {
    METRICS
        .workgroup_alert_timeouts
        .get_or_create(&WorkgroupLabel {
            workgroup: workgroup.to_owned(),
        })
        .inc();
}

/// Counts one webhook request of `channel` and how it was answered.
pub fn webhook(channel: &str, outcome: WebhookOutcome) {
    METRICS
        .webhooks
        .get_or_create(&WebhookLabels {
            channel: channel.to_owned(),
            outcome: outcome.label(),
        })
        .inc();
}

/// Counts a warning (`error: false`) or an error a plugin logged for `channel`.
pub fn plugin_log_line(channel: &str, error: bool) {
    METRICS
        .plugin_log_lines
        .get_or_create(&PluginLogLabels {
            channel: channel.to_owned(),
            level: if error { "error" } else { "warn" },
        })
        .inc();
}

/// Records how long one group commit took.
pub fn store_commit(took: Duration) {
    METRICS.commit_seconds.observe(took.as_secs_f64());
}

/// Records how many writes one group commit carried.
pub fn store_commit_writes(writes: usize) {
    METRICS.batch_writes.observe(writes as f64);
}

/// Counts one answered HTTP request of `route` (its template) and how long it took.
pub fn http_request(route: &str, method: &str, status: u16, took: Duration) {
    METRICS
        .http_requests
        .get_or_create(&HttpLabels {
            route: route.to_owned(),
            method: method.to_owned(),
            status,
        })
        .inc();
    METRICS
        .http_seconds
        .get_or_create(&RouteLabel {
            route: route.to_owned(),
        })
        .observe(took.as_secs_f64());
}

/// Records how long a configured channel's webhook took to be stored and answered.
pub fn webhook_latency(channel: &str, took: Duration) {
    METRICS
        .webhook_seconds
        .get_or_create(&ChannelLabel {
            channel: channel.to_owned(),
        })
        .observe(took.as_secs_f64());
}

/// Whether this host leads now, and the epoch of the lease it last held.
pub fn set_leader(leading: bool, epoch: i64) {
    METRICS.cluster_leader.set(leading as i64);
    if epoch > 0 {
        METRICS.cluster_epoch.set(epoch);
    }
}

/// Sets how many channels this host owns.
pub fn set_channels_owned(count: usize) {
    METRICS.cluster_channels.set(count as i64);
}

/// Counts a group of writes that could not be committed.
pub fn store_commit_failed() {
    METRICS.commit_failures.inc();
}

/// Sets the durable jobs gauges: waiting or running, and given up.
pub fn set_jobs(pending: i64, failed: i64) {
    METRICS.jobs_pending.set(pending);
    METRICS.jobs_failed.set(failed);
}

/// One workgroup's live queue as the router sees it, read when the page is asked for.
pub struct WorkgroupQueue {
    /// The workgroup's name.
    pub workgroup: String,
    /// Interactions waiting for an agent.
    pub waiting: i64,
    /// Members whose status is Available and who owe no wrap-up.
    pub available: i64,
    /// How long the oldest waiting one has waited, in seconds (0: none waits).
    pub longest_wait_s: f64,
}

/// Adds the workgroups' live queues to a scrape's `extra` registry. Only the leader
/// routes, so only its page has them: a follower leaves them out rather than show zeros.
pub fn register_queues(extra: &mut Registry, queues: Vec<WorkgroupQueue>) {
    let waiting = Family::<WorkgroupLabel, Gauge>::default();
    let available = Family::<WorkgroupLabel, Gauge>::default();
    let longest = Family::<WorkgroupLabel, Gauge<f64, AtomicU64>>::default();
    for queue in queues {
        let label = WorkgroupLabel {
            workgroup: queue.workgroup,
        };
        waiting.get_or_create(&label).set(queue.waiting);
        available.get_or_create(&label).set(queue.available);
        longest.get_or_create(&label).set(queue.longest_wait_s);
    }
    extra.register(
        "workgroup_waiting",
        "Interactions waiting in the workgroup's queue (reported by the leader only).",
        waiting,
    );
    extra.register(
        "workgroup_available_agents",
        "Members of the workgroup whose status is Available and who owe no wrap-up (reported by the leader only).",
        available,
    );
    extra.register(
        "workgroup_longest_wait_seconds",
        "How long the workgroup's oldest waiting interaction has waited, in seconds; 0 when none waits (reported by the leader only).",
        longest,
    );
}

/// Adds each running channel's messages held by a pause and not yet routed (`waiting`,
/// read from the store at scrape time: 0 for a channel that is not paused) to `extra`.
pub fn register_channel_waiting(extra: &mut Registry, waiting: Vec<(String, i64)>) {
    let family = Family::<ChannelLabel, Gauge>::default();
    for (channel, n) in waiting {
        family.get_or_create(&ChannelLabel { channel }).set(n);
    }
    extra.register(
        "channel_waiting",
        "Messages a paused channel stored but has not routed yet, per channel (counting down after a resume as they are routed).",
        family,
    );
}

/// The metrics page: every registered metric, then what `extra` registers (values read
/// at scrape time; create it with [`scrape_registry`]).
pub fn render(extra: &Registry) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = encode_registry(&mut out, &METRICS.registry);
    let _ = encode_registry(&mut out, extra);
    let _ = encode_eof(&mut out);
    out
}

/// An empty registry with the host's name prefix, for values read at scrape time.
pub fn scrape_registry() -> Registry {
    Registry::with_prefix(PREFIX)
}

/// The content type of [`render`]'s page.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::metrics::gauge::ConstGauge;

    /// Whether `page` has `line`, a series with its labels and value, as a whole line.
    fn has(page: &str, line: &str) -> bool {
        page.lines().any(|l| l == line)
    }

    #[test]
    fn ingest_plugin_workflow_and_workgroup_series_show_with_their_labels() {
        ingested("metrics-ingest", 3, 1);
        outbound_send_latency("metrics-platform", Duration::from_millis(40));
        plugin_call("metrics-plugin", "handle-webhook", Duration::from_millis(2));
        plugin_trap("metrics-plugin", "send");
        workflow_handlers(["on_timer"]);
        workflow_handler("on_inbound", Duration::from_millis(1), true);
        workgroup_known("Metrics Quiet");
        workgroup_offer("Metrics");
        workgroup_offer("Metrics");
        workgroup_alert_timeout("Metrics");
        workgroup_answered("Metrics", true);
        workgroup_answered("Metrics", false);
        let mut extra = scrape_registry();
        register_queues(
            &mut extra,
            vec![WorkgroupQueue {
                workgroup: "Metrics".into(),
                waiting: 2,
                available: 1,
                longest_wait_s: 1.5,
            }],
        );
        let page = render(&extra);
        for line in [
            "switchboard_ingest_messages_total{channel=\"metrics-ingest\",outcome=\"stored\"} 3",
            "switchboard_ingest_messages_total{channel=\"metrics-ingest\",outcome=\"duplicate\"} 1",
            "switchboard_outbound_send_seconds_count{platform=\"metrics-platform\"} 1",
            "switchboard_plugin_call_seconds_count{channel=\"metrics-plugin\",call=\"handle-webhook\"} 1",
            "switchboard_plugin_traps_total{channel=\"metrics-plugin\",call=\"send\"} 1",
            "switchboard_plugin_restarts_total{channel=\"metrics-plugin\"} 1",
            "switchboard_workflow_handler_seconds_count{handler=\"on_inbound\"} 1",
            "switchboard_workflow_handler_errors_total{handler=\"on_inbound\"} 1",
            "switchboard_workflow_handler_errors_total{handler=\"on_timer\"} 0",
            "switchboard_workgroup_offers_total{workgroup=\"Metrics\"} 2",
            "switchboard_workgroup_offers_total{workgroup=\"Metrics Quiet\"} 0",
            "switchboard_workgroup_alert_timeouts_total{workgroup=\"Metrics\"} 1",
            "switchboard_workgroup_alert_timeouts_total{workgroup=\"Metrics Quiet\"} 0",
            "switchboard_workgroup_answered_total{workgroup=\"Metrics\"} 2",
            "switchboard_workgroup_answered_in_target_total{workgroup=\"Metrics\"} 1",
            "switchboard_workgroup_answered_in_target_total{workgroup=\"Metrics Quiet\"} 0",
            "switchboard_workgroup_waiting{workgroup=\"Metrics\"} 2",
            "switchboard_workgroup_available_agents{workgroup=\"Metrics\"} 1",
            "switchboard_workgroup_longest_wait_seconds{workgroup=\"Metrics\"} 1.5",
        ] {
            assert!(has(&page, line), "{line} missing from:\n{page}");
        }
        // A histogram's buckets carry its labels.
        assert!(
            page.lines()
                .any(|l| l.starts_with("switchboard_plugin_call_seconds_bucket{")
                    && l.contains("channel=\"metrics-plugin\",call=\"handle-webhook\"")),
            "{page}"
        );
    }

    #[test]
    fn counters_show_on_the_page_with_their_labels() {
        webhook("metrics-test", WebhookOutcome::Refused);
        webhook("metrics-test", WebhookOutcome::Refused);
        outbound("metrics-test", OutboundState::Unknown);
        store_commit(Duration::from_millis(3));
        store_commit_writes(5);
        http_request(
            "/api/v1/interactions/{id}",
            "GET",
            200,
            Duration::from_millis(2),
        );
        set_leader(true, 4);
        set_channels_owned(3);
        let mut extra = scrape_registry();
        extra.register(
            "test_value",
            "A value read at scrape time.",
            ConstGauge::new(7i64),
        );
        let page = render(&extra);
        assert!(
            page.contains(
                "switchboard_webhooks_total{channel=\"metrics-test\",outcome=\"refused\"} 2"
            ),
            "{page}"
        );
        assert!(
            page.contains(
                "switchboard_outbound_total{platform=\"metrics-test\",state=\"unknown\"} 1"
            ),
            "{page}"
        );
        // The platform's other states show from its first count, at zero.
        assert!(
            page.contains("switchboard_outbound_total{platform=\"metrics-test\",state=\"sent\"} 0"),
            "{page}"
        );
        assert!(
            page.contains("switchboard_store_commit_seconds_bucket"),
            "{page}"
        );
        assert!(page.contains("switchboard_test_value 7"), "{page}");
        assert!(
            page.contains("switchboard_http_requests_total{route=\"/api/v1/interactions/{id}\",method=\"GET\",status=\"200\"} 1"),
            "{page}"
        );
        assert!(
            page.contains("switchboard_http_request_seconds_bucket{le="),
            "{page}"
        );
        assert!(
            page.contains("switchboard_store_commit_writes_count"),
            "{page}"
        );
        assert!(page.contains("switchboard_cluster_leader 1"), "{page}");
        assert!(
            page.contains("switchboard_cluster_channels_owned 3"),
            "{page}"
        );
        assert!(
            page.contains("switchboard_cluster_leader_epoch 4"),
            "{page}"
        );
        assert!(page.ends_with("# EOF\n"), "{page}");
    }
}
