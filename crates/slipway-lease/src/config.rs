//! `resources.yaml`: the resources a lease server hands out, in Boskos's format, plus what
//! slipway adds per type (`reaper:`, `janitor:`).
//!
//! ```yaml
//! resources:
//! - type: gce-project          # static: the names are the resources
//!   state: dirty               # the state a new resource starts in (default free)
//!   names: [p-01, p-02]
//!   janitor: {command: [/bin/clean-project], pool: 20}
//! - type: aws-cluster          # dynamic: created on demand, between min-count and max-count
//!   min-count: 1
//!   max-count: 2
//!   lifespan: 48h              # a Go duration, or integer nanoseconds
//!   reaper: {expire: 1h}
//! ```
//!
//! Validation follows Boskos and reports every problem at once, each with its entry and line:
//! the file must list resources; `type` is required and unique; names are DNS-1123 subdomains
//! (lowercase) and unique across entries; a dynamic entry needs `max-count > 0` and
//! `min-count <= max-count`; a static entry sets neither; `needs` must fit the resources of the
//! types it names.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use slipway_core::yaml::{self, Node, Value};

/// The reaper's default: a lease not heartbeated for this long is taken back.
pub const DEFAULT_EXPIRE: Duration = Duration::from_secs(30 * 60);
/// The janitor's default number of concurrent cleanups per type.
pub const DEFAULT_POOL: usize = 20;

/// A whole configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Config {
    pub entries: Vec<Entry>,
}

/// One entry of `resources:`: a type, static (with names) or dynamic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub kind: String,
    /// The state new resources start in.
    pub state: String,
    /// Static resources; empty for a dynamic type.
    pub names: Vec<String>,
    pub min_count: u32,
    pub max_count: u32,
    /// How long a dynamic resource lives once released.
    pub lifespan: Option<Duration>,
    pub needs: BTreeMap<String, u32>,
    pub reaper: Reaper,
    pub janitor: Option<Janitor>,
    /// The line of the entry in its file.
    pub line: usize,
}

impl Entry {
    /// A dynamic type: resources are created and deleted by count, not listed.
    pub fn is_dynamic(&self) -> bool {
        self.names.is_empty()
    }
}

/// The reaper of one type: held resources in `states` not heartbeated for `expire` go to
/// `dest`, unowned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reaper {
    pub enabled: bool,
    pub expire: Duration,
    pub states: Vec<String>,
    pub dest: String,
}

impl Default for Reaper {
    fn default() -> Reaper {
        Reaper {
            enabled: true,
            expire: DEFAULT_EXPIRE,
            states: ["busy", "cleaning", "leased"].map(str::to_owned).to_vec(),
            dest: "dirty".to_owned(),
        }
    }
}

/// The janitor of one type: a command run for each dirty resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Janitor {
    pub command: Vec<String>,
    pub pool: usize,
}

/// Why a configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("could not read `{}`", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid YAML in `{}` at line {line}, column {column}: {message}", path.display())]
    Yaml { path: PathBuf, line: usize, column: usize, message: String },
    #[error("`{}` is not a valid resource configuration:\n{}", path.display(), problems.iter().map(|problem| format!("  {problem}")).collect::<Vec<_>>().join("\n"))]
    Invalid { path: PathBuf, problems: Vec<Problem> },
}

/// One problem of a configuration, at its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    /// Where in the file: `resources[0].names[1]`.
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "line {}: {}: {}", self.line, self.field, self.message)
    }
}

/// Reads and validates the file at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = fs_read(path)?;
    parse(&text).map_err(|error| match error {
        Parsed::Yaml { line, column, message } => ConfigError::Yaml { path: path.to_path_buf(), line, column, message },
        Parsed::Invalid(problems) => ConfigError::Invalid { path: path.to_path_buf(), problems },
    })
}

fn fs_read(path: &Path) -> Result<String, ConfigError> {
    #[expect(clippy::disallowed_methods, reason = "ConfigError::Read names the path")]
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })
}

/// Why a text is not a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    Yaml { line: usize, column: usize, message: String },
    Invalid(Vec<Problem>),
}

