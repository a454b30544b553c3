//! What a handler sees as `ix`: one message or interaction, as a Rhai map.
//!
//! The host fills a [`Subject`] from the store (or the fixture runner from a fixture) and
//! hands scripts a plain map, so scripts read `ix.text`, `ix.thread_id`, `ix.attrs.x`.

use std::collections::BTreeMap;

use rhai::{Dynamic, Map};

/// One message or interaction as scripts see it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Subject {
    /// The interaction id; `None` for a message that has not started one yet.
    pub id: Option<i64>,
    /// Channel name.
    pub channel: String,
    /// Platform family (`facebook`, `x`, `whatsapp`, ...).
    pub platform: String,
    /// `public` or `private`.
    pub visibility: String,
    /// The message text (for an interaction: its newest customer message).
    pub text: String,
    /// The platform's id for the message.
    pub message_id: String,
    /// Author display name.
    pub author_name: String,
    /// Author platform id.
    pub author_id: String,
    /// Author handle, where the platform has handles.
    pub author_handle: Option<String>,
    /// Follower count, where the platform gives it.
    pub followers: Option<i64>,
    /// Thread (post, conversation) id.
    pub thread_id: String,
    /// The message this one answers (parent comment, in-reply-to tweet).
    pub parent_id: Option<String>,
    /// Language tag, when known.
    pub language: Option<String>,
    /// Platform-specific facts the connector passed along (`post_type`, `referral`, ...).
    pub metadata: BTreeMap<String, String>,
    /// The channel's conversation workgroup.
    pub workgroup: String,
    /// The channel's direct-message workgroup.
    pub dm_workgroup: String,
    /// The channel's grouping timeout for `group`, seconds.
    pub grouping_timeout_s: i64,
    /// Interaction state (`queued`, `connected`, ...); `None` for a new message.
    pub state: Option<String>,
    /// Username of the agent holding the interaction.
    pub agent: Option<String>,
    /// Customer messages in the interaction (1 for a new message).
    pub message_count: i64,
    /// Attributes set by `set_attr` so far.
    pub attrs: BTreeMap<String, String>,
    /// When the customer's message (for an interaction: its first) arrived, unix ms.
    pub arrived_at: i64,
    /// How the interaction is queued now; `None` for a new message.
    pub route: Option<CurrentRoute>,
}

/// Where and how an interaction is queued, as `ix.route` shows it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CurrentRoute {
    /// The workgroup whose queue it is (or, held by the workflow, will be) in.
    pub workgroup: String,
    /// Its priority.
    pub priority: i64,
    /// Its skill expression.
    pub skills: Option<String>,
    /// The agent it waits for first.
    pub preferred_agent: Option<String>,
    /// When that wait ends, unix ms.
    pub preferred_until: Option<i64>,
    /// When it entered its queue, unix ms.
    pub queued_at: i64,
}

fn opt<T: Into<Dynamic>>(v: Option<T>) -> Dynamic {
    v.map(Into::into).unwrap_or(Dynamic::UNIT)
}

fn string_map(m: &BTreeMap<String, String>) -> Dynamic {
    let map: Map = m
        .iter()
        .map(|(k, v)| (k.as_str().into(), Dynamic::from(v.clone())))
        .collect();
    map.into()
}

impl Subject {
    /// `social_conversation` or `social_direct_message` (what `query_media_type` returns
    /// for public and private subjects).
    pub fn media_type(&self) -> &'static str {
        match self.visibility.as_str() {
            "public" => "social_conversation",
            "private" => "social_direct_message",
            _ => "other",
        }
    }

    /// The map scripts receive, at `now` (unix ms: `waited_ms` and what is left of a
    /// preferred agent's wait are counted to it).
    pub fn to_map(&self, now: i64) -> Map {
        let mut map = Map::new();
        let mut put = |k: &str, v: Dynamic| {
            map.insert(k.into(), v);
        };
        put("id", opt(self.id));
        put("channel", self.channel.clone().into());
        put("platform", self.platform.clone().into());
        put("visibility", self.visibility.clone().into());
        put("media_type", self.media_type().into());
        put("text", self.text.clone().into());
        put("message_id", self.message_id.clone().into());
        put("author_name", self.author_name.clone().into());
        put("author_id", self.author_id.clone().into());
        put("author_handle", opt(self.author_handle.clone()));
        put("followers", opt(self.followers));
        put("thread_id", self.thread_id.clone().into());
        put("post_id", self.thread_id.clone().into());
        put("parent_id", opt(self.parent_id.clone()));
        put("is_comment", self.parent_id.is_some().into());
        put("language", opt(self.language.clone()));
        put("metadata", string_map(&self.metadata));
        put("workgroup", self.workgroup.clone().into());
        put("dm_workgroup", self.dm_workgroup.clone().into());
        put("grouping_timeout_s", self.grouping_timeout_s.into());
        put("state", opt(self.state.clone()));
        put("agent", opt(self.agent.clone()));
        put("message_count", self.message_count.into());
        put("attrs", string_map(&self.attrs));
        put("arrived_at", self.arrived_at.into());
        put("waited_ms", (now - self.arrived_at).max(0).into());
        put(
            "route",
            match &self.route {
                Some(r) => {
                    let mut route = Map::new();
                    route.insert("workgroup".into(), r.workgroup.clone().into());
                    route.insert("priority".into(), r.priority.into());
                    route.insert("skills".into(), opt(r.skills.clone()));
                    route.insert("preferred_agent".into(), opt(r.preferred_agent.clone()));
                    let left = match (&r.preferred_agent, r.preferred_until) {
                        (Some(_), Some(until)) => (until - now).max(0),
                        _ => 0,
                    };
                    route.insert("wait_ms".into(), left.into());
                    route.insert("queued_at".into(), r.queued_at.into());
                    route.into()
                }
                None => Dynamic::UNIT,
            },
        );
        map
    }
}
