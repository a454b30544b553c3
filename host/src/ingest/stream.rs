//! Streams: channels whose platform pushes events over one long-lived HTTP response,
//! one JSON object per line (the X filtered stream).
//!
//! The connector says what to open (`stream-open`, after syncing the platform's rules)
//! and parses the lines (`stream-lines`); the host holds the connection, because a plugin
//! call must be short. Blank lines are keep-alives. After 20 s without any data, an error
//! or a close, the host reconnects with backoff (1 s, doubling to 60 s; a 429 waits for
//! the platform's reset). Lines go through the same decide-then-store path as webhooks,
//! so a tweet seen again after a reconnect is stored once.
//!
//! A line longer than [`MAX_LINE`] is dropped (logged and shown in the channel's status)
//! rather than buffered without bound.
//!
//! A line the connector cannot read, or that cannot be stored, is not only logged: the
//! other lines of its batch are stored without it, and it is kept in the channel's status
//! (`stream_failures`) and retried on its own until it is stored ([`retry`]).

mod retry;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;

use super::Pipeline;
use crate::channels::ChannelRuntime;
use crate::channels::StopSignal;
use crate::connectors::CallError;
use crate::connectors::{egress, redact};
use crate::interactions::Core;
use retry::{Pending, Retries};

/// Silence after which the connection is considered dead.
const SILENCE: Duration = Duration::from_secs(20);
/// Longest wait between reconnects.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Lines handed to the connector at once, at most.
const BATCH: usize = 100;
/// Longest line kept (an X activity is a few kilobytes): a longer one is dropped, and the
/// buffer waiting for a line's end never holds more.
const MAX_LINE: usize = 1 << 20;

