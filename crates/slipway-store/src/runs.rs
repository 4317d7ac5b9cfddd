//! Runs of jobs and the scheduler's memory of what it started.

use serde::Serialize;
// Dynamic SQL here is built only from constant text and numbered placeholders.
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use crate::{Error, Store};

/// Where a run is in its life (the ProwJob states slipway uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    /// Recorded, not started yet.
    Pending,
    Running,
    Success,
    Failure,
    /// Stopped by someone (Ctrl-C) or by a newer run.
    Aborted,
    /// slipway could not run it, or the process running it died.
    Error,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Pending => "pending",
            RunState::Running => "running",
            RunState::Success => "success",
            RunState::Failure => "failure",
            RunState::Aborted => "aborted",
            RunState::Error => "error",
        }
    }

    pub fn parse(text: &str) -> Option<RunState> {
        Some(match text {
            "pending" => RunState::Pending,
            "running" => RunState::Running,
            "success" => RunState::Success,
            "failure" => RunState::Failure,
            "aborted" => RunState::Aborted,
            "error" => RunState::Error,
            _ => return None,
        })
    }

    /// Whether the run has ended.
    pub fn is_finished(self) -> bool {
        !matches!(self, RunState::Pending | RunState::Running)
    }
}

/// Who started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    /// `slipway job run`.
    Manual,
    /// `slipway schedule`.
    Schedule,
}

impl Trigger {
    /// The word the store, JSON and text output use.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Manual => "manual",
            Trigger::Schedule => "schedule",
        }
    }

    pub fn parse(text: &str) -> Option<Trigger> {
        match text {
            "manual" => Some(Trigger::Manual),
            "schedule" => Some(Trigger::Schedule),
            _ => None,
        }
    }
}

/// One run of a job (one matrix entry of it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Run {
    /// A unique id (the ProwJob name).
    pub id: String,
    /// The job name as it appears in the artifact layout (`e2e-stable-1-30` for a matrix run).
    pub job: String,
    /// The job of slipway.yaml it is a run of (`e2e`).
    pub base_job: String,
    pub build_id: String,
    /// The matrix entry (`stable-1.30`), or empty.
    pub variant: String,
    pub trigger: Trigger,
    pub state: RunState,
    /// For scheduled runs: the tick it ran for (Unix seconds).
    pub due_at: Option<i64>,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub heartbeat_at: i64,
    pub exit_code: Option<i64>,
    /// A sentence for people: what happened.
    pub description: String,
    /// `local`, `podman` or `docker`.
    pub executor: String,
    pub owner_host: String,
    pub owner_pid: i64,
    /// Where its artifacts are (the build directory URL).
    pub artifacts: String,
    /// The local copy of its log while it runs.
    pub log_path: String,
    /// What it tested, once its code is checked out: the commit (`0123abc...`), with
    /// `+ working tree of PATH` when uncommitted files were included; empty for a job that runs
    /// in the project directory.
    pub revision: String,
}

const COLUMNS: &str = "id, job, base_job, build_id, variant, trigger_kind, state, due_at, created_at, started_at, \
    finished_at, heartbeat_at, exit_code, description, executor, owner_host, owner_pid, artifacts, log_path, revision";

fn from_row(row: &AnyRow) -> Result<Run, sqlx::Error> {
    let trigger: String = row.try_get("trigger_kind")?;
    let state: String = row.try_get("state")?;
    Ok(Run {
        id: row.try_get("id")?,
        job: row.try_get("job")?,
        base_job: row.try_get("base_job")?,
        build_id: row.try_get("build_id")?,
        variant: row.try_get("variant")?,
        trigger: if trigger == "schedule" { Trigger::Schedule } else { Trigger::Manual },
        state: RunState::parse(&state).unwrap_or(RunState::Error),
        due_at: row.try_get("due_at")?,
        created_at: row.try_get("created_at")?,
        started_at: row.try_get("started_at")?,
        finished_at: row.try_get("finished_at")?,
        heartbeat_at: row.try_get("heartbeat_at")?,
        exit_code: row.try_get("exit_code")?,
        description: row.try_get("description")?,
        executor: row.try_get("executor")?,
        owner_host: row.try_get("owner_host")?,
        owner_pid: row.try_get("owner_pid")?,
        artifacts: row.try_get("artifacts")?,
        log_path: row.try_get("log_path")?,
        revision: row.try_get("revision")?,
    })
}

