//! Agents acting on platform messages of their interaction: delete our own tweet or a
//! customer's comment, hide a comment. The platform acts first; the transcript follows.

use crate::clock::now_ms;
use crate::interactions::ActionError;
use crate::interactions::Core;
use crate::model::interaction::State;
use crate::store::{directory, queries};

/// What to do with a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Moderation {
    /// Remove it from the platform; its stored text is erased.
    Delete,
    /// Hide it from the public (comments).
    Hide,
}

/// Deletes or hides `platform_message_id`, which must belong to interaction `id`, held
/// by `user`.
pub async fn moderate(
    core: &Core,
    user: &directory::User,
    id: i64,
    platform_message_id: String,
    action: Moderation,
) -> Result<(), ActionError> {
    core.interactions.require_connected(user.id, id)?;
    let pmid = platform_message_id.clone();
    let channel = core
        .store
        .read(move |c| queries::message_channel(c, id, &pmid))
        .await?
        .ok_or_else(|| {
            ActionError::Invalid(format!(
                "That message is not part of this conversation (conversation {id}); reload it and try again."
            ))
        })?;
    let connector = core
        .channels
        .get(&channel)
        .ok_or_else(|| {
            ActionError::Conflict(format!(
                "The channel “{channel}” is not running, so nothing can be changed on the platform now; ask an administrator to check it."
            ))
        })?;
    let pmid = platform_message_id.clone();
    let done = tokio::task::spawn_blocking(move || match action {
        Moderation::Delete => connector.connector.delete(&pmid),
        Moderation::Hide => connector.connector.hide(&pmid),
    })
    .await
    .map_err(|e| ActionError::Store(e.into()))?;
    // The platform's refusal is the agent's answer, in its own words.
    done.map_err(|e| ActionError::Conflict(e.to_string()))?;
    let (pmid, uid) = (platform_message_id, user.id);
    core.store
        .write(move |c| {
            let now = now_ms();
            let kind = match action {
                Moderation::Delete => {
                    queries::erase_message(c, &channel, &pmid)?;
                    "deleted_on_platform"
                }
                Moderation::Hide => "hidden_on_platform",
            };
            queries::record_event(c, id, now, kind, State::Connected, Some(uid), Some(&pmid))
        })
        .await?;
    core.interactions.notify_changed(id).await;
    Ok(())
}
