//! Reading Prow configuration files as Prow does: every `*.yaml`/`*.yml` under the given paths,
//! the four job-config keys of each file merged, presets from the core config and the job files
//! alike.
//!
//! Each job keeps every field it was written with (as JSON values, typed the way Prow's YAML
//! reader types plain scalars) and the file and line it came from, so nothing is lost between
//! here and `job import-prow` and every finding can point at its line.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};
use slipway_core::yaml::{self, Node, Style};

/// Where something is written: a file and a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Location {
    pub file: PathBuf,
    pub line: usize,
}

impl std::fmt::Display for Location {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}:{}", self.file.display(), self.line)
    }
}

/// The three kinds of Prow job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobType {
    /// Runs on pull requests (`presubmits: {org/repo: [...]}`).
    Presubmit,
    /// Runs on pushes, tags included (`postsubmits: {org/repo: [...]}`).
    Postsubmit,
    /// Runs on a timer (`periodics: [...]`).
    Periodic,
}

impl JobType {
    /// `presubmit`, `postsubmit` or `periodic`, as Prow's `JOB_TYPE` says it.
    pub fn as_str(self) -> &'static str {
        match self {
            JobType::Presubmit => "presubmit",
            JobType::Postsubmit => "postsubmit",
            JobType::Periodic => "periodic",
        }
    }
}

/// One job exactly as written.
#[derive(Debug, Clone, PartialEq)]
pub struct ProwJob {
    pub job_type: JobType,
    /// `org/repo` for presubmits and postsubmits.
    pub repo: Option<String>,
    /// The `name` field (empty when missing).
    pub name: String,
    /// The file, and the line of the job's list item.
    pub location: Location,
    /// Every field of the job.
    pub fields: Map<String, Value>,
    /// The job's YAML node, for the line of each key.
    pub source: Node,
}

/// One entry of `presets:`.
#[derive(Debug, Clone, PartialEq)]
pub struct Preset {
    pub location: Location,
    /// A job gets the preset when it has every one of these labels (none: every job does).
    pub labels: Vec<(String, String)>,
    pub env: Vec<Value>,
    pub volumes: Vec<Value>,
    pub volume_mounts: Vec<Value>,
    pub tolerations: Vec<Value>,
    /// The preset's YAML node, for the line of each key.
    pub source: Node,
}

impl Preset {
    /// The labels as Prow writes them in errors: `preset-foo:true, preset-bar:true`, or
    /// `(no labels)` for a preset every job gets.
    pub fn describe(&self) -> String {
        if self.labels.is_empty() {
            return "(no labels: applies to every job)".to_owned();
        }
        self.labels.iter().map(|(key, value)| format!("{key}:{value}")).collect::<Vec<_>>().join(", ")
    }
}

/// A file that was read, and its top-level keys with their lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    pub path: PathBuf,
    /// Whether it is a Prow core config (`plank`, `tide`, `deck`, ...) rather than a job file.
    pub core: bool,
    pub keys: Vec<(String, usize)>,
    /// Keys written twice in one mapping (YAML forbids it; loaders differ on which wins).
    pub duplicate_keys: Vec<yaml::DuplicateKey>,
}

/// Everything read from the given paths, merged as Prow merges it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProwConfig {
    /// Periodics, presubmits and postsubmits, in file order.
    pub jobs: Vec<ProwJob>,
    /// Presets of every file, core config and job files alike.
    pub presets: Vec<Preset>,
    /// `decorate_all_jobs: true` somewhere: jobs without `decorate` are decorated.
    pub decorate_all_jobs: bool,
    pub files: Vec<SourceFile>,
}

/// A file that cannot be used; Prow would refuse it too.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("could not read `{}`", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid YAML in `{}` at line {line}, column {column}: {message}", path.display())]
    Yaml { path: PathBuf, line: usize, column: usize, message: String },
    #[error("`{}` line {line}: {message}", path.display())]
    Shape { path: PathBuf, line: usize, message: String },
}

