//! The schema, as an ordered list of steps; each is applied once, in a transaction, and
//! recorded in `slipway_migrations`.
//!
//! Several processes may open an empty database at once (eight `job run`s on a new PostgreSQL
//! database). On PostgreSQL the migrations run on one connection that holds a session-level
//! advisory lock, so they run one process at a time (concurrent `CREATE TABLE IF NOT EXISTS`
//! otherwise collide in `pg_type`); SQLite serializes writers itself (`BEGIN IMMEDIATE`).

use sqlx::{AnyConnection, AnyPool, Connection, Row};

/// The advisory lock key of slipway's migrations ("slipway" in ASCII, as a number).
const LOCK: i64 = 0x0073_6c69_7077_6179;

/// Code a step runs after its SQL, in the same transaction: `(connection, is SQLite)`.
type Code = for<'c> fn(
    &'c mut AnyConnection,
    bool,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), crate::Error>> + Send + 'c>>;

/// Every step ever released, oldest first. Never edit one: add another.
const STEPS: &[(i64, &str, &str)] = &[
    (
        1,
        "runs and schedule state",
        "CREATE TABLE IF NOT EXISTS runs (
        id TEXT PRIMARY KEY,
        job TEXT NOT NULL,
        base_job TEXT NOT NULL,
        build_id TEXT NOT NULL,
        variant TEXT NOT NULL,
        trigger_kind TEXT NOT NULL,
        state TEXT NOT NULL,
        due_at BIGINT,
        created_at BIGINT NOT NULL,
        started_at BIGINT,
        finished_at BIGINT,
        heartbeat_at BIGINT NOT NULL,
        exit_code BIGINT,
        description TEXT NOT NULL,
        executor TEXT NOT NULL,
        owner_host TEXT NOT NULL,
        owner_pid BIGINT NOT NULL,
        artifacts TEXT NOT NULL,
        log_path TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS runs_by_job ON runs (job, created_at);
    CREATE INDEX IF NOT EXISTS runs_by_state ON runs (state);
    CREATE TABLE IF NOT EXISTS schedule_state (
        job TEXT PRIMARY KEY,
        last_due BIGINT NOT NULL,
        last_skipped BIGINT
    );",
    ),
    (
        2,
        "test results",
        "CREATE TABLE IF NOT EXISTS result_builds (
        job TEXT NOT NULL,
        build_id TEXT NOT NULL,
        started BIGINT,
        finished BIGINT,
        passed BIGINT,
        version TEXT,
        source TEXT NOT NULL,
        ingested_at BIGINT NOT NULL,
        PRIMARY KEY (job, build_id)
    );
    CREATE INDEX IF NOT EXISTS result_builds_by_time ON result_builds (job, started);
    CREATE TABLE IF NOT EXISTS result_tests (
        job TEXT NOT NULL,
        build_id TEXT NOT NULL,
        test TEXT NOT NULL,
        status TEXT NOT NULL,
        duration_ms BIGINT,
        runs BIGINT NOT NULL,
        passes BIGINT NOT NULL,
        message TEXT,
        PRIMARY KEY (job, build_id, test)
    );
    CREATE INDEX IF NOT EXISTS result_tests_by_status ON result_tests (status, job);",
    ),
    (3, "the revision a run tested", "ALTER TABLE runs ADD COLUMN revision TEXT NOT NULL DEFAULT ''"),
    (
        4,
        "leases",
        "CREATE TABLE IF NOT EXISTS lease_resources (
        name TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        state TEXT NOT NULL,
        owner TEXT NOT NULL,
        last_update BIGINT NOT NULL,
        userdata TEXT NOT NULL,
        expiration BIGINT,
        dynamic BIGINT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS lease_resources_free ON lease_resources (kind, state, owner, last_update);
    CREATE TABLE IF NOT EXISTS lease_requests (
        kind TEXT NOT NULL,
        state TEXT NOT NULL,
        request_id TEXT NOT NULL,
        seq BIGINT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        PRIMARY KEY (kind, state, request_id)
    );
    CREATE INDEX IF NOT EXISTS lease_requests_in_order ON lease_requests (kind, state, seq)",
    ),
    (5, "aborting a run from anywhere", "ALTER TABLE runs ADD COLUMN abort_requested BIGINT NOT NULL DEFAULT 0"),
    (
        6,
        "runs listed newest first, by job or base job, at any size",
        "CREATE INDEX IF NOT EXISTS runs_newest ON runs (created_at);
    CREATE INDEX IF NOT EXISTS runs_by_base_job ON runs (base_job, created_at)",
    ),
    (
        7,
        "alerts sent, so replicas send each once",
        "CREATE TABLE IF NOT EXISTS alert_notices (
        job TEXT NOT NULL,
        test TEXT NOT NULL,
        first_failure TEXT NOT NULL,
        sent_at BIGINT NOT NULL,
        PRIMARY KEY (job, test, first_failure)
    )",
    ),
    (
        8,
        "runs by job and state at any size",
        "DROP INDEX IF EXISTS runs_by_state;
    CREATE INDEX IF NOT EXISTS runs_by_job_state ON runs (job, state, created_at);
    CREATE INDEX IF NOT EXISTS runs_by_base_job_state ON runs (base_job, state, created_at);
    CREATE INDEX IF NOT EXISTS runs_running ON runs (state) WHERE state = 'running'",
    ),
    (
        9,
        "test results packed per build",
        // BYTEA is PostgreSQL's binary type; SQLite takes any type name and stores a blob as
        // it is given.
        "CREATE TABLE IF NOT EXISTS result_test_blocks (
        job TEXT NOT NULL,
        build_id TEXT NOT NULL,
        block BIGINT NOT NULL,
        tests BIGINT NOT NULL,
        data BYTEA NOT NULL,
        PRIMARY KEY (job, build_id, block)
    );
    CREATE TABLE IF NOT EXISTS result_failures (
        job TEXT NOT NULL,
        build_id TEXT NOT NULL,
        test TEXT NOT NULL,
        status TEXT NOT NULL,
        message TEXT,
        PRIMARY KEY (job, build_id, test)
    )",
    ),
];

