//! PostgreSQL under [`super::Tx`], through `postgres` (tokio-postgres's blocking client:
//! the store's writer and readers are threads of their own, see the parent module).
//!
//! Each connection keeps the statements it prepared, keyed by the store's SQL text, so a
//! query is translated and planned once per connection. Values are sent in the type
//! PostgreSQL inferred for each parameter (an integer for a `BIGINT` column, for a
//! `LIMIT`, or as text where text is expected), and columns are read back as the store's
//! values whatever their type (a `sum` is `numeric`, a comparison `boolean`).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::error::Error;
use std::mem::ManuallyDrop;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use bytes::BytesMut;
use postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};
use postgres::{Client, NoTls, Statement};

use super::{Row, RowInner, Value, ValueRef, translate};

/// A PostgreSQL database to connect to.
#[derive(Clone, Debug)]
pub struct PgTarget {
    url: String,
}

impl PgTarget {
    pub fn new(url: &str) -> PgTarget {
        PgTarget {
            url: url.to_owned(),
        }
    }

    pub(crate) fn config(&self) -> Result<postgres::Config> {
        let mut config: postgres::Config = self
            .url
            .parse()
            .map_err(|e| anyhow!("the store URL is not a PostgreSQL URL it can use: {e}"))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        if config.get_application_name().is_none() {
            config.application_name("switchboard");
        }
        Ok(config)
    }

    pub fn url(&self) -> &str {
        &self.url
    }
}

pub(super) struct Conn {
    /// Dropped by hand (see `Drop`).
    client: RefCell<ManuallyDrop<Client>>,
    statements: RefCell<HashMap<String, Statement>>,
    in_tx: Cell<bool>,
    broken: Cell<bool>,
}

fn open(target: &PgTarget) -> Result<Client> {
    target
        .config()?
        .connect(NoTls)
        .with_context(|| format!("connecting to {}", super::redact(&target.url)))
}

impl Conn {
    pub(super) fn connect(target: &PgTarget) -> Result<Conn> {
        Ok(Conn {
            client: RefCell::new(ManuallyDrop::new(open(target)?)),
            statements: RefCell::new(HashMap::new()),
            in_tx: Cell::new(false),
            broken: Cell::new(false),
        })
    }

    pub(super) fn is_broken(&self) -> bool {
        self.broken.get() || self.client.borrow().is_closed()
    }

    pub(super) fn in_transaction(&self) -> bool {
        self.in_tx.get() && !self.is_broken()
    }

    fn seen<T>(&self, result: Result<T, postgres::Error>) -> Result<T> {
        result.map_err(|e| {
            // A connection the server ended (a restart, an administrator, a failover)
            // may not read as closed until the next use: any of these ends it here.
            let ended = match e.code() {
                Some(code) => code.code().starts_with("08") || code.code().starts_with("57P"),
                None => e.as_db_error().is_none(),
            };
            if e.is_closed() || ended {
                self.broken.set(true);
            }
            // The driver's own text for a server error is only "db error": say what the
            // server said, and keep the error beneath for what reads its code.
            let said = e.as_db_error().map(|db| {
                let mut said = format!("{}: {}", db.severity(), db.message());
                if let Some(detail) = db.detail() {
                    said.push_str(&format!(" ({detail})"));
                }
                said
            });
            match said {
                Some(said) => anyhow::Error::new(e).context(said),
                None => anyhow::Error::new(e),
            }
        })
    }

    pub(super) fn batch(&self, sql: &str) -> Result<()> {
        let done = self.client.borrow_mut().batch_execute(sql);
        self.seen(done)
    }

    pub(super) fn begin(&self) -> Result<()> {
        self.batch("BEGIN")?;
        self.in_tx.set(true);
        Ok(())
    }

    pub(super) fn end(&self, command: &str) -> Result<()> {
        self.in_tx.set(false);
        self.batch(command)
    }

    fn statement(&self, sql: &str) -> Result<Statement> {
        if let Some(s) = self.statements.borrow().get(sql) {
            return Ok(s.clone());
        }
        let translated = translate::to_postgres(sql);
        let prepared = self.client.borrow_mut().prepare(&translated);
        let statement = self.seen(prepared).with_context(|| {
            format!(
                "preparing `{}`",
                translated.split_whitespace().collect::<Vec<_>>().join(" ")
            )
        })?;
        self.statements
            .borrow_mut()
            .insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }

