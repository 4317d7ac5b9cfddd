//! The code a run works on: the job's own repository (pre- and postsubmits) and its
//! `extra_refs`, cloned into `<workspace>/src/<path>` as Prow's clonerefs does.
//!
//! A ref is cloned from `--ref ORG/REPO=PATH_OR_URL`, else its `clone_uri`, else GitHub. A local
//! working tree is used as it is: its `HEAD`, plus every file that differs from it (staged or
//! not, deleted, untracked and not ignored), copied without touching its index or stash. Its
//! base ref is then only what the run reports (`PULL_BASE_REF`, `PULL_BASE_SHA`). Anything
//! else is cloned at the base ref: a local branch, else a remote-tracking branch (a clone has
//! its release branches only as `origin/*`), else a tag. A ref without a base ref (a presubmit
//! without `branches`) takes the repository's default branch.

mod source;
mod working_tree;

use std::path::{Path, PathBuf};

use slipway_git::Git;

use crate::job::Job;
use crate::runner::{Overrides, RunError};
use crate::spec::RefSpec;
use source::{Source, Unusable};

/// One ref, checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Checkout {
    /// `org/repo`.
    pub key: String,
    /// The base ref it resolved to (`release-1.36`).
    pub base_ref: String,
    /// The commit of the base ref.
    pub base_sha: String,
    /// The commit checked out: the base's, or a working tree's `HEAD`.
    pub head: String,
    /// Set when a local working tree was used as it is.
    pub working_tree: Option<WorkingTree>,
    /// What people should know about this checkout.
    pub notes: Vec<String>,
}

/// A working tree used as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WorkingTree {
    pub path: PathBuf,
    /// How many files differ from `HEAD` (changed, deleted or untracked).
    pub differs: usize,
}

impl Checkout {
    /// started.json's `repos` value, as Prow's `Refs.String()`: `base_ref:base_sha`.
    pub(crate) fn refs(&self) -> String {
        format!("{}:{}", self.base_ref, self.base_sha)
    }

    /// What was tested, for the run's record: the commit, and the working tree when files
    /// differed from it.
    pub(crate) fn revision(&self) -> String {
        match &self.working_tree {
            Some(tree) if tree.differs > 0 => {
                format!("{} + {} uncommitted files of {}", self.head, tree.differs, tree.path.display())
            }
            _ => self.head.clone(),
        }
    }
}

/// The job's own repository, for presubmits and postsubmits imported from Prow. Its base ref
/// is `--base-ref`, else the first branch the job names literally, else `None` (the default
/// branch of the repository, found when it is checked out).
pub(crate) fn primary_ref(job: &Job, kind: &str, overrides: &Overrides) -> Option<RefSpec> {
    if kind == "periodic" {
        return None;
    }
    let prow = job.spec.prow.as_ref()?;
    let (org, repo) = prow.get("repo")?.as_str()?.split_once('/')?;
    let first_branch = branch_patterns(job, "branches").into_iter().find_map(|pattern| literal_branch(&pattern));
    Some(RefSpec {
        org: org.to_owned(),
        repo: repo.to_owned(),
        base_ref: overrides.base_ref.clone().or(first_branch),
        path_alias: prow.get("path_alias").and_then(|alias| alias.as_str()).map(str::to_owned),
        workdir: !job.extra_refs.iter().any(|reference| reference.workdir),
        clone_uri: prow.get("clone_uri").and_then(|uri| uri.as_str()).map(str::to_owned),
    })
}

fn branch_patterns(job: &Job, key: &str) -> Vec<String> {
    job.spec
        .prow
        .as_ref()
        .and_then(|prow| prow.get(key))
        .and_then(|branches| branches.as_array())
        .map(|branches| branches.iter().filter_map(|branch| branch.as_str()).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// `^release-1.36$` is the branch `release-1.36`; a pattern with other regex syntax is not one
/// branch.
fn literal_branch(pattern: &str) -> Option<String> {
    let inner = pattern.trim_start_matches('^').trim_end_matches('$');
    let literal = inner.replace(r"\.", ".");
    literal.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '/' | '.')).then_some(literal)
}

