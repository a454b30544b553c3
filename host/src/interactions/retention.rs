//! The retention purge: every hour the leader removes the content and personal data of
//! interactions that ended longer ago than their channel's retention period (its
//! `retention_days`, else `[retention] days`), in batches, so a first run over years of
//! history never holds the writer for long. See [`crate::store::retention`] for what is
//! removed and what stays.

use std::time::Duration;

use anyhow::Result;

use super::Core;
use crate::clock::now_ms;
use crate::store::retention;

/// How often the purge runs.
pub const EVERY_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;
/// Interactions scrubbed per write.
const BATCH: i64 = 200;

/// The retention period of each channel that has one, in days: the configured channels'
/// own or `global`, and `global` for channels that exist only in the store now.
async fn periods(core: &Core, global: Option<u32>) -> Result<Vec<(String, u32)>> {
    let mut out: Vec<(String, u32)> = core
        .channels
        .list()
        .iter()
        .filter_map(|ch| {
            ch.config
                .retention_days
                .or(global)
                .map(|d| (ch.config.name.clone(), d))
        })
        .collect();
    if let Some(days) = global {
        let known: Vec<String> = core
            .channels
            .list()
            .iter()
            .map(|c| c.config.name.clone())
            .collect();
        let stored: Vec<String> = core
            .store
            .read(|c| {
                let mut stmt = c.prepare(
                    "SELECT DISTINCT channel FROM interactions
                     WHERE purged_at IS NULL AND state = 'disconnected'",
                )?;
                let rows = stmt.query_map((), |r| r.get(0))?;
                Ok(rows.collect::<anyhow::Result<Vec<String>>>()?)
            })
            .await?;
        out.extend(
            stored
                .into_iter()
                .filter(|c| !known.contains(c))
                .map(|c| (c, days)),
        );
    }
    Ok(out)
}

/// Runs the purge once, to the end; answers how many interactions it scrubbed.
pub async fn run_once(core: &Core, global: Option<u32>) -> Result<usize> {
    let mut total = 0;
    for (channel, days) in periods(core, global).await? {
        let cutoff = now_ms() - i64::from(days) * DAY_MS;
        loop {
            let ch = channel.clone();
            let n = core
                .store
                .write(move |c| retention::purge(c, &ch, cutoff, BATCH, now_ms()))
                .await?;
            total += n;
            if n < BATCH as usize {
                break;
            }
        }
    }
    let at = now_ms();
    core.store
        .write(move |c| retention::record_run(c, at, total))
        .await?;
    if total > 0 {
        tracing::info!(
            interactions = total,
            "retention: content and personal data removed"
        );
    }
    Ok(total)
}

/// Runs the purge now and then every hour until the term ends (nothing to do without a
/// period anywhere).
pub async fn run_periodically(core: Core, global: Option<u32>) {
    let mut stop = core.stop.clone();
    loop {
        if let Err(e) = run_once(&core, global).await {
            tracing::warn!(error = %format!("{e:#}"), "retention purge failed; it runs again in an hour");
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(EVERY_MS as u64)) => {}
            _ = stop.changed() => return,
        }
    }
}
