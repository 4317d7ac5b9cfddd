//! Checks of Prow job configuration: what Prow rejects when it loads the config, and what it
//! accepts and then gets wrong without a word (a time zone in a cron, a misspelt key).
//!
//! Every finding names the file and line, the job, and a rule id that stays stable for scripts.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;

use serde::Serialize;
use serde_json::Value;
use slipway_core::yaml::Node;
use slipway_job_model::duration;
use slipway_job_model::schedule::Schedule;

use crate::brancher::Brancher;
use crate::fields::{self, NESTED, PRESET};
use crate::import::split_timezone;
use crate::load::{JOB_FILE_KEYS, JobType, Location, ProwConfig, ProwJob, scalar_text};
use crate::presets::apply_presets;

/// What a finding is about; the kebab-case id is part of the JSON output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// `TZ=`/`CRON_TZ=` before a cron expression.
    CronTimezonePrefix,
    /// A key Prow does not know, and so ignores.
    UnknownKey,
    /// Two jobs Prow would take for one.
    DuplicateName,
    /// A periodic without exactly one valid schedule.
    Schedule,
    /// A job name Prow rejects.
    Name,
    /// A preset that cannot be merged.
    PresetClash,
    /// A decorated container without `command`.
    NoCommand,
    /// A key written twice in one mapping.
    DuplicateKey,
}

impl Rule {
    /// The rule's id, as in `[unknown-key]`.
    pub fn id(self) -> &'static str {
        match self {
            Rule::CronTimezonePrefix => "cron-timezone-prefix",
            Rule::UnknownKey => "unknown-key",
            Rule::DuplicateName => "duplicate-name",
            Rule::Schedule => "schedule",
            Rule::Name => "name",
            Rule::PresetClash => "preset-clash",
            Rule::NoCommand => "no-command",
            Rule::DuplicateKey => "duplicate-key",
        }
    }
}

/// The JSON schema of `slipway job lint --format json`: `{findings: [{file, line, job, rule,
/// message}]}`.
pub const SCHEMA: &str = "slipway.job.lint/v1";

/// One problem, at a line of a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub file: PathBuf,
    pub line: usize,
    /// The job's name, when the finding is about a job.
    pub job: Option<String>,
    pub rule: Rule,
    pub message: String,
}

impl fmt::Display for Finding {
    /// `path:line: job NAME: [rule] message`.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}:{}: ", self.file.display(), self.line)?;
        if let Some(job) = &self.job {
            write!(formatter, "job {job}: ")?;
        }
        write!(formatter, "[{}] {}", self.rule.id(), self.message)
    }
}

/// Every finding in `config`, ordered by file and line.
pub fn lint(config: &ProwConfig) -> Vec<Finding> {
    let mut findings = Vec::new();
    for file in config.files.iter().filter(|file| !file.core) {
        for (key, line) in &file.keys {
            if !JOB_FILE_KEYS.contains(&key.as_str()) {
                let hint = suggestion(key, JOB_FILE_KEYS.iter().copied());
                findings.push(Finding {
                    file: file.path.clone(),
                    line: *line,
                    job: None,
                    rule: Rule::UnknownKey,
                    message: format!(
                        "unknown top-level key `{key}`{hint}; Prow reads only presets, periodics, presubmits and postsubmits from a job file"
                    ),
                });
            }
        }
    }
    presets(config, &mut findings);
    for job in &config.jobs {
        let mut lint = JobLint { job, findings: &mut findings };
        lint.name();
        lint.unknown_keys();
        if job.job_type == JobType::Periodic {
            lint.schedule();
        }
        lint.command(config.decorate_all_jobs);
        if let Err(clash) = apply_presets(job, &config.presets) {
            lint.push(
                job.location.line,
                Rule::PresetClash,
                format!("{}; Prow rejects the config (presets only append, they never override)", clash.reason()),
            );
        }
    }
    duplicates(config, &mut findings);
    for file in &config.files {
        for duplicate in &file.duplicate_keys {
            findings.push(Finding {
                file: file.path.clone(),
                line: duplicate.line,
                job: None,
                rule: Rule::DuplicateKey,
                message: format!(
                    "`{}` is given again here (first at line {}); YAML forbids it and loaders differ on which one they keep: remove one",
                    duplicate.key, duplicate.first_line
                ),
            });
        }
    }
    findings.sort_by(|a, b| (&a.file, a.line, a.rule).cmp(&(&b.file, b.line, b.rule)));
    findings
}

