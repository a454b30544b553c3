//! Switchboard: social-media customer engagement as routed contact-center work.
//!
//! The modules follow the path a message travels:
//! [`ingest`] (webhooks and pollers, through [`connectors`]) → [`workflow`] (Rhai
//! scripts decide) → [`store`] (stored once) → [`routing`] (the ACD picks an agent) →
//! [`interactions`] (what agents do) → [`outbound`] (replies back to the platform), with
//! [`api`] and [`web`] in front and [`app`] wiring it all together.

pub mod api;
pub mod app;
pub mod bench;
mod calendar;
pub mod config;
pub mod connectors;
pub mod demo;
pub mod fswatch;
pub mod ingest;
pub mod interactions;
pub(crate) mod metrics;
pub mod outbound;
pub mod routing;
pub mod store;
pub mod text_length;
pub mod web;
pub mod workflow;
