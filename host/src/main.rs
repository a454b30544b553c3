//! The `switchboard` command.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "switchboard",
    version,
    about = "Social-media customer engagement engine"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the host with a config file.
    Serve {
        /// The TOML config.
        #[arg(
            long,
            short,
            env = "SWITCHBOARD_CONFIG",
            default_value = "switchboard.toml"
        )]
        config: PathBuf,
    },
    /// Validates a config file, its plugins and workflows; exits non-zero on any problem.
    Check {
        /// The TOML config.
        #[arg(
            long,
            short,
            env = "SWITCHBOARD_CONFIG",
            default_value = "switchboard.toml"
        )]
        config: PathBuf,
    },
    /// Runs the host, the platform emulator and a seeded demo organisation.
    Demo(switchboard::demo::DemoArgs),
    /// Runs the platform emulator alone.
    Emulator {
        /// Where the emulator listens.
        #[arg(long, default_value = "127.0.0.1:9090")]
        listen: SocketAddr,
    },
    /// Benchmarks.
    Bench(switchboard::bench::BenchArgs),
    /// Connector tools.
    Plugin {
        #[command(subcommand)]
        command: PluginCommand,
    },
    /// Routing workflows.
    Workflow {
        #[command(subcommand)]
        command: WorkflowCommand,
    },
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Runs a connector's webhook parsing on a saved request body and prints the
    /// normalized events as JSON lines.
    Parse(switchboard::connectors::parse::ParseArgs),
}

#[derive(Subcommand)]
enum WorkflowCommand {
    /// Runs the fixtures of DIR/tests/ against the scripts of DIR; exits 1 on any failure.
    Test {
        /// The workflow folder.
        #[arg(default_value = "workflows")]
        dir: PathBuf,
    },
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,wasmtime=warn,cranelift=warn".into()),
        )
        .init();
    if let Err(e) = run(Cli::parse()).await {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve { config } => {
            let config = switchboard::config::Config::load(&config)?;
            let running = switchboard::app::start(config).await?;
            tokio::signal::ctrl_c().await?;
            running.shutdown().await;
            Ok(())
        }
        Command::Check { config } => {
            let config = switchboard::config::Config::load(&config)?;
            switchboard::app::check(&config)?;
            println!("config, plugins and workflows are valid");
            Ok(())
        }
        Command::Demo(args) => switchboard::demo::run(args).await,
        Command::Emulator { listen } => {
            let emulator =
                switchboard::emulator::Emulator::new(switchboard::demo::emulator_config());
            let listener = tokio::net::TcpListener::bind(listen).await?;
            println!("emulator on http://{}", listener.local_addr()?);
            emulator.serve(listener).await?;
            Ok(())
        }
        Command::Bench(args) => switchboard::bench::run(args).await,
        Command::Plugin {
            command: PluginCommand::Parse(args),
        } => switchboard::connectors::parse::run(args).await,
        Command::Workflow {
            command: WorkflowCommand::Test { dir },
        } => {
            let summary = switchboard::workflow::fixtures::run_dir(&dir)?;
            print!("{}", summary.report);
            if summary.failed > 0 {
                std::process::exit(1);
            }
            Ok(())
        }
    }
}
