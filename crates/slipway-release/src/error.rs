//! The errors release commands can end with, and the exit code each one means.

use std::path::PathBuf;

use slipway_core::exit;

/// Why a release command could not do its work (as opposed to a finding, which it reports).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `--repo` does not name a directory.
    #[error("`{}` is not a directory", path.display())]
    NotADirectory {
        /// The path given.
        path: PathBuf,
    },
    /// A command that needs git was pointed at a directory outside any git repository.
    #[error("`{}` is not inside a git repository, which {needed_for} needs", path.display())]
    NotAGitRepository {
        /// The directory.
        path: PathBuf,
        /// What needed git, as a fragment (`reading files at a tag`).
        needed_for: &'static str,
    },
    /// git could not answer.
    #[error(transparent)]
    Git(#[from] slipway_git::Error),
    /// `--tag` names a tag that does not exist.
    #[error("tag `{tag}` does not exist in `{}`", repo.display())]
    TagNotFound {
        /// The tag.
        tag: String,
        /// The repository.
        repo: PathBuf,
    },
    /// A tag does not have the configured tag format.
    #[error(
        "tag `{tag}` is not a version tag: expected `{prefix}` followed by MAJOR.MINOR.PATCH (set release.tag_prefix if your tags look different)"
    )]
    TagNotAVersion {
        /// The tag.
        tag: String,
        /// The configured prefix.
        prefix: String,
    },
    /// Neither `--tag` nor `--version` was given and no reference names a version.
    #[error("found no reference to the project's version or images in `{}` to infer the version from; pass --version or --tag", directory.display())]
    NothingToInferFrom {
        /// The project directory.
        directory: PathBuf,
    },
    /// A file could not be read.
    #[error("could not read `{path}`")]
    Read {
        /// Repository-relative path.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A YAML file slipway has to understand is malformed.
    #[error(
        "invalid YAML in `{file}` at line {line}, column {column}: {message} (if this file is not a manifest, exclude it with release.exclude in slipway.yaml)"
    )]
    Yaml {
        /// Repository-relative path.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's description.
        message: String,
    },
    /// Kustomizations include each other in a cycle.
    #[error("kustomization cycle at `{file}` line {line}: {chain}")]
    KustomizeCycle {
        /// The kustomization that closes the cycle.
        file: String,
        /// The line of the resource entry.
        line: usize,
        /// The chain of directories, joined by ` -> `.
        chain: String,
    },
    /// A configuration value is invalid.
    #[error("invalid `{key}` in the configuration: {message}")]
    Config {
        /// The dotted key (`release.version_files[0].pattern`).
        key: String,
        /// What is wrong.
        message: String,
    },
    /// A version given on the command line is invalid.
    #[error(transparent)]
    Version(#[from] slipway_core::version::VersionError),
    /// The version to bump to is lower than the current one.
    #[error("refusing to bump from {current} down to {requested}; pass --allow-downgrade if you mean it")]
    Downgrade {
        /// The version the references name now.
        current: String,
        /// The requested version.
        requested: String,
    },
    /// `--tag` would move an existing tag.
    #[error("tag `{tag}` already exists (at {commit}); slipway never moves a release tag")]
    TagExists {
        /// The tag.
        tag: String,
        /// The commit it points at, abbreviated.
        commit: String,
    },
    /// `--commit` would sweep unrelated changes into the release commit.
    #[error("files to bump have uncommitted changes: {files}; commit or stash them first")]
    DirtyFiles {
        /// The files, joined by `, `.
        files: String,
    },
    /// A reference cannot be edited in place (escapes, folded or block scalars).
    #[error("cannot edit `{file}` line {line} in place: {reason}")]
    NotEditable {
        /// Repository-relative path.
        file: String,
        /// 1-based line.
        line: usize,
        /// Why.
        reason: String,
    },
    /// A file changed on disk after slipway read it.
    #[error("`{path}` changed on disk while slipway was working; nothing was written")]
    ChangedUnderneath {
        /// Repository-relative path.
        path: String,
    },
    /// Writing the bumped files failed; the tree was restored.
    #[error("could not write `{}`; every file was restored to its previous content", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Writing failed and restoring failed too.
    #[error("could not write `{}`, and could not restore {restore_failed}; check these files by hand", path.display())]
    WriteAndRestore {
        /// The file whose write failed.
        path: PathBuf,
        /// The files that could not be restored, joined by `, `.
        restore_failed: String,
        /// Why the write failed.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// The process exit code this error means (DESIGN.md).
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Git(error) => error.exit_code(),
            Error::Write { .. } | Error::WriteAndRestore { .. } => exit::INFRASTRUCTURE,
            _ => exit::USAGE,
        }
    }
}

pub(crate) use slipway_core::errors::chain;
