//! Signing in, throttled. After a few failures for one username (3), or many from one
//! client address (20: a contact center's agents often share one), each further try must
//! wait longer (1 s, 2 s, 4 s … up to a minute) and an early one is answered 429 with
//! `Retry-After`, without checking the password. Password
//! checks (Argon2, about 19 MiB and tens of ms each) run on two threads of their own;
//! when too many wait, a sign-in is answered 429 at once, so a flood of logins can
//! neither exhaust memory nor starve the store and plugins of threads. (Threads of their
//! own rather than tokio's blocking pool: a thread keeps the allocator's memory of its
//! last check, and the blocking pool would spread checks over hundreds of threads.)
//!
//! The client address is the TCP peer's, or the first address of `X-Forwarded-For` when
//! the peer is one of `[server] trusted_proxies`.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::Mutex;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::StatusCode;
use axum::http::request::Parts;
use tokio::sync::{mpsc, oneshot};

use super::auth::{open_session, verify_password};
use super::error::ApiError;
use crate::app::App;
use crate::clock::now_ms;
use crate::store::audit::AuditEntry;
use crate::store::{directory, throttle};

/// Failures allowed for one username before its tries must wait.
const FREE_FOR_USER: u32 = 3;
/// Failures allowed from one address before its tries must wait.
const FREE_FOR_ADDR: u32 = 20;
/// The longest wait between tries, ms.
const MAX_DELAY_MS: i64 = 60_000;
/// Threads checking passwords.
const CHECKERS: usize = 2;
/// Sign-ins waiting for a check before more are turned away.
const MAX_WAITING: usize = 32;
/// Throttle entries kept at most (expired ones are dropped first).
const MAX_ENTRIES: usize = 50_000;

/// A hash that matches no password, checked for unknown users so that timing does not
/// tell which names exist.
const NO_USER_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$3/1Yi/x0mAGKNjOdAE8Jx1ZWEGCgqnIh/2r8Y5P3u1M";

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    User(String),
    Addr(IpAddr),
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Failures {
    count: u32,
    /// No try before this (unix ms).
    until: i64,
}

/// A password to check against a hash, and where to say whether it matched.
type Check = (String, String, oneshot::Sender<bool>);

/// The sign-in throttle and the password checkers; one per host.
pub(crate) struct Logins {
    failures: Mutex<HashMap<Key, Failures>>,
    checks: mpsc::Sender<Check>,
}