struct JobLint<'a> {
    job: &'a ProwJob,
    findings: &'a mut Vec<Finding>,
}

impl JobLint<'_> {
    fn push(&mut self, line: usize, rule: Rule, message: String) {
        self.findings.push(Finding {
            file: self.job.location.file.clone(),
            line,
            job: Some(self.job.name.clone()),
            rule,
            message,
        });
    }

    /// The line of a top-level key of the job (the job's line when it has none).
    fn line_of(&self, key: &str) -> usize {
        key_line(&self.job.source, key).unwrap_or(self.job.location.line)
    }

    fn name(&mut self) {
        let name = &self.job.name;
        // Jenkins job names may also contain `/` inside (pkg/config/config.go jobNameRegexJenkins).
        let jenkins = self.job.fields.get("agent").and_then(Value::as_str) == Some("jenkins");
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_');
        let valid = if jenkins {
            !name.is_empty()
                && name.starts_with(allowed)
                && name.chars().all(|c| allowed(c) || c == '/')
                && (name.len() == 1 || name.ends_with(|c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_')))
        } else {
            !name.is_empty() && name.chars().all(allowed)
        };
        if name.is_empty() {
            let line = self.line_of("name");
            self.push(line, Rule::Name, "the job has no `name`; Prow rejects it".to_owned());
        } else if !valid {
            let line = self.line_of("name");
            let pattern =
                if jenkins { "^[A-Za-z0-9-._]([A-Za-z0-9-._/]*[A-Za-z0-9-_])?$" } else { "^[A-Za-z0-9-._]+$" };
            self.push(line, Rule::Name, format!("name `{name}` does not match {pattern}; Prow rejects it"));
        }
    }

    fn unknown_keys(&mut self) {
        let job = self.job;
        let job_type = job.job_type;
        for (key, key_node) in job.source.entries().iter().filter_map(|(key, _)| Some((key.as_str()?, key))) {
            if fields::job_keys(job_type).any(|known| known == key) {
                continue;
            }
            let owners = fields::types_with(key);
            let message = if owners.is_empty() {
                format!("unknown key `{key}`{}; Prow ignores it", suggestion(key, fields::job_keys(job_type)))
            } else {
                let owners: Vec<&str> = owners.iter().map(|owner| owner.as_str()).collect();
                format!("`{key}` is a {} field; Prow ignores it in a {}", owners.join(" and "), job_type.as_str())
            };
            self.push(key_node.line, Rule::UnknownKey, message);
        }
        for (path, known) in NESTED {
            let parts: Vec<&str> = path.split('.').collect();
            let mut found = Vec::new();
            nodes_at(&job.source, &parts, String::new(), &mut found);
            for (prefix, node) in found {
                for (key_node, _) in node.entries() {
                    let Some(key) = key_node.as_str() else { continue };
                    if !known.contains(&key) {
                        let hint = suggestion(key, known.iter().copied());
                        self.push(
                            key_node.line,
                            Rule::UnknownKey,
                            format!("unknown key `{prefix}.{key}`{hint}; Prow ignores it"),
                        );
                    }
                }
            }
        }
    }

    fn schedule(&mut self) {
        let job = self.job;
        let given: Vec<&str> = ["cron", "interval", "minimum_interval"]
            .into_iter()
            .filter(|key| job.fields.get(*key).is_some_and(|value| !scalar_text(value).is_empty()))
            .collect();
        match given.as_slice() {
            [] => {
                let line = job.location.line;
                let hint = self
                    .job
                    .source
                    .entries()
                    .iter()
                    .filter_map(|(key, _)| key.as_str())
                    .find_map(|key| {
                        fields::closest(key, ["cron", "interval", "minimum_interval"]).map(|known| (key, known))
                    })
                    .map(|(key, known)| format!(" (`{key}` is not `{known}`)"))
                    .unwrap_or_default();
                self.push(
                    line,
                    Rule::Schedule,
                    format!("a periodic needs one of `cron`, `interval` or `minimum_interval`{hint}; Prow rejects it"),
                );
                return;
            }
            [_] => {}
            [_, second, ..] => {
                let line = self.line_of(second);
                self.push(
                    line,
                    Rule::Schedule,
                    format!(
                        "sets `{}`; `cron`, `interval` and `minimum_interval` are mutually exclusive, so Prow rejects the job",
                        given.join("` and `")
                    ),
                );
                return;
            }
        }
        let key = given[0];
        let line = self.line_of(key);
        let Some(text) = job.fields.get(key).and_then(Value::as_str) else {
            self.push(line, Rule::Schedule, format!("`{key}` must be a string; Prow cannot read this job"));
            return;
        };
        if key == "cron" {
            self.cron(text, line);
        } else if let Err(message) = duration::parse(text) {
            self.push(line, Rule::Schedule, format!("invalid `{key}`: {message}; Prow rejects it"));
        }
        if let Some(retry) = job.fields.get("retry") {
            let line = self.line_of("retry");
            match retry.get("interval").and_then(Value::as_str) {
                Some(interval) => {
                    if let Err(message) = duration::parse(interval) {
                        self.push(
                            line,
                            Rule::Schedule,
                            format!("invalid `retry.interval`: {message}; Prow rejects it"),
                        );
                    }
                }
                None => self.push(line, Rule::Schedule, "`retry` needs an `interval`; Prow rejects it".to_owned()),
            }
        }
    }

    fn cron(&mut self, text: &str, line: usize) {
        let trimmed = text.trim();
        let expression = match split_timezone(trimmed) {
            Some((zone, expression)) => {
                self.push(
                    line,
                    Rule::CronTimezonePrefix,
                    format!(
                        "cron `{text}` has a time zone prefix: Prow accepts it when it validates the config, then horologium fails to schedule it (every cron is run as `TZ=UTC <cron>`) and stops registering this and every later cron job, logging only \"Error syncing cron jobs\"; Prow crons are always UTC. In slipway write `cron: '{expression}'` with `timezone: {zone}`"
                    ),
                );
                expression
            }
            None if trimmed.starts_with("TZ=") || trimmed.starts_with("CRON_TZ=") => {
                self.push(
                    line,
                    Rule::CronTimezonePrefix,
                    format!("cron `{text}` is only a time zone prefix; Prow crons are always UTC"),
                );
                return;
            }
            None => trimmed,
        };
        if let Some(every) = expression.strip_prefix("@every") {
            if let Err(message) = duration::parse(every.trim()) {
                self.push(
                    line,
                    Rule::Schedule,
                    format!("invalid `@every` in cron `{text}`: {message}; Prow rejects it"),
                );
            }
            return;
        }
        if let Err(message) = Schedule::cron(expression, None) {
            self.push(line, Rule::Schedule, format!("{message}; Prow rejects it"));
        }
    }

    fn command(&mut self, decorate_all_jobs: bool) {
        let job = self.job;
        let decorated = match job.fields.get("decorate") {
            Some(Value::Bool(decorate)) => *decorate,
            _ => decorate_all_jobs,
        };
        if !decorated {
            return;
        }
        let containers = job.source.get("spec").and_then(|spec| spec.get("containers")).map_or(&[][..], Node::items);
        for (index, container) in containers.iter().enumerate() {
            let strings = |key: &str| -> Vec<String> {
                container
                    .get(key)
                    .map(Node::items)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|item| item.as_str().map(str::to_owned))
                    .collect()
            };
            if !strings("command").is_empty() {
                continue;
            }
            let args = strings("args");
            let message = match args.first() {
                Some(first) if !first.is_empty() => format!(
                    "decorated container {index} has no `command`: the pod utilities run `command` + `args`, so `{first}` (args[0]) runs as the command and the image's ENTRYPOINT is skipped; set `command` explicitly"
                ),
                _ => format!(
                    "decorated container {index} has no `command` (and no `args`): the pod utilities replace the image's ENTRYPOINT, so Prow rejects the job"
                ),
            };
            self.push(container.line, Rule::NoCommand, message);
        }
    }
}

