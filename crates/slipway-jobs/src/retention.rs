//! Retention: old runs' records, workspaces and local artifacts go together.
//!
//! A run goes when it is not among the newest `keep` finished runs of its job (each matrix
//! entry counts as its own job, as in the artifact layout), or when it finished longer ago than
//! `older_than`. A run that is pending or running is never touched, and its record is deleted
//! only if it is still finished when the delete happens (the store checks, atomically).
//!
//! For each run, the files go first (its directory under `.slipway/runs/`: workspace, local log
//! and artifacts; and its build directory when the artifact storage is a local directory), then
//! the record, so a prune stopped halfway leaves records whose files are gone, which the next
//! prune finishes, never files that nothing points at. Artifacts in a bucket are kept: a
//! bucket's lifecycle rules are the tool for those, and Spyglass or TestGrid may read them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use slipway_artifacts::{BuildDir, Storage};
use slipway_store::runs::Filter;
use slipway_store::{Run, Store};

/// The JSON schema of `slipway runs prune --format json`.
pub const SCHEMA: &str = "slipway.runs.prune/v1";

/// How many finished runs of each job the scheduler keeps when `runs.keep` is not set.
pub const DEFAULT_KEEP: u32 = 100;

/// `runs:` in slipway.yaml: the retention `slipway schedule` applies (hourly) and `slipway
/// runs prune` applies without flags.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct RunsSection {
    /// Finished runs kept per job (default 100).
    pub keep: Option<u32>,
    /// `30d`, `2w`: finished runs older than this go (default: no age limit).
    pub older_than: Option<String>,
}

impl RunsSection {
    /// The retention it sets, or the key that is wrong and why.
    pub fn retention(&self) -> Result<Retention, (&'static str, String)> {
        let older_than = match &self.older_than {
            Some(age) => Some(slipway_core::retention::parse_age(age).map_err(|error| ("runs.older_than", error))?),
            None => None,
        };
        Ok(Retention { keep: Some(self.keep.unwrap_or(DEFAULT_KEEP)), older_than })
    }
}

/// What to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Retention {
    /// The newest this many finished runs of each job stay.
    pub keep: Option<u32>,
    /// Finished runs older than this go.
    pub older_than: Option<Duration>,
}

/// What a prune did (or, with `dry_run`, would do).
#[derive(Debug, Clone, Serialize)]
pub struct Pruned {
    /// [`SCHEMA`].
    pub schema: &'static str,
    pub dry_run: bool,
    /// The runs removed, oldest first.
    pub runs: Vec<PrunedRun>,
    /// Bytes of files removed.
    pub freed_bytes: u64,
    /// Finished runs kept.
    pub kept: usize,
    /// Why some artifacts were kept (a bucket), if any were.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifacts_kept: Option<String>,
    /// Files that could not be removed, with why; their runs' records stay, so the next prune
    /// tries again.
    pub problems: Vec<String>,
}

/// One run removed.
#[derive(Debug, Clone, Serialize)]
pub struct PrunedRun {
    pub id: String,
    pub job: String,
    pub build_id: String,
    pub state: &'static str,
    pub finished_at: Option<i64>,
}

/// The runs of `runs` that `retention` lets go at `now` (Unix seconds), oldest first.
pub fn select(runs: &[Run], retention: Retention, now: i64) -> Vec<&Run> {
    let mut by_job: HashMap<&str, Vec<&Run>> = HashMap::new();
    for run in runs.iter().filter(|run| run.state.is_finished()) {
        by_job.entry(run.job.as_str()).or_default().push(run);
    }
    let cutoff = retention.older_than.map(|age| now.saturating_sub(i64::try_from(age.as_secs()).unwrap_or(i64::MAX)));
    let mut doomed = Vec::new();
    for mut runs in by_job.into_values() {
        // Newest first, as `runs list` shows them.
        runs.sort_by(|a, b| (b.created_at, &b.build_id).cmp(&(a.created_at, &a.build_id)));
        for (rank, run) in runs.into_iter().enumerate() {
            let beyond_keep = retention.keep.is_some_and(|keep| rank >= keep as usize);
            let ended = run.finished_at.unwrap_or(run.created_at);
            let too_old = cutoff.is_some_and(|cutoff| ended < cutoff);
            if beyond_keep || too_old {
                doomed.push(run);
            }
        }
    }
    doomed.sort_by(|a, b| (a.created_at, &a.job, &a.build_id).cmp(&(b.created_at, &b.job, &b.build_id)));
    doomed
}

/// Removes what `retention` lets go.
pub struct Pruner {
    pub store: Store,
    pub storage: Storage,
    /// `.slipway/runs`: only run directories inside it are removed.
    pub runs_dir: PathBuf,
}

