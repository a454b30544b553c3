//! Ingestion: platform events in, stored once, routed once.
//!
//! Webhooks ([`webhook`]) and pollers ([`poller`]) both end in [`Pipeline::accept`]:
//! the workflow decides where each new message goes, then one transaction stores the
//! messages (a repeated platform id is a no-op), joins each to the live interaction of
//! its thread or creates a queued interaction, and, for polls, advances the cursor. Only
//! after that commit does the platform get its 200 or the poller move on, so a crash at
//! any point either loses nothing or repeats work the store then recognises.
//!
//! Routing what was created is a durable job recorded in that same transaction
//! (`interactions::jobs`): a platform that hangs up while the commit is slow, or a crash
//! right after it, still leaves every stored interaction routed. The rest of the
//! follow-up (sends the workflow queued, live notices, abandoning emptied interactions)
//! runs in its own task, whatever becomes of the request that brought the batch.

pub(crate) mod held;
pub mod poller;
pub mod stream;
pub mod webhook;

use anyhow::Result;

use crate::channels::ChannelRuntime;
use crate::clock::now_ms;
use crate::interactions::Core;
use crate::model::event::{self, Event};
use crate::model::interaction::{MediaType, Visibility};
use crate::model::plan::{Disposition, Plan};
use crate::model::route::RouteRequest;
use crate::store::jobs::{self, JobKind};
use crate::store::queries;
use crate::workflow::Subject;

/// What the workflow decided for each event of a batch (`None`: not a customer message).
pub struct Decided {
    events: Vec<Event>,
    plans: Vec<Option<Plan>>,
    version: i64,
    /// The channel holds what arrives (it is paused): no workflow ran, the batch is held.
    held: bool,
    /// A resume's batch: the held event each event was (`held::drain`); empty otherwise.
    drain: Vec<i64>,
}

impl Decided {
    /// Drops what identifies a person beyond the platform id replies need: the workflow
    /// has decided; the store never sees names, handles, follower counts, metadata or the
    /// details of contact cards. (What the customer sent, text and files, is the message
    /// itself and is kept, under the channel's retention.)
    fn forget_personal_data(&mut self) {
        for event in &mut self.events {
            if let Event::Message(m) = event {
                m.author_name = "(not stored)".into();
                m.author_handle = None;
                m.followers = None;
                m.metadata.clear();
                // A contact card names other people: kept as "a contact card", no details.
                for a in &mut m.attachments {
                    if a.kind == "contact" {
                        a.details.clear();
                        a.caption = None;
                    }
                }
            }
        }
    }
}

/// Links a new interaction to its customer's contact (made at the first interaction); a
/// channel without personal data keys it by a hash of the customer id alone.
fn attach_contact(
    conn: &crate::store::Tx,
    id: i64,
    channel: &str,
    m: &event::InboundMessage,
    private: bool,
    now: i64,
) -> Result<()> {
    crate::store::contacts::attach(
        conn,
        id,
        channel,
        &m.author_id,
        &m.author_name,
        m.author_handle.as_deref(),
        private,
        now,
    )?;
    Ok(())
}

/// Counts of what one batch did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// New interactions queued.
    pub created: usize,
    /// Messages added to live interactions.
    pub joined: usize,
    /// Messages seen before.
    pub duplicates: usize,
    /// Messages held for a paused channel (`held`), to be routed at its resume.
    pub held: usize,
    /// Held events a resume's batch took (and stored as above).
    pub drained: usize,
    /// Messages stored without routing.
    pub kept: usize,
    /// New interactions the workflow holds (`buffer`, `group`).
    pub buffered: usize,
    /// Edits, removals and delivery receipts applied.
    pub updates: usize,
}

/// The shared ingest path.
pub struct Pipeline;

impl Pipeline {
    /// Runs the channel's workflow for each new customer message. Runs on a blocking
    /// thread (scripts are CPU work). A script error never drops a message: it takes the
    /// channel's fallback route, and the error is logged with `file:line:col`.
    ///
    /// A paused channel (or one whose resume is still routing what it held) runs no
    /// workflow: its batch is held as it came (`held`).
    pub fn decide(core: &Core, channel: &ChannelRuntime, events: Vec<Event>) -> Decided {
        if core.channels.holding(&channel.config.name) {
            return Decided {
                plans: events.iter().map(|_| None).collect(),
                events,
                version: core.workflows.current().number,
                held: true,
                drain: Vec::new(),
            };
        }
        Self::decide_now(core, channel, events)
    }