impl Default for Logins {
    fn default() -> Self {
        let (checks, queue) = mpsc::channel::<Check>(MAX_WAITING);
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..CHECKERS {
            let queue = queue.clone();
            // The threads end when the host drops its `Logins` (the queue closes).
            let spawned = std::thread::Builder::new()
                .name(format!("password-check-{n}"))
                .spawn(move || {
                    loop {
                        let next = queue.lock().unwrap().blocking_recv();
                        let Some((password, hash, answer)) = next else {
                            return;
                        };
                        let _ = answer.send(verify_password(&password, &hash));
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a password-check thread");
            }
        }
        Logins {
            failures: Mutex::new(HashMap::new()),
            checks,
        }
    }
}

impl Key {
    /// The key as the store keeps it (`store::throttle`).
    fn stored(&self) -> String {
        match self {
            Key::User(name) => format!("user:{name}"),
            Key::Addr(ip) => format!("addr:{ip}"),
        }
    }

    /// Failures allowed before tries must wait.
    fn free(&self) -> u32 {
        match self {
            Key::User(_) => FREE_FOR_USER,
            Key::Addr(_) => FREE_FOR_ADDR,
        }
    }
}

/// How long to wait after the `count`th failure when `free` are allowed, ms.
fn delay_ms(count: u32, free: u32) -> i64 {
    if count < free {
        return 0;
    }
    (1000i64 << (count - free).min(20)).min(MAX_DELAY_MS)
}

fn too_many(message: &str, wait_ms: i64) -> ApiError {
    let seconds = (wait_ms.max(1) + 999) / 1000;
    ApiError::problem(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", message)
        .with("retry_after_s", seconds)
}

impl Logins {
    /// Takes from the store the failures of `keys` this host has not seen: recorded by
    /// the host that led before it. A store that cannot be read leaves the throttle to
    /// what this host saw itself.
    async fn load_missing(&self, app: &App, keys: &[Key]) {
        let missing: Vec<Key> = {
            let failures = self.failures.lock().unwrap();
            keys.iter()
                .filter(|k| !failures.contains_key(k))
                .cloned()
                .collect()
        };
        if missing.is_empty() {
            return;
        }
        let names: Vec<String> = missing.iter().map(Key::stored).collect();
        let found = app
            .store
            .read(move |c| {
                names
                    .iter()
                    .map(|n| throttle::get(c, n))
                    .collect::<anyhow::Result<Vec<_>>>()
            })
            .await;
        match found {
            Ok(found) => {
                let mut failures = self.failures.lock().unwrap();
                for (key, kept) in missing.into_iter().zip(found) {
                    if let Some(kept) = kept {
                        failures.entry(key).or_insert(Failures {
                            count: kept.count,
                            until: kept.until_ms,
                        });
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "sign-in throttling could not read the store; using this host's own count")
            }
        }
    }

    /// Refuses a try made before its wait is over.
    fn check_wait(&self, keys: &[Key], now: i64) -> Result<(), ApiError> {
        let failures = self.failures.lock().unwrap();
        let until = keys
            .iter()
            .filter_map(|k| failures.get(k))
            .map(|f| f.until)
            .max()
            .unwrap_or(0);
        if now < until {
            return Err(too_many(
                "Too many failed sign-ins. Wait a moment, then try again.",
                until - now,
            ));
        }
        Ok(())
    }

    /// Counts a failure of each key; the counts as they stand now.
    fn failed(&self, keys: &[Key], now: i64) -> Vec<(String, Failures)> {
        let mut failures = self.failures.lock().unwrap();
        if failures.len() >= MAX_ENTRIES {
            failures.retain(|_, f| f.until > now);
            if failures.len() >= MAX_ENTRIES {
                // Still full of live entries: forget the oldest half rather than grow.
                let mut untils: Vec<i64> = failures.values().map(|f| f.until).collect();
                untils.sort_unstable();
                let cut = untils[untils.len() / 2];
                failures.retain(|_, f| f.until > cut);
            }
        }
        keys.iter()
            .map(|key| {
                let f = failures.entry(key.clone()).or_default();
                f.count += 1;
                f.until = now + delay_ms(f.count, key.free());
                (key.stored(), *f)
            })
            .collect()
    }

    /// Writes failures through to the store, for the host that leads next.
    async fn keep(&self, app: &App, counted: Vec<(String, Failures)>) {
        let kept = app
            .store
            .write(move |c| {
                for (key, f) in &counted {
                    let f = throttle::Failures {
                        count: f.count,
                        until_ms: f.until,
                    };
                    throttle::set(c, key, f)?;
                }
                Ok(())
            })
            .await;
        if let Err(e) = kept {
            tracing::warn!(error = %format!("{e:#}"), "sign-in failures not kept in the store");
        }
    }

    /// Forgets `username`'s failures here; the key to forget in the store.
    fn succeeded(&self, username: &str) -> String {
        let key = Key::User(username.to_lowercase());
        self.failures.lock().unwrap().remove(&key);
        key.stored()
    }

    /// Checks a password on the checker threads; refused at once when too many wait.
    async fn verify(&self, password: String, hash: String) -> Result<bool, ApiError> {
        let (answer, matched) = oneshot::channel();
        self.checks
            .try_send((password, hash, answer))
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => too_many(
                    "Too many people are signing in at once. Try again in a moment.",
                    1000,
                ),
                mpsc::error::TrySendError::Closed(_) => {
                    ApiError::Internal(anyhow::anyhow!("the password checkers stopped"))
                }
            })?;
        matched
            .await
            .map_err(|_| ApiError::Internal(anyhow::anyhow!("a password check was dropped")))
    }
}

/// Checks a sign-in and opens a session; returns its token.
pub(crate) async fn login(
    app: &App,
    logins: &Logins,
    client: IpAddr,
    username: String,
    password: String,
) -> Result<String, ApiError> {
    let keys = [Key::User(username.to_lowercase()), Key::Addr(client)];
    logins.load_missing(app, &keys).await;
    logins.check_wait(&keys, now_ms())?;
    let name = username.clone();
    let found = app
        .store
        .read(move |c| directory::user_with_hash(c, &name))
        .await?;
    let found_id = found.as_ref().map(|(u, _)| u.id);
    let (user, hash) = match found {
        Some((u, h)) => (Some(u), h),
        None => (None, NO_USER_HASH.to_string()),
    };
    let ok = logins.verify(password, hash).await?;
    let entry = |actor_id: Option<i64>, actor: &str, action: &str| AuditEntry {
        id: 0,
        at: now_ms(),
        actor_id,
        actor: actor.to_owned(),
        client: client.to_string(),
        action: action.to_owned(),
        target: None,
        status: None,
        detail: None,
    };
    let Some(user) = user.filter(|_| ok) else {
        let counted = logins.failed(&keys, now_ms());
        logins.keep(app, counted).await;
        tracing::warn!(%username, %client, "sign-in refused");
        // Only checked passwords are recorded: a throttled flood is answered 429 before
        // any check and would bury the log.
        let known = found_id;
        super::audit::append(app, entry(known, &username, "sign_in_failed")).await;
        return Err(ApiError::Unauthorized("Wrong username or password.".into()));
    };
    let stored = logins.succeeded(&username);
    if let Err(e) = app.store.write(move |c| throttle::clear(c, &stored)).await {
        tracing::warn!(error = %format!("{e:#}"), "sign-in failures not cleared in the store");
    }
    tracing::info!(user = %user.username, %client, "signed in");
    let token = open_session(app, user.id).await?;
    super::audit::append(app, entry(Some(user.id), &user.username, "sign_in")).await;
    Ok(token)
}

/// The client's address, as the throttle and the audit log see it.
pub struct ClientAddr(pub IpAddr);

impl FromRequestParts<Arc<App>> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &Arc<App>,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::from([127, 0, 0, 1]));
        let forwarded = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok());
        Ok(ClientAddr(client_of(
            peer,
            forwarded,
            &app.config.server.trusted_proxies,
        )))
    }
}

