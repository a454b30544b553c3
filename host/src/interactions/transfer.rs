//! Where a transfer goes: the agent's choice, then the workflow's transfer initiator.

use rhai::{Dynamic, Map};

use super::Core;
use super::actions::TransferTarget;
use super::service::ActionError;
use crate::model::interaction::MediaType;
use crate::store::{directory, queries};
use crate::workflow::Effect;

/// Resolves `to_user` / `to_workgroup` and lets the channel's workflow adjust the route
/// (`on_transfer_conversation(ix, target)` or `on_transfer_direct_message(ix, target)`;
/// a `route(ix, #{..})` effect there overrides workgroup, priority and skills). Only the
/// agent connected to the interaction may ask: nobody else's request runs its workflow.
pub async fn target(
    core: &Core,
    user: i64,
    id: i64,
    to_user: Option<String>,
    to_workgroup: Option<String>,
) -> Result<TransferTarget, ActionError> {
    core.interactions.require_connected(user, id)?;
    let ix = core
        .store
        .read(move |c| queries::interaction(c, id))
        .await?
        .ok_or(ActionError::NotFound(id))?;
    let agent_name = to_user.clone();
    let mut target = match (to_user, to_workgroup) {
        (Some(name), None) => {
            let n = name.clone();
            let user = core
                .store
                .read(move |c| directory::user_by_name(c, &n))
                .await?
                .ok_or_else(|| ActionError::Invalid(format!("There is no user named “{name}”.")))?;
            TransferTarget {
                workgroup: ix.workgroup.clone(),
                agent: Some(user.id),
                priority: ix.priority,
                skills: None,
                note: None,
                decided: None,
            }
        }
        (None, Some(workgroup)) => TransferTarget {
            workgroup,
            agent: None,
            priority: ix.priority,
            skills: ix.skills.clone(),
            note: None,
            decided: None,
        },
        _ => {
            return Err(ActionError::Invalid(
                "Choose either an agent or a workgroup to transfer to.".into(),
            ));
        }
    };
    let Some(channel) = core.channels.get(&ix.channel) else {
        return Ok(target);
    };
    let handler = match ix.media_type {
        MediaType::SocialConversation => "on_transfer_conversation",
        MediaType::SocialDirectMessage => "on_transfer_direct_message",
    };
    let subject = core
        .store
        .read(move |c| crate::store::workflow::subject(c, id))
        .await?
        .map(|(_, subject)| super::hooks::with_channel(core, subject))
        .ok_or(ActionError::NotFound(id))?;
    let mut to = Map::new();
    to.insert("workgroup".into(), target.workgroup.clone().into());
    to.insert(
        "agent".into(),
        agent_name.map(Dynamic::from).unwrap_or(Dynamic::UNIT),
    );
    match core.workflows.on_transfer(
        ix.workflow_version,
        &channel.config.workflow,
        handler,
        &subject,
        to,
        core.world.clone(),
    ) {
        Ok(Some(outcome)) => {
            let handler = format!("{} {handler}", channel.config.workflow);
            target.decided = Some(crate::model::effect::decision(
                outcome.version,
                &handler,
                &outcome.effects,
            ));
            for effect in outcome.effects {
                if let Effect::Route(route) = effect {
                    if target.agent.is_none() {
                        target.workgroup = route.workgroup;
                    }
                    target.priority = route.priority;
                    target.skills = route.skills.or(target.skills);
                }
            }
        }
        Ok(None) => {}
        Err(e) => {
            tracing::error!(interaction = id, error = %e, "transfer initiator failed; transferring as asked")
        }
    }
    Ok(target)
}
