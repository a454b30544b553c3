//! `GET /api/v1/reports/{dimension}`: historical reports for supervisors, as JSON or CSV,
//! and the interactions behind each figure.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Caller;
use super::error::ApiError;
use super::extract::{Json, Path, Query};
use super::params::{given, instant, parsed, wants_csv};
use super::responses::{BadRequest, NeedsRight};
use super::supervisor::supervisor;
use crate::app::App;
use crate::clock::now_ms;
use crate::reports::{self, Dimension, Figure, Figures, Interval, Report, ReportError, buckets};

/// The most interactions a drill-down lists.
const DRILL_LIMIT: usize = 500;
/// A period asked without `from` is this long before `to`.
const DEFAULT_PERIOD_MS: i64 = 7 * 86_400_000;

/// Query of `GET /api/v1/reports/{dimension}`.
#[derive(Deserialize, IntoParams, Default, Debug)]
#[into_params(parameter_in = Query)]
pub struct ReportParams {
    /// Start, inclusive: unix ms, or RFC 3339 (a date alone is its midnight in the
    /// organisation's time zone). Default: a week before `to`.
    pub from: Option<String>,
    /// End, exclusive: as `from`. Default: now.
    pub to: Option<String>,
    /// `15m`, `hour`, `day` (the default) or `week`, in the organisation's time zone.
    pub interval: Option<String>,
    /// `csv` for CSV (one line per key and interval); JSON otherwise.
    pub format: Option<String>,
}

/// Query of `GET /api/v1/reports/{dimension}/interactions`.
#[derive(Deserialize, IntoParams, Default, Debug)]
#[into_params(parameter_in = Query)]
pub struct DrillParams {
    /// The workgroup, agent, channel, platform or media type.
    pub key: Option<String>,
    /// `arrivals`, `answered`, `abandoned`, `answered_in_target`, `transfers_in`,
    /// `transfers_out` or `wrapup_code` (with `code`).
    pub figure: Option<String>,
    /// The wrap-up code, for `figure=wrapup_code`.
    pub code: Option<String>,
    /// Start, inclusive: unix ms or RFC 3339.
    pub from: Option<String>,
    /// End, exclusive: unix ms or RFC 3339.
    pub to: Option<String>,
}

/// The figures of one key over one interval (or the whole period).
#[derive(Serialize, ToSchema, Debug, PartialEq)]
pub struct FiguresView {
    /// Entered the queue: new interactions and transfers in.
    pub arrivals: i64,
    /// Picked up by an agent.
    pub answered: i64,
    /// Ended by the customer before anyone picked them up.
    pub abandoned: i64,
    /// Picked up within the workgroup's service-level target.
    pub answered_in_target: i64,
    /// answered_in_target / (answered + abandoned), percent; null without either.
    pub service_level_percent: Option<f64>,
    /// Mean wait before pickup (or before the end, unanswered), seconds.
    pub average_wait_s: Option<f64>,
    /// Longest such wait, seconds.
    pub longest_wait_s: f64,
    /// How many waits were of each length: up to `up_to_s` seconds (and longer than the
    /// band before), the last band (`up_to_s` null) longer than an hour.
    pub waits_by_length: Vec<WaitBand>,
    /// Mean wait of those picked up, seconds.
    pub average_speed_of_answer_s: Option<f64>,
    /// Mean connected + held + wrap-up time per pickup, seconds.
    pub average_handle_s: Option<f64>,
    /// Its parts, per pickup, seconds.
    pub average_connected_s: Option<f64>,
    pub average_held_s: Option<f64>,
    pub average_wrapup_s: Option<f64>,
    /// Came by transfer.
    pub transfers_in: i64,
    /// Left by transfer.
    pub transfers_out: i64,
    /// Wrap-up codes chosen, with counts.
    pub wrapup_codes: BTreeMap<String, i64>,
    /// Agents only: seconds in each status (`available`, `away`, `not_responding`,
    /// `logged_out`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_s: Option<BTreeMap<String, i64>>,
    /// Agents only: handle time over signed-in time, percent (at most 100).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub occupancy_percent: Option<f64>,
}

