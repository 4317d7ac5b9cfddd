//! Test results: builds of jobs, each with every test packed into a few blocks
//! (`result_test_blocks`, see [`crate::packed`]) and one row per failed or flaky test
//! (`result_failures`), which is what failure clustering reads across builds.
//!
//! A build is replaced as a whole, in one transaction, so ingesting the same build twice
//! changes nothing and a reader never sees half a build.

use slipway_core::results::{Build, Status, TestResult};
// Dynamic SQL here is built only from constant text and numbered placeholders.
use sqlx::{AssertSqlSafe, Row};

use crate::{Error, Store, packed};

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

/// Failure rows per INSERT statement on PostgreSQL (see [`write_tests`]).
const INSERT_ROWS: usize = 32;
/// Failure rows per INSERT statement on SQLite, passed as one JSON array.
const SQLITE_JSON_ROWS: usize = 10_000;

impl Store {
    /// Stores `build` with exactly `tests` (one result per test name: merge duplicates first),
    /// replacing what was stored for it.
    pub async fn replace_build(&self, build: &Build, tests: &[TestResult], now: i64) -> Result<Replaced, Error> {
        let existing = self.build(&build.job, &build.build_id).await?;
        if let Some(existing) = &existing {
            let stored = self.build_tests(&build.job, &build.build_id).await?;
            if existing == build && same_tests(&stored, tests) {
                return Ok(Replaced::Unchanged);
            }
        }
        let mut transaction = self.begin_write().await?;
        for table in ["result_test_blocks", "result_failures", "result_builds"] {
            // Only the table name is formatted in, from the constant list above.
            sqlx::query(AssertSqlSafe(format!("DELETE FROM {table} WHERE job = $1 AND build_id = $2")))
                .bind(&build.job)
                .bind(&build.build_id)
                .execute(&mut *transaction)
                .await?;
        }
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
        write_tests(&mut transaction, self.sqlite, &build.job, &build.build_id, tests).await?;
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

    /// The tests of one build, by name (sorted as Rust sorts strings: by bytes).
    pub async fn build_tests(&self, job: &str, build_id: &str) -> Result<Vec<TestResult>, Error> {
        let rows =
            sqlx::query("SELECT tests, data FROM result_test_blocks WHERE job = $1 AND build_id = $2 ORDER BY block")
                .bind(job)
                .bind(build_id)
                .fetch_all(self.pool())
                .await?;
        let count: i64 = rows.iter().map(|row| row.try_get::<i64, _>("tests")).sum::<Result<_, _>>()?;
        let mut tests = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
        for row in &rows {
            packed::decode(&row.try_get::<Vec<u8>, _>("data")?, &mut tests)?;
        }
        Ok(tests)
    }

    /// Every failed or flaky test of builds that started at or after `since` (Unix seconds;
    /// builds without a start time are included), optionally of one job.
    pub async fn failures(&self, since: i64, job: Option<&str>) -> Result<Vec<Failure>, Error> {
        let mut sql = "SELECT t.job, t.build_id, t.test, t.message, b.started FROM result_failures t \
                       JOIN result_builds b ON b.job = t.job AND b.build_id = t.build_id \
                       WHERE (b.started IS NULL OR b.started >= $1)"
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

/// Writes the tests of one build (whose rows are not there): its blocks, and a row for each
/// failed or flaky test. `tests` must have distinct names.
pub(crate) async fn write_tests(
    connection: &mut sqlx::AnyConnection,
    sqlite: bool,
    job: &str,
    build_id: &str,
    tests: &[TestResult],
) -> Result<(), Error> {
    // Sorted by name, so that neighbours share prefixes and a build reads back in one order.
    let sorted;
    let tests = if tests.is_sorted_by(|a, b| a.name <= b.name) {
        tests
    } else {
        let mut copy = tests.to_vec();
        copy.sort_by(|a, b| a.name.cmp(&b.name));
        sorted = copy;
        &sorted
    };
    if let Some(pair) = tests.windows(2).find(|pair| pair[0].name == pair[1].name) {
        return Err(Error::Batch(format!(
            "two results for the test `{}` in build {job}/{build_id}: a build holds one per test (merge them first)",
            pair[0].name
        )));
    }
    for (index, (count, block)) in packed::encode(tests).into_iter().enumerate() {
        sqlx::query("INSERT INTO result_test_blocks (job, build_id, block, tests, data) VALUES ($1, $2, $3, $4, $5)")
            .bind(job)
            .bind(build_id)
            .bind(index as i64)
            .bind(count as i64)
            .bind(block)
            .execute(&mut *connection)
            .await?;
    }
    let failures: Vec<&TestResult> =
        tests.iter().filter(|test| matches!(test.status, Status::Fail | Status::Flaky)).collect();
    if sqlite {
        // SQLite: thousands of rows per statement, as one JSON array that SQLite's own JSON
        // reader takes apart (`json_each`); binding values row by row costs far more.
        for chunk in failures.chunks(SQLITE_JSON_ROWS) {
            let rows: Vec<_> = chunk.iter().map(|test| (&test.name, test.status.as_str(), &test.message)).collect();
            let rows = serde_json::to_string(&rows).expect("strings serialize");
            sqlx::query(
                "INSERT INTO result_failures (job, build_id, test, status, message) \
                 SELECT ?1, ?2, value ->> 0, value ->> 1, value ->> 2 FROM json_each(?3)",
            )
            .bind(job)
            .bind(build_id)
            .bind(rows)
            .execute(&mut *connection)
            .await?;
        }
        return Ok(());
    }
    // PostgreSQL: several rows per statement. With numbered `$N` parameters, 32 rows a
    // statement was fastest (a numbered parameter is looked up by name, so binding costs more
    // the more there are).
    for chunk in failures.chunks(INSERT_ROWS) {
        let mut sql = String::from("INSERT INTO result_failures (job, build_id, test, status, message) VALUES ");
        for row in 0..chunk.len() {
            let first = row * 5;
            if row > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("(${}, ${}, ${}, ${}, ${})", first + 1, first + 2, first + 3, first + 4, first + 5));
        }
        // Only placeholders are generated; every value is bound.
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for test in chunk {
            query = query.bind(job).bind(build_id).bind(&test.name).bind(test.status.as_str()).bind(&test.message);
        }
        query.execute(&mut *connection).await?;
    }
    Ok(())
}

/// Migration 9's data step: every build's rows of the old `result_tests` table become blocks
/// and failure rows, then the table goes.
pub(crate) async fn pack_test_rows(connection: &mut sqlx::AnyConnection, sqlite: bool) -> Result<(), Error> {
    let builds = sqlx::query("SELECT DISTINCT job, build_id FROM result_tests").fetch_all(&mut *connection).await?;
    for build in &builds {
        let job: String = build.try_get("job")?;
        let build_id: String = build.try_get("build_id")?;
        let rows = sqlx::query(
            "SELECT test, status, duration_ms, runs, passes, message FROM result_tests WHERE job = $1 AND build_id = $2",
        )
        .bind(&job)
        .bind(&build_id)
        .fetch_all(&mut *connection)
        .await?;
        let tests: Vec<TestResult> = rows.iter().map(test_from_row).collect::<Result<_, _>>()?;
        write_tests(connection, sqlite, &job, &build_id, &tests).await?;
    }
    sqlx::query("DROP TABLE result_tests").execute(&mut *connection).await?;
    Ok(())
}