impl LoadError {
    /// The file at fault.
    pub fn path(&self) -> &Path {
        match self {
            LoadError::Read { path, .. } | LoadError::Yaml { path, .. } | LoadError::Shape { path, .. } => path,
        }
    }
}

/// Top-level keys of Prow's core config (`ProwConfig` in pkg/config/config.go). A file with one
/// of them is the core config; its other keys are not job config and are not checked here.
const CORE_KEYS: &[&str] = &[
    "allowed_clusters",
    "branch-protection",
    "config_version_sha",
    "deck",
    "default_job_timeout",
    "disabled_clusters",
    "gangway",
    "gerrit",
    "github",
    "github_reporter",
    "horologium",
    "in_repo_config",
    "jenkins_operators",
    "log_level",
    "managed_webhooks",
    "moonraker",
    "owners_dir_denylist",
    "plank",
    "pod_namespace",
    "prowjob_default_entries",
    "prowjob_namespace",
    "pubsub_subscriptions",
    "pubsub_triggers",
    "push_gateway",
    "scheduler",
    "sinker",
    "slack_reporter_configs",
    "status_error_link",
    "tide",
];

/// Top-level keys of a job file (`JobConfig`).
pub(crate) const JOB_FILE_KEYS: &[&str] =
    &["presets", "periodics", "presubmits", "postsubmits", "decorate_all_jobs", "prow_ignored"];

/// Reads every path: a file, or a directory searched recursively for `*.yaml` and `*.yml`.
pub fn load(paths: &[PathBuf]) -> Result<ProwConfig, LoadError> {
    load_where(paths, |_| true)
}