/// Whether Prow would run the job on `branch`: `skip_branches` and `branches` are each joined
/// with `|` and matched unanchored, as Prow's `Brancher.ShouldRun` does; `None` when a pattern
/// does not compile.
fn runs_on(job: &Job, branch: &str) -> Option<bool> {
    let matches = |patterns: &[String]| -> Option<bool> {
        Some(!patterns.is_empty() && regex::Regex::new(&patterns.join("|")).ok()?.is_match(branch))
    };
    let (branches, skipped) = (branch_patterns(job, "branches"), branch_patterns(job, "skip_branches"));
    Some((branches.is_empty() || matches(&branches)?) && !matches(&skipped)?)
}

/// Clones each ref into `workspace/src/<path>`, filling in each ref's base ref where it had
/// none. `excluded` are directories never copied from a working tree (slipway's own state).
pub(crate) async fn checkout(
    job: &Job,
    refs: &mut [RefSpec],
    workspace: &Path,
    overrides: &Overrides,
    excluded: &[PathBuf],
) -> Result<Vec<Checkout>, RunError> {
    let mut checkouts = Vec::new();
    for (index, reference) in refs.iter_mut().enumerate() {
        let key = format!("{}/{}", reference.org, reference.repo);
        let source = overrides
            .refs
            .get(&key)
            .cloned()
            .or_else(|| reference.clone_uri.clone())
            .unwrap_or_else(|| format!("https://github.com/{key}"));
        let destination = workspace.join("src").join(reference.checkout_path());
        if let Some(parent) = destination.parent() {
            crate::runner::create_dir(&job.name, parent)?;
        }
        let task = Task {
            job: job.name.clone(),
            key,
            source,
            base_ref: reference.base_ref.clone(),
            destination,
            excluded: excluded.to_vec(),
            from_flag: overrides.refs.contains_key(&format!("{}/{}", reference.org, reference.repo)),
        };
        let mut done = tokio::task::spawn_blocking(move || task.run())
            .await
            .map_err(|error| RunError::Checkout(Box::new(CheckoutError::internal(&job.name, error.to_string()))))??;
        if index == 0
            && reference.base_ref.is_none()
            && let Some(false) = runs_on(job, &done.base_ref)
        {
            done.notes.push(format!(
                "`{}`'s default branch `{}` is not one the job runs on (its branches and skip_branches); choose one with --base-ref",
                done.key, done.base_ref
            ));
        }
        reference.base_ref = Some(done.base_ref.clone());
        checkouts.push(done);
    }
    Ok(checkouts)
}

/// Why a ref could not be checked out: the repository, the ref tried, where from, why, and what
/// to do about it.
#[derive(Debug, thiserror::Error)]
#[error("job `{job}`: could not check out `{repository}`{} from `{source_text}`: {reason}; {hint}", tried.as_ref().map(|tried| format!(" at `{tried}`")).unwrap_or_default())]
pub struct CheckoutError {
    pub job: String,
    pub repository: String,
    pub source_text: String,
    pub tried: Option<String>,
    pub reason: String,
    pub hint: String,
    /// The user's input is wrong (a missing directory or branch), not the environment.
    pub input: bool,
}

impl CheckoutError {
    fn internal(job: &str, reason: String) -> CheckoutError {
        CheckoutError {
            job: job.to_owned(),
            repository: String::new(),
            source_text: String::new(),
            tried: None,
            reason,
            hint: "this is a bug in slipway".to_owned(),
            input: false,
        }
    }
}

/// One ref to check out, owned, so it can run on a blocking thread.
struct Task {
    job: String,
    key: String,
    source: String,
    base_ref: Option<String>,
    destination: PathBuf,
    excluded: Vec<PathBuf>,
    /// The source came from `--ref`.
    from_flag: bool,
}

