//! A checked job: every string of a [`JobSpec`] parsed, every rule applied.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use crate::duration;
use crate::matrix::{SkipRule, VersionRange};
use crate::schedule::Schedule;
use crate::spec::{CommandSpec, JobSpec, RefSpec, VolumeSpec};

/// The JSON schema of `slipway job list`: `{jobs: [{name, source, kind, repo, runs_on, command,
/// schedule, next_run, timeout, matrix, cannot_run}]}`.
pub const LIST_SCHEMA: &str = "slipway.job.list/v1";

/// Prow's and slipway's default timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2 * 3600);
/// How long a job gets between SIGTERM and SIGKILL unless it says otherwise.
pub const DEFAULT_GRACE_PERIOD: Duration = Duration::from_secs(15);

/// A job ready to run.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub name: String,
    pub run: Run,
    pub env: BTreeMap<String, String>,
    pub workdir: Option<String>,
    pub timeout: Duration,
    pub grace_period: Duration,
    pub schedule: Option<Schedule>,
    pub skip_if_running: bool,
    /// 0 = no limit.
    pub max_concurrency: u32,
    /// When a container job pulls its image.
    pub pull_policy: crate::PullPolicy,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// Matrix entries as written (versions or marker names); empty = no matrix.
    pub kubernetes: Vec<String>,
    pub skip: Vec<SkipRule>,
    pub volumes: Vec<VolumeSpec>,
    pub extra_refs: Vec<RefSpec>,
    /// Leases each run holds while it runs.
    pub leases: Vec<crate::spec::LeaseSpec>,
    /// Values that never reach the build log (the `env` entries named in `secret_env`).
    pub secrets: Vec<String>,
    /// Files whose contents never reach the build log (`secret_files`), read when a run starts.
    pub secret_files: Vec<String>,
    /// The test environment each run gets.
    pub environment: Option<Environment>,
    /// The spec it came from (for `prowjob.json` and `job list --format json`).
    pub spec: JobSpec,
}

/// A test environment a job's runs get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    /// A kind cluster on the node image of the run's Kubernetes version.
    Kind,
}

/// Where and what a job runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Run {
    /// A process on this machine: the argument vector (a shell line becomes `sh -c LINE`).
    Host { argv: Vec<String> },
    /// A container: the image, its command (empty = the image's entrypoint) and args.
    Container { image: String, command: Vec<String>, args: Vec<String> },
}

/// Something wrong with a job, located by its key (`jobs[2].cron`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The job's name (or `jobs[N]` when it has none).
    pub job: String,
    /// The key path in the file, such as `jobs[2].timezone`.
    pub key: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "job `{}`: `{}`: {}", self.job, self.key, self.message)
    }
}

/// Checks every job of a file; duplicate names are problems too.
pub fn resolve_all(specs: &[JobSpec]) -> (Vec<Job>, Vec<Problem>) {
    let mut jobs = Vec::new();
    let mut problems = Vec::new();
    let mut seen = HashSet::new();
    for (index, spec) in specs.iter().enumerate() {
        if !spec.name.is_empty() && !seen.insert(spec.name.as_str()) {
            problems.push(Problem {
                job: spec.name.clone(),
                key: format!("jobs[{index}].name"),
                message: format!("another job is also named `{}`; job names must be unique", spec.name),
            });
        }
        match resolve(spec, &format!("jobs[{index}]")) {
            Ok(job) => jobs.push(job),
            Err(mut found) => problems.append(&mut found),
        }
    }
    (jobs, problems)
}

