//! Sign-in throttling as the store keeps it (`login_failures`): for each username and
//! client address that failed lately, how many times and until when its next try must
//! wait. The API keeps the same in memory and writes it through here, so the host that
//! leads after another (every sign-in of a cluster is checked on its leader) goes on
//! with the same waits. Rows are keyed `user:NAME` or `addr:IP`.

use anyhow::Result;

use super::{Tx, params};

/// One key's failures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Failures {
    pub count: u32,
    /// No try before this (unix ms).
    pub until_ms: i64,
}

/// The failures of `key`, if any are kept.
pub fn get(tx: &Tx, key: &str) -> Result<Option<Failures>> {
    use super::OptionalExtension;
    tx.query_row(
        "SELECT count, until_ms FROM login_failures WHERE key = ?1",
        [key],
        |r| {
            Ok(Failures {
                count: r.get::<_, i64>(0)? as u32,
                until_ms: r.get(1)?,
            })
        },
    )
    .optional()
}

/// Records `key`'s failures as they stand now.
pub fn set(tx: &Tx, key: &str, failures: Failures) -> Result<()> {
    tx.execute(
        "INSERT INTO login_failures (key, count, until_ms) VALUES (?1, ?2, ?3)
         ON CONFLICT (key) DO UPDATE SET count = excluded.count, until_ms = excluded.until_ms",
        params![key, failures.count as i64, failures.until_ms],
    )?;
    Ok(())
}

/// Forgets `key`'s failures (a successful sign-in).
pub fn clear(tx: &Tx, key: &str) -> Result<()> {
    tx.execute("DELETE FROM login_failures WHERE key = ?1", [key])?;
    Ok(())
}

/// Forgets failures whose wait ended before `before`; how many.
pub fn forget_before(tx: &Tx, before: i64) -> Result<usize> {
    tx.execute("DELETE FROM login_failures WHERE until_ms < ?1", [before])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing;

    #[test]
    fn failures_are_kept_replaced_cleared_and_forgotten_once_old() {
        let db = testing::db();
        let tx = db.tx();
        assert_eq!(get(&tx, "user:ada").unwrap(), None);
        let f = Failures {
            count: 4,
            until_ms: 2_000,
        };
        set(&tx, "user:ada", f).unwrap();
        set(
            &tx,
            "addr:10.0.0.1",
            Failures {
                count: 1,
                until_ms: 500,
            },
        )
        .unwrap();
        assert_eq!(get(&tx, "user:ada").unwrap(), Some(f));
        let g = Failures {
            count: 5,
            until_ms: 4_000,
        };
        set(&tx, "user:ada", g).unwrap();
        assert_eq!(get(&tx, "user:ada").unwrap(), Some(g));
        assert_eq!(forget_before(&tx, 1_000).unwrap(), 1);
        assert_eq!(get(&tx, "addr:10.0.0.1").unwrap(), None);
        clear(&tx, "user:ada").unwrap();
        assert_eq!(get(&tx, "user:ada").unwrap(), None);
    }
}
