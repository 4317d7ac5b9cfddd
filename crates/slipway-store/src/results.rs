//! Test results: builds of jobs and one row per test per build.
//!
//! A build is replaced as a whole, in one transaction, so ingesting the same build twice
//! changes nothing and a reader never sees half a build.

use slipway_core::results::{Build, Status, TestResult};
// Dynamic SQL here is built only from constant text and numbered placeholders.
use sqlx::{AssertSqlSafe, Row};

use crate::{Error, Store};

pub use slipway_core::results::Failure;

/// What [`Store::replace_build`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replaced {
    /// The build was not there.
    Inserted,
    /// It was there with other content, and now has this.
    Updated,
    /// It was there with exactly this content.
    Unchanged,
}

/// Test rows per INSERT statement on PostgreSQL (see [`Store::replace_build`]).
const INSERT_ROWS: usize = 32;
/// Test rows per INSERT statement on SQLite, passed as one JSON array.
const SQLITE_JSON_ROWS: usize = 10_000;

impl Store {
    /// Stores `build` with exactly `tests`, replacing what was stored for it.
    pub async fn replace_build(&self, build: &Build, tests: &[TestResult], now: i64) -> Result<Replaced, Error> {
        let existing = self.build(&build.job, &build.build_id).await?;
        if let Some(existing) = &existing {
            let stored = self.build_tests(&build.job, &build.build_id).await?;
            if existing == build && same_tests(&stored, tests) {
                return Ok(Replaced::Unchanged);
            }
        }
        let mut transaction = self.begin_write().await?;
        sqlx::query("DELETE FROM result_tests WHERE job = $1 AND build_id = $2")
            .bind(&build.job)
            .bind(&build.build_id)
            .execute(&mut *transaction)
            .await?;
        sqlx::query("DELETE FROM result_builds WHERE job = $1 AND build_id = $2")
            .bind(&build.job)
            .bind(&build.build_id)
            .execute(&mut *transaction)
            .await?;
        sqlx::query(
            "INSERT INTO result_builds (job, build_id, started, finished, passed, version, source, ingested_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&build.job)
        .bind(&build.build_id)
        .bind(build.started)
        .bind(build.finished)
        .bind(build.passed.map(i64::from))
        .bind(&build.version)
        .bind(&build.source)
        .bind(now)
        .execute(&mut *transaction)
        .await?;
        if self.sqlite {
            // SQLite: thousands of rows per statement, as one JSON array that SQLite's own JSON
            // reader takes apart (`json_each`): binding eight values per row made a
            // 200,000-test build take 1.2 s, this takes a fraction (`cargo bench -p
            // slipway-junit --bench ingest`).
            for chunk in tests.chunks(SQLITE_JSON_ROWS) {
                let rows: Vec<_> = chunk
                    .iter()
                    .map(|test| {
                        (
                            &test.name,
                            test.status.as_str(),
                            test.duration_ms.and_then(|ms| i64::try_from(ms).ok()),
                            test.runs,
                            test.passes,
                            &test.message,
                        )
                    })
                    .collect();
                let rows = serde_json::to_string(&rows).expect("strings and numbers serialize");
                sqlx::query(
                    "INSERT INTO result_tests (job, build_id, test, status, duration_ms, runs, passes, message) \
                     SELECT ?1, ?2, value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5 \
                     FROM json_each(?3)",
                )
                .bind(&build.job)
                .bind(&build.build_id)
                .bind(rows)
                .execute(&mut *transaction)
                .await?;
            }
            transaction.commit().await?;
            return Ok(if existing.is_some() { Replaced::Updated } else { Replaced::Inserted });
        }
        // PostgreSQL: several rows per statement. One statement per test made a 200,000-test
        // build take 11 s of round trips (measured on SQLite); with numbered `$N` parameters, 32
        // rows a statement took 2 s, 200 took 4.6 s and 1,000 took 15 s (a numbered parameter
        // is looked up by name, so binding costs more the more there are).
        for chunk in tests.chunks(INSERT_ROWS) {
            let mut sql = String::from(
                "INSERT INTO result_tests (job, build_id, test, status, duration_ms, runs, passes, message) VALUES ",
            );
            for row in 0..chunk.len() {
                let first = row * 8;
                if row > 0 {
                    sql.push_str(", ");
                }
                sql.push('(');
                for column in 1..=8 {
                    if column > 1 {
                        sql.push_str(", ");
                    }
                    sql.push_str(&format!("${}", first + column));
                }
                sql.push(')');
            }
            // Only placeholders are generated; every value is bound.
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for test in chunk {
                query = query
                    .bind(&build.job)
                    .bind(&build.build_id)
                    .bind(&test.name)
                    .bind(test.status.as_str())
                    .bind(test.duration_ms.and_then(|ms| i64::try_from(ms).ok()))
                    .bind(i64::from(test.runs))
                    .bind(i64::from(test.passes))
                    .bind(&test.message);
            }
            query.execute(&mut *transaction).await?;
        }
        transaction.commit().await?;
        Ok(if existing.is_some() { Replaced::Updated } else { Replaced::Inserted })
    }

    /// Claims the notice of an alert (a job's test, or the job itself with `test` empty,
    /// failing since `first_failure`): true for the one caller, of all replicas, that is to
    /// send it.
    pub async fn claim_alert_notice(
        &self,
        job: &str,
        test: &str,
        first_failure: &str,
        now: i64,
    ) -> Result<bool, Error> {
        let done = sqlx::query(
            "INSERT INTO alert_notices (job, test, first_failure, sent_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(job)
        .bind(test)
        .bind(first_failure)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives a claimed notice back (its sending failed), so it is sent at the next look.
    pub async fn unclaim_alert_notice(&self, job: &str, test: &str, first_failure: &str) -> Result<(), Error> {
        sqlx::query("DELETE FROM alert_notices WHERE job = $1 AND test = $2 AND first_failure = $3")
            .bind(job)
            .bind(test)
            .bind(first_failure)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// What changes whenever `job`'s results do: how many builds it has and when one was last
    /// ingested (a cache's key).
    pub async fn results_stamp(&self, job: &str) -> Result<(i64, i64), Error> {
        let row =
            sqlx::query("SELECT COUNT(*) AS builds, MAX(ingested_at) AS newest FROM result_builds WHERE job = $1")
                .bind(job)
                .fetch_one(self.pool())
                .await?;
        Ok((row.try_get("builds")?, row.try_get::<Option<i64>, _>("newest")?.unwrap_or(0)))
    }

    /// One build, if stored.
    pub async fn build(&self, job: &str, build_id: &str) -> Result<Option<Build>, Error> {
        let row = sqlx::query(
            "SELECT job, build_id, started, finished, passed, version, source FROM result_builds \
             WHERE job = $1 AND build_id = $2",
        )
        .bind(job)
        .bind(build_id)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.as_ref().map(build_from_row).transpose()?)
    }

    /// The jobs that have results, sorted.
    pub async fn result_jobs(&self) -> Result<Vec<String>, Error> {
        let rows = sqlx::query("SELECT DISTINCT job FROM result_builds ORDER BY job").fetch_all(self.pool()).await?;
        Ok(rows.iter().map(|row| row.try_get::<String, _>(0)).collect::<Result<_, _>>()?)
    }

    /// A job's builds, newest first (by start time, then build id), at most `limit` (0 = all).
    /// Builds without a start time come last on every engine (PostgreSQL sorts NULL first in
    /// descending order, SQLite last).
    pub async fn builds(&self, job: &str, limit: u32) -> Result<Vec<Build>, Error> {
        let mut sql = "SELECT job, build_id, started, finished, passed, version, source FROM result_builds \
                       WHERE job = $1 ORDER BY started IS NULL, started DESC, build_id DESC"
            .to_owned();
        if limit > 0 {
            sql.push_str(&format!(" LIMIT {limit}"));
        }
        let rows = sqlx::query(AssertSqlSafe(sql)).bind(job).fetch_all(self.pool()).await?;
        Ok(rows.iter().map(build_from_row).collect::<Result<_, _>>()?)
    }

    /// The tests of one build, by name.
    pub async fn build_tests(&self, job: &str, build_id: &str) -> Result<Vec<TestResult>, Error> {
        let rows = sqlx::query(
            "SELECT test, status, duration_ms, runs, passes, message FROM result_tests \
             WHERE job = $1 AND build_id = $2 ORDER BY test",
        )
        .bind(job)
        .bind(build_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.iter().map(test_from_row).collect::<Result<_, _>>()?)
    }

    /// Every failed or flaky test of builds that started at or after `since` (Unix seconds;
    /// builds without a start time are included), optionally of one job.
    pub async fn failures(&self, since: i64, job: Option<&str>) -> Result<Vec<Failure>, Error> {
        let mut sql = "SELECT t.job, t.build_id, t.test, t.message, b.started FROM result_tests t \
                       JOIN result_builds b ON b.job = t.job AND b.build_id = t.build_id \
                       WHERE t.status IN ('fail', 'flaky') AND (b.started IS NULL OR b.started >= $1)"
            .to_owned();
        if job.is_some() {
            sql.push_str(" AND t.job = $2");
        }
        sql.push_str(" ORDER BY t.job, t.build_id, t.test");
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(since);
        if let Some(job) = job {
            query = query.bind(job);
        }
        let rows = query.fetch_all(self.pool()).await?;
        rows.iter()
            .map(|row| {
                Ok(Failure {
                    job: row.try_get("job")?,
                    build_id: row.try_get("build_id")?,
                    test: row.try_get("test")?,
                    started: row.try_get("started")?,
                    message: row.try_get::<Option<String>, _>("message")?.unwrap_or_default(),
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Error::from)
    }
}

fn same_tests(stored: &[TestResult], new: &[TestResult]) -> bool {
    // Both sorted here: the database's ORDER BY follows its collation (en-US on many
    // PostgreSQL servers), which is not Rust's byte order.
    fn sorted(tests: &[TestResult]) -> Vec<&TestResult> {
        let mut sorted: Vec<&TestResult> = tests.iter().collect();
        sorted.sort_by(|a, b| a.name.cmp(&b.name));
        sorted
    }
    stored.len() == new.len() && sorted(stored) == sorted(new)
}

fn build_from_row(row: &sqlx::any::AnyRow) -> Result<Build, sqlx::Error> {
    Ok(Build {
        job: row.try_get("job")?,
        build_id: row.try_get("build_id")?,
        started: row.try_get("started")?,
        finished: row.try_get("finished")?,
        passed: row.try_get::<Option<i64>, _>("passed")?.map(|passed| passed != 0),
        version: row.try_get("version")?,
        source: row.try_get("source")?,
    })
}

fn test_from_row(row: &sqlx::any::AnyRow) -> Result<TestResult, sqlx::Error> {
    let status: String = row.try_get("status")?;
    let count = |name: &str| -> Result<u32, sqlx::Error> {
        Ok(u32::try_from(row.try_get::<i64, _>(name)?).unwrap_or(u32::MAX))
    };
    Ok(TestResult {
        name: row.try_get("test")?,
        status: Status::parse(&status).unwrap_or(Status::Fail),
        duration_ms: row.try_get::<Option<i64>, _>("duration_ms")?.and_then(|ms| u64::try_from(ms).ok()),
        runs: count("runs")?,
        passes: count("passes")?,
        message: row.try_get("message")?,
    })
}
