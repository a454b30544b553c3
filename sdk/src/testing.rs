//! A mock host for native unit tests (not compiled for wasm32).
//!
//! On native targets [`http`](crate::http), [`clock`](crate::clock),
//! [`log`](crate::log), [`kv`](crate::kv) and [`config`](crate::config) talk to a
//! thread-local mock instead of the Switchboard host. [`MockHost::new`] resets it;
//! the returned handle sets config and secrets, answers HTTP requests with a closure,
//! and shows what the connector did. Each test runs on its own thread under
//! `cargo test`, so tests do not see each other's state.
//!
//! ```
//! use switchboard_sdk::{http, testing::MockHost, HttpResponse};
//!
//! let host = MockHost::new();
//! host.set_config("page_id", "42")
//!     .on_http(|req| Ok(HttpResponse::text(200, format!("you asked {}", req.url))));
//! let resp = http::get("https://graph.example/42", &[]).unwrap();
//! assert_eq!(resp.body_text(), "you asked https://graph.example/42");
//! assert_eq!(host.requests().len(), 1);
//! ```

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::rc::Rc;

use crate::{HttpError, HttpRequest, HttpResponse, Level};

type Handler = Rc<RefCell<dyn FnMut(&HttpRequest) -> Result<HttpResponse, HttpError>>>;

#[derive(Default)]
struct State {
    config: BTreeMap<String, String>,
    secrets: BTreeMap<String, String>,
    kv: BTreeMap<String, Vec<u8>>,
    now_millis: Option<i64>,
    logs: Vec<(Level, String)>,
    requests: Vec<HttpRequest>,
    handler: Option<Handler>,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

fn with<R>(f: impl FnOnce(&mut State) -> R) -> R {
    STATE.with(|s| f(&mut s.borrow_mut()))
}

/// Handle on this thread's mock host. Cheap to create; all handles on a thread share
/// one state.
pub struct MockHost {
    _not_send: PhantomData<*const ()>,
}

impl Default for MockHost {
    fn default() -> Self {
        Self::new()
    }
}

impl MockHost {
    /// Resets this thread's mock host to empty (no config, no secrets, empty kv, no
    /// HTTP handler, real clock) and returns a handle on it.
    pub fn new() -> Self {
        with(|s| *s = State::default());
        MockHost {
            _not_send: PhantomData,
        }
    }

    /// Sets a plain setting read by [`config::get`](crate::config::get).
    pub fn set_config(&self, key: &str, value: &str) -> &Self {
        with(|s| s.config.insert(key.into(), value.into()));
        self
    }

    /// Removes a plain setting.
    pub fn remove_config(&self, key: &str) -> &Self {
        with(|s| s.config.remove(key));
        self
    }

    /// Sets a secret read by [`config::secret`](crate::config::secret).
    pub fn set_secret(&self, key: &str, value: &str) -> &Self {
        with(|s| s.secrets.insert(key.into(), value.into()));
        self
    }

    /// Removes a secret.
    pub fn remove_secret(&self, key: &str) -> &Self {
        with(|s| s.secrets.remove(key));
        self
    }

    /// Answers every [`http::fetch`](crate::http::fetch) with `handler` (replacing the
    /// previous one). Return `Err` to simulate a failure: an [`HttpError`] of the kind the
    /// host would give (`HttpError::Refused` for a host off the allowlist, `Timeout`,
    /// `Tls`, ...), or a plain string (`Err("connection refused".into())`), which is a
    /// [`HttpError::Connection`]. Requests are recorded whether or not a handler is set.
    pub fn on_http(
        &self,
        handler: impl FnMut(&HttpRequest) -> Result<HttpResponse, HttpError> + 'static,
    ) -> &Self {
        let handler: Handler = Rc::new(RefCell::new(handler));
        with(|s| s.handler = Some(handler));
        self
    }

    /// Every request the connector sent so far, oldest first.
    pub fn requests(&self) -> Vec<HttpRequest> {
        with(|s| s.requests.clone())
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) -> &Self {
        with(|s| s.requests.clear());
        self
    }

    /// Freezes the clock at `millis` since the unix epoch.
    pub fn set_now_millis(&self, millis: i64) -> &Self {
        with(|s| s.now_millis = Some(millis));
        self
    }

