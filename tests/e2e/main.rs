//! End-to-end tests: the real host, the real plugins (built by `cargo xtask plugins`) and
//! the platform emulator, driven over HTTP as a user would.

mod admin;
mod agent_actions;
mod answers;
mod apple;
mod audit;
mod authorization;
mod channels;
mod cli;
mod contract;
mod desktop;
mod durability;
mod durable;
mod egress;
mod exactly_once;
mod facebook;
mod harness;
mod messenger;
mod outbound;
mod races;
mod replay;
mod resilience;
mod routing;
mod secrets;
mod sessions;
mod soak;
mod store;
mod supervisor;
mod test_clock;
mod trace;
mod waits;
mod web_security;
mod whatsapp;
mod workflows;
mod x;
mod x_sources;
