//! Which presubmits a change triggers, by Prow's rules (`Presubmit.ShouldRun` in
//! prow/pkg/config/jobs.go), as the trigger plugin applies them when a pull request is opened or
//! pushed to:
//!
//! 1. The job must run on the base branch: a `skip_branches` regex matching it excludes the job;
//!    otherwise an empty `branches`, or one of its regexes matching, includes it. Prow joins each
//!    list with `|` and matches unanchored (`master` matches `release-master` too).
//! 2. `always_run: true` runs it.
//! 3. `run_if_changed` runs it when any changed path matches; `skip_if_only_changed` runs it
//!    when any changed path does not match. Both match unanchored; no changed path runs neither.
//! 4. Anything else runs only when asked for (`/test NAME`).
//!
//! Each distinct pattern is compiled once and every path is matched against all of them in one
//! pass (a [`regex::RegexSet`]), so thousands of jobs over thousands of paths stay fast.

use std::collections::BTreeMap;

use regex::{Regex, RegexSet};
use serde::Serialize;
use serde_json::Value;

use crate::brancher::Brancher;
use crate::load::{JobType, Location, ProwJob};

/// The JSON schema of `slipway job affected`: `{repository, base, branch, base_commit,
/// merge_base, changed: [path], presubmits: [Verdict]}`.
pub const SCHEMA: &str = "slipway.job.affected/v1";

/// Why a presubmit is or is not triggered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Reason {
    /// `always_run: true`.
    AlwaysRun,
    /// `run_if_changed`: the first path that matches, if any.
    RunIfChanged { pattern: String, matched: Option<String> },
    /// `skip_if_only_changed`: the first path that does not match, if any.
    SkipIfOnlyChanged { pattern: String, unmatched: Option<String> },
    /// The base branch is not one the job runs on.
    Branch { branch: String },
    /// No automatic trigger: it runs on `/test NAME` only.
    Manual,
    /// A regex of the job does not compile, so Prow would refuse the config.
    InvalidPattern { field: String, message: String },
}

impl std::fmt::Display for Reason {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::AlwaysRun => formatter.write_str("always_run"),
            Reason::RunIfChanged { pattern, matched: Some(path) } => {
                write!(formatter, "run_if_changed `{pattern}` matches {path}")
            }
            Reason::RunIfChanged { pattern, matched: None } => {
                write!(formatter, "run_if_changed `{pattern}` matches no changed path")
            }
            Reason::SkipIfOnlyChanged { pattern, unmatched: Some(path) } => {
                write!(formatter, "skip_if_only_changed `{pattern}` does not match {path}")
            }
            Reason::SkipIfOnlyChanged { pattern, unmatched: None } => {
                write!(formatter, "skip_if_only_changed `{pattern}` matches every changed path")
            }
            Reason::Branch { branch } => {
                write!(formatter, "does not run on branch `{branch}` (branches, skip_branches)")
            }
            Reason::Manual => {
                formatter.write_str("no always_run, run_if_changed or skip_if_only_changed: runs on /test only")
            }
            Reason::InvalidPattern { field, message } => write!(formatter, "`{field}` is not a valid regex: {message}"),
        }
    }
}

/// One presubmit's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub name: String,
    /// `file:line` of the job.
    #[serde(serialize_with = "location_text")]
    pub location: Location,
    pub triggered: bool,
    pub reason: Reason,
}

fn location_text<S: serde::Serializer>(location: &Location, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&location.to_string())
}

/// The verdict on every presubmit of `repo` among `jobs`, for a change of `paths` against
/// `branch`, in the order of `jobs`.
pub fn affected(jobs: &[ProwJob], repo: &str, branch: &str, paths: &[String]) -> Vec<Verdict> {
    let presubmits: Vec<&ProwJob> =
        jobs.iter().filter(|job| job.job_type == JobType::Presubmit && job.repo.as_deref() == Some(repo)).collect();
    let matcher = Matcher::new(&presubmits, paths);
    presubmits
        .iter()
        .map(|job| {
            let reason = decide(job, branch, &matcher);
            let triggered = matches!(
                &reason,
                Reason::AlwaysRun
                    | Reason::RunIfChanged { matched: Some(_), .. }
                    | Reason::SkipIfOnlyChanged { unmatched: Some(_), .. }
            );
            Verdict { name: job.name.clone(), location: job.location.clone(), triggered, reason }
        })
        .collect()
}

