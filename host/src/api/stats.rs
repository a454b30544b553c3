//! Supervisor reports: the real-time dashboard and the interaction search.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Caller;
use super::error::ApiError;
use super::extract::{Json, Query};
use super::params::{given, instant, number, parsed, wants_csv};
use super::responses::{BadRequest, NeedsRight};
use super::supervisor::{WorkgroupStats, agent_statuses, supervisor, workgroup_stats};
use crate::app::App;
use crate::clock::now_ms;
use crate::model::interaction::{Interaction, MediaType, State as IxState, platform_label};
use crate::routing::AgentStatus;
use crate::store::directory::{self, User};
use crate::store::reports::{self, Active, MINUTE_MS, MinuteCounts, SearchFilter};

/// How many minutes `per_minute` covers.
const MINUTES: i64 = 60;
/// Search page size when none is asked for.
const DEFAULT_LIMIT: i64 = 50;
/// Largest search page.
const MAX_LIMIT: i64 = 200;

/// The live interactions of one media type.
#[derive(Serialize, ToSchema, Debug, PartialEq)]
pub struct MediaActivity {
    /// Interactions not disconnected (buffered, queued, alerting, connected, held).
    pub active: i64,
    /// Age of the oldest active one (now - created_at), ms; 0 when none is active.
    pub longest_ms: i64,
    /// Id of the oldest active one; null when none is active.
    pub longest_id: Option<i64>,
}

/// Users with the `agent` right by routing status; every status is always present.
#[derive(Serialize, ToSchema, Debug, Default, PartialEq)]
pub struct AgentsByStatus {
    /// Taking new work.
    pub available: usize,
    /// Logged in, taking no new work.
    pub away: usize,
    /// Let an offer time out.
    pub not_responding: usize,
    /// Not logged in.
    pub logged_out: usize,
}

/// Traffic of one minute.
#[derive(Serialize, ToSchema, Debug, PartialEq)]
pub struct MinuteStats {
    /// Start of the minute, unix ms.
    pub minute: i64,
    /// Interactions created in that minute.
    pub arrivals: i64,
    /// Interactions first picked up in that minute.
    pub answered: i64,
}

/// The real-time supervisor dashboard.
#[derive(Serialize, ToSchema)]
pub struct Realtime {
    /// When these numbers were taken, unix ms.
    pub now: i64,
    /// Public conversations (`social_conversation`).
    pub conversations: MediaActivity,
    /// Direct messages (`social_direct_message`).
    pub direct_messages: MediaActivity,
    /// Every workgroup's queue and service level: the numbers of `/queues`.
    pub workgroups: Vec<WorkgroupStats>,
    /// Agents by routing status.
    pub agents_by_status: AgentsByStatus,
    /// The last hour, one entry per minute, oldest first; the last one is the current
    /// (unfinished) minute.
    pub per_minute: Vec<MinuteStats>,
}

/// Live counts, queues, agents and the last hour's traffic.
#[utoipa::path(get, path = "/api/v1/stats/realtime", responses((status = 200, body = Realtime), NeedsRight), security(("bearer" = [])))]
pub async fn realtime(
    State(app): State<Arc<App>>,
    caller: Caller,
) -> Result<Json<Realtime>, ApiError> {
    supervisor(&caller)?;
    let now = now_ms();
    let first_minute = hour_start(now);
    let (active, minutes, users) = app
        .store
        .read(move |c| {
            Ok((
                reports::active_by_media(c)?,
                reports::per_minute(c, first_minute)?,
                directory::users(c)?,
            ))
        })
        .await?;
    let workgroups = workgroup_stats(&app, now)
        .await?
        .into_iter()
        .map(|(stats, _)| stats)
        .collect();
    Ok(Json(Realtime {
        now,
        conversations: activity(&active, MediaType::SocialConversation, now),
        direct_messages: activity(&active, MediaType::SocialDirectMessage, now),
        workgroups,
        agents_by_status: tally_agents(&users, &agent_statuses(&app)),
        per_minute: last_hour(now, &minutes),
    }))
}

