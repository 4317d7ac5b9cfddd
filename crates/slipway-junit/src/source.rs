//! Where inputs are read from: local files, streamed from disk, or object storage through
//! slipway-artifacts' [`Storage`] (each object read whole, then parsed from memory).
//!
//! Reading fails in two ways. A file that cannot be read or parsed is a [`Problem`], recorded
//! and skipped. Storage that cannot be reached is an [`Error`] that ends the ingest.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use serde_json::Value;
use slipway_artifacts::Storage;

use crate::clamp;
use crate::error::{Error, Problem};
use crate::parse::{Parsed, parse};

/// A local directory or file, or a storage URL (a prefix, or one object).
#[derive(Debug, Clone)]
pub(crate) enum Source {
    Local {
        /// Absolute, symbolic links resolved: what build names and `source` come from.
        root: PathBuf,
        /// As the user gave it: what problems name.
        shown: String,
    },
    Remote(Storage),
}

impl Source {
    /// The path or URL of `key` (empty: the root itself), for `source` and for build names.
    pub(crate) fn location(&self, key: &str) -> String {
        match self {
            Source::Local { root, .. } => local_path(root, key).display().to_string(),
            Source::Remote(storage) => remote_url(storage, key),
        }
    }

    /// The path or URL of `key` as problems name it.
    pub(crate) fn shown(&self, key: &str) -> String {
        match self {
            Source::Local { shown, .. } if key.is_empty() => shown.clone(),
            Source::Local { shown, .. } => format!("{}/{key}", shown.trim_end_matches('/')),
            Source::Remote(storage) => remote_url(storage, key),
        }
    }

    /// Every file under the root: keys relative to it, `/`-separated, sorted. A local directory
    /// that cannot be read is a problem; storage that fails is an error.
    pub(crate) async fn list(&self, problems: &mut Vec<Problem>) -> Result<Vec<String>, Error> {
        let mut keys = match self {
            Source::Local { root, .. } => {
                let mut keys = Vec::new();
                walk(root, "", &mut keys, problems, self);
                keys
            }
            Source::Remote(storage) => storage.list("").await?,
        };
        keys.sort_unstable();
        Ok(keys)
    }

    /// A JSON file (started.json, finished.json); `Value::Null` when it is absent or is not
    /// valid JSON (then a problem is recorded).
    pub(crate) async fn read_json(&self, key: &str, problems: &mut Vec<Problem>) -> Result<Value, Error> {
        let bytes = match self {
            Source::Local { root, .. } => match fs_err::read(local_path(root, key)) {
                Ok(bytes) => bytes,
                Err(error) => {
                    problems.push(Problem::new(
                        self.shown(key),
                        None,
                        format!("could not read: {}", io_reason(&error)),
                    ));
                    return Ok(Value::Null);
                }
            },
            Source::Remote(storage) => match storage.read(key).await? {
                Some(bytes) => bytes.to_vec(),
                None => return Ok(Value::Null),
            },
        };
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(value) if value.is_object() => Ok(value),
            Ok(_) => {
                problems.push(Problem::new(self.shown(key), Some(1), "not a JSON object".to_owned()));
                Ok(Value::Null)
            }
            Err(error) => {
                let reason = error.to_string();
                let reason = reason.split(" at line ").next().unwrap_or_default();
                problems.push(Problem::new(
                    self.shown(key),
                    Some(error.line() as u64),
                    format!("not valid JSON: {reason}"),
                ));
                Ok(Value::Null)
            }
        }
    }

    /// Reads and parses the JUnit file `key` (gzip-compressed when it ends in `.gz`) on a
    /// blocking thread. Storage that fails is an error; a file that cannot be read or parsed is
    /// a [`Read::Problem`], XML of another kind a [`Read::NotJunit`].
    pub(crate) async fn read(&self, key: &str) -> Result<Read, Error> {
        let shown = self.shown(key);
        let gzip = key.ends_with(".gz");
        let parsed = match self {
            Source::Local { root, .. } => {
                let path = local_path(root, key);
                tokio::task::spawn_blocking(move || parse_file_as(&path, shown, gzip)).await.map_err(Error::Task)?
            }
            Source::Remote(storage) => {
                let Some(bytes) = storage.read(key).await? else {
                    return Ok(Read::Problem(Problem::new(shown, None, "not found".to_owned())));
                };
                tokio::task::spawn_blocking(move || parse_bytes(&bytes, shown, gzip)).await.map_err(Error::Task)?
            }
        };
        Ok(match parsed {
            Ok(parsed) => Read::Parsed(parsed),
            Err((problem, true)) => Read::NotJunit(problem),
            Err((problem, false)) => Read::Problem(problem),
        })
    }

    /// When a local file was last modified, in Unix seconds.
    pub(crate) fn modified(&self, key: &str) -> Option<i64> {
        let Source::Local { root, .. } = self else { return None };
        let modified = fs_err::metadata(local_path(root, key)).ok()?.modified().ok()?;
        let seconds = modified.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
        i64::try_from(seconds).ok()
    }
}

