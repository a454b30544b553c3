//! Utilization: how much of an agent one interaction of a media type takes.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::model::interaction::MediaType;

/// Contact-center interaction types that exist here only as names in utilization.
pub const OTHER_TYPES: &[&str] = ALL_TYPES.split_at(2).1;

/// Every interaction type utilization can be set for: the two social types first.
pub const ALL_TYPES: &[&str] = &[
    "social_conversation",
    "social_direct_message",
    "call",
    "callback",
    "chat",
    "email",
    "generic",
    "work_item",
];

/// The share of an agent one interaction takes, and how many of a type they may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Utilization {
    /// Percent of the agent one interaction of this type uses (0-100).
    pub percent: u32,
    /// Most interactions of this type the agent may hold at once (1-25).
    pub max: u32,
}

impl Default for Utilization {
    /// As in PureConnect: one interaction of a type takes the whole agent.
    fn default() -> Self {
        Utilization {
            percent: 100,
            max: 1,
        }
    }
}

/// Utilization settings per media type, with the default for types not listed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UtilizationTable {
    /// Settings by media type name.
    #[serde(flatten)]
    pub by_type: HashMap<String, Utilization>,
}

impl UtilizationTable {
    /// The setting for `media`.
    pub fn get(&self, media: MediaType) -> Utilization {
        self.by_type
            .get(media.as_str())
            .copied()
            .unwrap_or_default()
    }

    /// Reads a workgroup's stored JSON; anything unreadable falls back to the defaults.
    pub fn from_json(value: &serde_json::Value) -> UtilizationTable {
        serde_json::from_value(value.clone()).unwrap_or_default()
    }

    /// Checks the bounds: percent 0-100, max 1-25.
    pub fn validate(&self) -> Result<(), String> {
        for (media, u) in &self.by_type {
            if MediaType::parse(media).is_none() && !OTHER_TYPES.contains(&media.as_str()) {
                return Err(format!(
                    "unknown interaction type `{media}` in utilization (social_conversation, social_direct_message, {})",
                    OTHER_TYPES.join(", ")
                ));
            }
            if u.percent > 100 {
                return Err(format!(
                    "utilization of {media}: percent {} is over 100",
                    u.percent
                ));
            }
            if !(1..=25).contains(&u.max) {
                return Err(format!(
                    "utilization of {media}: max {} is not within 1-25",
                    u.max
                ));
            }
        }
        Ok(())
    }
}
