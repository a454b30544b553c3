//! `switchboard bench workflow`: what a workflow decision costs.
//!
//! Each shipped sample process decides on a representative message many times (lookups
//! answered in memory, so the figure is the script's own cost, not the database's); the
//! Facebook BP's inbound logic also runs written directly in Rust, for the ratio. Then the
//! time from saving a changed script to the first event it handles, through the real
//! file watcher.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use switchboard::model::interaction::MediaType;
use switchboard::model::route::RouteRequest;
use switchboard::workflow::classify::Rules;
use switchboard::workflow::world::Empty;
use switchboard::workflow::{Effect, FindBy, Subject, Workflows, World};

/// Median and 99th percentile of one case.
#[derive(Debug, Clone)]
pub struct Cost {
    /// What was measured.
    pub name: String,
    /// Median per event.
    pub median: Duration,
    /// 99th percentile per event.
    pub p99: Duration,
}

/// Figures of one run.
#[derive(Debug)]
pub struct WorkflowReport {
    /// Events per case.
    pub iterations: usize,
    /// Each sample process's `on_inbound`.
    pub scripts: Vec<Cost>,
    /// The Facebook BP inbound logic in Rust.
    pub native: Cost,
    /// Save-to-first-event latencies of the reloads, sorted.
    pub reloads: Vec<Duration>,
}

impl std::fmt::Display for WorkflowReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "workflow decision cost, {} events per case (lookups in memory)",
            self.iterations
        )?;
        writeln!(f, "{:<34} {:>10} {:>10}", "case", "median", "p99")?;
        for c in self.scripts.iter().chain(std::iter::once(&self.native)) {
            writeln!(
                f,
                "{:<34} {:>8.1}µs {:>8.1}µs",
                c.name,
                us(c.median),
                us(c.p99)
            )?;
        }
        if let Some(bp) = self
            .scripts
            .iter()
            .find(|c| c.name.starts_with("facebook_bp"))
        {
            writeln!(
                f,
                "facebook_bp.rhai / native Rust: {:.1}x at the median, {:.1}x at p99",
                us(bp.median) / us(self.native.median).max(0.001),
                us(bp.p99) / us(self.native.p99).max(0.001)
            )?;
        }
        if !self.reloads.is_empty() {
            let mid = self.reloads[self.reloads.len() / 2];
            let max = self.reloads[self.reloads.len() - 1];
            writeln!(
                f,
                "save to first event on the new version ({} reloads): median {:.0} ms, max {:.0} ms",
                self.reloads.len(),
                mid.as_secs_f64() * 1e3,
                max.as_secs_f64() * 1e3
            )?;
        }
        Ok(())
    }
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn cost(name: &str, mut samples: Vec<Duration>) -> Cost {
    samples.sort_unstable();
    Cost {
        name: name.into(),
        median: samples[samples.len() / 2],
        p99: samples[samples.len() * 99 / 100],
    }
}

/// A Facebook comment from an unhappy customer who wants an answer.
fn comment() -> Subject {
    Subject {
        channel: "facebook".into(),
        platform: "facebook".into(),
        visibility: "public".into(),
        text: "My order arrived broken and nobody answers. Terrible, I want a refund!".into(),
        message_id: "1001_1_c1".into(),
        author_name: "Ann Lee".into(),
        author_id: "ann".into(),
        thread_id: "1001_1".into(),
        parent_id: Some("1001_1".into()),
        workgroup: "Social".into(),
        dm_workgroup: "Messages".into(),
        grouping_timeout_s: 60,
        message_count: 1,
        ..Default::default()
    }
}

fn tweet() -> Subject {
    Subject {
        channel: "x".into(),
        platform: "x".into(),
        author_handle: Some("@ann".into()),
        followers: Some(12_000),
        parent_id: None,
        ..comment()
    }
}

fn direct_message() -> Subject {
    Subject {
        channel: "whatsapp".into(),
        platform: "whatsapp".into(),
        visibility: "private".into(),
        parent_id: None,
        ..comment()
    }
}

/// The Facebook BP inbound logic (workflows/facebook_bp.rhai) written in Rust.
pub fn native_facebook_bp(ix: &Subject, world: &dyn World, rules: &Rules) -> Vec<Effect> {
    let mut out = Vec::new();
    let media = ix.media_type();
    if media == "social_conversation" {
        let meta = |k: &str| ix.metadata.get(k).map(String::as_str);
        if meta("post_type") == Some("question") {
            out.push(Effect::Stop {
                reason: "question post".into(),
            });
            return out;
        }
        if meta("comment_only") == Some("true") {
            out.push(Effect::Stop {
                reason: "parked: comment-only".into(),
            });
            return out;
        }
        let live = world.find_active(&ix.channel, &FindBy::Thread(ix.thread_id.clone()));
        if let Some(live) = live
            && (live.state == "queued"
                || live.state == "buffered"
                || live.customer_id == ix.author_id)
        {
            out.push(Effect::MergeInto {
                interaction: live.id,
            });
            return out;
        }
        if world.agent_handling(&ix.channel, &ix.thread_id).is_some() {
            out.push(Effect::Buffer {
                thread: ix.thread_id.clone(),
                recheck_ms: 5000,
                max_wait_ms: Some(60_000),
            });
        }
    } else if media != "social_direct_message" {
        out.push(Effect::Stop {
            reason: "not social work".into(),
        });
        return out;
    }
    let c = rules.classify(&ix.text, ix.language.as_deref());
    let attr = |k: &str, v: String| Effect::SetAttr {
        key: k.into(),
        value: v,
    };
    out.push(attr("sentiment", c.sentiment.into()));
    out.push(attr("sentiment_score", c.score.to_string()));
    out.push(attr("actionable", c.actionable.to_string()));
    out.push(attr("language", c.language.clone()));
    let urgent = c.sentiment == "negative" && c.actionable;
    out.push(Effect::DesktopFlags {
        sentiment: c.sentiment.into(),
        actionable: c.actionable,
        expand: urgent,
    });
    let (workgroup, media_type) = if media == "social_direct_message" {
        (ix.dm_workgroup.clone(), MediaType::SocialDirectMessage)
    } else {
        (ix.workgroup.clone(), MediaType::SocialConversation)
    };
    let skills = match c.language.as_str() {
        "en" => Some("english"),
        "fr" => Some("french"),
        "es" => Some("spanish"),
        _ => None,
    };
    out.push(Effect::Route(RouteRequest {
        workgroup,
        priority: if urgent { 10 } else { 0 },
        media_type,
        skills: skills.map(Into::into),
        preferred_agent: None,
        wait_ms: switchboard::model::effect::DEFAULT_WAIT_MS,
    }));
    out
}

