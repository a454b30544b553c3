//! A report's period cut into intervals in the organisation's time zone.
//!
//! Quarter hours and hours are cut on the local clock at each instant, so when clocks go
//! back the repeated hour is two intervals (the same local label, different offsets) and
//! when they go forward the skipped hour has none. Days and weeks (from Monday) start at
//! local midnight, so a day of a clock change is 23 or 25 hours long.

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ZonedDateTime};

/// How long each interval of a report is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interval {
    QuarterHour,
    Hour,
    Day,
    Week,
}

impl Interval {
    /// From the API's name.
    pub fn parse(s: &str) -> Option<Interval> {
        Some(match s {
            "15m" => Interval::QuarterHour,
            "hour" => Interval::Hour,
            "day" => Interval::Day,
            "week" => Interval::Week,
            _ => return None,
        })
    }

    /// The API's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Interval::QuarterHour => "15m",
            Interval::Hour => "hour",
            Interval::Day => "day",
            Interval::Week => "week",
        }
    }
}

fn timestamp(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn local_midnight(date: Date, tz: &TimeZone) -> i64 {
    date.to_zoned_datetime(tz.clone())
        .map(|z| z.timestamp().as_millisecond())
        .unwrap_or(0)
}

/// The start (unix ms) of the interval that holds `at`.
pub fn start_of(at: i64, interval: Interval, tz: &TimeZone) -> i64 {
    let ts = timestamp(at);
    match interval {
        Interval::QuarterHour | Interval::Hour => {
            let step = if interval == Interval::Hour {
                3_600_000
            } else {
                900_000
            };
            let offset = i64::from(tz.to_offset(ts).seconds()) * 1000;
            (at + offset).div_euclid(step) * step - offset
        }
        Interval::Day => local_midnight(tz.to_datetime(ts).date(), tz),
        Interval::Week => {
            let date = tz.to_datetime(ts).date();
            let back = i64::from(date.weekday().to_monday_zero_offset());
            let monday = date
                .checked_sub(jiff::Span::new().days(back))
                .unwrap_or(date);
            debug_assert_eq!(monday.weekday(), Weekday::Monday);
            local_midnight(monday, tz)
        }
    }
}

/// The start of the interval after the one starting at `start`.
pub fn next(start: i64, interval: Interval, tz: &TimeZone) -> i64 {
    match interval {
        Interval::QuarterHour => start_of(start + 900_000, interval, tz),
        Interval::Hour => start_of(start + 3_600_000, interval, tz),
        Interval::Day | Interval::Week => {
            let days = if interval == Interval::Day { 1 } else { 7 };
            let date = tz.to_datetime(timestamp(start)).date();
            match date.checked_add(jiff::Span::new().days(days)) {
                Ok(d) => local_midnight(d, tz),
                Err(_) => i64::MAX,
            }
        }
    }
    // A zone whose offset moves by more than the step could land on the same start.
    .max(start + 1)
}

/// The starts of every interval that overlaps `[from, to)`, at most `limit` of them
/// (`None` when there would be more).
pub fn starts(
    from: i64,
    to: i64,
    interval: Interval,
    tz: &TimeZone,
    limit: usize,
) -> Option<Vec<i64>> {
    let mut out = Vec::new();
    let mut at = start_of(from, interval, tz);
    while at < to {
        if out.len() == limit {
            return None;
        }
        out.push(at);
        at = next(at, interval, tz);
    }
    Some(out)
}

/// The interval's start as RFC 3339 with the zone's offset then (`2026-03-29T03:00:00+02:00`).
pub fn label(start: i64, tz: &TimeZone) -> String {
    let z: ZonedDateTime = timestamp(start).to_zoned_datetime(tz.clone());
    z.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> i64 {
        s.parse::<Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn hours_follow_the_local_clock_through_both_changes_of_the_year() {
        let paris = TimeZone::get("Europe/Paris").unwrap();
        // Spring: 02:00 local does not exist; 01:00+01:00 is followed by 03:00+02:00.
        let s = starts(
            ms("2026-03-29T00:00:00Z"),
            ms("2026-03-29T02:00:00Z"),
            Interval::Hour,
            &paris,
            10,
        )
        .unwrap();
        let labels: Vec<String> = s.iter().map(|&t| label(t, &paris)).collect();
        assert_eq!(
            labels,
            ["2026-03-29T01:00:00+01:00", "2026-03-29T03:00:00+02:00"]
        );
        // Autumn: 02:00 local happens twice, as two intervals.
        let s = starts(
            ms("2026-10-25T00:00:00Z"),
            ms("2026-10-25T02:00:00Z"),
            Interval::Hour,
            &paris,
            10,
        )
        .unwrap();
        let labels: Vec<String> = s.iter().map(|&t| label(t, &paris)).collect();
        assert_eq!(
            labels,
            ["2026-10-25T02:00:00+02:00", "2026-10-25T02:00:00+01:00"]
        );
    }

    #[test]
    fn days_start_at_local_midnight_and_weeks_on_monday() {
        let paris = TimeZone::get("Europe/Paris").unwrap();
        let s = starts(
            ms("2026-10-24T12:00:00Z"),
            ms("2026-10-26T12:00:00Z"),
            Interval::Day,
            &paris,
            10,
        )
        .unwrap();
        assert_eq!(
            s.iter().map(|&t| label(t, &paris)).collect::<Vec<_>>(),
            [
                "2026-10-24T00:00:00+02:00",
                "2026-10-25T00:00:00+02:00",
                "2026-10-26T00:00:00+01:00"
            ]
        );
        assert_eq!(
            s[2] - s[1],
            25 * 3_600_000,
            "the day clocks go back is 25 hours"
        );
        let w = start_of(ms("2026-12-06T12:00:00Z"), Interval::Week, &paris);
        assert_eq!(label(w, &paris), "2026-11-30T00:00:00+01:00");
        let q = start_of(ms("2026-12-06T12:14:59Z"), Interval::QuarterHour, &paris);
        assert_eq!(label(q, &paris), "2026-12-06T13:00:00+01:00");
    }

    #[test]
    fn too_many_intervals_are_refused() {
        assert!(starts(0, 86_400_000, Interval::QuarterHour, &TimeZone::UTC, 95).is_none());
        assert_eq!(
            starts(0, 86_400_000, Interval::QuarterHour, &TimeZone::UTC, 96)
                .unwrap()
                .len(),
            96
        );
    }
}
