//! `switchboard bench`: throughput figures measured on this machine.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;

mod ingest;
pub mod routing;
pub mod workflow;

pub use ingest::{IngestReport, IngestRun};
pub use routing::{RoutingBench, RoutingReport};

/// Flags of `switchboard bench`.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    #[command(subcommand)]
    kind: BenchKind,
}

#[derive(clap::Subcommand, Debug)]
enum BenchKind {
    /// Facebook comment webhooks through the whole ingest path, against direct inserts.
    Ingest {
        /// Webhooks to send.
        #[arg(long, default_value_t = 20_000)]
        count: usize,
        /// Requests in flight at once.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// Where the built plugins are.
        #[arg(long, default_value = "target/plugins/dist")]
        plugins_dir: PathBuf,
        /// Where the workflows are.
        #[arg(long, default_value = "workflows")]
        workflows_dir: PathBuf,
        /// Durability settings to run, one after the other: `both` (NORMAL, then FULL,
        /// shown side by side with their ratio), `normal` or `full`.
        #[arg(long, default_value = "both")]
        synchronous: String,
        /// Runs of each setting, interleaved; the median is shown.
        #[arg(long, default_value_t = 1)]
        rounds: usize,
    },
    /// Workflow decisions: each sample process per event against the same logic in
    /// Rust, and the time from saving a script to the first event it handles.
    Workflow {
        /// Events per case.
        #[arg(long, default_value_t = 20_000)]
        iterations: usize,
        /// Script saves to time.
        #[arg(long, default_value_t = 20)]
        reloads: usize,
        /// Where the workflows are.
        #[arg(long, default_value = "workflows")]
        workflows_dir: PathBuf,
    },
    /// The ACD router in memory: agent-available-to-offer latency and routing decisions
    /// per second with many interactions waiting.
    Routing {
        /// Interactions waiting.
        #[arg(long, default_value_t = 10_000)]
        waiting: usize,
        /// Workgroups.
        #[arg(long, default_value_t = 50)]
        workgroups: usize,
        /// Agents, each a member of 1-3 workgroups.
        #[arg(long, default_value_t = 1_000)]
        agents: usize,
        /// Interactions carry skill expressions and agents have skills (`--skills false`
        /// to turn off).
        #[arg(long, default_value_t = true, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
        skills: bool,
        /// Also run with 1k, 10k and 100k waiting and show how the cost grows.
        #[arg(long)]
        scaling: bool,
        /// Agents becoming available, timed one at a time, per size.
        #[arg(long, default_value_t = 5_000)]
        samples: usize,
        /// Seed of the random world.
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
}

/// Runs the chosen benchmark and prints its figures.
pub async fn run(args: BenchArgs) -> Result<()> {
    match args.kind {
        BenchKind::Ingest {
            count,
            concurrency,
            plugins_dir,
            workflows_dir,
            synchronous,
            rounds,
        } => {
            use crate::store::Synchronous;
            let settings = match synchronous.as_str() {
                "both" => vec![Synchronous::Normal, Synchronous::Full],
                one => vec![one.parse::<Synchronous>()?],
            };
            let report = ingest::ingest(
                count,
                concurrency,
                plugins_dir,
                workflows_dir,
                &settings,
                rounds,
            )
            .await?;
            println!("{report}");
            Ok(())
        }
        BenchKind::Workflow {
            iterations,
            reloads,
            workflows_dir,
        } => {
            let report = tokio::task::spawn_blocking(move || {
                workflow::run(iterations, reloads, &workflows_dir)
            })
            .await??;
            println!("{report}");
            Ok(())
        }
        BenchKind::Routing {
            waiting,
            workgroups,
            agents,
            skills,
            scaling,
            samples,
            seed,
        } => {
            anyhow::ensure!(
                workgroups > 0 && agents > 0,
                "--workgroups and --agents must be at least 1"
            );
            let bench = RoutingBench {
                waiting,
                workgroups,
                agents,
                skills,
                samples,
                seed,
            };
            tokio::task::spawn_blocking(move || routing::run(bench, scaling)).await?
        }
    }
}

/// Median, 99th percentile and maximum of timed samples.
#[derive(Clone, Copy, Debug, Default)]
pub struct Percentiles {
    /// Half the samples took at most this.
    pub median: Duration,
    /// 99 % of the samples took at most this.
    pub p99: Duration,
    /// The slowest sample.
    pub max: Duration,
}

impl Percentiles {
    /// Sorts `samples` and reads the figures off them (all zero when there are none).
    pub fn of(samples: &mut [Duration]) -> Percentiles {
        if samples.is_empty() {
            return Percentiles::default();
        }
        samples.sort_unstable();
        let at = |q: f64| {
            samples[((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1]
        };
        Percentiles {
            median: at(0.5),
            p99: at(0.99),
            max: samples[samples.len() - 1],
        }
    }
}

/// Microseconds with one decimal.
pub fn fmt_us(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e6)
}