/// What reading one JUnit file gave.
pub(crate) enum Read {
    Parsed(Parsed),
    /// It cannot be read or parsed.
    Problem(Problem),
    /// It is XML of another kind.
    NotJunit(Problem),
}

/// Parses the JUnit file at `path` (gzip-compressed when it ends in `.gz`), streaming it from
/// disk. A problem names the file as given and the line.
pub fn parse_file(path: &Path) -> Result<Parsed, Problem> {
    let gzip = path.extension().is_some_and(|extension| extension == "gz");
    parse_file_as(path, path.display().to_string(), gzip).map_err(|(problem, _)| problem)
}

/// `input`, decompressed when `gzip`.
fn maybe_gzip<'a>(input: impl std::io::Read + Send + 'a, gzip: bool) -> Box<dyn std::io::Read + Send + 'a> {
    if gzip { Box::new(flate2::read::MultiGzDecoder::new(input)) } else { Box::new(input) }
}

/// Parses `input` of `size` bytes: a big one on two threads ([`crate::pipe`]).
fn parse_sized(input: impl std::io::Read + Send, size: u64) -> Result<Parsed, crate::parse::ParseError> {
    if size >= crate::pipe::PIPE_FROM { crate::pipe::parse_piped(input) } else { parse(input) }
}

fn parse_file_as(path: &Path, shown: String, gzip: bool) -> Result<Parsed, (Problem, bool)> {
    let open = || std::fs::File::open(path).map(|file| maybe_gzip(std::io::BufReader::new(file), gzip));
    let failed = |error: std::io::Error| {
        (Problem::new(shown.clone(), None, format!("could not read: {}", io_reason(&error))), false)
    };
    let size = std::fs::metadata(path).map_err(failed)?.len();
    let file = open().map_err(failed)?;
    parse_sized(file, size).map_err(|error| {
        let line = open().and_then(|file| clamp::line_at(file, error.offset)).ok();
        (Problem::new(shown, line, error.message), error.not_junit)
    })
}

fn parse_bytes(bytes: &Bytes, shown: String, gzip: bool) -> Result<Parsed, (Problem, bool)> {
    parse_sized(maybe_gzip(bytes.as_ref(), gzip), bytes.len() as u64).map_err(|error| {
        let line = clamp::line_at(maybe_gzip(bytes.as_ref(), gzip), error.offset).ok();
        (Problem::new(shown, line, error.message), error.not_junit)
    })
}

fn local_path(root: &Path, key: &str) -> PathBuf {
    if key.is_empty() { root.to_path_buf() } else { root.join(key) }
}

fn remote_url(storage: &Storage, key: &str) -> String {
    if key.is_empty() { storage.url().to_owned() } else { format!("{}/{key}", storage.url().trim_end_matches('/')) }
}

/// An I/O error's reason without the path (the problem names the file).
fn io_reason(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => error.to_string(),
    }
}

/// Collects the files under `directory` (`prefix` is its key). Symbolic links to files are
/// followed, to directories not (no cycles).
fn walk(directory: &Path, prefix: &str, keys: &mut Vec<String>, problems: &mut Vec<Problem>, source: &Source) {
    let entries = match std::fs::read_dir(directory) {
        Ok(entries) => entries,
        Err(error) => {
            problems.push(Problem::new(source.shown(prefix), None, format!("could not list: {}", io_reason(&error))));
            return;
        }
    };
    for entry in entries {
        let Ok(entry) = entry else { continue };
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            problems.push(Problem::new(
                source.shown(prefix),
                None,
                format!("skipped `{}`: the name is not UTF-8", entry.file_name().to_string_lossy()),
            ));
            continue;
        };
        let key = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_dir() {
            walk(&entry.path(), &key, keys, problems, source);
        } else if kind.is_file() || (kind.is_symlink() && entry.path().is_file()) {
            keys.push(key);
        }
    }
}
