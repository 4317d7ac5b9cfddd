//! What can go wrong reading Triage's files and writing its outputs.

use std::path::PathBuf;

use slipway_core::exit;

/// An error of this crate; each names the file concerned.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A builds file that is not a JSON array of Triage builds.
    #[error("{}:{line}:{column}: not a Triage builds file (a JSON array of builds)", path.display())]
    Builds {
        path: PathBuf,
        line: usize,
        column: usize,
        #[source]
        source: Malformed,
    },
    /// A line of a failed-tests file that is not a Triage failure record.
    #[error("{}:{line}:{column}: not a Triage failure record", path.display())]
    Failure {
        path: PathBuf,
        line: usize,
        column: usize,
        #[source]
        source: Malformed,
    },
    /// A `--previous` file that is not a `failure_data.json`.
    #[error("{}:{line}:{column}: not a Triage failure_data.json", path.display())]
    Previous {
        path: PathBuf,
        line: usize,
        column: usize,
        #[source]
        source: Malformed,
    },
    /// An owners file that is not `{"owner": ["test name prefix", ...]}`.
    #[error("{}:{line}:{column}: not a Triage owners file ({{\"owner\": [\"test name prefix\", ...]}})", path.display())]
    Owners {
        path: PathBuf,
        line: usize,
        column: usize,
        #[source]
        source: Malformed,
    },
    #[error("the slice pattern {pattern:?} has no PREFIX to replace (e.g. slices/failure_data_PREFIX.json)")]
    SlicePattern { pattern: String },
}

impl Error {
    /// The exit code (DESIGN.md): bad input and missing files are usage errors, other I/O
    /// failures are infrastructure failures.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Read { source, .. } if source.kind() == std::io::ErrorKind::NotFound => exit::USAGE,
            Error::Read { .. } | Error::Write { .. } => exit::INFRASTRUCTURE,
            Error::Builds { .. }
            | Error::Failure { .. }
            | Error::Previous { .. }
            | Error::Owners { .. }
            | Error::SlicePattern { .. } => exit::USAGE,
        }
    }
}

/// What the JSON parser found wrong, without its position (the error it causes names the file,
/// line and column).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(String);

impl Malformed {
    pub(crate) fn new(error: &serde_json::Error) -> Malformed {
        let message = error.to_string();
        let position = format!(" at line {} column {}", error.line(), error.column());
        Malformed(message.strip_suffix(&position).unwrap_or(&message).to_owned())
    }
}

/// The error for a JSON document at `path` that could not be read (`kind` says which), or an
/// I/O failure while reading it.
pub(crate) fn json_error(
    path: &std::path::Path,
    error: serde_json::Error,
    kind: fn(PathBuf, usize, usize, Malformed) -> Error,
) -> Error {
    if error.is_io() {
        return Error::Read { path: path.to_owned(), source: error.into() };
    }
    kind(path.to_owned(), error.line(), error.column(), Malformed::new(&error))
}
