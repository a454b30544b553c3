//! Structured fuzzing of the connector plugins' parsers, as native unit tests (dev-only).
//!
//! A plugin's test calls [`fuzz`] with a name, a [`Corpus`] of real-shaped payloads (the
//! fixtures its other tests use) and a target: a closure that feeds one mutated payload
//! to the connector's real entry point (`handle_webhook` with a valid signature computed
//! over the mutated bytes, `poll` with the payload as the mock host's HTTP answer, ...)
//! and checks what came back, returning an outcome label or a broken property.
//!
//! The contract:
//! - Deterministic: case `i` of parser `name` is a pure function of the base seed, the
//!   name and `i`; its payload a pure function of its case seed and the corpus
//!   ([`mutate`](mutate::mutate) says which mutations). CI always runs the same cases.
//! - No panic, no broken property: the first one fails the test with the case seed, the
//!   corpus entry, a preview of the payload and the file holding all of it, and the
//!   command that replays that one case.
//! - No hang: a case running longer than the case timeout (2 s) fails the test the same
//!   way. It is a liveness guard, not a performance check: a debug build parses a
//!   megabyte in milliseconds.
//! - Bounded stack: cases run on one worker thread with a 1 MiB stack, the wasm32
//!   target's default stack for the plugin itself, so deep nesting that needs more stack
//!   than a plugin has shows up here (as an abort naming the thread; rerun with
//!   `SWITCHBOARD_FUZZ_TRACE=1` to see the last case seed).
//!
//! Environment (read by every fuzz test):
//! - `SWITCHBOARD_FUZZ_CASES`: cases per parser, default [`DEFAULT_CASES`] (CI's count).
//! - `SWITCHBOARD_FUZZ_SEED`: the base seed (decimal or `0x` hex), default [`DEFAULT_SEED`].
//! - `SWITCHBOARD_FUZZ_REPLAY`: a case seed from a failure: runs only that case.
//! - `SWITCHBOARD_FUZZ_CASE_TIMEOUT_MS`: the hang guard, default 2000.
//! - `SWITCHBOARD_FUZZ_TRACE=1`: prints each case seed before running it.
//! - `SWITCHBOARD_FUZZ_PROGRESS=1`: a progress bar per parser on stderr (with the
//!   `progress` feature, which `cargo xtask fuzz` turns on when its stdout is a terminal).
//!
//! `cargo xtask fuzz [--cases N] [--seed S] [PLUGIN]` runs millions locally (in an
//! optimised build that keeps overflow checks).

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

mod checks;
mod mutate;
mod progress;

pub use checks::{acknowledged, check_events, is_json, is_object, logged_at_least};

/// Cases per parser when `SWITCHBOARD_FUZZ_CASES` is not set (what CI runs).
pub const DEFAULT_CASES: u64 = 10_000;
/// The base seed when `SWITCHBOARD_FUZZ_SEED` is not set.
pub const DEFAULT_SEED: u64 = 0x5b_f022_2026;
/// The worker's stack: the wasm32 target's default stack size.
const STACK_BYTES: usize = 1 << 20;

/// Real-shaped payloads to mutate, each with a label (`feed comment`, `search page`)
/// that a target may use to route it (which endpoint answers it, say).
#[derive(Clone, Default)]
pub struct Corpus {
    entries: Vec<(String, Vec<u8>)>,
}

impl Corpus {
    /// An empty corpus.
    pub fn new() -> Corpus {
        Corpus::default()
    }

    /// Adds a payload as raw bytes.
    pub fn bytes(mut self, label: &str, payload: impl Into<Vec<u8>>) -> Corpus {
        self.entries.push((label.to_string(), payload.into()));
        self
    }

    /// Adds a JSON payload.
    pub fn json(self, label: &str, payload: &serde_json::Value) -> Corpus {
        let bytes = serde_json::to_vec(payload).unwrap_or_default();
        self.bytes(label, bytes)
    }

