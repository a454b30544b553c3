//! Switchboard: social-media customer engagement as routed contact-center work.
//!
//! A message travels [`ingest`] (webhooks, pollers and streams, through [`connectors`]) →
//! [`workflow`] (Rhai scripts decide) → [`store`] (stored once) → [`routing`] (the ACD
//! picks an agent) → [`interactions`] (what agents do) → [`outbound`] (replies back to the
//! platform), with [`api`] and [`web`] in front and [`server`] starting it all.
//!
//! The modules are layers, and each imports only from those below it
//! (`host/tests/layers.rs` checks): [`model`], the shared vocabulary, and small utilities
//! ([`clock`]) at the bottom; then [`routing`], [`workflow`], [`store`], [`connectors`],
//! [`config`], [`channels`] (the running channels); the domain, [`interactions`] (with
//! the one executor of workflow effects), then [`outbound`] and [`ingest`], which take
//! its small context ([`interactions::Core`]) rather than the whole host; at the top
//! [`app`] (the state handlers see), [`web`], [`api`] and [`server`]; beside them the
//! tools that run without a host: [`demo`] and [`replay`] (recorded traffic through other
//! scripts).

pub mod api;
pub mod app;
mod calendar;
pub mod channels;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod connectors;
pub mod demo;
pub mod fswatch;
pub mod ingest;
pub mod interactions;
pub mod media;
pub(crate) mod metrics;
pub mod model;
pub mod outbound;
pub mod replay;
pub mod reports;
pub mod routing;
pub mod server;
pub mod store;
pub mod web;
pub mod workflow;
