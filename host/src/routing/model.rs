//! The words of routing: statuses, rights, requests and offers.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::skills::{SkillExpr, Skills};
use super::utilization::UtilizationTable;
use crate::model::interaction::MediaType;

/// An agent's routing status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AgentStatus {
    /// Takes new work.
    Available,
    /// Logged in, takes no new work.
    Away,
    /// Let an offer time out; takes no new work until they change status.
    NotResponding,
    /// Not logged in.
    LoggedOut,
}

impl AgentStatus {
    /// Stored and API name.
    pub fn as_str(self) -> &'static str {
        match self {
            AgentStatus::Available => "available",
            AgentStatus::Away => "away",
            AgentStatus::NotResponding => "not_responding",
            AgentStatus::LoggedOut => "logged_out",
        }
    }

    /// The status as a person reads it.
    pub fn label(self) -> &'static str {
        match self {
            AgentStatus::Available => "Available",
            AgentStatus::Away => "Away",
            AgentStatus::NotResponding => "Not responding",
            AgentStatus::LoggedOut => "Logged out",
        }
    }

    /// Parses a stored or requested name.
    pub fn parse(s: &str) -> Option<AgentStatus> {
        Some(match s {
            "available" => AgentStatus::Available,
            "away" => AgentStatus::Away,
            "not_responding" => AgentStatus::NotResponding,
            "logged_out" => AgentStatus::LoggedOut,
            _ => return None,
        })
    }
}

/// The access right an interaction needs, by platform family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Right {
    /// Facebook, Messenger, X, Apple Messages: `acd_social_media`.
    SocialMedia,
    /// WhatsApp: `acd_whatsapp`.
    Whatsapp,
}

impl Right {
    /// The right's name on users and stations.
    pub fn as_str(self) -> &'static str {
        match self {
            Right::SocialMedia => "acd_social_media",
            Right::Whatsapp => "acd_whatsapp",
        }
    }

    /// The right a platform family needs.
    pub fn for_platform(platform: &str) -> Right {
        if platform == "whatsapp" {
            Right::Whatsapp
        } else {
            Right::SocialMedia
        }
    }
}

/// Server feature switches per platform family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Features {
    /// Facebook, Messenger, X and Apple Messages.
    #[serde(default = "yes")]
    pub social_media: bool,
    /// WhatsApp.
    #[serde(default = "yes")]
    pub whatsapp: bool,
}

fn yes() -> bool {
    true
}

impl Default for Features {
    fn default() -> Self {
        Features {
            social_media: true,
            whatsapp: true,
        }
    }
}

impl Features {
    /// Whether interactions needing `right` are routed at all.
    pub fn allows(&self, right: Right) -> bool {
        match right {
            Right::SocialMedia => self.social_media,
            Right::Whatsapp => self.whatsapp,
        }
    }
}

/// Who may receive an interaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// Any eligible member of the workgroup.
    Anyone,
    /// This agent only until `until` (unix ms), member of the workgroup or not, then any
    /// member of the workgroup, in whose queue it waits all along (a workflow's stickiness,
    /// a transfer to an agent).
    Preferred {
        /// The preferred agent.
        agent: i64,
        /// When others may have it.
        until: i64,
    },
    /// This agent only, never anyone else (interactions transferred before transfers
    /// fell back to their workgroup still restore as this).
    Only(i64),
}

/// An interaction to route.
#[derive(Clone, Debug)]
pub struct Request {
    /// Interaction id.
    pub id: i64,
    /// Its workgroup (for a transfer to an agent: the workgroup it came from).
    pub workgroup: String,
    /// Media type (utilization).
    pub media: MediaType,
    /// Higher first.
    pub priority: i64,
    /// Time in queue counts from here (unix ms).
    pub queued_at: i64,
    /// The access right it needs.
    pub right: Right,
    /// Skills it needs, if any.
    pub skills: Option<SkillExpr>,
    /// Who may have it.
    pub target: Target,
}

/// What the router knows about an agent besides status.
#[derive(Clone, Debug, Default)]
pub struct AgentProfile {
    /// Rights on the user (`acd_social_media`, `acd_whatsapp`, ...).
    pub rights: HashSet<String>,
    /// Skills with proficiency.
    pub skills: Skills,
    /// Utilization set on the user; types not set inherit from the workgroup.
    pub utilization: UtilizationTable,
}

/// An interaction offered to an agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Offer {
    /// The interaction.
    pub interaction: i64,
    /// The agent (user id).
    pub agent: i64,
}

/// Why a router operation was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RouterError {
    /// The interaction is not routed here (unknown or finished).
    #[error("interaction {0} is not in routing")]
    UnknownInteraction(i64),
    /// The interaction is not offered to or held by this agent.
    #[error("interaction {0} is not assigned to this agent")]
    NotYours(i64),
    /// The interaction is not alerting.
    #[error("interaction {0} is not alerting")]
    NotAlerting(i64),
    /// No such agent.
    #[error("unknown agent {0}")]
    UnknownAgent(i64),
}

/// A snapshot of one agent, for supervisors.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct AgentView {
    /// User id.
    pub id: i64,
    /// Routing status.
    pub status: AgentStatus,
    /// Interactions alerting or assigned (held ones included).
    pub interactions: Vec<i64>,
    /// Sum of utilization percentages in use.
    pub utilization_used: u32,
    /// Disconnected interactions whose required wrap-up is outstanding.
    pub wrapup_pending: Vec<i64>,
}

/// A snapshot of one queue, for supervisors.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct QueueView {
    /// Workgroup name.
    pub workgroup: String,
    /// Interactions waiting for an agent.
    pub waiting: usize,
    /// When the longest-waiting one entered the queue (unix ms).
    pub oldest_queued_at: Option<i64>,
}
