//! Historical reports: figures per workgroup, agent, channel, platform or media type over
//! a period cut into intervals, from the recorded state changes.
//!
//! The contract: a report covers the segments (see [`crate::model::segments`]) that
//! entered their queue in `[from, to)`, each counted in the interval it entered, with all
//! its times (so an interaction that waits across midnight counts on the day it arrived).
//! Agents' status time is cut at interval boundaries instead, and counted up to now. A
//! report reads the summed-up rows ([`crate::store::rollup`]) plus whatever is not summed
//! up yet, in one read, so it is complete up to the moment it is asked.
//!
//! Per agent, a segment counts for the agent who picked it up; segments nobody picked up
//! (abandoned in queue) count for no agent.

pub mod buckets;
pub mod figures;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use anyhow::Result;
use jiff::tz::TimeZone;

pub use buckets::Interval;
pub use figures::Figures;

use crate::model::interaction::{MediaType, platform_label};
use crate::store::Store;
use crate::store::rollup::{self, SegmentRow};

/// The most intervals one report has (a month of quarter hours is about 3,000).
pub const MAX_INTERVALS: usize = 5_000;

/// What a report is per.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dimension {
    Workgroups,
    Agents,
    Channels,
    Platforms,
    MediaTypes,
}

impl Dimension {
    /// From the API's path segment.
    pub fn parse(s: &str) -> Option<Dimension> {
        Some(match s {
            "workgroups" => Dimension::Workgroups,
            "agents" => Dimension::Agents,
            "channels" => Dimension::Channels,
            "platforms" => Dimension::Platforms,
            "media-types" => Dimension::MediaTypes,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::Workgroups => "workgroups",
            Dimension::Agents => "agents",
            Dimension::Channels => "channels",
            Dimension::Platforms => "platforms",
            Dimension::MediaTypes => "media-types",
        }
    }

    /// The names the API accepts, for error messages.
    pub const NAMES: &'static str = "workgroups, agents, channels, platforms or media-types";
}

/// One report asked for.
#[derive(Clone, Debug)]
pub struct Request {
    pub dimension: Dimension,
    /// Unix ms, `to` exclusive.
    pub from: i64,
    pub to: i64,
    pub interval: Interval,
    pub tz: TimeZone,
    /// Each channel's platform (for the per-platform report); a channel not listed (one
    /// since deleted) counts as `unknown`.
    pub platforms: HashMap<String, String>,
    pub now: i64,
}

impl Request {
    /// The key a segment counts under, or `None` when it counts for none (an agent
    /// report's unanswered segments). Borrowed: a report reads a month's rows, and a
    /// name made for each would cost more than the adding up.
    fn key<'a>(&'a self, row: &'a SegmentRow) -> Option<Cow<'a, str>> {
        Some(match self.dimension {
            Dimension::Workgroups => Cow::Borrowed(row.segment.workgroup.as_str()),
            Dimension::Agents => match &row.agent {
                Some(name) => Cow::Borrowed(name.as_str()),
                None => Cow::Owned(format!("user {}", row.segment.agent_id?)),
            },
            Dimension::Channels => Cow::Borrowed(row.channel.as_str()),
            Dimension::Platforms => match self.platforms.get(&row.channel) {
                Some(p) => match MediaType::parse(&row.media_type) {
                    Some(m) => Cow::Owned(platform_label(p, m)),
                    None => Cow::Borrowed(p.as_str()),
                },
                None => Cow::Borrowed("unknown"),
            },
            Dimension::MediaTypes => Cow::Borrowed(row.media_type.as_str()),
        })
    }
}

/// A report's figures: per key and interval, per key over the period, and overall.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    /// Every interval's start, unix ms (including those without figures).
    pub intervals: Vec<i64>,
    /// (key, interval start) → figures; only pairs with something to count.
    pub cells: BTreeMap<(String, i64), Figures>,
    /// key → figures over the whole period.
    pub totals: BTreeMap<String, Figures>,
    /// Everything over the whole period.
    pub overall: Figures,
}

/// Why a report cannot be made, in the user's terms.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

fn check(req: &Request) -> Result<Vec<i64>, ReportError> {
    if req.to <= req.from {
        return Err(ReportError::Invalid("`to` must be after `from`".into()));
    }
    buckets::starts(req.from, req.to, req.interval, &req.tz, MAX_INTERVALS).ok_or_else(|| {
        ReportError::Invalid(format!(
            "this period has more than {MAX_INTERVALS} intervals of {}: choose a longer interval or a shorter period",
            req.interval.as_str()
        ))
    })
}

/// Where a segment's interval starts in `intervals` (sorted), by its entry time.
fn interval_of(intervals: &[i64], at: i64) -> Option<i64> {
    let k = intervals.partition_point(|&s| s <= at);
    (k > 0).then(|| intervals[k - 1])
}

