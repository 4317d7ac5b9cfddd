//! The part of `verify` and `bump` that is the same: open the directory, scan the files,
//! render the overlays and work out the project.

use std::path::{Path, PathBuf};

use slipway_core::Version;

use crate::check::{self, Checked, Expected};
use crate::config::Settings;
use crate::error::Error;
use crate::project::Project;
use crate::render::{self, Overlay, RenderNote};
use crate::scan::{self, Scan};
use crate::source::FileSet;
use slipway_git::Git;

/// A directory slipway works on, and the git repository around it, if any.
#[derive(Debug, Clone)]
pub struct Directory {
    /// The directory, as given.
    pub path: PathBuf,
    /// The repository containing it.
    pub git: Option<Git>,
    /// Whether the `git` executable could not be run (so `git` is `None` for that reason).
    git_missing: bool,
}

impl Directory {
    /// Opens `path`, which must be a directory.
    pub fn open(path: &Path) -> Result<Directory, Error> {
        if !path.is_dir() {
            return Err(Error::NotADirectory { path: path.to_path_buf() });
        }
        // Absolute, so messages say which directory even when it was given as `.`.
        let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        // Checking a work tree needs no git; only commands that need it fail without it.
        let (git, git_missing) = match Git::discover(&path) {
            Ok(git) => (git, false),
            Err(slipway_git::Error::Missing(_)) => (None, true),
            Err(error) => return Err(error.into()),
        };
        Ok(Directory { path, git, git_missing })
    }

    /// The git repository, or an error saying what needed it.
    pub fn require_git(&self, needed_for: &'static str) -> Result<&Git, Error> {
        if self.git_missing {
            let missing = std::io::Error::new(std::io::ErrorKind::NotFound, "`git` was not found on PATH");
            return Err(slipway_git::Error::Missing(missing).into());
        }
        self.git.as_ref().ok_or_else(|| Error::NotAGitRepository { path: self.path.clone(), needed_for })
    }

    /// The directory's own name (the project name of last resort).
    pub fn name(&self) -> String {
        self.path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default()
    }
}

/// Everything known about a file set.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// The files.
    pub files: FileSet,
    /// What they reference.
    pub scan: Scan,
    /// What each overlay deploys.
    pub overlays: Vec<Overlay>,
    /// What the renderer could not follow.
    pub render_notes: Vec<RenderNote>,
    /// The project.
    pub project: Project,
}

impl Analysis {
    /// Scans and renders `files`.
    pub fn of(files: FileSet, settings: &Settings, directory: &Directory) -> Result<Analysis, Error> {
        let scan = scan::scan(&files, settings)?;
        let (overlays, render_notes) = render::overlays(&scan, &files)?;
        let origin = match &directory.git {
            Some(git) => git.origin_url()?,
            None => None,
        };
        let project = Project::identify(settings, &scan, &overlays, &directory.name(), origin.as_deref());
        Ok(Analysis { files, scan, overlays, render_notes, project })
    }

    /// Checks every reference against `expected`.
    pub fn check(&self, expected: &Expected, settings: &Settings) -> Checked {
        check::check(&self.files, &self.scan, &self.overlays, &self.project, expected, settings)
    }

    /// The highest version the references name, and how many references name a version.
    pub fn highest_version(&self, settings: &Settings) -> Option<(Version, usize)> {
        let versions = check::observed_versions(&self.scan, &self.overlays, &self.project, settings);
        let count = versions.len();
        versions.into_iter().max().map(|version| (version, count))
    }

    /// Notes for the report: skipped files and what the renderer could not follow.
    pub fn notes(&self) -> Vec<String> {
        let mut notes: Vec<String> =
            self.scan.skipped.iter().map(|skipped| format!("skipped `{}`: {}", skipped.path, skipped.reason)).collect();
        notes.extend(
            self.render_notes
                .iter()
                .map(|note| format!("`{}:{}`: {}", note.origin.file, note.origin.line, note.message)),
        );
        if self.project.images.is_empty() {
            notes.push(
                "no project images found or configured, so no image is checked; pass --image or set release.images"
                    .to_owned(),
            );
        }
        notes
    }
}
