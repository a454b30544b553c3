//! The rows a cluster of hosts coordinates through: who is up (`cluster_hosts`, a heartbeat
//! each), and leases (`cluster_leases`: the leader's, and one per channel).
//!
//! A lease is a row with a holder, an expiry and an epoch. Taking one is a single
//! statement that succeeds only when the row is free (missing, expired, or already the
//! taker's), so two hosts can never both hold it. Each time the holder changes, or a holder
//! comes back after its lease ran out, the epoch goes up. Times are the database's clock,
//! never a host's, so hosts whose clocks disagree still agree on who holds what.
//!
//! Fencing: a write made as a lease holder runs [`check_fence`] in its own transaction.
//! On PostgreSQL the check locks the lease row (`FOR SHARE`): a host taking the lease over
//! waits until that transaction ends, and a holder whose lease ran out, or whose epoch is
//! an old one (it was paused and another took over), finds the check failing and its write
//! undone. So a leader that wakes from a pause cannot write an offer.
//!
//! Leases are not a session advisory lock: a stopped process keeps its connection, and with
//! it such a lock, for as long as the operating system keeps the socket.

use anyhow::{Result, bail};

use super::{OptionalExtension, Tx, params};

/// The leader's lease.
pub const LEADER: &str = "leader";

/// The lease of channel `name`.
pub fn channel_lease(name: &str) -> String {
    format!("channel:{name}")
}

/// The database's clock in milliseconds since the epoch, as SQL.
fn now_sql(tx: &Tx) -> &'static str {
    if tx.is_postgres() {
        "CAST(extract(epoch FROM clock_timestamp()) * 1000 AS BIGINT)"
    } else {
        "CAST(unixepoch('subsec') * 1000 AS INTEGER)"
    }
}

/// The database's clock, in milliseconds since the epoch.
pub fn db_now(tx: &Tx) -> Result<i64> {
    tx.query_row(&format!("SELECT {}", now_sql(tx)), (), |r| r.get(0))
}

/// A lease as held: what every write made under it carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fence {
    pub lease: String,
    pub holder: String,
    pub epoch: i64,
}

/// Takes or renews lease `name` for `holder` for `ttl_ms`; the epoch it is held at, or
/// `None` while another holds it.
pub fn acquire(tx: &Tx, name: &str, holder: &str, ttl_ms: i64) -> Result<Option<i64>> {
    let now = now_sql(tx);
    // Held by another and live: answered by a plain read, which locks nothing, so the
    // hosts that follow never queue behind the holder's fenced writes (which lock the
    // row for share) four times a second.
    let other_holds = tx
        .query_row(
            &format!(
                "SELECT 1 FROM cluster_leases WHERE name = ?1 AND holder <> ?2 AND expires_at >= {now}"
            ),
            params![name, holder],
            |_| Ok(()),
        )
        .optional()?;
    if other_holds.is_some() {
        return Ok(None);
    }
    let sql = format!(
        "INSERT INTO cluster_leases (name, holder, epoch, expires_at)
         VALUES (?1, ?2, 1, {now} + ?3)
         ON CONFLICT (name) DO UPDATE SET
             epoch = CASE WHEN cluster_leases.holder = excluded.holder
                           AND cluster_leases.expires_at >= {now}
                      THEN cluster_leases.epoch ELSE cluster_leases.epoch + 1 END,
             holder = excluded.holder,
             expires_at = excluded.expires_at
         WHERE cluster_leases.holder = excluded.holder OR cluster_leases.expires_at < {now}
         RETURNING epoch"
    );
    tx.query_row(&sql, params![name, holder, ttl_ms], |r| r.get(0))
        .optional()
}

/// Gives lease `name` up at once (a graceful stop): another host may take it at its next
/// try. Whether `holder` held it.
pub fn release(tx: &Tx, name: &str, holder: &str) -> Result<bool> {
    Ok(tx.execute(
        "UPDATE cluster_leases SET expires_at = 0 WHERE name = ?1 AND holder = ?2",
        params![name, holder],
    )? > 0)
}

