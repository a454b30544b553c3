//! Values as they cross between store operations and either engine: the four kinds
//! SQLite stores, and null. Booleans are integers (0 or 1) on both engines, as the schema
//! has them, so a value reads back the same wherever it was written.

use std::fmt;

/// A value borrowed for a query's parameters or read from a row.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ValueRef<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(&'a str),
    Blob(&'a [u8]),
}

/// An owned value (a parameter list built at run time; a PostgreSQL column read).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl Value {
    pub fn as_ref(&self) -> ValueRef<'_> {
        match self {
            Value::Null => ValueRef::Null,
            Value::Integer(i) => ValueRef::Int(*i),
            Value::Real(f) => ValueRef::Real(*f),
            Value::Text(s) => ValueRef::Text(s),
            Value::Blob(b) => ValueRef::Blob(b),
        }
    }
}

impl ValueRef<'_> {
    fn kind(&self) -> &'static str {
        match self {
            ValueRef::Null => "null",
            ValueRef::Int(_) => "an integer",
            ValueRef::Real(_) => "a real number",
            ValueRef::Text(_) => "text",
            ValueRef::Blob(_) => "a blob",
        }
    }
}

/// Anything a query takes as a parameter.
pub trait ToValue {
    fn to_value(&self) -> ValueRef<'_>;
}

macro_rules! int_to_value {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            fn to_value(&self) -> ValueRef<'_> {
                ValueRef::Int(*self as i64)
            }
        }
    )*};
}
int_to_value!(i64, i32, i16, i8, u32, u16, u8);

impl ToValue for u64 {
    fn to_value(&self) -> ValueRef<'_> {
        // Above i64::MAX a count is saturated; nothing the store keeps gets there.
        ValueRef::Int(i64::try_from(*self).unwrap_or(i64::MAX))
    }
}

impl ToValue for usize {
    fn to_value(&self) -> ValueRef<'_> {
        ValueRef::Int(i64::try_from(*self).unwrap_or(i64::MAX))
    }
}

impl ToValue for bool {
    fn to_value(&self) -> ValueRef<'_> {
        ValueRef::Int(*self as i64)
    }
}

impl ToValue for f64 {
    fn to_value(&self) -> ValueRef<'_> {
        ValueRef::Real(*self)
    }
}

impl ToValue for str {
    fn to_value(&self) -> ValueRef<'_> {
        ValueRef::Text(self)
    }
}

impl ToValue for String {
    fn to_value(&self) -> ValueRef<'_> {
        ValueRef::Text(self)
    }
}

impl ToValue for [u8] {
    fn to_value(&self) -> ValueRef<'_> {
        ValueRef::Blob(self)
    }
}

impl ToValue for Vec<u8> {
    fn to_value(&self) -> ValueRef<'_> {
        ValueRef::Blob(self)
    }
}

impl ToValue for Value {
    fn to_value(&self) -> ValueRef<'_> {
        self.as_ref()
    }
}

impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> ValueRef<'_> {
        match self {
            Some(v) => v.to_value(),
            None => ValueRef::Null,
        }
    }
}

impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> ValueRef<'_> {
        (**self).to_value()
    }
}

impl<T: ToValue + ?Sized> ToValue for Box<T> {
    fn to_value(&self) -> ValueRef<'_> {
        (**self).to_value()
    }
}

/// Why a column could not be read as the type asked for.
#[derive(Debug)]
pub struct FromValueError(String);

impl fmt::Display for FromValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FromValueError {}

fn wrong(want: &str, got: ValueRef<'_>) -> FromValueError {
    FromValueError(format!("expected {want}, found {}", got.kind()))
}

/// Anything a row's column reads as.
pub trait FromValue: Sized {
    fn from_value(v: ValueRef<'_>) -> Result<Self, FromValueError>;
}

impl FromValue for i64 {
    fn from_value(v: ValueRef<'_>) -> Result<i64, FromValueError> {
        match v {
            ValueRef::Int(i) => Ok(i),
            // An aggregate PostgreSQL computes as numeric (a sum) that holds a whole number.
            ValueRef::Real(f) if f.fract() == 0.0 && f.abs() < 9.0e18 => Ok(f as i64),
            other => Err(wrong("an integer", other)),
        }
    }
}

macro_rules! int_from_value {
    ($($t:ty),*) => {$(
        impl FromValue for $t {
            fn from_value(v: ValueRef<'_>) -> Result<$t, FromValueError> {
                let i = i64::from_value(v)?;
                <$t>::try_from(i).map_err(|_| {
                    FromValueError(format!("{i} is out of range for {}", stringify!($t)))
                })
            }
        }
    )*};
}
int_from_value!(i32, i16, u32, u16, u8, u64, usize);

impl FromValue for bool {
    fn from_value(v: ValueRef<'_>) -> Result<bool, FromValueError> {
        Ok(i64::from_value(v)? != 0)
    }
}

impl FromValue for f64 {
    fn from_value(v: ValueRef<'_>) -> Result<f64, FromValueError> {
        match v {
            ValueRef::Real(f) => Ok(f),
            ValueRef::Int(i) => Ok(i as f64),
            other => Err(wrong("a number", other)),
        }
    }
}

impl FromValue for String {
    fn from_value(v: ValueRef<'_>) -> Result<String, FromValueError> {
        match v {
            ValueRef::Text(s) => Ok(s.to_owned()),
            other => Err(wrong("text", other)),
        }
    }
}

impl FromValue for Vec<u8> {
    fn from_value(v: ValueRef<'_>) -> Result<Vec<u8>, FromValueError> {
        match v {
            ValueRef::Blob(b) => Ok(b.to_vec()),
            ValueRef::Text(s) => Ok(s.as_bytes().to_vec()),
            other => Err(wrong("a blob", other)),
        }
    }
}

impl FromValue for Value {
    fn from_value(v: ValueRef<'_>) -> Result<Value, FromValueError> {
        Ok(match v {
            ValueRef::Null => Value::Null,
            ValueRef::Int(i) => Value::Integer(i),
            ValueRef::Real(f) => Value::Real(f),
            ValueRef::Text(s) => Value::Text(s.to_owned()),
            ValueRef::Blob(b) => Value::Blob(b.to_vec()),
        })
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: ValueRef<'_>) -> Result<Option<T>, FromValueError> {
        match v {
            ValueRef::Null => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
}

impl FromValue for serde_json::Value {
    fn from_value(v: ValueRef<'_>) -> Result<serde_json::Value, FromValueError> {
        match v {
            ValueRef::Text(s) => {
                serde_json::from_str(s).map_err(|e| FromValueError(format!("not JSON: {e}")))
            }
            ValueRef::Null => Ok(serde_json::Value::Null),
            other => Err(wrong("JSON text", other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_back_as_written_and_refuse_the_wrong_kind() {
        assert_eq!(i64::from_value(7i64.to_value()).unwrap(), 7);
        assert!(bool::from_value(true.to_value()).unwrap());
        assert_eq!(i64::from_value(ValueRef::Real(12.0)).unwrap(), 12);
        assert!(i64::from_value(ValueRef::Real(1.5)).is_err());
        assert_eq!(
            Option::<String>::from_value(ValueRef::Null).unwrap(),
            None::<String>
        );
        let e = String::from_value(ValueRef::Int(3))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "expected text, found an integer");
        assert!(u8::from_value(ValueRef::Int(300)).is_err());
    }
}
