//! Adding segments and status time up into a report's figures.

use std::collections::BTreeMap;

use crate::store::rollup::SegmentRow;

/// The upper bounds (seconds) of the wait distribution's bands; the last band has none.
pub const WAIT_BANDS_S: [i64; 7] = [10, 30, 60, 120, 300, 900, 3600];

/// Sums for one key (a workgroup, an agent, …) over one interval or the whole period.
/// Averages are derived when shown, so sums of two intervals add up exactly.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Figures {
    /// Segments that entered the queue (new interactions and transfers in).
    pub arrivals: i64,
    pub answered: i64,
    pub abandoned: i64,
    /// Answered within the workgroup's service-level target.
    pub answered_in_target: i64,
    /// Sum and count of waits of segments that ended their wait (answered or not).
    pub wait_ms_sum: i64,
    pub waits: i64,
    pub longest_wait_ms: i64,
    /// How many waits fell in each band of [`WAIT_BANDS_S`] (up to and including its
    /// bound), the last one longer than an hour.
    pub wait_bands: [i64; 8],
    /// Sum of waits of answered segments (speed of answer).
    pub answer_ms_sum: i64,
    pub connected_ms: i64,
    pub held_ms: i64,
    pub wrapup_ms: i64,
    pub transfers_in: i64,
    pub transfers_out: i64,
    /// Wrap-up codes and how often each was chosen.
    pub wrapup_codes: BTreeMap<String, i64>,
    /// Agents only: ms in each status (`available`, `away`, `not_responding`, `logged_out`).
    pub status_ms: BTreeMap<String, i64>,
}

impl Figures {
    /// Adds one segment.
    pub fn add(&mut self, row: &SegmentRow) {
        let s = &row.segment;
        self.arrivals += 1;
        if s.answered_at.is_some() {
            self.answered += 1;
            self.answer_ms_sum += s.wait_ms().unwrap_or(0);
        }
        if s.abandoned {
            self.abandoned += 1;
        }
        if row.in_target {
            self.answered_in_target += 1;
        }
        if let Some(wait) = s.wait_ms() {
            self.wait_ms_sum += wait;
            self.waits += 1;
            self.longest_wait_ms = self.longest_wait_ms.max(wait);
            let band = WAIT_BANDS_S.partition_point(|&b| b * 1000 < wait);
            self.wait_bands[band] += 1;
        }
        self.connected_ms += s.connected_ms;
        self.held_ms += s.held_ms;
        self.wrapup_ms += s.wrapup_ms;
        self.transfers_in += i64::from(s.transfer_in);
        self.transfers_out += i64::from(s.transfer_out);
        if let Some(code) = &row.wrapup_code {
            match self.wrapup_codes.get_mut(code) {
                Some(n) => *n += 1,
                None => {
                    self.wrapup_codes.insert(code.clone(), 1);
                }
            }
        }
    }

    /// Adds another's sums to these.
    pub fn merge(&mut self, other: &Figures) {
        self.arrivals += other.arrivals;
        self.answered += other.answered;
        self.abandoned += other.abandoned;
        self.answered_in_target += other.answered_in_target;
        self.wait_ms_sum += other.wait_ms_sum;
        self.waits += other.waits;
        self.longest_wait_ms = self.longest_wait_ms.max(other.longest_wait_ms);
        for (a, b) in self.wait_bands.iter_mut().zip(other.wait_bands) {
            *a += b;
        }
        self.answer_ms_sum += other.answer_ms_sum;
        self.connected_ms += other.connected_ms;
        self.held_ms += other.held_ms;
        self.wrapup_ms += other.wrapup_ms;
        self.transfers_in += other.transfers_in;
        self.transfers_out += other.transfers_out;
        for (code, n) in &other.wrapup_codes {
            *self.wrapup_codes.entry(code.clone()).or_default() += n;
        }
        for (status, ms) in &other.status_ms {
            *self.status_ms.entry(status.clone()).or_default() += ms;
        }
    }

    /// Answered within target over answered and abandoned, in percent.
    pub fn service_level_percent(&self) -> Option<f64> {
        let offered = self.answered + self.abandoned;
        (offered > 0).then(|| round1(100.0 * self.answered_in_target as f64 / offered as f64))
    }

    pub fn average_wait_s(&self) -> Option<f64> {
        (self.waits > 0).then(|| round1(self.wait_ms_sum as f64 / self.waits as f64 / 1000.0))
    }

    pub fn average_speed_of_answer_s(&self) -> Option<f64> {
        (self.answered > 0)
            .then(|| round1(self.answer_ms_sum as f64 / self.answered as f64 / 1000.0))
    }

    /// Connected, held and wrap-up time per answered segment.
    pub fn average_handle_s(&self) -> Option<f64> {
        self.per_answered(self.connected_ms + self.held_ms + self.wrapup_ms)
    }

    pub fn per_answered(&self, ms: i64) -> Option<f64> {
        (self.answered > 0).then(|| round1(ms as f64 / self.answered as f64 / 1000.0))
    }

    /// Agents: handle time over signed-in time (every status but logged out), at most
    /// 100 %. Social work overlaps, so an agent handling two at once still reads 100 %.
    pub fn occupancy_percent(&self) -> Option<f64> {
        let signed_in: i64 = self
            .status_ms
            .iter()
            .filter(|(s, _)| s.as_str() != "logged_out")
            .map(|(_, ms)| ms)
            .sum();
        let handle = self.connected_ms + self.held_ms + self.wrapup_ms;
        (signed_in > 0).then(|| round1((100.0 * handle as f64 / signed_in as f64).min(100.0)))
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}
