//! What a workflow decided for a new interaction.

use crate::model::interaction::MediaType;

/// Where and how to queue a new interaction.
#[derive(Clone, Debug, PartialEq)]
pub struct RouteRequest {
    /// Target workgroup.
    pub workgroup: String,
    /// Higher is served first.
    pub priority: i64,
    /// Social conversation or direct message.
    pub media_type: MediaType,
    /// Skill expression agents must satisfy.
    pub skills: Option<String>,
    /// Username of the agent to wait for (stickiness).
    pub preferred_agent: Option<String>,
    /// How long to wait for the preferred agent, ms.
    pub wait_ms: i64,
}