impl FiguresView {
    fn of(f: &Figures, agents: bool) -> FiguresView {
        FiguresView {
            arrivals: f.arrivals,
            answered: f.answered,
            abandoned: f.abandoned,
            answered_in_target: f.answered_in_target,
            service_level_percent: f.service_level_percent(),
            average_wait_s: f.average_wait_s(),
            longest_wait_s: (f.longest_wait_ms as f64 / 100.0).round() / 10.0,
            waits_by_length: f
                .wait_bands
                .iter()
                .enumerate()
                .map(|(k, &count)| WaitBand {
                    up_to_s: reports::figures::WAIT_BANDS_S.get(k).copied(),
                    count,
                })
                .collect(),
            average_speed_of_answer_s: f.average_speed_of_answer_s(),
            average_handle_s: f.average_handle_s(),
            average_connected_s: f.per_answered(f.connected_ms),
            average_held_s: f.per_answered(f.held_ms),
            average_wrapup_s: f.per_answered(f.wrapup_ms),
            transfers_in: f.transfers_in,
            transfers_out: f.transfers_out,
            wrapup_codes: f.wrapup_codes.clone(),
            status_s: agents.then(|| {
                ["available", "away", "not_responding", "logged_out"]
                    .into_iter()
                    .map(|s| {
                        (
                            s.to_owned(),
                            f.status_ms.get(s).copied().unwrap_or(0) / 1000,
                        )
                    })
                    .collect()
            }),
            occupancy_percent: if agents { f.occupancy_percent() } else { None },
        }
    }
}

/// One band of the wait distribution.
#[derive(Serialize, ToSchema, Debug, PartialEq)]
pub struct WaitBand {
    /// The band's longest wait, seconds; null for the last band (over an hour).
    pub up_to_s: Option<i64>,
    /// Waits in the band.
    pub count: i64,
}

/// One interval of a report.
#[derive(Serialize, ToSchema, Debug)]
pub struct IntervalView {
    /// Start, unix ms.
    pub start: i64,
    /// Start in the organisation's time zone, RFC 3339 with its offset then.
    pub label: String,
}

/// One key's figures over one interval.
#[derive(Serialize, ToSchema, Debug)]
pub struct ReportRow {
    /// The workgroup, agent (username), channel, platform or media type.
    pub key: String,
    /// The interval's start, unix ms.
    pub interval: i64,
    /// The figures.
    #[serde(flatten)]
    pub figures: FiguresView,
}

/// One key's figures over the whole period.
#[derive(Serialize, ToSchema, Debug)]
pub struct ReportTotal {
    pub key: String,
    #[serde(flatten)]
    pub figures: FiguresView,
}

/// A historical report.
#[derive(Serialize, ToSchema, Debug)]
pub struct ReportBody {
    /// `workgroups`, `agents`, `channels`, `platforms` or `media-types`.
    pub dimension: String,
    /// The period, unix ms, `to` exclusive.
    pub from: i64,
    pub to: i64,
    /// `15m`, `hour`, `day` or `week`.
    pub interval: String,
    /// The organisation's time zone the intervals follow.
    pub time_zone: String,
    /// Every interval of the period, with or without figures.
    pub intervals: Vec<IntervalView>,
    /// Figures per key and interval (only pairs with something to count), by key then
    /// interval.
    pub rows: Vec<ReportRow>,
    /// Figures per key over the whole period.
    pub totals: Vec<ReportTotal>,
    /// Everything over the whole period.
    pub overall: FiguresView,
}

fn dimension(name: &str) -> Result<Dimension, ApiError> {
    Dimension::parse(name).ok_or_else(|| {
        ApiError::NotFound(format!(
            "There is no report per “{name}”: choose {}.",
            Dimension::NAMES
        ))
    })
}

fn request(
    app: &App,
    dim: Dimension,
    from: &Option<String>,
    to: &Option<String>,
    interval: Interval,
) -> Result<reports::Request, ApiError> {
    let now = now_ms();
    let org = app.config.organisation().map_err(ApiError::Internal)?;
    let to = instant("to", to, org.time_zone())?.unwrap_or(now);
    let from = instant("from", from, org.time_zone())?.unwrap_or(to - DEFAULT_PERIOD_MS);
    if from >= to {
        return Err(ApiError::BadRequest(format!(
            "The start ({}) is not before the end ({}). Pick a start before the end.",
            crate::calendar::utc_minute(from),
            crate::calendar::utc_minute(to)
        )));
    }
    let platforms = app
        .channels
        .list()
        .into_iter()
        .map(|ch| (ch.config.name.clone(), ch.connector.platform().to_owned()))
        .collect::<HashMap<_, _>>();
    Ok(reports::Request {
        dimension: dim,
        from,
        to,
        interval,
        tz: org.time_zone().clone(),
        platforms,
        now,
    })
}