    /// Moves the frozen clock forward by `millis` (freezing it at the real time first
    /// if it was not frozen).
    pub fn advance_millis(&self, millis: i64) -> &Self {
        with(|s| s.now_millis = Some(s.now_millis.unwrap_or_else(real_now_millis) + millis));
        self
    }

    /// Every log line written so far, oldest first.
    pub fn logs(&self) -> Vec<(Level, String)> {
        with(|s| s.logs.clone())
    }

    /// The value the connector stored under `key`.
    pub fn kv_get(&self, key: &str) -> Option<Vec<u8>> {
        with(|s| s.kv.get(key).cloned())
    }

    /// Stores a value as if the connector had stored it earlier.
    pub fn kv_set(&self, key: &str, value: impl AsRef<[u8]>) -> &Self {
        with(|s| s.kv.insert(key.into(), value.as_ref().to_vec()));
        self
    }

    /// The keys currently stored, sorted.
    pub fn kv_keys(&self) -> Vec<String> {
        with(|s| s.kv.keys().cloned().collect())
    }
}

fn real_now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// What the capability functions call on native targets.
pub(crate) mod backend {
    use super::*;

    pub(crate) fn fetch(req: &HttpRequest) -> Result<HttpResponse, HttpError> {
        let handler = with(|s| {
            s.requests.push(req.clone());
            s.handler.clone()
        });
        match handler {
            // The state is not borrowed while the handler runs, so it may use the mock.
            Some(h) => (h.borrow_mut())(req),
            None => Err(HttpError::Refused(format!(
                "MockHost has no HTTP handler for {} {} (call MockHost::on_http)",
                req.method, req.url
            ))),
        }
    }

    pub(crate) fn now_millis() -> i64 {
        with(|s| s.now_millis).unwrap_or_else(real_now_millis)
    }

    pub(crate) fn log(level: Level, message: &str) {
        with(|s| s.logs.push((level, message.to_string())));
    }

    pub(crate) fn kv_get(key: &str) -> Option<Vec<u8>> {
        with(|s| s.kv.get(key).cloned())
    }

    pub(crate) fn kv_set(key: &str, value: &[u8]) {
        with(|s| s.kv.insert(key.to_string(), value.to_vec()));
    }

    pub(crate) fn kv_delete(key: &str) {
        with(|s| s.kv.remove(key));
    }

    pub(crate) fn config_get(key: &str) -> Option<String> {
        with(|s| s.config.get(key).cloned())
    }

    pub(crate) fn config_secret(key: &str) -> Option<String> {
        with(|s| s.secrets.get(key).cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{clock, config, http, kv};

    #[test]
    fn new_resets_state() {
        let host = MockHost::new();
        host.set_config("a", "1")
            .set_secret("b", "2")
            .kv_set("k", "v");
        host.set_now_millis(5);
        let _ = http::get("https://x.test", &[]);
        let host = MockHost::new();
        assert_eq!(config::get("a"), None);
        assert_eq!(config::secret("b"), None);
        assert_eq!(kv::get("k"), None);
        assert!(host.requests().is_empty());
        assert!(clock::now_millis() > 1_600_000_000_000);
        host.set_config("a", "1").remove_config("a");
        host.set_secret("b", "1").remove_secret("b");
        assert_eq!(config::get("a"), None);
        assert_eq!(config::secret("b"), None);
    }

    #[test]
    fn handler_can_keep_state_and_use_the_mock() {
        let host = MockHost::new();
        let mut calls = 0;
        host.on_http(move |req| {
            calls += 1;
            // The handler may call into the mock (e.g. look at config).
            let token = config::secret("token").unwrap_or_default();
            Ok(HttpResponse::text(
                200,
                format!("{calls} {} {token}", req.url),
            ))
        });
        host.set_secret("token", "t");
        assert_eq!(http::get("u1", &[]).unwrap().body_text(), "1 u1 t");
        assert_eq!(http::get("u2", &[]).unwrap().body_text(), "2 u2 t");
        assert_eq!(host.requests().len(), 2);
        host.clear_requests();
        assert!(host.requests().is_empty());
        host.on_http(|_| Err("connection refused".into()));
        assert_eq!(
            http::get("u3", &[]),
            Err(HttpError::Connection("connection refused".to_string()))
        );
        assert_eq!(host.kv_keys(), Vec::<String>::new());
    }
}
