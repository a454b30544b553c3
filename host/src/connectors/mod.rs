//! Connector plugins: WebAssembly components that speak one platform's wire format.
//!
//! One wasmtime [`engine::PluginEngine`] compiles each plugin file once (cached on disk)
//! and creates an instance per channel. Every call runs under a memory limit and a
//! deadline; a plugin that traps or overruns is logged with its channel and plugin name,
//! its instance is thrown away, and the call is retried on a fresh one, except `send`,
//! which may have reached the platform before failing and is never repeated blindly.

mod address;
pub mod allowlist;
pub(crate) mod bindings;
pub mod catalog;
pub(crate) mod convert;
pub mod declared;
pub mod egress;
pub mod engine;
mod host_api;
pub mod kit;
mod limits;
pub mod parse;
pub(crate) mod redact;
pub mod sources;

pub use engine::{
    Account, CallError, ChannelConnector, CheckRefusal, ConfigKey, CredentialsCheck, FileLimit,
    MediaRequest, PluginDescription, PluginEngine, SendFailure, StreamRequest, WebhookReply,
};
pub use limits::PluginLimits;

/// Installs the process-wide TLS crypto provider (reqwest is built without a default).
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
