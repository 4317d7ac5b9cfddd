//! Leased resources and the queue of waiting acquirers: the state of `slipway lease serve`.
//!
//! A resource is never held by two owners: an acquire takes a resource with `UPDATE ... WHERE
//! owner = ''`, a release or heartbeat checks the owner in the statement that writes, and every
//! operation runs in a transaction. On SQLite one writer task runs the operations of this
//! process in batches, one transaction (and one sync to disk) per batch, and answers each only
//! once its batch is committed. On PostgreSQL each operation has its own transaction, so
//! replicas work side by side; acquires of one (type, state) take a transaction-level advisory
//! lock, so the request queue's ranks and the least recently used choice are decided by one
//! replica at a time, and everything else relies on row locks.
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

/// The dynamic types and their lifespans (nanoseconds): a released resource of a type listed
/// with a lifespan expires that long after its release; listed without one, keeps its
/// expiration date; not listed (a static type), has none.
pub type Lifespans = BTreeMap<String, Option<i64>>;

/// One change the configuration asks for, applied by [`Store::lease_apply`] only while it
/// still holds (a resource acquired meanwhile is left alone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Creates a resource unless one of the name exists.
    Create { name: String, kind: String, state: String, dynamic: bool },
    /// Deletes a resource if nobody holds it.
    Delete { name: String },
    /// Marks a resource created dynamically as adopted by a static entry, or the reverse.
    SetDynamic { name: String, dynamic: bool },
}

const COLUMNS: &str = "name, kind, state, owner, last_update, userdata, expiration, dynamic";

impl Store {
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
}

/// One operation on the lease tables, owned, so a writer task can run it.
#[derive(Debug)]
pub(crate) enum Op {
    Acquire {
        kind: String,
        state: String,
        dest: String,
        owner: String,
        request_id: String,
        now: i64,
        ttl: i64,
        on_demand: Option<(u32, String, String)>,
    },
    AcquireByState {
        state: String,
        dest: String,
        owner: String,
        names: Vec<String>,
        now: i64,
    },
    Release {
        name: String,
        dest: String,
        owner: String,
        now: i64,
        lifespans: Lifespans,
    },
    Update {
        name: String,
        owner: String,
        state: String,
        userdata: BTreeMap<String, String>,
        now: i64,
    },
    Reset {
        kind: String,
        state: String,
        stale_before: i64,
        dest: String,
        now: i64,
    },
    Apply {
        changes: Vec<Change>,
        now: i64,
    },
    QueueGc {
        now: i64,
    },
}

/// What an [`Op`] answered.
#[derive(Debug)]
pub(crate) enum Reply {
    Acquired(Acquired),
    ByState(Option<Vec<Lease>>),
    Refusable(Result<(), Refused>),
    Reset(BTreeMap<String, String>),
    Applied(Vec<Change>),
    Removed(u64),
}

async fn run_op(tx: &mut Tx<'_>, op: &Op) -> Result<Reply, Error> {
    Ok(match op {
        Op::Acquire { kind, state, dest, owner, request_id, now, ttl, on_demand } => {
            let request = Acquire {
                kind,
                state,
                dest,
                owner,
                request_id,
                now: *now,
                ttl: *ttl,
                on_demand: on_demand.as_ref().map(|(max_count, state, name)| OnDemand {
                    max_count: *max_count,
                    state,
                    name,
                }),
            };
            Reply::Acquired(acquire_in(tx, &request).await?)
        }
        Op::AcquireByState { state, dest, owner, names, now } => {
            Reply::ByState(acquire_by_state_in(tx, state, dest, owner, names, *now).await?)
        }
        Op::Release { name, dest, owner, now, lifespans } => {
            Reply::Refusable(release_in(tx, name, dest, owner, *now, lifespans).await?)
        }
        Op::Update { name, owner, state, userdata, now } => {
            Reply::Refusable(update_in(tx, name, owner, state, userdata, *now).await?)
        }
        Op::Reset { kind, state, stale_before, dest, now } => {
            Reply::Reset(reset_in(tx, kind, state, *stale_before, dest, *now).await?)
        }
        Op::Apply { changes, now } => Reply::Applied(apply_in(tx, changes, *now).await?),
        Op::QueueGc { now } => Reply::Removed(queue_gc_in(tx, *now).await?),
    })
}

/// An operation waiting for the writer, and where its answer goes.
pub(crate) type Job = (Op, tokio::sync::oneshot::Sender<Result<Reply, Error>>);

