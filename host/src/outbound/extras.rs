//! What a reply carries besides its text, checked before anything is stored or sent: the
//! account it is sent from (one of the channel's `handles`) and the choices of a list
//! picker. A refusal names what to change, in the agent's words; the platform is not asked.

use crate::interactions::{ActionError, Core};
use crate::model::reply::Extras;

/// The channel's accounts a reply can be sent from, as people write them (`@acme`), the
/// default first: its `handles` setting (a comma list, as the X connector reads it). Empty
/// for a channel that sends from one account. Only names: never a credential.
pub fn reply_handles(core: &Core, channel: &str) -> Vec<String> {
    core.channels
        .get(channel)
        .map(|ch| handles_in(ch.config.settings.get("handles").map(String::as_str)))
        .unwrap_or_default()
}

/// `"acme, @AcmeHelp,"` → `["@acme", "@AcmeHelp"]`: trimmed, one `@`, no empties or repeats.
fn handles_in(setting: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for raw in setting.unwrap_or_default().split(',') {
        let bare = raw.trim().trim_start_matches('@').trim();
        if bare.is_empty() || out.iter().any(|h| h[1..].eq_ignore_ascii_case(bare)) {
            continue;
        }
        out.push(format!("@{bare}"));
    }
    out
}

/// Refuses, before sending, a reply from an account that is not one of the channel's and a
/// list picker with a choice the customer could not read or tell apart.
pub fn check(core: &Core, channel: &str, extras: &Extras) -> Result<(), ActionError> {
    let handles = if extras.from_handle.is_some() {
        reply_handles(core, channel)
    } else {
        Vec::new()
    };
    check_with(&handles, extras).map_err(ActionError::Invalid)
}

fn check_with(handles: &[String], extras: &Extras) -> Result<(), String> {
    if let Some(wanted) = extras.from_handle.as_deref() {
        let bare = wanted.trim().trim_start_matches('@').trim();
        if !bare.is_empty() && !handles.iter().any(|h| h[1..].eq_ignore_ascii_case(bare)) {
            return Err(if handles.is_empty() {
                format!("This channel sends from one account only: leave out @{bare}.")
            } else {
                format!(
                    "@{bare} is not one of this channel's accounts: reply as {}.",
                    handles.join(", ")
                )
            });
        }
    }
    let mut seen: Vec<&str> = Vec::new();
    for (n, item) in extras.list_items.iter().enumerate() {
        let n = n + 1;
        if item.title.trim().is_empty() {
            return Err(format!(
                "Choice {n} of the list has no title: give every choice a title, or remove it."
            ));
        }
        let id = item.id.trim();
        if id.is_empty() {
            return Err(format!(
                "Choice {n} of the list (“{}”) has no id.",
                item.title.trim()
            ));
        }
        if seen.contains(&id) {
            return Err(format!(
                "Two choices of the list have the id “{id}”: each needs its own, to tell which \
                 one the customer picked."
            ));
        }
        seen.push(id);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::reply::ListItem;

    fn item(id: &str, title: &str) -> ListItem {
        ListItem {
            id: id.into(),
            title: title.into(),
        }
    }

    #[test]
    fn handles_are_read_as_people_write_them_default_first() {
        assert_eq!(
            handles_in(Some(" acme, @AcmeHelp ,, acmehelp")),
            ["@acme", "@AcmeHelp"]
        );
        assert!(handles_in(None).is_empty());
        assert!(handles_in(Some(" , ")).is_empty());
    }

    #[test]
    fn a_reply_from_another_account_is_refused_naming_the_channels() {
        let handles = handles_in(Some("acme, acmehelp"));
        let from = |h: &str| Extras {
            from_handle: Some(h.into()),
            ..Default::default()
        };
        assert_eq!(check_with(&handles, &from("@AcmeHelp")), Ok(()));
        assert_eq!(check_with(&handles, &from("acme")), Ok(()));
        // None chosen: the default sends.
        assert_eq!(check_with(&handles, &from("  ")), Ok(()));
        assert_eq!(check_with(&handles, &Extras::default()), Ok(()));
        let refused = check_with(&handles, &from("someoneelse")).unwrap_err();
        assert!(
            refused.contains("@someoneelse") && refused.contains("@acme, @acmehelp"),
            "{refused}"
        );
        let single = check_with(&[], &from("acme")).unwrap_err();
        assert!(single.contains("one account"), "{single}");
    }

    #[test]
    fn a_list_needs_titles_and_distinct_ids() {
        let list = |items: Vec<ListItem>| Extras {
            list_items: items,
            ..Default::default()
        };
        assert_eq!(
            check_with(&[], &list(vec![item("a", "Main St"), item("b", "Harbor")])),
            Ok(())
        );
        let untitled =
            check_with(&[], &list(vec![item("a", "Main St"), item("b", "  ")])).unwrap_err();
        assert!(
            untitled.starts_with("Choice 2 of the list has no title"),
            "{untitled}"
        );
        let twice =
            check_with(&[], &list(vec![item("a", "Main St"), item(" a", "Harbor")])).unwrap_err();
        assert!(twice.contains("“a”"), "{twice}");
        let no_id = check_with(&[], &list(vec![item("", "Main St")])).unwrap_err();
        assert!(
            no_id.contains("Choice 1") && no_id.contains("no id"),
            "{no_id}"
        );
    }
}