impl Pruner {
    /// Prunes the runs of `job` (a job's name includes its matrix runs; `None`: every job).
    pub async fn prune(
        &self,
        retention: Retention,
        job: Option<&str>,
        now: i64,
        dry_run: bool,
    ) -> Result<Pruned, slipway_store::Error> {
        let runs = self.store.list_runs(&Filter { job: job.map(str::to_owned), ..Filter::default() }).await?;
        let doomed = select(&runs, retention, now);
        let finished = runs.iter().filter(|run| run.state.is_finished()).count();
        let mut pruned = Pruned {
            schema: SCHEMA,
            dry_run,
            runs: Vec::new(),
            freed_bytes: 0,
            kept: finished - doomed.len(),
            artifacts_kept: (!self.storage.is_local() && !doomed.is_empty()).then(|| {
                format!(
                    "artifacts in {} are kept: use the bucket's lifecycle rules for them",
                    slipway_core::redact::urls(self.storage.url())
                )
            }),
            problems: Vec::new(),
        };
        for run in doomed {
            let mut directories = Vec::new();
            if let Some(directory) = Path::new(&run.log_path).parent()
                && directory.starts_with(&self.runs_dir)
                && directory != self.runs_dir
            {
                directories.push(directory.to_path_buf());
            }
            if let Ok(build_id) = run.build_id.parse::<u64>()
                && let Ok(build) = BuildDir::new(self.storage.clone(), &run.job, build_id)
                && let Some(directory) = build.local_path()
            {
                directories.push(directory);
            }
            let mut removed = true;
            for directory in &directories {
                let size = size_of(directory);
                if dry_run {
                    pruned.freed_bytes += size;
                    continue;
                }
                match fs_err::remove_dir_all(directory) {
                    Ok(()) => pruned.freed_bytes += size,
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                    Err(error) => {
                        pruned.problems.push(error.to_string());
                        removed = false;
                    }
                }
            }
            if !removed {
                pruned.kept += 1;
                continue;
            }
            if dry_run || self.store.delete_finished_run(&run.id).await? {
                pruned.runs.push(PrunedRun {
                    id: run.id.clone(),
                    job: run.job.clone(),
                    build_id: run.build_id.clone(),
                    state: run.state.as_str(),
                    finished_at: run.finished_at,
                });
            }
        }
        Ok(pruned)
    }
}

/// The bytes of the files under `path` (0 if it is gone); links are not followed.
fn size_of(path: &Path) -> u64 {
    let mut total = 0;
    let mut pending = vec![path.to_path_buf()];
    while let Some(path) = pending.pop() {
        let Ok(metadata) = fs_err::symlink_metadata(&path) else {
            continue;
        };
        if metadata.is_dir() {
            if let Ok(entries) = fs_err::read_dir(&path) {
                pending.extend(entries.filter_map(Result::ok).map(|entry| entry.path()));
            }
        } else {
            total += metadata.len();
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use slipway_store::{RunState, Trigger};

    fn run(job: &str, build: i64, state: RunState) -> Run {
        Run {
            id: format!("{job}-{build}"),
            job: job.to_owned(),
            base_job: job.split('-').next().unwrap_or(job).to_owned(),
            build_id: build.to_string(),
            variant: String::new(),
            trigger: Trigger::Manual,
            state,
            due_at: None,
            created_at: build,
            started_at: Some(build),
            finished_at: state.is_finished().then_some(build + 10),
            heartbeat_at: build,
            exit_code: None,
            description: String::new(),
            executor: "local".to_owned(),
            owner_host: "here".to_owned(),
            owner_pid: 1,
            artifacts: String::new(),
            log_path: String::new(),
            revision: String::new(),
        }
    }

    fn ids(runs: &[&Run]) -> Vec<String> {
        runs.iter().map(|run| run.id.clone()).collect()
    }

    #[test]
    fn keep_counts_finished_runs_per_job_and_never_takes_a_running_one() {
        let runs = vec![
            run("unit", 100, RunState::Success),
            run("unit", 200, RunState::Failure),
            run("unit", 300, RunState::Running),
            run("unit", 400, RunState::Success),
            run("e2e-stable-1-31", 150, RunState::Success),
            run("e2e-stable-1-31", 250, RunState::Error),
            run("e2e-v1-30-0", 50, RunState::Success),
        ];
        let kept_two = Retention { keep: Some(2), older_than: None };
        assert_eq!(ids(&select(&runs, kept_two, 1_000)), ["unit-100"]);
        let kept_one = Retention { keep: Some(1), older_than: None };
        assert_eq!(ids(&select(&runs, kept_one, 1_000)), ["unit-100", "e2e-stable-1-31-150", "unit-200"]);
        let none = Retention { keep: Some(0), older_than: None };
        assert_eq!(select(&runs, none, 1_000).len(), 6, "all but the running one");
    }

    #[test]
    fn older_than_goes_by_when_a_run_finished_whatever_keep_says() {
        let runs = vec![run("unit", 100, RunState::Success), run("unit", 5_000, RunState::Success)];
        let retention = Retention { keep: Some(10), older_than: Some(Duration::from_secs(1_000)) };
        assert_eq!(ids(&select(&runs, retention, 5_100)), ["unit-100"]);
        assert!(select(&runs, Retention::default(), 5_100).is_empty(), "no limit, nothing goes");
    }

    #[test]
    fn the_section_defaults_to_keeping_a_hundred_and_names_a_bad_key() {
        assert_eq!(RunsSection::default().retention(), Ok(Retention { keep: Some(100), older_than: None }));
        let section = RunsSection { keep: Some(5), older_than: Some("2w".to_owned()) };
        assert_eq!(
            section.retention(),
            Ok(Retention { keep: Some(5), older_than: Some(Duration::from_secs(14 * 86_400)) })
        );
        let bad = RunsSection { keep: None, older_than: Some("a while".to_owned()) };
        assert_eq!(bad.retention().expect_err("invalid").0, "runs.older_than");
    }
}
