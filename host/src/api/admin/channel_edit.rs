//! Channels administrators create, replace and delete at runtime.
//!
//! A channel is checked completely before anything runs: its name, the config file's own
//! rules ([`config::Channel::validate`]), its plugin file, workgroups and workflow, and
//! finally its plugin, loaded and configured with its settings. Only then is it stored,
//! registered and started, so a refused channel leaves nothing behind. Config-file
//! channels stay the config file's: the API neither replaces nor deletes them.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use serde_json::Value;

use super::Admin;
use super::channels::{ChannelView, MASK, view_of};
use crate::api::error::{ApiError, ErrorBody};
use crate::api::extract::{Json, Path};
use crate::api::responses::{BadRequest, JsonBody, NeedsRight, NotFound};
use crate::app::App;
use crate::channels::{self as runtime, ChannelRuntime, ChannelSource, LoadFailure};
use crate::clock::now_ms;
use crate::config;
use crate::store::{channels as stored, directory};

/// Longest channel name the API accepts.
const MAX_NAME: usize = 40;

/// Held through a whole create, replace or delete, so two administrators cannot both
/// take a name or replace the same channel at once.
static EDITS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Checks a new channel's name: `[a-z0-9_-]{1,40}` (it is part of the webhook URL).
pub fn check_channel_name(name: &str) -> Result<(), ApiError> {
    let valid = !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if valid {
        Ok(())
    } else {
        Err(ApiError::BadRequest(format!(
            "name: `{name}` must be 1-{MAX_NAME} of a-z, 0-9, - and _"
        )))
    }
}

/// Checks a plugin name: a file name in the plugin folder, never a path.
pub fn check_plugin_name(plugin: &str) -> Result<(), ApiError> {
    let valid = !plugin.is_empty()
        && !plugin.starts_with('.')
        && plugin
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid {
        Ok(())
    } else {
        Err(ApiError::BadRequest(format!(
            "plugin: `{plugin}` is not a plugin name (the file name without .wasm)"
        )))
    }
}

/// Secrets a replacement does not give keep their stored value; the mask the API shows
/// (`••••`) means "unchanged" too, so a client may send back what it read.
pub fn keep_secrets(new: &mut config::Channel, old: &config::Channel) {
    new.secrets.retain(|_, v| v != MASK);
    for (key, value) in &old.secrets {
        new.secrets
            .entry(key.clone())
            .or_insert_with(|| value.clone());
    }
}

pub(super) fn config_channel(app: &App, name: &str) -> bool {
    app.config.channels.iter().any(|c| c.name == name)
}

/// 409 for a channel of the config file.
fn refuse_config_channel(app: &App, name: &str) -> Result<(), ApiError> {
    if config_channel(app, name) {
        return Err(ApiError::Conflict(format!(
            "channel `{name}` is defined in the config file; change it there"
        )));
    }
    Ok(())
}

/// Checks everything about a channel and loads its plugin; nothing is stored or started.
/// Refusals say what is wrong in the administrator's terms; server paths and the plugin's
/// error chain go to the log.
async fn prepare(app: &App, ch: config::Channel) -> Result<ChannelRuntime, ApiError> {
    check_plugin_settings(app, &ch)?;
    check_workgroups(app, &ch).await?;
    let version = app.workflows.current();
    if let Err(e) = runtime::check_workflow(&ch, &version, &app.config.server.workflows_dir) {
        tracing::info!(channel = %ch.name, error = %format!("{e:#}"), "channel refused: workflow");
        let known = version.script_names().join(", ");
        let message = if version.script_names().contains(&ch.workflow) {
            format!(
                "The workflow `{}` cannot take new messages (it has no `on_inbound` handler). \
                 Choose another workflow: {known}.",
                ch.workflow
            )
        } else {
            format!(
                "There is no workflow `{}`. Choose one of: {known}.",
                ch.workflow
            )
        };
        return Err(ApiError::BadRequest(message));
    }
    load_plugin(app, ch).await
}

