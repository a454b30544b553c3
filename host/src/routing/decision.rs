//! What a workflow decided for a new interaction.

use crate::interactions::model::MediaType;

/// Where and how to queue a new interaction.
#[derive(Clone, Debug, PartialEq)]
pub struct RouteRequest {
    /// Target workgroup.
    pub workgroup: String,
    /// Higher is served first.
    pub priority: i64,
    /// Social conversation or direct message.
    pub media_type: MediaType,
}