/// Parses and validates a configuration's text.
pub fn parse(text: &str) -> Result<Config, Parsed> {
    let documents = yaml::parse(text).map_err(|error| Parsed::Yaml {
        line: error.line,
        column: error.column,
        message: error.message,
    })?;
    let mut problems = Vec::new();
    let problem = |problems: &mut Vec<Problem>, node: &Node, field: &str, message: &str| {
        problems.push(Problem { line: node.line, field: field.to_owned(), message: message.to_owned() });
    };
    let Some(root) = documents.first() else {
        return Err(Parsed::Invalid(vec![Problem {
            line: 1,
            field: "resources".to_owned(),
            message: "empty config: list the resources to lease under `resources:`".to_owned(),
        }]));
    };
    let Some(list) = root.get("resources") else {
        return Err(Parsed::Invalid(vec![Problem {
            line: root.line,
            field: "resources".to_owned(),
            message: "empty config: list the resources to lease under `resources:`".to_owned(),
        }]));
    };
    let Value::Sequence(items) = &list.value else {
        return Err(Parsed::Invalid(vec![Problem {
            line: list.line,
            field: "resources".to_owned(),
            message: "expected a list of resource types".to_owned(),
        }]));
    };
    if items.is_empty() {
        problem(&mut problems, list, "resources", "empty config: list the resources to lease");
    }
    let mut entries = Vec::new();
    for (index, item) in items.iter().enumerate() {
        if let Some(entry) = entry(item, index, &mut problems) {
            entries.push(entry);
        }
    }
    check_uniqueness(&entries, &mut problems);
    check_needs(&entries, &mut problems);
    problems.sort_by_key(|problem| problem.line);
    if problems.is_empty() { Ok(Config { entries }) } else { Err(Parsed::Invalid(problems)) }
}

fn entry(item: &Node, index: usize, problems: &mut Vec<Problem>) -> Option<Entry> {
    let at = |field: &str| format!("resources[{index}].{field}");
    let mut push = |node: &Node, field: String, message: String| {
        problems.push(Problem { line: node.line, field, message });
    };
    if !item.is_mapping() {
        push(item, format!("resources[{index}]"), "expected a mapping with `type`".to_owned());
        return None;
    }
    let mut entry = Entry {
        kind: String::new(),
        state: "free".to_owned(),
        names: Vec::new(),
        min_count: 0,
        max_count: 0,
        lifespan: None,
        needs: BTreeMap::new(),
        reaper: Reaper::default(),
        janitor: None,
        line: item.line,
    };
    let (mut min_set, mut max_set) = (false, false);
    for (key, value) in item.entries() {
        let name = key.as_str().unwrap_or_default();
        match name {
            "type" => match value.as_non_null_str() {
                Some(kind) if !kind.is_empty() => kind.clone_into(&mut entry.kind),
                _ => push(value, at("type"), "must be set".to_owned()),
            },
            "state" => match value.as_non_null_str() {
                Some(state) if !state.is_empty() => state.clone_into(&mut entry.state),
                _ => push(value, at("state"), "must be a non-empty string".to_owned()),
            },
            "names" => match &value.value {
                Value::Sequence(names) => {
                    for (position, node) in names.iter().enumerate() {
                        match node.as_non_null_str() {
                            Some(text) if is_dns_subdomain(text) => entry.names.push(text.to_owned()),
                            Some(text) => push(
                                node,
                                at(&format!("names[{position}]")),
                                format!(
                                    "`{text}` is not a DNS-1123 subdomain (lowercase letters, digits, `-` and `.`, at most 253 characters)"
                                ),
                            ),
                            None => push(node, at(&format!("names[{position}]")), "expected a name".to_owned()),
                        }
                    }
                }
                _ => push(value, at("names"), "expected a list of names".to_owned()),
            },
            "min-count" => {
                min_set = true;
                entry.min_count = count(value, &at("min-count"), &mut push);
            }
            "max-count" => {
                max_set = true;
                entry.max_count = count(value, &at("max-count"), &mut push);
            }
            "lifespan" => match value.as_non_null_str().map(parse_duration) {
                Some(Ok(lifespan)) => entry.lifespan = Some(lifespan),
                Some(Err(message)) => push(value, at("lifespan"), message),
                None => push(value, at("lifespan"), "expected a duration such as 48h".to_owned()),
            },
            "needs" => {
                for (need, amount) in value.entries() {
                    let kind = need.as_str().unwrap_or_default().to_owned();
                    let amount = count(amount, &at(&format!("needs.{kind}")), &mut push);
                    entry.needs.insert(kind, amount);
                }
            }
            // Boskos passes it to mason; kept out of slipway's way.
            "config" => {}
            "reaper" => reaper(value, &at("reaper"), &mut entry.reaper, &mut push),
            "janitor" => entry.janitor = janitor(value, &at("janitor"), &mut push),
            other => push(key, at(other), "unknown key".to_owned()),
        }
    }
    if entry.kind.is_empty() && item.get("type").is_none() {
        push(item, at("type"), "must be set".to_owned());
    }
    if entry.names.is_empty() && item.get("names").is_none() {
        if entry.max_count == 0 {
            push(item, at("max-count"), "a dynamic type (one without names) needs max-count above 0".to_owned());
        } else if entry.min_count > entry.max_count {
            push(
                item,
                at("min-count"),
                format!("min-count {} is above max-count {}", entry.min_count, entry.max_count),
            );
        }
    } else if min_set || max_set {
        push(item, at("names"), "a static type (with names) cannot set min-count or max-count".to_owned());
    }
    Some(entry)
}

