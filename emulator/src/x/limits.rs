//! Per-endpoint rate limits: windows per endpoint family and token, the
//! `x-rate-limit-*` headers, 429 until the reset; the bearer-token check that comes
//! first; and the log of every API call.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;

use super::{XEndpoint, XRequestLog, problem};
use crate::Emulator;

impl XEndpoint {
    /// The real platform's limit per 15-minute window.
    fn default_limit(self) -> u32 {
        match self {
            XEndpoint::Search | XEndpoint::Mentions => 450,
            // The user tweet timeline: 900 per user per 15 minutes.
            XEndpoint::UserTweets => 900,
            XEndpoint::Users => 300,
            // `GET /2/users/me`: 75 per user per 15 minutes.
            XEndpoint::UsersMe => 75,
            XEndpoint::DmRead | XEndpoint::DmSend => 15,
            XEndpoint::Post => 100,
            XEndpoint::Delete => 50,
            XEndpoint::StreamRules => 450,
            XEndpoint::Stream => 50,
            // Tweet lookup 450 and user lookup 300 per app per 15 minutes.
            XEndpoint::TweetLookup => 450,
            XEndpoint::UserLookup => 300,
            XEndpoint::MediaUpload => 500,
            // X documents no limit for DM media downloads; generous, so tests see none.
            XEndpoint::DmMedia => 900,
        }
    }
}

/// Default window length (15 minutes).
const WINDOW_S: i64 = 900;

#[derive(Clone, Copy, Debug)]
pub(super) struct Limit {
    limit: u32,
    window_s: i64,
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Window {
    /// Unix seconds when the window resets.
    reset: i64,
    used: u32,
}

impl Emulator {
    /// Sets the rate limit of one endpoint family (calls per window of `window_s` seconds)
    /// and starts its windows afresh.
    pub fn set_x_rate_limit(&self, endpoint: XEndpoint, limit: u32, window_s: u64) {
        let mut state = self.state();
        state.x.limits.insert(
            endpoint,
            Limit {
                limit,
                window_s: window_s.max(1) as i64,
            },
        );
        state.x.windows.retain(|(e, _), _| *e != endpoint);
    }

    /// Every X API call so far, in order.
    pub fn x_requests(&self) -> Vec<XRequestLog> {
        self.state().x.requests.clone()
    }
}

/// Who is calling.
#[derive(Clone, Debug)]
pub(super) enum Caller {
    /// A user access token of one of the accounts.
    User(String),
    /// The app-only bearer token (or any token when none is configured).
    App,
}

/// The rate-limit headers of one answer.
#[derive(Clone, Copy)]
pub(super) struct Rate {
    limit: u32,
    remaining: u32,
    reset: i64,
}

pub(super) fn with_rate(mut response: Response, rate: Rate) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        ("x-rate-limit-limit", rate.limit.to_string()),
        ("x-rate-limit-remaining", rate.remaining.to_string()),
        ("x-rate-limit-reset", rate.reset.to_string()),
    ] {
        headers.insert(name, HeaderValue::from_str(&value).expect("digits"));
    }
    response
}

/// Authenticates and counts one call of `endpoint`; `user_only` endpoints refuse the
/// app-only token. Answers 401 / 403 / 429 itself.
#[allow(clippy::result_large_err)]
pub(super) fn gate(
    em: &Emulator,
    endpoint: XEndpoint,
    headers: &HeaderMap,
    user_only: bool,
) -> Result<(Caller, Rate), Response> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty());
    let mut state = em.state();
    let x = &mut state.x;
    super::media::remember_origin(x, headers);
    // The windows' clock, which a test may move forward (`emulator::clock`).
    let at_ms = em.now_ms();
    let no_tokens =
        x.config.bearer_token.is_none() && x.config.accounts.iter().all(|a| a.token.is_empty());
    let caller = match &token {
        None => None,
        Some(t) => x
            .config
            .accounts
            .iter()
            .find(|a| !a.token.is_empty() && a.token == *t)
            .map(|a| Caller::User(a.user_id.clone()))
            .or_else(|| {
                (no_tokens || x.config.bearer_token.as_deref() == Some(t.as_str()))
                    .then_some(Caller::App)
            }),
    };
    let Some(caller) = caller else {
        x.requests.push(XRequestLog {
            endpoint,
            at_ms,
            status: 401,
            reset: None,
            remaining: None,
        });
        return Err(problem(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "Unauthorized",
            None,
        ));
    };
    if user_only && matches!(caller, Caller::App) && !no_tokens {
        x.requests.push(XRequestLog {
            endpoint,
            at_ms,
            status: 403,
            reset: None,
            remaining: None,
        });
        return Err(problem(
            StatusCode::FORBIDDEN,
            "Unsupported Authentication",
            "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.  Supported authentication types are [OAuth 1.0a User Context, OAuth 2.0 User Context].",
            Some("unsupported-authentication"),
        ));
    }
    // A failure a test injected for this endpoint (a 403 on direct messages, ...).
    if let Some(response) = super::faults::take_failure(x, endpoint) {
        return Err(response);
    }
    let limit = x.limits.get(&endpoint).copied().unwrap_or(Limit {
        limit: endpoint.default_limit(),
        window_s: WINDOW_S,
    });
    let now_s = at_ms.div_euclid(1000);
    let window = x
        .windows
        .entry((endpoint, token.unwrap_or_default()))
        .or_insert(Window {
            reset: now_s + limit.window_s,
            used: 0,
        });
    if now_s >= window.reset {
        *window = Window {
            reset: now_s + limit.window_s,
            used: 0,
        };
    }
    if window.used >= limit.limit {
        let rate = Rate {
            limit: limit.limit,
            remaining: 0,
            reset: window.reset,
        };
        x.requests.push(XRequestLog {
            endpoint,
            at_ms,
            status: 429,
            reset: Some(window.reset),
            remaining: Some(0),
        });
        return Err(with_rate(
            problem(
                StatusCode::TOO_MANY_REQUESTS,
                "Too Many Requests",
                "Too Many Requests",
                None,
            ),
            rate,
        ));
    }
    window.used += 1;
    let rate = Rate {
        limit: limit.limit,
        remaining: limit.limit - window.used,
        reset: window.reset,
    };
    x.requests.push(XRequestLog {
        endpoint,
        at_ms,
        status: 200,
        reset: Some(rate.reset),
        remaining: Some(rate.remaining),
    });
    Ok((caller, rate))
}
