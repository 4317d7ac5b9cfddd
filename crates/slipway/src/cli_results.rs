//! The command line of results and triage (`slipway results`, `slipway triage`). Doc comments
//! here are the `--help` text. Each command's arguments are its own struct.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::cli::Format;

/// Where the test history lives; shared by every results command.
#[derive(Debug, Clone, Args)]
pub(crate) struct DatabaseArgs {
    /// The store: sqlite:PATH or postgres://... (default: `store.url`, else
    /// sqlite:.slipway/state.db in the project).
    #[arg(long, value_name = "URL", env = "SLIPWAY_DATABASE_URL")]
    pub(crate) database_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ResultsCommand {
    /// Read JUnit files and Prow artifact directories into the test history.
    Ingest(IngestArgs),
    /// A job's tests × builds, newest first, in the terminal or as one HTML page.
    Grid(GridArgs),
    /// Flaky tests: flakiness as TestGrid computes it, and tests that failed and passed in one build.
    Flakes(FlakesArgs),
    /// Tests and jobs failing for N builds in a row; exits 1 while any alert is open.
    Alerts(AlertsArgs),
    /// Cluster the failures of the history by their text (as `slipway triage` does).
    Clusters(ClustersArgs),
}

#[derive(Debug, Args)]
pub(crate) struct IngestArgs {
    /// JUnit XML files, or Prow artifact directories (local paths or storage URLs).
    #[arg(value_name = "PATH", required = true)]
    pub(crate) paths: Vec<String>,

    #[command(flatten)]
    pub(crate) database: DatabaseArgs,

    #[arg(long, value_enum, default_value_t = Format::Text, env = "SLIPWAY_FORMAT")]
    pub(crate) format: Format,
}

#[derive(Debug, Args)]
pub(crate) struct GridArgs {
    /// The job.
    #[arg(value_name = "JOB")]
    pub(crate) job: String,

    /// Also write the grid as one self-contained HTML page.
    #[arg(long, value_name = "FILE")]
    pub(crate) html: Option<PathBuf>,

    #[command(flatten)]
    pub(crate) database: DatabaseArgs,

    #[arg(long, value_enum, default_value_t = Format::Text, env = "SLIPWAY_FORMAT")]
    pub(crate) format: Format,
}

#[derive(Debug, Args)]
pub(crate) struct FlakesArgs {
    #[command(flatten)]
    pub(crate) database: DatabaseArgs,

    #[arg(long, value_enum, default_value_t = Format::Text, env = "SLIPWAY_FORMAT")]
    pub(crate) format: Format,
}

#[derive(Debug, Args)]
pub(crate) struct AlertsArgs {
    #[command(flatten)]
    pub(crate) database: DatabaseArgs,

    #[arg(long, value_enum, default_value_t = Format::Text, env = "SLIPWAY_FORMAT")]
    pub(crate) format: Format,
}

#[derive(Debug, Args)]
pub(crate) struct ClustersArgs {
    #[command(flatten)]
    pub(crate) database: DatabaseArgs,

    #[arg(long, value_enum, default_value_t = Format::Text, env = "SLIPWAY_FORMAT")]
    pub(crate) format: Format,
}

#[derive(Debug, Args)]
pub(crate) struct TriageArgs {
    /// Triage's builds file.
    #[arg(long, value_name = "FILE")]
    pub(crate) builds: PathBuf,

    /// Triage's failed-tests files.
    #[arg(value_name = "TESTS", required = true)]
    pub(crate) tests: Vec<PathBuf>,

    /// Where to write failure_data.json.
    #[arg(long, value_name = "FILE")]
    pub(crate) output: PathBuf,
}