    pub(super) fn execute(&self, sql: &str, values: &[ValueRef<'_>]) -> Result<usize> {
        let statement = self.statement(sql)?;
        let params = Params::new(values);
        let done = self.client.borrow_mut().execute(&statement, &params.refs());
        Ok(self.seen(done)? as usize)
    }

    /// Runs a query and calls `f` on its rows while it answers `true`; the rows a write
    /// with `RETURNING` changed.
    pub(super) fn each(
        &self,
        sql: &str,
        values: &[ValueRef<'_>],
        f: &mut dyn FnMut(&Row<'_>) -> Result<bool>,
    ) -> Result<u64> {
        let statement = self.statement(sql)?;
        let params = Params::new(values);
        let done = self.client.borrow_mut().query(&statement, &params.refs());
        let rows = self.seen(done)?;
        for row in &rows {
            if !f(&Row {
                inner: RowInner::Pg(row),
            })? {
                break;
            }
        }
        let writes = sql.trim_start().get(..6).is_some_and(|w| {
            ["INSERT", "UPDATE", "DELETE"]
                .iter()
                .any(|k| w.eq_ignore_ascii_case(k))
        });
        Ok(if writes { rows.len() as u64 } else { 0 })
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        // SAFETY: taken once, here, and never used again.
        let client = unsafe { ManuallyDrop::take(self.client.get_mut()) };
        // The blocking client closes its connection by blocking on it, which it refuses
        // to do on an async thread, where a store handle may well be dropped.
        crate::store::scratch::off_runtime(move || drop(client));
    }
}

/// A statement's parameters, in the form the driver takes.
struct Params<'a> {
    params: Vec<Param<'a>>,
}

impl<'a> Params<'a> {
    fn new(values: &[ValueRef<'a>]) -> Params<'a> {
        Params {
            params: values.iter().map(|v| Param(*v)).collect(),
        }
    }

    fn refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params
            .iter()
            .map(|p| p as &(dyn ToSql + Sync))
            .collect()
    }
}

#[derive(Debug)]
struct Param<'a>(ValueRef<'a>);

type BoxError = Box<dyn Error + Sync + Send>;

fn textual(ty: &Type) -> bool {
    [
        Type::TEXT,
        Type::VARCHAR,
        Type::BPCHAR,
        Type::NAME,
        Type::UNKNOWN,
    ]
    .contains(ty)
}

impl ToSql for Param<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        match self.0 {
            ValueRef::Null => Ok(IsNull::Yes),
            ValueRef::Int(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(i)?.to_sql(ty, out),
                Type::FLOAT8 => (i as f64).to_sql(ty, out),
                Type::FLOAT4 => (i as f32).to_sql(ty, out),
                Type::BOOL => (i != 0).to_sql(ty, out),
                Type::NUMERIC => numeric_from_i64(i, out),
                ref t if textual(t) => i.to_string().as_str().to_sql(&Type::TEXT, out),
                ref t => Err(format!("an integer cannot be sent as {t}").into()),
            },
            ValueRef::Real(f) => match *ty {
                Type::FLOAT8 => f.to_sql(ty, out),
                Type::FLOAT4 => (f as f32).to_sql(ty, out),
                Type::INT8 if f.fract() == 0.0 => (f as i64).to_sql(ty, out),
                ref t if textual(t) => f.to_string().as_str().to_sql(&Type::TEXT, out),
                ref t => Err(format!("a real number cannot be sent as {t}").into()),
            },
            ValueRef::Text(s) => match *ty {
                ref t if textual(t) => s.to_sql(&Type::TEXT, out),
                Type::JSON => {
                    out.extend_from_slice(s.as_bytes());
                    Ok(IsNull::No)
                }
                Type::JSONB => {
                    out.extend_from_slice(&[1]);
                    out.extend_from_slice(s.as_bytes());
                    Ok(IsNull::No)
                }
                Type::INT8 => s.trim().parse::<i64>()?.to_sql(ty, out),
                Type::BYTEA => s.as_bytes().to_sql(ty, out),
                ref t => Err(format!("text cannot be sent as {t}").into()),
            },
            ValueRef::Blob(b) => match *ty {
                Type::BYTEA => b.to_sql(ty, out),
                ref t => Err(format!("a blob cannot be sent as {t}").into()),
            },
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// An integer as `numeric` (base 10000 digits), for the rare parameter PostgreSQL types
/// so (compared with an aggregate).
fn numeric_from_i64(i: i64, out: &mut BytesMut) -> Result<IsNull, BoxError> {
    let negative = i < 0;
    let mut n = i.unsigned_abs();
    let mut digits = Vec::new();
    while n > 0 {
        digits.push((n % 10_000) as i16);
        n /= 10_000;
    }
    digits.reverse();
    let weight = digits.len() as i16 - 1;
    out.extend_from_slice(&(digits.len() as i16).to_be_bytes());
    out.extend_from_slice(&weight.max(0).to_be_bytes());
    out.extend_from_slice(&(if negative { 0x4000u16 } else { 0 }).to_be_bytes());
    out.extend_from_slice(&0u16.to_be_bytes());
    for d in digits {
        out.extend_from_slice(&d.to_be_bytes());
    }
    Ok(IsNull::No)
}

/// A column read as one of the store's values.
struct Column(Value);

impl<'a> FromSql<'a> for Column {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Column, BoxError> {
        Ok(Column(match *ty {
            Type::INT8 => Value::Integer(i64::from_sql(ty, raw)?),
            Type::INT4 => Value::Integer(i32::from_sql(ty, raw)? as i64),
            Type::INT2 => Value::Integer(i16::from_sql(ty, raw)? as i64),
            Type::OID => Value::Integer(u32::from_sql(ty, raw)? as i64),
            Type::BOOL => Value::Integer(bool::from_sql(ty, raw)? as i64),
            Type::FLOAT8 => Value::Real(f64::from_sql(ty, raw)?),
            Type::FLOAT4 => Value::Real(f32::from_sql(ty, raw)? as f64),
            Type::NUMERIC => numeric(raw)?,
            Type::BYTEA => Value::Blob(raw.to_vec()),
            Type::JSONB => Value::Text(std::str::from_utf8(raw.get(1..).unwrap_or(&[]))?.into()),
            _ => Value::Text(std::str::from_utf8(raw)?.to_owned()),
        }))
    }

    fn from_sql_null(_: &Type) -> Result<Column, BoxError> {
        Ok(Column(Value::Null))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// `numeric` (what PostgreSQL's `sum` and `avg` of integers give): a whole number that
/// fits reads as an integer, anything else as a real number.
fn numeric(raw: &[u8]) -> Result<Value, BoxError> {
    let word = |i: usize| -> Result<u16, BoxError> {
        let b = raw.get(i..i + 2).ok_or("numeric: short value")?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    };
    let ndigits = word(0)? as usize;
    let weight = word(2)? as i16 as i32;
    let sign = word(4)?;
    if sign == 0xC000 {
        return Ok(Value::Real(f64::NAN));
    }
    let mut whole: i128 = 0;
    let mut exact = true;
    let mut real = 0f64;
    for k in 0..ndigits {
        let d = word(8 + 2 * k)? as i128;
        let power = weight - k as i32;
        real += d as f64 * 10_000f64.powi(power);
        if power >= 0 {
            let place = 10_000i128.checked_pow(power as u32);
            match place.and_then(|p| whole.checked_add(d.checked_mul(p)?)) {
                Some(w) => whole = w,
                None => exact = false,
            }
        } else if d != 0 {
            exact = false;
        }
    }
    let negative = sign == 0x4000;
    if exact && let Ok(i) = i64::try_from(if negative { -whole } else { whole }) {
        return Ok(Value::Integer(i));
    }
    Ok(Value::Real(if negative { -real } else { real }))
}

/// Column `idx` of a row, as a value.
pub(super) fn value(row: &postgres::Row, idx: usize) -> Result<Value> {
    Ok(row
        .try_get::<_, Column>(idx)
        .with_context(|| format!("reading column {idx}"))?
        .0)
}

/// The plain reason when `e` is a failure of the database or the connection to it rather
/// than of one write (a constraint, a bad query): then the whole group is not stored.
pub(crate) fn storage_reason(e: &anyhow::Error) -> Option<String> {
    e.chain().find_map(|cause| {
        let e = cause.downcast_ref::<postgres::Error>()?;
        if e.is_closed() {
            return Some("the connection to the database was lost".into());
        }
        let Some(code) = e.code() else {
            return Some(format!("the database cannot be reached: {e}"));
        };
        let code = code.code();
        let class = &code[..2];
        match class {
            "08" => Some("the connection to the database was lost".into()),
            "53" => Some(match code {
                "53100" => "the database's disk is full".into(),
                "53200" => "the database is out of memory".into(),
                "53300" => "the database has too many connections".into(),
                _ => format!("the database is out of resources ({code})"),
            }),
            "57" if code.starts_with("57P") => {
                Some("the database ended the connection (it is restarting or was told to)".into())
            }
            "57" => Some(format!("the database stopped the work ({code})")),
            "58" => Some(format!("the database's system failed ({code})")),
            "XX" => Some(format!("the database reported an internal error ({code})")),
            "25" if code == "25006" => Some("the database is read-only".into()),
            _ => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_reads_whole_numbers_as_integers() {
        // 123456789 = [1, 2345, 6789] with weight 2.
        let raw: Vec<u8> = [3u16, 2, 0, 0, 1, 2345, 6789]
            .iter()
            .flat_map(|w| w.to_be_bytes())
            .collect();
        assert_eq!(numeric(&raw).unwrap(), Value::Integer(123_456_789));
        // -2.5 = [2, 5000] with weight 0, negative, scale 1.
        let raw: Vec<u8> = [2u16, 0, 0x4000, 1, 2, 5000]
            .iter()
            .flat_map(|w| w.to_be_bytes())
            .collect();
        assert_eq!(numeric(&raw).unwrap(), Value::Real(-2.5));
        let mut out = BytesMut::new();
        numeric_from_i64(-123_456_789, &mut out).unwrap();
        assert_eq!(numeric(&out).unwrap(), Value::Integer(-123_456_789));
    }
}
