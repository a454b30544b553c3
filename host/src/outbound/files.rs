//! Files agents send with a reply: checked against what the platform takes before
//! anything is stored or sent, kept in the blob store with the reply, and handed to the
//! platform at each attempt (uploaded by the host, or offered by a signed link).
//!
//! A file goes with the first message of a reply only (a workflow that splits a reply
//! into several sends does not send the file twice). A refusal names the file and what
//! the platform takes, in the agent's words.

use crate::connectors::FileLimit;
use crate::connectors::bindings::types as wit;
use crate::interactions::{ActionError, Core};
use crate::model::interaction::Visibility;
use crate::model::reply::{FileRef, OutboundReply};
use crate::store::Tx;

/// Keeps an agent's file (a multipart part, streamed) in the blob store, with its type
/// from its bytes. Refuses a file larger than `[media] max_mib`, or empty.
pub async fn accept_stream(
    core: &Core,
    body: std::pin::Pin<Box<dyn futures::Stream<Item = Result<bytes::Bytes, String>> + Send + '_>>,
    file_name: &str,
    declared: Option<&str>,
) -> Result<FileRef, ActionError> {
    let name = file_name.trim();
    let name = if name.is_empty() { "file" } else { name };
    let written = core
        .media
        .blobs
        .write(body, core.media.max_bytes)
        .await
        .map_err(|e| match e {
            crate::media::blobs::WriteError::TooLarge { limit_mib } => ActionError::Invalid(
                format!("{name} is larger than the {limit_mib} MiB this server accepts."),
            ),
            crate::media::blobs::WriteError::Source(why) => {
                ActionError::Invalid(format!("{name} did not arrive whole: {why}"))
            }
            crate::media::blobs::WriteError::Io(e) => {
                ActionError::Store(e.context(format!("storing {name}")))
            }
        })?;
    if written.size == 0 {
        return Err(ActionError::Invalid(format!("{name} is empty.")));
    }
    let sniffed = crate::media::kind::sniff(&written.head);
    // What the bytes show wins; a type they do not show is taken as declared, unless a
    // browser would run it.
    let content_type = crate::media::kind::check("file", sniffed, declared)
        .unwrap_or_else(|_| "application/octet-stream".into());
    Ok(FileRef {
        kind: crate::model::attachment::kind_of(&content_type).to_owned(),
        file_name: name.chars().take(200).collect(),
        content_type,
        size: written.size,
        hash: written.hash,
    })
}

/// Refuses files the channel's platform does not take in a `visibility` reply.
pub fn check(
    core: &Core,
    channel: &str,
    visibility: Visibility,
    files: &[FileRef],
) -> Result<(), ActionError> {
    if files.is_empty() {
        return Ok(());
    }
    let (limits, platform) = match core.channels.get(channel) {
        Some(ch) => (
            ch.connector.file_limits(),
            crate::model::interaction::platform_label(
                ch.connector.platform(),
                match visibility {
                    Visibility::Private => {
                        crate::model::interaction::MediaType::SocialDirectMessage
                    }
                    Visibility::Public => crate::model::interaction::MediaType::SocialConversation,
                },
            ),
        ),
        None => (Vec::new(), String::new()),
    };
    check_with(&limits, &platform, visibility, files).map_err(ActionError::Invalid)
}

