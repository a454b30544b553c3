//! `/webhooks/{channel}`: the platform calls us.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::Pipeline;
use crate::channels::ChannelRuntime;
use crate::interactions::Core;
use crate::metrics::{self, WebhookOutcome};
use crate::store::NotStored;

/// Hands the raw request to the channel's plugin (it checks signatures and answers
/// handshakes), stores the events it returns, and only then answers the platform. Any
/// failure answers 5xx so the platform delivers again; the store dedupes the retry.
pub async fn receive(
    State(core): State<Core>,
    Path(channel): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let known = core.channels.get(&channel).is_some();
    let started = std::time::Instant::now();
    let response = handle(core, &channel, method, uri, headers, body).await;
    let status = response.status();
    let outcome = if status.is_success() || status.is_redirection() {
        WebhookOutcome::Accepted
    } else if status == StatusCode::BAD_REQUEST || status == StatusCode::UNPROCESSABLE_ENTITY {
        WebhookOutcome::Malformed
    } else if status.is_client_error() {
        WebhookOutcome::Refused
    } else {
        WebhookOutcome::Error
    };
    // Only configured channels get a series: an unknown name in the URL is anyone's to
    // choose and must not grow the metrics without bound.
    if known {
        metrics::webhook(&channel, outcome);
        metrics::webhook_latency(&channel, started.elapsed());
    }
    response
}

async fn handle(
    core: Core,
    channel: &str,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(runtime) = core.channels.get(channel) else {
        return (
            StatusCode::NOT_FOUND,
            format!("no channel named `{channel}`"),
        )
            .into_response();
    };
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let url = uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let handshake = method == Method::GET;
    let core2 = core.clone();
    let pooled = runtime.clone();
    let permit = pooled.connector.permit().await;
    let result = tokio::task::spawn_blocking(move || {
        let reply =
            runtime
                .connector
                .handle_webhook(method.as_str(), &url, headers, body.to_vec())?;
        let success = (200..300).contains(&reply.status);
        let events = if success { reply.events } else { Vec::new() };
        let decided = Pipeline::decide(&core2, &runtime, events);
        Ok::<_, crate::connectors::CallError>((reply.status, reply.headers, reply.body, decided))
    })
    .await;
    drop(permit); // free the instance before waiting on the store
    let (status, reply_headers, reply_body, decided) = match result {
        Ok(Ok(parts)) => parts,
        Ok(Err(e)) => {
            tracing::error!(%channel, error = %e, "webhook not processed");
            pooled.record_error(format!("webhook: {e}"));
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "plugin failed; deliver again",
            )
                .into_response();
        }
        Err(e) => {
            tracing::error!(%channel, error = %e, "webhook task failed");
            pooled.record_error(format!("webhook: task failed: {e}"));
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    record_outcome(&pooled, handshake, status);
    if let Err(e) = Pipeline::accept(&core, channel, decided, None).await {
        tracing::error!(%channel, error = %format!("{e:#}"), "webhook events not stored");
        pooled.record_error(format!("webhook: events not stored: {e:#}"));
        // Nothing of this delivery was kept; the platform's redelivery is stored once
        // the store can commit again (the store dedupes whatever did get in before).
        let why = match NotStored::find(&e) {
            Some(NotStored(reason)) => {
                format!("Not stored: {reason}. Nothing was kept; deliver again later.")
            }
            None => "Not stored because of a server error. Deliver again later.".to_owned(),
        };
        return (StatusCode::SERVICE_UNAVAILABLE, why).into_response();
    }
    let mut response = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
        reply_body,
    )
        .into_response();
    for (name, value) in reply_headers {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// Notes in the channel's status what the plugin answered: a `GET` it accepted is the
/// platform's verification handshake (Meta's `hub.challenge`, X's CRC); any refusal (a
/// bad signature, a wrong verify token) is the channel's last error.
fn record_outcome(channel: &ChannelRuntime, handshake: bool, status: u16) {
    let accepted = (200..300).contains(&status);
    if handshake && accepted {
        channel.record_webhook_verified();
    } else if !accepted {
        let what = if handshake {
            "verification"
        } else {
            "delivery"
        };
        channel.record_error(format!(
            "webhook: {what} refused by the plugin with {status}"
        ));
    }
}
