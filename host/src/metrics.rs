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
        assert!(page.ends_with("# EOF\n"), "{page}");
    }
}
