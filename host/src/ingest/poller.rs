//! Pollers: the host asks the platform, every `poll_interval_ms`.

use std::sync::Arc;
use std::time::Duration;

use super::Pipeline;
use crate::app::{App, ChannelRuntime};
use crate::store::queries;

/// Polls one channel until the app shuts down or the channel is removed or replaced.
/// The cursor is read from the store and saved in the same transaction as the events it
/// covers, so a crash re-polls from the last stored point instead of skipping anything.
pub async fn run(app: Arc<App>, channel: Arc<ChannelRuntime>) {
    let name = channel.config.name.clone();
    let interval = Duration::from_millis(channel.config.poll_interval_ms);
    let mut stop = channel.stop_signal(&app);
    loop {
        let mut wait = interval;
        match poll_once(&app, &channel).await {
            Ok(_) => channel.record_poll(Ok(())),
            Err(e) => {
                tracing::warn!(channel = %name, error = %format!("{e:#}"), "poll failed; will retry");
                channel.record_poll(Err(format!("{e:#}")));
                if let Some(ms) = e
                    .downcast_ref::<crate::connectors::CallError>()
                    .and_then(retry_after)
                {
                    wait = wait.max(Duration::from_millis(ms));
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

fn retry_after(e: &crate::connectors::CallError) -> Option<u64> {
    match e {
        crate::connectors::CallError::Plugin { retry_after_ms, .. } => *retry_after_ms,
        _ => None,
    }
}

/// One poll: fetch after the saved cursor, store, advance.
pub async fn poll_once(
    app: &Arc<App>,
    channel: &Arc<ChannelRuntime>,
) -> anyhow::Result<super::Report> {
    let name = channel.config.name.clone();
    let cursor = {
        let name = name.clone();
        app.store.read(move |c| queries::cursor(c, &name)).await?
    };
    let (app2, channel2) = (app.clone(), channel.clone());
    let limit = channel.config.post_limit;
    let (decided, next) = tokio::task::spawn_blocking(move || {
        let (events, next) = channel2.connector.poll(cursor.as_deref(), limit)?;
        Ok::<_, anyhow::Error>((Pipeline::decide(&app2, &channel2, events), next))
    })
    .await??;
    let report = Pipeline::accept(app, &name, decided, next).await?;
    if report.created + report.joined > 0 {
        tracing::info!(channel = %name, ?report, "poll stored new messages");
    }
    Ok(report)
}
