//! Warnings: odd things that do not stop a command, kept as values so commands can also use
//! them (`job lint` reports unknown job keys as findings), and printed once on stderr.

use std::fmt;
use std::path::PathBuf;

/// Something a person should know that does not stop the command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Warning {
    /// A key slipway does not know, in slipway.yaml; it is ignored.
    UnknownKey {
        file: PathBuf,
        line: Option<usize>,
        /// The key's path, such as `jobs.0.minimal_interval`.
        key: String,
    },
    /// A key written twice in one mapping of a Prow file; loaders differ on which they keep.
    DuplicateKey { file: PathBuf, line: usize, key: String, first_line: usize },
    /// A Prow job that cannot run here, left out of what the command does.
    NotRunnable(slipway_prow::NotRunnable),
}

impl fmt::Display for Warning {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::UnknownKey { file, line, key } => {
                let line = line.map(|line| format!(":{line}")).unwrap_or_default();
                write!(formatter, "{}{line}: unknown key `{key}` is ignored", file.display())
            }
            Warning::DuplicateKey { file, line, key, first_line } => write!(
                formatter,
                "{}:{line}: `{key}` is given twice (lines {first_line} and {line}); loaders differ on which one they keep",
                file.display()
            ),
            Warning::NotRunnable(job) => write!(formatter, "{job}; it is left out"),
        }
    }
}

/// A warning for every key written twice in a Prow file, with both lines.
pub(crate) fn duplicate_keys(config: &slipway_prow::ProwConfig) -> Vec<Warning> {
    config
        .files
        .iter()
        .flat_map(|file| {
            file.duplicate_keys.iter().map(move |duplicate| Warning::DuplicateKey {
                file: file.path.clone(),
                line: duplicate.line,
                key: duplicate.key.clone(),
                first_line: duplicate.first_line,
            })
        })
        .collect()
}