/// Presets: unknown keys, and a `label:value` pair two presets both select on.
fn presets(config: &ProwConfig, findings: &mut Vec<Finding>) {
    let mut pairs: HashMap<String, &Location> = HashMap::new();
    for preset in &config.presets {
        for (key_node, _) in preset.source.entries() {
            let Some(key) = key_node.as_str() else { continue };
            if !PRESET.contains(&key) {
                findings.push(Finding {
                    file: preset.location.file.clone(),
                    line: key_node.line,
                    job: None,
                    rule: Rule::UnknownKey,
                    message: format!(
                        "unknown preset key `{key}`{}; Prow ignores it",
                        suggestion(key, PRESET.iter().copied())
                    ),
                });
            }
        }
        for (label, value) in &preset.labels {
            let pair = format!("{label}:{value}");
            match pairs.get(&pair) {
                Some(first) => findings.push(Finding {
                    file: preset.location.file.clone(),
                    line: preset.location.line,
                    job: None,
                    rule: Rule::PresetClash,
                    message: format!(
                        "another preset ({first}) also selects `{pair}`; Prow rejects duplicated preset label pairs"
                    ),
                }),
                None => {
                    pairs.insert(pair, &preset.location);
                }
            }
        }
    }
}

/// Jobs Prow takes for one: periodics with the same name; presubmits (or postsubmits) of one
/// repository with the same name whose branches overlap.
fn duplicates(config: &ProwConfig, findings: &mut Vec<Finding>) {
    let mut seen: HashMap<(JobType, Option<&str>, &str), Vec<&ProwJob>> = HashMap::new();
    for job in &config.jobs {
        let key = (job.job_type, job.repo.as_deref(), job.name.as_str());
        let earlier = seen.entry(key).or_default();
        let clash = earlier
            .iter()
            .find(|other| job.job_type == JobType::Periodic || Brancher::of(other).intersects(&Brancher::of(job)));
        if let Some(other) = clash {
            let scope = match &job.repo {
                Some(repo) => format!("another {} of `{repo}` on overlapping branches", job.job_type.as_str()),
                None => "another periodic".to_owned(),
            };
            findings.push(Finding {
                file: job.location.file.clone(),
                line: job.location.line,
                job: Some(job.name.clone()),
                rule: Rule::DuplicateName,
                message: format!(
                    "{scope} is also named `{}`, at {}; Prow rejects duplicated job names",
                    job.name, other.location
                ),
            });
        }
        earlier.push(job);
    }
}

