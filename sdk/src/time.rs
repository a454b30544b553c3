//! Timestamp conversions that platforms need: ISO-8601 / RFC 3339 strings and unix
//! seconds, to and from unix milliseconds.

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date (year, month, day) of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
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

fn digits(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Parses an ISO-8601 date-time into unix milliseconds.
///
/// Accepts `2024-01-15T12:03:00+0000` (Graph API), `2024-01-15T12:03:00Z`,
/// `2024-01-15T12:03:00.123Z`, `2024-01-15T12:03:00+01:00`, a space instead of `T`,
/// and no offset at all (taken as UTC).
pub fn parse_iso8601_millis(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.len() < 19 || !s.is_char_boundary(10) || !s.is_char_boundary(19) {
        return None;
    }
    let (date, rest) = s.split_at(10);
    let sep = rest.as_bytes()[0];
    if sep != b'T' && sep != b't' && sep != b' ' {
        return None;
    }
    let (time, mut tail) = rest[1..].split_at(8);

    let mut d = date.split('-');
    let year = digits(d.next()?)?;
    let month = digits(d.next()?)?;
    let day = digits(d.next()?)?;
    if d.next().is_some() || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let mut t = time.split(':');
    let hour = digits(t.next()?)?;
    let minute = digits(t.next()?)?;
    let second = digits(t.next()?)?;
    if t.next().is_some() || hour > 23 || minute > 59 || second > 60 {
        return None;
    }

    let mut millis: i64 = 0;
    if let Some(frac) = tail.strip_prefix('.').or_else(|| tail.strip_prefix(',')) {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        let padded = format!("{:0<3}", &frac[..n.min(3)]);
        millis = i64::from(digits(&padded)?);
        tail = &frac[n..];
    }

    let offset_minutes: i64 = match tail {
        "" | "Z" | "z" => 0,
        _ => {
            let sign = match tail.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let off = tail[1..].replace(':', "");
            if (off.len() != 4 && off.len() != 2) || !off.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let hh = i64::from(digits(&off[..2])?);
            let mm = if off.len() == 4 {
                i64::from(digits(&off[2..])?)
            } else {
                0
            };
            sign * (hh * 60 + mm)
        }
    };

    let days = days_from_civil(i64::from(year), month, day);
    let secs = days * 86_400 + i64::from(hour) * 3_600 + i64::from(minute) * 60 + i64::from(second)
        - offset_minutes * 60;
    Some(secs * 1_000 + millis)
}

/// Formats unix milliseconds as `YYYY-MM-DDTHH:MM:SS.sssZ` (UTC).
pub fn format_iso8601_millis(millis: i64) -> String {
    let secs = millis.div_euclid(1_000);
    let ms = millis.rem_euclid(1_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        sod / 3_600,
        (sod % 3_600) / 60,
        sod % 60
    )
}

/// Unix time in seconds or milliseconds, as platforms mix both, to milliseconds:
/// values below 100 000 000 000 (year 5138 in seconds, 1973 in milliseconds) are
/// taken as seconds.
pub fn unix_to_millis(value: i64) -> i64 {
    // `unsigned_abs`: `i64::MIN.abs()` overflows (a platform may send any number).
    if value.unsigned_abs() < 100_000_000_000 {
        value.saturating_mul(1_000)
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_platforms_send() {
        let base = 1_705_320_180_000; // 2024-01-15T12:03:00Z
        assert_eq!(parse_iso8601_millis("2024-01-15T12:03:00+0000"), Some(base));
        assert_eq!(parse_iso8601_millis("2024-01-15T12:03:00Z"), Some(base));
        assert_eq!(parse_iso8601_millis("2024-01-15 12:03:00"), Some(base));
        assert_eq!(
            parse_iso8601_millis("2024-01-15T12:03:00.5Z"),
            Some(base + 500)
        );
        assert_eq!(
            parse_iso8601_millis("2024-01-15T12:03:00.123456Z"),
            Some(base + 123)
        );
        assert_eq!(
            parse_iso8601_millis("2024-01-15T13:03:00+01:00"),
            Some(base)
        );
        assert_eq!(parse_iso8601_millis("2024-01-15T07:03:00-0500"), Some(base));
        assert_eq!(parse_iso8601_millis("2024-01-15T14:03:00+02"), Some(base));
        assert_eq!(parse_iso8601_millis("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_iso8601_millis("2000-02-29T00:00:00Z"),
            Some(951_782_400_000)
        );
    }

    #[test]
    fn rejects_garbage() {
        for s in [
            "",
            "2024-01-15",
            "2024-13-15T12:03:00Z",
            "2024-01-15X12:03:00Z",
            "2024-01-15T12:03:00Q",
            "2024-01-15T12:03:00.Z",
            "2024-01-15T25:03:00Z",
            "2024-01-15T12:03:00+1",
            "2024-01-15T12:03:00+0é0",
            "2024-01-1éT12:03:00Z",
            "1742667604",
        ] {
            assert_eq!(parse_iso8601_millis(s), None, "{s}");
        }
    }

    #[test]
    fn formats_and_round_trips() {
        assert_eq!(format_iso8601_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            format_iso8601_millis(1_705_320_180_123),
            "2024-01-15T12:03:00.123Z"
        );
        for ms in [
            0,
            951_782_400_000,
            1_705_320_180_123,
            -86_400_000,
            4_102_444_800_999,
        ] {
            assert_eq!(parse_iso8601_millis(&format_iso8601_millis(ms)), Some(ms));
        }
    }

    #[test]
    fn seconds_or_millis() {
        assert_eq!(unix_to_millis(1_742_667_604), 1_742_667_604_000);
        assert_eq!(unix_to_millis(1_742_667_604_123), 1_742_667_604_123);
        assert_eq!(unix_to_millis(-1_742_667_604), -1_742_667_604_000);
    }

    /// Found by fuzzing the Facebook webhook (`created_time: -9223372036854775808`):
    /// `abs` overflowed and panicked in a debug build.
    #[test]
    fn the_extremes_do_not_overflow() {
        assert_eq!(unix_to_millis(i64::MIN), i64::MIN);
        assert_eq!(unix_to_millis(i64::MAX), i64::MAX);
        assert_eq!(unix_to_millis(-99_999_999_999), -99_999_999_999_000);
    }
}