/// The most operations one transaction takes.
const BATCH: usize = 256;

/// On SQLite, one task writes the lease tables: it takes every operation waiting, runs them
/// in one transaction and answers each once that transaction is committed (group commit).
/// An answer never comes before its write is durable, and writes commit in the order the
/// operations were decided, so what a client was told survives a crash of the server.
async fn writer(store: Store, mut jobs: tokio::sync::mpsc::UnboundedReceiver<Job>) {
    while let Some(first) = jobs.recv().await {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let answers = run_batch(&store, batch.iter().map(|(op, _)| op)).await;
        match answers {
            Ok(answers) => {
                for ((_, answer_to), answer) in batch.into_iter().zip(answers) {
                    let _ = answer_to.send(answer);
                }
            }
            Err(error) => {
                let message = slipway_core::errors::chain(&error);
                for (_, answer_to) in batch {
                    let _ = answer_to.send(Err(Error::Batch(message.clone())));
                }
            }
        }
    }
}

/// Runs `ops` in one transaction; a failure of any (the database's, never a refusal) fails
/// them all, and nothing of the batch is written.
async fn run_batch<'o>(store: &Store, ops: impl Iterator<Item = &'o Op>) -> Result<Vec<Result<Reply, Error>>, Error> {
    let mut transaction = store.begin_write().await?;
    let mut answers = Vec::new();
    {
        let mut tx = Tx { connection: &mut transaction, sqlite: store.is_sqlite() };
        for op in ops {
            answers.push(Ok(run_op(&mut tx, op).await?));
        }
    }
    transaction.commit().await?;
    Ok(answers)
}

impl Store {
    /// Runs `op`: through the writer task on SQLite, in a transaction of its own on
    /// PostgreSQL (where replicas coordinate through row and advisory locks).
    async fn lease_op(&self, op: Op) -> Result<Reply, Error> {
        if !self.is_sqlite() {
            let mut transaction = self.begin_write().await?;
            let answer = {
                let mut tx = Tx { connection: &mut transaction, sqlite: false };
                run_op(&mut tx, &op).await?
            };
            transaction.commit().await?;
            return Ok(answer);
        }
        let sender = self.writer.get_or_init(|| {
            let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
            tokio::spawn(writer(self.clone(), receiver));
            sender
        });
        let (answer_to, answer) = tokio::sync::oneshot::channel();
        sender.send((op, answer_to)).map_err(|_| Error::Batch("the lease writer stopped".to_owned()))?;
        answer.await.map_err(|_| Error::Batch("the lease writer stopped".to_owned()))?
    }

    /// Acquires one resource (see [`Acquire`]).
    pub async fn lease_acquire(&self, request: &Acquire<'_>) -> Result<Acquired, Error> {
        let op = Op::Acquire {
            kind: request.kind.to_owned(),
            state: request.state.to_owned(),
            dest: request.dest.to_owned(),
            owner: request.owner.to_owned(),
            request_id: request.request_id.to_owned(),
            now: request.now,
            ttl: request.ttl,
            on_demand: request.on_demand.map(|on| (on.max_count, on.state.to_owned(), on.name.to_owned())),
        };
        match self.lease_op(op).await? {
            Reply::Acquired(acquired) => Ok(acquired),
            other => Err(unexpected(&other)),
        }
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
        let op = Op::AcquireByState {
            state: state.to_owned(),
            dest: dest.to_owned(),
            owner: owner.to_owned(),
            names: names.to_vec(),
            now,
        };
        match self.lease_op(op).await? {
            Reply::ByState(taken) => Ok(taken),
            other => Err(unexpected(&other)),
        }
    }

    /// Gives `name` back: it must be held by `owner`; it goes to `dest`, unowned, with the
    /// expiration date `lifespans` gives its type.
    pub async fn lease_release(
        &self,
        name: &str,
        dest: &str,
        owner: &str,
        now: i64,
        lifespans: &Lifespans,
    ) -> Result<Result<(), Refused>, Error> {
        let op = Op::Release {
            name: name.to_owned(),
            dest: dest.to_owned(),
            owner: owner.to_owned(),
            now,
            lifespans: lifespans.clone(),
        };
        match self.lease_op(op).await? {
            Reply::Refusable(answer) => Ok(answer),
            other => Err(unexpected(&other)),
        }
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
    ) -> Result<Result<(), Refused>, Error> {
        let op = Op::Update {
            name: name.to_owned(),
            owner: owner.to_owned(),
            state: state.to_owned(),
            userdata: userdata.clone(),
            now,
        };
        match self.lease_op(op).await? {
            Reply::Refusable(answer) => Ok(answer),
            other => Err(unexpected(&other)),
        }
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
        let op = Op::Reset { kind: kind.to_owned(), state: state.to_owned(), stale_before, dest: dest.to_owned(), now };
        match self.lease_op(op).await? {
            Reply::Reset(reset) => Ok(reset),
            other => Err(unexpected(&other)),
        }
    }

