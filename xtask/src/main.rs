//! Project build tasks, run as `cargo xtask <task>` from anywhere in the workspace.
//!
//! - `cargo xtask plugins [--debug]`: builds every crate under `plugins/` and
//!   `tests/plugins/` as a `wasm32-wasip2` component and copies each one to
//!   `target/plugins/dist/<dir-name>.wasm`.
//! - `cargo xtask fuzz [--cases N] [--seed S] [PLUGIN..]`: the connectors' parser fuzz
//!   tests (see `tests/fuzz-kit`) with many cases, in the optimised `fuzz` profile that
//!   keeps overflow checks, with progress bars when stdout is a terminal.
//!
//! The toolchain recipe (rustup's `wasm32-wasip2` target, else Debian's `rustc-web` with
//! `-Zbuild-std`, installing the packages as root) is `switchboard-toolchain`, which
//! `switchboard plugin build` applies to any connector crate too.
//!
//! Deliberately small (std and the toolchain crate) so it compiles in seconds.

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use switchboard_toolchain::{self as toolchain, PluginCrate, Toolchain, Ui};

mod bench;
mod browser;
mod moto;
mod schemathesis;
#[cfg(test)]
mod unit_graph;

/// Folders whose sub-folders with a `Cargo.toml` are plugin crates.
const PLUGIN_DIRS: &[&str] = &["plugins", "tests/plugins"];

const USAGE: &str = "\
usage: cargo xtask <task>

