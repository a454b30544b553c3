//! Pollers: the host asks the platform, every `poll_interval_ms`.

use std::sync::Arc;
use std::time::Duration;

use super::Pipeline;
use crate::channels::ChannelRuntime;
use crate::interactions::Core;
use crate::store::queries;

/// Polls one channel until the core shuts down or the channel is removed or replaced.
/// The cursor is read from the store and saved in the same transaction as the events it
/// covers, so a crash re-polls from the last stored point instead of skipping anything.
pub async fn run(core: Core, channel: Arc<ChannelRuntime>) {
    let name = channel.config.name.clone();
    let interval = Duration::from_millis(channel.config.poll_interval_ms);
    let mut stop = channel.stop_signal(&core.stop);
    // How long to wait after a poll that failed for a reason only a change of settings
    // fixes (a host off the allowlist, refused credentials): doubling, so a channel set up
    // wrong does not ask the platform every interval forever.
    let mut settled = interval;
    loop {
        // In a cluster one host polls each channel: the one with its lease. The cursor
        // is in the store, so the next owner goes on where the last one stopped.
        if !core.cluster.owns(&name) {
            tokio::select! {
                _ = core.cluster.until_owned(&name) => {}
                _ = stop.stopped() => break,
            }
            continue;
        }
        let mut wait = interval;
        match poll_once(&core, &channel).await {
            Ok(polled) => match polled.all_failed {
                None => {
                    settled = interval;
                    channel.record_poll(Ok(()))
                }
                // Every source failed: the poll failed, and waits for the nearest reset
                // when each of them waits for one.
                Some(why) => {
                    tracing::warn!(channel = %name, error = %why, "every source of the poll failed; will retry");
                    channel.record_poll(Err(why));
                    if let Some(at) = polled.retry_at {
                        let ms = (at - crate::clock::now_ms()).max(0) as u64;
                        wait = wait.max(Duration::from_millis(ms));
                    }
                }
            },
            Err(e) => {
                channel.record_poll(Err(format!("{e:#}")));
                let call = e.downcast_ref::<crate::connectors::CallError>();
                if let Some(ms) = call.and_then(retry_after) {
                    wait = wait.max(Duration::from_millis(ms));
                }
                if call.is_some_and(|c| !c.retryable()) {
                    settled = next_settled(interval, settled);
                    wait = wait.max(settled);
                    tracing::warn!(channel = %name, error = %format!("{e:#}"),
                        wait_s = wait.as_secs(),
                        "poll failed: the channel's settings or credentials need a change; asking less often until they work");
                } else {
                    tracing::warn!(channel = %name, error = %format!("{e:#}"), "poll failed; will retry");
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.stopped() => break,
        }
    }
    channel.set_polling(false);
    tracing::info!(channel = %name, "poller stopped");
}

/// The longest wait between polls of a channel that fails for its settings.
const MAX_SETTLED_WAIT: Duration = Duration::from_secs(300);

/// The next wait after another poll failed for its settings: twice the last, from the
/// interval up to [`MAX_SETTLED_WAIT`] (never below the interval).
fn next_settled(interval: Duration, last: Duration) -> Duration {
    (last * 2).min(MAX_SETTLED_WAIT).max(interval)
}

fn retry_after(e: &crate::connectors::CallError) -> Option<u64> {
    match e {
        crate::connectors::CallError::Plugin { retry_after_ms, .. } => *retry_after_ms,
        _ => None,
    }
}

/// What one poll did.
#[derive(Debug)]
pub struct Polled {
    /// What was stored.
    pub report: super::Report,
    /// Why, when every source the connector reported failed.
    pub all_failed: Option<String>,
    /// The nearest time a failed source is asked again, when every one has such a time.
    pub retry_at: Option<i64>,
}

/// One poll: fetch after the saved cursor, store, advance. Each source the connector
/// reports is recorded in the channel's status after the batch is stored: a failing
/// source shows its error there while the others' messages are stored and their places
/// saved with the cursor.
pub async fn poll_once(core: &Core, channel: &Arc<ChannelRuntime>) -> anyhow::Result<Polled> {
    let name = channel.config.name.clone();
    let cursor = {
        let name = name.clone();
        core.store.read(move |c| queries::cursor(c, &name)).await?
    };
    let (core2, channel2) = (core.clone(), channel.clone());
    let limit = channel.config.post_limit;
    let (decided, next, sources) = tokio::task::spawn_blocking(move || {
        let polled = channel2.connector.poll(cursor.as_deref(), limit)?;
        Ok::<_, anyhow::Error>((
            Pipeline::decide(&core2, &channel2, polled.events),
            polled.next_cursor,
            polled.sources,
        ))
    })
    .await??;
    let report = Pipeline::accept(core, &name, decided, next).await?;
    if report.created + report.joined > 0 {
        tracing::info!(channel = %name, ?report, "poll stored new messages");
    }
    for source in &sources {
        for warning in &source.warnings {
            tracing::warn!(channel = %name, source = %source.name, %warning, "part of a poll answer was not usable");
        }
        if let Some(error) = &source.error {
            tracing::warn!(channel = %name, source = %source.name, %error, "poll source failed; the others go on");
        }
    }
    let all_failed = crate::connectors::sources::all_failed(&sources);
    let retry_at = if sources.iter().all(|s| s.retry_at.is_some()) {
        sources.iter().filter_map(|s| s.retry_at).min()
    } else {
        None
    };
    if !sources.is_empty() {
        channel.record_sources(sources);
    }
    Ok(Polled {
        report,
        all_failed,
        retry_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_channel_failing_for_its_settings_is_asked_less_and_less_often() {
        let interval = Duration::from_secs(2);
        let mut wait = interval;
        let mut waits = Vec::new();
        for _ in 0..10 {
            wait = next_settled(interval, wait);
            waits.push(wait.as_secs());
        }
        assert_eq!(waits, [4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
        // A slow interval is never shortened.
        let slow = Duration::from_secs(600);
        assert_eq!(next_settled(slow, slow), slow);
    }
}
