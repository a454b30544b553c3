//! What scripts may look up while they decide, and the per-call context that carries it.
//!
//! Lookups (`find_active`, `agent_handling`, `last_agent`, `queue_facts`, `is_open`,
//! `now`) answer from a [`World`]: the host answers from the store, the router and its
//! clock, the fixture runner from its simulated interactions and virtual time. Scripts
//! never read the machine's clock themselves, so a fixture decides at the time it says. The world, the classification rules and the channel are set for the
//! duration of one handler call on the calling thread.

use std::cell::RefCell;
use std::sync::Arc;

use rhai::{Dynamic, Map};

use super::classify::Rules;
use crate::model::hours::Organisation;

/// A live interaction as a lookup returns it.
#[derive(Clone, Debug, PartialEq)]
pub struct Active {
    /// Interaction id.
    pub id: i64,
    /// `buffered`, `queued`, `alerting`, `connected` or `held`.
    pub state: String,
    /// Its thread.
    pub thread_id: String,
    /// The workgroup it is queued in.
    pub workgroup: String,
    /// Username of the agent holding it.
    pub agent: Option<String>,
    /// Customer messages in it.
    pub message_count: i64,
    /// The platform id of the customer who started it.
    pub customer_id: String,
}

impl Active {
    /// The map scripts receive.
    pub fn to_map(&self) -> Map {
        let mut map = Map::new();
        map.insert("id".into(), self.id.into());
        map.insert("state".into(), self.state.clone().into());
        map.insert("thread_id".into(), self.thread_id.clone().into());
        map.insert("post_id".into(), self.thread_id.clone().into());
        map.insert("workgroup".into(), self.workgroup.clone().into());
        map.insert(
            "agent".into(),
            self.agent
                .clone()
                .map(Dynamic::from)
                .unwrap_or(Dynamic::UNIT),
        );
        map.insert("message_count".into(), self.message_count.into());
        map.insert("customer_id".into(), self.customer_id.clone().into());
        map
    }
}

/// How `find_active` looks an interaction up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FindBy {
    /// The live interaction of a thread (post id, conversation id).
    Thread(String),
    /// The newest live interaction of a customer.
    Author(String),
    /// The open group with this key (see `group`).
    Group(String),
    /// The live interaction holding this platform message (ours or the customer's): how
    /// a reply finds the conversation it answers.
    Message(String),
}

/// A workgroup's queue as `queue_facts` shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueueFacts {
    /// Interactions waiting in it for an agent.
    pub waiting: i64,
    /// Its members who are Available and owe no wrap-up.
    pub available: i64,
    /// How long the longest-waiting one has waited, ms (0 when none waits).
    pub longest_wait_ms: i64,
}

impl QueueFacts {
    /// The map scripts receive.
    pub fn to_map(&self) -> Map {
        let mut map = Map::new();
        map.insert("waiting".into(), self.waiting.into());
        map.insert("available".into(), self.available.into());
        map.insert("longest_wait_ms".into(), self.longest_wait_ms.into());
        map
    }
}

/// The organisation of a world that was given none: UTC, no schedules.
static NO_ORGANISATION: std::sync::LazyLock<Organisation> =
    std::sync::LazyLock::new(Organisation::default);

/// Lookups scripts may make. Every method that takes a channel answers for that one.
pub trait World: Send + Sync {
    /// A live interaction matching `by`, if any.
    fn find_active(&self, channel: &str, by: &FindBy) -> Option<Active>;
    /// Username of the agent who has the live interaction of `thread` (offered,
    /// connected or held).
    fn agent_handling(&self, channel: &str, thread: &str) -> Option<String>;
    /// Username of the agent who last handled this customer on this channel.
    fn last_agent(&self, channel: &str, customer_id: &str) -> Option<String>;
    /// The time now, unix ms.
    fn now(&self) -> i64 {
        crate::clock::now_ms()
    }
    /// A workgroup's queue now.
    fn queue(&self, _workgroup: &str) -> QueueFacts {
        QueueFacts::default()
    }
    /// The organisation's time zone and schedules.
    fn organisation(&self) -> &Organisation {
        &NO_ORGANISATION
    }
    /// Whether a user named `username` exists; `None` when this world cannot tell.
    fn user_exists(&self, _username: &str) -> Option<bool> {
        None
    }
}

/// A world with nothing in it: every lookup finds nothing.
pub struct Empty;

impl World for Empty {
    fn find_active(&self, _: &str, _: &FindBy) -> Option<Active> {
        None
    }
    fn agent_handling(&self, _: &str, _: &str) -> Option<String> {
        None
    }
    fn last_agent(&self, _: &str, _: &str) -> Option<String> {
        None
    }
}

/// What one handler call may consult.
#[derive(Clone)]
pub struct CallContext {
    /// Lookups.
    pub world: Arc<dyn World>,
    /// Classification rules of the version that runs.
    pub rules: Arc<Rules>,
    /// The channel of the subject.
    pub channel: String,
}

thread_local! {
    static CONTEXT: RefCell<Option<CallContext>> = const { RefCell::new(None) };
}

/// Sets the context for the calls made inside `f` on this thread.
pub fn with_context<R>(ctx: CallContext, f: impl FnOnce() -> R) -> R {
    let previous = CONTEXT.with(|c| c.replace(Some(ctx)));
    let result = f();
    CONTEXT.with(|c| *c.borrow_mut() = previous);
    result
}

/// Runs `f` with the current call's context (`None` outside a handler call).
pub fn current<R>(f: impl FnOnce(Option<&CallContext>) -> R) -> R {
    CONTEXT.with(|c| f(c.borrow().as_ref()))
}