/// The channel's own rules, and a plugin file of that name.
pub(super) fn check_plugin_settings(app: &App, ch: &config::Channel) -> Result<(), ApiError> {
    ch.validate()
        .map_err(|e| ApiError::BadRequest(format!("{e:#}")))?;
    check_plugin_name(&ch.plugin)?;
    let path = app.plugins.path(&ch.plugin);
    if !path.is_file() {
        tracing::info!(channel = %ch.name, plugin = %ch.plugin, path = %path.display(),
            "channel refused: no such plugin file");
        return Err(ApiError::BadRequest(format!(
            "There is no plugin `{}`. Choose one of the plugins listed under Plugins.",
            ch.plugin
        )));
    }
    Ok(())
}

/// Loads the channel's plugin and configures it with the channel's settings; nothing
/// runs yet.
pub(super) async fn load_plugin(
    app: &App,
    ch: config::Channel,
) -> Result<ChannelRuntime, ApiError> {
    let (name, plugin) = (ch.name.clone(), ch.plugin.clone());
    runtime::load(&app.plugins, &app.store, ch, ChannelSource::Admin)
        .await
        .map_err(|e| load_refused(&name, &plugin, &e))
}

/// The answer when the channel's plugin does not load: 400 `invalid_config` naming the
/// `setting` (or `secret`) when the connector refused one, else 422 `plugin_failed`.
fn load_refused(channel: &str, plugin: &str, e: &anyhow::Error) -> ApiError {
    let failure = LoadFailure::of(e);
    let message = failure.message(plugin, "and save the channel again");
    match failure {
        LoadFailure::Settings { field, .. } => {
            tracing::info!(%channel, %plugin, error = %format!("{e:#}"),
                "channel refused: its plugin did not accept the settings");
            let answer = ApiError::problem(StatusCode::BAD_REQUEST, "invalid_config", message);
            match field {
                Some(f) => answer.with(f.kind, f.key),
                None => answer,
            }
        }
        LoadFailure::Plugin => {
            tracing::warn!(%channel, %plugin, error = %format!("{e:#}"),
                "channel refused: its plugin could not be started");
            ApiError::problem(StatusCode::UNPROCESSABLE_ENTITY, "plugin_failed", message)
        }
    }
}

/// Both workgroups must exist: interactions routed to a missing one would wait forever.
async fn check_workgroups(app: &App, ch: &config::Channel) -> Result<(), ApiError> {
    let fields = [
        ("workgroup", ch.workgroup.clone()),
        ("dm_workgroup", ch.dm_workgroup().to_owned()),
    ];
    for (field, name) in fields {
        let lookup = name.clone();
        let found = app
            .store
            .read(move |c| directory::workgroup_by_name(c, &lookup))
            .await?;
        if found.is_none() {
            return Err(ApiError::BadRequest(format!(
                "{field}: no workgroup named `{name}`"
            )));
        }
    }
    Ok(())
}

/// Creates a channel: checked, its plugin loaded and configured, then stored and
/// started. Secrets are given as plain values and never shown again.
#[utoipa::path(post, path = "/api/v1/channels", tag = "admin",
    request_body = config::Channel,
    responses((status = 201, body = ChannelView),
        (status = 400, description = "a field is wrong; `invalid_config`: the plugin refused a \
            setting, named in `setting` (or `secret`) when it says which", body = ErrorBody), JsonBody,
        NeedsRight,
        (status = 409, description = "`conflict`: the name is taken", body = ErrorBody),
        (status = 422, description = "`plugin_failed`: the plugin could not be started", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_channel(
    State(app): State<Arc<App>>,
    _admin: Admin,
    Json(ch): Json<config::Channel>,
) -> Result<(StatusCode, Json<ChannelView>), ApiError> {
    check_channel_name(&ch.name)?;
    let _edit = EDITS.lock().await;
    let name = ch.name.clone();
    refuse_config_channel(&app, &name)?;
    let lookup = name.clone();
    let taken = app.channels.contains(&name)
        || app
            .store
            .read(move |c| stored::get::<config::Channel>(c, &lookup))
            .await?
            .is_some();
    if taken {
        return Err(ApiError::Conflict(format!(
            "channel `{name}` already exists"
        )));
    }
    let loaded = prepare(&app, ch).await?;
    let row = sealed_row(&app, &loaded.config)?;
    app.store
        .write(move |c| stored::insert(c, &row.name, &row, now_ms()))
        .await?;
    let channel = app.run_channel(loaded);
    app.channel_changed(&channel.config.name);
    tracing::info!(channel = %name, plugin = %channel.config.plugin, "channel created by an administrator");
    Ok((StatusCode::CREATED, Json(view_of(&app, &channel).await?)))
}

/// The row kept for `channel`: its secrets sealed with the operator's key, if one is set.
fn sealed_row(app: &App, channel: &config::Channel) -> Result<config::Channel, ApiError> {
    let mut row = channel.clone();
    row.secrets = app.config.sealer()?.seal(&row.secrets)?;
    Ok(row)
}

/// The replacement body: the channel's fields; `name`, if given, must be the path's.
pub(super) fn replacement(name: &str, mut body: Value) -> Result<config::Channel, ApiError> {
    let Some(fields) = body.as_object_mut() else {
        return Err(ApiError::BadRequest(
            "body: expected a JSON object with the channel's fields".into(),
        ));
    };
    match fields.get("name") {
        None => {
            fields.insert("name".into(), Value::String(name.to_owned()));
        }
        Some(Value::String(given)) if given == name => {}
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "name: {other} differs from the channel `{name}`; channels cannot be renamed"
            )));
        }
    }
    serde_path_to_error::deserialize(body).map_err(|e| {
        ApiError::BadRequest(crate::api::extract::field_error(
            &e.path().to_string(),
            &e.inner().to_string(),
        ))
    })
}

