//! Standard responses: rows only (title, text, the workgroup they are for or none for
//! everyone). What a placeholder means and who may see which is the API's concern.

use anyhow::Result;
use serde::Serialize;
use utoipa::ToSchema;

use super::{OptionalExtension, Row, Tx, params};

/// One standard response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct Response {
    pub id: i64,
    /// What the agent picks it by.
    pub title: String,
    /// The answer, with placeholders such as `{customer_name}`.
    pub text: String,
    /// The workgroup whose members see it; `null`: everyone.
    pub workgroup: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

fn from_row(r: &Row) -> Result<Response> {
    Ok(Response {
        id: r.get(0)?,
        title: r.get(1)?,
        text: r.get(2)?,
        workgroup: r.get(3)?,
        created_at: r.get(4)?,
        updated_at: r.get(5)?,
    })
}

const COLUMNS: &str = "id, title, text, workgroup, created_at, updated_at";

/// Every response, by title.
pub fn list(tx: &Tx) -> Result<Vec<Response>> {
    tx.prepare(&format!(
        "SELECT {COLUMNS} FROM responses ORDER BY lower(title), id"
    ))?
    .query_map((), from_row)?
    .collect()
}

/// One response.
pub fn get(tx: &Tx, id: i64) -> Result<Option<Response>> {
    tx.query_row(
        &format!("SELECT {COLUMNS} FROM responses WHERE id = ?1"),
        [id],
        from_row,
    )
    .optional()
}

/// Whether another response (not `except`) has `title` for the same audience.
pub fn title_taken(tx: &Tx, title: &str, workgroup: Option<&str>, except: i64) -> Result<bool> {
    Ok(tx
        .query_row(
            "SELECT 1 FROM responses WHERE title = ?1 AND COALESCE(workgroup, '') = COALESCE(?2, '')
             AND id <> ?3",
            params![title, workgroup, except],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

/// Adds a response; its id.
pub fn create(tx: &Tx, title: &str, text: &str, workgroup: Option<&str>, now: i64) -> Result<i64> {
    tx.query_row(
        "INSERT INTO responses (title, text, workgroup, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?4) RETURNING id",
        params![title, text, workgroup, now],
        |r| r.get(0),
    )
}

/// Saves a changed response; whether it exists.
pub fn update(tx: &Tx, r: &Response) -> Result<bool> {
    Ok(tx.execute(
        "UPDATE responses SET title = ?2, text = ?3, workgroup = ?4, updated_at = ?5 WHERE id = ?1",
        params![r.id, r.title, r.text, r.workgroup, r.updated_at],
    )? > 0)
}

/// Removes a response; whether it existed.
pub fn delete(tx: &Tx, id: i64) -> Result<bool> {
    Ok(tx.execute("DELETE FROM responses WHERE id = ?1", [id])? > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing;

    #[test]
    fn responses_are_added_listed_by_title_changed_and_removed() {
        let db = testing::db();
        let tx = db.tx();
        let b = create(&tx, "Refund", "Hello {customer_name}", None, 1).unwrap();
        let a = create(&tx, "apology", "Sorry", Some("Billing"), 2).unwrap();
        let titles: Vec<String> = list(&tx).unwrap().into_iter().map(|r| r.title).collect();
        assert_eq!(titles, ["apology", "Refund"], "by title, whatever the case");
        assert!(title_taken(&tx, "Refund", None, 0).unwrap());
        assert!(
            !title_taken(&tx, "Refund", Some("Billing"), 0).unwrap(),
            "another audience"
        );
        assert!(!title_taken(&tx, "Refund", None, b).unwrap(), "itself");
        let mut r = get(&tx, a).unwrap().unwrap();
        r.text = "We are sorry".into();
        r.updated_at = 3;
        assert!(update(&tx, &r).unwrap());
        assert_eq!(get(&tx, a).unwrap().unwrap().text, "We are sorry");
        assert!(delete(&tx, a).unwrap());
        assert!(!delete(&tx, a).unwrap());
        assert_eq!(get(&tx, a).unwrap(), None);
    }
}