    fn pick(&self, rng: &mut Xoshiro256PlusPlus) -> &(String, Vec<u8>) {
        &self.entries[rng.random_range(0..self.entries.len())]
    }
}

/// One generated input.
pub struct Case {
    /// Replays this case (`SWITCHBOARD_FUZZ_REPLAY`).
    pub seed: u64,
    /// The corpus entry it was made from.
    pub label: String,
    /// The mutated payload.
    pub bytes: Vec<u8>,
    rng: Xoshiro256PlusPlus,
}

impl Case {
    fn new(corpus: &Corpus, seed: u64) -> Case {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let (label, payload) = corpus.pick(&mut rng);
        let bytes = mutate::mutate(payload, &mut rng);
        Case {
            seed,
            label: label.clone(),
            bytes,
            rng,
        }
    }

    /// True with probability `1 / n`, decided by the case seed (for the target's own
    /// choices: a wrong signature, an HTTP status, a cursor).
    pub fn one_in(&mut self, n: u32) -> bool {
        self.rng.random_ratio(1, n.max(1))
    }

    /// One of `options`, decided by the case seed.
    pub fn pick<'a, T>(&mut self, options: &'a [T]) -> &'a T {
        &options[self.rng.random_range(0..options.len())]
    }

    /// The payload as text (invalid UTF-8 replaced), for entry points that take a string.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// How a run went: the cases run and how many ended with each outcome label.
#[derive(Debug)]
pub struct Report {
    /// Cases run.
    pub cases: u64,
    /// Outcome label -> count.
    pub outcomes: BTreeMap<&'static str, u64>,
    /// Only one case was replayed (`SWITCHBOARD_FUZZ_REPLAY`).
    pub replay: bool,
}

impl Report {
    /// How many cases ended with `label`.
    pub fn count(&self, label: &str) -> u64 {
        self.outcomes.get(label).copied().unwrap_or(0)
    }

    /// Whether more than `share` (0 to 1) of the cases ended with `label`: that the
    /// mutations still reach the path it names. Always true for a replay.
    pub fn reached(&self, label: &str, share: f64) -> bool {
        self.replay || self.count(label) as f64 > share * self.cases as f64
    }
}

/// A target's answer for one case: an outcome label, or the broken property.
pub type Verdict = Result<&'static str, String>;

struct Settings {
    cases: u64,
    seed: u64,
    replay: Option<u64>,
    timeout: Duration,
    trace: bool,
    progress: bool,
}

fn env_u64(name: &str) -> Option<u64> {
    let raw = std::env::var(name).ok()?;
    let raw = raw.trim().replace('_', "");
    let parsed = match raw.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => raw.parse(),
    };
    match parsed {
        Ok(n) => Some(n),
        Err(_) => panic!("{name}={raw:?} is not a number"),
    }
}

impl Settings {
    fn from_env() -> Settings {
        let flag = |name| std::env::var(name).is_ok_and(|v| v == "1" || v == "true");
        Settings {
            cases: env_u64("SWITCHBOARD_FUZZ_CASES").unwrap_or(DEFAULT_CASES),
            seed: env_u64("SWITCHBOARD_FUZZ_SEED").unwrap_or(DEFAULT_SEED),
            replay: env_u64("SWITCHBOARD_FUZZ_REPLAY"),
            timeout: Duration::from_millis(
                env_u64("SWITCHBOARD_FUZZ_CASE_TIMEOUT_MS").unwrap_or(2_000),
            ),
            trace: flag("SWITCHBOARD_FUZZ_TRACE"),
            progress: flag("SWITCHBOARD_FUZZ_PROGRESS"),
        }
    }
}

/// SplitMix64: spreads a counter into well-mixed seeds.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn case_seed(base: u64, name: &str, i: u64) -> u64 {
    let name_hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    mix(base ^ name_hash ^ mix(i))
}