    /// Runs the workflow for each new customer message, paused or not.
    fn decide_now(core: &Core, channel: &ChannelRuntime, events: Vec<Event>) -> Decided {
        let version = core.workflows.current().number;
        let plans = events
            .iter()
            .map(|event| match event {
                Event::Message(m) if !m.from_business => Some(plan_for(core, channel, m)),
                _ => None,
            })
            .collect();
        Decided {
            events,
            plans,
            version,
            held: false,
            drain: Vec::new(),
        }
    }

    /// Stores a decided batch in one transaction (with the new polling cursor, if any),
    /// then hands new interactions to routing.
    ///
    /// While the channel holds what arrives (checked in that transaction: the store is
    /// the truth, whatever `decide` saw), new messages and edits are held instead, in
    /// arrival order and each message once (`held`); deletions, erasures and delivery
    /// receipts still apply at once. A resume's batch (`drain`) first takes its held
    /// events in the same transaction, so each is stored exactly once.
    pub async fn accept(
        core: &Core,
        channel: &str,
        decided: Decided,
        cursor: Option<String>,
    ) -> Result<Report> {
        let channel_name = channel.to_owned();
        let mut decided = decided;
        let private = core
            .channels
            .get(channel)
            .is_some_and(|c| c.config.do_not_store_personal_data);
        if private {
            decided.forget_personal_data();
        }
        let (report, created, touched, emptied, outbox) = core
            .store
            .write(move |conn| {
                let now = now_ms();
                let mut report = Report::default();
                let mut created = Vec::new();
                let mut touched = Vec::new();
                let mut emptied = Vec::new();
                let mut outbox = Vec::new();
                let (hold, skip) = held::before_storing(conn, &channel_name, &decided)?;
                report.drained = skip.iter().filter(|s| !**s).count();
                for (n, (event, plan)) in decided.events.iter().zip(&decided.plans).enumerate() {
                    if skip.get(n).copied().unwrap_or(false)
                        || (hold && held::hold(conn, &channel_name, event, now, &mut report)?)
                    {
                        continue;
                    }
                    match event {
                        Event::Message(m) => {
                            use crate::interactions::effects::Stored;
                            match crate::interactions::effects::store_inbound(
                                conn,
                                &channel_name,
                                m,
                                plan.as_ref(),
                                decided.version,
                                now,
                                &mut outbox,
                            )? {
                                Stored::Duplicate => report.duplicates += 1,
                                Stored::Kept => report.kept += 1,
                                Stored::Buffered(id) => {
                                    report.buffered += 1;
                                    attach_contact(conn, id, &channel_name, m, private, now)?;
                                }
                                Stored::Joined(id) => {
                                    report.joined += 1;
                                    touched.push(id);
                                }
                                Stored::Created(ix) => {
                                    report.created += 1;
                                    attach_contact(conn, ix.id, &channel_name, m, private, now)?;
                                    jobs::enqueue(conn, JobKind::Route, ix.id, now)?;
                                    created.push(ix.id);
                                }
                            }
                        }
                        Event::Edited {
                            platform_message_id,
                            text,
                        } => {
                            report.updates += 1;
                            touched.extend(queries::edit_message(
                                conn,
                                &channel_name,
                                platform_message_id,
                                text,
                            )?);
                        }
                        Event::Deleted {
                            platform_message_id,
                        } => {
                            report.updates += 1;
                            let ix =
                                queries::erase_message(conn, &channel_name, platform_message_id)?;
                            if let Some(id) = ix {
                                if queries::all_inbound_deleted(conn, id)? {
                                    emptied.push(id);
                                }
                                touched.push(id);
                            }
                        }
                        Event::AuthorErased { author_id } => {
                            report.updates += 1;
                            let n = crate::store::retention::erase_author(
                                conn,
                                &channel_name,
                                author_id,
                                now,
                            )?;
                            tracing::info!(
                                channel = %channel_name,
                                messages = n,
                                "the platform says an author deleted their account; erased what they wrote"
                            );
                        }
                        Event::Delivery {
                            platform_message_id,
                            state,
                            error,
                        } => {
                            report.updates += 1;
                            let ours = crate::store::outbox::record_delivery(
                                conn,
                                &channel_name,
                                platform_message_id,
                                state,
                                error.as_deref(),
                                now,
                            )?;
                            touched.extend(ours);
                        }
                    }
                }
                if let Some(cursor) = &cursor {
                    queries::save_cursor(conn, &channel_name, cursor, now)?;
                }
                Ok((report, created, touched, emptied, outbox))
            })
            .await?;
        // Counted once committed: a batch the store refused is delivered again, and then
        // counted. A duplicate is a platform's redelivery the store recognised. What a
        // resume routes was counted when it was held.
        let stored = report.created + report.joined + report.kept + report.buffered;
        if report.drained == 0 {
            crate::metrics::ingested(channel, stored + report.held, report.duplicates);
        }
        if stored > 0 {
            // Files of what was stored are waiting to be downloaded.
            core.media.kick();
        }
        // A joined message may have left a `requeue` job (a raised priority).
        if !created.is_empty() || !touched.is_empty() {
            core.interactions.kick_jobs();
        }
        let core = core.clone();
        tokio::spawn(async move {
            core.sends.start(outbox);
            for id in touched {
                core.interactions.notify_changed(id).await;
            }
            // Everything the customer wrote is gone: if nobody picked it up yet, it is
            // abandoned (the service level counts it apart).
            for id in emptied {
                if let Err(e) = core.interactions.abandon(id).await {
                    tracing::error!(interaction = id, error = %e, "abandon failed");
                }
            }
        });
        Ok(report)
    }
}

