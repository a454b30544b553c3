//! Switchboard's platform emulator: a fake of the social platforms' APIs (Facebook and
//! Messenger on the Graph API, Instagram, WhatsApp, X, Apple Messages for Business) for the
//! demo and the tests. It imports nothing from the host; the host runs it in-process
//! (`switchboard demo`, `switchboard emulator`) and the end-to-end tests start their own.
//!
//! These machines have no internet, so connectors talk to it exactly as they would to the
//! real platforms (same paths, same JSON, same webhook signing). On top of the platform APIs
//! it serves a control API under `/_emulator/...` that plays the customers' side (posting,
//! commenting, editing) and lets tests inspect what the business did (`/_emulator/outbound`)
//! or inject failures. See `docs/emulator.md`.
//!
//! Layout: this file holds what every platform shares (the [`Emulator`] handle, state,
//! outbound log, router assembly, webhook signing and in-order delivery); `graph` holds the
//! Meta Graph API plumbing (request parsing, error shape, failure injection); each platform
//! lives in its own submodule (`facebook`, with its control endpoints in `facebook/control.rs`;
//! `instagram`, both of its API flavours, asked first by the Graph fallback since it owns its
//! ids); `generic` answers a partner's platform from canned answers.

mod apple;
mod clock;
mod facebook;
mod generic;
mod graph;
mod instagram;
mod slow;
mod whatsapp;
mod x;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use axum::Router;
use axum::extract::State as AxState;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use graph::InjectedFailure;

pub use apple::AppleBusiness;
pub use facebook::FacebookPage;
pub use generic::{Answer as GenericAnswer, Recorded as GenericRequest};
pub use instagram::{InstagramAccount, seeded_media_id as instagram_seeded_media_id};
pub use whatsapp::{VERIFIED_NAME as WHATSAPP_VERIFIED_NAME, WhatsAppNumber};
pub use x::{XAccount, XConfig, XEndpoint, XRequestLog, x_signature};

/// What the emulator starts with: the accounts that exist on each platform.
#[derive(Clone, Debug, Default)]
pub struct EmulatorConfig {
    /// Facebook pages that exist on the emulated Graph API.
    pub facebook_pages: Vec<FacebookPage>,
    /// Instagram professional accounts (Instagram Login, or Facebook Login via `page_id`).
    pub instagram_accounts: Vec<InstagramAccount>,
    /// Apple Messages for Business accounts on the emulated MSP gateway.
    pub apple_businesses: Vec<AppleBusiness>,
    /// WhatsApp business phone numbers on the emulated Cloud API.
    pub whatsapp_numbers: Vec<WhatsAppNumber>,
    /// The X app (consumer secret, bearer token) and the business's X accounts.
    pub x: XConfig,
}

/// One call the business made that changed the platform (a reply, a hide, a delete, ...),
/// as listed by `GET /_emulator/outbound`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct OutboundRecord {
    /// Platform name: `"facebook"`, `"messenger"`, `"instagram"`, `"whatsapp"`, `"x"`, ...
    pub platform: String,
    /// What was done: `"comment"`, `"hide"`, `"unhide"`, `"edit"`, `"delete"`, later `"message"`, ...
    pub kind: String,
    /// The object acted upon or replied to, when there is one.
    pub target_id: Option<String>,
    /// Id of the created object, or of the object acted upon.
    pub id: String,
    /// Text sent, when the call carried text.
    pub text: Option<String>,
}

/// The emulator. Cheap to clone: all clones share the same state.
#[derive(Clone)]
pub struct Emulator {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    outbound: Mutex<Vec<OutboundRecord>>,
    /// Pending injected Graph failures, see [`graph`].
    failures: Mutex<Option<InjectedFailure>>,
    http: reqwest::Client,
    /// Source of Facebook-looking numeric ids; one counter keeps every id unique.
    next_id: Mutex<u64>,
    /// Late answers still to give, see [`slow`].
    slow: Mutex<slow::Slow>,
    /// How far a test moved the rate-limit windows' clock, ms (see [`clock`]).
    clock_offset_ms: std::sync::atomic::AtomicI64,
}

/// Mutable platform state; one field per platform module.
#[derive(Default)]
struct State {
    facebook: facebook::FacebookState,
    instagram: instagram::InstagramState,
    apple: apple::AppleState,
    whatsapp: whatsapp::WhatsAppState,
    x: x::XState,
    generic: generic::GenericState,
}

