//! Leased resources and the queue of waiting acquirers: the state of `slipway lease serve`.
//!
//! Every operation is one transaction, so a resource is never held by two owners: an acquire
//! takes a resource with `UPDATE ... WHERE owner = ''` and checks that it changed one row, a
//! release or heartbeat checks the owner in the same statement that writes. On SQLite writers
//! are serialized by the database (`BEGIN IMMEDIATE`) and, within one process, by a gate so
//! they never spin in SQLite's busy handler. On PostgreSQL, acquires of one (type, state) take
//! a transaction-level advisory lock, so the request queue's ranks and the least recently used
//! choice are decided by one replica at a time; everything else relies on row locks.
//!
//! Times are nanoseconds since the Unix epoch. The queue lives in the database, so it survives
//! a restart and is shared by every replica.

use std::collections::BTreeMap;

use sqlx::Row;

use crate::{Error, Store};

/// One resource as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub name: String,
    /// The resource's type (`gce-project`).
    pub kind: String,
    pub state: String,
    /// Empty when nobody holds it.
    pub owner: String,
    /// When it was last acquired, released, reset or heartbeated (nanoseconds).
    pub last_update: i64,
    pub userdata: BTreeMap<String, String>,
    /// When a dynamic resource is due to be deleted (nanoseconds).
    pub expiration: Option<i64>,
    /// Created from a dynamic type rather than listed by name in the configuration.
    pub dynamic: bool,
}

/// An acquire request.
#[derive(Debug, Clone)]
pub struct Acquire<'a> {
    pub kind: &'a str,
    pub state: &'a str,
    pub dest: &'a str,
    pub owner: &'a str,
    /// Keeps a place in the queue of `(kind, state)` across polls; empty for none.
    pub request_id: &'a str,
    pub now: i64,
    /// How long a queue entry lives without a poll.
    pub ttl: i64,
    /// The dynamic type of this name, if the configuration has one: a request seen for the
    /// first time creates a resource when there are fewer than `max_count`.
    pub on_demand: Option<OnDemand<'a>>,
}

/// How a dynamic type creates resources on demand.
#[derive(Debug, Clone, Copy)]
pub struct OnDemand<'a> {
    pub max_count: u32,
    /// The state a new resource starts in.
    pub state: &'a str,
    /// The name of a new resource.
    pub name: &'a str,
}

/// What an acquire did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acquired {
    /// The caller holds it now; `waited` is how long its request was queued (nanoseconds).
    Leased { lease: Lease, waited: i64 },
    /// Nothing at the caller's rank. `type_exists` says whether any resource of the type
    /// exists; `created` names a resource made on demand for a later poll.
    NotAvailable { type_exists: bool, created: Option<String> },
}

/// Why a release, heartbeat or update was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    NotFound,
    /// Someone else holds it (or nobody does): the current owner.
    OwnerMismatch {
        current: String,
    },
    /// The caller holds it, in another state: the current state.
    StateMismatch {
        current: String,
    },
}

/// What a release sets the expiration date to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiration {
    /// A static resource: none.
    Clear,
    /// A dynamic type without a lifespan: as it was.
    Keep,
    /// A dynamic type with a lifespan: this instant.
    At(i64),
}

/// One change the configuration asks for, applied by [`Store::lease_apply`] only while it
/// still holds (a resource acquired meanwhile is left alone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Creates a resource unless one of the name exists.
    Create { name: String, kind: String, state: String, dynamic: bool },
    /// Deletes a resource if nobody holds it.
    Delete { name: String },
    /// Sets the state of a resource nobody holds.
    SetState { name: String, state: String },
    /// Marks a resource created dynamically as adopted by a static entry, or the reverse.
    SetDynamic { name: String, dynamic: bool },
}

const COLUMNS: &str = "name, kind, state, owner, last_update, userdata, expiration, dynamic";

impl Store {
    /// Begins a write transaction for the lease tables: on SQLite, one writer of this process
    /// at a time (the others wait on the gate, not in SQLite's busy handler).
    async fn lease_transaction(&self) -> Result<LeaseTransaction, sqlx::Error> {
        let gate = if self.is_sqlite() { Some(self.gate.clone().lock_owned().await) } else { None };
        let transaction = self.begin_write().await?;
        Ok(LeaseTransaction { transaction, _gate: gate })
    }

