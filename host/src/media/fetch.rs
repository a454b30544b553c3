//! The fetcher: downloads customers' files for their `media` rows (see `media`'s notes).
//!
//! Every host runs one: rows are claimed with a lease, so hosts sharing a store split the
//! work and a host that dies leaves its claims to the others. A download that fails in a
//! way that may pass (the network, the platform's 5xx or 429, a channel not running here
//! yet) is tried again after 30 s, 2 min, 10 min, 1 h and 6 h, then given up; one that
//! will not pass (the file is too large or not what it claims, the platform refuses it
//! for good, the allowlist refuses the host) is given up at once. Either way the reason
//! is kept in plain words for the agent, and logged with the channel and plugin.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::{Semaphore, watch};

use super::Media;
use super::blobs::WriteError;
use crate::channels::{ChannelRegistry, ChannelRuntime};
use crate::clock::now_ms;
use crate::connectors::CallError;
use crate::store::Store;
use crate::store::media::{self as rows, Claimed};

/// Downloads claimed at once.
const BATCH: i64 = 16;
/// Downloads running at once on this host.
const PARALLEL: usize = 4;
/// Delays before each retry, ms; after the last, the download is given up.
const RETRIES_MS: [i64; 5] = [30_000, 120_000, 600_000, 3_600_000, 6 * 3_600_000];
/// The longest the fetcher sleeps without a kick.
const IDLE_MS: i64 = 5_000;
/// A download that stalls this long without a byte is abandoned (and retried).
const STALL: Duration = Duration::from_secs(60);
/// How often files no row names are deleted.
const COLLECT_EVERY: Duration = Duration::from_secs(3600);

/// What the fetcher works with.
#[derive(Clone)]
pub struct FetchContext {
    pub store: Store,
    pub channels: Arc<ChannelRegistry>,
    pub media: Arc<Media>,
    pub stop: watch::Receiver<bool>,
}

/// How one download ended.
#[derive(Debug, PartialEq)]
enum Outcome {
    Stored {
        hash: String,
        size: u64,
        content_type: String,
    },
    /// Worth another try later (after at least `after_ms`, when the platform says).
    Retry { why: String, after_ms: Option<u64> },
    /// Will not work however often it is tried.
    GiveUp(String),
}

/// Runs until the host stops.
pub async fn run(ctx: FetchContext) {
    let mut stop = ctx.stop.clone();
    let permits = Arc::new(Semaphore::new(PARALLEL));
    let mut collect = tokio::time::interval(COLLECT_EVERY);
    collect.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let next = ctx.store.read(rows::next_due).await.ok().flatten();
        let now = now_ms();
        if next.is_some_and(|at| at <= now) && permits.available_permits() > 0 {
            let limit = (permits.available_permits() as i64).min(BATCH);
            match ctx
                .store
                .write(move |c| rows::claim_due(c, now, limit))
                .await
            {
                Ok(claimed) => {
                    for job in claimed {
                        let permit = permits.clone().acquire_owned().await.expect("never closed");
                        let ctx = ctx.clone();
                        tokio::spawn(async move {
                            download(&ctx, job).await;
                            drop(permit);
                            ctx.media.kick();
                        });
                    }
                    continue;
                }
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "claiming attachment downloads")
                }
            }
        }
        let wait = next
            .map(|at| (at - now_ms()).clamp(50, IDLE_MS))
            .unwrap_or(IDLE_MS);
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(wait as u64)) => {}
            _ = ctx.media.kick.notified() => {}
            _ = collect.tick() => collect_garbage(&ctx).await,
            _ = stop.changed() => return,
        }
    }
}

