//! Reading platform JSON leniently: one odd item or field must not lose a whole batch.
//!
//! Platforms add fields, send a number where a string was, or an item of a kind a
//! connector does not know. A typed serde struct fails as a whole at the first surprise,
//! so a webhook batch of fifty messages, or a page of a hundred posts, would be lost for
//! one odd value. With these helpers a connector keeps what it can read and says what it
//! could not:
//!
//! - [`Items`]: a list read item by item; the items that do not read as `T` are left out
//!   and their errors kept (a missing or `null` list is empty; something else than a list
//!   is one error).
//! - [`opt`]: `#[serde(default, deserialize_with = "switchboard_sdk::lenient::opt")]` on an
//!   `Option<T>` field reads a value of another type as `None` instead of failing.
//! - [`object`]: a whole body as `T`, provided it is a JSON object; the error says why not.
//!
//! serde_json's nesting limit (128) still applies: these read through the same
//! deserializer.

use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer};
use serde_json::Value;

/// A list read item by item: what reads as `T`, and why the rest did not.
#[derive(Debug, Clone, PartialEq)]
pub struct Items<T> {
    /// The items that read as `T`, in order.
    pub items: Vec<T>,
    /// One line per item (or list) that did not.
    pub errors: Vec<String>,
}

impl<T> Default for Items<T> {
    fn default() -> Self {
        Items {
            items: Vec::new(),
            errors: Vec::new(),
        }
    }
}

impl<T: DeserializeOwned> Items<T> {
    /// Reads `value` (a list, or `null` for none) item by item.
    pub fn from_value(value: Value) -> Items<T> {
        let mut out = Items::default();
        match value {
            Value::Null => {}
            Value::Array(list) => {
                for (i, item) in list.into_iter().enumerate() {
                    match serde_json::from_value(item) {
                        Ok(t) => out.items.push(t),
                        Err(e) => out.errors.push(format!("item {i}: {e}")),
                    }
                }
            }
            other => out
                .errors
                .push(format!("expected a list, got {}", kind_of(&other))),
        }
        out
    }
}

impl<T> Items<T> {
    /// The errors in one line (see [`summary`]), or `None` when every item was read.
    pub fn summary(&self, what: &str) -> Option<String> {
        summary(&self.errors, what)
    }
}

/// `errors` of unreadable `what`s in one line (the first three, then how many more), or
/// `None` when there are none. For a log line or a source warning.
pub fn summary(errors: &[String], what: &str) -> Option<String> {
    let n = errors.len();
    if n == 0 {
        return None;
    }
    let first: Vec<&str> = errors.iter().take(3).map(String::as_str).collect();
    let more = n - first.len();
    let tail = if more > 0 {
        format!("; and {more} more")
    } else {
        String::new()
    };
    let s = if n == 1 { "" } else { "s" };
    Some(format!(
        "{n} unreadable {what}{s} left out ({}{tail})",
        first.join("; ")
    ))
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Items<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Items::from_value(Value::deserialize(deserializer)?))
    }
}

/// For `#[serde(default, deserialize_with = "switchboard_sdk::lenient::opt")]`: the
/// value as `T`, or `None` when it is `null` or of another shape.
pub fn opt<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let value = Value::deserialize(deserializer)?;
    Ok(serde_json::from_value(value).ok())
}

/// `body` as `T`, when it is a JSON object that reads as `T`; otherwise why not, in
/// words fit for a log line (never the body itself: it may hold customers' messages).
pub fn object<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| format!("not JSON ({e}; {} bytes)", body.len()))?;
    if !value.is_object() {
        return Err(format!("JSON {}, not an object", kind_of(&value)));
    }
    serde_json::from_value(value).map_err(|e| format!("an object of another shape ({e})"))
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Item {
        id: String,
    }

    #[derive(Debug, Deserialize)]
    struct Page {
        #[serde(default)]
        data: Items<Item>,
        #[serde(default, deserialize_with = "opt")]
        next: Option<String>,
    }

    #[test]
    fn one_odd_item_leaves_the_others() {
        let page: Page = serde_json::from_value(
            json!({"data": [{"id": "1"}, {"id": 2}, {"id": "3"}], "next": 5}),
        )
        .unwrap();
        assert_eq!(
            page.data.items,
            [Item { id: "1".into() }, Item { id: "3".into() }]
        );
        assert_eq!(page.data.errors.len(), 1);
        assert!(
            page.data.errors[0].starts_with("item 1: "),
            "{:?}",
            page.data.errors
        );
        assert_eq!(
            page.next, None,
            "a number where a string belongs reads as none"
        );
        let summary = page.data.summary("post").unwrap();
        assert!(
            summary.starts_with("1 unreadable post left out (item 1: "),
            "{summary}"
        );
    }

    #[test]
    fn missing_null_or_other_shapes() {
        let page: Page = serde_json::from_value(json!({})).unwrap();
        assert_eq!((page.data.items.len(), page.data.summary("x")), (0, None));
        let page: Page = serde_json::from_value(json!({"data": null})).unwrap();
        assert!(page.data.errors.is_empty());
        let page: Page = serde_json::from_value(json!({"data": {"id": "1"}})).unwrap();
        assert_eq!(page.data.errors, ["expected a list, got an object"]);
        let many = Items::<Item>::from_value(json!([1, 2, 3, 4, 5]));
        let summary = many.summary("item").unwrap();
        assert!(
            summary.starts_with("5 unreadable items left out"),
            "{summary}"
        );
        assert!(summary.ends_with("; and 2 more)"), "{summary}");
    }

    #[test]
    fn a_body_must_be_an_object() {
        assert!(object::<Page>(br#"{"data": []}"#).is_ok());
        assert!(
            object::<Page>(b"[]")
                .unwrap_err()
                .contains("a list, not an object")
        );
        assert!(object::<Page>(b"{").unwrap_err().starts_with("not JSON"));
        // A key given twice: the last one counts, as serde_json reads a `Value`.
        assert!(object::<Page>(br#"{"data": [], "data": [{"id": "1"}]}"#).is_ok());
        let deep = "[".repeat(10_000);
        assert!(
            object::<Page>(deep.as_bytes())
                .unwrap_err()
                .contains("recursion limit")
        );
    }
}
