//! The `switchboard` command.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "switchboard",
    version,
    about = "Social-media customer engagement engine"
)]
struct Cli {
    /// Logs more: -v what the host does, -vv debugging detail. `RUST_LOG` wins when set.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// `text` for a person, `json` (one object a line, with each span's fields such as
    /// `request_id`, `channel` and `plugin`) for a log collector. Default: `[server]
    /// log_format` of the config `serve` runs, else text.
    #[arg(long, global = true, value_enum, env = "SWITCHBOARD_LOG_FORMAT")]
    log_format: Option<LogFormat>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
enum LogFormat {
    Text,
    Json,
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
        /// Canned answers for platforms the emulator does not know: every
        /// `DIR/{platform}/*.json` (see docs/emulator.md, "generic").
        #[arg(long, value_name = "DIR")]
        answers: Option<PathBuf>,
    },
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
    /// Channel secrets at rest.
    Secrets {
        #[command(subcommand)]
        command: SecretsCommand,
    },
    /// The database.
    Store {
        #[command(subcommand)]
        command: StoreCommand,
    },
    /// Copies the SQLite store into a new file while the host keeps serving: the store as
    /// of one commit, checked and counted. (PostgreSQL: use pg_dump.)
    Backup {
        /// The new file.
        #[arg(long)]
        to: PathBuf,
        /// The config whose store to copy.
        #[arg(long, short, env = "SWITCHBOARD_CONFIG", conflicts_with = "data_dir")]
        config: Option<PathBuf>,
        /// Or the data folder whose `switchboard.db` to copy.
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum StoreCommand {
    /// Copies every row of one store into another, empty one, and checks the counts:
    /// e.g. an install moving from its SQLite file to PostgreSQL. Stop the hosts using
    /// the source first.
    Migrate {
        /// The store to copy: `sqlite://PATH` or `postgres://…`.
        #[arg(long)]
        from: String,
        /// The empty store to copy into: `postgres://…` or `sqlite://PATH`.
        #[arg(long)]
        to: String,
    },
}

#[derive(Subcommand)]
enum SecretsCommand {
    /// Prints a new random key for `[server] secret_key` (or `SWITCHBOARD_SECRET_KEY`).
    /// To rotate: make it `secret_key`, move the old key to `previous_secret_keys`,
    /// restart (every stored secret is encrypted again), then remove the old key.
    NewKey,
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Runs a connector's webhook parsing on a saved request body and prints the
    /// normalized events as JSON lines.
    Parse(switchboard::connectors::parse::ParseArgs),
    /// Creates a connector crate: the trait, the export macro, one webhook, one send, unit
    /// tests against the SDK's mock host and a saved-payload test.
    New(switchboard::connectors::kit::NewArgs),
    /// Builds a connector crate (in or out of this repository) as a `wasm32-wasip2`
    /// component with the recipe of `cargo xtask plugins`, checks that this host loads it
    /// and prints where it is.
    Build(switchboard::connectors::kit::BuildArgs),
    /// Runs saved webhook requests through a built connector and prints the events as JSON
    /// lines; with --expect, compares them and exits 1 at the first difference.
    Test(switchboard::connectors::kit::TestArgs),
}

#[derive(Subcommand)]
enum WorkflowCommand {
    /// Runs the fixtures of DIR/tests/ against the scripts of DIR; exits 1 on any failure.
    Test {
        /// The workflow folder.
        #[arg(default_value = "workflows")]
        dir: PathBuf,
    },
    /// Runs the customer messages a store recorded from FROM to TO through the scripts of
    /// DIR (not the running ones), without touching live work, and prints the routing
    /// decisions that would differ, per interaction.
    Replay(switchboard::replay::cli::ReplayArgs),
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let format = cli
        .log_format
        .unwrap_or_else(|| configured_log_format(&cli.command));
    init_logging(default_filter(&cli.command, cli.verbose), format);
    if let Err(e) = run(cli).await {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

/// What a command logs when `RUST_LOG` does not say. The servers (`serve`, `demo`,
/// `emulator`) log what they do, as operators read it; one-shot commands (`check`,
/// `workflow test`, `plugin parse`, `plugin test`) print their answer and only warnings and
/// errors besides (not a line per database migration), unless asked with `-v`.
fn default_filter(command: &Command, verbose: u8) -> &'static str {
    let server = matches!(
        command,
        Command::Serve { .. } | Command::Demo(_) | Command::Emulator { .. }
    );
    // One-shot commands (`workflow replay` too) stay quiet unless asked.
    match (server, verbose) {
        (_, 2..) => "debug,wasmtime=info,cranelift=info",
        (true, _) | (false, 1) => "info,wasmtime=warn,cranelift=warn",
        (false, 0) => "warn,wasmtime=warn,cranelift=warn",
    }
}

/// Logs go to stderr, so stdout carries only a command's answer (`plugin parse` prints
/// JSON lines a script may read). Colours are for a person at a terminal: none when
/// stderr is a pipe or a file, nor when `NO_COLOR` is set (<https://no-color.org>).
fn init_logging(default: &str, format: LogFormat) {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default.into());
    if format == LogFormat::Json {
        tracing_subscriber::fmt()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
        return;
    }
    let colour = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .init();
}

/// `[server] log_format` of the config `serve` or `check` is given, read before the rest
/// (logging starts before the config is loaded and checked); text when absent or unreadable.
fn configured_log_format(command: &Command) -> LogFormat {
    let (Command::Serve { config } | Command::Check { config }) = command else {
        return LogFormat::Text;
    };
    #[derive(serde::Deserialize)]
    struct Partial {
        server: Option<PartialServer>,
    }
    #[derive(serde::Deserialize)]
    struct PartialServer {
        log_format: Option<LogFormat>,
    }
    std::fs::read_to_string(config)
        .ok()
        .and_then(|text| toml::from_str::<Partial>(&text).ok())
        .and_then(|p| p.server?.log_format)
        .unwrap_or(LogFormat::Text)
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve { config } => {
            let config = switchboard::config::Config::load(&config)?;
            // Listening for the signals before serving: a SIGTERM that comes as soon as
            // the host says it serves must stop it cleanly, not kill it.
            let stop = StopSignal::install()?;
            let running = switchboard::server::start(config).await?;
            stop.wait().await?;
            running.shutdown().await;
            Ok(())
        }
        Command::Check { config } => {
            let config = switchboard::config::Config::load(&config)?;
            switchboard::server::check(&config)?;
            println!("config, plugins and workflows are valid");
            Ok(())
        }
        Command::Demo(args) => switchboard::demo::run(args).await,
        Command::Emulator { listen, answers } => {
            let emulator =
                switchboard_emulator::Emulator::new(switchboard::demo::emulator_config());
            if let Some(dir) = answers {
                let n = emulator.load_generic_answers(&dir)?;
                println!("{n} canned answer(s) from {}", dir.display());
            }
            let listener = tokio::net::TcpListener::bind(listen).await?;
            println!("emulator on http://{}", listener.local_addr()?);
            emulator.serve(listener).await?;
            Ok(())
        }
        Command::Plugin { command } => match command {
            PluginCommand::Parse(args) => switchboard::connectors::parse::run(args).await,
            PluginCommand::New(args) => switchboard::connectors::kit::new(args),
            PluginCommand::Build(args) => switchboard::connectors::kit::build(args).await,
            PluginCommand::Test(args) => switchboard::connectors::kit::test(args).await,
        },
        Command::Secrets {
            command: SecretsCommand::NewKey,
        } => {
            println!("{}", switchboard::config::sealed::Key::generate());
            Ok(())
        }
        Command::Store {
            command: StoreCommand::Migrate { from, to },
        } => migrate_store(&from, &to),
        Command::Backup {
            to,
            config,
            data_dir,
        } => backup(&to, config, data_dir),
        Command::Workflow {
            command: WorkflowCommand::Replay(args),
        } => {
            let summary = switchboard::replay::cli::run(args)?;
            print!("{}", summary.report);
            Ok(())
        }
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

/// Ctrl-C, or SIGTERM (what a service manager or a container runtime sends), caught from
/// the moment it is installed.
struct StopSignal {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
}

impl StopSignal {
    fn install() -> Result<StopSignal> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(StopSignal {
                term: signal(SignalKind::terminate())?,
                interrupt: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        Ok(StopSignal {})
    }

    async fn wait(mut self) -> Result<()> {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.term.recv() => {}
                _ = self.interrupt.recv() => {}
            }
            Ok(())
        }
        #[cfg(not(unix))]
        Ok(tokio::signal::ctrl_c().await?)
    }
}

/// `switchboard store migrate`: the copy with a bar per table on a terminal, then what
/// was copied.
fn migrate_store(from: &str, to: &str) -> Result<()> {
    use switchboard::store::StoreUrl;
    let from = StoreUrl::parse(from).context("--from")?;
    let to = StoreUrl::parse(to).context("--to")?;
    let bar = indicatif::ProgressBar::new(0);
    if !std::io::stderr().is_terminal() {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg:20} {bar:30} {pos}/{len} rows")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let copied = switchboard::store::copy::copy(&from, &to, &mut |table, done, total| {
        bar.set_message(table.to_owned());
        bar.set_length(total);
        bar.set_position(done);
    })?;
    bar.finish_and_clear();
    for (table, n) in &copied.tables {
        println!("{table:20} {n:>10}");
    }
    println!(
        "copied {} rows from {} to {}: every table's count matches",
        copied.rows(),
        from.display(),
        to.display()
    );
    Ok(())
}

/// `switchboard backup`: a spinner on a terminal while the copy is written, then what it
/// holds.
fn backup(to: &std::path::Path, config: Option<PathBuf>, data_dir: Option<PathBuf>) -> Result<()> {
    let from = match (config, data_dir) {
        (_, Some(dir)) => switchboard::store::StoreUrl::Sqlite(dir.join("switchboard.db")),
        (Some(path), None) => switchboard::config::Config::load(&path)?.store_url()?,
        (None, None) => anyhow::bail!("say which store to copy: -c CONFIG or --data-dir DIR"),
    };
    let spinner = indicatif::ProgressBar::new_spinner();
    if !std::io::stderr().is_terminal() {
        spinner.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    spinner.set_message(format!("copying {} to {}", from.display(), to.display()));
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    let done = switchboard::store::backup::backup(&from, to);
    spinner.finish_and_clear();
    let done = done?;
    println!(
        "backed up {} interactions and {} messages ({} KiB) to {}",
        done.interactions,
        done.messages,
        done.bytes / 1024,
        to.display()
    );
    Ok(())
}