fn count(node: &Node, field: &str, push: &mut impl FnMut(&Node, String, String)) -> u32 {
    match node.as_non_null_str().map(str::parse::<u32>) {
        Some(Ok(value)) => value,
        _ => {
            push(node, field.to_owned(), "expected a whole number".to_owned());
            0
        }
    }
}

fn reaper(node: &Node, field: &str, reaper: &mut Reaper, push: &mut impl FnMut(&Node, String, String)) {
    if node.as_str() == Some("false") {
        reaper.enabled = false;
        return;
    }
    for (key, value) in node.entries() {
        match key.as_str().unwrap_or_default() {
            "enabled" => reaper.enabled = value.as_str() != Some("false"),
            "expire" => match value.as_non_null_str().map(parse_duration) {
                Some(Ok(expire)) if !expire.is_zero() => reaper.expire = expire,
                Some(Err(message)) => push(value, format!("{field}.expire"), message),
                _ => push(value, format!("{field}.expire"), "expected a duration above zero, such as 30m".to_owned()),
            },
            "states" => {
                reaper.states =
                    value.items().iter().filter_map(|state| state.as_non_null_str().map(str::to_owned)).collect();
            }
            "dest" => match value.as_non_null_str() {
                Some(dest) if !dest.is_empty() => dest.clone_into(&mut reaper.dest),
                _ => push(value, format!("{field}.dest"), "must be a state".to_owned()),
            },
            other => push(key, format!("{field}.{other}"), "unknown key".to_owned()),
        }
    }
}

fn janitor(node: &Node, field: &str, push: &mut impl FnMut(&Node, String, String)) -> Option<Janitor> {
    let mut janitor = Janitor { command: Vec::new(), pool: DEFAULT_POOL };
    for (key, value) in node.entries() {
        match key.as_str().unwrap_or_default() {
            "command" => {
                janitor.command = match &value.value {
                    Value::Sequence(items) => {
                        items.iter().filter_map(|item| item.as_str().map(str::to_owned)).collect()
                    }
                    Value::Scalar(text, _) => vec!["sh".to_owned(), "-c".to_owned(), text.clone()],
                    Value::Mapping(_) => Vec::new(),
                };
            }
            "pool" => match value.as_non_null_str().map(str::parse::<usize>) {
                Some(Ok(pool)) if pool > 0 => janitor.pool = pool,
                _ => push(value, format!("{field}.pool"), "expected a number above 0".to_owned()),
            },
            other => push(key, format!("{field}.{other}"), "unknown key".to_owned()),
        }
    }
    if janitor.command.is_empty() {
        push(node, format!("{field}.command"), "must name the command to run for each dirty resource".to_owned());
        return None;
    }
    Some(janitor)
}

fn check_uniqueness(entries: &[Entry], problems: &mut Vec<Problem>) {
    let mut kinds = BTreeSet::new();
    let mut names = BTreeSet::new();
    for (index, entry) in entries.iter().enumerate() {
        if !entry.kind.is_empty() && !kinds.insert(entry.kind.as_str()) {
            problems.push(Problem {
                line: entry.line,
                field: format!("resources[{index}].type"),
                message: format!("type `{}` is listed twice", entry.kind),
            });
        }
        for (position, name) in entry.names.iter().enumerate() {
            if !names.insert(name.as_str()) {
                problems.push(Problem {
                    line: entry.line,
                    field: format!("resources[{index}].names[{position}]"),
                    message: format!("`{name}` is a duplicate"),
                });
            }
        }
    }
}