/// Which runs to list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only runs of this job: a layout name (`e2e-stable-1-30`) or a job's name, which includes
    /// all its matrix runs.
    pub job: Option<String>,
    pub state: Option<RunState>,
    pub trigger: Option<Trigger>,
    /// Only runs of this matrix entry (`stable-1.30`).
    pub variant: Option<String>,
    /// At most this many, newest first (0 = all).
    pub limit: u32,
    /// Skip this many of the newest first (pages).
    pub offset: u32,
}

impl Store {
    /// Records a new run (normally `Running`).
    pub async fn insert_run(&self, run: &Run) -> Result<(), Error> {
        let sql = format!(
            "INSERT INTO runs ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)"
        );
        bind_run(sqlx::query(AssertSqlSafe(sql)), run).execute(self.pool()).await?;
        Ok(())
    }

    /// Records a new run only while fewer than `cap` runs of its job (`base_job`, matrix runs
    /// included) are pending or running, atomically across processes and replicas: the count
    /// and the insert are one write transaction, serialized per job (SQLite's write lock, a
    /// PostgreSQL transaction-level advisory lock on the job's name). `cap` 0 means no limit.
    /// Returns whether the run was recorded (false: no slot now; nothing was written).
    pub async fn insert_run_capped(&self, run: &Run, cap: u32) -> Result<bool, Error> {
        if cap == 0 {
            self.insert_run(run).await?;
            return Ok(true);
        }
        let mut transaction = self.begin_write().await?;
        if !self.is_sqlite() {
            sqlx::query("SELECT 1 FROM (SELECT pg_advisory_xact_lock(hashtext($1))) AS locked")
                .bind(&run.base_job)
                .execute(&mut *transaction)
                .await?;
        }
        let going: i64 =
            sqlx::query("SELECT COUNT(*) FROM runs WHERE base_job = $1 AND state IN ('pending', 'running')")
                .bind(&run.base_job)
                .fetch_one(&mut *transaction)
                .await?
                .try_get(0)?;
        if going >= i64::from(cap) {
            transaction.rollback().await?;
            return Ok(false);
        }
        let sql = format!(
            "INSERT INTO runs ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)"
        );
        bind_run(sqlx::query(AssertSqlSafe(sql)), run).execute(&mut *transaction).await?;
        transaction.commit().await?;
        Ok(true)
    }

    /// Takes the tick `due_at` of a scheduled job: true when this caller is the first to take
    /// it (and it is newer than the last one taken), false when another scheduler (or an
    /// earlier life of this one) already did. A taken tick is never taken again, so a restart
    /// does not repeat it.
    pub async fn take_tick(&self, schedule_key: &str, due_at: i64) -> Result<bool, Error> {
        let mut transaction = self.begin_write().await?;
        let previous: Option<i64> = sqlx::query("SELECT last_due FROM schedule_state WHERE job = $1")
            .bind(schedule_key)
            .fetch_optional(&mut *transaction)
            .await?
            .map(|row| row.try_get(0))
            .transpose()?;
        if previous.is_some_and(|previous| previous >= due_at) {
            transaction.rollback().await?;
            return Ok(false);
        }
        upsert_due(&mut transaction, schedule_key, due_at, previous.is_some()).await?;
        transaction.commit().await?;
        Ok(true)
    }

    /// Records that the tick `due_at` of a job was skipped (its previous run was still going).
    pub async fn skip_tick(&self, schedule_key: &str, due_at: i64) -> Result<(), Error> {
        let mut transaction = self.begin_write().await?;
        let exists = sqlx::query("SELECT last_due FROM schedule_state WHERE job = $1")
            .bind(schedule_key)
            .fetch_optional(&mut *transaction)
            .await?
            .is_some();
        upsert_due(&mut transaction, schedule_key, due_at, exists).await?;
        sqlx::query("UPDATE schedule_state SET last_skipped = $1 WHERE job = $2")
            .bind(due_at)
            .bind(schedule_key)
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        Ok(())
    }

    /// Remembers when the scheduler first saw a job, so its first cron tick is counted from
    /// then (and a restart does not move it). Does nothing when the job is known.
    pub async fn register_schedule(&self, schedule_key: &str, now: i64) -> Result<(), Error> {
        let known = self.last_due(schedule_key).await?.is_some();
        if !known {
            // A concurrent registration may win; either value is a valid starting point.
            let _ = sqlx::query("INSERT INTO schedule_state (last_due, job) VALUES ($1, $2)")
                .bind(now)
                .bind(schedule_key)
                .execute(self.pool())
                .await;
        }
        Ok(())
    }