    /// Acquires one resource (see [`Acquire`]).
    pub async fn lease_acquire(&self, request: &Acquire<'_>) -> Result<Acquired, Error> {
        let mut tx = self.lease_transaction().await?;
        if !self.is_sqlite() {
            sqlx::query("SELECT 1 FROM (SELECT pg_advisory_xact_lock(hashtext($1))) AS locked")
                .bind(format!("slipway-lease\n{}\n{}", request.kind, request.state))
                .execute(&mut *tx.transaction)
                .await?;
        }
        let (rank, queued) = queue_rank(&mut tx, request).await?;
        let candidate: Option<String> = sqlx::query(
            "SELECT name FROM lease_resources WHERE kind = $1 AND state = $2 AND owner = '' \
             ORDER BY last_update, name LIMIT 1 OFFSET $3",
        )
        .bind(request.kind)
        .bind(request.state)
        .bind(rank - 1)
        .fetch_optional(&mut *tx.transaction)
        .await?
        .map(|row| row.try_get(0))
        .transpose()?;
        if let Some(name) = candidate {
            let updated = sqlx::query(
                "UPDATE lease_resources SET owner = $1, state = $2, last_update = $3 \
                 WHERE name = $4 AND owner = '' AND state = $5",
            )
            .bind(request.owner)
            .bind(request.dest)
            .bind(request.now)
            .bind(&name)
            .bind(request.state)
            .execute(&mut *tx.transaction)
            .await?;
            if updated.rows_affected() == 1 {
                let waited = match queued {
                    Some(Queued { created_at, .. }) => {
                        sqlx::query("DELETE FROM lease_requests WHERE kind = $1 AND state = $2 AND request_id = $3")
                            .bind(request.kind)
                            .bind(request.state)
                            .bind(request.request_id)
                            .execute(&mut *tx.transaction)
                            .await?;
                        request.now.saturating_sub(created_at)
                    }
                    None => 0,
                };
                let lease = fetch(&mut tx, &name).await?.ok_or(sqlx::Error::RowNotFound)?;
                tx.transaction.commit().await?;
                return Ok(Acquired::Leased { lease, waited });
            }
        }
        let count: i64 = sqlx::query("SELECT COUNT(*) FROM lease_resources WHERE kind = $1")
            .bind(request.kind)
            .fetch_one(&mut *tx.transaction)
            .await?
            .try_get(0)?;
        let mut created = None;
        if let (Some(on_demand), Some(Queued { new: true, .. })) = (request.on_demand, queued)
            && count < i64::from(on_demand.max_count)
        {
            insert(&mut tx, on_demand.name, request.kind, on_demand.state, true, request.now).await?;
            created = Some(on_demand.name.to_owned());
        }
        tx.transaction.commit().await?;
        Ok(Acquired::NotAvailable { type_exists: count > 0, created })
    }

    /// Takes every resource of `names` that is in `state` and unowned, all or none: `None` when
    /// any of them is not available (and nothing changed).
    pub async fn lease_acquire_by_state(
        &self,
        state: &str,
        dest: &str,
        owner: &str,
        names: &[String],
        now: i64,
    ) -> Result<Option<Vec<Lease>>, Error> {
        let mut tx = self.lease_transaction().await?;
        let mut taken = Vec::new();
        for name in names {
            let updated = sqlx::query(
                "UPDATE lease_resources SET owner = $1, state = $2, last_update = $3 \
                 WHERE name = $4 AND owner = '' AND state = $5",
            )
            .bind(owner)
            .bind(dest)
            .bind(now)
            .bind(name)
            .bind(state)
            .execute(&mut *tx.transaction)
            .await?;
            if updated.rows_affected() != 1 {
                tx.transaction.rollback().await?;
                return Ok(None);
            }
            taken.push(fetch(&mut tx, name).await?.ok_or(sqlx::Error::RowNotFound)?);
        }
        tx.transaction.commit().await?;
        Ok(Some(taken))
    }