fn check_needs(entries: &[Entry], problems: &mut Vec<Problem>) {
    let available = |kind: &str| -> u64 {
        entries
            .iter()
            .filter(|entry| entry.kind == kind)
            .map(|entry| if entry.is_dynamic() { u64::from(entry.max_count) } else { entry.names.len() as u64 })
            .sum()
    };
    for (index, entry) in entries.iter().enumerate() {
        for (kind, amount) in &entry.needs {
            let needed = u64::from(*amount) * u64::from(entry.max_count.max(1));
            if needed > available(kind) {
                problems.push(Problem {
                    line: entry.line,
                    field: format!("resources[{index}].needs.{kind}"),
                    message: format!("needs {needed} `{kind}` resources at most, but only {} exist", available(kind)),
                });
            }
        }
    }
}

/// A Go duration (`48h`, `1h30m`) or integer nanoseconds, as Boskos reads `lifespan`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    if let Ok(nanoseconds) = text.trim().parse::<u64>() {
        return Ok(Duration::from_nanos(nanoseconds));
    }
    slipway_job_model::duration::parse(text)
}

/// Whether `name` is a DNS-1123 subdomain, as Kubernetes (and Boskos) require of names.
pub fn is_dns_subdomain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.bytes().all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<String> {
        match parse(text) {
            Err(Parsed::Invalid(problems)) => problems.iter().map(ToString::to_string).collect(),
            other => panic!("expected problems, got {other:?}"),
        }
    }

    #[test]
    fn static_and_dynamic_entries_are_read() {
        let config = parse(
            "resources:\n- type: gce-project\n  state: dirty\n  names: [p-01, p-02]\n- type: aws-cluster\n  min-count: 1\n  max-count: 2\n  lifespan: 48h\n  reaper: {expire: 1h}\n  janitor: {command: [/bin/clean], pool: 3}\n",
        )
        .expect("valid");
        let [project, cluster] = config.entries.as_slice() else { panic!("two entries") };
        assert_eq!((project.kind.as_str(), project.state.as_str()), ("gce-project", "dirty"));
        assert_eq!(project.names, ["p-01", "p-02"]);
        assert!(!project.is_dynamic() && cluster.is_dynamic());
        assert_eq!((cluster.min_count, cluster.max_count, cluster.state.as_str()), (1, 2, "free"));
        assert_eq!(cluster.lifespan, Some(Duration::from_secs(48 * 3600)));
        assert_eq!(cluster.reaper.expire, Duration::from_secs(3600));
        assert_eq!(cluster.janitor, Some(Janitor { command: vec!["/bin/clean".to_owned()], pool: 3 }));
        assert_eq!(project.reaper, Reaper::default());
    }

    #[test]
    fn every_problem_is_reported_with_its_entry_and_line() {
        let found = problems(
            "resources:\n- type: a\n  names: [Upper, ok]\n- names: [ok]\n- type: d\n  max-count: 0\n- type: e\n  min-count: 3\n  max-count: 2\n- type: f\n  names: [x]\n  max-count: 2\n- type: a\n  names: [y]\n",
        );
        assert_eq!(
            found,
            [
                "line 3: resources[0].names[0]: `Upper` is not a DNS-1123 subdomain (lowercase letters, digits, `-` and `.`, at most 253 characters)",
                "line 4: resources[1].type: must be set",
                "line 4: resources[1].names[0]: `ok` is a duplicate",
                "line 5: resources[2].max-count: a dynamic type (one without names) needs max-count above 0",
                "line 7: resources[3].min-count: min-count 3 is above max-count 2",
                "line 10: resources[4].names: a static type (with names) cannot set min-count or max-count",
                "line 13: resources[5].type: type `a` is listed twice",
            ]
        );
    }

    #[test]
    fn an_empty_config_is_refused() {
        assert_eq!(problems("resources: []\n"), ["line 1: resources: empty config: list the resources to lease"]);
        assert!(problems("{}\n")[0].contains("empty config"));
    }

    #[test]
    fn needs_must_fit_what_exists() {
        let found = problems(
            "resources:\n- type: aws-account\n  names: [a1]\n- type: cluster\n  max-count: 2\n  needs: {aws-account: 1}\n",
        );
        assert_eq!(
            found,
            ["line 4: resources[1].needs.aws-account: needs 2 `aws-account` resources at most, but only 1 exist"]
        );
    }

    #[test]
    fn durations_are_go_strings_or_nanoseconds() {
        assert_eq!(parse_duration("90m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1000000000"), Ok(Duration::from_secs(1)));
        assert!(parse_duration("soon").is_err());
    }
}
