//! The organisation's clock: its time zone (`[organisation] time_zone`) and its opening
//! hours (`[[schedules]]`). Everything that decides or groups by local time asks here,
//! so a workflow's `is_open("support")`, a fixture's start time and a report's days all
//! agree on when a day begins. Weeks start on Monday.
//!
//! A schedule is written as lines a person reads aloud:
//!
//! ```toml
//! [organisation]
//! time_zone = "Europe/Paris"
//!
//! [[schedules]]
//! name = "support"
//! hours = ["mon-fri 08:30-18:00", "sat 10:00-13:00"]
//! holidays = ["2026-12-25", "2027-01-01"]
//! ```
//!
//! A range that ends before it starts (`fri 22:00-02:00`) runs past midnight into the
//! next day; `24:00` ends a day. A holiday is closed all day, including the part of an
//! overnight range that spills into it. Time zone data is bundled with the binary, so
//! an answer never depends on the machine's own tables.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use serde::Deserialize;

/// `[organisation]` as the config writes it.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OrganisationConfig {
    /// An IANA time zone name (`Europe/Paris`, `America/New_York`, `UTC`).
    #[serde(default = "utc_name")]
    pub time_zone: String,
}

impl Default for OrganisationConfig {
    fn default() -> Self {
        OrganisationConfig {
            time_zone: utc_name(),
        }
    }
}

fn utc_name() -> String {
    "UTC".into()
}

/// One `[[schedules]]` table as the config writes it.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    /// What workflows call it by (`is_open("support")`).
    pub name: String,
    /// Opening hours, one line per group of days: `"mon-fri 09:00-17:30"`.
    #[serde(default)]
    pub hours: Vec<String>,
    /// Days closed all day, `YYYY-MM-DD` in the organisation's time zone.
    #[serde(default)]
    pub holidays: Vec<String>,
}

/// Opening hours of one schedule, by weekday (Monday first), as minutes of the day.
#[derive(Clone, Debug, Default, PartialEq)]
struct Schedule {
    open: [Vec<(u32, u32)>; 7],
    holidays: BTreeSet<Date>,
}

/// The organisation's time zone and schedules, checked.
#[derive(Clone, Debug)]
pub struct Organisation {
    tz: TimeZone,
    tz_name: String,
    schedules: BTreeMap<String, Schedule>,
}

impl Default for Organisation {
    fn default() -> Self {
        Organisation {
            tz: TimeZone::UTC,
            tz_name: utc_name(),
            schedules: BTreeMap::new(),
        }
    }
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn day_index(word: &str) -> Result<usize, String> {
    let w = word.trim().to_ascii_lowercase();
    DAYS.iter()
        .position(|d| w == *d || (w.len() > 3 && full_day(d).starts_with(&w)))
        .ok_or_else(|| format!("unknown day `{word}` (mon, tue, wed, thu, fri, sat, sun)"))
}

fn full_day(short: &str) -> &'static str {
    match short {
        "mon" => "monday",
        "tue" => "tuesday",
        "wed" => "wednesday",
        "thu" => "thursday",
        "fri" => "friday",
        "sat" => "saturday",
        _ => "sunday",
    }
}

/// `09:00` as minutes of the day; `24:00` is the end of the day.
fn minutes(word: &str) -> Result<u32, String> {
    let bad = || format!("`{word}` is not a time of day (HH:MM, 00:00 to 24:00)");
    let (h, m) = word.trim().split_once(':').ok_or_else(bad)?;
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if m >= 60 || h > 24 || (h == 24 && m != 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

/// `mon-fri`, `sat`, `mon,wed,fri` → weekday indexes.
fn days(word: &str) -> Result<Vec<usize>, String> {
    let mut out = Vec::new();
    for part in word.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (day_index(a)?, day_index(b)?);
                let mut d = a;
                loop {
                    out.push(d);
                    if d == b {
                        break;
                    }
                    d = (d + 1) % 7;
                }
            }
            None => out.push(day_index(part)?),
        }
    }
    Ok(out)
}

