//! Reply windows: what the platform accepts now, asked of the connector before the agent
//! sends, so a reply the platform would refuse is refused here, before anything is sent.

use crate::clock::now_ms;
use crate::interactions::ActionError;
use crate::interactions::Core;
use crate::model::interaction::{Interaction, ReplyWindows, Visibility};
use crate::model::reply::ReplyWindow;
use crate::store::outbox::Extras;
use crate::store::queries;

/// What may be sent now in an interaction, for both visibilities. `None` when the
/// channel is gone or its connector cannot say (then nothing is restricted up front).
pub async fn window(core: &Core, ix: &Interaction) -> Option<ReplyWindows> {
    let channel = core.channels.get(&ix.channel)?;
    let id = ix.id;
    let last = core
        .store
        .read(move |c| queries::last_customer_at(c, id))
        .await
        .ok()
        .flatten();
    let now = now_ms();
    let asked = tokio::task::spawn_blocking(move || {
        let ask = |v| channel.connector.reply_window(v, last, now);
        Ok::<_, crate::connectors::CallError>(ReplyWindows {
            public: ask(Visibility::Public)?,
            private: ask(Visibility::Private)?,
        })
    })
    .await
    .ok()?;
    asked
        .inspect_err(|e| tracing::warn!(interaction = id, error = %e, "reply window unknown"))
        .ok()
}

/// Refuses a reply the platform would not take now, saying why in plain words.
pub fn check(
    windows: &ReplyWindows,
    visibility: Visibility,
    extras: &Extras,
) -> Result<(), ActionError> {
    let w: &ReplyWindow = match visibility {
        Visibility::Public => &windows.public,
        Visibility::Private => &windows.private,
    };
    let why = || w.note.clone().unwrap_or_default();
    match (&extras.template, w.free_form, w.templates) {
        (Some(_), _, true) | (None, true, _) => Ok(()),
        (Some(_), _, false) => Err(ActionError::Conflict(
            format!("this conversation does not take templates now. {}", why())
                .trim()
                .to_owned(),
        )),
        (None, false, true) => Err(ActionError::Conflict(format!(
            "only a template can be sent now. {}",
            why()
        ))),
        (None, false, false) => Err(ActionError::Conflict(format!(
            "the platform accepts no reply in this conversation now. {}",
            why()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn windows(free_form: bool, templates: bool) -> ReplyWindows {
        let w = ReplyWindow {
            free_form,
            templates,
            until: None,
            note: Some("The customer wrote over 24 hours ago.".into()),
            limit: None,
        };
        ReplyWindows {
            public: w.clone(),
            private: w,
        }
    }

    fn template() -> Extras {
        Extras {
            template: Some(crate::model::reply::Template {
                name: "order_update".into(),
                language: "en_US".into(),
                parameters: vec![],
            }),
            ..Extras::default()
        }
    }

    #[test]
    fn text_needs_the_free_form_window_and_templates_need_template_support() {
        let none = Extras::default();
        assert!(check(&windows(true, false), Visibility::Private, &none).is_ok());
        let err = check(&windows(false, true), Visibility::Private, &none).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("only a template can be sent now"),
            "{err}"
        );
        assert!(err.to_string().contains("24 hours"), "{err}");
        assert!(check(&windows(false, true), Visibility::Private, &template()).is_ok());
        assert!(check(&windows(true, false), Visibility::Private, &template()).is_err());
        let closed = check(&windows(false, false), Visibility::Private, &none).unwrap_err();
        assert!(closed.to_string().contains("accepts no reply"), "{closed}");
    }
}