    /// Gives `name` back: it must be held by `owner`; it goes to `dest`, unowned.
    pub async fn lease_release(
        &self,
        name: &str,
        dest: &str,
        owner: &str,
        now: i64,
        expiration: impl Fn(&str) -> Expiration,
    ) -> Result<Result<Lease, Refused>, Error> {
        let mut tx = self.lease_transaction().await?;
        let Some(lease) = fetch(&mut tx, name).await? else {
            tx.transaction.rollback().await?;
            return Ok(Err(Refused::NotFound));
        };
        if lease.owner != owner || owner.is_empty() {
            tx.transaction.rollback().await?;
            return Ok(Err(Refused::OwnerMismatch { current: lease.owner }));
        }
        let expires = match expiration(&lease.kind) {
            Expiration::Clear => None,
            Expiration::Keep => lease.expiration,
            Expiration::At(at) => Some(at),
        };
        let updated = sqlx::query(
            "UPDATE lease_resources SET owner = '', state = $1, last_update = $2, expiration = $3 \
             WHERE name = $4 AND owner = $5",
        )
        .bind(dest)
        .bind(now)
        .bind(expires)
        .bind(name)
        .bind(owner)
        .execute(&mut *tx.transaction)
        .await?;
        if updated.rows_affected() != 1 {
            tx.transaction.rollback().await?;
            return Ok(Err(Refused::OwnerMismatch { current: String::new() }));
        }
        tx.transaction.commit().await?;
        Ok(Ok(Lease { owner: String::new(), state: dest.to_owned(), last_update: now, expiration: expires, ..lease }))
    }

    /// A heartbeat: `name` must be held by `owner` in `state`. Its last update becomes `now`
    /// and `userdata` is merged in (a key with an empty value is removed).
    pub async fn lease_update(
        &self,
        name: &str,
        owner: &str,
        state: &str,
        userdata: &BTreeMap<String, String>,
        now: i64,
    ) -> Result<Result<Lease, Refused>, Error> {
        let mut tx = self.lease_transaction().await?;
        let Some(mut lease) = fetch(&mut tx, name).await? else {
            tx.transaction.rollback().await?;
            return Ok(Err(Refused::NotFound));
        };
        if lease.owner != owner {
            tx.transaction.rollback().await?;
            return Ok(Err(Refused::OwnerMismatch { current: lease.owner }));
        }
        if lease.state != state {
            tx.transaction.rollback().await?;
            return Ok(Err(Refused::StateMismatch { current: lease.state }));
        }
        for (key, value) in userdata {
            if value.is_empty() {
                lease.userdata.remove(key);
            } else {
                lease.userdata.insert(key.clone(), value.clone());
            }
        }
        let text = serde_json::to_string(&lease.userdata).map_err(|error| sqlx::Error::Encode(Box::new(error)))?;
        sqlx::query("UPDATE lease_resources SET last_update = $1, userdata = $2 WHERE name = $3 AND owner = $4")
            .bind(now)
            .bind(text)
            .bind(name)
            .bind(owner)
            .execute(&mut *tx.transaction)
            .await?;
        tx.transaction.commit().await?;
        lease.last_update = now;
        Ok(Ok(lease))
    }

    /// Takes back every resource of `kind` in `state` that someone holds and has not touched
    /// since `stale_before`: it goes to `dest`, unowned. Returns each one with its last owner.
    pub async fn lease_reset(
        &self,
        kind: &str,
        state: &str,
        stale_before: i64,
        dest: &str,
        now: i64,
    ) -> Result<BTreeMap<String, String>, Error> {
        let mut tx = self.lease_transaction().await?;
        let rows = sqlx::query(
            "SELECT name, owner FROM lease_resources WHERE kind = $1 AND state = $2 AND owner <> '' AND last_update <= $3",
        )
        .bind(kind)
        .bind(state)
        .bind(stale_before)
        .fetch_all(&mut *tx.transaction)
        .await?;
        let mut reset = BTreeMap::new();
        for row in rows {
            let (name, owner): (String, String) = (row.try_get(0)?, row.try_get(1)?);
            let updated = sqlx::query(
                "UPDATE lease_resources SET owner = '', state = $1, last_update = $2 \
                 WHERE name = $3 AND owner = $4 AND state = $5 AND last_update <= $6",
            )
            .bind(dest)
            .bind(now)
            .bind(&name)
            .bind(&owner)
            .bind(state)
            .bind(stale_before)
            .execute(&mut *tx.transaction)
            .await?;
            if updated.rows_affected() == 1 {
                reset.insert(name, owner);
            }
        }
        tx.transaction.commit().await?;
        Ok(reset)
    }