    /// Applies configuration changes, each only while it still holds; returns those applied.
    pub async fn lease_apply(&self, changes: &[Change], now: i64) -> Result<Vec<Change>, Error> {
        match self.lease_op(Op::Apply { changes: changes.to_vec(), now }).await? {
            Reply::Applied(applied) => Ok(applied),
            other => Err(unexpected(&other)),
        }
    }

    /// Removes queue entries nobody has polled for since their time to live ran out.
    pub async fn lease_queue_gc(&self, now: i64) -> Result<u64, Error> {
        match self.lease_op(Op::QueueGc { now }).await? {
            Reply::Removed(removed) => Ok(removed),
            other => Err(unexpected(&other)),
        }
    }
}

fn unexpected(reply: &Reply) -> Error {
    Error::Batch(format!("the lease writer answered the wrong operation: {reply:?}"))
}

/// Acquires one resource (see [`Acquire`]).
async fn acquire_in(tx: &mut Tx<'_>, request: &Acquire<'_>) -> Result<Acquired, Error> {
    // The common case, an anonymous acquire with something free, is one statement; the
    // rest (a request id to queue, nothing free to explain) takes the full path.
    // (Only on SQLite: there is one writer. On PostgreSQL every replica would aim at the same
    // least recently used row at once and queue on its lock; the advisory lock below orders
    // them instead.)
    if tx.sqlite
        && request.request_id.is_empty()
        && let Some(lease) = acquire_anonymous_in(tx, request).await?
    {
        return Ok(Acquired::Leased { lease, waited: 0 });
    }
    if !tx.sqlite {
        sqlx::query("SELECT 1 FROM (SELECT pg_advisory_xact_lock(hashtext($1))) AS locked")
            .bind(format!("slipway-lease\n{}\n{}", request.kind, request.state))
            .execute(&mut *tx.connection)
            .await?;
    }
    let (rank, queued) = queue_rank(tx, request).await?;
    let candidate: Option<String> = sqlx::query(
        "SELECT name FROM lease_resources WHERE kind = $1 AND state = $2 AND owner = '' \
         ORDER BY last_update, name LIMIT 1 OFFSET $3",
    )
    .bind(request.kind)
    .bind(request.state)
    .bind(rank - 1)
    .fetch_optional(&mut *tx.connection)
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
        .execute(&mut *tx.connection)
        .await?;
        if updated.rows_affected() == 1 {
            let waited = match queued {
                Some(Queued { created_at, .. }) => {
                    sqlx::query("DELETE FROM lease_requests WHERE kind = $1 AND state = $2 AND request_id = $3")
                        .bind(request.kind)
                        .bind(request.state)
                        .bind(request.request_id)
                        .execute(&mut *tx.connection)
                        .await?;
                    request.now.saturating_sub(created_at)
                }
                None => 0,
            };
            let lease = fetch(tx, &name).await?.ok_or(sqlx::Error::RowNotFound)?;
            return Ok(Acquired::Leased { lease, waited });
        }
    }
    let count: i64 = sqlx::query("SELECT COUNT(*) FROM lease_resources WHERE kind = $1")
        .bind(request.kind)
        .fetch_one(&mut *tx.connection)
        .await?
        .try_get(0)?;
    let mut created = None;
    if let (Some(on_demand), Some(Queued { new: true, .. })) = (request.on_demand, queued)
        && count < i64::from(on_demand.max_count)
    {
        insert(tx, on_demand.name, request.kind, on_demand.state, true, request.now).await?;
        created = Some(on_demand.name.to_owned());
    }
    Ok(Acquired::NotAvailable { type_exists: count > 0, created })
}

