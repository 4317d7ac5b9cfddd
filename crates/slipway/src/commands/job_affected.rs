//! `slipway job affected`: the presubmits the working tree's change triggers, by Prow's rules.

use std::io::Write;
use std::path::Path;

use serde::Serialize;
use slipway_core::exit;
use slipway_prow::JobType;
use slipway_prow::affected::Verdict;

use crate::cli::Format;
use crate::cli_jobs::JobAffectedArgs;
use crate::config_file::Globals;
use crate::errors::UsageError;
use crate::output;
use crate::settings_jobs;

/// What a change triggers.
#[derive(Debug, Serialize)]
pub(super) struct Found {
    /// `org/repo` whose presubmits apply.
    pub(super) repository: String,
    /// The base as resolved (`origin/master`).
    #[serde(rename = "base")]
    pub(super) base_name: String,
    /// The branch name Prow would see (`master`).
    pub(super) branch: String,
    pub(super) base_commit: String,
    pub(super) merge_base: String,
    /// Every changed path, relative to the repository's top level.
    #[serde(rename = "changed")]
    pub(super) paths: Vec<String>,
    /// One verdict per presubmit of the repository, in file order.
    #[serde(rename = "presubmits")]
    pub(super) verdicts: Vec<Verdict>,
}

pub(super) fn run(args: JobAffectedArgs, globals: &Globals) -> anyhow::Result<u8> {
    let JobAffectedArgs { base, repository, all, prow, format } = args;
    let settings = settings_jobs::affected(globals, prow.paths, repository)?;
    super::warn(&settings.warnings);
    // When the repository is known, only its presubmits are parsed.
    let config = match &settings.repository {
        Some(repository) => slipway_prow::load_presubmits_of(&settings.prow_paths, &org_repo(repository))?,
        None => slipway_prow::load(&settings.prow_paths)?,
    };
    super::warn(&crate::warnings::duplicate_keys(&config));
    let found = find(&settings.project, settings.repository.as_deref(), &config, base.as_deref())?;
    let mut stdout = crate::output::stdout();
    match format {
        Format::Json => output::json_with_schema(&mut stdout, slipway_prow::affected::SCHEMA, &found)?,
        Format::Text => {
            let short: String = found.merge_base.chars().take(12).collect();
            writeln!(
                stdout,
                "{}: {} changed path{} against {} (merge base {short})",
                found.repository,
                found.paths.len(),
                if found.paths.len() == 1 { "" } else { "s" },
                found.base_name
            )?;
            let (triggered, rest): (Vec<&Verdict>, Vec<&Verdict>) =
                found.verdicts.iter().partition(|verdict| verdict.triggered);
            let width = found.verdicts.iter().map(|verdict| verdict.name.len()).max().unwrap_or(0);
            let hint = if all || rest.is_empty() { "" } else { " (--all says why the others are not)" };
            writeln!(stdout, "triggered: {} of {} presubmits{hint}", triggered.len(), found.verdicts.len())?;
            for verdict in &triggered {
                writeln!(stdout, "  {:<width$}  {}", verdict.name, verdict.reason)?;
            }
            if all && !rest.is_empty() {
                writeln!(stdout, "not triggered: {}", rest.len())?;
                for verdict in &rest {
                    writeln!(stdout, "  {:<width$}  {}", verdict.name, verdict.reason)?;
                }
            }
        }
    }
    Ok(exit::SUCCESS)
}