/// Fails (and so undoes the write it runs in) unless `fence` is still the live lease.
pub fn check_fence(tx: &Tx, fence: &Fence) -> Result<()> {
    let now = now_sql(tx);
    let lock = if tx.is_postgres() { " FOR SHARE" } else { "" };
    let held = tx
        .query_row(
            &format!(
                "SELECT 1 FROM cluster_leases
                 WHERE name = ?1 AND holder = ?2 AND epoch = ?3 AND expires_at >= {now}{lock}"
            ),
            params![fence.lease, fence.holder, fence.epoch],
            |_| Ok(()),
        )
        .optional()?;
    if held.is_none() {
        bail!(Fenced(fence.clone()));
    }
    Ok(())
}

/// A write refused because its lease is no longer held at its epoch.
#[derive(Debug, thiserror::Error)]
#[error("the {} lease is no longer held by {} at epoch {}", .0.lease, .0.holder, .0.epoch)]
pub struct Fenced(pub Fence);

/// Takes, keeps or lets go of channel leases so the channels are spread evenly over the
/// live hosts (each heard from within `ttl_ms`): `host` renews what it holds, takes free
/// or expired leases while it holds fewer than its share, and lets one go when it holds
/// more (a host joined). `channels`: the channels this host runs. The ones it holds now.
pub fn share_channels(
    tx: &Tx,
    host: &str,
    channels: &[String],
    ttl_ms: i64,
) -> Result<Vec<String>> {
    let now = db_now(tx)?;
    // The other live hosts, and this one (whose heartbeat is written after this).
    let others: i64 = tx.query_row(
        "SELECT count(*) FROM cluster_hosts
         WHERE heartbeat_at >= ?1 AND stopped_at IS NULL AND host_id <> ?2",
        params![now - ttl_ms, host],
        |r| r.get(0),
    )?;
    let live = others + 1;
    let leases = leases(tx)?;
    let held_by_me = |name: &str| {
        leases
            .iter()
            .any(|l| l.name == name && l.holder == host && l.expires_at >= now)
    };
    let free = |name: &str| {
        !leases
            .iter()
            .any(|l| l.name == name && l.holder != host && l.expires_at >= now)
    };
    let total = channels.len() as i64;
    let share = (total + live - 1) / live;
    let mut mine: Vec<String> = channels
        .iter()
        .filter(|c| held_by_me(&channel_lease(c)))
        .cloned()
        .collect();
    // One too many: let the last go, for a host that joined to take.
    if mine.len() as i64 > share
        && let Some(extra) = mine.pop()
    {
        release(tx, &channel_lease(&extra), host)?;
    }
    let mut owned = Vec::new();
    for name in &mine {
        if acquire(tx, &channel_lease(name), host, ttl_ms)?.is_some() {
            owned.push(name.clone());
        }
    }
    for name in channels {
        if owned.len() as i64 >= share {
            break;
        }
        let lease = channel_lease(name);
        if !owned.contains(name) && free(&lease) && !held_by_me(&lease) {
            if acquire(tx, &lease, host, ttl_ms)?.is_some() {
                owned.push(name.clone());
            }
        }
    }
    owned.sort();
    Ok(owned)
}

/// The host holding lease `name` now and the address it gave, if any holds it.
pub fn holder(tx: &Tx, name: &str) -> Result<Option<(String, String)>> {
    let now = now_sql(tx);
    tx.query_row(
        &format!(
            "SELECT l.holder, COALESCE(h.address, '') FROM cluster_leases l
             LEFT JOIN cluster_hosts h ON h.host_id = l.holder
             WHERE l.name = ?1 AND l.expires_at >= {now}"
        ),
        [name],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
}

/// One lease as it stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    pub name: String,
    pub holder: String,
    pub epoch: i64,
    pub expires_at: i64,
}

