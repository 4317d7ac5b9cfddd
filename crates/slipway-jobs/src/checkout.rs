//! The code a run works on: the job's own repository (pre- and postsubmits) and its
//! `extra_refs`, cloned into `<workspace>/src/<path>` as Prow's clonerefs does.

use std::path::Path;

use crate::job::Job;
use crate::runner::{Overrides, RunError};
use crate::spec::RefSpec;

/// The job's own repository, for presubmits and postsubmits imported from Prow.
pub(crate) fn primary_ref(job: &Job, kind: &str, overrides: &Overrides) -> Option<RefSpec> {
    if kind == "periodic" {
        return None;
    }
    let prow = job.spec.prow.as_ref()?;
    let (org, repo) = prow.get("repo")?.as_str()?.split_once('/')?;
    let first_branch = prow
        .get("branches")
        .and_then(|branches| branches.as_array())
        .and_then(|branches| branches.iter().filter_map(|branch| branch.as_str()).find_map(literal_branch));
    Some(RefSpec {
        org: org.to_owned(),
        repo: repo.to_owned(),
        base_ref: overrides.base_ref.clone().or(first_branch).or_else(|| Some("main".to_owned())),
        path_alias: prow.get("path_alias").and_then(|alias| alias.as_str()).map(str::to_owned),
        workdir: !job.extra_refs.iter().any(|reference| reference.workdir),
        clone_uri: prow.get("clone_uri").and_then(|uri| uri.as_str()).map(str::to_owned),
    })
}

/// `^release-1.36$` is the branch `release-1.36`; a pattern with other regex syntax is not one
/// branch.
fn literal_branch(pattern: &str) -> Option<String> {
    let inner = pattern.trim_start_matches('^').trim_end_matches('$');
    let literal = inner.replace(r"\.", ".");
    literal.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '/' | '.')).then_some(literal)
}

/// Clones each ref into `workspace/src/<path>`; returns `("org/repo", "base_ref:sha")`-style
/// entries for started.json (key, then the commit).
pub(crate) async fn checkout(
    job: &Job,
    refs: &[RefSpec],
    workspace: &Path,
    overrides: &Overrides,
) -> Result<Vec<(String, String)>, RunError> {
    let mut checkouts = Vec::new();
    for reference in refs {
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
        let failed = |reason: String| RunError::Checkout {
            job: job.name.clone(),
            reference: format!("{key} from {source}"),
            reason: format!("{reason} (point it elsewhere with --ref {key}=PATH_OR_URL)"),
        };
        let mut clone = tokio::process::Command::new("git");
        clone.args(["clone", "--quiet", "--no-hardlinks"]);
        if let Some(base_ref) = &reference.base_ref {
            clone.args(["--branch", base_ref]);
        }
        clone.arg(&source).arg(&destination);
        let output = clone.output().await.map_err(|error| failed(format!("cannot run git: {error}")))?;
        if !output.status.success() {
            return Err(failed(String::from_utf8_lossy(&output.stderr).trim().to_owned()));
        }
        let head = tokio::process::Command::new("git")
            .arg("-C")
            .arg(&destination)
            .args(["rev-parse", "HEAD"])
            .output()
            .await
            .map_err(|error| failed(format!("cannot run git: {error}")))?;
        let sha = String::from_utf8_lossy(&head.stdout).trim().to_owned();
        checkouts.push((key, sha));
    }
    Ok(checkouts)
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
