//! `release bump VERSION`: rewrite every reference to the new release in one change, and
//! optionally commit and tag it, so the tag points at manifests that name it (the order
//! descheduler#1339 lacked).
//!
//! The edits come from the same [`check`](crate::check) that `verify` runs, aimed at the new
//! version. Before anything is written, the edited files are checked again in memory; the bump
//! only goes ahead with `--commit` or `--tag` when that check passes, so a tagged release always
//! verifies offline.

mod diff;
pub mod write;

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use serde::Serialize;
use slipway_core::{Finding, FindingKind, Severity, Version, exit};

use crate::analysis::{Analysis, Directory};
use crate::check::{Edit, Expected, Fix, Reference, SkippedReference};
use crate::config::Settings;
use crate::error::Error;
use crate::project::Project;
use crate::source::worktree;
use write::FileChange;

/// The JSON schema identifier of [`BumpReport`].
pub const SCHEMA: &str = "slipway.release.bump/v1";

/// What to bump, and what to do with the result.
#[derive(Debug, Clone)]
pub struct BumpOptions {
    /// The project directory.
    pub directory: PathBuf,
    /// The new version.
    pub version: Version,
    /// Only show the diff.
    pub dry_run: bool,
    /// Commit the change.
    pub commit: bool,
    /// Tag the commit (implies `commit`).
    pub tag: bool,
    /// Allow a version lower than the current one.
    pub allow_downgrade: bool,
}

/// One rewritten reference.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    /// What kind of reference.
    pub kind: FindingKind,
    /// Repository-relative path.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// The old value.
    pub from: String,
    /// The new value.
    pub to: String,
    /// Something the person bumping should know about this change.
    pub note: Option<String>,
}

/// What `bump` did: the stable JSON output of `release bump --format json`.
#[derive(Debug, Clone, Serialize)]
pub struct BumpReport {
    /// [`SCHEMA`].
    pub schema: &'static str,
    /// The directory.
    pub directory: String,
    /// The highest version the references named before.
    pub from: Option<Version>,
    /// The release bumped to.
    pub to: Expected,
    /// The project.
    pub project: Project,
    /// Every reference rewritten.
    pub changes: Vec<Change>,
    /// Files rewritten.
    pub files: Vec<String>,
    /// Unified diff of the change.
    pub diff: String,
    /// Problems the bump cannot fix, as `verify` would report them afterwards.
    pub remaining: Vec<Finding>,
    /// What looked like a reference and was not bumped, with why.
    pub skipped: Vec<SkippedReference>,
    /// Whether files were written.
    pub written: bool,
    /// The commit made, if any.
    pub commit: Option<String>,
    /// The tag made, if any.
    pub tag: Option<String>,
    /// What was skipped or assumed.
    pub notes: Vec<String>,
}

impl BumpReport {
    /// 1 when problems remain that the bump could not fix, else 0.
    pub fn exit_code(&self) -> u8 {
        if self.remaining.iter().any(|finding| finding.severity == Severity::Error) {
            exit::CHECK_FAILED
        } else {
            exit::SUCCESS
        }
    }
}

