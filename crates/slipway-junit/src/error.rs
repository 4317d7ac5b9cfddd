//! What can go wrong: problems with one input (reported, the rest is ingested) and errors that
//! end an ingest (storage or database failing).

use serde::Serialize;
use slipway_core::exit;

/// An input that could not be read or parsed: reported, skipped, and the rest ingested.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{}{}: {message}", file, line.map(|line| format!(":{line}")).unwrap_or_default())]
pub struct Problem {
    /// The file (as given, or its URL).
    pub file: String,
    /// The 1-based line, when the problem is at one.
    pub line: Option<u64>,
    /// What is wrong, as a lowercase fragment.
    pub message: String,
}

impl Problem {
    pub(crate) fn new(file: String, line: Option<u64>, message: String) -> Problem {
        Problem { file, line, message }
    }
}

/// Why an ingest stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Object storage could not be opened, listed or read.
    #[error(transparent)]
    Storage(#[from] slipway_artifacts::Error),
    /// The store refused a build.
    #[error("could not store build `{job}/{build_id}`")]
    Store {
        /// The build's job.
        job: String,
        /// The build.
        build_id: String,
        /// The store's error.
        #[source]
        source: slipway_store::Error,
    },
    /// A parsing thread died (a bug).
    #[error("a JUnit parsing task failed")]
    Task(#[source] tokio::task::JoinError),
    /// `--glob` is not a glob.
    #[error("`{glob}` is not a glob: {message}")]
    Glob { glob: String, message: String },
}

impl Error {
    /// The exit code of DESIGN.md: 2 for a storage URL that is not one, 3 for storage or a
    /// database that fails.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Storage(error) => error.exit_code(),
            Error::Store { source, .. } => source.exit_code(),
            Error::Task(_) => exit::INFRASTRUCTURE,
            Error::Glob { .. } => exit::USAGE,
        }
    }
}
