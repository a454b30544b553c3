//! Host-side bindings for every supported version of the `switchboard:connector`
//! contract (`sdk/wit/since_vX/`), side by side, as Zed's extension host does.
//!
//! The host speaks the newest version everywhere else: [`types`] is 0.2.0's. A plugin
//! built for an older version is instantiated through that version's bindings, and
//! [`compat`] converts its values up (results) and the host's down (arguments). Each
//! version's imports are linked under their own versioned names, so one linker serves
//! plugins of every version. Which version a component was built for is read from its
//! `switchboard:contract-version` custom section before it is compiled ([`version_of`]).

mod compat;

use wasmtime::Store;
use wasmtime::component::{Component, HasSelf, Linker};

use super::host_api::HostState;

/// The released, frozen contract.
pub(crate) mod v0_1 {
    wasmtime::component::bindgen!({
        path: "../sdk/wit/since_v0.1.0",
        world: "connector",
    });
}

/// The current contract, released and frozen like 0.1.0.
pub(crate) mod v0_2 {
    wasmtime::component::bindgen!({
        path: "../sdk/wit/since_v0.2.0",
        world: "connector",
    });
}

pub(crate) use v0_2::switchboard::connector::types;

/// The custom section in which the SDK stamps the contract version.
const VERSION_SECTION: &str = "switchboard:contract-version";

/// A contract version this host can load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContractVersion {
    V0_1,
    V0_2,
}

impl ContractVersion {
    /// Every version this host supports, oldest first.
    pub const SUPPORTED: [ContractVersion; 2] = [ContractVersion::V0_1, ContractVersion::V0_2];

    /// As written in WIT package names: `0.1.0`.
    pub fn as_str(self) -> &'static str {
        match self {
            ContractVersion::V0_1 => "0.1.0",
            ContractVersion::V0_2 => "0.2.0",
        }
    }

    fn parse(s: &str) -> Option<ContractVersion> {
        Self::SUPPORTED.into_iter().find(|v| v.as_str() == s)
    }
}

/// The contract version a component was built for, from its stamp, else from the
/// versioned names of the contract interfaces it imports (none: 0.1.0, as every
/// component built before versions were stamped). An unsupported stamp is an
/// error that names it and the versions this host supports.
pub fn version_of(wasm: &[u8]) -> anyhow::Result<ContractVersion> {
    // Without a stamp (a debug build can lose the section the SDK's static puts it in),
    // the versioned names of the contract's interfaces the component imports say it.
    let mut imported: Option<String> = None;
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        // A malformed file is reported by the compiler with a better message.
        let Ok(payload) = payload else { break };
        if let wasmparser::Payload::ComponentImportSection(reader) = &payload
            && imported.is_none()
        {
            imported = reader.clone().into_iter().flatten().find_map(|import| {
                let rest = import.name.name.strip_prefix("switchboard:connector/")?;
                Some(rest.split_once('@')?.1.to_owned())
            });
        }
        if let wasmparser::Payload::CustomSection(section) = payload
            && section.name() == VERSION_SECTION
        {
            let stamp = String::from_utf8_lossy(section.data()).trim().to_owned();
            return ContractVersion::parse(&stamp).ok_or_else(|| {
                let supported: Vec<&str> = ContractVersion::SUPPORTED
                    .iter()
                    .map(|v| v.as_str())
                    .collect();
                anyhow::anyhow!(
                    "the plugin was built for switchboard:connector@{stamp}, which this \
                     Switchboard does not support (it supports {}); rebuild the plugin \
                     with a supported SDK or upgrade Switchboard",
                    supported.join(" and ")
                )
            });
        }
    }
    match imported {
        Some(v) => ContractVersion::parse(&v).ok_or_else(|| {
            anyhow::anyhow!(
                "the plugin imports switchboard:connector@{v}, which this Switchboard does not \
                 support (it supports 0.1.0 and 0.2.0); rebuild the plugin with a supported SDK \
                 or upgrade Switchboard"
            )
        }),
        None => Ok(ContractVersion::V0_1),
    }
}

/// Links the host's imports of every supported version.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    v0_1::Connector::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    v0_2::Connector::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    Ok(())
}

/// A plugin instance, through the bindings of the version it was built for. Its calls
/// take and return the newest version's types.
pub enum Connector {
    V0_1(v0_1::Connector),
    V0_2(v0_2::Connector),
}