/// [`load`], parsing only the files whose text `wanted` accepts (a cheap test, such as "mentions
/// this repository", that spares parsing the rest). Files are parsed on every core at once
/// and merged in the order [`load`] reads them, so the result is the same.
pub fn load_where(paths: &[PathBuf], wanted: impl Fn(&str) -> bool + Sync) -> Result<ProwConfig, LoadError> {
    let files = collect_files(paths)?;
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get).min(files.len().max(1));
    let chunk = files.len().div_ceil(threads).max(1);
    let parsed: Vec<Result<ProwConfig, LoadError>> = std::thread::scope(|scope| {
        let workers: Vec<_> = files
            .chunks(chunk)
            .map(|paths| {
                let wanted = &wanted;
                scope.spawn(move || -> Result<ProwConfig, LoadError> {
                    let mut config = ProwConfig::default();
                    for path in paths {
                        let text = read_file(path)?;
                        if wanted(&text) {
                            read_text(path, &text, &mut config)?;
                        }
                    }
                    Ok(config)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    });
    let mut config = ProwConfig::default();
    for part in parsed {
        let part = part?;
        config.jobs.extend(part.jobs);
        config.presets.extend(part.presets);
        config.files.extend(part.files);
        config.decorate_all_jobs |= part.decorate_all_jobs;
    }
    Ok(config)
}

/// Every file `paths` names, directories searched recursively, in the order [`load`] reads them.
pub(crate) fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, LoadError> {
    let mut files = Vec::new();
    for path in paths {
        collect(path, true, &mut files)?;
    }
    Ok(files)
}

/// One file's text.
pub(crate) fn read_file(path: &Path) -> Result<String, LoadError> {
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|mut file| file.read_to_string(&mut text))
        .map_err(|source| LoadError::Read { path: path.to_path_buf(), source })?;
    Ok(text)
}

/// Adds the jobs and presets of one file's text to `config`.
pub fn read_text(path: &Path, text: &str, config: &mut ProwConfig) -> Result<(), LoadError> {
    let documents = yaml::parse(text).map_err(|error| LoadError::Yaml {
        path: path.to_path_buf(),
        line: error.line,
        column: error.column,
        message: error.message,
    })?;
    // Prow reads the first document of a file only.
    let Some(root) = documents.into_iter().next() else {
        config.files.push(SourceFile {
            path: path.to_path_buf(),
            core: false,
            keys: Vec::new(),
            duplicate_keys: Vec::new(),
        });
        return Ok(());
    };
    let shape =
        |line: usize, message: &str| LoadError::Shape { path: path.to_path_buf(), line, message: message.to_owned() };
    let line = root.line;
    let duplicate_keys = yaml::duplicate_keys(&root);
    let yaml::Value::Mapping(entries) = root.value else {
        return Err(shape(line, "expected a mapping with `periodics`, `presubmits`, `postsubmits` or `presets`"));
    };
    let keys: Vec<(String, usize)> =
        entries.iter().map(|(key, _)| (key.as_str().unwrap_or_default().to_owned(), key.line)).collect();
    let core = keys.iter().any(|(key, _)| CORE_KEYS.contains(&key.as_str()));
    config.files.push(SourceFile { path: path.to_path_buf(), core, keys, duplicate_keys });
    let location = |line: usize| Location { file: path.to_path_buf(), line };

    for (key, value) in entries {
        if is_null(&value) {
            continue;
        }
        match key.as_str().unwrap_or_default() {
            "presets" => {
                for item in sequence(value, "`presets` must be a list of presets", &shape)? {
                    config.presets.push(preset(item, location(0), &shape)?);
                }
            }
            "periodics" => {
                for item in sequence(value, "`periodics` must be a list of jobs", &shape)? {
                    config.jobs.push(job(item, JobType::Periodic, None, location(0), &shape)?);
                }
            }
            name @ ("presubmits" | "postsubmits") => {
                let job_type = if name == "presubmits" { JobType::Presubmit } else { JobType::Postsubmit };
                let value_line = value.line;
                let yaml::Value::Mapping(repos) = value.value else {
                    return Err(shape(value_line, &format!("`{name}` must map `org/repo` to a list of jobs")));
                };
                for (repo, jobs) in repos {
                    let repo = repo.as_str().unwrap_or_default().to_owned();
                    if is_null(&jobs) {
                        continue;
                    }
                    let message = format!("`{name}` of `{repo}` must be a list of jobs");
                    for item in sequence(jobs, &message, &shape)? {
                        config.jobs.push(job(item, job_type, Some(repo.clone()), location(0), &shape)?);
                    }
                }
            }
            "decorate_all_jobs" => config.decorate_all_jobs |= to_json(&value) == Value::Bool(true),
            _ => {}
        }
    }
    Ok(())
}

fn collect(path: &Path, named: bool, files: &mut Vec<PathBuf>) -> Result<(), LoadError> {
    let read_error = |source| LoadError::Read { path: path.to_path_buf(), source };
    let metadata = std::fs::metadata(path).map_err(read_error)?;
    if !metadata.is_dir() {
        let yaml = path.extension().is_some_and(|extension| extension == "yaml" || extension == "yml");
        if named || yaml {
            files.push(path.to_path_buf());
        }
        return Ok(());
    }
    let mut entries = std::fs::read_dir(path)
        .and_then(|entries| entries.map(|entry| entry.map(|entry| entry.path())).collect::<Result<Vec<_>, _>>())
        .map_err(read_error)?;
    entries.sort();
    for entry in entries {
        // Kubernetes mounts ConfigMaps with `..data` links beside the files; Prow skips them.
        let hidden = entry.file_name().is_some_and(|name| name.to_string_lossy().starts_with('.'));
        if !hidden {
            collect(&entry, false, files)?;
        }
    }
    Ok(())
}

fn sequence(value: Node, message: &str, shape: &impl Fn(usize, &str) -> LoadError) -> Result<Vec<Node>, LoadError> {
    let line = value.line;
    match value.value {
        yaml::Value::Sequence(items) => Ok(items),
        _ => Err(shape(line, message)),
    }
}

fn job(
    node: Node,
    job_type: JobType,
    repo: Option<String>,
    mut location: Location,
    shape: &impl Fn(usize, &str) -> LoadError,
) -> Result<ProwJob, LoadError> {
    location.line = node.line;
    let Value::Object(fields) = to_json(&node) else {
        return Err(shape(node.line, &format!("a {} must be a mapping of fields", job_type.as_str())));
    };
    let name = fields.get("name").map(scalar_text).unwrap_or_default();
    Ok(ProwJob { job_type, repo, name, location, fields, source: node })
}

fn preset(node: Node, mut location: Location, shape: &impl Fn(usize, &str) -> LoadError) -> Result<Preset, LoadError> {
    location.line = node.line;
    let Value::Object(mut fields) = to_json(&node) else {
        return Err(shape(node.line, "a preset must be a mapping (labels, env, volumes, volumeMounts)"));
    };
    let mut list = |key: &str| -> Result<Vec<Value>, LoadError> {
        match fields.remove(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => Ok(items),
            Some(_) => Err(shape(
                node.get(key).map_or(node.line, |value| value.line),
                &format!("preset `{key}` must be a list"),
            )),
        }
    };
    let (env, volumes, volume_mounts, tolerations) =
        (list("env")?, list("volumes")?, list("volumeMounts")?, list("tolerations")?);
    let labels = match fields.remove("labels") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(labels)) => labels.iter().map(|(key, value)| (key.clone(), scalar_text(value))).collect(),
        Some(_) => return Err(shape(node.line, "preset `labels` must be a mapping")),
    };
    Ok(Preset { location, labels, env, volumes, volume_mounts, tolerations, source: node })
}

