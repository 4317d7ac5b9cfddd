//! The part of `verify` and `bump` that is the same: open the directory, scan the files,
//! render the overlays and work out the project.

use std::path::{Path, PathBuf};

use slipway_core::Version;

use crate::check::{self, Checked, Expected};
use crate::config::Settings;
use crate::error::Error;
use crate::project::{Project, RepositoryFacts};
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

    /// What git knows that tells who the project is: remotes, branches and release tags.
    pub fn facts(&self, settings: &Settings) -> Result<RepositoryFacts, Error> {
        let Some(git) = &self.git else {
            return Ok(RepositoryFacts::default());
        };
        let tags = git.tags()?;
        Ok(RepositoryFacts {
            origin: git.remote_url("origin")?,
            upstream: git.remote_url("upstream")?,
            branches: git.branches()?,
            tagged_versions: tags.iter().filter_map(|tag| Version::from_tag(&tag.name, &settings.tag_prefix)).collect(),
        })
    }

    /// Where a bump stages its files: the git directory, else `.slipway/` in the project.
    pub fn staging(&self) -> Result<crate::bump::write::Staging, Error> {
        let git_directory = match &self.git {
            Some(git) => Some(git.git_directory()?),
            None => None,
        };
        Ok(crate::bump::write::Staging::new(&self.path, git_directory.as_deref()))
    }

    /// Finishes a bump that was interrupted (see [`crate::bump::write::recover`]) and says so.
    pub fn recover(&self) -> Result<Vec<String>, Error> {
        let recovered = crate::bump::write::recover(&self.staging()?)?;
        let mut notes = Vec::new();
        if !recovered.completed.is_empty() {
            let files: Vec<String> = recovered
                .completed
                .iter()
                .map(|path| path.strip_prefix(&self.path).unwrap_or(path).display().to_string())
                .collect();
            notes.push(format!(
                "an earlier bump was interrupted after its files were written; completed it: {}",
                files.join(", ")
            ));
        }
        if recovered.swept > 0 {
            notes.push(format!("removed {} temporary files of an interrupted bump", recovered.swept));
        }
        Ok(notes)
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
        let facts = directory.facts(settings)?;
        Analysis::with_facts(files, settings, &directory.name(), &facts)
    }

    /// Scans and renders `files`, with what git knows given (a re-check of edited files reuses
    /// it rather than asking git again).
    pub fn with_facts(
        files: FileSet,
        settings: &Settings,
        directory_name: &str,
        facts: &RepositoryFacts,
    ) -> Result<Analysis, Error> {
        let scan = scan::scan(&files, settings)?;
        let (overlays, render_notes) = render::overlays(&scan, &files)?;
        let project = Project::identify(settings, &scan, &overlays, directory_name, facts);
        Ok(Analysis { files, scan, overlays, render_notes, project })
    }

    /// Checks every reference against `expected`.
    pub fn check(&self, expected: &Expected, settings: &Settings) -> Checked {
        check::check(&self.files, &self.scan, &self.overlays, &self.project, expected, settings)
    }

    /// The highest version the project's references name.
    pub fn highest_version(&self, settings: &Settings) -> Option<Version> {
        check::observed_versions(&self.scan, &self.overlays, &self.project, settings).into_iter().max()
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