/// Start of the minute `t` falls in.
fn minute_of(t: i64) -> i64 {
    t - t.rem_euclid(MINUTE_MS)
}

/// Start of the oldest minute `per_minute` shows.
fn hour_start(now: i64) -> i64 {
    minute_of(now) - (MINUTES - 1) * MINUTE_MS
}

fn activity(active: &[Active], media: MediaType, now: i64) -> MediaActivity {
    match active.iter().find(|a| a.media_type == media) {
        Some(a) => MediaActivity {
            active: a.count,
            longest_ms: (now - a.oldest_created_at).max(0),
            longest_id: Some(a.oldest_id),
        },
        None => MediaActivity {
            active: 0,
            longest_ms: 0,
            longest_id: None,
        },
    }
}

/// Counts users with the `agent` right by status; the router's absent ones are logged out.
fn tally_agents(users: &[User], statuses: &BTreeMap<i64, AgentStatus>) -> AgentsByStatus {
    let mut tally = AgentsByStatus::default();
    for user in users.iter().filter(|u| u.has_right("agent")) {
        let slot = match statuses.get(&user.id) {
            Some(AgentStatus::Available) => &mut tally.available,
            Some(AgentStatus::Away) => &mut tally.away,
            Some(AgentStatus::NotResponding) => &mut tally.not_responding,
            Some(AgentStatus::LoggedOut) | None => &mut tally.logged_out,
        };
        *slot += 1;
    }
    tally
}

/// Exactly [`MINUTES`] entries ending with the minute of `now`, quiet minutes included.
fn last_hour(now: i64, counts: &MinuteCounts) -> Vec<MinuteStats> {
    let first = hour_start(now);
    let mut out: Vec<MinuteStats> = (0..MINUTES)
        .map(|i| MinuteStats {
            minute: first + i * MINUTE_MS,
            arrivals: 0,
            answered: 0,
        })
        .collect();
    // Minutes outside the hour (a clock step, a row from the future) are left out.
    let slot = |minute: i64| {
        let index = (minute - first).div_euclid(MINUTE_MS);
        usize::try_from(index)
            .ok()
            .filter(|&i| (i as i64) < MINUTES)
    };
    for &(minute, n) in &counts.arrivals {
        if let Some(i) = slot(minute) {
            out[i].arrivals += n;
        }
    }
    for &(minute, n) in &counts.answered {
        if let Some(i) = slot(minute) {
            out[i].answered += n;
        }
    }
    out
}

/// A platform as the search knows it. Messenger is not a channel platform of its own:
/// the Facebook channel carries page comments and Messenger direct messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Platform {
    /// Facebook page posts and comments.
    Facebook,
    /// Messenger direct messages to the Facebook page.
    Messenger,
    /// Any other platform, by the name its connector gives (`x`, `whatsapp`, `apple`, a
    /// partner's `telegram`): every message of its channels.
    Named(String),
}

impl Platform {
    /// Parses an API name: `facebook`, `messenger`, or the platform of a channel's
    /// connector (`known`).
    pub fn parse<'a>(s: &str, mut known: impl Iterator<Item = &'a str>) -> Option<Platform> {
        Some(match s {
            "facebook" => Platform::Facebook,
            "messenger" => Platform::Messenger,
            "x" | "whatsapp" | "apple" => Platform::Named(s.to_owned()),
            other if known.any(|k| k == other) => Platform::Named(other.to_owned()),
            _ => return None,
        })
    }

    /// The platform a channel's connector reports for it.
    fn channel_platform(&self) -> &str {
        match self {
            Platform::Facebook | Platform::Messenger => "facebook",
            Platform::Named(name) => name,
        }
    }

    /// The media type the platform implies on a channel that carries both.
    fn media_type(&self) -> Option<MediaType> {
        match self {
            Platform::Facebook => Some(MediaType::SocialConversation),
            Platform::Messenger => Some(MediaType::SocialDirectMessage),
            Platform::Named(_) => None,
        }
    }
}