/// What the worker publishes for the hang guard.
struct Running {
    /// The case seed running now, valid while `since_ms` is not zero.
    seed: AtomicU64,
    /// When it started, in ms after the run started, plus one; 0 between cases.
    since_ms: AtomicU64,
    done: AtomicU64,
}

struct Failure {
    seed: u64,
    why: String,
}

/// Runs `target` on the cases of parser `name` (see the crate documentation) and returns
/// what happened; panics, naming the case, at the first panic, broken property or hang.
pub fn fuzz<F>(name: &str, corpus: Corpus, target: F) -> Report
where
    F: FnMut(&mut Case) -> Verdict + Send + 'static,
{
    run(name, corpus, Settings::from_env(), target)
}

fn run<F>(name: &str, corpus: Corpus, settings: Settings, target: F) -> Report
where
    F: FnMut(&mut Case) -> Verdict + Send + 'static,
{
    assert!(!corpus.entries.is_empty(), "fuzz {name}: empty corpus");
    let seeds: Vec<u64> = match settings.replay {
        Some(seed) => vec![seed],
        None => (0..settings.cases)
            .map(|i| case_seed(settings.seed, name, i))
            .collect(),
    };
    let total = seeds.len() as u64;
    let running = Arc::new(Running {
        seed: AtomicU64::new(0),
        since_ms: AtomicU64::new(0),
        done: AtomicU64::new(0),
    });
    let started = Instant::now();
    let worker = {
        let (running, corpus, name) = (running.clone(), corpus.clone(), name.to_string());
        let trace = settings.trace || settings.replay.is_some();
        thread::Builder::new()
            .name(format!("fuzz {name}"))
            .stack_size(STACK_BYTES)
            .spawn(move || work(&name, &corpus, &seeds, target, &running, started, trace))
            .expect("spawn the fuzz worker")
    };
    let bar = progress::Bar::new(name, total, settings.progress);
    loop {
        if worker.is_finished() {
            break;
        }
        thread::sleep(Duration::from_millis(20));
        bar.set(running.done.load(Ordering::Relaxed));
        let since = running.since_ms.load(Ordering::Acquire);
        if since == 0 {
            continue;
        }
        let elapsed = (started.elapsed().as_millis() as u64 + 1).saturating_sub(since);
        if elapsed > settings.timeout.as_millis() as u64 {
            let seed = running.seed.load(Ordering::Acquire);
            // The stuck case stays stuck on its thread; the test fails here.
            bar.finish();
            fail(
                name,
                &corpus,
                Failure {
                    seed,
                    why: format!("a case ran longer than {elapsed} ms (hang guard)"),
                },
            );
        }
    }
    bar.finish();
    match worker.join() {
        Ok(Ok(outcomes)) => {
            let report = Report {
                cases: total,
                outcomes,
                replay: settings.replay.is_some(),
            };
            println!(
                "fuzz {name}: {total} cases in {:.1} s (base seed {:#x}): {:?}",
                started.elapsed().as_secs_f64(),
                settings.seed,
                report.outcomes
            );
            report
        }
        Ok(Err(failure)) => fail(name, &corpus, failure),
        Err(_) => panic!("fuzz {name}: the worker died"),
    }
}

fn work<F>(
    name: &str,
    corpus: &Corpus,
    seeds: &[u64],
    mut target: F,
    running: &Running,
    started: Instant,
    trace: bool,
) -> Result<BTreeMap<&'static str, u64>, Failure>
where
    F: FnMut(&mut Case) -> Verdict,
{
    let mut outcomes = BTreeMap::new();
    for &seed in seeds {
        if trace {
            eprintln!("fuzz {name}: case {seed:#x}");
        }
        let mut case = Case::new(corpus, seed);
        running.seed.store(seed, Ordering::Release);
        running
            .since_ms
            .store(started.elapsed().as_millis() as u64 + 1, Ordering::Release);
        let verdict = catch_unwind(AssertUnwindSafe(|| target(&mut case)));
        running.since_ms.store(0, Ordering::Release);
        running.done.fetch_add(1, Ordering::Relaxed);
        match verdict {
            Ok(Ok(label)) => *outcomes.entry(label).or_insert(0) += 1,
            Ok(Err(why)) => return Err(Failure { seed, why }),
            Err(panic) => {
                let why = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "a panic".into());
                return Err(Failure {
                    seed,
                    why: format!("panicked: {why}"),
                });
            }
        }
    }
    Ok(outcomes)
}

