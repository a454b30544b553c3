//! What one plugin call may use: memory and wall-clock time (`[server.plugin_limits]`).

use serde::Deserialize;

/// Limits for every plugin call.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginLimits {
    /// Linear memory a plugin instance may grow to, in MiB.
    #[serde(default = "default_memory_mib")]
    pub memory_mib: u64,
    /// Wall-clock time one call may take, in ms (HTTP calls included).
    #[serde(default = "default_call_timeout_ms")]
    pub call_timeout_ms: u64,
}

impl Default for PluginLimits {
    fn default() -> Self {
        PluginLimits {
            memory_mib: default_memory_mib(),
            call_timeout_ms: default_call_timeout_ms(),
        }
    }
}

fn default_memory_mib() -> u64 {
    64
}

fn default_call_timeout_ms() -> u64 {
    10_000
}