/// Keeps the channel's stream open until the host stops or the channel is removed or
/// replaced; returns at once for a channel that does not stream.
pub async fn run(core: Core, channel: Arc<ChannelRuntime>) {
    let name = channel.config.name.clone();
    let mut stop = channel.stop_signal(&core.stop);
    let mut backoff = Duration::from_secs(1);
    // Kept across reconnects: a failed line is retried until it is stored.
    let mut retries = Retries::default();
    // The plugin's own client: the channel's allowlist and address checks, every hop.
    let http = channel.connector.egress().client().clone();
    loop {
        let opened = {
            let channel = channel.clone();
            tokio::task::spawn_blocking(move || channel.connector.stream_open()).await
        };
        let wait = match opened {
            Ok(Ok(None)) => return,
            // In a cluster one host holds each channel's stream: the one with its lease.
            Ok(Ok(Some(_))) if !core.cluster.owns(&name) => {
                channel.set_stream_connected(false);
                tokio::select! {
                    _ = core.cluster.until_owned(&name) => {}
                    _ = stop.stopped() => return,
                }
                continue;
            }
            Ok(Ok(Some(request))) => {
                match hold(&core, &channel, &http, request, &mut stop, &mut retries).await {
                    Ok(Held::Stopped) => {
                        channel.set_stream_connected(false);
                        return;
                    }
                    Ok(Held::Received) => {
                        backoff = Duration::from_secs(1);
                        backoff
                    }
                    Ok(Held::Nothing) => backoff,
                    Err(Wait(Some(until))) => until,
                    Err(Wait(None)) => backoff,
                }
            }
            Ok(Err(CallError::Plugin {
                retry_after_ms: Some(ms),
                ..
            })) => Duration::from_millis(ms),
            Ok(Err(e)) => {
                tracing::error!(channel = %name, error = %e, "stream not opened");
                channel.record_error(format!("stream: {e}"));
                backoff
            }
            Err(e) => {
                tracing::error!(channel = %name, error = %e, "stream-open task failed");
                backoff
            }
        };
        channel.set_stream_connected(false);
        retry_due(&core, &channel, &mut retries).await;
        tracing::info!(channel = %name, wait_ms = wait.as_millis() as u64, "stream reconnects");
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.stopped() => return,
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// How a connection ended.
enum Held {
    /// The host is stopping.
    Stopped,
    /// Lines came before it ended: the next reconnect starts over at 1 s.
    Received,
    /// It ended before any line.
    Nothing,
}

/// Why a connection failed, and how long the platform asked us to wait.
struct Wait(Option<Duration>);

impl<E: std::fmt::Display> From<E> for Wait {
    fn from(_: E) -> Self {
        Wait(None)
    }
}

async fn hold(
    core: &Core,
    channel: &Arc<ChannelRuntime>,
    http: &reqwest::Client,
    request: crate::connectors::StreamRequest,
    stop: &mut StopSignal,
    retries: &mut Retries,
) -> Result<Held, Wait> {
    let name = &channel.config.name;
    let url: reqwest::Url = request.url.parse().map_err(|e| {
        tracing::error!(channel = %name, url = %redact::url_text(&request.url), error = %e, "bad stream url");
        Wait(None)
    })?;
    if let Err(refused) = channel.connector.egress().check(&url) {
        tracing::error!(channel = %name, url = %redact::url(&url), reason = %refused, "stream request refused");
        channel.record_error(format!("stream: {refused}"));
        return Err(Wait(Some(MAX_BACKOFF)));
    }
    let method =
        reqwest::Method::from_bytes(request.method.as_bytes()).unwrap_or(reqwest::Method::GET);
    let mut builder = http.request(method, url.clone());
    for (k, v) in &request.headers {
        builder = builder.header(k, v);
    }
    if !request.body.is_empty() {
        builder = builder.body(request.body.clone());
    }
    let mut response = match tokio::time::timeout(SILENCE, builder.send()).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            let why = match channel.connector.egress().refusal_in(&e) {
                Some(refused) => refused.to_string(),
                None => format!("connection failed: {}", egress::error_text(&e)),
            };
            tracing::warn!(channel = %name, url = %redact::url(&url), error = %why, "stream connection failed");
            channel.record_error(format!("stream: {why}"));
            return Err(Wait(None));
        }
        Err(_) => {
            channel.record_error("stream: no answer within 20 s".into());
            return Err(Wait(None));
        }
    };
    let status = response.status();
    if !status.is_success() {
        let reset = response
            .headers()
            .get("x-rate-limit-reset")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<i64>().ok())
            .map(|s| Duration::from_millis((s * 1000 - crate::clock::now_ms()).max(1000) as u64));
        let body = response.text().await.unwrap_or_default();
        let body = channel
            .connector
            .scrub(&body.chars().take(300).collect::<String>());
        tracing::warn!(channel = %name, %status, %body, "stream refused");
        channel.record_error(format!("stream: the platform answered {status}"));
        return Err(Wait(if status.as_u16() == 429 {
            reset.or(Some(MAX_BACKOFF))
        } else {
            None
        }));
    }
    tracing::info!(channel = %name, url = %redact::url(&url), "stream open");
    channel.set_stream_connected(true);
    let mut buffer = Lines::default();
    let mut received = false;
    let mut last_data = tokio::time::Instant::now();
    loop {
        // Failed lines are retried while the stream stays open; the silence timer runs
        // from the last data, not from the last retry.
        let retry_in = retries.next_in().unwrap_or(SILENCE);
        let silence_left = SILENCE.saturating_sub(last_data.elapsed());
        let chunk = tokio::select! {
            c = tokio::time::timeout(silence_left, response.chunk()) => c,
            _ = tokio::time::sleep(retry_in), if !retries.is_empty() => {
                retry_due(core, channel, retries).await;
                continue;
            }
            _ = stop.stopped() => return Ok(Held::Stopped),
            // Another host holds the channel now (this one was cut off or gave it up).
            _ = core.cluster.until_lost(name) => return Ok(Held::Nothing),
        };
        last_data = tokio::time::Instant::now();
        let bytes = match chunk {
            Ok(Ok(Some(bytes))) => bytes,
            Ok(Ok(None)) => {
                tracing::info!(channel = %name, "stream closed by the platform");
                break;
            }
            Ok(Err(e)) => {
                let e = egress::error_text(&e);
                tracing::warn!(channel = %name, error = %e, "stream read failed");
                channel.record_error(format!("stream: read failed: {e}"));
                break;
            }
            Err(_) => {
                tracing::warn!(channel = %name, "stream silent for 20 s");
                channel.record_error("stream: silent for 20 s".into());
                break;
            }
        };
        let (lines, dropped) = buffer.push(&bytes);
        if dropped > 0 {
            tracing::warn!(channel = %name, dropped, max_bytes = MAX_LINE, "stream lines too long; dropped");
            channel.record_error(format!(
                "stream: {dropped} line(s) longer than {MAX_LINE} bytes dropped"
            ));
        }
        for batch in lines.chunks(BATCH) {
            received = true;
            deliver_batch(core, channel, batch.to_vec(), retries).await;
        }
    }
    Ok(if received {
        Held::Received
    } else {
        Held::Nothing
    })
}