/// The platform names `platform` accepts: the built-in ones, and every other platform a
/// configured channel's connector speaks.
fn platform_names(channel_platforms: &HashMap<String, String>) -> String {
    let mut names: Vec<&str> = vec!["facebook", "messenger", "x", "whatsapp", "apple"];
    let mut others: Vec<&str> = channel_platforms
        .values()
        .map(String::as_str)
        .filter(|p| !names.contains(p))
        .collect();
    others.sort();
    others.dedup();
    names.extend(others);
    let (last, rest) = names.split_last().expect("never empty");
    format!("{} or {last}", rest.join(", "))
}

/// Query of `GET /api/v1/interactions`. Every parameter is optional; those given combine
/// with AND. An empty value counts as not given. Text matches ignore ASCII case.
#[derive(Deserialize, IntoParams, Default, Debug)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// `social_conversation` or `social_direct_message`.
    pub media_type: Option<String>,
    /// `facebook` (page comments), `messenger` (page direct messages), `x`, `whatsapp`,
    /// `apple`, or the platform of any other channel's connector (`telegram`).
    pub platform: Option<String>,
    /// Channel name.
    pub channel: Option<String>,
    /// Workgroup name.
    pub workgroup: Option<String>,
    /// Username of the agent it is (or was last) assigned to.
    pub agent: Option<String>,
    /// `active` (not ended), `buffered`, `queued`, `alerting`, `connected`, `held` or
    /// `disconnected`.
    pub state: Option<String>,
    /// Created at or after: unix ms, or RFC 3339 (`2026-12-01T00:00:00Z`; a date alone is
    /// its midnight in the organisation's time zone).
    pub from: Option<String>,
    /// Created before (exclusive): as `from`.
    pub to: Option<String>,
    /// Part of the customer's name, or of any message's author name or handle.
    pub author: Option<String>,
    /// Part of any message's text.
    pub text: Option<String>,
    /// `true`: only interactions whose workflow failed, so they took the channel's
    /// route (their attribute `workflow_fallback` says why).
    #[param(value_type = Option<bool>)]
    pub workflow_fallback: Option<String>,
    /// Page size, 1 to 200; 50 when not given.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
    /// How many results to skip, 0 or more.
    #[param(value_type = Option<i64>, minimum = 0)]
    pub offset: Option<String>,
    /// `csv`: every match as CSV, streamed (`limit` and `offset` ignored); JSON otherwise.
    pub format: Option<String>,
}

impl SearchParams {
    /// Checks every value and turns the query into a filter; `channel_platforms` maps
    /// each configured channel to its connector's platform.
    pub fn into_filter(
        self,
        channel_platforms: &HashMap<String, String>,
        tz: &jiff::tz::TimeZone,
    ) -> Result<SearchFilter, ApiError> {
        let media_type = parsed(
            "media_type",
            &self.media_type,
            "social_conversation or social_direct_message",
            MediaType::parse,
        )?;
        let platform = parsed(
            "platform",
            &self.platform,
            &platform_names(channel_platforms),
            |s| Platform::parse(s, channel_platforms.values().map(String::as_str)),
        )?;
        // `active`: every state but disconnected (what the live tiles count).
        let active = given(&self.state) == Some("active");
        let state = parsed(
            "state",
            &self.state.clone().filter(|_| !active),
            "active, buffered, queued, alerting, connected, held or disconnected",
            IxState::parse,
        )?;
        let workflow_fallback = parsed(
            "workflow_fallback",
            &self.workflow_fallback,
            "true or false",
            |v| v.parse::<bool>().ok(),
        )?
        .unwrap_or(false);
        let from = instant("from", &self.from, tz)?;
        let to = instant("to", &self.to, tz)?;
        if let (Some(f), Some(t)) = (from, to)
            && f > t
        {
            return Err(inverted_range(f, t));
        }
        let limit = number("limit", &self.limit, "a number from 1 to 200")?;
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(n) if (1..=MAX_LIMIT).contains(&n) => n,
            Some(n) => {
                return Err(ApiError::BadRequest(format!(
                    "query parameter `limit`: got {n}, expected a number from 1 to {MAX_LIMIT}"
                )));
            }
        };
        let offset = match number("offset", &self.offset, "a number, 0 or more")? {
            Some(n) if n < 0 => {
                return Err(ApiError::BadRequest(format!(
                    "query parameter `offset`: got {n}, expected a number, 0 or more"
                )));
            }
            n => n.unwrap_or(0),
        };
        let owned = |v: &Option<String>| given(v).map(str::to_owned);
        Ok(SearchFilter {
            media_type,
            platform_media_type: platform.as_ref().and_then(Platform::media_type),
            channels_in: platform.map(|p| channels_of(channel_platforms, &p)),
            channel: owned(&self.channel),
            workgroup: owned(&self.workgroup),
            agent: owned(&self.agent),
            state,
            active,
            from,
            to,
            author: owned(&self.author),
            text: owned(&self.text),
            workflow_fallback,
            limit,
            offset,
        })
    }
}

