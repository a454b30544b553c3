//! An interaction's history cut into segments, the unit historical reports count.
//!
//! A segment is a stretch of an interaction in one workgroup's queue and with at most one
//! agent: it starts when the interaction is created or transferred, and ends at the next
//! transfer or when the interaction ends. A transfer closes one segment (a transfer out,
//! for its workgroup and agent) and opens the next (a transfer in). So a report per
//! workgroup counts an interaction transferred from sales to support once in each, and a
//! report per agent counts it for both agents who worked it.
//!
//! What each segment holds follows from the recorded state changes alone (kind, state
//! after, who, workgroup after), so reports can be recomputed from the history:
//! - `entered_at`: when it first waited in the segment's queue; wait = `answered_at` (the
//!   first pickup in the segment) minus that; an unanswered one waited until it ended;
//! - `connected_ms` and `held_ms`: time in those states within the segment;
//! - `wrapup_ms`: from the interaction's end to its wrap-up, on the last segment only;
//! - `abandoned`: the interaction ended as abandoned before anyone picked it up here.
//!
//! A change of workgroup that is not a transfer (the workflow rerouting it) moves a
//! segment nobody has answered yet, and starts a new one after an answer.

/// One recorded state change, as reports read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// Unix ms.
    pub at: i64,
    /// Why (`created`, `picked_up`, `transferred`, `abandoned`, `wrapup`, …).
    pub kind: String,
    /// The state after it (`queued`, `connected`, …).
    pub state: String,
    /// The user who acted or was assigned, if any.
    pub user_id: Option<i64>,
    /// The workgroup after it; `None` for changes recorded before it was kept.
    pub workgroup: Option<String>,
}

/// One segment of an interaction (see the module notes).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Segment {
    /// Its place in the interaction, from 0.
    pub seq: i64,
    pub workgroup: String,
    /// The agent who picked it up in this segment.
    pub agent_id: Option<i64>,
    pub entered_at: i64,
    pub answered_at: Option<i64>,
    /// When it ended (transfer or end); `None` while it goes on.
    pub ended_at: Option<i64>,
    pub abandoned: bool,
    pub connected_ms: i64,
    pub held_ms: i64,
    pub wrapup_ms: i64,
    pub transfer_in: bool,
    pub transfer_out: bool,
}

impl Segment {
    /// How long it waited before it was answered, or until it ended unanswered (`None`
    /// while it still waits).
    pub fn wait_ms(&self) -> Option<i64> {
        self.answered_at
            .or(self.ended_at)
            .map(|end| (end - self.entered_at).max(0))
    }

    /// Whether it was answered within a target of `target_s` seconds.
    pub fn in_target(&self, target_s: i64) -> bool {
        self.answered_at
            .is_some_and(|a| a - self.entered_at <= target_s.saturating_mul(1000))
    }
}

fn waiting(state: &str) -> bool {
    matches!(state, "queued" | "alerting" | "connected" | "held")
}