/// Makes a report.
pub async fn run(store: &Store, req: Request) -> Result<Report, ReportError> {
    let intervals = check(&req)?;
    let agents = req.dimension == Dimension::Agents;
    let (from, to, now) = (req.from, req.to, req.now);
    let (intervals, cells, statuses) = store
        .read(move |c| {
            let names = if agents {
                crate::store::trace::usernames(c)?
            } else {
                HashMap::new()
            };
            // Per key, then per interval: a key is looked up by reference and made once.
            let mut cells: HashMap<String, HashMap<i64, Figures>> = HashMap::new();
            let mut add = |mut row: SegmentRow| {
                if agents {
                    row.agent = row.segment.agent_id.and_then(|id| names.get(&id).cloned());
                }
                let Some(start) = interval_of(&intervals, row.segment.entered_at) else {
                    return;
                };
                let Some(key) = req.key(&row) else { return };
                if !cells.contains_key(key.as_ref()) {
                    cells.insert(key.clone().into_owned(), HashMap::new());
                }
                let per = cells.get_mut(key.as_ref()).expect("just made");
                per.entry(start).or_default().add(&row);
            };
            rollup::each_segment(c, from, to, &mut add)?;
            for row in rollup::unreported(c, from, to, now)? {
                add(row);
            }
            let statuses = if agents {
                rollup::status_changes(c, from, to)?
            } else {
                Vec::new()
            };
            Ok((intervals, cells, statuses))
        })
        .await?;
    let mut report = Report {
        intervals,
        cells: cells
            .into_iter()
            .flat_map(|(key, per)| {
                per.into_iter()
                    .map(move |(start, f)| ((key.clone(), start), f))
            })
            .collect(),
        ..Report::default()
    };
    add_status_time(&mut report, &statuses, from, to.min(now));
    for ((key, _), figures) in &report.cells {
        report.totals.entry(key.clone()).or_default().merge(figures);
        report.overall.merge(figures);
    }
    Ok(report)
}

/// Cuts each agent's status spans at interval boundaries and adds them up, up to `end`.
fn add_status_time(report: &mut Report, changes: &[rollup::StatusChange], from: i64, end: i64) {
    for (k, ch) in changes.iter().enumerate() {
        let until = changes
            .get(k + 1)
            .filter(|n| n.username == ch.username)
            .map_or(end, |n| n.at.min(end));
        let mut at = ch.at.max(from);
        while at < until {
            let Some(start) = interval_of(&report.intervals, at) else {
                break;
            };
            let k = report.intervals.partition_point(|&s| s <= start);
            let stop = report
                .intervals
                .get(k)
                .copied()
                .unwrap_or(i64::MAX)
                .min(until);
            *report
                .cells
                .entry((ch.username.clone(), start))
                .or_default()
                .status_ms
                .entry(ch.status.clone())
                .or_default() += stop - at;
            at = stop;
        }
    }
}

/// Which segments a drill-down lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Figure {
    Arrivals,
    Answered,
    Abandoned,
    AnsweredInTarget,
    TransfersIn,
    TransfersOut,
    /// Wrapped up with this code.
    WrapupCode(String),
}

impl Figure {
    pub fn parse(s: &str, code: Option<&str>) -> Option<Figure> {
        Some(match s {
            "arrivals" => Figure::Arrivals,
            "answered" => Figure::Answered,
            "abandoned" => Figure::Abandoned,
            "answered_in_target" => Figure::AnsweredInTarget,
            "transfers_in" => Figure::TransfersIn,
            "transfers_out" => Figure::TransfersOut,
            "wrapup_code" => Figure::WrapupCode(code?.to_owned()),
            _ => return None,
        })
    }

    fn holds(&self, row: &SegmentRow) -> bool {
        let s = &row.segment;
        match self {
            Figure::Arrivals => true,
            Figure::Answered => s.answered_at.is_some(),
            Figure::Abandoned => s.abandoned,
            Figure::AnsweredInTarget => row.in_target,
            Figure::TransfersIn => s.transfer_in,
            Figure::TransfersOut => s.transfer_out,
            Figure::WrapupCode(c) => row.wrapup_code.as_deref() == Some(c),
        }
    }
}

/// The segments behind one figure of one key over `[from, to)`, oldest first, at most
/// `limit`, with how many there are in all.
pub async fn drill_down(
    store: &Store,
    req: Request,
    key: String,
    figure: Figure,
    limit: usize,
) -> Result<(usize, Vec<SegmentRow>), ReportError> {
    if req.to <= req.from {
        return Err(ReportError::Invalid("`to` must be after `from`".into()));
    }
    let (from, to, now) = (req.from, req.to, req.now);
    let mut rows = store
        .read(move |c| {
            let names = crate::store::trace::usernames(c)?;
            let mut out = Vec::new();
            let mut keep = |mut row: SegmentRow| {
                row.agent = row.segment.agent_id.and_then(|id| names.get(&id).cloned());
                if figure.holds(&row) && req.key(&row).as_deref() == Some(key.as_str()) {
                    out.push(row);
                }
            };
            rollup::each_segment(c, from, to, &mut keep)?;
            for row in rollup::unreported(c, from, to, now)? {
                keep(row);
            }
            Ok(out)
        })
        .await?;
    rows.sort_by_key(|r| (r.segment.entered_at, r.interaction_id, r.segment.seq));
    let total = rows.len();
    rows.truncate(limit);
    Ok((total, rows))
}

/// Sums up, in batches, finished interactions that were finished without being summed up
/// (by an older host during a rolling upgrade); the leader runs it when its term begins.
pub async fn catch_up(store: &Store, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        if *stop.borrow() {
            return;
        }
        let now = crate::clock::now_ms();
        match store.write(move |c| rollup::catch_up(c, 500, now)).await {
            Ok(0) => return,
            Ok(n) => tracing::debug!(interactions = n, "summed up for reports"),
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "summing up interactions for reports failed; trying again in a minute");
                tokio::select! {
                    _ = tokio::time::sleep(std::time::Duration::from_secs(60)) => {}
                    _ = stop.changed() => return,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