impl Emulator {
    /// Creates an emulator holding the accounts of `config`, with no webhook subscribers.
    pub fn new(config: EmulatorConfig) -> Emulator {
        // reqwest is built without a default rustls crypto provider; installing one is
        // harmless if somebody else already did (the error is then ignored).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            // Callbacks are local; a proxy from the environment would only get in the way.
            .no_proxy()
            // Meta gives up on a webhook after about 20 s.
            .timeout(Duration::from_secs(20))
            .build()
            .expect("building the emulator's HTTP client");
        let mut state = State::default();
        for business in config.apple_businesses {
            state.apple.add_business(business);
        }
        for page in config.facebook_pages {
            state.facebook.add_page(page);
        }
        for account in config.instagram_accounts {
            state.instagram.add_account(account);
        }
        for number in config.whatsapp_numbers {
            state.whatsapp.add_number(number);
        }
        state.x.configure(config.x);
        Emulator {
            inner: Arc::new(Inner {
                state: Mutex::new(state),
                outbound: Mutex::new(Vec::new()),
                failures: Mutex::new(None),
                http,
                next_id: Mutex::new(1_000_000_000_000_001),
                slow: Mutex::new(slow::Slow::default()),
                clock_offset_ms: std::sync::atomic::AtomicI64::new(0),
            }),
        }
    }

    /// The whole emulator as an axum router: platform APIs plus the `/_emulator` control API.
    pub fn router(&self) -> Router {
        Router::new()
            .route(
                "/_emulator/outbound",
                get(outbound_list).delete(outbound_clear),
            )
            // Apple's `/v1/message` and `/_emulator/apple/...` (matched before the Graph fallback).
            .merge(apple::routes())
            .merge(facebook::control_routes())
            .merge(instagram::control_routes())
            .merge(whatsapp::control_routes())
            // X API v2 (`/2/...`) and `/_emulator/x/...`, before the Graph fallback.
            .merge(x::routes())
            // A platform the emulator does not know, answered from canned answers.
            .merge(generic::routes())
            // Graph paths are free-form (`/{id}`, `/{id}/comments`, optional `/v19.0` prefix,
            // later `/{phone-id}/messages`), so one fallback parses them and asks each platform.
            .fallback(graph::graph_fallback)
            .route("/_emulator/slow", axum::routing::post(slow::set_slow))
            .route("/_emulator/clock", axum::routing::post(clock::advance))
            .layer(axum::middleware::from_fn_with_state(
                self.clone(),
                slow::answer_late,
            ))
            .with_state(self.clone())
    }

    /// Serves [`Emulator::router`] on `listener` until the server fails.
    pub async fn serve(self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        axum::serve(listener, self.router()).await
    }

    /// Registers a webhook subscriber for a page, like the app dashboard does: performs the
    /// GET verification handshake against `callback_url` first (`hub.mode=subscribe`,
    /// `hub.challenge`=random int, `hub.verify_token`) and errors if the answer is not 200 with
    /// the challenge as the body. Subscribing the same URL again replaces the old subscription.
    pub async fn subscribe_facebook(
        &self,
        page_id: &str,
        callback_url: &str,
        verify_token: &str,
    ) -> anyhow::Result<()> {
        let secret = match self.state().facebook.page_secret(page_id) {
            Some(secret) => secret,
            None => bail!("unknown facebook page {page_id}"),
        };
        self.verify_meta_callback(callback_url, verify_token)
            .await?;
        let subscriber = self.start_subscriber(callback_url, &secret);
        self.state().facebook.set_subscriber(page_id, subscriber);
        Ok(())
    }