/// Every lease.
pub fn leases(tx: &Tx) -> Result<Vec<Lease>> {
    tx.prepare("SELECT name, holder, epoch, expires_at FROM cluster_leases ORDER BY name")?
        .query_map((), |r| {
            Ok(Lease {
                name: r.get(0)?,
                holder: r.get(1)?,
                epoch: r.get(2)?,
                expires_at: r.get(3)?,
            })
        })?
        .collect()
}

/// Records that `host_id` (reachable at `address`, running `channels`, a JSON list) is up
/// now; the database's time of it.
pub fn heartbeat(
    tx: &Tx,
    host_id: &str,
    address: &str,
    started_at: i64,
    channels: &str,
) -> Result<i64> {
    let now = now_sql(tx);
    tx.query_row(
        &format!(
            "INSERT INTO cluster_hosts
                 (host_id, address, started_at, heartbeat_at, stopped_at, channels)
             VALUES (?1, ?2, ?3, {now}, NULL, ?4)
             ON CONFLICT (host_id) DO UPDATE SET address = excluded.address,
                 started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at,
                 stopped_at = NULL, channels = excluded.channels
             RETURNING heartbeat_at"
        ),
        params![host_id, address, started_at, channels],
        |r| r.get(0),
    )
}

/// Records that `host_id` stopped on purpose.
pub fn stopped(tx: &Tx, host_id: &str) -> Result<()> {
    let now = now_sql(tx);
    tx.execute(
        &format!("UPDATE cluster_hosts SET stopped_at = {now} WHERE host_id = ?1"),
        [host_id],
    )?;
    Ok(())
}

/// A host as last heard from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostRow {
    pub host_id: String,
    pub address: String,
    pub started_at: i64,
    pub heartbeat_at: i64,
    pub stopped_at: Option<i64>,
    /// The channels it runs, as a JSON list.
    pub channels: String,
}