/// Plans and (unless a dry run) applies the bump.
pub fn bump(options: &BumpOptions, settings: &Settings) -> Result<BumpReport, Error> {
    let directory = Directory::open(&options.directory)?;
    let recovered = directory.recover()?;
    let committing = options.commit || options.tag;
    let git = if committing { Some(directory.require_git("committing and tagging a bump")?) } else { None };
    let expected = Expected::new(options.version.clone(), settings);
    if options.tag
        && let Some(git) = git
        && let Some(commit) = git.tag_commit(&expected.git_tag)?
    {
        return Err(Error::TagExists { tag: expected.git_tag.clone(), commit: commit.chars().take(12).collect() });
    }

    let files = worktree::load(&directory.path, settings)?;
    let facts = directory.facts(settings)?;
    let analysis = Analysis::with_facts(files, settings, &directory.name(), &facts)?;
    let current = analysis.highest_version(settings);
    if let Some(current) = &current
        && options.version < *current
        && !options.allow_downgrade
    {
        return Err(Error::Downgrade { current: current.to_string(), requested: options.version.to_string() });
    }

    let checked = analysis.check(&expected, settings);
    let mut notes = recovered;
    notes.extend(analysis.notes());
    notes.extend(checked.notes.iter().cloned());
    let (edits, changes) = collect_edits(&checked.references);
    let (file_changes, diffs) = apply_edits(&analysis, &edits)?;

    // The result must pass the same check before anything is written.
    let mut after = analysis.files.clone();
    for change in &file_changes {
        after.replace(&change.path, change.after.clone());
    }
    let recheck = Analysis::with_facts(after, settings, &directory.name(), &facts)?;
    let rechecked = recheck.check(&expected, settings);
    let mut remaining: Vec<Finding> = rechecked.references.iter().filter_map(Reference::finding).collect();
    remaining.extend(rechecked.findings);
    let blocking = remaining.iter().any(|finding| finding.severity == Severity::Error);

    let diff = diffs.concat();
    // What goes to disk: the same texts, with any byte-order mark they had put back.
    let disk_changes: Vec<FileChange> = file_changes
        .iter()
        .map(|change| FileChange {
            path: change.path.clone(),
            before: analysis.files.on_disk(&change.path, &change.before),
            after: analysis.files.on_disk(&change.path, &change.after),
        })
        .collect();
    let mut report = BumpReport {
        schema: SCHEMA,
        directory: directory.path.display().to_string(),
        from: current,
        to: expected.clone(),
        project: analysis.project,
        changes,
        files: file_changes.iter().map(|change| change.path.clone()).collect(),
        diff,
        remaining,
        skipped: checked.skipped,
        written: false,
        commit: None,
        tag: None,
        notes,
    };
    if options.dry_run || (committing && blocking) {
        if committing && blocking && !options.dry_run {
            report.notes.push(
                "nothing was written, committed or tagged: the bumped tree would still fail `release verify --offline`"
                    .to_owned(),
            );
        }
        return Ok(report);
    }

    if file_changes.is_empty() && !options.tag {
        if !blocking {
            report.notes.push(format!("every reference already names {}; nothing to write", expected.git_tag));
        }
        return Ok(report);
    }
    if let Some(git) = git {
        git.check_identity()?;
        let paths = if file_changes.is_empty() { Vec::new() } else { report.files.clone() };
        let dirty = if paths.is_empty() { git.changed_files(&[])? } else { git.changed_files(&paths)? };
        if !dirty.is_empty() {
            return Err(Error::DirtyFiles { files: dirty.join(", ") });
        }
    }
    let staging = directory.staging()?;
    if !disk_changes.is_empty() {
        write::write_all(&directory.path, &staging, &disk_changes)?;
        report.written = true;
    }
    let Some(git) = git else {
        return Ok(report);
    };
    let message =
        settings.commit_message.replace("{version}", &expected.version.to_string()).replace("{tag}", &expected.git_tag);
    let commit = if file_changes.is_empty() {
        git.head_commit()?.ok_or_else(|| {
            Error::Git(slipway_git::Error::Failed {
                command: "rev-parse HEAD".to_owned(),
                directory: directory.path.clone(),
                stderr: "the repository has no commits to tag".to_owned(),
            })
        })?
    } else {
        match git.commit_paths(&report.files, &message) {
            Ok(commit) => {
                report.commit = Some(commit.clone());
                commit
            }
            Err(error) => {
                write::restore(&directory.path, &staging, &disk_changes)?;
                report.written = false;
                return Err(error.into());
            }
        }
    };
    if options.tag {
        git.create_tag(&expected.git_tag, &commit, &message)?;
        report.tag = Some(expected.git_tag);
    }
    Ok(report)
}

fn collect_edits(references: &[Reference]) -> (Vec<Edit>, Vec<Change>) {
    let mut edits: Vec<Edit> = Vec::new();
    let mut seen: HashSet<(&str, usize, usize)> = HashSet::new();
    let mut changes = Vec::new();
    for reference in references {
        let Fix::Edits(reference_edits) = &reference.fix else {
            continue;
        };
        let mut new = false;
        for edit in reference_edits {
            if seen.insert((edit.file.as_str(), edit.range.start, edit.range.end)) {
                edits.push(edit.clone());
                new = true;
            }
        }
        if new {
            let drops_digest = reference.found.contains('@') || reference_edits.len() > 1;
            changes.push(Change {
                kind: reference.kind,
                file: reference.file.clone(),
                line: reference.line,
                from: reference.found.clone(),
                to: reference.expected.clone(),
                note: drops_digest.then(|| {
                    "dropped the digest pin of the old release; pin the new image's digest once it is pushed".to_owned()
                }),
            });
        }
    }
    (edits, changes)
}

/// Applies the edits to each file's text, giving the changed files and each one's diff.
fn apply_edits(analysis: &Analysis, edits: &[Edit]) -> Result<(Vec<FileChange>, Vec<String>), Error> {
    let mut by_file: BTreeMap<&str, Vec<&Edit>> = BTreeMap::new();
    for edit in edits {
        by_file.entry(edit.file.as_str()).or_default().push(edit);
    }
    let mut changes = Vec::new();
    let mut diffs = Vec::new();
    for (file, mut file_edits) in by_file {
        let before = analysis.files.get(file).unwrap_or_default().to_owned();
        file_edits.sort_by_key(|edit| (edit.range.start, edit.range.end));
        let mut after = String::with_capacity(before.len());
        let mut position = 0;
        for edit in &file_edits {
            if edit.range.start < position || before.get(edit.range.clone()).is_none() {
                let line = before[..edit.range.start.min(before.len())].matches('\n').count() + 1;
                return Err(Error::NotEditable {
                    file: file.to_owned(),
                    line,
                    reason: "two references overlap in the text".to_owned(),
                });
            }
            after.push_str(&before[position..edit.range.start]);
            after.push_str(&edit.replacement);
            position = edit.range.end;
        }
        after.push_str(&before[position..]);
        if after != before {
            diffs.push(diff::unified(file, &before, &file_edits));
            changes.push(FileChange { path: file.to_owned(), before, after });
        }
    }
    Ok((changes, diffs))
}