/// The channel's own route for a message: its workgroup by media type, priority 0.
fn channel_route(channel: &ChannelRuntime, m: &event::InboundMessage) -> RouteRequest {
    let cfg = &channel.config;
    let (media_type, workgroup) = match m.visibility {
        Visibility::Private => (
            MediaType::SocialDirectMessage,
            cfg.dm_workgroup().to_owned(),
        ),
        Visibility::Public => (MediaType::SocialConversation, cfg.workgroup.clone()),
    };
    RouteRequest {
        workgroup,
        priority: 0,
        media_type,
        skills: None,
        preferred_agent: None,
        wait_ms: 0,
    }
}

/// Runs `on_inbound` for one customer message and reduces its effects to a plan. A
/// failing script never drops the message: it takes the channel's route.
fn plan_for(core: &Core, channel: &ChannelRuntime, m: &event::InboundMessage) -> Plan {
    let cfg = &channel.config;
    let subject = Subject {
        channel: cfg.name.clone(),
        platform: channel.connector.platform().to_owned(),
        visibility: m.visibility.as_str().into(),
        text: m.text.clone(),
        message_id: m.platform_message_id.clone(),
        author_name: m.author_name.clone(),
        author_id: m.author_id.clone(),
        author_handle: m.author_handle.clone(),
        followers: m.followers,
        metadata: m.metadata.clone(),
        thread_id: m.thread_id.clone(),
        parent_id: m.parent_id.clone(),
        language: m.language.clone(),
        workgroup: cfg.workgroup.clone(),
        dm_workgroup: cfg.dm_workgroup().to_owned(),
        grouping_timeout_s: cfg.grouping_timeout_s.into(),
        message_count: 1,
        arrived_at: core.world.now(),
        ..Default::default()
    };
    let fallback = channel_route(channel, m);
    match core
        .workflows
        .on_inbound(&cfg.workflow, &subject, core.world.clone())
    {
        Ok(outcome) => {
            if outcome.effects.is_empty() {
                tracing::warn!(channel = %cfg.name, script = %cfg.workflow,
                    "workflow queued no effect; using the channel's route");
            }
            let handler = format!("{} on_inbound", cfg.workflow);
            let decided =
                crate::model::effect::decision(outcome.version, &handler, &outcome.effects);
            let mut plan = Plan::from_effects(outcome.effects, fallback, |thread| {
                core.world.agent_handling(&cfg.name, thread)
            });
            plan.decided = Some(decided);
            if let Disposition::Stop(reason) = &plan.disposition {
                tracing::info!(channel = %cfg.name, message = %m.platform_message_id, %reason,
                    "workflow stopped routing");
            }
            plan
        }
        Err(e) => {
            crate::metrics::workflow_error();
            let error = format!("{e:#}");
            tracing::error!(channel = %cfg.name, message = %m.platform_message_id,
                error = %error, "workflow failed; using the channel's route");
            Plan::after_failure(fallback, &error)
        }
    }
}
