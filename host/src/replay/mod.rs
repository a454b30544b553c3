//! `switchboard workflow replay --from … --to … DIR`: the customer messages a store
//! recorded over a period, run through the scripts of DIR instead of the running ones, and
//! the routing decisions that would change, per interaction.
//!
//! Nothing live is touched: the database is opened read-only, effects are never carried
//! out, and the world each handler sees is the one recorded just before the message
//! arrived (the live interactions of its thread and customer and their agents, from the
//! event log; who last helped the customer; how many waited in a queue; the recorded time
//! for `now()` and `is_open`). So a replay is repeatable, and what differs is the
//! scripts' doing alone. Each message runs through the script its channel runs (from the
//! config with `-c`, else the one recorded with its decision). Not recorded, so not replayed: agents' availability
//! (`queue_facts(..).available` is 0) and open groups (`find_active(#{ group })` finds
//! none).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};

use crate::store::Tx;
use anyhow::Result;

use crate::model::hours::Organisation;
use crate::store::replay::{self as recorded, Among, Recorded, Then};
use crate::workflow::{Active, Effect, FindBy, QueueFacts, Subject, Workflows, World};

pub mod cli;

/// What the replay knows of a channel (from the config, when given).
#[derive(Clone, Debug)]
pub struct ChannelInfo {
    /// Platform family.
    pub platform: String,
    /// Conversation workgroup.
    pub workgroup: String,
    /// Direct-message workgroup.
    pub dm_workgroup: String,
    /// `group` default, s.
    pub grouping_timeout_s: i64,
    /// The script it runs.
    pub workflow: String,
}

/// A replay to run.
pub struct Replay<'a> {
    /// The database.
    pub db: &'a crate::store::StoreUrl,
    /// The scripts to replay through.
    pub dir: &'a Path,
    /// The period, unix ms, `[from, to)`.
    pub from: i64,
    /// End of the period.
    pub to: i64,
    /// Channels by name; a channel not here runs `default.rhai` with the workgroup its
    /// interactions were in.
    pub channels: HashMap<String, ChannelInfo>,
    /// Time zone and schedules for `is_open`.
    pub organisation: Organisation,
}

/// What a replay found.
#[derive(Debug, Default)]
pub struct Summary {
    /// Interactions (and messages that started none) replayed.
    pub replayed: usize,
    /// Those with at least one decision that differs.
    pub differ: usize,
    /// Messages recorded before decisions were kept: compared by whether they were routed.
    pub by_outcome_only: usize,
    /// The differences, then the summary line.
    pub report: String,
}

/// The recorded world, at the time of the message being replayed.
struct Recalled {
    conn: Mutex<Tx>,
    now: AtomicI64,
    organisation: Organisation,
}

impl Recalled {
    fn ask<R: Default>(&self, f: impl FnOnce(&Tx, i64) -> Result<R>) -> R {
        let conn = self.conn.lock().unwrap();
        f(&conn, self.now.load(Ordering::Relaxed)).unwrap_or_else(|e| {
            tracing::warn!(error = %format!("{e:#}"), "replay lookup failed; answering none");
            R::default()
        })
    }
}

fn active(t: Then) -> Active {
    Active {
        id: t.id,
        state: t.state,
        thread_id: t.thread_id,
        workgroup: t.workgroup,
        agent: t.agent,
        message_count: t.message_count,
        customer_id: t.customer_id,
    }
}