/// The client behind `peer`: the first `X-Forwarded-For` address if `peer` is trusted.
fn client_of(peer: IpAddr, forwarded: Option<&str>, trusted: &[ipnet::IpNet]) -> IpAddr {
    if !trusted.iter().any(|net| net.contains(&peer)) {
        return peer;
    }
    forwarded
        .and_then(|f| f.split(',').next())
        .and_then(|first| first.trim().parse().ok())
        .unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_after_the_free_failures_and_stop_growing() {
        assert_eq!(
            (1..=6).map(|n| delay_ms(n, 3)).collect::<Vec<_>>(),
            [0, 0, 1000, 2000, 4000, 8000]
        );
        assert_eq!(delay_ms(19, 20), 0);
        assert_eq!(delay_ms(40, 3), MAX_DELAY_MS);
    }

    #[test]
    fn a_try_inside_the_wait_is_refused_with_when_to_come_back() {
        let logins = Logins::default();
        let keys = [Key::User("ann".into()), Key::Addr([10, 0, 0, 1].into())];
        for n in 1..=FREE_FOR_USER {
            logins.check_wait(&keys, 1_000).unwrap();
            let counted = logins.failed(&keys, 1_000);
            assert_eq!(
                counted[0],
                (
                    "user:ann".to_owned(),
                    Failures {
                        count: n,
                        until: 1_000 + delay_ms(n, FREE_FOR_USER)
                    }
                )
            );
            assert_eq!(counted[1].0, "addr:10.0.0.1");
        }
        let refused = logins.check_wait(&keys, 1_500).unwrap_err();
        let ApiError::Problem(p) = refused else {
            panic!("a problem")
        };
        assert_eq!(p.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(p.fields["retry_after_s"], 1);
        logins.check_wait(&keys, 2_000).unwrap();
        // Another address is held back for the same user; another user at the same
        // address is not (an address has more room: agents share one).
        let other_addr = [Key::User("ann".into()), Key::Addr([10, 0, 0, 2].into())];
        assert!(logins.check_wait(&other_addr, 1_500).is_err());
        let other_user = [Key::User("bob".into()), Key::Addr([10, 0, 0, 1].into())];
        logins.check_wait(&other_user, 1_500).unwrap();
        logins.succeeded("Ann");
        assert!(logins.check_wait(&[Key::User("ann".into())], 1_500).is_ok());
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxy: IpAddr = [10, 0, 0, 5].into();
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/24".parse().unwrap()];
        let client = client_of(proxy, Some("203.0.113.9, 10.0.0.5"), &trusted);
        assert_eq!(client, IpAddr::from([203, 0, 113, 9]));
        let stranger: IpAddr = [192, 0, 2, 1].into();
        assert_eq!(client_of(stranger, Some("203.0.113.9"), &trusted), stranger);
        assert_eq!(client_of(proxy, Some("garbage"), &trusted), proxy);
    }
}
