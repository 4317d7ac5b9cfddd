//! `slipway.lock`: the resolved matrix, each (entry, kind, arch) pinned to an image by digest,
//! so every CI run of a commit tests on the same node images.
//!
//! YAML, sorted (by Kubernetes version, then entry, kind and arch), written all or nothing (a
//! temporary file renamed over the old one). An entry is used as it is until `--update`; an
//! entry that the configuration no longer asks for is dropped the next time the file is written.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use slipway_core::Version;

/// The default file name, beside slipway.yaml.
pub const FILE_NAME: &str = "slipway.lock";
/// The format this slipway writes.
pub const FORMAT: u32 = 1;

const HEADER: &str = "# slipway.lock: the kind node images of the test matrix, pinned by digest.\n# Written by `slipway env node-image --update`; CI checks it with `--locked`. Do not edit by hand.\n";

/// The file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockFile {
    pub version: u32,
    #[serde(default)]
    pub node_images: Vec<LockedImage>,
}

/// One pinned node image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedImage {
    /// The matrix entry as configured (`stable-1.36`, `v1.35.2`).
    pub entry: String,
    /// The exact Kubernetes version it resolved to.
    pub kubernetes: String,
    /// The kind release (`v0.32.0`).
    pub kind: String,
    pub arch: String,
    /// `repository:tag@sha256:...`.
    pub image: String,
    /// `published`, `registry` or `built`.
    pub source: String,
    /// For built images: the release or tarball URL it was built from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub built_from: Option<String>,
    /// For built images: the kind base image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_image: Option<String>,
}

impl LockedImage {
    /// The key an entry is looked up by.
    pub fn key(&self) -> (&str, &str, &str) {
        (&self.entry, &self.kind, &self.arch)
    }
}

/// A lock file that cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("could not read `{}`", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{}` is not a slipway lock file: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
    #[error("`{}` is lock format {found}; this slipway reads format {FORMAT}: upgrade slipway", path.display())]
    Format { path: PathBuf, found: u32 },
    #[error("could not write `{}`", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl LockError {
    pub fn exit_code(&self) -> u8 {
        match self {
            LockError::Read { .. } | LockError::Write { .. } => slipway_core::exit::INFRASTRUCTURE,
            LockError::Invalid { .. } | LockError::Format { .. } => slipway_core::exit::USAGE,
        }
    }
}

impl LockFile {
    /// Reads `path`; a missing file is an empty lock.
    pub fn read(path: &Path) -> Result<LockFile, LockError> {
        let text = match fs_err::read_to_string(path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(LockFile::empty()),
            Err(source) => return Err(LockError::Read { path: path.to_owned(), source }),
        };
        LockFile::parse(&text).map_err(|message| match message {
            ParseError::Format(found) => LockError::Format { path: path.to_owned(), found },
            ParseError::Invalid(message) => LockError::Invalid { path: path.to_owned(), message },
        })
    }

    pub fn empty() -> LockFile {
        LockFile { version: FORMAT, node_images: Vec::new() }
    }

    fn parse(text: &str) -> Result<LockFile, ParseError> {
        if text.trim().is_empty() {
            return Ok(LockFile::empty());
        }
        let lock: LockFile = serde_saphyr::from_str(text).map_err(|error| ParseError::Invalid(error.to_string()))?;
        if lock.version != FORMAT {
            return Err(ParseError::Format(lock.version));
        }
        for (index, image) in lock.node_images.iter().enumerate() {
            let at = |message: String| ParseError::Invalid(format!("node_images[{index}]: {message}"));
            if !image.image.contains("@sha256:") {
                return Err(at(format!("image `{}` is not pinned by digest", image.image)));
            }
            slipway_core::ImageReference::parse(&image.image).map_err(|error| at(error.to_string()))?;
            if !matches!(image.source.as_str(), "published" | "registry" | "built") {
                return Err(at(format!("source `{}` is not published, registry or built", image.source)));
            }
        }
        Ok(lock)
    }

    /// The entry for (entry, kind, arch).
    pub fn find(&self, entry: &str, kind: &str, arch: &str) -> Option<&LockedImage> {
        self.node_images.iter().find(|image| image.key() == (entry, kind, arch))
    }