    /// Everything the business did to the platforms so far, in call order.
    pub fn outbound(&self) -> Vec<OutboundRecord> {
        self.inner.outbound.lock().unwrap().clone()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind; keep serving.
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn record(
        &self,
        platform: &str,
        kind: &str,
        target_id: Option<&str>,
        id: &str,
        text: Option<&str>,
    ) {
        self.inner.outbound.lock().unwrap().push(OutboundRecord {
            platform: platform.into(),
            kind: kind.into(),
            target_id: target_id.map(Into::into),
            id: id.into(),
            text: text.map(Into::into),
        });
    }

    /// A fresh numeric id, 16 digits like Facebook's object ids.
    fn next_id(&self) -> u64 {
        let mut next = self.inner.next_id.lock().unwrap();
        *next += 1;
        *next
    }

    /// Meta's subscription handshake: the callback must echo the challenge.
    async fn verify_meta_callback(
        &self,
        callback_url: &str,
        verify_token: &str,
    ) -> anyhow::Result<()> {
        let challenge = rand::random_range(1_000_000u32..2_000_000_000).to_string();
        let response = self
            .inner
            .http
            .get(callback_url)
            .query(&[
                ("hub.mode", "subscribe"),
                ("hub.challenge", challenge.as_str()),
                ("hub.verify_token", verify_token),
            ])
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .with_context(|| format!("verification request to {callback_url} failed"))?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        if status != reqwest::StatusCode::OK {
            bail!("callback {callback_url} answered the verification with {status}: {body:.200}");
        }
        if body.trim() != challenge {
            bail!(
                "callback {callback_url} did not echo the challenge {challenge} (answered {body:.200})"
            );
        }
        Ok(())
    }

    /// Starts the background worker that delivers, in order, everything sent to the returned
    /// subscriber. The worker ends when the subscriber (its sender) is dropped.
    fn start_subscriber(&self, callback_url: &str, app_secret: &str) -> Subscriber {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(delivery_worker(
            self.inner.http.clone(),
            callback_url.to_string(),
            app_secret.to_string(),
            rx,
        ));
        Subscriber {
            callback_url: callback_url.to_string(),
            tx,
        }
    }
}

/// A webhook subscriber: the callback URL and the queue of its background delivery worker.
struct Subscriber {
    callback_url: String,
    tx: mpsc::UnboundedSender<Value>,
}

impl Subscriber {
    /// Queues one webhook payload; it is delivered after everything queued before it.
    fn send(&self, payload: Value) {
        if self.tx.send(payload).is_err() {
            tracing::warn!(callback = %self.callback_url, "webhook worker is gone; delivery dropped");
        }
    }
}

/// Waits between delivery attempts; the number of entries is the number of retries.
const RETRY_BACKOFF: [Duration; 3] = [
    Duration::from_millis(200),
    Duration::from_secs(1),
    Duration::from_secs(3),
];

async fn delivery_worker(
    http: reqwest::Client,
    callback_url: String,
    app_secret: String,
    mut rx: mpsc::UnboundedReceiver<Value>,
) {
    while let Some(payload) = rx.recv().await {
        let body = meta_json_bytes(&payload);
        let signature = meta_signature(&app_secret, &body);
        let mut attempt = 0;
        loop {
            let result = http
                .post(&callback_url)
                .header(header::CONTENT_TYPE, "application/json")
                .header("X-Hub-Signature-256", &signature)
                .body(body.clone())
                .send()
                .await;
            let failure = match result {
                Ok(response) if response.status().is_success() => {
                    tracing::debug!(callback = %callback_url, "webhook delivered");
                    break;
                }
                Ok(response) => format!("status {}", response.status()),
                Err(err) => format!("error {err}"),
            };
            let Some(wait) = RETRY_BACKOFF.get(attempt) else {
                tracing::warn!(callback = %callback_url, %failure, "webhook delivery abandoned");
                break;
            };
            tracing::warn!(callback = %callback_url, %failure, retry_in = ?wait, "webhook delivery failed");
            attempt += 1;
            tokio::time::sleep(*wait).await;
        }
    }
}

/// Serializes a webhook payload the way Meta does: compact JSON with every non-ASCII
/// character escaped as `\uXXXX` (UTF-16, so emoji become surrogate pairs). Receivers must
/// verify the signature over these exact bytes, which is why the escaping matters.
pub fn meta_json_bytes(value: &Value) -> Vec<u8> {
    let plain = serde_json::to_string(value).expect("serializing a JSON value");
    let mut out = String::with_capacity(plain.len() + 16);
    // serde_json leaves non-ASCII raw, and it can only occur inside strings, where a \u
    // escape means the same thing; so escaping after serialization is safe.
    for ch in plain.chars() {
        if ch.is_ascii() {
            out.push(ch);
        } else {
            let mut units = [0u16; 2];
            for unit in ch.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out.into_bytes()
}

/// The `X-Hub-Signature-256` header value for `body`: `sha256=` and the lowercase hex
/// HMAC-SHA256 of the exact bytes, keyed with the app secret.
pub fn meta_signature(app_secret: &str, body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(app_secret.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Current time in unix seconds.
fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Error answer of the control API: `{"error": "..."}`.
fn control_error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({ "error": message.into() }))).into_response()
}

/// Parses a control API JSON body, answering 400 (not axum's 422) on bad input.
#[allow(clippy::result_large_err)] // the error is the ready-made HTTP answer
fn parse_control<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Response> {
    serde_json::from_slice(body).map_err(|e| {
        control_error(
            StatusCode::BAD_REQUEST,
            format!("invalid request body: {e}"),
        )
    })
}

async fn outbound_list(AxState(em): AxState<Emulator>) -> Response {
    axum::Json(em.outbound()).into_response()
}

async fn outbound_clear(AxState(em): AxState<Emulator>) -> Response {
    em.inner.outbound.lock().unwrap().clear();
    axum::Json(json!({ "ok": true })).into_response()
}

#[cfg(test)]
mod tests;
