//! Host-side bindings generated from the WIT contract in `sdk/wit`.

wasmtime::component::bindgen!({
    path: "../sdk/wit",
    world: "connector",
});

pub use self::switchboard::connector::types;