impl Task {
    fn run(self) -> Result<Checkout, RunError> {
        let source = Source::of(&self.source).map_err(|unusable| match unusable {
            Unusable::Input(reason) => {
                self.fail(None, reason, format!("give a repository with --ref {}=PATH_OR_URL", self.key), true)
            }
            Unusable::Git(error) => self.git_failed(None, &error),
        })?;
        match source {
            Source::WorkingTree(git) => self.working_tree(&git),
            Source::Bare(git) => {
                let (base_ref, found) = self.resolve(&git, true)?;
                let clone = slipway_git::clone_without_checkout(&self.source, &self.destination)
                    .map_err(|error| self.git_failed(Some(&base_ref), &error))?;
                self.check_out_base(&clone, &base_ref, &found.reference, &found.commit)?;
                Ok(self.done(base_ref, found.commit.clone(), found.commit, None))
            }
            Source::Remote(url) => {
                let clone = slipway_git::clone_without_checkout(&url, &self.destination).map_err(|error| {
                    let hint = if self.from_flag {
                        format!("check the address, or give a local clone with --ref {}=PATH", self.key)
                    } else {
                        format!("clone it from a local repository with --ref {}=PATH", self.key)
                    };
                    self.fail(self.base_ref.clone(), git_reason(&error), hint, false)
                })?;
                let (base_ref, found) = self.resolve(&clone, false)?;
                self.check_out_base(&clone, &base_ref, &found.reference, &found.commit)?;
                Ok(self.done(base_ref, found.commit.clone(), found.commit, None))
            }
        }
    }

    /// The base ref's name and commit in `git`: the ref given, else the default branch.
    /// `local` is the repository the user has (the source itself, not a fresh clone of it).
    fn resolve(&self, git: &Git, local: bool) -> Result<(String, slipway_git::FoundRef), RunError> {
        let base_ref = match &self.base_ref {
            Some(base_ref) => base_ref.clone(),
            None => git.default_branch().map_err(|error| self.git_failed(None, &error))?.ok_or_else(|| {
                self.fail(
                    None,
                    "its default branch cannot be told (no origin/HEAD, no main or master)".to_owned(),
                    "name the branch with --base-ref".to_owned(),
                    true,
                )
            })?,
        };
        let found = git.find_ref(&base_ref).map_err(|error| self.git_failed(Some(&base_ref), &error))?;
        let found = found.ok_or_else(|| {
            let (reason, hint) = match (&self.base_ref, local) {
                (Some(_), true) => (
                    format!(
                        "there is no branch or tag `{base_ref}` there (local, remote-tracking such as origin/{base_ref}, or tag)"
                    ),
                    format!(
                        "fetch it (git -C {} fetch origin {base_ref}), or run against another branch with --base-ref BRANCH",
                        git.toplevel().display()
                    ),
                ),
                (Some(_), false) => (
                    format!("the repository has no branch or tag `{base_ref}`"),
                    "run against a branch it has with --base-ref BRANCH".to_owned(),
                ),
                (None, _) => (
                    format!("its default branch `{base_ref}` has no commit here"),
                    "fetch it, or name a branch with --base-ref".to_owned(),
                ),
            };
            self.fail(Some(base_ref.clone()), reason, hint, true)
        })?;
        Ok((base_ref, found))
    }

    fn check_out_base(&self, clone: &Git, base_ref: &str, reference: &str, commit: &str) -> Result<(), RunError> {
        let branch = (!reference.starts_with("refs/tags/")).then_some(base_ref);
        clone.check_out(commit, branch).map_err(|error| self.git_failed(Some(base_ref), &error))
    }

