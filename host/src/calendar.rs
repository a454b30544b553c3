//! Calendar dates of unix-ms instants, in UTC, for the few messages that name a time in
//! words (the server does not know the reader's time zone; the desktop words instants in
//! local time itself). One copy for the host; the emulator keeps its own (it is its own
//! crate, `switchboard-emulator`, and imports nothing from the host).

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The date (year, month, day) of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `6 Dec 2026 10:00 UTC` for a unix-ms instant.
pub(crate) fn utc_minute(ms: i64) -> String {
    let (year, month, day) = civil_from_days(ms.div_euclid(86_400_000));
    let minute_of_day = ms.rem_euclid(86_400_000) / 60_000;
    format!(
        "{day} {} {year} {:02}:{:02} UTC",
        MONTHS[(month - 1) as usize],
        minute_of_day / 60,
        minute_of_day % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_of_day_counts_and_instants() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(19_737), (2024, 1, 15));
        assert_eq!(utc_minute(0), "1 Jan 1970 00:00 UTC");
        assert_eq!(utc_minute(951_782_400_000), "29 Feb 2000 00:00 UTC");
        assert_eq!(utc_minute(-60_000), "31 Dec 1969 23:59 UTC");
    }
}
