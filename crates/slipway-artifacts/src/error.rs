//! What can go wrong with artifact storage, sorted by what the caller can do about it.

use slipway_core::exit;

use crate::credentials::CredentialsError;

/// Why a storage, layout or marker operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The storage URL is not one slipway understands.
    #[error("invalid storage URL `{url}`: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it, as a lowercase fragment.
        reason: String,
    },
    /// The URL is fine but the backend's settings (environment variables) are not: invalid
    /// (exit 2), or without the credentials the backend needs before any request (a
    /// [`CredentialsError`], exit 3 as every other credentials problem).
    #[error("could not configure storage `{url}`")]
    Configure {
        /// The storage URL.
        url: String,
        /// The builder's complaint (an `object_store::Error`), or a [`CredentialsError`].
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The object store could not be reached, refused the request, or failed.
    #[error("could not {operation} {}", subject(key, url))]
    Storage {
        /// The storage URL.
        url: String,
        /// What was being done: `read`, `write`, `list`.
        operation: &'static str,
        /// The object (relative to the storage URL; empty: the storage itself).
        key: String,
        /// The store's error (an `object_store::Error`), or a [`CredentialsError`] when the
        /// store found no credentials or refused them.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The bucket (or container) of the storage URL does not exist.
    #[error("the bucket of `{url}` does not exist")]
    NoBucket {
        /// The storage URL.
        url: String,
    },
    /// Reading or writing a local file (a build log, an artifact, a marker's lock) failed.
    #[error("could not {operation} `{}`", path.display())]
    Io {
        /// What was being done.
        operation: &'static str,
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// An object that must hold JSON of a known shape (started.json, finished.json) does not.
    #[error("`{key}` in `{url}` is not a valid {what}")]
    Corrupt {
        /// The storage URL.
        url: String,
        /// The object.
        key: String,
        /// What it should be, like `started.json`.
        what: &'static str,
        /// The parser's complaint.
        #[source]
        source: serde_json::Error,
    },
    /// A marker name, job name or value that cannot be used.
    #[error("invalid {what} `{value}`: {reason}")]
    Invalid {
        /// What it is: `marker name`, `job name`, `marker value`.
        what: &'static str,
        /// The value given.
        value: String,
        /// What is wrong, as a lowercase fragment.
        reason: String,
    },
    /// `--if-newer` compares versions, and one side is not a version.
    #[error("{subject}, so --if-newer cannot compare it ({reason})")]
    NotAVersion {
        /// What is not a version, as the start of a sentence: "the new value `x` is not a
        /// version", "marker `kops.txt` holds `https://...`, which is not a version".
        subject: String,
        /// The text that is not a version.
        value: String,
        /// The parser's complaint.
        reason: String,
    },
    /// The marker does not hold what `--expect` said it must, so nothing was written.
    #[error(
        "marker `{name}` in `{url}` holds {}, not the expected {}; `{requested}` was not written",
        shown(found.as_deref()),
        shown(expected.as_deref())
    )]
    NotExpected {
        /// The marker.
        name: String,
        /// The storage URL.
        url: String,
        /// What the publisher expected (`None`: absent).
        expected: Option<String>,
        /// What it holds.
        found: Option<String>,
        /// The value that was to be written.
        requested: String,
    },
    /// The marker changed between reading it and writing it, so nothing was written.
    #[error(
        "marker `{name}` in `{url}` moved from {} to {} meanwhile; nothing was written",
        shown(from.as_deref()),
        shown(to.as_deref())
    )]
    MarkerMoved {
        /// The marker.
        name: String,
        /// The storage URL.
        url: String,
        /// The value the publisher read (`None`: absent).
        from: Option<String>,
        /// The value it holds now.
        to: Option<String>,
    },
}

fn subject(key: &str, url: &str) -> String {
    if key.is_empty() { format!("`{url}`") } else { format!("`{key}` in `{url}`") }
}

fn shown(value: Option<&str>) -> String {
    value.map_or_else(|| "(absent)".to_owned(), |value| format!("`{value}`"))
}

impl Error {
    /// The process exit code this error means (DESIGN.md).
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Configure { source, .. } if source.is::<CredentialsError>() => exit::INFRASTRUCTURE,
            Error::InvalidUrl { .. } | Error::Configure { .. } | Error::Invalid { .. } | Error::NotAVersion { .. } => {
                exit::USAGE
            }
            Error::MarkerMoved { .. } | Error::NotExpected { .. } => exit::CHECK_FAILED,
            Error::Storage { .. } | Error::NoBucket { .. } | Error::Io { .. } | Error::Corrupt { .. } => {
                exit::INFRASTRUCTURE
            }
        }
    }

    /// The credentials problem behind this error, if that is what it is.
    pub fn credentials(&self) -> Option<&CredentialsError> {
        match self {
            Error::Configure { source, .. } | Error::Storage { source, .. } => source.downcast_ref(),
            _ => None,
        }
    }
}

/// Results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