/// 400 `inverted_range`: a start after the end, in dates a person reads (UTC: the server
/// does not know the reader's time zone; `from` and `to` carry the instants for a client
/// that words it in local time, as the desktop does).
fn inverted_range(from: i64, to: i64) -> ApiError {
    ApiError::problem(
        axum::http::StatusCode::BAD_REQUEST,
        "inverted_range",
        format!(
            "The start ({}) is after the end ({}). Pick a start before the end.",
            crate::calendar::utc_minute(from),
            crate::calendar::utc_minute(to)
        ),
    )
    .with("from", from)
    .with("to", to)
}

/// The configured channels whose connector speaks `platform`, sorted.
fn channels_of(channel_platforms: &HashMap<String, String>, platform: &Platform) -> Vec<String> {
    let mut names: Vec<String> = channel_platforms
        .iter()
        .filter(|(_, p)| *p == platform.channel_platform())
        .map(|(name, _)| name.clone())
        .collect();
    names.sort();
    names
}

/// One search result: the interaction as `/interactions/{id}` shows it, plus where it
/// came from and how it started.
#[derive(Serialize, ToSchema)]
pub struct SearchItem {
    /// The interaction.
    #[serde(flatten)]
    pub interaction: Interaction,
    /// `facebook`, `messenger`, `x`, `whatsapp` or `apple`; null when its channel is no
    /// longer configured.
    pub platform: Option<String>,
    /// The first customer message (not removed by the platform), at most 140
    /// characters; null without one.
    pub preview: Option<String>,
}

/// One page of search results.
#[derive(Serialize, ToSchema)]
pub struct SearchResult {
    /// How many interactions match in all.
    pub total: i64,
    /// This page, newest first.
    pub items: Vec<SearchItem>,
}

/// Finds interactions, newest first.
#[utoipa::path(get, path = "/api/v1/interactions", params(SearchParams),
    responses((status = 200, description = "One page of matches (every match as CSV with `format=csv`)",
        content((SearchResult = "application/json"), (String = "text/csv"))), NeedsRight, BadRequest),
    security(("bearer" = [])))]
pub async fn search(
    State(app): State<Arc<App>>,
    caller: Caller,
    Query(params): Query<SearchParams>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    supervisor(&caller)?;
    let csv = wants_csv(&params.format)?;
    if csv {
        let platforms = channel_platforms(&app);
        let org = app.config.organisation().map_err(ApiError::Internal)?;
        let params = SearchParams {
            limit: None,
            offset: None,
            ..params
        };
        let filter = params.into_filter(&platforms, org.time_zone())?;
        return Ok(super::search_csv::stream(
            app.store.clone(),
            filter,
            platforms,
        ));
    }
    Ok(Json(found_items(&app, params).await?).into_response())
}

