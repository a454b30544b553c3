//! ACD routing: which agent gets which interaction, and when.
//!
//! The router is an in-memory state machine behind one mutex. Every operation is short,
//! takes the current time, returns the offers it made and never waits on I/O: the
//! caller (`interactions`) persists the offers and tells the agents. One place, one lock:
//! that is what makes "never one assignment too many" hold under any concurrency.
//!
//! An agent is offered an interaction when: the platform family's feature is on; the
//! user or their station has the access right; they are a member of the workgroup (or
//! the interaction was transferred to them); they are available and owe no required
//! wrap-up; they have the skills the interaction asks for; and utilization stays within
//! 100 % and the type's maximum. Among those, the best skill match wins, then the
//! longest idle.

mod model;
mod router;
pub mod skills;
mod utilization;

pub use model::{
    AgentProfile, AgentStatus, AgentView, Features, Offer, QueueView, Request, Right, RouterError,
    Target,
};
pub use router::Router;
pub use router::explain::{Explanation, PassReason, Passed};
pub use skills::SkillExpr;
pub use utilization::{ALL_TYPES, OTHER_TYPES, Utilization, UtilizationTable};

#[cfg(test)]
mod concurrency;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
