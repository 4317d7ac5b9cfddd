//! The files a release check reads, loaded into memory once.
//!
//! A [`FileSet`] comes either from the work tree ([`worktree`]) or from a commit's tree through
//! git ([`git_tree`]); everything downstream (scanning, kustomize rendering, bump planning) is a
//! pure function of it. Only files that can hold a reference are loaded: YAML, documentation,
//! Makefiles, GitHub Actions workflows, `go.mod` and the configured version files, outside
//! vendored, hidden and test-data directories. A file over [`MAX_FILE_SIZE`] is skipped with a
//! note, so no single file can make slipway read gigabytes.

pub mod git_tree;
pub mod worktree;

use std::collections::{BTreeMap, BTreeSet};

use crate::config::Settings;

/// The largest file slipway reads. Manifests and docs are kilobytes; a generated file of
/// 100,000 objects is about 20 MiB.
pub const MAX_FILE_SIZE: u64 = 64 * 1024 * 1024;

/// The UTF-8 byte-order mark some Windows editors put first.
const BOM: &str = "\u{feff}";

/// Repository-relative paths (with `/`) and their text.
///
/// Text is held without a leading byte-order mark, so offsets and parsers never see one; the
/// files that had one are remembered, and [`FileSet::on_disk`] puts it back for writing.
#[derive(Debug, Clone, Default)]
pub struct FileSet {
    files: BTreeMap<String, String>,
    with_bom: BTreeSet<String>,
    /// What was left out, and why, for the report.
    pub skipped: Vec<Skipped>,
}

/// A file that was not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Repository-relative path.
    pub path: String,
    /// Why, as a fragment (`binary file`, `symlink loop`).
    pub reason: String,
}

impl FileSet {
    /// A file set from paths and contents (tests and in-memory re-checks use this).
    pub fn from_files<I, P, T>(files: I) -> FileSet
    where
        I: IntoIterator<Item = (P, T)>,
        P: Into<String>,
        T: Into<String>,
    {
        let mut set = FileSet::default();
        for (path, text) in files {
            set.insert(path.into(), text.into().into_bytes());
        }
        set
    }

    /// `text` as the file holds it on disk: with its byte-order mark, if it had one.
    pub fn on_disk(&self, path: &str, text: &str) -> String {
        if self.with_bom.contains(path) { format!("{BOM}{text}") } else { text.to_owned() }
    }

    /// The text of a file.
    pub fn get(&self, path: &str) -> Option<&str> {
        self.files.get(path).map(String::as_str)
    }

    /// Every file, in path order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.files.iter().map(|(path, text)| (path.as_str(), text.as_str()))
    }

    /// How many files were read.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether no file was read.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Replaces a file's text (a bump checks its result this way before writing).
    pub fn replace(&mut self, path: &str, text: String) {
        self.files.insert(path.to_owned(), text);
    }

    fn insert(&mut self, path: String, bytes: Vec<u8>) {
        if bytes.len() as u64 > MAX_FILE_SIZE {
            let reason = format!("larger than {} MiB", MAX_FILE_SIZE / (1024 * 1024));
            self.skipped.push(Skipped { path, reason });
            return;
        }
        match into_text(bytes) {
            Ok(mut text) => {
                if text.starts_with(BOM) {
                    text.drain(..BOM.len());
                    self.with_bom.insert(path.clone());
                }
                self.files.insert(path, text);
            }
            Err(reason) => self.skipped.push(Skipped { path, reason: reason.to_owned() }),
        }
    }
}

/// Directory names never read: vendored code, dependencies and Go test data.
const SKIPPED_DIRECTORIES: &[&str] = &["vendor", "node_modules", "third_party", "testdata", "_output"];

/// Extensions of files that can hold references.
const EXTENSIONS: &[&str] = &["yaml", "yml", "md", "markdown", "rst", "adoc", "txt", "mk"];

/// File names that can hold references whatever their extension.
const NAMES: &[&str] = &["Kustomization", "Makefile", "makefile", "GNUmakefile", "go.mod"];

/// The one hidden directory read: GitHub Actions workflows name versions in their inputs.
pub const WORKFLOWS: &str = ".github/workflows/";

/// Whether a repository-relative path should be read.
pub fn wanted(path: &str, settings: &Settings) -> bool {
    if settings.version_files.iter().any(|file| file.path == path) {
        return true;
    }
    if settings.exclude.matches(path) {
        return false;
    }
    if let Some(name) = path.strip_prefix(WORKFLOWS) {
        let lower = name.to_ascii_lowercase();
        return !name.contains('/') && (lower.ends_with(".yml") || lower.ends_with(".yaml"));
    }
    let mut components = path.split('/').peekable();
    while let Some(component) = components.next() {
        let last = components.peek().is_none();
        if !last && (component.starts_with('.') || SKIPPED_DIRECTORIES.contains(&component)) {
            return false;
        }
        if last {
            if component.starts_with('.') {
                return false;
            }
            if NAMES.contains(&component) {
                return true;
            }
            return component
                .rsplit_once('.')
                .is_some_and(|(_, extension)| EXTENSIONS.contains(&extension.to_ascii_lowercase().as_str()));
        }
    }
    false
}

/// Whether a directory (repository-relative) should be descended into.
pub fn wanted_directory(path: &str, settings: &Settings) -> bool {
    if path == ".github" || format!("{path}/") == WORKFLOWS {
        return !settings.exclude.matches(path);
    }
    let name = path.rsplit('/').next().unwrap_or(path);
    !(name.starts_with('.') || SKIPPED_DIRECTORIES.contains(&name) || settings.exclude.matches(path))
}

fn into_text(bytes: Vec<u8>) -> Result<String, &'static str> {
    let head = &bytes[..bytes.len().min(8000)];
    if head.contains(&0) {
        return Err("binary file");
    }
    String::from_utf8(bytes).map_err(|_| "not UTF-8 text")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selects_reference_holders() {
        let settings = Settings::default();
        for path in [
            "deploy/app.yaml",
            "README.md",
            "kustomize/Kustomization",
            "docs/guide.rst",
            "a.YML",
            ".github/workflows/ci.yml",
            "Makefile",
            "hack/versions.mk",
            "go.mod",
        ] {
            assert!(wanted(path, &settings), "{path}");
        }
        for path in [
            "main.go",
            "vendor/x/y.yaml",
            ".github/dependabot.yml",
            ".github/workflows/scripts/x.yaml",
            "pkg/testdata/bad.yaml",
            ".hidden.yaml",
            "image.png",
        ] {
            assert!(!wanted(path, &settings), "{path}");
        }
    }

    #[test]
    fn binary_and_non_utf8_files_are_skipped() {
        let mut files = FileSet::default();
        files.insert("a.yaml".into(), b"a: \0b".to_vec());
        files.insert("b.yaml".into(), vec![0xff, 0xfe, b'a']);
        files.insert("c.yaml".into(), "\u{feff}kind: X\n".as_bytes().to_vec());
        assert_eq!(files.get("c.yaml"), Some("kind: X\n"));
        assert_eq!(files.on_disk("c.yaml", "kind: Y\n"), "\u{feff}kind: Y\n", "the mark is put back");
        assert_eq!(files.on_disk("d.yaml", "kind: Y\n"), "kind: Y\n");
        let reasons: Vec<_> = files.skipped.iter().map(|s| (s.path.as_str(), s.reason.as_str())).collect();
        assert_eq!(reasons, [("a.yaml", "binary file"), ("b.yaml", "not UTF-8 text")]);
    }
}
