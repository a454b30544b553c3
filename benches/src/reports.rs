//! `switchboard-bench reports`: a year of contact-center history (10,000 interactions a
//! day by default, a tenth of them transferred, 200 agents changing status eight times a
//! day), then a month's report per workgroup, agent, channel and platform on SQLite and on
//! PostgreSQL. The baseline, measured in the same run on the same data, is the plain read
//! of that month's summed-up rows (`count` and `sum` over them): the ratio says what the
//! report adds to reading its rows.
//!
//! The data is written by the database itself (a recursive query), so making a year takes
//! seconds, not the hours the ingest path would; the report reads exactly the tables the
//! host writes, through the host's own report code.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use switchboard::reports::{self, Dimension, Interval, Request};
use switchboard::store::scratch::ScratchPostgres;
use switchboard::store::{Store, StoreOptions, StoreUrl};

/// Flags of `switchboard-bench reports`.
#[derive(clap::Args, Debug)]
pub(crate) struct ReportsArgs {
    /// Interactions a day.
    #[arg(long, default_value_t = 10_000)]
    per_day: i64,
    /// Days of history.
    #[arg(long, default_value_t = 365)]
    days: i64,
    /// Runs of each report (the median is shown).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Only this engine (`sqlite` or `postgres`).
    #[arg(long)]
    only: Option<String>,
}

const DAY_MS: i64 = 86_400_000;
/// The history starts here (2025-12-01T00:00:00Z).
const START: i64 = 1_764_547_200_000;
const AGENTS: i64 = 200;
const CHANNELS: i64 = 6;

