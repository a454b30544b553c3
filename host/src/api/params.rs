//! Reading query parameters: an empty value counts as not given, and a value that cannot
//! be read is a 400 naming the parameter and what it expects.

use super::error::ApiError;

/// A non-empty parameter value.
pub(super) fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}

/// Parses a parameter with `parse`; a value it refuses is a 400 naming the parameter.
pub(super) fn parsed<T>(
    name: &str,
    value: &Option<String>,
    expected: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>, ApiError> {
    given(value)
        .map(|v| {
            parse(v).ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "query parameter `{name}`: got {v:?}, expected {expected}"
                ))
            })
        })
        .transpose()
}

pub(super) fn number(
    name: &str,
    value: &Option<String>,
    expected: &str,
) -> Result<Option<i64>, ApiError> {
    parsed(name, value, expected, |v| v.parse::<i64>().ok())
}

/// `format`: `csv` answers CSV; absent or `json`, JSON.
pub(super) fn wants_csv(value: &Option<String>) -> Result<bool, ApiError> {
    parsed("format", value, "csv or json", |v| match v {
        "csv" => Some(true),
        "json" => Some(false),
        _ => None,
    })
    .map(|v| v.unwrap_or(false))
}

/// An instant as unix milliseconds, an RFC 3339 date and time with its offset
/// (`2026-12-01T00:00:00+01:00`, `2026-12-01T00:00:00Z`), or an RFC 3339 date
/// (`2026-12-01`: its start, midnight in the organisation's time zone `tz`).
pub(super) fn instant(
    name: &str,
    value: &Option<String>,
    tz: &jiff::tz::TimeZone,
) -> Result<Option<i64>, ApiError> {
    parsed(
        name,
        value,
        "unix milliseconds, or an RFC 3339 date (2026-12-01) or date and time (2026-12-01T00:00:00Z)",
        |v| {
            if let Ok(ms) = v.parse::<i64>() {
                return Some(ms);
            }
            if let Ok(t) = v.parse::<jiff::Timestamp>() {
                return Some(t.as_millisecond());
            }
            let date = v
                .parse::<jiff::civil::Date>()
                .ok()
                .filter(|_| v.len() == 10)?;
            Some(
                date.to_zoned_datetime(tz.clone())
                    .ok()?
                    .timestamp()
                    .as_millisecond(),
            )
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_read_as_milliseconds_or_rfc_3339() {
        let utc = jiff::tz::TimeZone::UTC;
        let v = |s: &str| instant("from", &Some(s.to_owned()), &utc);
        assert_eq!(v("1764547200000").unwrap(), Some(1_764_547_200_000));
        assert_eq!(v("2025-12-01T00:00:00Z").unwrap(), Some(1_764_547_200_000));
        assert_eq!(
            v("2025-12-01T01:00:00+01:00").unwrap(),
            Some(1_764_547_200_000)
        );
        assert_eq!(instant("from", &Some(String::new()), &utc).unwrap(), None);
        let paris = jiff::tz::TimeZone::get("Europe/Paris").unwrap();
        assert_eq!(
            instant("from", &Some("2025-12-01".into()), &paris).unwrap(),
            Some(1_764_547_200_000 - 3_600_000),
            "a date is its midnight in the organisation's time zone"
        );
        assert!(v("2025-12-1").is_err());
        let e = v("yesterday").unwrap_err().to_string();
        assert!(e.contains("`from`") && e.contains("RFC 3339"), "{e}");
    }
}
