//! Passwords (argon2), sessions (bearer tokens) and the signed-in user extractor.

use std::sync::Arc;

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::error::ApiError;
use crate::app::App;
use crate::clock::now_ms;
use crate::store::directory::{self, User};

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

/// Checks a login and opens a session; returns its token.
pub async fn login(app: &App, username: String, password: String) -> Result<String, ApiError> {
    let found = app
        .store
        .read(move |c| directory::user_with_hash(c, &username))
        .await?;
    // Verify even for unknown users so timing does not tell which names exist.
    let (user, hash) = match found {
        Some((u, h)) => (Some(u), h),
        None => (None, "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$3/1Yi/x0mAGKNjOdAE8Jx1ZWEGCgqnIh/2r8Y5P3u1M".to_string()),
    };
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .unwrap_or(false);
    let user = user
        .filter(|_| ok)
        .ok_or(ApiError::Unauthorized("wrong username or password".into()))?;
    let token = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let (t, id) = (token.clone(), user.id);
    app.store
        .write(move |c| directory::create_session(c, &t, id, now_ms()))
        .await?;
    Ok(token)
}

/// The signed-in user of a request (`Authorization: Bearer <token>`, or `?token=` for
/// event streams, which browsers open without headers).
pub struct Caller(pub User);

impl FromRequestParts<Arc<App>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &Arc<App>,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_owned);
        let query = parts.uri.query().and_then(|q| {
            q.split('&')
                .find_map(|kv| kv.strip_prefix("token="))
                .map(str::to_owned)
        });
        let token = header
            .or(query)
            .ok_or(ApiError::Unauthorized("missing bearer token".into()))?;
        let user = app
            .store
            .read(move |c| directory::session_user(c, &token))
            .await?
            .ok_or(ApiError::Unauthorized("invalid or expired token".into()))?;
        Ok(Caller(user))
    }
}

impl Caller {
    /// Whether the caller may see every interaction (supervisors and administrators).
    pub fn sees_all(&self) -> bool {
        self.0.has_right("supervisor") || self.0.has_right("social_media_admin")
    }
}