/// An acquire without a request id, in one statement: the least recently used free
/// resource behind as many as there are live queued requests. `None` when there is none.
async fn acquire_anonymous_in(tx: &mut Tx<'_>, request: &Acquire<'_>) -> Result<Option<Lease>, Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE lease_resources SET owner = $1, state = $2, last_update = $3 \
         WHERE name = (SELECT name FROM lease_resources WHERE kind = $4 AND state = $5 AND owner = '' \
             ORDER BY last_update, name LIMIT 1 \
             OFFSET (SELECT COUNT(*) FROM lease_requests WHERE kind = $4 AND state = $5 AND expires_at > $3)) \
         AND owner = '' AND state = $5 RETURNING {COLUMNS}"
    )))
    .bind(request.owner)
    .bind(request.dest)
    .bind(request.now)
    .bind(request.kind)
    .bind(request.state)
    .fetch_optional(&mut *tx.connection)
    .await?;
    let lease = row.as_ref().map(lease_of).transpose()?;
    Ok(lease)
}

/// Takes every resource of `names` that is in `state` and unowned, all or none: `None` when
/// any of them is not available (and nothing changed).
async fn acquire_by_state_in(
    tx: &mut Tx<'_>,
    state: &str,
    dest: &str,
    owner: &str,
    names: &[String],
    now: i64,
) -> Result<Option<Vec<Lease>>, Error> {
    // All or none: every name must be free in `state` before any is taken.
    for name in names {
        match fetch(tx, name).await? {
            Some(lease) if lease.owner.is_empty() && lease.state == state => {}
            _ => return Ok(None),
        }
    }
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
        .execute(&mut *tx.connection)
        .await?;
        if updated.rows_affected() != 1 {
            return Ok(None);
        }
        taken.push(fetch(tx, name).await?.ok_or(sqlx::Error::RowNotFound)?);
    }
    Ok(Some(taken))
}

/// Gives `name` back: it must be held by `owner`; it goes to `dest`, unowned.
async fn release_in(
    tx: &mut Tx<'_>,
    name: &str,
    dest: &str,
    owner: &str,
    now: i64,
    lifespans: &Lifespans,
) -> Result<Result<(), Refused>, Error> {
    // One statement when the caller holds it: a static resource loses its expiration
    // date, a dynamic one keeps it until the rule below says otherwise.
    let released = sqlx::query(
        "UPDATE lease_resources SET owner = '', state = $1, last_update = $2, \
         expiration = CASE WHEN dynamic = 0 THEN NULL ELSE expiration END \
         WHERE name = $3 AND owner = $4 AND owner <> '' RETURNING kind, expiration",
    )
    .bind(dest)
    .bind(now)
    .bind(name)
    .bind(owner)
    .fetch_optional(&mut *tx.connection)
    .await?;
    if let Some(row) = released {
        let (kind, current): (String, Option<i64>) = (row.try_get(0)?, row.try_get(1)?);
        let wanted = match lifespans.get(&kind) {
            None => None,
            Some(None) => current,
            Some(Some(lifespan)) => Some(now.saturating_add(*lifespan)),
        };
        if wanted != current {
            sqlx::query("UPDATE lease_resources SET expiration = $1 WHERE name = $2")
                .bind(wanted)
                .bind(name)
                .execute(&mut *tx.connection)
                .await?;
        }
        return Ok(Ok(()));
    }
    let Some(lease) = fetch(tx, name).await? else {
        return Ok(Err(Refused::NotFound));
    };
    if lease.owner != owner || owner.is_empty() {
        return Ok(Err(Refused::OwnerMismatch { current: lease.owner }));
    }
    // Held by the caller, yet not released above: it changed hands in between.
    Ok(Err(Refused::OwnerMismatch { current: String::new() }))
}

/// A heartbeat: `name` must be held by `owner` in `state`. Its last update becomes `now`
/// and `userdata` is merged in (a key with an empty value is removed).
async fn update_in(
    tx: &mut Tx<'_>,
    name: &str,
    owner: &str,
    state: &str,
    userdata: &BTreeMap<String, String>,
    now: i64,
) -> Result<Result<(), Refused>, Error> {
    if userdata.is_empty() {
        let beat =
            sqlx::query("UPDATE lease_resources SET last_update = $1 WHERE name = $2 AND owner = $3 AND state = $4")
                .bind(now)
                .bind(name)
                .bind(owner)
                .bind(state)
                .execute(&mut *tx.connection)
                .await?;
        if beat.rows_affected() == 1 {
            return Ok(Ok(()));
        }
    }
    let Some(mut lease) = fetch(tx, name).await? else {
        return Ok(Err(Refused::NotFound));
    };
    if lease.owner != owner {
        return Ok(Err(Refused::OwnerMismatch { current: lease.owner }));
    }
    if lease.state != state {
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
        .execute(&mut *tx.connection)
        .await?;
    Ok(Ok(()))
}

/// Takes back every resource of `kind` in `state` that someone holds and has not touched
/// since `stale_before`: it goes to `dest`, unowned. Returns each one with its last owner.
async fn reset_in(
    tx: &mut Tx<'_>,
    kind: &str,
    state: &str,
    stale_before: i64,
    dest: &str,
    now: i64,
) -> Result<BTreeMap<String, String>, Error> {
    let rows = sqlx::query(
        "SELECT name, owner FROM lease_resources WHERE kind = $1 AND state = $2 AND owner <> '' AND last_update <= $3",
    )
    .bind(kind)
    .bind(state)
    .bind(stale_before)
    .fetch_all(&mut *tx.connection)
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
        .execute(&mut *tx.connection)
        .await?;
        if updated.rows_affected() == 1 {
            reset.insert(name, owner);
        }
    }
    Ok(reset)
}