    /// Every resource, or those of one type, by name.
    pub async fn leases(&self, kind: Option<&str>) -> Result<Vec<Lease>, Error> {
        let rows = match kind {
            Some(kind) => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {COLUMNS} FROM lease_resources WHERE kind = $1 ORDER BY name"
                )))
                .bind(kind)
                .fetch_all(self.pool())
                .await?
            }
            None => {
                sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM lease_resources ORDER BY name")))
                    .fetch_all(self.pool())
                    .await?
            }
        };
        Ok(rows.iter().map(lease_of).collect::<Result<_, _>>()?)
    }

    /// Applies configuration changes, each only while it still holds; returns those applied.
    pub async fn lease_apply(&self, changes: &[Change], now: i64) -> Result<Vec<Change>, Error> {
        let mut tx = self.lease_transaction().await?;
        let mut applied = Vec::new();
        for change in changes {
            let done = match change {
                Change::Create { name, kind, state, dynamic } => {
                    if fetch(&mut tx, name).await?.is_some() {
                        false
                    } else {
                        insert(&mut tx, name, kind, state, *dynamic, now).await?;
                        true
                    }
                }
                Change::Delete { name } => {
                    sqlx::query("DELETE FROM lease_resources WHERE name = $1 AND owner = ''")
                        .bind(name)
                        .execute(&mut *tx.transaction)
                        .await?
                        .rows_affected()
                        == 1
                }
                Change::SetState { name, state } => {
                    sqlx::query(
                        "UPDATE lease_resources SET state = $1, last_update = $2 WHERE name = $3 AND owner = ''",
                    )
                    .bind(state)
                    .bind(now)
                    .bind(name)
                    .execute(&mut *tx.transaction)
                    .await?
                    .rows_affected()
                        == 1
                }
                Change::SetDynamic { name, dynamic } => {
                    sqlx::query("UPDATE lease_resources SET dynamic = $1 WHERE name = $2")
                        .bind(i64::from(*dynamic))
                        .bind(name)
                        .execute(&mut *tx.transaction)
                        .await?
                        .rows_affected()
                        == 1
                }
            };
            if done {
                applied.push(change.clone());
            }
        }
        tx.transaction.commit().await?;
        Ok(applied)
    }

    /// Removes queue entries nobody has polled for since their time to live ran out.
    pub async fn lease_queue_gc(&self, now: i64) -> Result<u64, Error> {
        let mut tx = self.lease_transaction().await?;
        let removed = sqlx::query("DELETE FROM lease_requests WHERE expires_at <= $1")
            .bind(now)
            .execute(&mut *tx.transaction)
            .await?;
        tx.transaction.commit().await?;
        Ok(removed.rows_affected())
    }
}

/// A write transaction of the lease tables, holding this process's SQLite write gate.
struct LeaseTransaction {
    transaction: sqlx::Transaction<'static, sqlx::Any>,
    _gate: Option<tokio::sync::OwnedMutexGuard<()>>,
}

/// A caller's entry in the queue.
#[derive(Debug, Clone, Copy)]
struct Queued {
    created_at: i64,
    /// Seen for the first time by this call.
    new: bool,
}