/// Cuts a history (oldest first) into segments. `workgroup` is the interaction's
/// workgroup now, used where a change does not say; `now` closes the time of a state
/// still going on (a live interaction's connected time counts up to now).
pub fn segments(changes: &[Change], workgroup: &str, now: i64) -> Vec<Segment> {
    let Some(first) = changes.first() else {
        return Vec::new();
    };
    let mut out: Vec<Segment> = Vec::new();
    let mut cur = Segment {
        workgroup: first
            .workgroup
            .clone()
            .unwrap_or_else(|| workgroup.to_owned()),
        entered_at: first.at,
        ..Segment::default()
    };
    let mut queued = false;
    let mut state = String::new();
    let mut since = first.at;
    let mut ended: Option<i64> = None;
    for ch in changes {
        // The time since the last change belongs to the state it left.
        let span = (ch.at - since).max(0);
        match state.as_str() {
            "connected" if ended.is_none() => cur.connected_ms += span,
            "held" if ended.is_none() => cur.held_ms += span,
            _ => {}
        }
        since = ch.at;
        if let Some(end) = ended {
            // After the end only the wrap-up counts.
            if ch.kind == "wrapup" && cur.agent_id.is_some() {
                cur.wrapup_ms = (ch.at - end).max(0);
            }
            continue;
        }
        let wg = ch.workgroup.as_deref();
        if ch.kind == "transferred" {
            cur.transfer_out = true;
            cur.ended_at = Some(ch.at);
            let next = Segment {
                seq: cur.seq + 1,
                workgroup: wg.unwrap_or(&cur.workgroup).to_owned(),
                entered_at: ch.at,
                transfer_in: true,
                ..Segment::default()
            };
            out.push(std::mem::replace(&mut cur, next));
            queued = true;
        } else if let Some(wg) = wg.filter(|w| *w != cur.workgroup) {
            if cur.answered_at.is_none() {
                cur.workgroup = wg.to_owned();
            } else {
                cur.ended_at = Some(ch.at);
                let next = Segment {
                    seq: cur.seq + 1,
                    workgroup: wg.to_owned(),
                    entered_at: ch.at,
                    ..Segment::default()
                };
                out.push(std::mem::replace(&mut cur, next));
            }
        }
        if !queued && waiting(&ch.state) {
            queued = true;
            cur.entered_at = ch.at;
        }
        if ch.state == "connected" && cur.answered_at.is_none() {
            cur.answered_at = Some(ch.at);
            cur.agent_id = ch.user_id;
        }
        if ch.state == "disconnected" {
            ended = Some(ch.at);
            cur.ended_at = Some(ch.at);
            cur.abandoned = ch.kind == "abandoned" && cur.answered_at.is_none();
        }
        state = ch.state.clone();
    }
    if ended.is_none() {
        let span = (now - since).max(0);
        match state.as_str() {
            "connected" => cur.connected_ms += span,
            "held" => cur.held_ms += span,
            _ => {}
        }
    }
    out.push(cur);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ch(at: i64, kind: &str, state: &str, user: Option<i64>, wg: Option<&str>) -> Change {
        Change {
            at,
            kind: kind.into(),
            state: state.into(),
            user_id: user,
            workgroup: wg.map(Into::into),
        }
    }

    #[test]
    fn a_transfer_cuts_the_history_in_two_segments_with_their_own_times() {
        let h = [
            ch(1_000, "created", "queued", None, Some("sales")),
            ch(2_000, "offered", "alerting", Some(7), Some("sales")),
            ch(4_000, "picked_up", "connected", Some(7), Some("sales")),
            ch(10_000, "held", "held", Some(7), Some("sales")),
            ch(13_000, "resumed", "connected", Some(7), Some("sales")),
            ch(20_000, "transferred", "queued", Some(7), Some("support")),
            ch(26_000, "picked_up", "connected", Some(8), Some("support")),
            ch(
                30_000,
                "disconnected",
                "disconnected",
                Some(8),
                Some("support"),
            ),
            ch(35_000, "wrapup", "disconnected", Some(8), Some("support")),
        ];
        let s = segments(&h, "support", 99_000);
        assert_eq!(s.len(), 2);
        assert_eq!(
            s[0],
            Segment {
                seq: 0,
                workgroup: "sales".into(),
                agent_id: Some(7),
                entered_at: 1_000,
                answered_at: Some(4_000),
                ended_at: Some(20_000),
                connected_ms: 6_000 + 7_000,
                held_ms: 3_000,
                transfer_out: true,
                ..Segment::default()
            }
        );
        assert_eq!(
            s[1],
            Segment {
                seq: 1,
                workgroup: "support".into(),
                agent_id: Some(8),
                entered_at: 20_000,
                answered_at: Some(26_000),
                ended_at: Some(30_000),
                connected_ms: 4_000,
                wrapup_ms: 5_000,
                transfer_in: true,
                ..Segment::default()
            }
        );
        assert_eq!(s[0].wait_ms(), Some(3_000));
        assert!(s[0].in_target(3) && !s[0].in_target(2));
    }

    #[test]
    fn an_abandon_in_queue_waited_until_it_ended_and_counts_no_agent() {
        let h = [
            ch(0, "buffered", "buffered", None, None),
            ch(5_000, "released", "queued", None, None),
            ch(6_000, "offered", "alerting", Some(3), None),
            ch(9_000, "alert_timeout", "queued", None, None),
            ch(15_000, "abandoned", "disconnected", None, None),
        ];
        let s = segments(&h, "sales", 0);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].workgroup, "sales");
        assert_eq!(
            s[0].entered_at, 5_000,
            "buffering is not waiting in the queue"
        );
        assert!(s[0].abandoned);
        assert_eq!(s[0].agent_id, None);
        assert_eq!(s[0].wait_ms(), Some(10_000));
        assert!(!s[0].in_target(3600));
    }

    #[test]
    fn a_reroute_moves_an_unanswered_segment_and_a_live_one_counts_up_to_now() {
        let h = [
            ch(0, "created", "queued", None, Some("sales")),
            ch(1_000, "rerouted", "queued", None, Some("vip")),
            ch(2_000, "picked_up", "connected", Some(4), Some("vip")),
        ];
        let s = segments(&h, "vip", 12_000);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].workgroup, "vip");
        assert_eq!(s[0].ended_at, None);
        assert_eq!(s[0].connected_ms, 10_000);
        assert_eq!(s[0].wait_ms(), Some(2_000));
    }
}