fn time(iterations: usize, mut f: impl FnMut()) -> Vec<Duration> {
    for _ in 0..iterations / 10 {
        f(); // warm up
    }
    (0..iterations)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect()
}

/// Runs the benchmark on the workflows in `dir`.
pub fn run(iterations: usize, reloads: usize, dir: &Path) -> Result<WorkflowReport> {
    let wf = Workflows::load(dir).with_context(|| format!("loading {}", dir.display()))?;
    let world: Arc<dyn World> = Arc::new(Empty);
    let cases = [
        ("facebook_bp.rhai", comment()),
        ("facebook_simplified.rhai", comment()),
        ("facebook_single_comment.rhai", comment()),
        ("twitter_bp.rhai", tweet()),
        ("twitter_threaded.rhai", tweet()),
        ("direct_messages.rhai", direct_message()),
        ("default.rhai", comment()),
    ];
    let mut scripts = Vec::new();
    for (script, subject) in cases {
        if !wf.current().script_names().iter().any(|s| s == script) {
            continue;
        }
        let samples = time(iterations, || {
            let out = wf
                .on_inbound(script, &subject, world.clone())
                .expect("script runs");
            std::hint::black_box(out);
        });
        scripts.push(cost(script, samples));
    }
    let rules = Rules::load(dir)?;
    let subject = comment();
    let native = cost(
        "facebook_bp in Rust",
        time(iterations, || {
            std::hint::black_box(native_facebook_bp(&subject, &Empty, &rules));
        }),
    );
    Ok(WorkflowReport {
        iterations,
        scripts,
        native,
        reloads: reload_latency(dir, reloads)?,
    })
}

/// Copies the folder, watches it like the host does, and times each save until an event
/// (one every 0.2 ms) is first decided by the new version.
fn reload_latency(dir: &Path, count: usize) -> Result<Vec<Duration>> {
    let tmp = std::env::temp_dir().join(format!("switchboard-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp)?;
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_file() {
            std::fs::copy(&path, tmp.join(path.file_name().unwrap()))?;
        }
    }
    let result = time_reloads(&tmp, count);
    let _ = std::fs::remove_dir_all(&tmp);
    result
}

fn time_reloads(tmp: &Path, count: usize) -> Result<Vec<Duration>> {
    let wf = Workflows::load(tmp)?;
    let _watch = switchboard::workflow::watch(wf.clone())?;
    let script: PathBuf = tmp.join("bench_reload.rhai");
    let world: Arc<dyn World> = Arc::new(Empty);
    let subject = comment();
    let mut latencies = Vec::new();
    for n in 1..=count {
        std::fs::write(
            &script,
            format!(
                "fn on_inbound(ix) {{ route(ix, #{{ workgroup: \"Social\", priority: {n} }}); }}"
            ),
        )?;
        let saved = Instant::now();
        loop {
            let handled = wf
                .on_inbound("bench_reload.rhai", &subject, world.clone())
                .ok()
                .and_then(|o| match o.effects.first() {
                    Some(Effect::Route(r)) => Some(r.priority),
                    _ => None,
                });
            if handled == Some(n as i64) {
                latencies.push(saved.elapsed());
                break;
            }
            anyhow::ensure!(
                saved.elapsed() < Duration::from_secs(10),
                "reload {n} never applied"
            );
            std::thread::sleep(Duration::from_micros(200));
        }
        // Let the watcher's debounce settle so saves do not merge.
        std::thread::sleep(Duration::from_millis(50));
    }
    latencies.sort_unstable();
    Ok(latencies)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_facebook_bp_decides_like_the_script() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../workflows");
        let wf = Workflows::load(&dir).unwrap();
        let rules = Rules::load(&dir).unwrap();
        for subject in [comment(), direct_message()] {
            let script = wf
                .on_inbound("facebook_bp.rhai", &subject, Arc::new(Empty))
                .unwrap()
                .effects;
            assert_eq!(
                script,
                native_facebook_bp(&subject, &Empty, &rules),
                "{subject:?}"
            );
        }
    }
}
