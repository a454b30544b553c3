//! `switchboard-bench`: throughput and latency figures measured on this machine, run by
//! `cargo xtask bench NAME` (which builds the plugins first and this crate in release).
//!
//! The benches are a crate of their own so the host carries no bench code and no cargo
//! feature splits its build; they use the host's library as any embedder would.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;

mod baseline;
mod cluster;
mod ingest;
mod reports;
mod routing;
mod search;
mod workflow;

use routing::RoutingBench;

/// Flags of `switchboard-bench`.
#[derive(clap::Parser, Debug)]
#[command(
    name = "switchboard-bench",
    about = "Switchboard's benchmarks: figures measured on this machine"
)]
struct BenchArgs {
    #[command(subcommand)]
    kind: BenchKind,
}

#[derive(clap::Subcommand, Debug)]
enum BenchKind {
    /// Facebook comment webhooks through the whole ingest path, against direct inserts,
    /// per durability setting, and against an earlier build of the host if given.
    Ingest(ingest::IngestArgs),
    /// Ingest on SQLite, on PostgreSQL with one host and with two; routing decisions per
    /// second on a leader whose agents are connected to three hosts.
    Cluster(cluster::ClusterArgs),
    /// A month's historical reports over a year of history, on SQLite and PostgreSQL,
    /// against reading the month's rows.
    Reports(reports::ReportsArgs),
    /// The interaction search over a million messages (a rare word, a common one,
    /// Japanese, a name) on SQLite and PostgreSQL, against LIKE over every message.
    Search(search::SearchArgs),
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
        /// With a baseline: runs of each build, alternating; the medians are compared
        /// (a p99 measured once moves by half on a busy machine).
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        #[command(flatten)]
        baseline: baseline::BaselineArgs,
    },
}

#[tokio::main]
async fn main() -> Result<()> {
    // Only errors: the host's start-up lines, and the warnings of the demo's X channel
    // polling an emulator the bench does not start, would bury the figures.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error")),
        )
        .with_writer(std::io::stderr)
        .init();
    run(<BenchArgs as clap::Parser>::parse()).await
}

/// Runs the chosen benchmark and prints its figures.
async fn run(args: BenchArgs) -> Result<()> {
    match args.kind {
        BenchKind::Ingest(args) => ingest::run(args).await,
        BenchKind::Cluster(args) => cluster::run(args).await,
        BenchKind::Reports(args) => reports::run(args).await,
        BenchKind::Search(args) => search::run(args).await,
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
            rounds,
            baseline,
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
            let Some(baseline) = baseline.baseline()? else {
                tokio::task::spawn_blocking(move || routing::run(bench, scaling)).await??;
                return Ok(());
            };
            // Alternating, each alone on the machine: the baseline, then this build.
            let mut theirs = Vec::new();
            let mut ours = Vec::new();
            for round in 1..=rounds.max(1) {
                eprintln!("round {round}: the baseline build's routing bench, then this build's");
                theirs.push(routing::p99_of(
                    &baseline
                        .bench(&routing::same_worlds(&bench, scaling))
                        .await?,
                ));
                let bench = bench.clone();
                ours.push(
                    tokio::task::spawn_blocking(move || routing::run(bench, scaling)).await??,
                );
            }
            routing::print_against(&ours, &theirs);
            Ok(())
        }
    }
}

/// Median, 99th percentile and maximum of timed samples.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Percentiles {
    /// Half the samples took at most this.
    pub(crate) median: Duration,
    /// 99 % of the samples took at most this.
    pub(crate) p99: Duration,
    /// The slowest sample.
    pub(crate) max: Duration,
}

impl Percentiles {
    /// Sorts `samples` and reads the figures off them (all zero when there are none).
    pub(crate) fn of(samples: &mut [Duration]) -> Percentiles {
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
pub(crate) fn fmt_us(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e6)
}
