//! What the host gives a plugin: the WIT imports, each scoped to the plugin's channel.
//!
//! HTTP goes through the channel's [`Egress`] (allowlist and address checks on every
//! hop); an answer is read under [`MAX_RESPONSE_BYTES`] as it streams in. Texts handed
//! back to the plugin or written to the log name no URL query or user-info, and what a
//! plugin logs is cleared of the channel's secret values.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::StoreLimits;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::bindings::v0_2::switchboard::connector::{clock, config, http, kv, log, types};
use super::egress::{self, Egress, Refused};
use super::redact;
use crate::store::{Store, queries};

/// Largest HTTP response body handed to a plugin.
const MAX_RESPONSE_BYTES: usize = 16 << 20;

/// What a plugin instance may use, fixed when the channel is configured.
#[derive(Clone)]
pub struct Grants {
    /// Channel name (scope of kv, config and logs).
    pub channel: String,
    /// Plugin name (for logs).
    pub plugin: String,
    /// Plain settings.
    pub settings: Arc<BTreeMap<String, String>>,
    /// Secrets.
    pub secrets: Arc<BTreeMap<String, String>>,
    /// Where it may send requests, and the client that holds it to that.
    pub egress: Arc<Egress>,
    /// Persistent storage for kv.
    pub store: Store,
    /// Runtime used to drive HTTP calls from the blocking plugin thread.
    pub runtime: tokio::runtime::Handle,
}

/// The data of one plugin instance's wasmtime store.
pub struct HostState {
    pub grants: Grants,
    pub limits: StoreLimits,
    /// End of the current call; HTTP calls get only the time that is left.
    pub deadline: Instant,
    /// The requests that may change something on the platform during the current call
    /// (reset by the engine before each call): after a trap or a lost answer they say
    /// whether the call may have reached the platform.
    pub writes: WriteLog,
    wasi: WasiCtx,
    table: ResourceTable,
}

impl HostState {
    pub fn new(grants: Grants, limits: StoreLimits) -> HostState {
        // No files, no environment, no sockets: WASI only backs std's clocks, random
        // numbers and stderr (where a panic message goes).
        let wasi = WasiCtx::builder().inherit_stderr().build();
        HostState {
            grants,
            limits,
            deadline: Instant::now(),
            writes: WriteLog::default(),
            wasi,
            table: ResourceTable::new(),
        }
    }
}

/// What a plugin call asked of the platform beyond reading (any method but GET and HEAD).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteLog {
    /// Such requests started.
    pub started: u32,
    /// Of those, how many got no answer (a timeout, a connection lost after sending): the
    /// platform may have acted on them.
    pub unanswered: u32,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl types::Host for HostState {}

impl http::Host for HostState {
    fn fetch(&mut self, request: types::HttpRequest) -> Result<types::HttpResponse, HttpError> {
        let url: reqwest::Url = request.url.parse().map_err(|e| {
            HttpError::Invalid(format!("bad url `{}`: {e}", redact::url_text(&request.url)))
        })?;
        let egress = self.grants.egress.clone();
        if let Err(refused) = egress.check(&url) {
            return Err(HttpError::Refused(self.refused(&url, refused)));
        }
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left < Duration::from_millis(5) {
            return Err(HttpError::Timeout(
                "no time left in this plugin call".into(),
            ));
        }
        let method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|_| HttpError::Invalid(format!("bad method `{}`", request.method)))?;
        let writes = !matches!(method, reqwest::Method::GET | reqwest::Method::HEAD);
        if writes {
            self.writes.started += 1;
        }
        let mut builder = egress
            .client()
            .request(method, url.clone())
            .timeout(left)
            .body(request.body);
        for (name, value) in request.headers {
            builder = builder.header(name, value);
        }
        let answered = std::cell::Cell::new(false);
        let result = self.grants.runtime.block_on(async {
            let response = builder.send().await.map_err(Failed::Request)?;
            let status = response.status().as_u16();
            let headers = response
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_owned(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect();
            // Only a whole answer reaches the plugin; one cut short is as good as none.
            let body = read_capped(response, MAX_RESPONSE_BYTES, &answered).await?;
            Ok(types::HttpResponse {
                status,
                headers,
                body,
            })
        });
        if writes && !answered.get() {
            self.writes.unanswered += 1;
        }
        result.map_err(|failed| match failed {
            Failed::Request(e) => match egress.refusal_in(&e) {
                Some(refused) => HttpError::Refused(self.refused(&url, refused)),
                None => classify(&e),
            },
            Failed::TooLarge => HttpError::TooLarge(MAX_RESPONSE_BYTES as u64),
            Failed::Body(e) => match classify(&e) {
                HttpError::Connection(text) => {
                    HttpError::Connection(format!("the answer broke off: {text}"))
                }
                other => other,
            },
        })
    }
}

use http::HttpError;

/// An HTTP error as one line of text, as contract 0.1.0 hands it to a plugin.
pub(crate) fn http_error_text(e: HttpError) -> String {
    match e {
        HttpError::Refused(t)
        | HttpError::Timeout(t)
        | HttpError::Connection(t)
        | HttpError::Tls(t)
        | HttpError::Invalid(t) => t,
        HttpError::TooLarge(cap) => format!("response is over the limit of {cap} bytes"),
    }
}