/// Writes the history, a month at a time.
async fn generate(store: &Store, args: &ReportsArgs) -> Result<()> {
    let step = DAY_MS / args.per_day;
    let total = args.per_day * args.days;
    store
        .write(move |c| {
            let mut sql = String::from("INSERT INTO users (id, username, display_name, password_hash) VALUES ");
            sql.push_str(
                &(1..=AGENTS)
                    .map(|n| format!("({n}, 'agent{n}', 'Agent {n}', 'x')"))
                    .collect::<Vec<_>>()
                    .join(", "),
            );
            c.execute_batch(&sql)?;
            c.execute_batch(
                "INSERT INTO workgroups (name, sl_target_s) VALUES ('wg0', 60), ('wg1', 60), ('wg2', 60),
                 ('wg3', 60), ('wg4', 120), ('wg5', 120), ('wg6', 30), ('wg7', 30), ('wg8', 300), ('wg9', 60)",
            )?;
            Ok(())
        })
        .await?;
    let chunk = args.per_day * 30;
    let progress = indicatif::ProgressBar::with_draw_target(
        Some(total as u64),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        progress.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    progress.set_message("interactions written");
    let mut first = 1;
    while first <= total {
        let last = (first + chunk - 1).min(total);
        store
            .write(move |c| {
                let n = format!(
                    "WITH RECURSIVE n(i) AS (SELECT CAST({first} AS BIGINT) UNION ALL SELECT i + 1 FROM n WHERE i < {last})"
                );
                // Interactions: finished and summed up, as a year-old history is.
                c.execute_batch(&format!(
                    "{n} INSERT INTO interactions (id, channel, thread_id, media_type, state, workgroup,
                         customer_id, customer_name, created_at, queued_at, updated_at, answered_at,
                         abandoned, wrapup_code, reported, assigned_to)
                     SELECT i, 'ch' || (i % {CHANNELS}), 't' || i,
                         CASE WHEN i % 3 = 0 THEN 'social_direct_message' ELSE 'social_conversation' END,
                         'disconnected', 'wg' || (i % 10), 'c' || (i % 50000), 'Customer',
                         {START} + (i - 1) * {step}, {START} + (i - 1) * {step}, {START} + (i - 1) * {step} + 400000,
                         CASE WHEN i % 20 = 0 THEN NULL ELSE {START} + (i - 1) * {step} + (i * 37 % 120) * 1000 END,
                         CASE WHEN i % 20 = 0 THEN 1 ELSE 0 END,
                         CASE i % 4 WHEN 0 THEN 'Resolved' WHEN 1 THEN 'Escalated' ELSE NULL END,
                         1, CASE WHEN i % 20 = 0 THEN NULL ELSE 1 + i % {AGENTS} END
                     FROM n"
                ))?;
                // One segment each; every tenth transferred, with a second one.
                c.execute_batch(&format!(
                    "{n} INSERT INTO report_segments (interaction_id, seq, workgroup, agent_id, channel,
                         media_type, entered_at, answered_at, ended_at, abandoned, in_target, connected_ms,
                         held_ms, wrapup_ms, transfer_in, transfer_out, wrapup_code)
                     SELECT i, 0, 'wg' || (i % 10), CASE WHEN i % 20 = 0 THEN NULL ELSE 1 + i % {AGENTS} END,
                         'ch' || (i % {CHANNELS}),
                         CASE WHEN i % 3 = 0 THEN 'social_direct_message' ELSE 'social_conversation' END,
                         {START} + (i - 1) * {step},
                         CASE WHEN i % 20 = 0 THEN NULL ELSE {START} + (i - 1) * {step} + (i * 37 % 120) * 1000 END,
                         {START} + (i - 1) * {step} + 400000,
                         CASE WHEN i % 20 = 0 THEN 1 ELSE 0 END,
                         CASE WHEN i % 20 <> 0 AND i * 37 % 120 <= 60 THEN 1 ELSE 0 END,
                         CASE WHEN i % 20 = 0 THEN 0 ELSE 60000 + (i % 300) * 1000 END,
                         CASE WHEN i % 7 = 0 THEN 30000 ELSE 0 END, 10000,
                         0, CASE WHEN i % 10 = 0 THEN 1 ELSE 0 END,
                         CASE WHEN i % 10 = 0 THEN NULL WHEN i % 4 = 0 THEN 'Resolved' WHEN i % 4 = 1 THEN 'Escalated' ELSE NULL END
                     FROM n;
                     {n} INSERT INTO report_segments (interaction_id, seq, workgroup, agent_id, channel,
                         media_type, entered_at, answered_at, ended_at, abandoned, in_target, connected_ms,
                         held_ms, wrapup_ms, transfer_in, transfer_out, wrapup_code)
                     SELECT i, 1, 'wg' || ((i + 1) % 10), 1 + (i + 7) % {AGENTS}, 'ch' || (i % {CHANNELS}),
                         CASE WHEN i % 3 = 0 THEN 'social_direct_message' ELSE 'social_conversation' END,
                         {START} + (i - 1) * {step} + 200000, {START} + (i - 1) * {step} + 230000,
                         {START} + (i - 1) * {step} + 400000, 0, 1, 120000, 0, 10000, 1, 0, 'Resolved'
                     FROM n WHERE i % 10 = 0"
                ))?;
                Ok(())
            })
            .await?;
        progress.set_position(last as u64);
        first = last + 1;
    }
    progress.finish_and_clear();
    // Agents' statuses: eight changes a day each.
    let changes = AGENTS * 8 * args.days;
    let every = DAY_MS / 8;
    store
        .write(move |c| {
            c.execute_batch(&format!(
                "WITH RECURSIVE n(k) AS (SELECT CAST(0 AS BIGINT) UNION ALL SELECT k + 1 FROM n WHERE k < {changes} - 1)
                 INSERT INTO agent_status_log (user_id, status, at)
                 SELECT 1 + k % {AGENTS},
                     CASE (k / {AGENTS}) % 4 WHEN 0 THEN 'available' WHEN 1 THEN 'away'
                          WHEN 2 THEN 'available' ELSE 'logged_out' END,
                     {START} + (k / {AGENTS}) * {every} + (k % {AGENTS}) * 1000
                 FROM n"
            ))?;
            // Both engines plan from statistics; a fresh database has none.
            c.execute_batch("ANALYZE")?;
            Ok(())
        })
        .await?;
    Ok(())
}

/// The last full month of the history.
fn month(args: &ReportsArgs) -> (i64, i64) {
    let to = START + args.days * DAY_MS;
    (to - 30 * DAY_MS, to)
}