/// Applies configuration changes, each only while it still holds; returns those applied.
async fn apply_in(tx: &mut Tx<'_>, changes: &[Change], now: i64) -> Result<Vec<Change>, Error> {
    let mut applied = Vec::new();
    for change in changes {
        let done = match change {
            Change::Create { name, kind, state, dynamic } => {
                if fetch(tx, name).await?.is_some() {
                    false
                } else {
                    insert(tx, name, kind, state, *dynamic, now).await?;
                    true
                }
            }
            Change::Delete { name } => {
                sqlx::query("DELETE FROM lease_resources WHERE name = $1 AND owner = ''")
                    .bind(name)
                    .execute(&mut *tx.connection)
                    .await?
                    .rows_affected()
                    == 1
            }
            Change::SetDynamic { name, dynamic } => {
                sqlx::query("UPDATE lease_resources SET dynamic = $1 WHERE name = $2")
                    .bind(i64::from(*dynamic))
                    .bind(name)
                    .execute(&mut *tx.connection)
                    .await?
                    .rows_affected()
                    == 1
            }
        };
        if done {
            applied.push(change.clone());
        }
    }
    Ok(applied)
}

/// Removes queue entries nobody has polled for since their time to live ran out.
async fn queue_gc_in(tx: &mut Tx<'_>, now: i64) -> Result<u64, Error> {
    let removed =
        sqlx::query("DELETE FROM lease_requests WHERE expires_at <= $1").bind(now).execute(&mut *tx.connection).await?;
    Ok(removed.rows_affected())
}

/// The transaction a lease operation runs in.
struct Tx<'c> {
    connection: &'c mut sqlx::AnyConnection,
    sqlite: bool,
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
async fn queue_rank(tx: &mut Tx<'_>, request: &Acquire<'_>) -> Result<(i64, Option<Queued>), sqlx::Error> {
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
        let ahead: i64 = live_ahead(None).fetch_one(&mut *tx.connection).await?.try_get(0)?;
        return Ok((ahead + 1, None));
    }
    let existing = sqlx::query(
        "SELECT seq, created_at, expires_at FROM lease_requests WHERE kind = $1 AND state = $2 AND request_id = $3",
    )
    .bind(request.kind)
    .bind(request.state)
    .bind(request.request_id)
    .fetch_optional(&mut *tx.connection)
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
                .execute(&mut *tx.connection)
                .await?;
            (seq, Queued { created_at, new: false })
        }
        stale => {
            if stale.is_some() {
                sqlx::query("DELETE FROM lease_requests WHERE kind = $1 AND state = $2 AND request_id = $3")
                    .bind(request.kind)
                    .bind(request.state)
                    .bind(request.request_id)
                    .execute(&mut *tx.connection)
                    .await?;
            }
            let seq: i64 = sqlx::query("SELECT COALESCE(MAX(seq), 0) + 1 FROM lease_requests")
                .fetch_one(&mut *tx.connection)
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
            .execute(&mut *tx.connection)
            .await?;
            (seq, Queued { created_at: request.now, new: true })
        }
    };
    let ahead: i64 = live_ahead(Some(seq)).fetch_one(&mut *tx.connection).await?.try_get(0)?;
    Ok((ahead + 1, Some(queued)))
}

async fn fetch(tx: &mut Tx<'_>, name: &str) -> Result<Option<Lease>, sqlx::Error> {
    sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM lease_resources WHERE name = $1")))
        .bind(name)
        .fetch_optional(&mut *tx.connection)
        .await?
        .as_ref()
        .map(lease_of)
        .transpose()
}

async fn insert(
    tx: &mut Tx<'_>,
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
    .execute(&mut *tx.connection)
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