tasks:
  plugins [--debug]   build every crate in plugins/* and tests/plugins/* as a
                      wasm32-wasip2 component into target/plugins/dist/<dir>.wasm
                      (release profile unless --debug)
  demo [ARGS]         build the plugins, then run `switchboard demo ARGS` (the host,
                      the platform emulator and the demo organisation); the host is
                      built as `test` builds it, so neither rebuilds after the other
  test [ARGS]         build the plugins, then run every test of the workspace
                      (`cargo test --workspace ARGS`), the workflow fixtures,
                      schemathesis and the browser tests; what CI runs
  browser             run the web desktop's browser tests (Playwright and Chromium,
                      installed when missing) against `switchboard demo --no-traffic`;
                      needs the plugins and a built `target/debug/switchboard`
  schemathesis        check every API answer against the OpenAPI document with
                      Schemathesis (installed in a venv under target/ when missing)
                      against `switchboard demo --no-traffic`; needs the plugins and a
                      built `target/debug/switchboard`
  bench [NAME] [ARGS] build the plugins, then run the benchmark crate in release:
                      `switchboard-bench NAME ARGS` (ingest, routing, workflow, cluster; default
                      ingest); `--baseline REV` (ingest, routing) also builds the
                      host at git revision REV and measures both in the same run
  fuzz [--cases N] [--seed S] [PLUGIN..]
                      fuzz the parsers of the connectors in plugins/ (all, or those
                      named: facebook, whatsapp, x, apple) natively, N cases per parser
                      (default 1000000), from base seed S (default: a new one, printed);
                      a failure prints the case seed to replay it
  help                show this message";

enum Error {
    /// Bad command line: print the usage and exit 2.
    Usage(String),
    /// The task failed: print the message and exit 1.
    Failed(String),
}

type Result<T> = std::result::Result<T, Error>;

fn fail<T>(msg: impl Into<String>) -> Result<T> {
    Err(Error::Failed(msg.into()))
}

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("plugins") => plugins(&args[1..]),
        Some("demo") => plugins(&[]).and_then(|()| demo(&args[1..])),
        Some("test") => plugins(&[]).and_then(|()| test(&args[1..])),
        Some("browser") => browser::test(&target_dir().join("debug/switchboard")),
        Some("schemathesis") => schemathesis::run(&target_dir().join("debug/switchboard")),
        Some("bench") => bench::bench(&args[1..]),
        Some("fuzz") => fuzz(&args[1..]),
        Some("help" | "-h" | "--help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(Error::Usage(format!("unknown task `{other}`"))),
        None => Err(Error::Usage("no task given".into())),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Error::Usage(msg)) => {
            eprintln!("xtask: {msg}\n\n{USAGE}");
            ExitCode::from(2)
        }
        Err(Error::Failed(msg)) => {
            eprintln!("xtask: error: {msg}");
            ExitCode::FAILURE
        }
    }
}

/// What `cargo run` sets for the program it runs (here, this tool), besides `CARGO`.
const RUN_ENV: &[&str] = &[
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
    "CARGO_MANIFEST_LINKS",
    "CARGO_CRATE_NAME",
    "CARGO_BIN_NAME",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_TARGET_TMPDIR",
];

/// The cargo that runs this task (set by `cargo run`), so nested builds use the same
/// toolchain as the outer one, with the environment of the shell that started the task.
///
/// `cargo xtask` is `cargo run`, which gives this process `CARGO_MANIFEST_DIR`,
/// `CARGO_PKG_NAME` and the like. Some build scripts (ring's) ask to run again when those
/// change, and cargo compares them with its own environment: passed on, they made every
/// build started here differ from one started in a shell, and each switch between the two
/// recompiled ring, rustls, reqwest and the host (over a minute on 2 cores).
fn cargo() -> Command {
    let mut cmd = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    for key in RUN_ENV {
        cmd.env_remove(key);
    }
    for (key, _) in env::vars_os() {
        if key.to_str().is_some_and(|k| k.starts_with("CARGO_PKG_")) {
            cmd.env_remove(key);
        }
    }
    cmd.current_dir(workspace_root());
    cmd
}

/// The cargo arguments that build `target/debug/switchboard` exactly as
/// `cargo test --workspace` builds it for the end-to-end tests, so `cargo xtask demo` after
/// `cargo xtask test` (or the other way round) compiles nothing again.
///
/// Cargo resolves features per invocation: `cargo run -p switchboard` leaves out what the
/// other workspace members (the plugins built natively, the sdk) and the host's
/// dev-dependencies switch on in shared crates (proptest turns on `fnv/std`, which is
/// under gimli, cranelift and wasmtime; wit-bindgen turns on `anyhow/std` for the proc-macro
/// behind wasmtime), so it rebuilt wasmtime and the host (4.5 minutes on 2 cores).
/// `--workspace` selects the same packages as the tests; `--examples` is there for its
/// side effect: asking for example targets makes cargo count dev-dependencies, as
/// `cargo test` does, and the workspace has no examples, so it builds nothing more.
/// `demo_builds_what_the_tests_build` checks this against cargo's unit graph.
const DEMO_BUILD: &[&str] = &["build", "--workspace", "--bin", "switchboard", "--examples"];

/// Builds the host as the tests do (see [`DEMO_BUILD`]), then runs
/// `switchboard demo <args>` from the workspace root.
fn demo(args: &[String]) -> Result<()> {
    let mut build = cargo();
    build.args(DEMO_BUILD);
    run(&mut build, "cargo build (switchboard)")?;
    let mut demo = Command::new(target_dir().join("debug/switchboard"));
    demo.arg("demo").args(args).current_dir(workspace_root());
    exec(&mut demo, "switchboard demo")
}

/// Runs `cmd` in place of this process where the OS allows it (as `cargo run` does), so
/// Ctrl-C reaches the demo alone and the shell waits for its orderly shutdown.
fn exec(cmd: &mut Command, what: &str) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let e = cmd.exec();
        fail(format!("cannot run {what}: {e}"))
    }
    #[cfg(not(unix))]
    run(cmd, what)
}

/// Every test of the workspace: host unit and end-to-end tests, the platform emulator, the
/// sdk, the plugins (natively, against the sdk's mock host) and this tool.
fn test(args: &[String]) -> Result<()> {
    // The tests of files kept in an S3-compatible bucket run against moto's server.
    let moto = moto::server()?;
    let mut cmd = cargo();
    cmd.args(["test", "--workspace"])
        .args(args)
        .env("SWITCHBOARD_MOTO_SERVER", &moto)
        // The end-to-end test of the partner kit also builds a new connector's component
        // (`-Zbuild-std` for its own profile: over a minute on 2 cores), as a partner would.
        .env("SWITCHBOARD_E2E_PLUGIN_BUILD", "1");
    run(&mut cmd, "cargo test --workspace")?;
    if args.is_empty() {
        postgres_tests(&moto)?;
    }
    // The shipped business processes against their fixtures, as a solution engineer runs
    // them (the unit tests run them too; this prints the per-file report in CI's log).
    // The binary `cargo test` just built for the end-to-end tests: `cargo run` would build
    // it again with other dependency features (minutes on a fresh machine).
    let target = target_dir();
    let mut fixtures = Command::new(target.join("debug/switchboard"));
    fixtures
        .args(["workflow", "test", "workflows"])
        .current_dir(workspace_root());
    run(&mut fixtures, "switchboard workflow test workflows")?;
    // The deployment kit: the compose file against the Compose schema, the Dockerfile and
    // scripts linted, the configs checked and served by this build (no container engine
    // is needed; the image itself is built where one runs).
    let mut deploy = Command::new("bash");
    deploy
        .arg("deploy/check.sh")
        .env("SWITCHBOARD_BIN", target.join("debug/switchboard"))
        .current_dir(workspace_root());
    run(&mut deploy, "deploy/check.sh")?;
    schemathesis::run(&target.join("debug/switchboard"))?;
    browser::test(&target.join("debug/switchboard"))
}

/// The end-to-end groups that run a second time with each world's data on PostgreSQL:
/// ingest on every platform, routing, replies and recovery (the durable core, restarts,
/// exactly-once sending), races, channels, and moving a store between engines.
const POSTGRES_E2E_GROUPS: &[&str] = &[
    "facebook::",
    "messenger::",
    "whatsapp::",
    "x::",
    "x_sources::",
    "apple::",
    "routing::",
    "outbound::",
    "exactly_once::",
    "durable::",
    "resilience::",
    "races::",
    "channels::",
    "pause::",
    "store::",
    "responses::",
    "reports::",
    "contacts::",
    "retention::",
    "media_bucket::",
];

/// The store conformance run: the host's unit tests (every store test among them) and the
/// end-to-end groups above, on PostgreSQL (`SWITCHBOARD_TEST_STORE`, `SWITCHBOARD_E2E_STORE`;
/// each test makes a database of its own on the local server and drops it).
fn postgres_tests(moto: &Path) -> Result<()> {
    // `--workspace`, as the first run: the same features, so nothing is built again.
    let mut unit = cargo();
    unit.args(["test", "--workspace", "--lib"])
        .env("SWITCHBOARD_TEST_STORE", "postgres")
        .env("SWITCHBOARD_MOTO_SERVER", moto);
    run(&mut unit, "cargo test --workspace --lib (PostgreSQL)")?;
    let mut e2e = cargo();
    e2e.args(["test", "--workspace", "--test", "e2e"])
        .arg("--")
        .args(POSTGRES_E2E_GROUPS)
        .env("SWITCHBOARD_E2E_STORE", "postgres")
        .env("SWITCHBOARD_MOTO_SERVER", moto);
    run(&mut e2e, "cargo test --test e2e (PostgreSQL)")
}

/// Cases per parser of `cargo xtask fuzz` (CI's `cargo test` runs 10,000).
const FUZZ_CASES: u64 = 1_000_000;

/// What `cargo xtask fuzz` was asked for.
#[derive(Debug, PartialEq)]
struct FuzzArgs {
    cases: u64,
    seed: Option<u64>,
    plugins: Vec<String>,
}

fn parse_number(option: &str, value: Option<&String>) -> Result<u64> {
    let raw = value.ok_or_else(|| Error::Usage(format!("`{option}` needs a value")))?;
    let clean = raw.replace('_', "");
    let parsed = match clean.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => clean.parse(),
    };
    parsed.map_err(|_| Error::Usage(format!("`{option} {raw}`: not a number")))
}

fn parse_fuzz_args(args: &[String], known: &[String]) -> Result<FuzzArgs> {
    let mut out = FuzzArgs {
        cases: FUZZ_CASES,
        seed: None,
        plugins: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--cases" => out.cases = parse_number("--cases", it.next())?,
            "--seed" => out.seed = Some(parse_number("--seed", it.next())?),
            flag if flag.starts_with('-') => {
                return Err(Error::Usage(format!("unknown option `{flag}` for `fuzz`")));
            }
            name => {
                let name = name.trim_start_matches("plugin-");
                if !known.iter().any(|k| k == name) {
                    return Err(Error::Usage(format!(
                        "no plugin `{name}` in plugins/ (there are: {})",
                        known.join(", ")
                    )));
                }
                out.plugins.push(name.to_string());
            }
        }
    }
    if out.plugins.is_empty() {
        out.plugins = known.to_vec();
    }
    Ok(out)
}

/// `cargo xtask fuzz`: each plugin's `fuzz_*` tests with `--cases` cases per parser, in
/// the `fuzz` profile (optimised, overflow checks and debug assertions kept, so what would
/// panic in CI's debug build panics here too). Progress bars (the kit's `progress`
/// feature) only when stdout is a terminal; one summary line per parser either way.
fn fuzz(args: &[String]) -> Result<()> {
    use std::io::IsTerminal;
    let root = workspace_root();
    let known: Vec<String> = discover_plugins(&root)?
        .into_iter()
        .filter(|c| root.join("plugins").join(&c.name).is_dir())
        .map(|c| c.name)
        .collect();
    let wanted = parse_fuzz_args(args, &known)?;
    let seed = wanted.seed.unwrap_or_else(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        nanos ^ u64::from(std::process::id()).rotate_left(32)
    });
    let terminal = std::io::stdout().is_terminal();
    println!(
        "xtask: fuzzing {} with {} cases per parser, base seed {seed:#x} \
         (again: cargo xtask fuzz --cases {} --seed {seed:#x} {})",
        wanted.plugins.join(", "),
        wanted.cases,
        wanted.cases,
        wanted.plugins.join(" ")
    );
    let mut cmd = cargo();
    // Every plugin's parsers run even when an earlier one fails.
    cmd.args(["test", "--profile", "fuzz", "--lib", "--no-fail-fast"]);
    for p in &wanted.plugins {
        cmd.args(["-p", &format!("plugin-{p}")]);
    }
    if terminal {
        cmd.args(["--features", "switchboard-fuzz-kit/progress"])
            .env("SWITCHBOARD_FUZZ_PROGRESS", "1");
    }
    cmd.args(["fuzz_", "--", "--nocapture"])
        .env("SWITCHBOARD_FUZZ_CASES", wanted.cases.to_string())
        .env("SWITCHBOARD_FUZZ_SEED", format!("{seed:#x}"));
    let started = Instant::now();
    run(&mut cmd, "cargo test (fuzz)")?;
    println!(
        "xtask: fuzzing done in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Where cargo builds: `$CARGO_TARGET_DIR` or `<root>/target`.
fn target_dir() -> PathBuf {
    env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// The workspace root (this crate lives in `<root>/xtask`).
fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

// ------------------------------------------------------------------ plugin crates

fn discover_plugins(root: &Path) -> Result<Vec<PluginCrate>> {
    toolchain::discover(root, PLUGIN_DIRS).map_err(|e| Error::Failed(e.to_string()))
}

/// Runs a command and returns its stdout when it succeeded.
fn output_of(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn run(cmd: &mut Command, what: &str) -> Result<()> {
    match cmd.status() {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => fail(format!("{what} failed ({status})")),
        Err(e) => fail(format!("cannot run {what}: {e}")),
    }
}

/// Those of `packages` dpkg does not list as installed.
fn not_installed(packages: &[&'static str]) -> Vec<&'static str> {
    toolchain::not_installed(packages)
}

/// Installs Debian packages as root; otherwise fails with `why` and the command to run.
fn install_packages(missing: &[&str], why: &str) -> Result<()> {
    toolchain::install_packages(missing, why, &Ui::new("xtask"))
        .map_err(|e| Error::Failed(e.to_string()))
}

// ------------------------------------------------------------------ plugins task

fn plugins(args: &[String]) -> Result<()> {
    let mut release = true;
    for arg in args {
        match arg.as_str() {
            "--debug" => release = false,
            "--release" => release = true,
            other => {
                return Err(Error::Usage(format!(
                    "unknown option `{other}` for `plugins`"
                )));
            }
        }
    }
    let started = Instant::now();
    let root = workspace_root();
    let crates = discover_plugins(&root)?;
    if crates.is_empty() {
        return fail(format!(
            "no plugin crates found under {}",
            PLUGIN_DIRS.join(" or ")
        ));
    }
    let ui = Ui::new("xtask");
    let failed = |e: toolchain::Error| Error::Failed(e.to_string());
    let toolchain = Toolchain::prepare(&ui).map_err(failed)?;
    let profile = if release { "release" } else { "debug" };
    ui.say(format!(
        "building {} plugin(s) with {} ({profile})",
        crates.len(),
        toolchain.describe()
    ));
    let target_dir = root.join("target/plugins");
    let dist = target_dir.join("dist");
    let built = toolchain
        .build(
            &toolchain::Build {
                cwd: &root,
                crates: &crates,
                target_dir: &target_dir,
                release,
                out_dir: Some(&dist),
            },
            &ui,
        )
        .map_err(failed)?;
    for b in &built {
        println!(
            "xtask: {} -> {} ({} KiB)",
            b.krate.package,
            b.path.strip_prefix(&root).unwrap_or(&b.path).display(),
            b.size / 1024
        );
    }
    println!(
        "xtask: plugins built in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_cargo_gets_the_shells_environment_not_cargo_runs() {
        // This test runs under `cargo test`, which sets the same variables as `cargo run`.
        assert!(env::var_os("CARGO_MANIFEST_DIR").is_some());
        let cmd = cargo();
        let removed: Vec<_> = cmd
            .get_envs()
            .filter(|(_, value)| value.is_none())
            .filter_map(|(key, _)| key.to_str())
            .collect();
        for key in [
            "CARGO_MANIFEST_DIR",
            "CARGO_PKG_NAME",
            "CARGO_PKG_VERSION_MAJOR",
        ] {
            assert!(removed.contains(&key), "{key} is passed on: {removed:?}");
        }
        assert!(!removed.contains(&"CARGO_HOME") && !removed.contains(&"CARGO_TARGET_DIR"));
    }

    #[test]
    fn fuzz_arguments() {
        let known: Vec<String> = ["facebook", "x"].map(String::from).to_vec();
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let all = parse_fuzz_args(&[], &known).unwrap_or_else(|_| panic!("no args"));
        assert_eq!(
            all,
            FuzzArgs {
                cases: FUZZ_CASES,
                seed: None,
                plugins: known.clone()
            }
        );
        let some = parse_fuzz_args(
            &args(&["--cases", "5_000", "--seed", "0x1f", "plugin-x"]),
            &known,
        )
        .unwrap_or_else(|_| panic!("valid args"));
        assert_eq!(
            (some.cases, some.seed, some.plugins),
            (5000, Some(31), vec!["x".to_string()])
        );
        for bad in [
            &["--cases"][..],
            &["--cases", "lots"],
            &["--fast"],
            &["instagram"],
        ] {
            assert!(
                matches!(parse_fuzz_args(&args(bad), &known), Err(Error::Usage(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn finds_this_workspace_plugins() {
        let crates = discover_plugins(&workspace_root()).unwrap_or_else(|_| panic!("discover"));
        let names: Vec<_> = crates.iter().map(|c| c.name.as_str()).collect();
        assert!(names.contains(&"facebook"), "{names:?}");
        let fb = crates.iter().find(|c| c.name == "facebook").unwrap();
        assert_eq!(fb.package, "plugin-facebook");
        assert_eq!(fb.lib_name, "plugin_facebook");
    }
}