fn is_null(node: &Node) -> bool {
    matches!(&node.value, yaml::Value::Scalar(text, Style::Plain) if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL"))
}

/// A scalar as the string Prow sees in a string field (`35` and `"35"` are both `35`).
pub(crate) fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A YAML node as JSON, with plain scalars typed as Prow's YAML reader (go-yaml v2) types them:
/// null, booleans, integers (`0400` is octal, as in YAML 1.1 and Kubernetes `defaultMode`),
/// floats; everything else, and every quoted or block scalar, is a string.
pub fn to_json(node: &Node) -> Value {
    match &node.value {
        yaml::Value::Scalar(text, Style::Plain) => plain_scalar(text),
        yaml::Value::Scalar(text, _) => Value::String(text.clone()),
        yaml::Value::Sequence(items) => Value::Array(items.iter().map(to_json).collect()),
        yaml::Value::Mapping(entries) => {
            let mut map = Map::new();
            for (key, value) in entries {
                let key = match &key.value {
                    yaml::Value::Scalar(text, _) => text.clone(),
                    _ => to_json(key).to_string(),
                };
                map.insert(key, to_json(value));
            }
            Value::Object(map)
        }
    }
}

fn plain_scalar(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if let Some(number) = integer(text) {
        return Value::from(number);
    }
    let float_like = text.bytes().all(|byte| byte.is_ascii_digit() || b"+-.eE".contains(&byte))
        && text.bytes().any(|byte| byte.is_ascii_digit());
    // A float that would not print back as written (`1.30`, `1e5`) stays a string: it is far
    // more often a version in a string field than a number.
    if float_like
        && let Ok(number) = text.parse::<f64>()
        && let Some(number) = serde_json::Number::from_f64(number)
        && number.to_string() == text
    {
        return Value::Number(number);
    }
    Value::String(text.to_owned())
}

fn integer(text: &str) -> Option<i64> {
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (radix, digits) = if let Some(hex) = digits.strip_prefix("0x") {
        (16, hex)
    } else if let Some(octal) = digits.strip_prefix("0o") {
        (8, octal)
    } else if let Some(binary) = digits.strip_prefix("0b") {
        (2, binary)
    } else if digits.len() > 1 && digits.starts_with('0') {
        (8, &digits[1..])
    } else {
        (10, digits)
    };
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_alphanumeric()) {
        return None;
    }
    let magnitude = i64::from_str_radix(digits, radix).ok()?;
    Some(if negative { -magnitude } else { magnitude })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<ProwConfig, LoadError> {
        let mut config = ProwConfig::default();
        read_text(Path::new("jobs.yaml"), text, &mut config)?;
        Ok(config)
    }

    #[test]
    fn scalars_are_typed_as_prow_reads_them() {
        let root =
            yaml::parse("a: 4\nb: '4'\nc: 0400\nd: 1.5\nk: 1.30\ne: true\nf: ~\ng: 9Gi\nh: |\n  x\ni: -3\nj: 0x1f\n")
                .expect("valid")
                .remove(0);
        let json = to_json(&root);
        assert_eq!(
            json,
            serde_json::json!({"a": 4, "b": "4", "c": 256, "d": 1.5, "e": true, "f": null, "g": "9Gi", "h": "x\n", "i": -3, "j": 31, "k": "1.30"})
        );
    }

    #[test]
    fn jobs_keep_their_type_repo_and_line() {
        let config = read(
            "presubmits:\n  org/repo:\n  - name: pull-a\n    always_run: true\npostsubmits: null\nperiodics:\n- interval: 1h\n  name: ci-b\n",
        )
        .expect("valid");
        let summary: Vec<_> = config
            .jobs
            .iter()
            .map(|job| (job.job_type, job.repo.as_deref(), job.name.as_str(), job.location.line))
            .collect();
        assert_eq!(
            summary,
            [(JobType::Presubmit, Some("org/repo"), "pull-a", 3), (JobType::Periodic, None, "ci-b", 7)]
        );
        assert_eq!(config.jobs[0].fields.get("always_run"), Some(&Value::Bool(true)));
    }

    #[test]
    fn presets_come_from_any_file() {
        let config = read("plank: {}\npresets:\n- labels: {preset-a: \"true\"}\n  env: [{name: A, value: x}]\n- env: [{name: B, value: y}]\n")
            .expect("valid");
        assert!(config.files[0].core);
        assert_eq!(config.presets.len(), 2);
        assert_eq!(config.presets[0].describe(), "preset-a:true");
        assert_eq!(config.presets[1].location.line, 5);
    }

    #[test]
    fn malformed_files_are_errors_with_a_line() {
        let error = read("periodics:\n- name: a\n  interval: [1h\n").expect_err("malformed");
        assert!(matches!(error, LoadError::Yaml { line: 3.., .. }), "{error}");
        let error = read("periodics:\n  name: a\n").expect_err("not a list");
        assert_eq!(error.to_string(), "`jobs.yaml` line 2: `periodics` must be a list of jobs");
        let error = read("presubmits:\n  org/repo:\n  - just-a-string\n").expect_err("not a mapping");
        assert_eq!(error.to_string(), "`jobs.yaml` line 3: a presubmit must be a mapping of fields");
    }

    #[test]
    fn directories_are_searched_for_yaml() {
        let directory = tempfile::tempdir().expect("temporary directory");
        let nested = directory.path().join("a/b");
        fs_err::create_dir_all(&nested).expect("create");
        fs_err::write(nested.join("one.yaml"), "periodics:\n- name: one\n  interval: 1h\n").expect("write");
        fs_err::write(directory.path().join("two.yml"), "periodics:\n- name: two\n  interval: 1h\n").expect("write");
        fs_err::write(directory.path().join("README.md"), "periodics: [").expect("write");
        let config = load(&[directory.path().to_path_buf()]).expect("valid");
        let names: Vec<_> = config.jobs.iter().map(|job| job.name.as_str()).collect();
        assert_eq!(names, ["one", "two"]);
        let error = load(&[directory.path().join("missing.yaml")]).expect_err("missing");
        assert!(matches!(error, LoadError::Read { .. }), "{error}");
    }
}