fn check_with(
    limits: &[FileLimit],
    platform: &str,
    visibility: Visibility,
    files: &[FileRef],
) -> Result<(), String> {
    let platform = display_platform(platform);
    let here: Vec<&FileLimit> = limits
        .iter()
        .filter(|l| l.visibility == visibility)
        .collect();
    if here.is_empty() {
        return Err(format!(
            "{platform} takes no files in {} replies: send the text alone.",
            visibility.as_str()
        ));
    }
    for f in files {
        let Some(limit) = here.iter().find(|l| l.kind == f.kind) else {
            return Err(format!(
                "{} is {}; {platform} takes {} here.",
                f.file_name,
                a_kind(&f.kind),
                takes(&here)
            ));
        };
        if !limit.mime_types.is_empty() && !limit.mime_types.iter().any(|m| m == &f.content_type) {
            return Err(format!(
                "{} is {}; {platform} takes {} as {} only.",
                f.file_name,
                f.content_type,
                plural(&f.kind),
                limit
                    .mime_types
                    .iter()
                    .map(|m| m.rsplit('/').next().unwrap_or(m).to_ascii_uppercase())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if f.size > limit.max_bytes {
            return Err(format!(
                "{} is {}; {platform} takes {} up to {}.",
                f.file_name,
                size_words(f.size),
                plural(&f.kind),
                size_words(limit.max_bytes)
            ));
        }
    }
    Ok(())
}

fn display_platform(p: &str) -> String {
    match p {
        "x" => "X".into(),
        "whatsapp" => "WhatsApp".into(),
        "" => "This channel's platform".into(),
        other => {
            let mut c = other.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        }
    }
}

fn a_kind(kind: &str) -> &'static str {
    match kind {
        "image" => "an image",
        "video" => "a video",
        "audio" => "audio",
        _ => "a document",
    }
}

fn plural(kind: &str) -> &'static str {
    match kind {
        "image" => "images",
        "video" => "videos",
        "audio" => "audio files",
        _ => "documents",
    }
}

fn takes(limits: &[&FileLimit]) -> String {
    let mut kinds: Vec<String> = limits
        .iter()
        .map(|l| format!("{} up to {}", plural(&l.kind), size_words(l.max_bytes)))
        .collect();
    kinds.dedup();
    kinds.join(", ")
}

/// `5 MB`, `100 MB`, `512 KB`, as platforms state their limits (powers of 1024).
pub(crate) fn size_words(bytes: u64) -> String {
    const MB: u64 = 1024 * 1024;
    if bytes >= MB {
        let tenths = (bytes * 10).div_ceil(MB);
        if tenths % 10 == 0 {
            format!("{} MB", tenths / 10)
        } else {
            format!("{}.{} MB", tenths / 10, tenths % 10)
        }
    } else {
        format!("{} KB", bytes.div_ceil(1024))
    }
}

/// Records the reply's files for its transcript, serving and erasure (inside the
/// transaction that queues it).
pub fn record(conn: &Tx, reply: &OutboundReply, now: i64) -> anyhow::Result<()> {
    for (position, f) in reply.extras.files.iter().enumerate() {
        crate::store::media::insert_outbound(
            conn,
            &reply.channel,
            reply.id,
            position,
            &f.hash,
            f.size as i64,
            &f.content_type,
            &f.file_name,
            now,
        )?;
    }
    Ok(())
}

/// The reply's files as the connector reads them in `send`: uploaded now where the
/// connector asks for an upload, else with a signed link when this host has a public
/// address. The caller holds a permit of the channel's pool. Errors say what failed,
/// for the reply's status.
pub(crate) async fn prepare(
    core: &Core,
    connector: &std::sync::Arc<crate::channels::ChannelRuntime>,
    reply: &OutboundReply,
) -> Result<Vec<wit::OutboundFile>, String> {
    let mut out = Vec::new();
    for (position, f) in reply.extras.files.iter().enumerate() {
        let mut file = crate::connectors::convert::described_file(f);
        file.link = link_for(core, reply.id, position as i64).await;
        // The caller holds a permit of the channel's instance pool for the attempt.
        let plan = {
            let (ch, asked, r) = (connector.clone(), file.clone(), reply.clone());
            tokio::task::spawn_blocking(move || ch.connector.upload_media(&asked, &r))
                .await
                .map_err(|e| format!("the connector failed: {e}"))?
                .map_err(|e| e.to_string())?
        };
        if let Some(plan) = plan {
            let key = plan.encrypt.map(|_| crate::media::crypt::FileKey::random());
            file.upload_state = plan.state.clone();
            file.upload = Some(
                crate::media::upload::upload(
                    &core.media,
                    &connector.connector,
                    plan,
                    f,
                    key.as_ref(),
                )
                .await?,
            );
            file.upload_key = key.map(|k| k.to_wit());
        }
        out.push(file);
    }
    Ok(out)
}

/// A signed link to the reply's file at `position`, when this host has a public address.
async fn link_for(core: &Core, outbound_id: i64, position: i64) -> Option<String> {
    let public = core.media.public_url.clone()?;
    let found = core
        .store
        .write(move |c| {
            let id = crate::store::media::outbound_file_id(c, outbound_id, position)?;
            let key = crate::store::contacts::named_key(c, crate::media::upload::LINK_KEY)?;
            Ok(id.map(|id| (id, key)))
        })
        .await
        .ok()
        .flatten()?;
    let (id, key) = found;
    let expires = crate::clock::now_ms() + crate::media::upload::LINK_MS;
    Some(crate::media::upload::link(&public, &key, id, expires))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(kind: &str, ct: &str, size: u64) -> FileRef {
        FileRef {
            kind: kind.into(),
            file_name: format!("x.{}", ct.rsplit('/').next().unwrap()),
            content_type: ct.into(),
            size,
            hash: "0".repeat(64),
        }
    }

    #[test]
    fn files_are_refused_before_sending_in_the_agents_words() {
        let limits = vec![
            FileLimit {
                visibility: Visibility::Private,
                kind: "image".into(),
                max_bytes: 5 * 1024 * 1024,
                mime_types: vec!["image/jpeg".into(), "image/png".into()],
            },
            FileLimit {
                visibility: Visibility::Private,
                kind: "file".into(),
                max_bytes: 100 * 1024 * 1024,
                mime_types: vec![],
            },
        ];
        let ok = [
            file("image", "image/png", 1000),
            file("file", "application/pdf", 9 << 20),
        ];
        assert_eq!(
            check_with(&limits, "whatsapp", Visibility::Private, &ok),
            Ok(())
        );
        assert_eq!(
            check_with(&limits, "whatsapp", Visibility::Public, &ok).unwrap_err(),
            "WhatsApp takes no files in public replies: send the text alone."
        );
        assert_eq!(
            check_with(
                &limits,
                "whatsapp",
                Visibility::Private,
                &[file("image", "image/png", 6 << 20)]
            )
            .unwrap_err(),
            "x.png is 6 MB; WhatsApp takes images up to 5 MB."
        );
        assert_eq!(
            check_with(
                &limits,
                "whatsapp",
                Visibility::Private,
                &[file("image", "image/webp", 10)]
            )
            .unwrap_err(),
            "x.webp is image/webp; WhatsApp takes images as JPEG, PNG only."
        );
        assert_eq!(
            check_with(
                &limits,
                "messenger",
                Visibility::Private,
                &[file("video", "video/mp4", 10)]
            )
            .unwrap_err(),
            "x.mp4 is a video; Messenger takes images up to 5 MB, documents up to 100 MB here."
        );
    }

    #[test]
    fn sizes_read_as_platforms_write_them() {
        assert_eq!(size_words(5 * 1024 * 1024), "5 MB");
        assert_eq!(size_words(1536 * 1024), "1.5 MB");
        assert_eq!(size_words(2000), "2 KB");
    }
}
