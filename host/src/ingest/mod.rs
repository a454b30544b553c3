//! Ingestion: platform events in, stored once, routed once.
//!
//! Webhooks ([`webhook`]) and pollers ([`poller`]) both end in [`Pipeline::accept`]:
//! the workflow decides where each new message goes, then one transaction stores the
//! messages (a repeated platform id is a no-op), joins each to the live interaction of
//! its thread or creates a queued interaction, and, for polls, advances the cursor. Only
//! after that commit does the platform get its 200 or the poller move on, so a crash at
//! any point either loses nothing or repeats work the store then recognises.

pub mod event;
pub mod poller;
pub mod webhook;

use std::sync::Arc;

use anyhow::Result;

use crate::app::{App, ChannelRuntime};
use crate::interactions::model::MediaType;
use crate::routing::decision::RouteRequest;
use crate::store::{now_ms, queries};
use crate::workflow::{Effect, InboundContext};
use event::Event;

/// What the workflow decided for each event of a batch (`None`: do not route).
pub struct Decided {
    events: Vec<Event>,
    routes: Vec<Option<RouteRequest>>,
    version: i64,
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
    /// Messages stored without routing.
    pub kept: usize,
    /// Edits, removals and delivery receipts applied.
    pub updates: usize,
}

/// The shared ingest path.
pub struct Pipeline;

impl Pipeline {
    /// Runs the channel's workflow for each new customer message. Runs on a blocking
    /// thread (scripts are CPU work). A script error never drops a message: it takes the
    /// channel's fallback route, and the error is logged with `file:line:col`.
    pub fn decide(app: &App, channel: &ChannelRuntime, events: Vec<Event>) -> Decided {
        let version = app.workflows.current().number;
        let routes = events
            .iter()
            .map(|event| match event {
                Event::Message(m) if !m.from_business => Some(route_for(app, channel, m)),
                _ => None,
            })
            .map(Option::flatten)
            .collect();
        Decided {
            events,
            routes,
            version,
        }
    }

    /// Stores a decided batch in one transaction (with the new polling cursor, if any),
    /// then hands new interactions to routing.
    pub async fn accept(
        app: &Arc<App>,
        channel: &str,
        decided: Decided,
        cursor: Option<String>,
    ) -> Result<Report> {
        let channel_name = channel.to_owned();
        let (report, created, touched, emptied) = app
            .store
            .write(move |conn| {
                let now = now_ms();
                let mut report = Report::default();
                let mut created = Vec::new();
                let mut touched = Vec::new();
                let mut emptied = Vec::new();
                for (event, route) in decided.events.iter().zip(&decided.routes) {
                    match event {
                        Event::Message(m) => {
                            use queries::Stored;
                            match queries::ingest_message(conn, &channel_name, m, route.as_ref(), decided.version, now)? {
                                Stored::Duplicate => report.duplicates += 1,
                                Stored::Kept => report.kept += 1,
                                Stored::Joined(id) => {
                                    report.joined += 1;
                                    touched.push(id);
                                }
                                Stored::Created(ix) => {
                                    report.created += 1;
                                    created.push(*ix);
                                }
                            }
                        }
                        Event::Edited { platform_message_id, text } => {
                            report.updates += 1;
                            touched.extend(queries::edit_message(conn, &channel_name, platform_message_id, text)?);
                        }
                        Event::Deleted { platform_message_id } => {
                            report.updates += 1;
                            let ix = queries::erase_message(conn, &channel_name, platform_message_id)?;
                            if let Some(id) = ix {
                                if queries::all_inbound_deleted(conn, id)? {
                                    emptied.push(id);
                                }
                                touched.push(id);
                            }
                        }
                        Event::Delivery { platform_message_id, state, .. } => {
                            report.updates += 1;
                            tracing::debug!(channel = %channel_name, %platform_message_id, %state, "delivery status");
                        }
                    }
                }
                if let Some(cursor) = &cursor {
                    queries::save_cursor(conn, &channel_name, cursor, now)?;
                }
                Ok((report, created, touched, emptied))
            })
            .await?;
        for ix in created {
            app.interactions.route_new(ix).await;
        }
        for id in touched {
            app.interactions.notify_changed(id).await;
        }
        // Everything the customer wrote is gone: if nobody picked it up yet, it is
        // abandoned (the service level counts it apart).
        for id in emptied {
            if let Err(e) = app.interactions.abandon(id).await {
                tracing::error!(interaction = id, error = %e, "abandon failed");
            }
        }
        Ok(report)
    }
}

fn route_for(
    app: &App,
    channel: &ChannelRuntime,
    m: &event::InboundMessage,
) -> Option<RouteRequest> {
    let cfg = &channel.config;
    let ctx = InboundContext {
        channel: cfg.name.clone(),
        platform: channel.connector.platform().to_owned(),
        visibility: m.visibility.as_str().into(),
        text: m.text.clone(),
        author_name: m.author_name.clone(),
        author_id: m.author_id.clone(),
        thread_id: m.thread_id.clone(),
        parent_id: m.parent_id.clone(),
        workgroup: cfg.workgroup.clone(),
        dm_workgroup: cfg.dm_workgroup().to_owned(),
    };
    let fallback = || {
        let media_type = match m.visibility {
            crate::interactions::model::Visibility::Private => MediaType::SocialDirectMessage,
            crate::interactions::model::Visibility::Public => MediaType::SocialConversation,
        };
        let workgroup = match media_type {
            MediaType::SocialDirectMessage => cfg.dm_workgroup().to_owned(),
            MediaType::SocialConversation => cfg.workgroup.clone(),
        };
        Some(RouteRequest {
            workgroup,
            priority: 0,
            media_type,
            skills: None,
            preferred_agent: None,
            wait_ms: 0,
        })
    };
    match app.workflows.on_inbound(&cfg.workflow, &ctx) {
        // The first routing decision counts; a script that does neither falls back.
        Ok(outcome) => match outcome.effects.into_iter().next() {
            Some(Effect::Route(route)) => Some(route),
            Some(Effect::Stop { reason }) => {
                tracing::info!(channel = %cfg.name, message = %m.platform_message_id, %reason, "workflow stopped routing");
                None
            }
            None => {
                tracing::warn!(channel = %cfg.name, script = %cfg.workflow, "workflow neither routed nor stopped; using the channel's route");
                fallback()
            }
        },
        Err(e) => {
            tracing::error!(channel = %cfg.name, message = %m.platform_message_id, error = %e,
                "workflow failed; using the channel's route");
            fallback()
        }
    }
}