/// Replaces an administrator's channel: the same checks as creating it; omitted secrets
/// (or `••••`) keep their stored value. Its poller and stream restart on the new
/// settings; its polling cursor and connector state stay.
#[utoipa::path(put, path = "/api/v1/channels/{name}", tag = "admin",
    params(("name" = String, Path)),
    request_body = config::Channel,
    responses((status = 200, body = ChannelView),
        (status = 400, description = "a field is wrong; `invalid_config`: the plugin refused a \
            setting, named in `setting` (or `secret`) when it says which", body = ErrorBody), JsonBody,
        NeedsRight, NotFound,
        (status = 409, description = "`conflict`: a config-file channel", body = ErrorBody),
        (status = 422, description = "`plugin_failed`: the plugin could not be started", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update_channel(
    State(app): State<Arc<App>>,
    _admin: Admin,
    Path(name): Path<String>,
    Json(body): Json<Value>,
) -> Result<Json<ChannelView>, ApiError> {
    refuse_config_channel(&app, &name)?;
    let mut ch = replacement(&name, body)?;
    let _edit = EDITS.lock().await;
    let lookup = name.clone();
    let Some(old) = app
        .store
        .read(move |c| stored::get::<config::Channel>(c, &lookup))
        .await?
    else {
        return Err(ApiError::NotFound(format!("channel `{name}` not found")));
    };
    // A row that no longer parses has no secrets to keep: the body must give them.
    if let Ok(mut old) = old.config {
        old.secrets = app.config.sealer()?.open(&old.secrets)?;
        keep_secrets(&mut ch, &old);
    }
    let loaded = prepare(&app, ch).await?;
    let row = sealed_row(&app, &loaded.config)?;
    app.store
        .write(move |c| stored::update(c, &row.name, &row, now_ms()))
        .await?;
    // Replacing stops the old runtime: its poller ends after its current poll, so at
    // worst both poll once side by side, and the store keeps each message once.
    let channel = app.run_channel(loaded);
    app.channel_changed(&channel.config.name);
    tracing::info!(channel = %name, "channel replaced by an administrator");
    Ok(Json(view_of(&app, &channel).await?))
}

/// Stops and deletes an administrator's channel. Its messages and interactions stay;
/// its polling cursor, connector state and pause go. A channel holding messages from a
/// pause is not deleted (they would be lost): resume it first.
#[utoipa::path(delete, path = "/api/v1/channels/{name}", tag = "admin",
    params(("name" = String, Path)),
    responses((status = 204, description = "done"), NeedsRight, BadRequest, NotFound,
        (status = 409, description = "`conflict`: a config-file channel, or one holding messages from a pause", body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete_channel(
    State(app): State<Arc<App>>,
    _admin: Admin,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    refuse_config_channel(&app, &name)?;
    let _edit = EDITS.lock().await;
    let key = name.clone();
    // Its unfinished replies end with it, in the same transaction: nothing can send them.
    let removed = app
        .store
        .write(move |c| {
            let held = crate::store::pauses::held_count(c, &key)?;
            if held > 0 {
                return Err(super::conflict(format!(
                    "channel `{key}` holds {held} message(s) from its pause: resume it, and delete it once they are routed"
                )));
            }
            crate::store::pauses::forget(c, &key)?;
            let removed = stored::delete(c, &key)?;
            crate::store::outbox::end_for_deleted_channel(c, &key, crate::clock::now_ms())?;
            Ok(removed)
        })
        .await
        .map_err(super::api_error)?;
    // A stored channel that failed to load at start is not running: deleting it is
    // still how an administrator gets rid of it.
    let running = app.channels.remove(&name).is_some();
    app.channel_changed(&name);
    if !removed && !running {
        return Err(ApiError::NotFound(format!("channel `{name}` not found")));
    }
    tracing::info!(channel = %name, "channel deleted by an administrator");
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(secrets: &[(&str, &str)]) -> config::Channel {
        let mut ch: config::Channel = serde_json::from_value(serde_json::json!({
            "name": "x2", "plugin": "x", "workgroup": "Social"
        }))
        .unwrap();
        ch.secrets = secrets
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ch
    }

    #[test]
    fn channel_names_are_short_lower_case_url_safe_words() {
        for good in ["x", "x-2", "fb_main", &"a".repeat(40)] {
            assert!(check_channel_name(good).is_ok(), "{good}");
        }
        for bad in ["", "X", "a b", "a/b", "é", "../x", &"a".repeat(41)] {
            let err = check_channel_name(bad).unwrap_err().to_string();
            assert!(err.starts_with("name:"), "{bad}: {err}");
        }
    }

    #[test]
    fn plugin_names_are_file_names_not_paths() {
        for good in ["x", "facebook", "my-plugin_2", "x.v2"] {
            assert!(check_plugin_name(good).is_ok(), "{good}");
        }
        for bad in ["", "../x", "a/b", ".hidden", "a\\b"] {
            assert!(check_plugin_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn omitted_or_masked_secrets_keep_their_value_and_given_ones_replace_it() {
        let old = channel(&[("a", "old-a"), ("b", "old-b"), ("c", "old-c")]);
        let mut new = channel(&[("a", "new-a"), ("b", MASK), ("d", "new-d")]);
        keep_secrets(&mut new, &old);
        let got: Vec<_> = new
            .secrets
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        assert_eq!(got, ["a=new-a", "b=old-b", "c=old-c", "d=new-d"]);
    }

    #[test]
    fn a_replacement_takes_the_name_from_the_path_and_refuses_a_rename() {
        let body = serde_json::json!({ "plugin": "x", "workgroup": "Social" });
        let ch = replacement("x2", body.clone()).unwrap();
        assert_eq!((ch.name.as_str(), ch.post_limit), ("x2", 100));
        let mut renamed = body.clone();
        renamed["name"] = "other".into();
        let err = replacement("x2", renamed).unwrap_err().to_string();
        assert!(err.contains("renamed"), "{err}");
        let err = replacement("x2", serde_json::json!({ "plugin": "x" }))
            .unwrap_err()
            .to_string();
        assert!(err.contains("workgroup"), "{err}");
        assert!(replacement("x2", serde_json::json!([1])).is_err());
    }

    #[test]
    fn the_config_files_range_checks_apply() {
        let mut ch = channel(&[]);
        ch.poll_interval_ms = 10;
        let err = format!("{:#}", ch.validate().unwrap_err());
        assert!(err.contains("poll_interval_ms"), "{err}");
        let mut ch = channel(&[]);
        ch.grouping_timeout_s = 5000;
        assert!(format!("{:#}", ch.validate().unwrap_err()).contains("grouping_timeout_s"));
        let mut ch = channel(&[]);
        ch.allowed_hosts = vec!["http://h/path".into()];
        assert!(format!("{:#}", ch.validate().unwrap_err()).contains("allowed_hosts"));
    }
}
