//! `GET /2/users/:id/tweets`: a user's own recent tweets (the user tweet timeline), newest
//! first. A connector uses it to tell whether a reply whose answer it lost was posted.

use std::collections::HashMap;

use axum::extract::{Path, Query, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::limits::{gate, with_rate};
use super::{Tweet, XEndpoint, invalid_request, problem};
use crate::Emulator;

/// `max_results` 5..100 (default 10), `start_time` (ISO-8601) keeps tweets created at or
/// after it; deleted tweets are left out.
pub(super) async fn user_tweets(
    AxState(em): AxState<Emulator>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let (_, rate) = match gate(&em, XEndpoint::UserTweets, &headers, false) {
        Ok(ok) => ok,
        Err(response) => return response,
    };
    let max = match params.get("max_results").map(|m| m.parse::<usize>()) {
        None => 10,
        Some(Ok(m)) if (5..=100).contains(&m) => m,
        Some(_) => {
            return with_rate(
                invalid_request("The `max_results` query parameter value is not between 5 and 100"),
                rate,
            );
        }
    };
    let since = match params.get("start_time") {
        None => None,
        Some(t) => match parse_iso_ms(t) {
            Some(ms) => Some(ms),
            None => {
                return with_rate(
                    invalid_request("The `start_time` query parameter value is not a time"),
                    rate,
                );
            }
        },
    };
    let state = em.state();
    let x = &state.x;
    if !x.users.contains_key(&id) {
        return with_rate(
            problem(
                StatusCode::NOT_FOUND,
                "Not Found Error",
                &format!("Could not find user with id: [{id}]."),
                Some("resource-not-found"),
            ),
            rate,
        );
    }
    let mut found: Vec<&Tweet> = x
        .tweets
        .iter()
        .filter(|t| !t.deleted && t.author_id == id)
        .filter(|t| since.is_none_or(|s| t.created_ms >= s))
        .collect();
    found.sort_by(|a, b| (b.id.len(), &b.id).cmp(&(a.id.len(), &a.id)));
    found.truncate(max);
    with_rate(axum::Json(x.page(&found, None)).into_response(), rate)
}

/// `2024-01-15T12:03:00Z` or `2024-01-15T12:03:00.000Z` as unix ms.
fn parse_iso_ms(text: &str) -> Option<i64> {
    let t = text.trim().strip_suffix('Z')?;
    let (date, time) = t.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut h = hms.split(':').map(|p| p.parse::<i64>().ok());
    let (hh, mm, ss) = (h.next()??, h.next()??, h.next()??);
    let ms: i64 = format!("{frac:0<3}")[..3].parse().ok()?;
    // Days since 1970-01-01 (Howard Hinnant's days_from_civil).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 86_400 + hh * 3600 + mm * 60 + ss) * 1000) + ms)
}

#[cfg(test)]
mod tests {
    #[test]
    fn iso_times_parse_the_way_they_are_written() {
        assert_eq!(super::parse_iso_ms("1970-01-01T00:00:01Z"), Some(1000));
        assert_eq!(
            super::parse_iso_ms("2024-01-15T12:03:00.250Z"),
            Some(1_705_320_180_250)
        );
        assert_eq!(
            super::super::iso_time(1_705_320_180_250),
            "2024-01-15T12:03:00.250Z"
        );
        assert_eq!(super::parse_iso_ms("yesterday"), None);
    }
}