fn report_error(e: ReportError) -> ApiError {
    match e {
        ReportError::Invalid(m) => ApiError::BadRequest(m),
        ReportError::Store(e) => ApiError::Internal(e),
    }
}

/// A historical report per workgroup, agent, channel, platform or media type.
#[utoipa::path(get, path = "/api/v1/reports/{dimension}",
    params(("dimension" = String, Path, description = "`workgroups`, `agents`, `channels`, `platforms` or `media-types`"), ReportParams),
    responses((status = 200, description = "The report (CSV with `format=csv`)",
            content((ReportBody = "application/json"), (String = "text/csv"))), NeedsRight, BadRequest,
        (status = 404, body = super::error::ErrorBody, description = "No such dimension")),
    security(("bearer" = [])))]
pub async fn report(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(name): Path<String>,
    Query(params): Query<ReportParams>,
) -> Result<Response, ApiError> {
    supervisor(&caller)?;
    let dim = dimension(&name)?;
    let interval = parsed(
        "interval",
        &params.interval,
        "15m, hour, day or week",
        Interval::parse,
    )?
    .unwrap_or(Interval::Day);
    let csv = wants_csv(&params.format)?;
    let req = request(&app, dim, &params.from, &params.to, interval)?;
    let tz = req.tz.clone();
    let tz_name = app.config.organisation.time_zone.clone();
    let (from, to) = (req.from, req.to);
    let report = reports::run(&app.core.store, req)
        .await
        .map_err(report_error)?;
    let body = render(dim, from, to, interval, &tz, tz_name, &report);
    if csv {
        let name = format!(
            "report-{}-{}.csv",
            dim.as_str(),
            buckets::label(from, &tz).get(..10).unwrap_or("period")
        );
        return Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}\""),
                ),
            ],
            to_csv(&body)?,
        )
            .into_response());
    }
    Ok(Json(body).into_response())
}

fn render(
    dim: Dimension,
    from: i64,
    to: i64,
    interval: Interval,
    tz: &jiff::tz::TimeZone,
    time_zone: String,
    report: &Report,
) -> ReportBody {
    let agents = dim == Dimension::Agents;
    ReportBody {
        dimension: dim.as_str().to_owned(),
        from,
        to,
        interval: interval.as_str().to_owned(),
        time_zone,
        intervals: report
            .intervals
            .iter()
            .map(|&start| IntervalView {
                start,
                label: buckets::label(start, tz),
            })
            .collect(),
        rows: report
            .cells
            .iter()
            .map(|((key, start), f)| ReportRow {
                key: key.clone(),
                interval: *start,
                figures: FiguresView::of(f, agents),
            })
            .collect(),
        totals: report
            .totals
            .iter()
            .map(|(key, f)| ReportTotal {
                key: key.clone(),
                figures: FiguresView::of(f, agents),
            })
            .collect(),
        overall: FiguresView::of(&report.overall, agents),
    }
}