/// Fails the test with everything needed to replay the case.
fn fail(name: &str, corpus: &Corpus, failure: Failure) -> ! {
    let case = Case::new(corpus, failure.seed);
    let file = save(name, &case);
    let preview: String = case.text().chars().take(600).collect();
    let package = std::env::var("CARGO_PKG_NAME").unwrap_or_else(|_| "<plugin>".into());
    panic!(
        "fuzz {name}: case {seed:#x} (from corpus entry `{label}`, {len} bytes): {why}\n\
         payload (first 600 characters, lossy): {preview:?}\n\
         payload saved to {file}\n\
         replay: SWITCHBOARD_FUZZ_REPLAY={seed:#x} cargo test -p {package} {name}",
        seed = failure.seed,
        label = case.label,
        len = case.bytes.len(),
        why = failure.why,
        file = file.map_or_else(|e| format!("(not saved: {e})"), |p| p.display().to_string()),
    )
}

fn save(name: &str, case: &Case) -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join("switchboard-fuzz");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!(
        "{}-{:#x}.bin",
        name.replace(['/', ' '], "_"),
        case.seed
    ));
    std::fs::write(&path, &case.bytes)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus() -> Corpus {
        Corpus::new().json("one", &serde_json::json!({"a": [1, "b", {"c": null}]}))
    }

    #[test]
    fn case_seeds_differ_per_parser_and_index() {
        let a: Vec<u64> = (0..100).map(|i| case_seed(1, "x_webhook", i)).collect();
        let b: Vec<u64> = (0..100).map(|i| case_seed(1, "x_poll", i)).collect();
        assert!(a.iter().all(|s| !b.contains(s)));
        let distinct: std::collections::HashSet<_> = a.iter().collect();
        assert_eq!(distinct.len(), 100);
    }

    #[test]
    fn a_case_is_rebuilt_from_its_seed() {
        let c = corpus();
        let (a, b) = (Case::new(&c, 42), Case::new(&c, 42));
        assert_eq!((a.bytes, a.label), (b.bytes, b.label));
    }

    #[test]
    fn outcomes_are_counted() {
        let report = fuzz("kit-count", corpus(), |case| {
            Ok(if is_json(&case.bytes) {
                "json"
            } else {
                "not json"
            })
        });
        assert_eq!(
            report.count("json") + report.count("not json"),
            report.cases
        );
        assert!(report.count("json") > 0 && report.count("not json") > 0);
    }

    #[test]
    #[should_panic(expected = "replay: SWITCHBOARD_FUZZ_REPLAY=")]
    fn a_panic_names_the_case() {
        fuzz("kit-panic", corpus(), |case| {
            if case.bytes.len() > 5 {
                panic!("too long");
            }
            Ok("short")
        });
    }

    #[test]
    #[should_panic(expected = "hang guard")]
    fn a_hang_names_the_case() {
        let settings = Settings {
            timeout: Duration::from_millis(100),
            ..Settings::from_env()
        };
        run("kit-hang", corpus(), settings, |_| {
            thread::sleep(Duration::from_secs(2));
            Ok("slept")
        });
    }

    #[test]
    #[should_panic(expected = "broken: ")]
    fn a_broken_property_names_the_case() {
        fuzz("kit-property", corpus(), |case| {
            Err(format!("broken: {} bytes", case.bytes.len()))
        });
    }
}