    /// The last tick the scheduler took (ran or skipped) for a job.
    pub async fn last_due(&self, schedule_key: &str) -> Result<Option<i64>, Error> {
        Ok(sqlx::query("SELECT last_due FROM schedule_state WHERE job = $1")
            .bind(schedule_key)
            .fetch_optional(self.pool())
            .await?
            .map(|row| row.try_get(0))
            .transpose()?)
    }

    /// Records that the process running a run is still alive.
    pub async fn heartbeat(&self, id: &str, now: i64) -> Result<(), Error> {
        sqlx::query("UPDATE runs SET heartbeat_at = $1 WHERE id = $2 AND state = 'running'")
            .bind(now)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Asks the process running a run to stop it (it looks every second, wherever it runs).
    /// False when the run is not running.
    pub async fn request_abort(&self, id: &str) -> Result<bool, Error> {
        let done = sqlx::query("UPDATE runs SET abort_requested = 1 WHERE id = $1 AND state = 'running'")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Whether someone asked for a run to be stopped.
    pub async fn abort_requested(&self, id: &str) -> Result<bool, Error> {
        let found: Option<i64> = sqlx::query("SELECT abort_requested FROM runs WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .map(|row| row.try_get(0))
            .transpose()?;
        Ok(found.is_some_and(|flag| flag != 0))
    }

    /// Records what a run tests, once its code is checked out.
    pub async fn set_revision(&self, id: &str, revision: &str) -> Result<(), Error> {
        sqlx::query("UPDATE runs SET revision = $1 WHERE id = $2").bind(revision).bind(id).execute(self.pool()).await?;
        Ok(())
    }

    /// Says what a running run is doing (`waiting for a gce-project lease`), for `runs list`.
    pub async fn set_description(&self, id: &str, description: &str) -> Result<(), Error> {
        sqlx::query("UPDATE runs SET description = $1 WHERE id = $2 AND state = 'running'")
            .bind(description)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Records how a run ended.
    pub async fn finish_run(
        &self,
        id: &str,
        state: RunState,
        exit_code: Option<i64>,
        description: &str,
        now: i64,
    ) -> Result<(), Error> {
        sqlx::query(
            "UPDATE runs SET state = $1, exit_code = $2, description = $3, finished_at = $4, heartbeat_at = $4 WHERE id = $5",
        )
        .bind(state.as_str())
        .bind(exit_code)
        .bind(description)
        .bind(now)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Runs, newest first.
    pub async fn list_runs(&self, filter: &Filter) -> Result<Vec<Run>, Error> {
        let mut sql = format!("SELECT {COLUMNS} FROM runs WHERE 1 = 1");
        let mut binds: Vec<String> = Vec::new();
        if let Some(job) = &filter.job {
            binds.push(job.clone());
            sql.push_str(&format!(" AND (job = ${0} OR base_job = ${0})", binds.len()));
        }
        if let Some(state) = filter.state {
            binds.push(state.as_str().to_owned());
            sql.push_str(&format!(" AND state = ${}", binds.len()));
        }
        if let Some(trigger) = filter.trigger {
            binds.push(trigger.as_str().to_owned());
            sql.push_str(&format!(" AND trigger_kind = ${}", binds.len()));
        }
        if let Some(variant) = &filter.variant {
            binds.push(variant.clone());
            sql.push_str(&format!(" AND variant = ${}", binds.len()));
        }
        sql.push_str(" ORDER BY created_at DESC, build_id DESC");
        if filter.limit > 0 {
            sql.push_str(&format!(" LIMIT {}", filter.limit));
            if filter.offset > 0 {
                sql.push_str(&format!(" OFFSET {}", filter.offset));
            }
        }
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for bind in binds {
            query = query.bind(bind);
        }
        let rows = query.fetch_all(self.pool()).await?;
        Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
    }

    /// How many runs there are of each job (of slipway.yaml) in each state.
    /// Whether the store answers (a readiness probe: cheap at any size).
    pub async fn ping(&self) -> Result<(), Error> {
        sqlx::query("SELECT 1").execute(self.pool()).await?;
        Ok(())
    }

    pub async fn run_counts(&self) -> Result<Vec<(String, RunState, i64)>, Error> {
        let rows = sqlx::query("SELECT base_job, state, COUNT(*) AS runs FROM runs GROUP BY base_job, state")
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|row| {
                let state: String = row.try_get("state")?;
                Ok((row.try_get("base_job")?, RunState::parse(&state).unwrap_or(RunState::Error), row.try_get("runs")?))
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Error::from)
    }

    /// One run by id, or by `JOB/BUILD_ID`, or the newest run of a job.
    pub async fn find_run(&self, key: &str) -> Result<Option<Run>, Error> {
        let by_id = format!("SELECT {COLUMNS} FROM runs WHERE id = $1");
        if let Some(row) = sqlx::query(AssertSqlSafe(by_id)).bind(key).fetch_optional(self.pool()).await? {
            return Ok(Some(from_row(&row)?));
        }
        if let Some((job, build)) = key.rsplit_once('/') {
            let sql = format!("SELECT {COLUMNS} FROM runs WHERE job = $1 AND build_id = $2");
            let row = sqlx::query(AssertSqlSafe(sql)).bind(job).bind(build).fetch_optional(self.pool()).await?;
            return Ok(row.as_ref().map(from_row).transpose()?);
        }
        let newest = Filter { job: Some(key.to_owned()), limit: 1, ..Filter::default() };
        Ok(self.list_runs(&newest).await?.into_iter().next())
    }

    /// Deletes the record of a finished run; a run that is still running is never deleted.
    /// Returns whether a record was deleted.
    pub async fn delete_finished_run(&self, id: &str) -> Result<bool, Error> {
        let deleted = sqlx::query("DELETE FROM runs WHERE id = $1 AND state NOT IN ('running', 'pending')")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(deleted.rows_affected() == 1)
    }

    /// Runs still marked running, of every job.
    pub async fn running(&self) -> Result<Vec<Run>, Error> {
        self.list_runs(&Filter { state: Some(RunState::Running), ..Filter::default() }).await
    }

    /// Marks as `error` every running run whose owner is gone: a process on this host that no
    /// longer exists (`is_alive` says), or any owner whose heartbeat is older than
    /// `stale_before`. Returns the runs it marked.
    pub async fn mark_lost(
        &self,
        host: &str,
        is_alive: impl Fn(i64) -> bool,
        stale_before: i64,
        now: i64,
    ) -> Result<Vec<Run>, Error> {
        let mut lost = Vec::new();
        for run in self.running().await? {
            let dead = if run.owner_host == host { !is_alive(run.owner_pid) } else { run.heartbeat_at < stale_before };
            if !dead {
                continue;
            }
            let description = format!(
                "the slipway process running it (pid {} on {}) stopped before the run finished",
                run.owner_pid, run.owner_host
            );
            let updated = sqlx::query(
                "UPDATE runs SET state = 'error', description = $1, finished_at = $2 WHERE id = $3 AND state = 'running'",
            )
            .bind(&description)
            .bind(now)
            .bind(&run.id)
            .execute(self.pool())
            .await?;
            if updated.rows_affected() == 1 {
                lost.push(Run { state: RunState::Error, description, finished_at: Some(now), ..run });
            }
        }
        Ok(lost)
    }
}

async fn upsert_due(
    transaction: &mut sqlx::Transaction<'_, sqlx::Any>,
    schedule_key: &str,
    due_at: i64,
    exists: bool,
) -> Result<(), sqlx::Error> {
    let sql = if exists {
        "UPDATE schedule_state SET last_due = $1 WHERE job = $2"
    } else {
        "INSERT INTO schedule_state (last_due, job) VALUES ($1, $2)"
    };
    sqlx::query(sql).bind(due_at).bind(schedule_key).execute(&mut **transaction).await?;
    Ok(())
}

fn bind_run<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    run: &'q Run,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    query
        .bind(&run.id)
        .bind(&run.job)
        .bind(&run.base_job)
        .bind(&run.build_id)
        .bind(&run.variant)
        .bind(run.trigger.as_str())
        .bind(run.state.as_str())
        .bind(run.due_at)
        .bind(run.created_at)
        .bind(run.started_at)
        .bind(run.finished_at)
        .bind(run.heartbeat_at)
        .bind(run.exit_code)
        .bind(&run.description)
        .bind(&run.executor)
        .bind(&run.owner_host)
        .bind(run.owner_pid)
        .bind(&run.artifacts)
        .bind(&run.log_path)
        .bind(&run.revision)
}