impl Schedule {
    fn parse(config: &ScheduleConfig) -> Result<Schedule, String> {
        let mut schedule = Schedule::default();
        for line in &config.hours {
            let fail = |why: String| format!("hours {line:?}: {why}");
            let mut words = line.split_whitespace();
            let (Some(day_words), Some(range)) = (words.next(), words.next()) else {
                return Err(fail(
                    "write the days and a time range, like \"mon-fri 09:00-17:30\"".into(),
                ));
            };
            if let Some(extra) = words.next() {
                return Err(fail(format!(
                    "unexpected `{extra}`; one range per line, like \"sat 10:00-13:00\""
                )));
            }
            let (from, to) = range
                .split_once('-')
                .ok_or_else(|| fail(format!("`{range}` is not a range like 09:00-17:30")))?;
            let (from, to) = (minutes(from).map_err(fail)?, minutes(to).map_err(fail)?);
            if from == to {
                return Err(fail("the range is empty".into()));
            }
            for day in days(day_words).map_err(fail)? {
                if from < to {
                    schedule.open[day].push((from, to));
                } else {
                    // Past midnight: the rest of this day and the start of the next.
                    schedule.open[day].push((from, 24 * 60));
                    if to > 0 {
                        schedule.open[(day + 1) % 7].push((0, to));
                    }
                }
            }
        }
        for day in &config.holidays {
            let date: Date = day
                .parse()
                .map_err(|_| format!("holiday {day:?} is not a date like 2026-12-25"))?;
            schedule.holidays.insert(date);
        }
        Ok(schedule)
    }

    fn is_open(&self, local: &DateTime) -> bool {
        if self.holidays.contains(&local.date()) {
            return false;
        }
        let day = local.weekday().to_monday_zero_offset() as usize;
        let minute = local.hour() as u32 * 60 + local.minute() as u32;
        self.open[day]
            .iter()
            .any(|&(from, to)| minute >= from && minute < to)
    }
}

impl Organisation {
    /// Checks the config's `[organisation]` and `[[schedules]]`; the error says what is
    /// wrong in the administrator's terms.
    pub fn new(
        org: &OrganisationConfig,
        schedules: &[ScheduleConfig],
    ) -> Result<Organisation, String> {
        let tz = TimeZone::get(&org.time_zone).map_err(|_| {
            format!(
                "[organisation] time_zone {:?} is not a time zone name (an IANA name such as \"Europe/Paris\" or \"UTC\")",
                org.time_zone
            )
        })?;
        let mut parsed = BTreeMap::new();
        for s in schedules {
            if s.name.trim().is_empty() {
                return Err("[[schedules]]: a schedule needs a name".into());
            }
            let schedule = Schedule::parse(s).map_err(|e| format!("schedule `{}`: {e}", s.name))?;
            if parsed.insert(s.name.clone(), schedule).is_some() {
                return Err(format!("schedule `{}` is defined twice", s.name));
            }
        }
        Ok(Organisation {
            tz,
            tz_name: org.time_zone.clone(),
            schedules: parsed,
        })
    }

    /// The time zone's name as configured.
    pub fn time_zone_name(&self) -> &str {
        &self.tz_name
    }

    /// The time zone.
    pub fn time_zone(&self) -> &TimeZone {
        &self.tz
    }

    /// The local date and time of a unix-ms instant in the organisation's time zone.
    pub fn local(&self, at_ms: i64) -> DateTime {
        self.tz
            .to_datetime(Timestamp::from_millisecond(at_ms).unwrap_or(Timestamp::UNIX_EPOCH))
    }

    /// Unix ms of a local date and time written `2026-12-07T09:00` (or with seconds),
    /// in the organisation's time zone.
    pub fn parse_local(&self, text: &str) -> Result<i64, String> {
        let dt: DateTime = text
            .parse()
            .map_err(|_| format!("{text:?} is not a local date and time like 2026-12-07T09:00"))?;
        let at = self
            .tz
            .to_timestamp(dt)
            .map_err(|e| format!("{text:?}: {e}"))?;
        Ok(at.as_millisecond())
    }

    /// Names of the schedules.
    pub fn schedule_names(&self) -> Vec<&str> {
        self.schedules.keys().map(String::as_str).collect()
    }

