//! Per-source status of a channel: how each source of its polls fared (a search, the
//! mentions of one handle, the direct messages of one account, a page's feed), and the
//! stream lines that could not be read or stored. Both are shown to administrators in
//! the channel's status, so a failing source or a poison line is never only a log line.

use serde::Serialize;
use utoipa::ToSchema;

/// What a connector said about one source after a poll.
#[derive(Clone, Debug, PartialEq)]
pub struct SourceReport {
    pub name: String,
    pub error: Option<String>,
    pub retry_at: Option<i64>,
    pub warnings: Vec<String>,
}

/// Warnings kept per source (the newest).
const MAX_WARNINGS: usize = 20;
/// Failed stream lines kept for retry at most; older ones are dropped with an error.
pub(crate) const MAX_STREAM_FAILURES: usize = 100;

/// One source of a channel's polls, as the administrator sees it.
#[derive(Clone, Debug, Default, Serialize, ToSchema, PartialEq)]
pub struct SourceState {
    /// The source, as the connector names it (`search`, `mentions @acme`, ...).
    pub name: String,
    /// False while its last poll failed; the others still go on.
    pub ok: bool,
    /// Why its last poll failed, in plain words (a rate limit or usage cap with its reason).
    pub error: Option<String>,
    /// When it is asked again (the end of a rate limit or usage cap), unix ms.
    pub retry_at: Option<i64>,
    /// When it last answered, unix ms.
    pub last_ok_at: Option<i64>,
    /// When it last failed, unix ms.
    pub last_error_at: Option<i64>,
    /// Problems with parts of answers that still succeeded (errors the platform reported
    /// beside its results, items left out), newest last.
    pub warnings: Vec<SourceWarning>,
}

/// A problem with part of an answer.
#[derive(Clone, Debug, Serialize, ToSchema, PartialEq)]
pub struct SourceWarning {
    /// When it was reported, unix ms.
    pub at: i64,
    pub text: String,
}

/// A stream line that could not be read or stored; it is retried until it is.
#[derive(Clone, Debug, Serialize, ToSchema, PartialEq)]
pub struct StreamFailure {
    /// The start of the line, for recognising it.
    pub line: String,
    /// Why it failed the last time.
    pub error: String,
    /// How many times it was tried.
    pub attempts: u32,
    /// When it first failed, unix ms.
    pub first_failed_at: i64,
    /// When it is tried again, unix ms.
    pub retry_at: i64,
}

/// Merges a poll's reports into the kept states, by source name; sources the poll did not
/// mention (a setting changed) are dropped.
pub(crate) fn merge(states: &mut Vec<SourceState>, reports: Vec<SourceReport>, now: i64) {
    let mut next = Vec::with_capacity(reports.len());
    for report in reports {
        let mut state = states
            .iter()
            .find(|s| s.name == report.name)
            .cloned()
            .unwrap_or_else(|| SourceState {
                name: report.name.clone(),
                ..SourceState::default()
            });
        state.ok = report.error.is_none();
        state.retry_at = report.retry_at;
        match report.error {
            None => {
                state.error = None;
                state.last_ok_at = Some(now);
            }
            Some(error) => {
                state.error = Some(error);
                state.last_error_at = Some(now);
            }
        }
        state.warnings.extend(
            report
                .warnings
                .into_iter()
                .map(|text| SourceWarning { at: now, text }),
        );
        let excess = state.warnings.len().saturating_sub(MAX_WARNINGS);
        state.warnings.drain(..excess);
        next.push(state);
    }
    *states = next;
}

/// One line for the channel's `last_error` when every source failed.
pub(crate) fn all_failed(reports: &[SourceReport]) -> Option<String> {
    if reports.is_empty() || reports.iter().any(|r| r.error.is_none()) {
        return None;
    }
    Some(
        reports
            .iter()
            .map(|r| format!("{}: {}", r.name, r.error.as_deref().unwrap_or_default()))
            .collect::<Vec<_>>()
            .join("; "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(name: &str, error: Option<&str>, warnings: &[&str]) -> SourceReport {
        SourceReport {
            name: name.into(),
            error: error.map(str::to_owned),
            retry_at: error.map(|_| 99),
            warnings: warnings.iter().map(|w| w.to_string()).collect(),
        }
    }

    #[test]
    fn each_source_keeps_its_own_state_and_warnings_stay_visible() {
        let mut states = Vec::new();
        merge(
            &mut states,
            vec![
                report("search", None, &["X reported: Not Found Error"]),
                report("direct messages @acme", Some("403 Forbidden"), &[]),
            ],
            10,
        );
        assert!(states[0].ok && states[0].last_ok_at == Some(10));
        assert_eq!(states[1].error.as_deref(), Some("403 Forbidden"));
        assert_eq!(states[1].retry_at, Some(99));
        merge(
            &mut states,
            vec![
                report("search", None, &[]),
                report("direct messages @acme", None, &[]),
            ],
            20,
        );
        assert_eq!(
            states[0].warnings.len(),
            1,
            "a warning outlives the next poll"
        );
        assert!(states[1].ok && states[1].error.is_none());
        assert_eq!(
            (states[1].last_ok_at, states[1].last_error_at),
            (Some(20), Some(10))
        );
        assert_eq!(all_failed(&[report("a", None, &[])]), None);
        assert_eq!(
            all_failed(&[report("a", Some("x"), &[]), report("b", Some("y"), &[])]).as_deref(),
            Some("a: x; b: y")
        );
    }
}