fn opt(v: Option<f64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

/// The report's rows as CSV: the same figures as the JSON's `rows`, one line each, the
/// interval as its local RFC 3339 start.
fn to_csv(body: &ReportBody) -> Result<String, ApiError> {
    let agents = body.dimension == "agents";
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut head = vec![
        "key",
        "interval",
        "arrivals",
        "answered",
        "abandoned",
        "answered_in_target",
        "service_level_percent",
        "average_wait_s",
        "longest_wait_s",
        "average_speed_of_answer_s",
        "average_handle_s",
        "average_connected_s",
        "average_held_s",
        "average_wrapup_s",
        "transfers_in",
        "transfers_out",
        "wrapup_codes",
    ];
    if agents {
        head.extend([
            "available_s",
            "away_s",
            "not_responding_s",
            "logged_out_s",
            "occupancy_percent",
        ]);
    }
    let fail = |e: csv::Error| ApiError::Internal(e.into());
    w.write_record(&head).map_err(fail)?;
    let labels: HashMap<i64, &str> = body
        .intervals
        .iter()
        .map(|i| (i.start, i.label.as_str()))
        .collect();
    for row in &body.rows {
        let f = &row.figures;
        let codes = f
            .wrapup_codes
            .iter()
            .map(|(c, n)| format!("{c}={n}"))
            .collect::<Vec<_>>()
            .join("; ");
        let mut rec = vec![
            row.key.clone(),
            labels
                .get(&row.interval)
                .copied()
                .unwrap_or_default()
                .to_owned(),
            f.arrivals.to_string(),
            f.answered.to_string(),
            f.abandoned.to_string(),
            f.answered_in_target.to_string(),
            opt(f.service_level_percent),
            opt(f.average_wait_s),
            f.longest_wait_s.to_string(),
            opt(f.average_speed_of_answer_s),
            opt(f.average_handle_s),
            opt(f.average_connected_s),
            opt(f.average_held_s),
            opt(f.average_wrapup_s),
            f.transfers_in.to_string(),
            f.transfers_out.to_string(),
            codes,
        ];
        if agents {
            let s = f.status_s.clone().unwrap_or_default();
            for k in ["available", "away", "not_responding", "logged_out"] {
                rec.push(s.get(k).copied().unwrap_or(0).to_string());
            }
            rec.push(opt(f.occupancy_percent));
        }
        w.write_record(&rec).map_err(fail)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("{e}")))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// One interaction behind a figure.
#[derive(Serialize, ToSchema, Debug)]
pub struct DrillItem {
    /// The interaction (open it with `GET /api/v1/interactions/{id}`).
    pub interaction_id: i64,
    /// Its segment: 0 for how it arrived, one more per transfer.
    pub segment: i64,
    pub workgroup: String,
    /// The agent who picked it up in this segment.
    pub agent: Option<String>,
    pub channel: String,
    pub media_type: String,
    /// When it entered the queue, unix ms.
    pub entered_at: i64,
    /// Waited before pickup (or the end), seconds; null while it still waits.
    pub wait_s: Option<f64>,
    /// Connected + held + wrap-up, seconds.
    pub handle_s: f64,
    pub abandoned: bool,
    pub wrapup_code: Option<String>,
}

/// Interactions behind a figure.
#[derive(Serialize, ToSchema, Debug)]
pub struct DrillBody {
    /// How many in all.
    pub total: usize,
    /// The first 500, oldest first.
    pub items: Vec<DrillItem>,
}

/// The interactions behind one figure of a report.
#[utoipa::path(get, path = "/api/v1/reports/{dimension}/interactions",
    params(("dimension" = String, Path, description = "`workgroups`, `agents`, `channels`, `platforms` or `media-types`"), DrillParams),
    responses((status = 200, body = DrillBody), NeedsRight, BadRequest,
        (status = 404, body = super::error::ErrorBody, description = "No such dimension")),
    security(("bearer" = [])))]
pub async fn drill_down(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(name): Path<String>,
    Query(params): Query<DrillParams>,
) -> Result<Json<DrillBody>, ApiError> {
    supervisor(&caller)?;
    let dim = dimension(&name)?;
    let key = given(&params.key)
        .ok_or_else(|| ApiError::BadRequest("query parameter `key` is required: the workgroup, agent, channel, platform or media type".into()))?
        .to_owned();
    let figure = given(&params.figure).unwrap_or("arrivals");
    let figure = Figure::parse(figure, given(&params.code)).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "query parameter `figure`: got {figure:?}, expected arrivals, answered, abandoned, answered_in_target, transfers_in, transfers_out or wrapup_code with `code`"
        ))
    })?;
    let req = request(&app, dim, &params.from, &params.to, Interval::Day)?;
    let (total, rows) = reports::drill_down(&app.core.store, req, key, figure, DRILL_LIMIT)
        .await
        .map_err(report_error)?;
    let items = rows
        .into_iter()
        .map(|r| {
            let s = &r.segment;
            DrillItem {
                interaction_id: r.interaction_id,
                segment: s.seq,
                workgroup: s.workgroup.clone(),
                agent: r.agent.clone(),
                channel: r.channel.clone(),
                media_type: r.media_type.clone(),
                entered_at: s.entered_at,
                wait_s: s.wait_ms().map(|w| (w as f64 / 100.0).round() / 10.0),
                handle_s: ((s.connected_ms + s.held_ms + s.wrapup_ms) as f64 / 100.0).round()
                    / 10.0,
                abandoned: s.abandoned,
                wrapup_code: r.wrapup_code.clone(),
            }
        })
        .collect();
    Ok(Json(DrillBody { total, items }))
}