type Ret<T> = wasmtime::Result<T>;
type Res<T> = Result<T, types::ConnectorError>;

/// One call on either version: the newest's arguments converted down for older
/// plugins, their answers converted up.
macro_rules! dispatch {
    ($self:ident, $store:ident, $call:ident ( $($arg:expr),* )) => {
        match $self {
            Connector::V0_1(b) => b.$call(&mut *$store $(, compat::down($arg))*).map(compat::up),
            Connector::V0_2(b) => b.$call(&mut *$store $(, $arg)*),
        }
    };
}

impl Connector {
    /// Instantiates `component` as a plugin of `version`.
    pub fn instantiate(
        version: ContractVersion,
        store: &mut Store<HostState>,
        component: &Component,
        linker: &Linker<HostState>,
    ) -> Ret<Connector> {
        Ok(match version {
            ContractVersion::V0_1 => {
                Connector::V0_1(v0_1::Connector::instantiate(store, component, linker)?)
            }
            ContractVersion::V0_2 => {
                Connector::V0_2(v0_2::Connector::instantiate(store, component, linker)?)
            }
        })
    }

    pub fn call_describe(&self, store: &mut Store<HostState>) -> Ret<types::Description> {
        dispatch!(self, store, call_describe())
    }

    pub fn call_configure(&self, store: &mut Store<HostState>) -> Ret<Res<()>> {
        dispatch!(self, store, call_configure())
    }

    /// Checks the channel's credentials against the platform (0.2.0); a 0.1.0 plugin
    /// cannot.
    pub fn call_check_credentials(&self, store: &mut Store<HostState>) -> Ret<Res<types::Account>> {
        match self {
            Connector::V0_1(_) => Ok(Err(types::ConnectorError::Unsupported(
                "this connector was built for contract 0.1.0, which has no credentials check"
                    .into(),
            ))),
            Connector::V0_2(b) => b.call_check_credentials(store),
        }
    }

    pub fn call_poll(
        &self,
        store: &mut Store<HostState>,
        cursor: Option<&str>,
        limit: u32,
    ) -> Ret<Res<types::PollResult>> {
        dispatch!(self, store, call_poll(cursor, limit))
    }

    pub fn call_handle_webhook(
        &self,
        store: &mut Store<HostState>,
        request: &types::HttpRequest,
    ) -> Ret<Res<types::WebhookOutcome>> {
        match self {
            Connector::V0_1(b) => b
                .call_handle_webhook(&mut *store, &compat::down(request.clone()))
                .map(compat::up),
            Connector::V0_2(b) => b.call_handle_webhook(&mut *store, request),
        }
    }

    pub fn call_send(
        &self,
        store: &mut Store<HostState>,
        message: &types::Outbound,
        idempotency_key: &str,
    ) -> Ret<Res<types::Sent>> {
        match self {
            Connector::V0_1(b) => b
                .call_send(&mut *store, &compat::down(message.clone()), idempotency_key)
                .map(compat::up),
            Connector::V0_2(b) => b.call_send(&mut *store, message, idempotency_key),
        }
    }

    /// Whether an interrupted send's message exists on the platform (0.2.0); a 0.1.0
    /// plugin cannot tell.
    pub fn call_find_sent(
        &self,
        store: &mut Store<HostState>,
        message: &types::Outbound,
        idempotency_key: &str,
        attempted_at: i64,
    ) -> Ret<Res<Option<types::Sent>>> {
        match self {
            Connector::V0_1(_) => Ok(Err(types::ConnectorError::Unsupported(
                "a 0.1.0 connector cannot tell whether a message was sent".into(),
            ))),
            Connector::V0_2(b) => b.call_find_sent(store, message, idempotency_key, attempted_at),
        }
    }

    pub fn call_reply_window(
        &self,
        store: &mut Store<HostState>,
        visibility: types::Visibility,
        last_customer_at: Option<i64>,
        now: i64,
    ) -> Ret<types::ReplyWindow> {
        dispatch!(
            self,
            store,
            call_reply_window(visibility, last_customer_at, now)
        )
    }

    pub fn call_stream_open(
        &self,
        store: &mut Store<HostState>,
    ) -> Ret<Res<Option<types::HttpRequest>>> {
        dispatch!(self, store, call_stream_open())
    }