/// Downloads one file and records how it went.
async fn download(ctx: &FetchContext, job: Claimed) {
    let outcome = match ctx.channels.get(&job.channel) {
        Some(channel) => fetch_one(ctx, &channel, &job).await,
        None => Outcome::Retry {
            why: format!("channel `{}` is not running", job.channel),
            after_ms: None,
        },
    };
    let id = job.id;
    let now = now_ms();
    let result = match &outcome {
        Outcome::Stored {
            hash,
            size,
            content_type,
        } => {
            let (hash, size, content_type) = (hash.clone(), *size as i64, content_type.clone());
            ctx.store
                .write(move |c| rows::stored(c, id, &hash, size, &content_type, now).map(|_| ()))
                .await
        }
        Outcome::Retry { why, after_ms } => {
            let attempt = job.attempts as usize;
            let retry_at = RETRIES_MS
                .get(attempt)
                .map(|delay| now + (*delay).max(after_ms.map(|ms| ms as i64).unwrap_or(0)));
            if retry_at.is_none() {
                tracing::warn!(channel = %job.channel, media = id, error = %why,
                    "gave up downloading an attachment after {} tries", attempt + 1);
            }
            let why = why.clone();
            ctx.store
                .write(move |c| rows::failed(c, id, &why, retry_at, now))
                .await
        }
        Outcome::GiveUp(why) => {
            tracing::warn!(channel = %job.channel, media = id, error = %why,
                "an attachment cannot be downloaded");
            let why = why.clone();
            ctx.store
                .write(move |c| rows::failed(c, id, &why, None, now))
                .await
        }
    };
    if let Err(e) = result {
        // The claim runs out and another try comes.
        tracing::error!(media = id, error = %format!("{e:#}"), "recording an attachment download");
    }
    crate::metrics::media_download(&job.channel, outcome_label(&outcome));
}

fn outcome_label(o: &Outcome) -> &'static str {
    match o {
        Outcome::Stored { .. } => "stored",
        Outcome::Retry { .. } => "retry",
        Outcome::GiveUp(_) => "failed",
    }
}

async fn fetch_one(ctx: &FetchContext, channel: &Arc<ChannelRuntime>, job: &Claimed) -> Outcome {
    // The connector builds the request (a read on the platform at most): on a blocking
    // thread, under the channel's instance pool like every plugin call.
    let asked = {
        let permit = channel.connector.permit().await;
        let ch = channel.clone();
        let source = job.source.clone();
        let asked = tokio::task::spawn_blocking(move || ch.connector.media_request(&source)).await;
        drop(permit);
        asked
    };
    let request = match asked {
        Ok(Ok(Some(request))) => request,
        Ok(Ok(None)) => return Outcome::GiveUp("the platform offers no download for it".into()),
        Ok(Err(e)) => return call_failed(e),
        Err(join) => {
            return Outcome::Retry {
                why: format!("the connector failed: {join}"),
                after_ms: None,
            };
        }
    };
    let connector = &channel.connector;
    let decrypt = match request
        .decrypt
        .clone()
        .map(super::crypt::FileKey::from_wit)
        .transpose()
    {
        Ok(key) => key,
        Err(why) => {
            return Outcome::GiveUp(format!(
                "the connector's key to the file is unusable: {why}"
            ));
        }
    };
    let url = match reqwest::Url::parse(&request.url) {
        Ok(url) => url,
        Err(_) => return Outcome::GiveUp("the connector gave an address that is not a URL".into()),
    };
    let egress = connector.egress();
    if let Err(refused) = egress.check(&url) {
        return Outcome::GiveUp(format!("the download was refused: {refused}"));
    }
    let method =
        reqwest::Method::from_bytes(request.method.as_bytes()).unwrap_or(reqwest::Method::GET);
    let mut builder = egress.client().request(method, url);
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    let response = match builder.send().await {
        Ok(r) => r,
        Err(e) => {
            if let Some(refused) = egress.refusal_in(&e) {
                return Outcome::GiveUp(format!("the download was refused: {refused}"));
            }
            return Outcome::Retry {
                why: connector.scrub(&crate::connectors::egress::error_text(&e)),
                after_ms: None,
            };
        }
    };
    let status = response.status();
    if !status.is_success() {
        // Every failed answer is worth a few more tries: a 5xx or 429 passes, and after an
        // expired link or a refused token the connector is asked for a fresh request.
        let after_ms = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .map(|s| s * 1000);
        return Outcome::Retry {
            why: format!("the platform answered {status} to the download"),
            after_ms,
        };
    }
    let max = ctx.media.max_bytes;
    if response.content_length().is_some_and(|n| n > max) {
        return Outcome::GiveUp(format!(
            "the file is larger than the {} MiB limit",
            max / (1024 * 1024)
        ));
    }
    let declared = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| job.source.mime_type.clone());
    let body = response.bytes_stream().timeout_each(STALL);
    // Decrypted as it streams, so the type check below sees the clear bytes.
    let body: std::pin::Pin<Box<dyn futures::Stream<Item = Result<bytes::Bytes, String>> + Send>> =
        match &decrypt {
            Some(key) => Box::pin(key.apply(body)),
            None => body,
        };
    let written = match ctx.media.blobs.write(body, max).await {
        Ok(w) => w,
        Err(WriteError::TooLarge { limit_mib }) => {
            return Outcome::GiveUp(format!("the file is larger than the {limit_mib} MiB limit"));
        }
        Err(WriteError::Source(e)) => {
            return Outcome::Retry {
                why: format!("the transfer broke off: {}", connector.scrub(&e)),
                after_ms: None,
            };
        }
        Err(WriteError::Io(e)) => {
            tracing::error!(channel = %job.channel, error = %format!("{e:#}"), "storing an attachment");
            return Outcome::Retry {
                why: "the file could not be stored on this server".into(),
                after_ms: None,
            };
        }
    };
    let sniffed = super::kind::sniff(&written.head);
    match super::kind::check(&job.source.kind, sniffed, declared.as_deref()) {
        Ok(content_type) => Outcome::Stored {
            hash: written.hash,
            size: written.size,
            content_type,
        },
        // The bytes stay until the collector finds no row names them.
        Err(why) => Outcome::GiveUp(why),
    }
}