/// Runs a search (whose right the caller was checked for).
pub(super) async fn found_items(app: &App, params: SearchParams) -> Result<SearchResult, ApiError> {
    let platforms = channel_platforms(app);
    let org = app.config.organisation().map_err(ApiError::Internal)?;
    let filter = params.into_filter(&platforms, org.time_zone())?;
    let (total, found) = app.store.read(move |c| reports::search(c, &filter)).await?;
    let items = found
        .into_iter()
        .map(|f| SearchItem {
            platform: platforms
                .get(&f.interaction.channel)
                .map(|p| platform_label(p, f.interaction.media_type)),
            preview: f.preview,
            interaction: f.interaction,
        })
        .collect();
    Ok(SearchResult { total, items })
}

/// Each configured channel's connector platform, by channel name.
fn channel_platforms(app: &App) -> HashMap<String, String> {
    app.channels
        .list()
        .into_iter()
        .map(|ch| (ch.config.name.clone(), ch.connector.platform().to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn platforms() -> HashMap<String, String> {
        [
            ("facebook", "facebook"),
            ("fb-eu", "facebook"),
            ("wa", "whatsapp"),
            ("x", "x"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .collect()
    }

    fn params(pairs: &[(&str, &str)]) -> SearchParams {
        let query: String = pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencoding::encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let uri: axum::http::Uri = format!("/?{query}").parse().unwrap();
        axum::extract::Query::<SearchParams>::try_from_uri(&uri)
            .unwrap()
            .0
    }

    fn filter(pairs: &[(&str, &str)]) -> Result<SearchFilter, String> {
        params(pairs)
            .into_filter(&platforms(), &jiff::tz::TimeZone::UTC)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn no_parameters_give_the_first_page_of_everything() {
        assert_eq!(filter(&[]).unwrap(), SearchFilter::default());
        assert_eq!(
            filter(&[("state", ""), ("text", "")]).unwrap(),
            SearchFilter::default()
        );
    }

    #[test]
    fn active_means_every_state_but_ended() {
        let f = filter(&[("state", "active")]).unwrap();
        assert!(f.active);
        assert_eq!(f.state, None);
        let e = filter(&[("state", "gone")]).unwrap_err();
        assert!(e.contains("active, buffered"), "{e}");
    }

    #[test]
    fn every_parameter_lands_in_the_filter() {
        let f = filter(&[
            ("media_type", "social_direct_message"),
            ("channel", "wa"),
            ("workgroup", "Social"),
            ("agent", "agent1"),
            ("state", "held"),
            ("from", "100"),
            ("to", "200"),
            ("author", "Ann"),
            ("text", "refund"),
            ("limit", "200"),
            ("offset", "3"),
        ])
        .unwrap();
        let expected = SearchFilter {
            media_type: Some(MediaType::SocialDirectMessage),
            channel: Some("wa".into()),
            workgroup: Some("Social".into()),
            agent: Some("agent1".into()),
            state: Some(IxState::Held),
            from: Some(100),
            to: Some(200),
            author: Some("Ann".into()),
            text: Some("refund".into()),
            limit: 200,
            offset: 3,
            ..SearchFilter::default()
        };
        assert_eq!(f, expected);
    }

    #[test]
    fn facebook_and_messenger_split_the_facebook_channels_by_media_type() {
        let fb = filter(&[("platform", "facebook")]).unwrap();
        let fb_channels = Some(vec!["facebook".to_owned(), "fb-eu".to_owned()]);
        assert_eq!(fb.channels_in, fb_channels);
        assert_eq!(fb.platform_media_type, Some(MediaType::SocialConversation));
        let dm = filter(&[("platform", "messenger")]).unwrap();
        assert_eq!(dm.channels_in, fb_channels);
        assert_eq!(dm.platform_media_type, Some(MediaType::SocialDirectMessage));
        let wa = filter(&[("platform", "whatsapp")]).unwrap();
        assert_eq!(wa.channels_in, Some(vec!["wa".to_owned()]));
        assert_eq!(wa.platform_media_type, None);
        let apple = filter(&[("platform", "apple")]).unwrap();
        assert_eq!(
            apple.channels_in,
            Some(vec![]),
            "no apple channel: no match"
        );
    }

    #[test]
    fn a_partners_platform_is_searched_once_a_channel_speaks_it() {
        let mut platforms = platforms();
        let unknown = SearchParams {
            platform: Some("telegram".into()),
            ..SearchParams::default()
        }
        .into_filter(&platforms, &jiff::tz::TimeZone::UTC)
        .unwrap_err();
        assert!(
            format!("{unknown:?}").contains("facebook, messenger, x, whatsapp or apple"),
            "{unknown:?}"
        );
        platforms.insert("tg".into(), "telegram".into());
        let f = SearchParams {
            platform: Some("telegram".into()),
            ..SearchParams::default()
        }
        .into_filter(&platforms, &jiff::tz::TimeZone::UTC)
        .unwrap();
        assert_eq!(f.channels_in, Some(vec!["tg".to_owned()]));
        assert_eq!(f.platform_media_type, None);
        let wrong = SearchParams {
            platform: Some("myspace".into()),
            ..SearchParams::default()
        }
        .into_filter(&platforms, &jiff::tz::TimeZone::UTC)
        .unwrap_err();
        assert!(
            format!("{wrong:?}").contains("apple or telegram"),
            "{wrong:?}"
        );
    }

    #[test]
    fn bad_values_are_refused_naming_the_parameter() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("media_type", "email")], "`media_type`"),
            (&[("platform", "myspace")], "`platform`"),
            (&[("state", "asleep")], "`state`"),
            (&[("from", "yesterday")], "`from`"),
            (&[("to", "1.5")], "`to`"),
            (&[("limit", "0")], "`limit`"),
            (&[("limit", "201")], "`limit`"),
            (&[("limit", "ten")], "`limit`"),
            (&[("offset", "-1")], "`offset`"),
            (&[("offset", "x")], "`offset`"),
        ];
        for (pairs, name) in cases {
            let error = filter(pairs).expect_err(&format!("{pairs:?} must be refused"));
            assert!(error.contains(name), "{pairs:?}: {error}");
        }
        assert!(
            filter(&[("from", "10"), ("to", "10")]).is_ok(),
            "an empty range is fine"
        );
    }

    #[tokio::test]
    async fn an_inverted_range_is_refused_in_dates_not_milliseconds() {
        use axum::response::IntoResponse;
        // 6 Dec 2026 10:00 and 09:30 UTC.
        let (from, to) = ("1796551200000", "1796549400000");
        let error = params(&[("from", from), ("to", to)])
            .into_filter(&platforms(), &jiff::tz::TimeZone::UTC)
            .err()
            .expect("an inverted range is refused");
        let res = error.into_response();
        assert_eq!(res.status(), axum::http::StatusCode::BAD_REQUEST);
        let body = axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["code"], "inverted_range");
        assert_eq!(
            body["error"],
            "The start (6 Dec 2026 10:00 UTC) is after the end (6 Dec 2026 09:30 UTC). \
             Pick a start before the end."
        );
        assert_eq!(body["from"], 1_796_551_200_000_i64);
        assert_eq!(body["to"], 1_796_549_400_000_i64);
        assert!(!body["error"].as_str().unwrap().contains(from), "{body}");
    }

    #[test]
    fn messenger_is_the_facebook_channels_direct_messages() {
        assert_eq!(
            platform_label("facebook", MediaType::SocialDirectMessage),
            "messenger"
        );
        assert_eq!(
            platform_label("facebook", MediaType::SocialConversation),
            "facebook"
        );
        assert_eq!(platform_label("x", MediaType::SocialDirectMessage), "x");
    }

    #[test]
    fn the_last_hour_has_sixty_minutes_ending_now_with_quiet_ones_zero() {
        let now = 10 * 3_600_000 + 30_500; // 30.5 s into a minute
        let current = now - 30_500;
        let counts = MinuteCounts {
            arrivals: vec![
                (current, 3),
                (current - 59 * MINUTE_MS, 1),
                (current - 60 * MINUTE_MS, 9),
            ],
            answered: vec![(current - MINUTE_MS, 2), (current + MINUTE_MS, 5)],
        };
        let hour = last_hour(now, &counts);
        assert_eq!(hour.len(), 60);
        assert_eq!(hour[0].minute, current - 59 * MINUTE_MS);
        assert_eq!(hour[59].minute, current);
        assert!(
            hour.windows(2)
                .all(|w| w[1].minute - w[0].minute == MINUTE_MS)
        );
        assert_eq!(
            (hour[0].arrivals, hour[59].arrivals, hour[58].answered),
            (1, 3, 2)
        );
        let arrivals: i64 = hour.iter().map(|m| m.arrivals).sum();
        let answered: i64 = hour.iter().map(|m| m.answered).sum();
        assert_eq!(
            (arrivals, answered),
            (4, 2),
            "minutes outside the hour are left out"
        );
    }

    #[test]
    fn agents_are_tallied_by_status_with_unknown_ones_logged_out() {
        let user = |id: i64, rights: &[&str]| User {
            id,
            username: format!("u{id}"),
            display_name: String::new(),
            rights: rights.iter().map(|r| r.to_string()).collect(),
            skills: Default::default(),
            utilization: Default::default(),
            station: None,
            status: "away".into(),
            status_at: 0,
        };
        let users = [
            user(1, &["agent"]),
            user(2, &["agent"]),
            user(3, &["supervisor"]),
            user(4, &["agent"]),
            user(5, &["agent"]),
        ];
        let statuses = BTreeMap::from([
            (1, AgentStatus::Available),
            (2, AgentStatus::NotResponding),
            (3, AgentStatus::Available),
            (4, AgentStatus::Away),
        ]);
        let tally = tally_agents(&users, &statuses);
        let expected = AgentsByStatus {
            available: 1,
            away: 1,
            not_responding: 1,
            logged_out: 1,
        };
        assert_eq!(tally, expected);
        let json = serde_json::to_value(AgentsByStatus::default()).unwrap();
        assert_eq!(json.as_object().unwrap().len(), 4, "all four keys, always");
    }

    #[test]
    fn both_routes_are_documented_with_the_search_parameters() {
        use utoipa::OpenApi;

        #[derive(OpenApi)]
        #[openapi(paths(realtime, search))]
        struct Doc;

        let doc = serde_json::to_value(Doc::openapi()).unwrap();
        assert!(doc["paths"]["/api/v1/stats/realtime"]["get"].is_object());
        let params = doc["paths"]["/api/v1/interactions"]["get"]["parameters"]
            .as_array()
            .unwrap();
        let names: Vec<&str> = params.iter().map(|p| p["name"].as_str().unwrap()).collect();
        let expected = [
            "media_type",
            "platform",
            "channel",
            "workgroup",
            "agent",
            "state",
            "from",
            "to",
            "author",
            "text",
            "workflow_fallback",
            "limit",
            "offset",
            "format",
        ];
        assert_eq!(names, expected);
        assert!(params.iter().all(|p| p["in"] == "query"));
        for schema in ["Realtime", "SearchResult", "SearchItem", "MinuteStats"] {
            assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
        }
    }

    #[test]
    fn activity_is_zero_without_active_work() {
        let none = activity(&[], MediaType::SocialConversation, 5);
        assert_eq!(
            none,
            MediaActivity {
                active: 0,
                longest_ms: 0,
                longest_id: None
            }
        );
        let active = [Active {
            media_type: MediaType::SocialDirectMessage,
            count: 2,
            oldest_id: 9,
            oldest_created_at: 1_000,
        }];
        let dm = activity(&active, MediaType::SocialDirectMessage, 4_000);
        assert_eq!(
            dm,
            MediaActivity {
                active: 2,
                longest_ms: 3_000,
                longest_id: Some(9)
            }
        );
    }
}
