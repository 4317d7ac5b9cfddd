//! The command line of jobs, the scheduler and runs (`slipway job`, `slipway schedule`,
//! `slipway runs`). Doc comments here are the `--help` text.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::cli::Format;

/// Where state lives (runs, scheduler state, test results); shared by every command that uses
/// the store.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct DatabaseArgs {
    /// The store: sqlite:PATH or postgres://... (default: `store.url`, else
    /// sqlite:.slipway/state.db in the project).
    #[arg(long, value_name = "URL", env = "SLIPWAY_DATABASE_URL")]
    pub(crate) database_url: Option<String>,
}

/// Where artifacts and markers live; shared by every command that uses the artifact storage.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct StorageArgs {
    /// The artifact storage: a directory, s3://BUCKET/PREFIX, gs://BUCKET/PREFIX or
    /// az://CONTAINER/PREFIX (default: `artifacts.storage`, else .slipway/artifacts). S3 reads
    /// AWS_ENDPOINT_URL, AWS_REGION and credentials from the environment.
    #[arg(long, value_name = "URL", env = "SLIPWAY_ARTIFACTS")]
    pub(crate) storage: Option<String>,
}

/// The store and the artifact storage, for commands that run jobs.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct StateArgs {
    #[command(flatten)]
    pub(crate) database: DatabaseArgs,

    #[command(flatten)]
    pub(crate) storage: StorageArgs,
}

/// Prow job config read in place, for every command that takes jobs from it.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct ProwConfigArgs {
    /// Prow job config: files or directories (searched recursively), comma-separated or
    /// repeated; presets from a Prow config.yaml among them are applied (default:
    /// `prow.config` in slipway.yaml, or SLIPWAY_PROW_CONFIG).
    #[arg(long = "prow-config", value_name = "PATH[,PATH]", value_delimiter = ',')]
    pub(crate) paths: Vec<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct JobListArgs {
    #[command(flatten)]
    pub(crate) prow: ProwConfigArgs,

    #[arg(long, value_enum, default_value_t = Format::Text, env = "SLIPWAY_FORMAT")]
    pub(crate) format: Format,
}

#[derive(Debug, Args)]
pub(crate) struct JobAffectedArgs {
    /// The branch (or any ref) the change is against: its merge base with the working tree is
    /// compared, and the branch name is what `branches` and `skip_branches` match (default: the
    /// repository's default branch, taken from upstream/ or origin/ when those exist).
    #[arg(long, value_name = "REF")]
    pub(crate) base: Option<String>,

    /// The repository whose presubmits apply, as ORG/REPO (default: `project.repository`, else
    /// the only repository the Prow config has presubmits for, else the one the remotes name).
    #[arg(long = "repository", value_name = "ORG/REPO")]
    pub(crate) repository: Option<String>,

    /// Also list the presubmits the change does not trigger, with why.
    #[arg(long)]
    pub(crate) all: bool,

    #[command(flatten)]
    pub(crate) prow: ProwConfigArgs,

    #[arg(long, value_enum, default_value_t = Format::Text, env = "SLIPWAY_FORMAT")]
    pub(crate) format: Format,
}

#[derive(Debug, Args)]
pub(crate) struct JobRunArgs {
    /// The job to run: a name from slipway.yaml or from the Prow config (not with --affected).
    #[arg(value_name = "JOB", required_unless_present = "affected", conflicts_with = "affected")]
    pub(crate) job: Option<String>,

    /// Run every presubmit the working tree's change triggers (as `slipway job affected`
    /// lists them), each against the working tree as it is.
    #[arg(long)]
    pub(crate) affected: bool,

    /// With --affected: the branch the change is against (as `job affected --base`).
    #[arg(long, value_name = "REF", requires = "affected")]
    pub(crate) base: Option<String>,

    #[command(flatten)]
    pub(crate) prow: ProwConfigArgs,

    /// Copy the job's output to the terminal as it runs (it always goes to build-log.txt).
    #[arg(long, short = 'f')]
    pub(crate) follow: bool,

    /// Run only these matrix entries (repeatable; default: every entry).
    #[arg(long = "matrix", value_name = "ENTRY")]
    pub(crate) matrix: Vec<String>,

    /// Set an environment variable for the job (repeatable); replaces the job's own.
    #[arg(long = "env", short = 'e', value_name = "NAME=VALUE", value_parser = parse_pair)]
    pub(crate) env: Vec<(String, String)>,

    /// Mount a host directory as the job's volume NAME (repeatable), e.g. for a Prow volume
    /// backed by a secret.
    #[arg(long = "volume", value_name = "NAME=PATH", value_parser = parse_pair)]
    pub(crate) volumes: Vec<(String, String)>,

    /// Clone ORG/REPO from this local path or URL instead of GitHub (repeatable).
    #[arg(long = "ref", value_name = "ORG/REPO=PATH_OR_URL", value_parser = parse_pair)]
    pub(crate) refs: Vec<(String, String)>,

    /// The branch or tag a presubmit or postsubmit runs against (PULL_BASE_REF).
    #[arg(long, value_name = "REF")]
    pub(crate) base_ref: Option<String>,

    /// When a container job pulls its image: always, missing (only when the engine does not
    /// have it: local builds and cached images run offline) or never (default: the job's
    /// pull_policy, else missing).
    #[arg(long, value_name = "POLICY", value_parser = parse_pull)]
    pub(crate) pull: Option<slipway_jobs::exec::PullPolicy>,

    /// Keep the kind cluster of an `environment: kind` job after the run (slipway env down
    /// deletes it).
    #[arg(long)]
    pub(crate) keep_env: bool,