/// A connector's refusal to say how to download.
fn call_failed(e: CallError) -> Outcome {
    let retry = e.retryable();
    let (message, after_ms) = match &e {
        CallError::Plugin {
            message,
            retry_after_ms,
            ..
        } => (message.clone(), *retry_after_ms),
        CallError::Trapped { message, .. } => (message.clone(), None),
    };
    let why = message
        .strip_prefix("media-request: ")
        .unwrap_or(&message)
        .to_owned();
    if retry {
        Outcome::Retry { why, after_ms }
    } else {
        Outcome::GiveUp(why)
    }
}

/// Deletes the files no row names any more.
async fn collect_garbage(ctx: &FetchContext) {
    let in_use = |hash: String| {
        let store = ctx.store.clone();
        async move {
            // When the store cannot answer, keep the file.
            store
                .read(move |c| rows::hash_in_use(c, &hash))
                .await
                .unwrap_or(true)
        }
    };
    match ctx.media.blobs.collect(in_use).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            files = n,
            "deleted attachment files no message uses any more"
        ),
        Err(e) => tracing::warn!(error = %format!("{e:#}"), "collecting attachment files"),
    }
}

/// A stream that fails when one item takes longer than a stall limit.
trait TimeoutEach: futures::Stream + Sized {
    fn timeout_each(
        self,
        limit: Duration,
    ) -> std::pin::Pin<Box<dyn futures::Stream<Item = Result<bytes::Bytes, String>> + Send>>;
}

impl<S, E> TimeoutEach for S
where
    S: futures::Stream<Item = Result<bytes::Bytes, E>> + Send + 'static,
    E: std::fmt::Display,
{
    fn timeout_each(
        self,
        limit: Duration,
    ) -> std::pin::Pin<Box<dyn futures::Stream<Item = Result<bytes::Bytes, String>> + Send>> {
        Box::pin(futures::stream::unfold(
            Box::pin(self),
            move |mut s| async move {
                match tokio::time::timeout(limit, s.next()).await {
                    Ok(Some(Ok(b))) => Some((Ok(b), s)),
                    Ok(Some(Err(e))) => Some((Err(e.to_string()), s)),
                    Ok(None) => None,
                    Err(_) => Some((Err(format!("no data for {} s", limit.as_secs())), s)),
                }
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connectors_refusal_is_final_and_a_transient_one_is_retried() {
        let refused = CallError::Plugin {
            channel: "wa".into(),
            plugin: "whatsapp".into(),
            message: "media-request: unauthorized: the token was refused".into(),
            retryable: false,
            retry_after_ms: None,
        };
        assert_eq!(
            call_failed(refused),
            Outcome::GiveUp("unauthorized: the token was refused".into())
        );
        let limited = CallError::Plugin {
            channel: "wa".into(),
            plugin: "whatsapp".into(),
            message: "media-request: rate limited for 5000 ms".into(),
            retryable: true,
            retry_after_ms: Some(5000),
        };
        assert_eq!(
            call_failed(limited),
            Outcome::Retry {
                why: "rate limited for 5000 ms".into(),
                after_ms: Some(5000)
            }
        );
    }
}