fn decide(job: &ProwJob, branch: &str, matcher: &Matcher) -> Reason {
    if !Brancher::of(job).should_run(branch) {
        return Reason::Branch { branch: branch.to_owned() };
    }
    if job.fields.get("always_run").and_then(Value::as_bool) == Some(true) {
        return Reason::AlwaysRun;
    }
    if let Some(pattern) = text(job, "run_if_changed") {
        return match matcher.first(pattern, true) {
            Ok(matched) => Reason::RunIfChanged { pattern: pattern.to_owned(), matched },
            Err(message) => Reason::InvalidPattern { field: "run_if_changed".to_owned(), message },
        };
    }
    if let Some(pattern) = text(job, "skip_if_only_changed") {
        return match matcher.first(pattern, false) {
            Ok(unmatched) => Reason::SkipIfOnlyChanged { pattern: pattern.to_owned(), unmatched },
            Err(message) => Reason::InvalidPattern { field: "skip_if_only_changed".to_owned(), message },
        };
    }
    Reason::Manual
}

fn text<'a>(job: &'a ProwJob, field: &str) -> Option<&'a str> {
    job.fields.get(field).and_then(Value::as_str).filter(|pattern| !pattern.is_empty())
}

fn first_line(text: &str) -> String {
    text.lines().map(str::trim).filter(|line| !line.is_empty()).collect::<Vec<_>>().join(" ")
}

/// The first path a pattern matches and the first it does not (indexes into the paths).
type Firsts = (Option<usize>, Option<usize>);

/// Every distinct change pattern, matched against every path once.
struct Matcher<'a> {
    paths: &'a [String],
    /// Pattern → (first path that matches, first path that does not), or why it does not compile.
    results: BTreeMap<String, Result<Firsts, String>>,
}