/// The nodes at a dotted path below `node` (`*` is every item of a list), each with its path
/// as people write it (`extra_refs[1]`).
fn nodes_at<'a>(node: &'a Node, parts: &[&str], prefix: String, out: &mut Vec<(String, &'a Node)>) {
    let Some((first, rest)) = parts.split_first() else {
        if node.is_mapping() {
            out.push((prefix, node));
        }
        return;
    };
    if *first == "*" {
        for (index, item) in node.items().iter().enumerate() {
            nodes_at(item, rest, format!("{prefix}[{index}]"), out);
        }
    } else if let Some(child) = node.get(first) {
        let path = if prefix.is_empty() { (*first).to_owned() } else { format!("{prefix}.{first}") };
        nodes_at(child, rest, path, out);
    }
}

fn key_line(node: &Node, key: &str) -> Option<usize> {
    node.entries().iter().find(|(candidate, _)| candidate.as_str() == Some(key)).map(|(key, _)| key.line)
}

fn suggestion<'a>(key: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    fields::closest(key, known).map(|known| format!(" (did you mean `{known}`?)")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::load::read_text;

    fn lint_text(text: &str) -> Vec<String> {
        let mut config = ProwConfig::default();
        read_text(Path::new("jobs.yaml"), text, &mut config).expect("valid");
        lint(&config).iter().map(ToString::to_string).collect()
    }

    const SPEC: &str = "  decorate: true\n  spec:\n    containers:\n    - image: golang\n      command: [make]\n";

    #[test]
    fn a_clean_job_has_no_findings() {
        assert_eq!(lint_text(&format!("periodics:\n- name: ci-ok\n  interval: 1h\n{SPEC}")), Vec::<String>::new());
    }

    #[test]
    fn timezone_prefixes_are_named_with_their_fix() {
        let findings =
            lint_text(&format!("periodics:\n- name: ci-berlin\n  cron: 'TZ=Europe/Berlin 0 5 * * *'\n{SPEC}"));
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert!(
            findings[0]
                .starts_with("jobs.yaml:3: job ci-berlin: [cron-timezone-prefix] cron `TZ=Europe/Berlin 0 5 * * *`")
        );
        assert!(findings[0].ends_with("write `cron: '0 5 * * *'` with `timezone: Europe/Berlin`"), "{}", findings[0]);
    }

    #[test]
    fn schedules_are_checked() {
        let findings = lint_text(&format!(
            "periodics:\n- name: a\n  minimal_interval: 1h\n{SPEC}- name: b\n  cron: '0 5 * *'\n{SPEC}- name: c\n  interval: 5d\n{SPEC}- name: d\n  interval: 1h\n  cron: '@daily'\n{SPEC}- name: e\n  cron: '@every 90m'\n{SPEC}"
        ));
        insta::assert_snapshot!(findings.join("\n"));
    }

    #[test]
    fn unknown_keys_are_found_at_every_level() {
        let findings = lint_text(
            "presubmits:\n  org/repo:\n  - name: pull-a\n    always_run: true\n    cron: '@daily'\n    decoration_config: {timout: 1h}\n    extra_refs: [{org: o, repo: r, base_rev: main}]\n    decorate: true\n    spec:\n      serviceAcountName: x\n      containers:\n      - image: x\n        comand: [make]\n        args: [test]\npresets:\n- labels: {a: b}\n  evn: []\nperiodcs: []\n",
        );
        insta::assert_snapshot!(findings.join("\n"));
    }

    #[test]
    fn duplicates_follow_prow() {
        let findings = lint_text(&format!(
            "periodics:\n- name: ci-a\n  interval: 1h\n{SPEC}- name: ci-a\n  interval: 2h\n{SPEC}presubmits:\n  org/repo:\n  - name: pull-a\n    branches: [main]\n    decorate: false\n  - name: pull-a\n    branches: [release-1.0]\n    decorate: false\n  - name: pull-a\n    skip_branches: [release-.*]\n    decorate: false\n  org/other:\n  - name: pull-a\n    decorate: false\n"
        ));
        insta::assert_snapshot!(findings.join("\n"));
    }

    #[test]
    fn names_commands_and_presets() {
        let findings = lint_text(
            "presets:\n- labels: {preset-x: \"true\"}\n  env: [{name: A, value: '1'}]\n- labels: {preset-x: \"true\"}\nperiodics:\n- name: bad name\n  interval: 1h\n  labels: {preset-x: \"true\"}\n  decorate: true\n  spec:\n    containers:\n    - image: x\n      args: [bash, -c, make]\n      env: [{name: A, value: '2'}]\n- name: ci-empty\n  interval: 1h\n  decorate: true\n  spec: {containers: [{image: x}]}\n",
        );
        insta::assert_snapshot!(findings.join("\n"));
    }
}
