//! The command line of `switchboard workflow replay`: where the store is, the period in
//! the organisation's time zone, and a progress bar at a terminal (none in a pipe).

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use super::{ChannelInfo, Replay, Summary};
use crate::config::Config;
use crate::model::hours::Organisation;

/// Flags of `switchboard workflow replay`.
#[derive(clap::Args, Debug, Clone)]
pub struct ReplayArgs {
    /// Start of the period: a date (`2026-12-01`) or a local date and time
    /// (`2026-12-01T09:00`) in the organisation's time zone.
    #[arg(long)]
    pub from: String,
    /// End of the period (a date alone includes that whole day).
    #[arg(long)]
    pub to: String,
    /// The host's data folder (its `switchboard.db`), when not given by `-c`.
    #[arg(long, conflicts_with = "config")]
    pub data_dir: Option<PathBuf>,
    /// The host's config: its data folder, channels (which script each runs), time zone
    /// and schedules.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// The workflow folder to replay through.
    pub dir: PathBuf,
}

/// Unix ms of `text` in the organisation's time zone; a date alone is its midnight, or
/// (`end`) the next midnight.
fn instant(org: &Organisation, text: &str, end: bool) -> Result<i64> {
    let text = text.trim();
    if text.len() == 10 && !text.contains('T') {
        let start = org
            .parse_local(&format!("{text}T00:00"))
            .map_err(|_| anyhow::anyhow!("{text:?} is not a date like 2026-12-01"))?;
        if !end {
            return Ok(start);
        }
        let date: jiff::civil::Date = text.parse()?;
        let next = date.tomorrow()?;
        return org
            .parse_local(&format!("{next}T00:00"))
            .map_err(|e| anyhow::anyhow!(e));
    }
    org.parse_local(text).map_err(|_| {
        anyhow::anyhow!(
            "{text:?} is not a date (2026-12-01) or a local date and time (2026-12-01T09:00)"
        )
    })
}

/// Runs a replay as the flags say.
pub fn run(args: ReplayArgs) -> Result<Summary> {
    let config = match &args.config {
        Some(path) => Some(Config::load(path)?),
        None => None,
    };
    let (db, organisation) = match (&config, &args.data_dir) {
        (Some(config), _) => (config.store_url()?, config.organisation()?),
        (None, Some(dir)) => (
            crate::store::StoreUrl::Sqlite(dir.join("switchboard.db")),
            Organisation::default(),
        ),
        (None, None) => bail!("say where the recorded traffic is: --data-dir DIR or -c CONFIG"),
    };
    let from = instant(&organisation, &args.from, false).context("--from")?;
    let to = instant(&organisation, &args.to, true).context("--to")?;
    if to <= from {
        bail!(
            "--from {} is not before --to {}: pick a start before the end",
            args.from,
            args.to
        );
    }
    let mut channels: HashMap<String, ChannelInfo> = HashMap::new();
    let stored: Vec<crate::config::Channel> = {
        let conn = crate::store::replay::open(&db)?;
        crate::store::channels::list::<crate::config::Channel>(&conn)
            .map(|rows| rows.into_iter().filter_map(|r| r.config.ok()).collect())
            .unwrap_or_default()
    };
    for ch in config.iter().flat_map(|c| c.channels.iter()).chain(&stored) {
        channels.insert(
            ch.name.clone(),
            ChannelInfo {
                platform: ch.plugin.clone(),
                workgroup: ch.workgroup.clone(),
                dm_workgroup: ch.dm_workgroup().to_owned(),
                grouping_timeout_s: ch.grouping_timeout_s.into(),
                workflow: ch.workflow.clone(),
            },
        );
    }
    let bar = indicatif::ProgressBar::new(0);
    if !std::io::stderr().is_terminal() {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar.set_style(
        indicatif::ProgressStyle::with_template("replaying {bar:30} {pos}/{len} messages")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let summary = super::run(
        Replay {
            db: &db,
            dir: &args.dir,
            from,
            to,
            channels,
            organisation,
        },
        &|done, total| {
            bar.set_length(total);
            bar.set_position(done);
        },
    )?;
    bar.finish_and_clear();
    Ok(summary)
}