/// The caller's rank in the queue of `(kind, state)` (1 is first), refreshing or adding its
/// entry. Without a request id the caller comes after every live entry.
async fn queue_rank(tx: &mut LeaseTransaction, request: &Acquire<'_>) -> Result<(i64, Option<Queued>), sqlx::Error> {
    let live_ahead = |seq: Option<i64>| {
        let sql = if seq.is_some() {
            "SELECT COUNT(*) FROM lease_requests WHERE kind = $1 AND state = $2 AND expires_at > $3 AND seq < $4"
        } else {
            "SELECT COUNT(*) FROM lease_requests WHERE kind = $1 AND state = $2 AND expires_at > $3"
        };
        let mut query = sqlx::query(sql).bind(request.kind).bind(request.state).bind(request.now);
        if let Some(seq) = seq {
            query = query.bind(seq);
        }
        query
    };
    if request.request_id.is_empty() {
        let ahead: i64 = live_ahead(None).fetch_one(&mut *tx.transaction).await?.try_get(0)?;
        return Ok((ahead + 1, None));
    }
    let existing = sqlx::query(
        "SELECT seq, created_at, expires_at FROM lease_requests WHERE kind = $1 AND state = $2 AND request_id = $3",
    )
    .bind(request.kind)
    .bind(request.state)
    .bind(request.request_id)
    .fetch_optional(&mut *tx.transaction)
    .await?;
    let expires_at = request.now.saturating_add(request.ttl);
    let (seq, queued) = match existing {
        // An entry whose time ran out is as good as gone: the request starts again at the back.
        Some(row) if row.try_get::<i64, _>(2)? > request.now => {
            let (seq, created_at): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
            sqlx::query("UPDATE lease_requests SET expires_at = $1 WHERE kind = $2 AND state = $3 AND request_id = $4")
                .bind(expires_at)
                .bind(request.kind)
                .bind(request.state)
                .bind(request.request_id)
                .execute(&mut *tx.transaction)
                .await?;
            (seq, Queued { created_at, new: false })
        }
        stale => {
            if stale.is_some() {
                sqlx::query("DELETE FROM lease_requests WHERE kind = $1 AND state = $2 AND request_id = $3")
                    .bind(request.kind)
                    .bind(request.state)
                    .bind(request.request_id)
                    .execute(&mut *tx.transaction)
                    .await?;
            }
            let seq: i64 = sqlx::query("SELECT COALESCE(MAX(seq), 0) + 1 FROM lease_requests")
                .fetch_one(&mut *tx.transaction)
                .await?
                .try_get(0)?;
            sqlx::query(
                "INSERT INTO lease_requests (kind, state, request_id, seq, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(request.kind)
            .bind(request.state)
            .bind(request.request_id)
            .bind(seq)
            .bind(request.now)
            .bind(expires_at)
            .execute(&mut *tx.transaction)
            .await?;
            (seq, Queued { created_at: request.now, new: true })
        }
    };
    let ahead: i64 = live_ahead(Some(seq)).fetch_one(&mut *tx.transaction).await?.try_get(0)?;
    Ok((ahead + 1, Some(queued)))
}

async fn fetch(tx: &mut LeaseTransaction, name: &str) -> Result<Option<Lease>, sqlx::Error> {
    sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM lease_resources WHERE name = $1")))
        .bind(name)
        .fetch_optional(&mut *tx.transaction)
        .await?
        .as_ref()
        .map(lease_of)
        .transpose()
}

async fn insert(
    tx: &mut LeaseTransaction,
    name: &str,
    kind: &str,
    state: &str,
    dynamic: bool,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO lease_resources ({COLUMNS}) VALUES ($1, $2, $3, '', $4, '{{}}', NULL, $5)"
    )))
    .bind(name)
    .bind(kind)
    .bind(state)
    .bind(now)
    .bind(i64::from(dynamic))
    .execute(&mut *tx.transaction)
    .await?;
    Ok(())
}

fn lease_of(row: &sqlx::any::AnyRow) -> Result<Lease, sqlx::Error> {
    let userdata: String = row.try_get(5)?;
    Ok(Lease {
        name: row.try_get(0)?,
        kind: row.try_get(1)?,
        state: row.try_get(2)?,
        owner: row.try_get(3)?,
        last_update: row.try_get(4)?,
        userdata: serde_json::from_str(&userdata).map_err(|error| sqlx::Error::Decode(Box::new(error)))?,
        expiration: row.try_get(6)?,
        dynamic: row.try_get::<i64, _>(7)? != 0,
    })
}
