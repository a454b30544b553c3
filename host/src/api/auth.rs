//! Passwords (argon2), sessions and the signed-in user extractors.
//!
//! A session token is shown to its user once, at sign-in; the store keeps only its
//! SHA-256, so a copy of the database signs nobody in. A session ends when it has not
//! been used for `[server.sessions] idle_timeout_s`, `max_age_s` after sign-in, at
//! `POST /api/v1/logout`, and when an administrator changes the user's password,
//! rights or name or deletes them. An open event stream is not use: it keeps nothing
//! alive, and it closes when its session ends.

use std::sync::Arc;
use std::time::Duration;

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};

use super::error::ApiError;
use crate::app::App;
use crate::clock::now_ms;
use crate::store::directory::{self, User};

/// A session used within this long (or a quarter of a short idle limit) is not written
/// again (saves a write per request). The desktop counts the same way (`api.js`).
const TOUCH_EVERY_MS: i64 = 30_000;

/// Hashes a password for storage.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let hash = Argon2::default()
        .hash_password(password.as_bytes())
        .map_err(|e| anyhow::anyhow!("hashing password: {e}"))?;
    Ok(hash.to_string())
}

/// Whether `password` matches a stored hash.
pub fn verify_password(password: &str, hash: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), hash)
        .is_ok()
}

/// What the store keeps of a token.
pub(crate) fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Opens a session for `user_id`; returns its token (the only time it is seen).
pub(crate) async fn open_session(app: &App, user_id: i64) -> Result<String, ApiError> {
    let token = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let hash = token_hash(&token);
    app.store
        .write(move |c| directory::create_session(c, &hash, user_id, now_ms()))
        .await?;
    Ok(token)
}

/// Ends the session of `token`; whether there was one.
pub(crate) async fn close_session(app: &App, token: &str) -> Result<bool, ApiError> {
    let hash = token_hash(token);
    Ok(app
        .store
        .write(move |c| directory::end_session(c, &hash))
        .await?)
}

/// Why a stored session no longer counts, if it does not.
fn expired(app: &App, session: &directory::Session, now: i64) -> Option<&'static str> {
    let limits = &app.config.server.sessions;
    if now - session.created_at >= limits.max_age_s as i64 * 1000 {
        Some("Your session has reached its maximum length. Please sign in again.")
    } else if now - session.last_seen_at >= limits.idle_timeout_s as i64 * 1000 {
        Some("Your session ended after a period without activity. Please sign in again.")
    } else {
        None
    }
}

/// Looks up the session of `token`; `touch`: this request counts as use.
async fn session_user(app: &App, token: &str, touch: bool) -> Result<User, ApiError> {
    let hash = token_hash(token);
    let lookup = hash.clone();
    let session = app
        .store
        .read(move |c| directory::session(c, &lookup))
        .await?
        .ok_or(ApiError::Unauthorized(
            "Your session has ended. Please sign in again.".into(),
        ))?;
    let now = now_ms();
    if let Some(why) = expired(app, &session, now) {
        let gone = hash.clone();
        app.store
            .write(move |c| directory::end_session(c, &gone))
            .await?;
        return Err(ApiError::Unauthorized(why.into()));
    }
    let every = TOUCH_EVERY_MS.min(app.config.server.sessions.idle_timeout_s as i64 * 1000 / 4);
    if touch && now - session.last_seen_at >= every {
        app.store
            .write(move |c| directory::touch_session(c, &hash, now))
            .await?;
    }
    Ok(session.user)
}

fn bearer(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned)
}

/// The signed-in user of a request (`Authorization: Bearer <token>`); the request
/// counts as use of the session.
pub struct Caller(pub User);

impl FromRequestParts<Arc<App>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &Arc<App>,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or(ApiError::Unauthorized(
            "Sign in first: this needs an `Authorization: Bearer` token.".into(),
        ))?;
        Ok(Caller(session_user(app, &token, true).await?))
    }
}

/// The token a request was made with (for `logout`).
pub struct Token(pub String);

impl FromRequestParts<Arc<App>> for Token {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &Arc<App>,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or(ApiError::Unauthorized(
            "Sign in first: this needs an `Authorization: Bearer` token.".into(),
        ))?;
        session_user(app, &token, false).await?;
        Ok(Token(token))
    }
}

/// The signed-in user of an event stream: browsers open `EventSource` without headers,
/// so `?token=` is accepted here and only here. Opening or holding a stream is not use
/// of the session.
pub struct StreamCaller {
    /// Who.
    pub user: User,
    /// With which token (the stream watches its session and ends with it).
    pub token: String,
}

impl FromRequestParts<Arc<App>> for StreamCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &Arc<App>,
    ) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().and_then(|q| {
            q.split('&')
                .find_map(|kv| kv.strip_prefix("token="))
                .map(str::to_owned)
        });
        let token = bearer(parts).or(query).ok_or(ApiError::Unauthorized(
            "Sign in first: this needs a token.".into(),
        ))?;
        let user = session_user(app, &token, false).await?;
        Ok(StreamCaller { user, token })
    }
}

/// Resolves once the session of `token` has ended (logout, expiry, an administrator's
/// change); an event stream ends with it. Looks every few seconds.
pub(crate) async fn session_ended(app: Arc<App>, token: String) {
    let mut stop = app.stop.clone();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            _ = stop.changed() => return,
        }
        if session_user(&app, &token, false).await.is_err() {
            return;
        }
    }
}

impl Caller {
    /// Whether the caller may see every interaction (supervisors and administrators).
    pub fn sees_all(&self) -> bool {
        self.0.has_right("supervisor") || self.0.has_right("social_media_admin")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_keeps_a_digest_not_the_token() {
        let hash = token_hash("abc");
        assert_eq!(hash.len(), 64);
        assert_ne!(hash, "abc");
        assert_eq!(hash, token_hash("abc"));
        assert_ne!(hash, token_hash("abd"));
    }
}