/// Bytes of the stream not yet cut into lines, never more than [`MAX_LINE`].
#[derive(Default)]
struct Lines {
    buffer: Vec<u8>,
    /// The rest of a line that grew too long is being dropped, up to its end.
    skipping: bool,
}

impl Lines {
    /// The complete lines once `bytes` arrived, and how many too long were dropped.
    fn push(&mut self, bytes: &[u8]) -> (Vec<String>, usize) {
        let mut bytes = bytes;
        if self.skipping {
            let Some(end) = bytes.iter().position(|b| *b == b'\n') else {
                return (Vec::new(), 0);
            };
            bytes = &bytes[end + 1..];
            self.skipping = false;
        }
        self.buffer.extend_from_slice(bytes);
        let (lines, long): (Vec<String>, Vec<String>) = take_lines(&mut self.buffer)
            .into_iter()
            .partition(|l| l.len() <= MAX_LINE);
        let mut dropped = long.len();
        if self.buffer.len() > MAX_LINE {
            self.buffer = Vec::new();
            self.skipping = true;
            dropped += 1;
        }
        (lines, dropped)
    }
}

/// Complete, non-blank lines from the front of `buffer`; a partial last line stays.
fn take_lines(buffer: &mut Vec<u8>) -> Vec<String> {
    let Some(end) = buffer.iter().rposition(|b| *b == b'\n') else {
        return Vec::new();
    };
    let complete: Vec<u8> = buffer.drain(..=end).collect();
    String::from_utf8_lossy(&complete)
        .split('\n')
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

/// Why lines were not stored.
enum Failure {
    /// The connector could not read them (one unreadable line fails its batch).
    Unreadable(String),
    /// They were read but not stored.
    NotStored(String),
}

/// Parses, decides and stores one batch of lines.
async fn deliver(
    core: &Core,
    channel: &Arc<ChannelRuntime>,
    lines: Vec<String>,
) -> Result<(), Failure> {
    let (core2, ch) = (core.clone(), channel.clone());
    let decided = tokio::task::spawn_blocking(move || {
        let events = ch.connector.stream_lines(&lines)?;
        Ok::<_, CallError>(Pipeline::decide(&core2, &ch, events))
    })
    .await
    .map_err(|e| Failure::NotStored(format!("stream task: {e}")))?
    .map_err(|e| Failure::Unreadable(e.to_string()))?;
    Pipeline::accept(core, &channel.config.name, decided, None)
        .await
        .map_err(|e| Failure::NotStored(format!("{e:#}")))?;
    Ok(())
}

/// Stores a batch; when the connector cannot read it, each line is tried alone so one
/// unreadable line holds back none of the others. Lines that still fail are kept for a
/// retry and shown in the channel's status.
async fn deliver_batch(
    core: &Core,
    channel: &Arc<ChannelRuntime>,
    batch: Vec<String>,
    retries: &mut Retries,
) {
    let failed: Vec<(String, String)> = match deliver(core, channel, batch.clone()).await {
        Ok(()) => return,
        Err(Failure::Unreadable(_)) if batch.len() > 1 => {
            let mut failed = Vec::new();
            for line in batch {
                if let Err(Failure::Unreadable(e) | Failure::NotStored(e)) =
                    deliver(core, channel, vec![line.clone()]).await
                {
                    failed.push((line, e));
                }
            }
            failed
        }
        Err(Failure::Unreadable(e) | Failure::NotStored(e)) => {
            batch.into_iter().map(|line| (line, e.clone())).collect()
        }
    };
    for (line, error) in failed {
        keep(channel, retries, line, error);
    }
    channel.set_stream_failures(retries.shown());
}

fn keep(channel: &ChannelRuntime, retries: &mut Retries, line: String, error: String) {
    let name = &channel.config.name;
    let head: String = line.chars().take(200).collect();
    tracing::error!(channel = %name, %error, line = %head, "stream line not stored; kept and retried");
    channel.record_error(format!(
        "stream: a line was not stored (kept and retried): {error}"
    ));
    if let Some(dropped) = retries.failed(line, error) {
        let head: String = dropped.line.chars().take(200).collect();
        tracing::error!(channel = %name, line = %head, attempts = dropped.attempts, "too many stream lines waiting; the oldest is given up");
        channel.record_error(format!(
            "stream: gave up a line after {} attempts (too many waiting): {}",
            dropped.attempts, dropped.error
        ));
    }
}

/// Tries again the failed lines that are due, each on its own.
async fn retry_due(core: &Core, channel: &Arc<ChannelRuntime>, retries: &mut Retries) {
    let due: Vec<Pending> = retries.due();
    if due.is_empty() {
        return;
    }
    for p in due {
        match deliver(core, channel, vec![p.line.clone()]).await {
            Ok(()) => {
                tracing::info!(channel = %channel.config.name, attempts = p.attempts + 1, "a stream line that had failed is stored");
            }
            Err(Failure::Unreadable(e) | Failure::NotStored(e)) => retries.failed_again(p, e),
        }
    }
    channel.set_stream_failures(retries.shown());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_cut_at_newlines_and_keep_alives_dropped() {
        let mut buf = b"{\"a\":1}\r\n\r\n{\"b\":".to_vec();
        assert_eq!(take_lines(&mut buf), vec!["{\"a\":1}"]);
        assert_eq!(buf, b"{\"b\":");
        buf.extend_from_slice(b"2}\n\r\n");
        assert_eq!(take_lines(&mut buf), vec!["{\"b\":2}"]);
        assert!(buf.is_empty());
        let mut partial = b"no newline yet".to_vec();
        assert!(take_lines(&mut partial).is_empty());
        assert_eq!(partial.len(), 14);
    }

    #[test]
    fn a_line_past_the_bound_is_dropped_and_the_buffer_stays_bounded() {
        let mut lines = Lines::default();
        assert_eq!(
            lines.push(b"{\"a\":1}\n{\"b\""),
            (vec!["{\"a\":1}".to_owned()], 0)
        );
        let big = vec![b'x'; MAX_LINE];
        assert_eq!(
            lines.push(&big),
            (Vec::new(), 1),
            "the partial line grew too long"
        );
        assert!(lines.buffer.is_empty());
        assert_eq!(
            lines.push(&big),
            (Vec::new(), 0),
            "its rest is skipped, not kept"
        );
        assert!(lines.buffer.is_empty());
        assert_eq!(
            lines.push(b"tail of it\n{\"c\":3}\n"),
            (vec!["{\"c\":3}".to_owned()], 0),
            "the next line after it is read"
        );
        let mut whole = vec![b'y'; MAX_LINE + 1];
        whole.extend_from_slice(b"\n{\"d\":4}\n");
        assert_eq!(lines.push(&whole), (vec!["{\"d\":4}".to_owned()], 1));
    }
}
