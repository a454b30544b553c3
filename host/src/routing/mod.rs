//! ACD routing: which agent gets which interaction, and when.
//!
//! The router is an in-memory state machine behind one mutex. Every operation is short,
//! returns the offers it made, and never waits on I/O: the caller (`interactions`) persists
//! the offers and tells the agents. Keeping the decision in one place under one lock is
//! what makes "never one assignment too many" hold under any concurrency.

pub mod decision;
mod state;
mod utilization;

pub use state::{AgentStatus, Offer, Router, RouterError};
pub use utilization::{Utilization, UtilizationTable};