/// Checks one job; `prefix` is its key path (`jobs[3]`), used to locate problems.
pub fn resolve(spec: &JobSpec, prefix: &str) -> Result<Job, Vec<Problem>> {
    let job_name = if spec.name.is_empty() { prefix.to_owned() } else { spec.name.clone() };
    let mut problems = Vec::new();
    let mut problem = |field: &str, message: String| {
        problems.push(Problem { job: job_name.clone(), key: format!("{prefix}.{field}"), message });
    };

    if spec.name.is_empty() {
        problem("name", "every job needs a name".to_owned());
    } else if let Err(reason) = slipway_core::names::job(&spec.name) {
        problem("name", format!("`{}` {reason}", spec.name));
    }

    let command = match &spec.command {
        None => Vec::new(),
        Some(CommandSpec::Shell(line)) => vec!["sh".to_owned(), "-c".to_owned(), line.clone()],
        Some(CommandSpec::Argv(argv)) => argv.clone(),
    };
    let run = match &spec.image {
        Some(image) if image.trim().is_empty() => {
            problem("image", "is empty".to_owned());
            None
        }
        Some(image) => Some(Run::Container { image: image.clone(), command, args: spec.args.clone() }),
        None if command.is_empty() => {
            problem("command", "a job needs a command (or an image to run)".to_owned());
            None
        }
        None => {
            let mut argv = command;
            argv.extend(spec.args.iter().cloned());
            Some(Run::Host { argv })
        }
    };

    // `None`: not given; `Some(None)`: given and invalid (reported once, here).
    let mut parse_duration = |field: &str, value: &Option<String>| -> Option<Option<Duration>> {
        let text = value.as_ref()?;
        Some(duration::parse(text).map_err(|message| problem(field, message)).ok())
    };
    let timeout = parse_duration("timeout", &spec.timeout);
    let grace_period = parse_duration("grace_period", &spec.grace_period).flatten().unwrap_or(DEFAULT_GRACE_PERIOD);
    let interval = parse_duration("interval", &spec.interval);
    let minimum_interval = parse_duration("minimum_interval", &spec.minimum_interval);
    if timeout == Some(Some(Duration::ZERO)) {
        problem("timeout", "must be longer than 0s".to_owned());
    }
    let timeout = timeout.flatten().unwrap_or(DEFAULT_TIMEOUT);
    let invalid_interval = interval == Some(None) || minimum_interval == Some(None);
    let interval = interval.map(|every| every.unwrap_or(Duration::ZERO));
    let minimum_interval = minimum_interval.map(|gap| gap.unwrap_or(Duration::ZERO));

    let pull_policy = match spec.pull_policy.as_deref().map(crate::PullPolicy::parse) {
        None => crate::PullPolicy::default(),
        Some(Ok(policy)) => policy,
        Some(Err(message)) => {
            problem("pull_policy", message);
            crate::PullPolicy::default()
        }
    };

    let given = [spec.cron.is_some(), interval.is_some(), minimum_interval.is_some()];
    let schedule = match (&spec.cron, interval, minimum_interval) {
        _ if given.iter().filter(|given| **given).count() > 1 => {
            let field = if spec.cron.is_some() { "cron" } else { "interval" };
            problem(field, "give only one of `cron`, `interval` and `minimum_interval`".to_owned());
            None
        }
        (Some(expression), _, _) => match Schedule::cron(expression, spec.timezone.as_deref()) {
            Ok(schedule) => Some(schedule),
            Err(message) => {
                let field = if message.starts_with("unknown time zone") { "timezone" } else { "cron" };
                problem(field, message);
                None
            }
        },
        (None, Some(_), _) | (None, None, Some(_)) if invalid_interval => None,
        (None, Some(every), _) if every.is_zero() => {
            problem("interval", "must be longer than 0s".to_owned());
            None
        }
        (None, Some(every), _) => Some(Schedule::Interval(every)),
        (None, None, Some(gap)) => Some(Schedule::MinimumInterval(gap)),
        (None, None, None) => None,
    };
    if spec.timezone.is_some() && spec.cron.is_none() {
        problem("timezone", "only applies to `cron`; this job has no cron schedule".to_owned());
    }

    let kubernetes = spec.matrix.as_ref().map(|matrix| matrix.kubernetes.clone()).unwrap_or_default();
    for (index, entry) in kubernetes.iter().enumerate() {
        if let Err(message) = crate::matrix::check_entry(entry) {
            problem(&format!("matrix.kubernetes[{index}]"), message);
        }
    }
    if spec.matrix.is_some() && kubernetes.is_empty() {
        problem("matrix.kubernetes", "lists no versions".to_owned());
    }
    let mut skip = Vec::new();
    for (index, rule) in spec.skip.iter().enumerate() {
        let range = VersionRange::parse(&rule.kubernetes);
        let tests = regex::Regex::new(&rule.tests);
        match (range, tests) {
            (Ok(range), Ok(_)) => skip.push(SkipRule { range, tests: rule.tests.clone() }),
            (Err(message), _) => problem(&format!("skip[{index}].kubernetes"), message),
            (_, Err(error)) => problem(&format!("skip[{index}].tests"), regex_error(&rule.tests, &error)),
        }
    }
    for (index, volume) in spec.volumes.iter().enumerate() {
        if !volume.mount_path.starts_with('/') {
            problem(&format!("volumes[{index}].mount_path"), "must be an absolute path in the container".to_owned());
        }
    }
    for (index, reference) in spec.extra_refs.iter().enumerate() {
        if reference.org.is_empty() || reference.repo.is_empty() {
            problem(&format!("extra_refs[{index}]"), "needs both `org` and `repo`".to_owned());
        }
    }
    if spec.extra_refs.iter().filter(|reference| reference.workdir).count() > 1 {
        problem("extra_refs", "only one ref can be the `workdir`".to_owned());
    }
    for (index, lease) in spec.leases.iter().enumerate() {
        if lease.kind.is_empty() {
            problem(&format!("leases[{index}].type"), "must name a resource type, such as gce-project".to_owned());
        }
        if !(1..=100).contains(&lease.count) {
            problem(&format!("leases[{index}].count"), format!("{} is not between 1 and 100", lease.count));
        }
    }
    for (index, name) in spec.secret_env.iter().enumerate() {
        if !spec.env.contains_key(name) {
            problem(&format!("secret_env[{index}]"), format!("`{name}` is not in the job's `env`"));
        }
    }

    let environment = match spec.environment.as_deref().map(str::trim) {
        None => None,
        Some("kind") => Some(Environment::Kind),
        Some(other) => {
            problem("environment", format!("`{other}` is not an environment slipway provides: write `kind`"));
            None
        }
    };

    match run {
        Some(run) if problems.is_empty() => Ok(Job {
            name: spec.name.clone(),
            run,
            env: spec.env.clone(),
            workdir: spec.workdir.clone(),
            timeout,
            grace_period,
            schedule,
            skip_if_running: spec.skip_if_running.unwrap_or(true),
            max_concurrency: spec.max_concurrency.unwrap_or(0),
            pull_policy,
            labels: spec.labels.clone(),
            annotations: spec.annotations.clone(),
            kubernetes,
            skip,
            volumes: spec.volumes.clone(),
            extra_refs: spec.extra_refs.clone(),
            leases: spec.leases.clone(),
            secrets: spec.secret_env.iter().filter_map(|name| spec.env.get(name).cloned()).collect(),
            secret_files: spec.secret_files.clone(),
            environment,
            spec: spec.clone(),
        }),
        _ => Err(problems),
    }
}

