//! The host's metrics: one registry every module adds to, rendered by `GET /metrics` in
//! the Prometheus / OpenMetrics text format (`prometheus-client`).
//!
//! This module imports nothing from the rest of the host, so the store, ingest, outbound
//! and the job worker can count without depending on `api`. To add a metric: a field in
//! [`Metrics`], its registration in [`Metrics::new`], and a small function that updates
//! it. Values that are only known at scrape time (read from the store or from the
//! workflows) are added by the page through [`render`]'s `extra` registry instead.

use std::sync::LazyLock;
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

/// 0.5 ms to about 16 s: requests, ingest, commits.
fn latency() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
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
struct StateLabel {
    state: &'static str,
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
    outbound: Family<StateLabel, Counter>,
    webhooks: Family<WebhookLabels, Counter>,
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
        let outbound = Family::<StateLabel, Counter>::default();
        registry.register(
            "outbound",
            "Outbound replies by what became of them: sent, failed, retried, unknown (delivery unknown).",
            outbound.clone(),
        );
        let webhooks = Family::<WebhookLabels, Counter>::default();
        registry.register(
            "webhooks",
            "Webhook requests per channel by outcome: accepted (2xx), malformed (400, 422: the plugin could not read it), refused by the plugin (other 4xx: signature, verify token), error (5xx, the platform delivers again).",
            webhooks.clone(),
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
        let cluster_epoch = Gauge::default();
        registry.register(
            "cluster_leader_epoch",
            "The epoch of the leader's lease this host last held (0: never).",
            cluster_epoch.clone(),
        );
        // Every label value known in advance is shown from the start (at zero), so a
        // dashboard or alert does not see a series appear only after the first event.
        for state in [
            OutboundState::Sent,
            OutboundState::Failed,
            OutboundState::Retried,
            OutboundState::Unknown,
        ] {
            drop(outbound.get_or_create(&StateLabel {
                state: state.label(),
            }));
        }
        Metrics {
            registry,
            workflow_errors,
            outbound,
            webhooks,
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
        }
    }
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// Counts a workflow handler that failed (its interaction took the fallback route).
pub fn workflow_error() {
    METRICS.workflow_errors.inc();
}

/// Counts an outbound reply reaching `state`.
pub fn outbound(state: OutboundState) {
    METRICS
        .outbound
        .get_or_create(&StateLabel {
            state: state.label(),
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

/// Counts a group of writes that could not be committed.
pub fn store_commit_failed() {
    METRICS.commit_failures.inc();
}

/// Sets the durable jobs gauges: waiting or running, and given up.
pub fn set_jobs(pending: i64, failed: i64) {
    METRICS.jobs_pending.set(pending);
    METRICS.jobs_failed.set(failed);
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

    #[test]
    fn counters_show_on_the_page_with_their_labels() {
        webhook("metrics-test", WebhookOutcome::Refused);
        webhook("metrics-test", WebhookOutcome::Refused);
        outbound(OutboundState::Unknown);
        store_commit(Duration::from_millis(3));
        store_commit_writes(5);
        http_request(
            "/api/v1/interactions/{id}",
            "GET",
            200,
            Duration::from_millis(2),
        );
        set_leader(true, 4);
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
            page.contains("switchboard_outbound_total{state=\"sent\"}"),
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
            page.contains("switchboard_cluster_leader_epoch 4"),
            "{page}"
        );
        assert!(page.ends_with("# EOF\n"), "{page}");
    }
}