    /// A working tree, as it is: cloned at its `HEAD`, then what differs copied over.
    fn working_tree(&self, git: &Git) -> Result<Checkout, RunError> {
        let (base_ref, found) = self.resolve(git, true)?;
        let root = git.toplevel().to_path_buf();
        let head = git.head_commit().map_err(|error| self.git_failed(Some(&base_ref), &error))?.ok_or_else(|| {
            self.fail(
                None,
                format!("`{}` has no commit yet", root.display()),
                "commit something first".to_owned(),
                true,
            )
        })?;
        let excluded: Vec<String> = self
            .excluded
            .iter()
            .filter_map(|path| {
                let path = fs_err::canonicalize(path).unwrap_or_else(|_| path.clone());
                path.strip_prefix(&root).ok().map(|inside| inside.display().to_string())
            })
            .filter(|inside| !inside.is_empty())
            .collect();
        let changes = git.working_changes(&excluded).map_err(|error| self.git_failed(Some(&base_ref), &error))?;
        let root_text = root.display().to_string();
        let clone = slipway_git::clone_without_checkout(&root_text, &self.destination)
            .map_err(|error| self.git_failed(Some(&base_ref), &error))?;
        let branch = git.current_branch().map_err(|error| self.git_failed(Some(&base_ref), &error))?;
        clone.check_out(&head, branch.as_deref()).map_err(|error| self.git_failed(Some(&base_ref), &error))?;
        if branch.as_deref() != Some(base_ref.as_str()) && !found.reference.starts_with("refs/tags/") {
            // The base is there by its name, as in Prow's clone: `git diff release-1.36` works.
            clone.set_branch(&base_ref, &found.commit).map_err(|error| self.git_failed(Some(&base_ref), &error))?;
        }
        let overlay = working_tree::overlay(&root, &self.destination, &changes).map_err(|error| {
            self.fail(
                Some(base_ref.clone()),
                format!("copying the working tree failed: {error}"),
                "check the disk".to_owned(),
                false,
            )
        })?;
        let differs = changes.changed.len() + changes.untracked.len() - overlay.skipped.len();
        let mut checkout = self.done(
            base_ref.clone(),
            found.commit.clone(),
            head.clone(),
            Some(WorkingTree { path: root.clone(), differs }),
        );
        let short = |commit: &str| commit.chars().take(12).collect::<String>();
        checkout.notes.push(format!(
            "{}: the working tree of {} as it is (HEAD {}{}, {} changed and {} untracked files), against `{}` ({} at {})",
            self.key,
            root.display(),
            short(&head),
            branch.map(|branch| format!(" on {branch}")).unwrap_or_default(),
            changes.changed.len(),
            changes.untracked.len(),
            base_ref,
            found.reference.trim_start_matches("refs/").trim_start_matches("heads/").trim_start_matches("remotes/"),
            short(&found.commit),
        ));
        checkout.notes.extend(
            overlay.skipped.iter().map(|(path, reason)| format!("{}: `{path}` not copied: {reason}", self.key)),
        );
        Ok(checkout)
    }

    fn done(&self, base_ref: String, base_sha: String, head: String, working_tree: Option<WorkingTree>) -> Checkout {
        Checkout { key: self.key.clone(), base_ref, base_sha, head, working_tree, notes: Vec::new() }
    }

    fn fail(&self, tried: Option<String>, reason: String, hint: String, input: bool) -> RunError {
        RunError::Checkout(Box::new(CheckoutError {
            job: self.job.clone(),
            repository: self.key.clone(),
            source_text: slipway_core::redact::urls(&self.source),
            tried,
            reason,
            hint,
            input,
        }))
    }

    fn git_failed(&self, tried: Option<&str>, error: &slipway_git::Error) -> RunError {
        self.fail(
            tried.map(str::to_owned),
            git_reason(error),
            format!("point it elsewhere with --ref {}=PATH_OR_URL", self.key),
            false,
        )
    }
}

/// What git said, in one line: its `fatal:` and `error:` lines (all of it when there are
/// none), without git's advice paragraphs.
fn git_reason(error: &slipway_git::Error) -> String {
    let slipway_git::Error::Failed { command, stderr, .. } = error else {
        return error.to_string();
    };
    let said: Vec<&str> = stderr
        .lines()
        .filter_map(|line| line.strip_prefix("fatal: ").or_else(|| line.strip_prefix("error: ")))
        .map(|line| line.trim_end_matches('.'))
        .collect();
    let said =
        if said.is_empty() { stderr.lines().map(str::trim).filter(|line| !line.is_empty()).collect() } else { said };
    format!("`git {command}` failed: {}", said.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_branches() {
        assert_eq!(literal_branch(r"^release-1\.36$").as_deref(), Some("release-1.36"));
        assert_eq!(literal_branch("master").as_deref(), Some("master"));
        assert_eq!(literal_branch(r"^v\d+\.\d+\.\d+$"), None);
    }
}