/// The code of the steps that have some: what SQL alone cannot do.
fn code(version: i64) -> Option<Code> {
    match version {
        9 => Some(|connection, sqlite| Box::pin(crate::results::pack_test_rows(connection, sqlite))),
        _ => None,
    }
}

/// Applies the steps not applied yet. Readers of an up-to-date database only read: the
/// migrations table is created only when it is missing, and each step runs in a write
/// transaction (`BEGIN IMMEDIATE` on SQLite) that checks again that no other process applied it.
pub(crate) async fn apply(pool: &AnyPool, sqlite: bool) -> Result<(), crate::Error> {
    if !sqlite {
        let mut connection = pool.acquire().await?;
        sqlx::query("SELECT 1 FROM (SELECT pg_advisory_lock($1)) AS locked")
            .bind(LOCK)
            .execute(&mut *connection)
            .await?;
        let result = apply_on(&mut connection).await;
        let unlocked = sqlx::query("SELECT 1 FROM (SELECT pg_advisory_unlock($1)) AS unlocked")
            .bind(LOCK)
            .execute(&mut *connection)
            .await;
        return result.and(unlocked.map(drop).map_err(crate::Error::from));
    }
    let applied = match applied(pool).await {
        Ok(applied) => applied,
        Err(_) => {
            sqlx::query(
                "CREATE TABLE IF NOT EXISTS slipway_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL)",
            )
            .execute(pool)
            .await?;
            applied(pool).await?
        }
    };
    for (version, description, sql) in STEPS {
        if applied.contains(version) {
            continue;
        }
        let mut transaction = crate::begin_write(pool, sqlite).await?;
        let done = sqlx::query("SELECT version FROM slipway_migrations WHERE version = $1")
            .bind(*version)
            .fetch_optional(&mut *transaction)
            .await?
            .is_some();
        if done {
            transaction.rollback().await?;
            continue;
        }
        for statement in sql.split(';').map(str::trim).filter(|statement| !statement.is_empty()) {
            sqlx::query(statement).execute(&mut *transaction).await?;
        }
        if let Some(code) = code(*version) {
            code(&mut transaction, true).await?;
        }
        sqlx::query("INSERT INTO slipway_migrations (version, description) VALUES ($1, $2)")
            .bind(*version)
            .bind(*description)
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
    }
    Ok(())
}

/// [`apply`] on one PostgreSQL connection that holds the migrations' lock.
async fn apply_on(connection: &mut AnyConnection) -> Result<(), crate::Error> {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS slipway_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL)",
    )
    .execute(&mut *connection)
    .await?;
    let applied: Vec<i64> = sqlx::query("SELECT version FROM slipway_migrations")
        .fetch_all(&mut *connection)
        .await?
        .iter()
        .map(|row| row.try_get::<i64, _>(0))
        .collect::<Result<_, _>>()?;
    for (version, description, sql) in STEPS.iter().filter(|(version, _, _)| !applied.contains(version)) {
        let mut transaction = connection.begin().await?;
        for statement in sql.split(';').map(str::trim).filter(|statement| !statement.is_empty()) {
            sqlx::query(statement).execute(&mut *transaction).await?;
        }
        if let Some(code) = code(*version) {
            code(&mut transaction, false).await?;
        }
        sqlx::query("INSERT INTO slipway_migrations (version, description) VALUES ($1, $2)")
            .bind(*version)
            .bind(*description)
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
    }
    Ok(())
}

async fn applied(pool: &AnyPool) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query("SELECT version FROM slipway_migrations")
        .fetch_all(pool)
        .await?
        .iter()
        .map(|row| row.try_get::<i64, _>(0))
        .collect()
}