impl World for Recalled {
    fn find_active(&self, channel: &str, by: &FindBy) -> Option<Active> {
        let among = match by {
            FindBy::Thread(t) => Among::Thread(t),
            FindBy::Author(a) => Among::Customer(a),
            FindBy::Message(m) => Among::Message(m),
            FindBy::Group(_) => return None,
        };
        self.ask(|c, at| recorded::live_at(c, channel, among, at))
            .into_iter()
            .next()
            .map(active)
    }
    fn agent_handling(&self, channel: &str, thread: &str) -> Option<String> {
        self.ask(|c, at| recorded::live_at(c, channel, Among::Thread(thread), at))
            .into_iter()
            .find_map(|t| t.agent)
    }
    fn last_agent(&self, channel: &str, customer_id: &str) -> Option<String> {
        self.ask(|c, at| recorded::last_agent_at(c, channel, customer_id, at))
    }
    fn now(&self) -> i64 {
        self.now.load(Ordering::Relaxed)
    }
    fn queue(&self, workgroup: &str) -> QueueFacts {
        QueueFacts {
            waiting: self.ask(|c, at| recorded::waiting_at(c, workgroup, at)),
            ..QueueFacts::default()
        }
    }
    fn organisation(&self) -> &Organisation {
        &self.organisation
    }
    fn user_exists(&self, username: &str) -> Option<bool> {
        Some(self.ask(|c, _| recorded::user_exists(c, username)))
    }
}

/// What decided where a message went, as comparable text: the deciding effect (`stop`,
/// `merge_into`, `buffer`, `group`) and the route. Built from effect lines, so the
/// recorded decision and the replayed one read alike.
fn decision(lines: &[String]) -> String {
    let deciding = ["stop ", "merge_into ", "buffer ", "group "];
    let first = lines
        .iter()
        .find(|l| deciding.iter().any(|d| l.starts_with(d)));
    let route = lines.iter().find(|l| l.starts_with("route "));
    match (first, route) {
        (Some(stop), _) if stop.starts_with("stop ") => stop.clone(),
        (Some(first), Some(route)) => format!("{first}, then {route}"),
        (Some(first), None) => format!("{first}, then the channel's route"),
        (None, Some(route)) => route.clone(),
        (None, None) => "the channel's route".into(),
    }
}

/// The script a recorded `vN script on_inbound: ...` detail names.
fn recorded_script(detail: &str) -> Option<&str> {
    let (head, _) = detail.split_once(" on_inbound: ")?;
    let (_, script) = head.split_once(' ')?;
    Some(script)
}

/// The decision a recorded `vN script on_inbound: a; b` detail holds.
fn recorded_decision(detail: &str) -> String {
    let effects = detail.split_once(": ").map_or("", |(_, e)| e);
    let lines: Vec<String> = if effects == "no effect" {
        Vec::new()
    } else {
        effects.split("; ").map(str::to_owned).collect()
    };
    decision(&lines)
}

const FAILED: &str = "the workflow failed: the channel's route";

fn subject(m: &Recorded, ch: &ChannelInfo) -> Subject {
    Subject {
        channel: m.channel.clone(),
        platform: ch.platform.clone(),
        visibility: m.visibility.clone(),
        text: m.text.clone(),
        message_id: m.message_id.clone(),
        author_name: m.author_name.clone(),
        author_id: m.author_id.clone(),
        author_handle: m.author_handle.clone(),
        followers: m.followers,
        metadata: serde_json::from_str(&m.metadata).unwrap_or_default(),
        thread_id: m.thread_id.clone(),
        parent_id: m.parent_id.clone(),
        language: m.language.clone(),
        workgroup: ch.workgroup.clone(),
        dm_workgroup: ch.dm_workgroup.clone(),
        grouping_timeout_s: ch.grouping_timeout_s,
        message_count: 1,
        arrived_at: m.stored_at,
        ..Default::default()
    }
}

/// One unit of the report: an interaction, or a message that started none.
struct Unit {
    label: String,
    changes: Vec<(String, String, String)>,
}