    pub fn call_stream_lines(
        &self,
        store: &mut Store<HostState>,
        lines: &[String],
    ) -> Ret<Res<Vec<types::Event>>> {
        dispatch!(self, store, call_stream_lines(lines))
    }

    pub fn call_delete(&self, store: &mut Store<HostState>, id: &str) -> Ret<Res<()>> {
        dispatch!(self, store, call_delete(id))
    }

    pub fn call_hide(&self, store: &mut Store<HostState>, id: &str) -> Ret<Res<()>> {
        dispatch!(self, store, call_hide(id))
    }

    /// The request that downloads an attachment (0.2.0). A 0.1.0 plugin cannot say, so
    /// the host fetches its `url` as it is, as such plugins expect (still within the
    /// allowlist).
    pub fn call_media_request(
        &self,
        store: &mut Store<HostState>,
        attachment: &types::Attachment,
    ) -> Ret<Res<Option<types::MediaDownload>>> {
        match self {
            Connector::V0_1(_) => Ok(Ok(attachment.url.clone().map(|url| types::MediaDownload {
                request: types::HttpRequest {
                    method: "GET".into(),
                    url,
                    headers: Vec::new(),
                    body: Vec::new(),
                },
                decrypt: None,
            }))),
            Connector::V0_2(b) => b.call_media_request(store, attachment),
        }
    }

    /// The upload that gives the platform an agent's file (0.2.0); a 0.1.0 plugin takes
    /// no files (it declares no file limits, so the host never asks).
    pub fn call_upload_media(
        &self,
        store: &mut Store<HostState>,
        file: &types::OutboundFile,
        message: &types::Outbound,
    ) -> Ret<Res<Option<types::MediaUpload>>> {
        match self {
            Connector::V0_1(_) => Ok(Err(types::ConnectorError::Unsupported(
                "a 0.1.0 connector sends no files".into(),
            ))),
            Connector::V0_2(b) => b.call_upload_media(store, file, message),
        }
    }

    /// The files the platform takes per kind of reply (0.2.0); none for older plugins.
    pub fn call_file_limits(&self, store: &mut Store<HostState>) -> Ret<Vec<types::FileLimit>> {
        match self {
            Connector::V0_1(_) => Ok(Vec::new()),
            Connector::V0_2(b) => b.call_file_limits(store),
        }
    }

    /// The business account's message templates (0.2.0); a 0.1.0 plugin has none.
    pub fn call_list_templates(
        &self,
        store: &mut Store<HostState>,
    ) -> Ret<Res<Vec<types::TemplateInfo>>> {
        match self {
            Connector::V0_1(_) => Ok(Err(types::ConnectorError::Unsupported(
                "a 0.1.0 connector lists no templates".into(),
            ))),
            Connector::V0_2(b) => b.call_list_templates(store),
        }
    }

    /// The platform's longest text per kind of reply (0.2.0); none for older plugins.
    pub fn call_reply_limits(&self, store: &mut Store<HostState>) -> Ret<Vec<types::TextLimit>> {
        match self {
            Connector::V0_1(_) => Ok(Vec::new()),
            Connector::V0_2(b) => b.call_reply_limits(store),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An empty core module, with the version stamp as a custom section if given.
    fn module(stamp: Option<&str>) -> Vec<u8> {
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        if let Some(stamp) = stamp {
            let mut payload = vec![VERSION_SECTION.len() as u8];
            payload.extend_from_slice(VERSION_SECTION.as_bytes());
            payload.extend_from_slice(stamp.as_bytes());
            wasm.push(0); // custom section
            wasm.push(payload.len() as u8);
            wasm.extend(payload);
        }
        wasm
    }

    #[test]
    fn the_stamp_says_the_version_and_none_means_0_1() {
        assert_eq!(version_of(&module(None)).unwrap(), ContractVersion::V0_1);
        assert_eq!(
            version_of(&module(Some("0.2.0"))).unwrap(),
            ContractVersion::V0_2
        );
        assert_eq!(
            version_of(&module(Some("0.1.0"))).unwrap(),
            ContractVersion::V0_1
        );
        let err = version_of(&module(Some("0.9.0"))).unwrap_err().to_string();
        assert!(err.contains("switchboard:connector@0.9.0"), "{err}");
        assert!(err.contains("0.1.0 and 0.2.0"), "{err}");
    }
}