impl<'a> Matcher<'a> {
    fn new(jobs: &[&ProwJob], paths: &'a [String]) -> Matcher<'a> {
        let mut results = BTreeMap::new();
        let mut valid = Vec::new();
        for job in jobs {
            for field in ["run_if_changed", "skip_if_only_changed"] {
                if let Some(pattern) = text(job, field)
                    && !results.contains_key(pattern)
                {
                    match Regex::new(pattern) {
                        Ok(_) => {
                            results.insert(pattern.to_owned(), Ok((None, None)));
                            valid.push(pattern.to_owned());
                        }
                        Err(error) => {
                            results.insert(pattern.to_owned(), Err(first_line(&error.to_string())));
                        }
                    }
                }
            }
        }
        let mut found = vec![(None, None); valid.len()];
        match RegexSet::new(&valid) {
            Ok(set) => {
                for (index, path) in paths.iter().enumerate() {
                    let matched = set.matches(path);
                    for (pattern, slot) in found.iter_mut().enumerate() {
                        let side = if matched.matched(pattern) { &mut slot.0 } else { &mut slot.1 };
                        side.get_or_insert(index);
                    }
                }
            }
            // Too many patterns for one set: one at a time.
            Err(_) => {
                for (pattern, slot) in valid.iter().zip(found.iter_mut()) {
                    let regex = Regex::new(pattern).expect("compiled above");
                    slot.0 = paths.iter().position(|path| regex.is_match(path));
                    slot.1 = paths.iter().position(|path| !regex.is_match(path));
                }
            }
        }
        for (pattern, slot) in valid.into_iter().zip(found) {
            results.insert(pattern, Ok(slot));
        }
        Matcher { paths, results }
    }

    /// The first path that matches `pattern` (`matching`) or does not.
    fn first(&self, pattern: &str, matching: bool) -> Result<Option<String>, String> {
        let (matched, unmatched) = self.results.get(pattern).cloned().unwrap_or(Ok((None, None)))?;
        let index = if matching { matched } else { unmatched };
        Ok(index.map(|index| self.paths[index].clone()))
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::load::{ProwConfig, read_text};

    fn presubmits(yaml: &str) -> Vec<ProwJob> {
        let mut config = ProwConfig::default();
        read_text(Path::new("jobs.yaml"), &format!("presubmits:\n  org/repo:\n{yaml}"), &mut config).expect("valid");
        config.jobs
    }

    fn verdicts(jobs: &[ProwJob], branch: &str, paths: &[&str]) -> Vec<(String, bool, String)> {
        let paths: Vec<String> = paths.iter().map(|path| (*path).to_owned()).collect();
        affected(jobs, "org/repo", branch, &paths)
            .into_iter()
            .map(|verdict| (verdict.name, verdict.triggered, verdict.reason.to_string()))
            .collect()
    }

    const JOBS: &str = "  - {name: always, always_run: true}
  - {name: go, run_if_changed: '\\.go$'}
  - {name: docs-only-skips, skip_if_only_changed: '^docs/|\\.md$'}
  - {name: manual}
  - {name: release-only, always_run: true, branches: ['^release-.*$']}
  - {name: not-on-master, always_run: true, skip_branches: [master]}
  - {name: broken, run_if_changed: '(unclosed'}
";

    #[test]
    fn prow_rules_say_which_run_and_why() {
        let jobs = presubmits(JOBS);
        let go = verdicts(&jobs, "master", &["docs/a.md", "pkg/x.go"]);
        assert_eq!(
            go,
            [
                ("always".into(), true, "always_run".into()),
                ("go".into(), true, "run_if_changed `\\.go$` matches pkg/x.go".into()),
                ("docs-only-skips".into(), true, "skip_if_only_changed `^docs/|\\.md$` does not match pkg/x.go".into()),
                (
                    "manual".into(),
                    false,
                    "no always_run, run_if_changed or skip_if_only_changed: runs on /test only".into()
                ),
                ("release-only".into(), false, "does not run on branch `master` (branches, skip_branches)".into()),
                ("not-on-master".into(), false, "does not run on branch `master` (branches, skip_branches)".into()),
                (
                    "broken".into(),
                    false,
                    "`run_if_changed` is not a valid regex: regex parse error: (unclosed ^ error: unclosed group"
                        .into()
                ),
            ]
        );
        let docs = verdicts(&jobs, "release-1.36", &["docs/a.md", "README.md"]);
        let triggered: Vec<&str> = docs.iter().filter(|(_, run, _)| *run).map(|(name, _, _)| name.as_str()).collect();
        assert_eq!(triggered, ["always", "release-only", "not-on-master"], "{docs:?}");
        let none = verdicts(&jobs, "master", &[]);
        assert!(!none[2].1, "no changed path runs neither change rule: {none:?}");
    }

    #[test]
    fn branches_match_unanchored_as_prow_does() {
        let jobs = presubmits("  - {name: a, always_run: true, branches: [master]}\n");
        assert!(verdicts(&jobs, "release-master", &[])[0].1, "Prow's regex is unanchored");
        assert!(!verdicts(&jobs, "main", &[])[0].1);
    }

    #[test]
    fn other_repositories_are_left_out() {
        let mut config = ProwConfig::default();
        read_text(
            Path::new("jobs.yaml"),
            "presubmits:\n  org/repo:\n  - {name: mine, always_run: true}\n  org/other:\n  - {name: theirs, always_run: true}\nperiodics:\n- {name: ci, interval: 1h}\n",
            &mut config,
        )
        .expect("valid");
        let names: Vec<String> = affected(&config.jobs, "org/repo", "main", &[]).into_iter().map(|v| v.name).collect();
        assert_eq!(names, ["mine"]);
    }
}