/// A regex error on one line: `invalid regular expression `(x`: unclosed group`.
pub(crate) fn regex_error(pattern: &str, error: &regex::Error) -> String {
    let text = error.to_string();
    let reason = text.lines().rev().find(|line| !line.trim().is_empty()).unwrap_or(&text);
    format!("invalid regular expression `{pattern}`: {}", reason.trim_start_matches("error: "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs(yaml: &str) -> Vec<JobSpec> {
        serde_saphyr::from_str(yaml).expect("valid YAML")
    }

    #[test]
    fn a_complete_job_resolves() {
        let (jobs, problems) = resolve_all(&specs(
            "- name: node-e2e\n  image: quay.io/crio/e2e:latest\n  command: [make, test-e2e]\n  args: [--focus, Conformance]\n  timeout: 90m\n  cron: '30 20 * * *'\n  timezone: America/New_York\n  max_concurrency: 1\n  matrix: {kubernetes: [v1.31.2, stable-1.30, latest-1.32]}\n  skip: [{kubernetes: '<1.27', tests: 'Feature:SidecarContainers'}]\n",
        ));
        assert_eq!(problems, []);
        let job = &jobs[0];
        assert_eq!(job.timeout, Duration::from_secs(5400));
        assert_eq!(job.grace_period, DEFAULT_GRACE_PERIOD);
        assert_eq!(job.kubernetes, ["v1.31.2", "stable-1.30", "latest-1.32"]);
        assert!(
            matches!(&job.run, Run::Container { command, args, .. } if command[0] == "make" && args[1] == "Conformance")
        );
        assert_eq!(
            job.schedule.as_ref().map(Schedule::describe).as_deref(),
            Some("cron \"30 20 * * *\" in America/New_York")
        );
        assert!(job.skip_if_running);
    }

    #[test]
    fn pull_policies_take_both_spellings() {
        let (jobs, problems) = resolve_all(&specs(
            "- name: a\n  image: x\n  pull_policy: never\n- name: b\n  image: x\n  pull_policy: IfNotPresent\n- name: c\n  image: x\n",
        ));
        assert_eq!(problems, []);
        let policies: Vec<crate::PullPolicy> = jobs.iter().map(|job| job.pull_policy).collect();
        use crate::PullPolicy::{Missing, Never};
        assert_eq!(policies, [Never, Missing, Missing]);
        let (_, problems) = resolve_all(&specs("- name: d\n  image: x\n  pull_policy: sometimes\n"));
        assert_eq!(problems[0].key, "jobs[0].pull_policy");
        assert!(problems[0].message.contains("use always, missing or never"), "{}", problems[0].message);
    }

    #[test]
    fn arguments_may_be_any_scalar() {
        let (jobs, problems) = resolve_all(&specs("- name: a\n  command: [true]\n- name: b\n  command: [sleep, 30]\n"));
        assert_eq!(problems, []);
        assert_eq!(jobs[0].run, Run::Host { argv: vec!["true".into()] });
        assert_eq!(jobs[1].run, Run::Host { argv: vec!["sleep".into(), "30".into()] });
        let error = serde_saphyr::from_str::<Vec<JobSpec>>("- name: c\n  command: {make: test}\n").expect_err("a map");
        assert!(error.to_string().contains("a command line (a string) or a list of arguments"), "{error}");
    }

    #[test]
    fn a_shell_line_runs_through_sh() {
        let (jobs, _) = resolve_all(&specs("- name: unit\n  command: make test && make lint\n"));
        assert_eq!(jobs[0].run, Run::Host { argv: vec!["sh".into(), "-c".into(), "make test && make lint".into()] });
    }

    #[test]
    fn problems_name_the_job_and_key() {
        let (_, problems) = resolve_all(&specs(
            "- name: a\n  command: [x]\n  cron: 'TZ=Europe/Berlin 0 5 * * *'\n- name: a\n  command: [x]\n  cron: '0 5 * * *'\n  timezone: Europe/Atlantis\n- name: b\n  timeout: soon\n  interval: 1h\n  minimum_interval: 2h\n  matrix: {kubernetes: [one.two]}\n  skip: [{kubernetes: '<1.27', tests: '(unclosed'}]\n",
        ));
        let rendered: Vec<String> = problems.iter().map(ToString::to_string).collect();
        insta::assert_snapshot!(rendered.join("\n"));
    }
}
