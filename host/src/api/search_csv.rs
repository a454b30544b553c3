//! `GET /api/v1/interactions?format=csv`: every interaction a search matches, as CSV,
//! streamed. The rows are read a page at a time (after the last one sent), so a year of
//! interactions downloads without being held in memory; `limit` and `offset` are ignored.
//! Pages are separate reads: an interaction that changes during a long download shows as
//! it was when its page was read.

use std::collections::HashMap;

use axum::body::Body;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use crate::model::interaction::platform_label;
use crate::store::Store;
use crate::store::reports::{self, Found, SearchFilter};

/// Rows per read.
const PAGE: i64 = 1000;

const HEAD: [&str; 13] = [
    "id",
    "created_at",
    "platform",
    "channel",
    "media_type",
    "state",
    "workgroup",
    "agent",
    "customer_name",
    "answered_at",
    "abandoned",
    "wrapup_code",
    "preview",
];

fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

fn lines(found: &[Found], platforms: &HashMap<String, String>, head: bool) -> Bytes {
    let mut w = csv::Writer::from_writer(Vec::new());
    if head {
        let _ = w.write_record(HEAD);
    }
    for f in found {
        let ix = &f.interaction;
        let _ = w.write_record([
            ix.id.to_string(),
            rfc3339(ix.created_at),
            platforms
                .get(&ix.channel)
                .map(|p| platform_label(p, ix.media_type))
                .unwrap_or_default(),
            ix.channel.clone(),
            ix.media_type.as_str().to_owned(),
            ix.state.as_str().to_owned(),
            ix.workgroup.clone(),
            ix.assigned_to.clone().unwrap_or_default(),
            ix.customer_name.clone(),
            ix.answered_at.map(rfc3339).unwrap_or_default(),
            ix.abandoned.to_string(),
            ix.wrapup_code.clone().unwrap_or_default(),
            f.preview.clone().unwrap_or_default(),
        ]);
    }
    Bytes::from(w.into_inner().unwrap_or_default())
}

/// The streamed answer.
pub(super) fn stream(
    store: Store,
    filter: SearchFilter,
    platforms: HashMap<String, String>,
) -> Response {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(2);
    tokio::spawn(async move {
        let mut after: Option<(i64, i64)> = None;
        let mut head = true;
        loop {
            let f = filter.clone();
            let page = store
                .read(move |c| reports::search_after(c, &f, after, PAGE))
                .await;
            let page = match page {
                Ok(p) => p,
                Err(e) => {
                    // The client sees a cut-off download; the log says why.
                    tracing::error!(error = %format!("{e:#}"), "the search export stopped");
                    let _ = tx
                        .send(Err(std::io::Error::other("the export stopped")))
                        .await;
                    return;
                }
            };
            if tx.send(Ok(lines(&page, &platforms, head))).await.is_err() {
                return; // the client went away
            }
            head = false;
            match page.last() {
                Some(last) if page.len() as i64 == PAGE => {
                    after = Some((last.interaction.created_at, last.interaction.id));
                }
                _ => return,
            }
        }
    });
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"interactions.csv\"",
            ),
        ],
        Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx)),
    )
        .into_response()
}
