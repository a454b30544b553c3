//! Interactions in flight: what agents do with them, and what they are told.
//!
//! This is where routing decisions meet the store. Every router operation and the write
//! that records it are issued under one short lock, so the database sees changes in the
//! order the router made them; agents are told only after the write is durable.

mod actions;
mod directory;
pub mod hooks;
pub mod jobs;
pub mod notify;
mod service;
pub mod transfer;

pub use actions::{TransferTarget, Transferred};
pub use service::{ActionError, Interactions};