/// Runs the replay; `progress` is told each message done.
pub fn run(replay: Replay, progress: &dyn Fn(u64, u64)) -> Result<Summary> {
    let conn = recorded::open(replay.db)?;
    let messages = recorded::messages(&conn, replay.from, replay.to)?;
    let workflows = Workflows::load(replay.dir)?;
    let world = Arc::new(Recalled {
        conn: Mutex::new(conn),
        now: AtomicI64::new(replay.from),
        organisation: replay.organisation.clone(),
    });
    let mut units: BTreeMap<String, Unit> = BTreeMap::new();
    let mut summary = Summary::default();
    let total = messages.len() as u64;
    for (n, m) in messages.iter().enumerate() {
        progress(n as u64, total);
        let ch = replay.channels.get(&m.channel).cloned().unwrap_or_else(|| {
            let workgroup = m.workgroup.clone().unwrap_or_default();
            ChannelInfo {
                platform: String::new(),
                dm_workgroup: workgroup.clone(),
                workgroup,
                grouping_timeout_s: 60,
                workflow: m
                    .decided
                    .as_deref()
                    .and_then(recorded_script)
                    .unwrap_or("default.rhai")
                    .to_owned(),
            }
        });
        world.now.store(m.stored_at, Ordering::Relaxed);
        let replayed = match workflows.on_inbound(&ch.workflow, &subject(m, &ch), world.clone()) {
            Ok(outcome) => {
                let lines: Vec<String> = outcome.effects.iter().map(Effect::to_string).collect();
                decision(&lines)
            }
            Err(_) => FAILED.into(),
        };
        let then = match (&m.decided, m.failed, m.interaction_id) {
            (_, true, _) => Some(FAILED.to_owned()),
            (Some(detail), false, _) => Some(recorded_decision(detail)),
            // Recorded before decisions were kept: only "not routed" is known.
            (None, false, None) => {
                summary.by_outcome_only += 1;
                (!replayed.starts_with("stop ")).then(|| "stop (not routed)".to_owned())
            }
            (None, false, Some(_)) => {
                summary.by_outcome_only += 1;
                None
            }
        };
        let key = match m.interaction_id {
            Some(id) => format!("{id:012}"),
            None => format!("m{}:{}", m.channel, m.message_id),
        };
        let unit = units.entry(key).or_insert_with(|| Unit {
            label: match m.interaction_id {
                Some(id) => format!("interaction {id}"),
                None => format!("message {} (not routed)", m.message_id),
            },
            changes: Vec::new(),
        });
        if let Some(then) = then
            && then != replayed
        {
            let excerpt: String = m.text.chars().take(60).collect();
            unit.changes.push((
                format!(
                    "{} on {}, {}: {excerpt:?}",
                    m.message_id,
                    m.channel,
                    replay.organisation.describe(m.stored_at)
                ),
                then,
                replayed,
            ));
        }
    }
    progress(total, total);
    summary.replayed = units.len();
    for unit in units.values().filter(|u| !u.changes.is_empty()) {
        summary.differ += 1;
        summary.report.push_str(&format!("{}\n", unit.label));
        for (what, then, now) in &unit.changes {
            summary
                .report
                .push_str(&format!("  message {what}\n  - {then}\n  + {now}\n"));
        }
    }
    if summary.by_outcome_only > 0 {
        summary.report.push_str(&format!(
            "({} message(s) were recorded before decisions were kept: compared by whether they were routed only)\n",
            summary.by_outcome_only
        ));
    }
    summary.report.push_str(&format!(
        "replayed {} interactions: {} differ\n",
        summary.replayed, summary.differ
    ));
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_and_replayed_decisions_read_alike() {
        let lines = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            recorded_decision("v3 on_inbound: set_attr k=\"v\"; route workgroup=Social priority=0"),
            decision(&lines(&[
                "set_attr k=\"v\"",
                "route workgroup=Social priority=0"
            ]))
        );
        assert_eq!(
            recorded_decision(
                "v1 on_inbound: buffer until_free_agent_of=p1 recheck_ms=5000; route workgroup=Social priority=0"
            ),
            "buffer until_free_agent_of=p1 recheck_ms=5000, then route workgroup=Social priority=0"
        );
        assert_eq!(
            recorded_decision("v2 on_inbound: route workgroup=Social priority=0; stop \"spam\""),
            "stop \"spam\""
        );
        assert_eq!(
            recorded_decision("v2 on_inbound: no effect"),
            "the channel's route"
        );
        assert_eq!(
            recorded_script("v2 facebook_bp.rhai on_inbound: no effect"),
            Some("facebook_bp.rhai")
        );
    }
}