    /// Whether schedule `name` is open at `at_ms`. Unknown names are an error naming
    /// the ones there are.
    pub fn is_open(&self, name: &str, at_ms: i64) -> Result<bool, String> {
        let schedule = self.schedules.get(name).ok_or_else(|| {
            let names = self.schedule_names();
            if names.is_empty() {
                format!("no schedule named `{name}`: the config defines no [[schedules]]")
            } else {
                format!(
                    "no schedule named `{name}` (schedules: {})",
                    names.join(", ")
                )
            }
        })?;
        Ok(schedule.is_open(&self.local(at_ms)))
    }

    /// The local date and time of `at_ms`, `2026-12-07 09:00`, for messages.
    pub fn describe(&self, at_ms: i64) -> String {
        let local = self.local(at_ms);
        format!(
            "{} {:02}:{:02} {}",
            local.date(),
            local.hour(),
            local.minute(),
            self.tz_name
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An organisation in `tz` with one schedule, `support`.
    fn try_org(tz: &str, hours: &[&str], holidays: &[&str]) -> Result<Organisation, String> {
        Organisation::new(
            &OrganisationConfig {
                time_zone: tz.into(),
            },
            &[ScheduleConfig {
                name: "support".into(),
                hours: hours.iter().map(|s| s.to_string()).collect(),
                holidays: holidays.iter().map(|s| s.to_string()).collect(),
            }],
        )
    }

    fn org(tz: &str, hours: &[&str], holidays: &[&str]) -> Organisation {
        try_org(tz, hours, holidays).unwrap()
    }

    #[test]
    fn opens_and_closes_in_the_organisations_time_zone() {
        let o = org("Europe/Paris", &["mon-fri 09:00-17:30"], &[]);
        // Monday 7 December 2026, Paris is UTC+1 in winter.
        let at = |s: &str| o.parse_local(s).unwrap();
        assert!(!o.is_open("support", at("2026-12-07T08:59")).unwrap());
        assert!(o.is_open("support", at("2026-12-07T09:00")).unwrap());
        assert!(o.is_open("support", at("2026-12-07T17:29")).unwrap());
        assert!(!o.is_open("support", at("2026-12-07T17:30")).unwrap());
        assert!(
            !o.is_open("support", at("2026-12-12T10:00")).unwrap(),
            "Saturday"
        );
        // 08:30 UTC is 09:30 in Paris.
        let utc = Organisation::default()
            .parse_local("2026-12-07T08:30")
            .unwrap();
        assert!(o.is_open("support", utc).unwrap());
    }

    #[test]
    fn overnight_ranges_and_holidays() {
        let o = org(
            "UTC",
            &["fri 22:00-02:00", "sat 10:00-12:00"],
            &["2026-12-12"],
        );
        let at = |s: &str| o.parse_local(s).unwrap();
        assert!(o.is_open("support", at("2026-12-11T23:00")).unwrap());
        // Saturday 12 December is a holiday: the spill past midnight is closed too.
        assert!(!o.is_open("support", at("2026-12-12T01:00")).unwrap());
        assert!(!o.is_open("support", at("2026-12-12T11:00")).unwrap());
        assert!(o.is_open("support", at("2026-12-19T01:59")).unwrap());
        assert!(!o.is_open("support", at("2026-12-19T02:00")).unwrap());
    }

    #[test]
    fn mistakes_are_named_in_the_administrators_terms() {
        let err =
            |tz: &str, hours: &[&str], holidays: &[&str]| try_org(tz, hours, holidays).unwrap_err();
        assert!(err("Europe/Pariss", &[], &[]).contains("not a time zone name"));
        let e = err("UTC", &["mon-fry 09:00-17:00"], &[]);
        assert!(
            e.contains("schedule `support`") && e.contains("unknown day `fry`"),
            "{e}"
        );
        assert!(err("UTC", &["mon 9-17"], &[]).contains("not a time of day"));
        assert!(err("UTC", &["mon 25:00-26:00"], &[]).contains("not a time of day"));
        assert!(err("UTC", &["mon 09:00-09:00"], &[]).contains("empty"));
        assert!(err("UTC", &[], &["25/12/2026"]).contains("not a date"));
        let unknown = org("UTC", &["mon 09:00-10:00"], &[])
            .is_open("sales", 0)
            .unwrap_err();
        assert!(unknown.contains("no schedule named `sales`") && unknown.contains("support"));
    }
}