/// Works out the repository, the base and the changed paths, and applies Prow's rules.
pub(super) fn find(
    project: &Path,
    repository: Option<&str>,
    config: &slipway_prow::ProwConfig,
    base: Option<&str>,
) -> anyhow::Result<Found> {
    let git = slipway_git::Git::discover(project)?.ok_or_else(|| {
        UsageError(format!("{} is not in a git repository; `job affected` compares git revisions", project.display()))
    })?;
    let repository = choose_repository(repository, config, &git)?;
    let base_name = match base {
        Some(base) => base.to_owned(),
        None => git.default_branch()?.ok_or_else(|| {
            UsageError(
                "cannot tell the repository's default branch (no origin/HEAD, main or master); give --base".to_owned(),
            )
        })?,
    };
    let (branch, found) = git.find_base(&base_name)?.ok_or_else(|| {
        UsageError(format!(
            "no branch, tag or commit `{base_name}` here; fetch it (git fetch origin {base_name}) or give another --base"
        ))
    })?;
    let merge_base = git.merge_base(&found.commit, "HEAD")?.ok_or_else(|| {
        UsageError(format!(
            "`{base_name}` and HEAD share no history; give the branch the change is against with --base"
        ))
    })?;
    let excluded: Vec<String> = [".slipway".to_owned()].into();
    let changes = git.changes_since(&merge_base, &excluded)?;
    let mut paths = changes.changed;
    paths.extend(changes.untracked);
    paths.sort();
    paths.dedup();
    let verdicts = slipway_prow::affected::affected(&config.jobs, &repository, &branch, &paths);
    let shown = found.reference.strip_prefix("refs/remotes/").or_else(|| found.reference.strip_prefix("refs/heads/"));
    Ok(Found {
        repository,
        base_name: shown.map_or(base_name, str::to_owned),
        branch,
        base_commit: found.commit,
        merge_base,
        paths,
        verdicts,
    })
}

/// The repository whose presubmits apply: `--repository` or `project.repository`, else the only
/// one the config has presubmits for, else the one a remote (`upstream`, then `origin`) names,
/// else the one whose name is the checkout's directory name.
fn choose_repository(
    given: Option<&str>,
    config: &slipway_prow::ProwConfig,
    git: &slipway_git::Git,
) -> anyhow::Result<String> {
    let mut repositories: Vec<&str> = config
        .jobs
        .iter()
        .filter(|job| job.job_type == JobType::Presubmit)
        .filter_map(|job| job.repo.as_deref())
        .collect();
    repositories.sort_unstable();
    repositories.dedup();
    if let Some(given) = given {
        let given = org_repo(given);
        if !repositories.contains(&given.as_str()) {
            let others = if repositories.is_empty() {
                String::new()
            } else {
                format!("; it has them for {}", listed(&repositories))
            };
            return Err(UsageError(format!(
                "the Prow config has no presubmits for `{given}`{others} (the repository comes from --repository or project.repository)"
            ))
            .into());
        }
        return Ok(given);
    }
    match repositories.as_slice() {
        [] => return Err(UsageError("the Prow config has no presubmits".to_owned()).into()),
        [one] => return Ok((*one).to_owned()),
        _ => {}
    }
    for remote in ["upstream", "origin"] {
        if let Some(url) = git.remote_url(remote)?
            && let Some(named) = slipway_git::web_url(&url).map(|web| org_repo(&web))
            && repositories.contains(&named.as_str())
        {
            return Ok(named);
        }
    }
    let directory = git.toplevel().file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    let by_name: Vec<&&str> =
        repositories.iter().filter(|repository| repository.rsplit('/').next() == Some(directory.as_str())).collect();
    if let [one] = by_name.as_slice() {
        return Ok((**one).to_owned());
    }
    Err(UsageError(format!(
        "the Prow config has presubmits for {}; say which with --repository ORG/REPO (or project.repository)",
        listed(&repositories)
    ))
    .into())
}

/// `org/repo` from `org/repo`, `github.com/org/repo` or `https://github.com/org/repo(.git)`.
pub(super) fn org_repo(text: &str) -> String {
    let trimmed = text.trim().trim_end_matches('/').trim_end_matches(".git");
    let parts: Vec<&str> = trimmed.rsplit('/').take(2).collect();
    match parts.as_slice() {
        [repo, org] => format!("{org}/{repo}"),
        _ => trimmed.to_owned(),
    }
}

fn listed(repositories: &[&str]) -> String {
    const SHOWN: usize = 10;
    let mut text = repositories.iter().take(SHOWN).copied().collect::<Vec<_>>().join(", ");
    if repositories.len() > SHOWN {
        text.push_str(&format!(" and {} more", repositories.len() - SHOWN));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repositories_are_read_in_every_spelling() {
        for text in [
            "kubernetes-sigs/descheduler",
            "github.com/kubernetes-sigs/descheduler",
            "https://github.com/kubernetes-sigs/descheduler.git",
            "https://github.com/kubernetes-sigs/descheduler/",
        ] {
            assert_eq!(org_repo(text), "kubernetes-sigs/descheduler", "{text}");
        }
    }
}
