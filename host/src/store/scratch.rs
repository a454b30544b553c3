//! Throwaway databases for tests and benches: a PostgreSQL database with a random name
//! on the server `SWITCHBOARD_TEST_POSTGRES` names (default: the local server, trust
//! authentication), dropped when the handle is dropped, so no run depends on what an
//! earlier one left.

use anyhow::{Context, Result};

/// The server scratch databases are made on, unless `SWITCHBOARD_TEST_POSTGRES` says.
pub const DEFAULT_SERVER: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A PostgreSQL database of its own, dropped with this handle.
pub struct ScratchPostgres {
    admin: String,
    name: String,
    url: String,
}

impl ScratchPostgres {
    /// Creates an empty database with a random name.
    pub fn create() -> Result<ScratchPostgres> {
        let admin =
            std::env::var("SWITCHBOARD_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_SERVER.into());
        let name = format!("switchboard_test_{:016x}", rand::random::<u64>());
        let sql = format!("CREATE DATABASE {name}");
        off_runtime(|| -> Result<()> {
            let mut client = postgres::Client::connect(&admin, postgres::NoTls)
                .with_context(|| format!("connecting to {}", super::redact(&admin)))?;
            client.batch_execute(&sql)?;
            Ok(())
        })?;
        let url = with_dbname(&admin, &name);
        Ok(ScratchPostgres { admin, name, url })
    }

    /// Its URL.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for ScratchPostgres {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let admin = self.admin.clone();
        // A host of the test may still be connecting again as the database goes: `FORCE`
        // ends its sessions, and a second try finds none.
        let dropped = off_runtime(|| -> Result<()> {
            let mut client = postgres::Client::connect(&admin, postgres::NoTls)?;
            let mut tries = 0;
            loop {
                match client.batch_execute(&sql) {
                    Ok(()) => return Ok(()),
                    Err(_) if tries < 5 => {
                        tries += 1;
                        std::thread::sleep(std::time::Duration::from_millis(200));
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        });
        if let Err(e) = dropped {
            eprintln!("could not drop scratch database {}: {e:#}", self.name);
        }
    }
}

/// `url` naming database `name` instead of its own.
fn with_dbname(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// Runs `f` where PostgreSQL's blocking client may run: on a thread of its own when the
/// caller is inside an async runtime (the client refuses to block one).
pub fn off_runtime<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    if tokio::runtime::Handle::try_current().is_ok() {
        std::thread::scope(|s| s.spawn(f).join().expect("database thread panicked"))
    } else {
        f()
    }
}

#[cfg(test)]
mod tests {
    use super::with_dbname;

    #[test]
    fn a_scratch_url_names_its_own_database() {
        assert_eq!(
            with_dbname("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_dbname("postgres://u@h?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
    }
}