async fn time_report(
    store: &Store,
    args: &ReportsArgs,
    dimension: Dimension,
    interval: Interval,
) -> Result<(Duration, i64)> {
    let (from, to) = month(args);
    let platforms: HashMap<String, String> = (0..CHANNELS)
        .map(|k| {
            (
                format!("ch{k}"),
                if k % 2 == 0 { "facebook" } else { "x" }.to_owned(),
            )
        })
        .collect();
    let mut times = Vec::new();
    let mut arrivals = 0;
    for _ in 0..args.runs {
        let req = Request {
            dimension,
            from,
            to,
            interval,
            tz: jiff::tz::TimeZone::get("Europe/Paris")?,
            platforms: platforms.clone(),
            now: to + DAY_MS,
        };
        let began = Instant::now();
        let report = reports::run(store, req)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        times.push(began.elapsed());
        arrivals = report.overall.arrivals;
    }
    Ok((crate::Percentiles::of(&mut times).median, arrivals))
}

async fn time_baseline(store: &Store, args: &ReportsArgs) -> Result<(Duration, i64)> {
    let (from, to) = month(args);
    let mut times = Vec::new();
    let mut rows = 0;
    for _ in 0..args.runs {
        let began = Instant::now();
        rows = store
            .read(move |c| {
                Ok(c.query_row(
                    &format!(
                        "SELECT count(*), sum(connected_ms) FROM report_segments
                         WHERE entered_at >= {from} AND entered_at < {to}"
                    ),
                    (),
                    |r| r.get::<_, i64>(0),
                )?)
            })
            .await?;
        times.push(began.elapsed());
    }
    Ok((crate::Percentiles::of(&mut times).median, rows))
}

async fn engine(name: &str, url: StoreUrl, args: &ReportsArgs) -> Result<()> {
    let store = Store::open_url(&url, &StoreOptions::default())?;
    eprintln!(
        "{name}: writing {} days of {} interactions a day",
        args.days, args.per_day
    );
    let began = Instant::now();
    generate(&store, args).await?;
    eprintln!("{name}: written in {:.1} s", began.elapsed().as_secs_f64());
    let (base, rows) = time_baseline(&store, args).await?;
    let (from, to) = month(args);
    let answered: i64 = store
        .read(move |c| {
            Ok(c.query_row(
                &format!("SELECT count(agent_id) FROM report_segments WHERE entered_at >= {from} AND entered_at < {to}"),
                (),
                |r| r.get::<_, i64>(0),
            )?)
        })
        .await?;
    println!(
        "\n{name}: a month ({rows} segments) of a {}-day history",
        args.days
    );
    println!("  {:<38} {:>10} {:>8}", "case", "median ms", "× base");
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "  {:<38} {:>10.1} {:>8}",
        "baseline: count and sum the rows",
        ms(base),
        "1.0"
    );
    for (label, dim, interval) in [
        (
            "per workgroup, per day",
            Dimension::Workgroups,
            Interval::Day,
        ),
        (
            "per agent, per day (with status time)",
            Dimension::Agents,
            Interval::Day,
        ),
        ("per channel, per hour", Dimension::Channels, Interval::Hour),
        (
            "per platform, per 15 minutes",
            Dimension::Platforms,
            Interval::QuarterHour,
        ),
        (
            "per media type, per week",
            Dimension::MediaTypes,
            Interval::Week,
        ),
    ] {
        let (t, arrivals) = time_report(&store, args, dim, interval).await?;
        // Per agent, segments nobody picked up count for no one.
        let expected = if dim == Dimension::Agents {
            answered
        } else {
            rows
        };
        anyhow::ensure!(
            arrivals == expected,
            "{label}: the report counted {arrivals} of {expected} segments"
        );
        println!(
            "  {:<38} {:>10.1} {:>8.1}",
            label,
            ms(t),
            ms(t) / ms(base).max(0.001)
        );
    }
    Ok(())
}

/// Runs the bench on each engine and prints the figures.
pub(crate) async fn run(args: ReportsArgs) -> Result<()> {
    anyhow::ensure!(
        args.per_day > 0 && args.days >= 30,
        "--per-day must be positive and --days at least 30"
    );
    let only = args.only.as_deref();
    if only.is_none_or(|o| o == "sqlite") {
        let dir = tempfile::tempdir()?;
        engine(
            "SQLite",
            StoreUrl::Sqlite(dir.path().join("bench.db")),
            &args,
        )
        .await?;
    }
    if only.is_none_or(|o| o == "postgres") {
        let db = ScratchPostgres::create().context("a scratch PostgreSQL database")?;
        engine("PostgreSQL", StoreUrl::Postgres(db.url().to_owned()), &args).await?;
    }
    Ok(())
}
