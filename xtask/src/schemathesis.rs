//! `cargo xtask schemathesis`: every answer of the API is the one its OpenAPI document
//! describes (issue 13).
//!
//! Schemathesis (PyPI, pinned below, installed in a venv under `target/` and reused)
//! generates requests for every operation of `GET /api/v1/openapi.json` of
//! `switchboard demo --no-traffic` (free ports, a fresh data folder), signed in as the
//! demo's administrator, and checks each answer: no 5xx, a documented status, the
//! documented content type and schema. `tests/schemathesis/hooks.py` keeps the run honest
//! (signs in again when a token is refused, never changes the administrator itself,
//! points cases at real resources); `coverage.py` then fails the run if an operation never
//! answered 2xx, listing those excluded and why.
//!
//! On a terminal Schemathesis shows its progress; otherwise (CI) its output goes to
//! `target/schemathesis/run.log` and is printed only when the run fails.

use std::fs;
use std::io::{IsTerminal, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{Error, Result, fail, target_dir, workspace_root};

/// The Schemathesis release the run is pinned to.
const VERSION: &str = "4.32.5";
/// Cases per operation and phase: bounds the run to a few minutes on CI's 2 cores.
const MAX_EXAMPLES: &str = "25";
/// Fixed, so a failure found in CI comes back on a developer's machine.
const SEED: &str = "13";
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance";
/// Operations not run at all (the reasons are in `coverage.py`'s EXCLUDED).
const EXCLUDED_PATHS: &[&str] = &["/api/v1/logout", "/api/v1/events"];

/// Runs Schemathesis against a demo started from `bin`.
pub fn run(bin: &Path) -> Result<()> {
    let started = Instant::now();
    if !bin.exists() {
        return fail(format!(
            "{} is not built: run `cargo xtask test` (or `cargo build -p switchboard`) first",
            bin.display()
        ));
    }
    let out = target_dir().join("schemathesis");
    fs::create_dir_all(&out).map_err(|e| failed(&out, e))?;
    let venv = venv(&target_dir().join("schemathesis-venv"))?;
    let data = out.join("data");
    let _ = fs::remove_dir_all(&data);
    let (port, emulator_port) = (free_port()?, free_port()?);
    let demo = Demo::start(bin, port, emulator_port, &data, &out.join("demo.log"))?;
    let base = format!("http://127.0.0.1:{port}");
    demo.wait_ready(&base)?;

    let tally = out.join("tally.json");
    let _ = fs::remove_file(&tally);
    let _ = fs::remove_file(out.join("hooks.log"));
    let hooks = workspace_root().join("tests/schemathesis");
    let mut st = Command::new(venv.join("bin/st"));
    st.args(["run", &format!("{base}/api/v1/openapi.json")])
        .args(["--checks", CHECKS])
        .args(["--max-examples", MAX_EXAMPLES, "--seed", SEED])
        .args(["--workers", "2", "--request-timeout", "30"])
        // No example database: each run starts from the seed alone, as in CI.
        .args(["--generation-database", "none"])
        .args(["--report", "junit", "--report-junit-path"])
        .arg(out.join("junit.xml"));
    for path in EXCLUDED_PATHS {
        st.args(["--exclude-path", path]);
    }
    st.env("SCHEMATHESIS_HOOKS", "hooks")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONPATH", &hooks)
        .env("SWITCHBOARD_URL", &base)
        .env(
            "SWITCHBOARD_EMULATOR",
            format!("http://127.0.0.1:{emulator_port}"),
        )
        .env("SWITCHBOARD_TALLY", &tally)
        .env("SWITCHBOARD_HOOKS_LOG", out.join("hooks.log"))
        .env("SWITCHBOARD_SEED", SEED)
        // Schemathesis keeps a crash cache (`.schemathesis/`) where it runs.
        .current_dir(&out);
    let terminal = std::io::stdout().is_terminal();
    let log = out.join("run.log");
    let _ = fs::remove_file(&log);
    if terminal {
        println!(
            "xtask: schemathesis {VERSION} against {base} (output in {})",
            out.display()
        );
    } else {
        st.arg("--no-color");
        let file = fs::File::create(&log).map_err(|e| failed(&log, e))?;
        let err = file.try_clone().map_err(|e| failed(&log, e))?;
        st.stdout(file).stderr(err);
    }
    let outcome = st
        .status()
        .map_err(|e| Error::Failed(format!("cannot run schemathesis: {e}")));
    drop(demo);
    let status = outcome?;
    if !status.success() {
        if !terminal {
            print_file(&log);
        }
        return fail(format!(
            "schemathesis found answers the OpenAPI document does not describe ({status}); \
             each failure above names the operation, the request (as curl) and the check. \
             Log: {}; JUnit report: {}; what the hooks could not prepare: hooks.log beside them",
            log.display(),
            out.join("junit.xml").display()
        ));
    }
    // Which operations answered 2xx, by the document saved when the demo started.
    let coverage = Command::new(venv.join("bin/python"))
        .arg(hooks.join("coverage.py"))
        .arg(&tally)
        .arg(out.join("openapi.json"))
        .output()
        .map_err(|e| Error::Failed(format!("cannot run coverage.py: {e}")))?;
    let report = String::from_utf8_lossy(&coverage.stdout);
    if !coverage.status.success() {
        print!("{report}");
        eprint!("{}", String::from_utf8_lossy(&coverage.stderr));
        return fail(
            "schemathesis passed, but some operations never answered 2xx (listed above): \
             a run of refusals proves little. Give hooks.py a way to prepare what they need, \
             or list them in coverage.py's EXCLUDED with the reason",
        );
    }
    if terminal {
        print!("{report}");
    }
    let summary = report
        .lines()
        .rev()
        .find(|l| l.contains("operations"))
        .unwrap_or("");
    // Schemathesis' own count ("2732 generated, 2732 passed"), when its output was kept.
    let cases = fs::read_to_string(&log)
        .ok()
        .and_then(|text| {
            let line = text.lines().rev().find(|l| l.contains(" generated, "))?;
            Some(format!("; cases: {}", line.trim()))
        })
        .unwrap_or_default();
    println!(
        "xtask: schemathesis passed in {:.1} s: {summary}{cases}",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn failed(path: &Path, e: std::io::Error) -> Error {
    Error::Failed(format!("{}: {e}", path.display()))
}

fn print_file(path: &Path) {
    if let Ok(text) = fs::read_to_string(path) {
        print!("{text}");
    }
}

/// The venv with Schemathesis `VERSION`: reused when it has it, made or updated otherwise.
fn venv(dir: &Path) -> Result<PathBuf> {
    let st = dir.join("bin/st");
    let has = |st: &Path| {
        Command::new(st)
            .arg("--version")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(VERSION))
    };
    if has(&st) {
        return Ok(dir.to_path_buf());
    }
    println!(
        "xtask: installing schemathesis {VERSION} into {}",
        dir.display()
    );
    if !dir.join("bin/python").exists() {
        super::run(
            Command::new("python3").args(["-m", "venv"]).arg(dir),
            "python3 -m venv (Debian: `apt-get install python3-venv`)",
        )?;
    }
    super::run(
        Command::new(dir.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .arg(format!("schemathesis=={VERSION}")),
        "pip install schemathesis",
    )?;
    if !has(&st) {
        return fail(format!(
            "{} does not report version {VERSION}",
            st.display()
        ));
    }
    Ok(dir.to_path_buf())
}

fn free_port() -> Result<u16> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| Error::Failed(format!("no free port: {e}")))
}

/// `switchboard demo --no-traffic`, stopped (and its data folder removed) when dropped.
struct Demo {
    child: Child,
    data: PathBuf,
    log: PathBuf,
}

impl Demo {
    fn start(bin: &Path, port: u16, emulator_port: u16, data: &Path, log: &Path) -> Result<Demo> {
        let file = fs::File::create(log).map_err(|e| failed(log, e))?;
        let err = file.try_clone().map_err(|e| failed(log, e))?;
        let child = Command::new(bin)
            .args(["demo", "--no-traffic", "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("--emulator-listen")
            .arg(format!("127.0.0.1:{emulator_port}"))
            .arg("--data-dir")
            .arg(data)
            .env("RUST_LOG", "warn")
            .current_dir(workspace_root())
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(err)
            .spawn()
            .map_err(|e| Error::Failed(format!("cannot start {}: {e}", bin.display())))?;
        Ok(Demo {
            child,
            data: data.to_path_buf(),
            log: log.to_path_buf(),
        })
    }

    /// Waits for `/readyz`, and saves the OpenAPI document for `coverage.py`.
    fn wait_ready(&self, base: &str) -> Result<()> {
        let addr = base.trim_start_matches("http://");
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            if get(addr, "/readyz").is_some_and(|(status, _)| status == 200) {
                let (_, document) = get(addr, "/api/v1/openapi.json")
                    .ok_or_else(|| Error::Failed("the demo serves no OpenAPI document".into()))?;
                let path = self.log.with_file_name("openapi.json");
                return fs::write(&path, document).map_err(|e| failed(&path, e));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        print_file(&self.log);
        fail("the demo did not become ready within 2 minutes (its log is above)")
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.data);
    }
}

/// A plain HTTP/1.0 GET on loopback (this tool has no HTTP client): status and body.
fn get(addr: &str, path: &str) -> Option<(u16, Vec<u8>)> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).ok()?;
    let split = answer.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&answer[..split]);
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, answer[split + 4..].to_vec()))
}
