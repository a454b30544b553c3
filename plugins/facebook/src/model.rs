//! Pieces of Graph API JSON shared by webhooks and polling.

use serde::Deserialize;
use switchboard_sdk::{Attachment, Author, time};

/// An id that arrives as a JSON string or number.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub(crate) enum Id {
    Text(String),
    Number(serde_json::Number),
}

impl Id {
    pub(crate) fn into_string(self) -> String {
        match self {
            Id::Text(s) => s,
            Id::Number(n) => n.to_string(),
        }
    }
}

/// A non-empty id as a string.
pub(crate) fn id(value: Option<Id>) -> Option<String> {
    value.map(Id::into_string).filter(|s| !s.is_empty())
}

/// A time as Meta sends it: unix seconds (webhooks), ISO-8601 (Graph API objects),
/// sometimes unix milliseconds or a number in a string.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub(crate) enum Timestamp {
    Number(serde_json::Number),
    Text(String),
}

impl Timestamp {
    /// Unix milliseconds, when the value makes sense.
    pub(crate) fn millis(&self) -> Option<i64> {
        match self {
            Timestamp::Number(n) => n
                .as_i64()
                .or_else(|| n.as_f64().map(|f| f as i64))
                .map(time::unix_to_millis),
            Timestamp::Text(s) => {
                let s = s.trim();
                match s.parse::<i64>() {
                    Ok(n) => Some(time::unix_to_millis(n)),
                    Err(_) => time::parse_iso8601_millis(s),
                }
            }
        }
    }
}

/// Unix milliseconds of an optional timestamp.
pub(crate) fn millis(value: &Option<Timestamp>) -> Option<i64> {
    value.as_ref().and_then(Timestamp::millis)
}

/// `from{id,name}`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub(crate) struct From {
    #[serde(default)]
    pub id: Option<Id>,
    #[serde(default)]
    pub name: Option<String>,
}

/// The author of a message, and whether it is the page itself.
pub(crate) fn author(from: Option<From>, page_id: &str) -> (Author, bool) {
    let from = from.unwrap_or_default();
    let id = id(from.id).unwrap_or_default();
    let from_business = !id.is_empty() && id == page_id;
    (
        Author::new(id, from.name.unwrap_or_default()),
        from_business,
    )
}

/// An attachment of `kind` at `url`.
pub(crate) fn attachment(kind: &str, url: String) -> Attachment {
    Attachment::at_url(kind, url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_in_every_form() {
        let parse = |json: &str| serde_json::from_str::<Timestamp>(json).unwrap().millis();
        assert_eq!(parse("1742667604"), Some(1_742_667_604_000));
        assert_eq!(parse("1742667604123"), Some(1_742_667_604_123));
        assert_eq!(parse("1742667604.5"), Some(1_742_667_604_000));
        assert_eq!(parse(r#""1742667604""#), Some(1_742_667_604_000));
        assert_eq!(
            parse(r#""2024-01-15T12:03:00+0000""#),
            Some(1_705_320_180_000)
        );
        assert_eq!(parse(r#""yesterday""#), None);
    }

    #[test]
    fn ids_and_authors() {
        let from: From = serde_json::from_str(r#"{"id": 42, "name": "Ann"}"#).unwrap();
        let (a, biz) = author(Some(from), "42");
        assert_eq!((a.id.as_str(), a.name.as_str(), biz), ("42", "Ann", true));
        let (a, biz) = author(None, "42");
        assert_eq!((a.id.as_str(), biz), ("", false));
        assert_eq!(id(Some(Id::Text(String::new()))), None);
    }
}
