//! SQLite under [`super::Tx`]: rusqlite's kept statements, values passed as they are.

use anyhow::Result;
use rusqlite::types::{ToSqlOutput, ValueRef as SqlRef};

use super::{Row, RowInner, ValueRef};

struct Param<'a>(ValueRef<'a>);

impl rusqlite::ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self.0 {
            ValueRef::Null => SqlRef::Null,
            ValueRef::Int(i) => SqlRef::Integer(i),
            ValueRef::Real(f) => SqlRef::Real(f),
            ValueRef::Text(s) => SqlRef::Text(s.as_bytes()),
            ValueRef::Blob(b) => SqlRef::Blob(b),
        }))
    }
}

fn params<'a>(values: &'a [ValueRef<'a>]) -> impl rusqlite::Params + 'a {
    rusqlite::params_from_iter(values.iter().map(|v| Param(*v)))
}

pub(super) fn execute(
    conn: &rusqlite::Connection,
    sql: &str,
    values: &[ValueRef<'_>],
) -> Result<usize> {
    Ok(conn.prepare_cached(sql)?.execute(params(values))?)
}

pub(super) fn each(
    conn: &rusqlite::Connection,
    sql: &str,
    values: &[ValueRef<'_>],
    f: &mut dyn FnMut(&Row<'_>) -> Result<bool>,
) -> Result<()> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params(values))?;
    while let Some(row) = rows.next()? {
        if !f(&Row {
            inner: RowInner::Sqlite(row),
        })? {
            break;
        }
    }
    Ok(())
}

/// A column as read.
pub(super) fn value(v: SqlRef<'_>) -> ValueRef<'_> {
    match v {
        SqlRef::Null => ValueRef::Null,
        SqlRef::Integer(i) => ValueRef::Int(i),
        SqlRef::Real(f) => ValueRef::Real(f),
        // SQLite's text is UTF-8 as the store writes it; anything else reads as a blob
        // and is refused by the column's type rather than mangled.
        SqlRef::Text(t) => match std::str::from_utf8(t) {
            Ok(s) => ValueRef::Text(s),
            Err(_) => ValueRef::Blob(t),
        },
        SqlRef::Blob(b) => ValueRef::Blob(b),
    }
}