/// Hosts heard from since `since` (database time), and the database's time now.
pub fn hosts(tx: &Tx, since: i64) -> Result<(Vec<HostRow>, i64)> {
    let now = db_now(tx)?;
    let rows = tx
        .prepare(
            "SELECT host_id, address, started_at, heartbeat_at, stopped_at, channels
             FROM cluster_hosts WHERE heartbeat_at >= ?1 ORDER BY host_id",
        )?
        .query_map([since], |r| {
            Ok(HostRow {
                host_id: r.get(0)?,
                address: r.get(1)?,
                started_at: r.get(2)?,
                heartbeat_at: r.get(3)?,
                stopped_at: r.get(4)?,
                channels: r.get(5)?,
            })
        })?
        .collect::<Result<_>>()?;
    Ok((rows, now))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing;

    #[test]
    fn a_lease_has_one_holder_and_a_new_epoch_each_time_it_changes_hands() {
        let db = testing::db();
        let tx = db.tx();
        assert_eq!(acquire(&tx, LEADER, "a", 60_000).unwrap(), Some(1));
        assert_eq!(
            acquire(&tx, LEADER, "b", 60_000).unwrap(),
            None,
            "held by a"
        );
        assert_eq!(
            acquire(&tx, LEADER, "a", 60_000).unwrap(),
            Some(1),
            "renewed"
        );
        let a = Fence {
            lease: LEADER.into(),
            holder: "a".into(),
            epoch: 1,
        };
        check_fence(&tx, &a).unwrap();
        // a lets go; b takes it at a new epoch, and a's fence no longer holds.
        assert!(release(&tx, LEADER, "a").unwrap());
        assert_eq!(acquire(&tx, LEADER, "b", 60_000).unwrap(), Some(2));
        let e = check_fence(&tx, &a).unwrap_err();
        assert!(e.downcast_ref::<Fenced>().is_some(), "{e:#}");
        // A lease that ran out is free; its old holder coming back gets a new epoch.
        assert_eq!(acquire(&tx, "channel:x", "a", -1).unwrap(), Some(1));
        assert_eq!(acquire(&tx, "channel:x", "a", 60_000).unwrap(), Some(2));
        assert_eq!(holder(&tx, LEADER).unwrap().unwrap().0, "b");
        let names: Vec<String> = leases(&tx).unwrap().into_iter().map(|l| l.name).collect();
        assert_eq!(names, ["channel:x", "leader"]);
    }

    #[test]
    fn channels_are_spread_over_the_live_hosts_and_a_dead_hosts_move() {
        let db = testing::db();
        let tx = db.tx();
        let channels: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
        heartbeat(&tx, "h1", "x:1", 0, "[]").unwrap();
        // Alone, h1 takes every channel.
        assert_eq!(
            share_channels(&tx, "h1", &channels, 60_000).unwrap().len(),
            4
        );
        // h2 joins: h1 lets one go each turn until each holds two.
        heartbeat(&tx, "h2", "x:2", 0, "[]").unwrap();
        let mut h2 = Vec::new();
        for _ in 0..4 {
            share_channels(&tx, "h1", &channels, 60_000).unwrap();
            h2 = share_channels(&tx, "h2", &channels, 60_000).unwrap();
        }
        let h1 = share_channels(&tx, "h1", &channels, 60_000).unwrap();
        assert_eq!((h1.len(), h2.len()), (2, 2), "{h1:?} {h2:?}");
        assert!(
            h1.iter().all(|c| !h2.contains(c)),
            "never one channel on two hosts"
        );
        // h1 stops: its leases are given up, and h2 takes all four.
        for c in &h1 {
            release(&tx, &channel_lease(c), "h1").unwrap();
        }
        stopped(&tx, "h1").unwrap();
        assert_eq!(
            share_channels(&tx, "h2", &channels, 60_000).unwrap(),
            channels
        );
    }

    #[test]
    fn hosts_are_listed_with_their_heartbeat_by_the_database_clock() {
        let db = testing::db();
        let tx = db.tx();
        let at = heartbeat(&tx, "h1", "10.0.0.1:8080", 5, "[\"fb\"]").unwrap();
        heartbeat(&tx, "h2", "10.0.0.2:8080", 6, "[]").unwrap();
        stopped(&tx, "h2").unwrap();
        let (rows, now) = hosts(&tx, at - 1).unwrap();
        assert!(now >= at);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].address, "10.0.0.1:8080");
        assert_eq!(rows[0].channels, "[\"fb\"]");
        assert!(rows[1].stopped_at.is_some());
        assert!(hosts(&tx, now + 60_000).unwrap().0.is_empty());
    }

    /// A leader paused past its lease wakes up and writes as if it still led: the write
    /// is refused and undone, because another host took the lease at a newer epoch.
    #[test]
    fn a_write_under_a_lease_taken_over_is_refused_and_undone() {
        let db = testing::db();
        let (a, b) = (db.tx(), db.tx());
        let epoch = acquire(&a, LEADER, "a", 100).unwrap().unwrap();
        let fence = Fence {
            lease: LEADER.into(),
            holder: "a".into(),
            epoch,
        };
        let write = |tx: &Tx, fence: &Fence, id: &str| -> Result<()> {
            tx.begin()?;
            let done =
                check_fence(tx, fence).and_then(|()| heartbeat(tx, id, "x:1", 0, "[]").map(|_| ()));
            match done {
                Ok(()) => tx.commit(),
                Err(e) => {
                    tx.rollback()?;
                    Err(e)
                }
            }
        };
        write(&a, &fence, "while-leading").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(250));
        let taken = acquire(&b, LEADER, "b", 60_000).unwrap().unwrap();
        assert!(taken > epoch);
        let e = write(&a, &fence, "after-the-pause").unwrap_err();
        assert!(e.downcast_ref::<Fenced>().is_some(), "{e:#}");
        let (rows, _) = hosts(&b, 0).unwrap();
        let ids: Vec<&str> = rows.iter().map(|h| h.host_id.as_str()).collect();
        assert_eq!(
            ids,
            ["while-leading"],
            "nothing of the fenced write is kept"
        );
    }
}