/// A request's failure as the plugin is told it: a timeout, a TLS failure, or a
/// connection that could not be made or broke.
fn classify(e: &reqwest::Error) -> HttpError {
    let text = format!("http: {}", egress::error_text(e));
    if e.is_timeout() {
        return HttpError::Timeout(text);
    }
    // reqwest does not class TLS failures: they are rustls errors among the causes.
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if c.downcast_ref::<rustls::Error>().is_some() {
            return HttpError::Tls(text);
        }
        cause = c.source();
    }
    if e.is_builder() {
        return HttpError::Invalid(text);
    }
    HttpError::Connection(text)
}

/// Why a fetch got no usable answer.
enum Failed {
    /// The request failed (a refusal among its causes, or the network).
    Request(reqwest::Error),
    /// The answer was over the cap.
    TooLarge,
    /// The answer broke off while its body was read.
    Body(reqwest::Error),
}

/// The body of `response`, refused as soon as it grows past `cap` bytes (a declared
/// length past it is refused before reading). `answered` is set once the platform's
/// answer is known to be complete or known to be too long.
async fn read_capped(
    mut response: reqwest::Response,
    cap: usize,
    answered: &std::cell::Cell<bool>,
) -> Result<Vec<u8>, Failed> {
    if response
        .content_length()
        .is_some_and(|len| len > cap as u64)
    {
        answered.set(true);
        return Err(Failed::TooLarge);
    }
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > cap {
                    answered.set(true);
                    return Err(Failed::TooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) => return Err(Failed::Body(e)),
        }
    }
    answered.set(true);
    Ok(body)
}

impl HostState {
    /// Logs and words a refused request (its URL without credentials).
    fn refused(&self, url: &reqwest::Url, refused: Refused) -> String {
        tracing::warn!(channel = %self.grants.channel, plugin = %self.grants.plugin,
            url = %redact::url(url), reason = %refused, "plugin request refused");
        refused.to_string()
    }
}

impl clock::Host for HostState {
    fn now_millis(&mut self) -> i64 {
        crate::clock::now_ms()
    }
}

impl log::Host for HostState {
    fn write(&mut self, level: log::Level, message: String) {
        let (channel, plugin) = (&self.grants.channel, &self.grants.plugin);
        let message = redact::secrets(&self.grants.secrets, &message);
        match level {
            log::Level::Trace => tracing::trace!(%channel, %plugin, "{message}"),
            log::Level::Debug => tracing::debug!(%channel, %plugin, "{message}"),
            log::Level::Info => tracing::info!(%channel, %plugin, "{message}"),
            log::Level::Warn => {
                crate::metrics::plugin_log_line(channel, false);
                tracing::warn!(%channel, %plugin, "{message}")
            }
            log::Level::Error => {
                crate::metrics::plugin_log_line(channel, true);
                tracing::error!(%channel, %plugin, "{message}")
            }
        }
    }
}

impl kv::Host for HostState {
    fn get(&mut self, key: String) -> Option<Vec<u8>> {
        let channel = self.grants.channel.clone();
        self.grants
            .store
            .read_blocking(|c| queries::kv_get(c, &channel, &key))
            .unwrap_or_else(|e| {
                tracing::error!(%channel, error = %e, "plugin kv read failed");
                None
            })
    }

    fn set(&mut self, key: String, value: Vec<u8>) {
        self.put(key, Some(value));
    }

    fn delete(&mut self, key: String) {
        self.put(key, None);
    }
}

impl HostState {
    fn put(&mut self, key: String, value: Option<Vec<u8>>) {
        let channel = self.grants.channel.clone();
        let result = self
            .grants
            .store
            .write_blocking(move |c| queries::kv_put(c, &channel, &key, value.as_deref()));
        if let Err(e) = result {
            tracing::error!(channel = %self.grants.channel, error = %e, "plugin kv write failed");
        }
    }
}

impl config::Host for HostState {
    fn get(&mut self, key: String) -> Option<String> {
        self.grants.settings.get(&key).cloned()
    }

    fn secret(&mut self, key: String) -> Option<String> {
        self.grants.secrets.get(&key).cloned()
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use futures::StreamExt as _;

    use super::*;

    /// A loopback server whose answer never ends (chunked, 64 KiB at a time).
    async fn endless() -> std::net::SocketAddr {
        use axum::body::Body;
        let app = axum::Router::new().route(
            "/",
            axum::routing::get(|| async {
                let chunk = bytes::Bytes::from(vec![b'x'; 64 << 10]);
                let stream = futures::stream::repeat(chunk).map(Ok::<_, std::io::Error>);
                Body::from_stream(stream)
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        addr
    }

    #[tokio::test]
    async fn an_answer_is_refused_as_soon_as_it_grows_past_the_cap() {
        let addr = endless().await;
        crate::connectors::install_crypto();
        let response = reqwest::Client::new()
            .get(format!("http://{addr}/"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.content_length(),
            None,
            "no length to refuse up front"
        );
        let answered = Cell::new(false);
        let read = tokio::time::timeout(
            Duration::from_secs(10),
            read_capped(response, 1 << 20, &answered),
        )
        .await
        .expect("an endless answer is cut off, not read to the end");
        assert!(
            matches!(read, Err(Failed::TooLarge)),
            "an answer past the cap is refused"
        );
        assert!(answered.get(), "the platform did answer");
    }
}