    #[command(flatten)]
    pub(crate) state: StateArgs,

    #[command(flatten)]
    pub(crate) registries: crate::cli::RegistryArgs,

    #[arg(long, value_enum, default_value_t = Format::Text, env = "SLIPWAY_FORMAT")]
    pub(crate) format: Format,
}

#[derive(Debug, Args)]
pub(crate) struct ScheduleArgs {
    /// Take one pass over the jobs (start what is due) and exit after those runs finish.
    #[arg(long)]
    pub(crate) once: bool,

    #[command(flatten)]
    pub(crate) prow: ProwConfigArgs,

    #[command(flatten)]
    pub(crate) state: StateArgs,

    #[command(flatten)]
    pub(crate) registries: crate::cli::RegistryArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum RunsCommand {
    /// List runs, newest first.
    #[command(
        after_help = "Examples:\n  slipway runs list\n  slipway runs list --job node-e2e --state failure --limit 5"
    )]
    List(RunsListArgs),

    /// Show one run: RUN is a run id, JOB/BUILD_ID, or a job name for its newest run.
    #[command(
        after_help = "Examples:\n  slipway runs show node-e2e\n  slipway runs show node-e2e/1795317710123 --format json"
    )]
    Show(RunsShowArgs),

    /// Print a run's build log (while it runs, --follow keeps printing).
    #[command(after_help = "Examples:\n  slipway runs logs node-e2e\n  slipway runs logs node-e2e --follow")]
    Logs(RunsLogsArgs),

    /// Abort a running run, wherever it runs: RUN is a run id, JOB/BUILD_ID, or a job name for
    /// its newest run.
    ///
    /// The request is recorded in the store; the slipway running the run (`job run`,
    /// `schedule` or `serve`, on this machine or another on the same database) sees it within
    /// a second, stops the job with its grace period and records the run as aborted.
    ///
    /// Exit status: 0 when the request is recorded; 1 when the run is not running; 2 for an
    /// unknown run; 3 when the store cannot be reached.
    #[command(
        after_help = "Examples:\n  slipway runs abort nightly-e2e\n  slipway runs abort nightly-e2e/1795317710123"
    )]
    Abort(RunsShowArgs),

    /// Remove old runs: their records, workspaces, local logs and local artifacts together.
    ///
    /// A run goes when it is not among the newest --keep finished runs of its job (each matrix
    /// entry counts as a job, as in the artifact layout), or when it finished more than
    /// --older-than ago. Without either flag, `runs.keep` (default 100) and `runs.older_than`
    /// of slipway.yaml apply: the retention `slipway schedule` applies every hour. A pending or
    /// running run is never removed. Artifacts in a bucket are kept (the bucket's lifecycle
    /// rules are for those); in a local directory they go with the run.
    ///
    /// Exit status: 0; 1 when some files could not be removed (their runs stay listed); 2 for
    /// bad input; 3 when the store cannot be reached.
    #[command(
        after_help = "Examples:\n  slipway runs prune --keep 20\n  slipway runs prune --older-than 30d --job nightly-e2e --dry-run\n  slipway runs prune --format json"
    )]
    Prune(RunsPruneArgs),
}

#[derive(Debug, Args)]
pub(crate) struct RunsPruneArgs {
    /// Keep the newest N finished runs of each job.
    #[arg(long, value_name = "N")]
    pub(crate) keep: Option<u32>,

    /// Remove finished runs older than this (30d, 2w, 12h).
    #[arg(long, value_name = "AGE")]
    pub(crate) older_than: Option<String>,

    /// Only runs of this job (a job name includes its matrix runs).
    #[arg(long, value_name = "JOB")]
    pub(crate) job: Option<String>,

    /// Say what would be removed; remove nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,

    #[command(flatten)]
    pub(crate) state: StateArgs,

    #[arg(long, value_enum, default_value_t = Format::Text, env = "SLIPWAY_FORMAT")]
    pub(crate) format: Format,
}

#[derive(Debug, Args)]
pub(crate) struct RunsListArgs {
    /// Only runs of this job (a job name includes its matrix runs).
    #[arg(long, value_name = "JOB")]
    pub(crate) job: Option<String>,

    /// Only runs in this state.
    #[arg(long, value_parser = ["pending", "running", "success", "failure", "aborted", "error"])]
    pub(crate) state: Option<String>,

    /// At most this many runs.
    #[arg(long, default_value_t = 20)]
    pub(crate) limit: u32,

    #[command(flatten)]
    pub(crate) database: DatabaseArgs,

    #[arg(long, value_enum, default_value_t = Format::Text, env = "SLIPWAY_FORMAT")]
    pub(crate) format: Format,
}

#[derive(Debug, Args)]
pub(crate) struct RunsShowArgs {
    #[arg(value_name = "RUN")]
    pub(crate) run: String,

    #[command(flatten)]
    pub(crate) database: DatabaseArgs,

    #[arg(long, value_enum, default_value_t = Format::Text, env = "SLIPWAY_FORMAT")]
    pub(crate) format: Format,
}

#[derive(Debug, Args)]
pub(crate) struct RunsLogsArgs {
    #[arg(value_name = "RUN")]
    pub(crate) run: String,

    /// Keep printing while the run goes on.
    #[arg(long, short = 'f')]
    pub(crate) follow: bool,

    #[command(flatten)]
    pub(crate) database: DatabaseArgs,
}

fn parse_pair(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), value.to_owned())),
        _ => Err(format!("expected NAME=VALUE, got `{text}`")),
    }
}

fn parse_pull(text: &str) -> Result<slipway_jobs::exec::PullPolicy, String> {
    slipway_jobs::exec::PullPolicy::parse(text)
}
