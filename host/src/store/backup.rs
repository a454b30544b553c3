//! `switchboard backup`: a copy of a SQLite store taken while the host serves.
//!
//! `VACUUM INTO` writes the copy from one read transaction, so it is the database as of one
//! commit (every write acknowledged before it began is in it, none is half in it), while the
//! host keeps committing beside it (WAL: readers never block the writer). The copy is then
//! checked (`PRAGMA quick_check`) and counted. A PostgreSQL store is backed up with the
//! server's own tools (`pg_dump`); see docs/operations.md.

use std::path::Path;

use anyhow::{Context, Result, bail};

use super::StoreUrl;

/// What a backup holds.
#[derive(Debug, PartialEq, Eq)]
pub struct BackedUp {
    pub interactions: i64,
    pub messages: i64,
    pub bytes: u64,
}

/// Copies the SQLite store `from` into the new file `to`.
pub fn backup(from: &StoreUrl, to: &Path) -> Result<BackedUp> {
    let path = match from {
        StoreUrl::Sqlite(path) => path,
        StoreUrl::Postgres(url) => bail!(
            "{} is a PostgreSQL store: back it up with the server's tools, e.g. \
             pg_dump --format=custom --file=switchboard.dump '<store url>' (docs/operations.md)",
            super::redact(url)
        ),
    };
    if !path.exists() {
        bail!("no database at {}", path.display());
    }
    if to.exists() {
        bail!(
            "{} exists already: name a new file (a backup never overwrites)",
            to.display()
        );
    }
    let source =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .with_context(|| format!("opening {}", path.display()))?;
    source.busy_timeout(std::time::Duration::from_secs(30))?;
    let target = to
        .to_str()
        .with_context(|| format!("{} is not a path SQLite can take", to.display()))?;
    source
        .execute("VACUUM INTO ?1", [target])
        .with_context(|| format!("writing the backup to {}", to.display()))?;
    let copy =
        rusqlite::Connection::open_with_flags(to, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let check: String = copy.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
    if check != "ok" {
        bail!("the backup at {} does not check out: {check}", to.display());
    }
    let count = |table: &str| -> Result<i64> {
        Ok(copy.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?)
    };
    Ok(BackedUp {
        interactions: count("interactions")?,
        messages: count("messages")?,
        bytes: std::fs::metadata(to)?.len(),
    })
}
