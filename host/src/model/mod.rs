//! The shared vocabulary: the nouns every layer speaks (an interaction and its media
//! type, an inbound event, a workflow's effects and the plan they reduce to, a route
//! request, an outbound reply, a reply window, the organisation's clock and opening hours). Data and the rules of their shape only;
//! this folder imports nothing else from the crate, so anything may import it.

pub mod attachment;
pub mod effect;
pub mod event;
pub mod hours;
pub mod interaction;
pub mod plan;
pub mod reply;
pub mod route;
pub mod segments;
pub mod text_length;

pub use effect::Effect;
pub use route::RouteRequest;