    /// Sorted, one entry per key (the last given wins).
    pub fn normalized(mut self) -> LockFile {
        self.node_images.reverse();
        let mut seen = std::collections::BTreeSet::new();
        self.node_images.retain(|image| seen.insert((image.entry.clone(), image.kind.clone(), image.arch.clone())));
        self.node_images.sort_by(compare);
        self
    }

    /// The file's text.
    pub fn render(&self) -> String {
        let body = serde_saphyr::to_string(self).unwrap_or_default();
        format!("{HEADER}{body}")
    }

    /// Writes the file all or nothing.
    pub fn write(&self, path: &Path) -> Result<(), LockError> {
        let write_error = |source| LockError::Write { path: path.to_owned(), source };
        let directory = path.parent().filter(|parent| !parent.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let mut temporary = tempfile::NamedTempFile::new_in(directory).map_err(write_error)?;
        std::io::Write::write_all(&mut temporary, self.render().as_bytes()).map_err(write_error)?;
        temporary.as_file().sync_all().map_err(write_error)?;
        temporary.persist(path).map_err(|error| write_error(error.error))?;
        Ok(())
    }
}

enum ParseError {
    Format(u32),
    Invalid(String),
}

fn compare(left: &LockedImage, right: &LockedImage) -> Ordering {
    let version = |image: &LockedImage| Version::parse_lenient(&image.kubernetes).ok();
    match (version(left), version(right)) {
        (Some(a), Some(b)) => a.cmp(&b),
        _ => left.kubernetes.cmp(&right.kubernetes),
    }
    .then_with(|| left.entry.cmp(&right.entry))
    .then_with(|| left.kind.cmp(&right.kind))
    .then_with(|| left.arch.cmp(&right.arch))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(entry: &str, kubernetes: &str, arch: &str) -> LockedImage {
        LockedImage {
            entry: entry.into(),
            kubernetes: kubernetes.into(),
            kind: "v0.32.0".into(),
            arch: arch.into(),
            image: format!("kindest/node:{kubernetes}@sha256:{}", "a".repeat(64)),
            source: "published".into(),
            built_from: None,
            base_image: None,
        }
    }

    #[test]
    fn round_trip_sorted_by_version() {
        let lock = LockFile {
            version: FORMAT,
            node_images: vec![
                image("stable-1.36", "v1.36.10", "amd64"),
                image("v1.36.2", "v1.36.2", "arm64"),
                image("v1.36.2", "v1.36.2", "amd64"),
                image("stable-1.36", "v1.36.9", "amd64"),
            ],
        }
        .normalized();
        let order: Vec<(&str, &str)> =
            lock.node_images.iter().map(|image| (image.kubernetes.as_str(), image.arch.as_str())).collect();
        assert_eq!(order, [("v1.36.2", "amd64"), ("v1.36.2", "arm64"), ("v1.36.9", "amd64")]);
        let directory = tempfile::tempdir().expect("tempdir");
        let path = directory.path().join(FILE_NAME);
        lock.write(&path).expect("write");
        assert_eq!(LockFile::read(&path).expect("read"), lock);
        let text = fs_err::read_to_string(&path).expect("text");
        assert!(text.starts_with("# slipway.lock"), "{text}");
        assert_eq!(fs_err::read_dir(directory.path()).expect("list").count(), 1, "no temporary file is left");
    }

    #[test]
    fn bad_files_are_named_errors() {
        let directory = tempfile::tempdir().expect("tempdir");
        let path = directory.path().join(FILE_NAME);
        assert_eq!(LockFile::read(&path).expect("missing is empty"), LockFile::empty());
        let cases = [
            ("version: 1\nnode_images: [{entry: a}]\n", "missing field"),
            ("version: 7\n", "format 7"),
            (
                "version: 1\nnode_images:\n- {entry: v1.1.1, kubernetes: v1.1.1, kind: v0.32.0, arch: amd64, image: 'kindest/node:v1.1.1', source: published}\n",
                "not pinned by digest",
            ),
            ("version: 1\nextra: true\n", "unknown field"),
            ("version: [\n", "not a slipway lock file"),
        ];
        for (text, expected) in cases {
            fs_err::write(&path, text).expect("write");
            let error = LockFile::read(&path).expect_err(text).to_string();
            assert!(error.contains(expected) && error.contains(FILE_NAME), "{text}: {error}");
        }
    }
}
