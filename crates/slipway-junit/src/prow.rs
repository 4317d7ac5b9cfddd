//! Prow build directories: which files of a tree are builds and JUnit files, and what
//! `started.json` and `finished.json` say about a build.
//!
//! A build directory is one that holds `started.json` or `finished.json` (Prow's
//! `logs/<job>/<build-id>/`, `pr-logs/pull/.../<job>/<build-id>/`, or slipway's own
//! `.slipway/artifacts/logs/<job>/<build-id>/`). Its job is the name of the directory above it and
//! its build id its own name, as TestGrid reads them from the path. Its JUnit candidates are the
//! `*.xml` (and `*.xml.gz`) files under `artifacts/`; a directory without builds offers all of its
//! `*.xml` files (not in hidden directories). A glob replaces either default. Which candidates are
//! JUnit is then decided by their content (the root element), not their name: TestGrid's
//! `junit*.xml` pattern missed reports named otherwise (`report.xml`, `TEST-*.xml`).

use serde_json::Value;

pub(crate) const STARTED: &str = "started.json";
pub(crate) const FINISHED: &str = "finished.json";

/// One build directory found in a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BuildFiles {
    /// Relative to the listing's root, without a trailing `/`; empty when the root is the build.
    pub(crate) directory: String,
    pub(crate) has_started: bool,
    pub(crate) has_finished: bool,
    /// Relative to the listing's root, sorted.
    pub(crate) junit: Vec<String>,
}

impl BuildFiles {
    /// The key of a file of this build.
    pub(crate) fn key(&self, name: &str) -> String {
        join(&self.directory, name)
    }
}

/// What a listing holds: build directories, or (when there are none) loose JUnit files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Layout {
    pub(crate) builds: Vec<BuildFiles>,
    pub(crate) loose: Vec<String>,
}

/// Whether `path` (relative to the listing's root, or to a build directory) is a JUnit candidate:
/// it matches `glob`, or without one ends in `.xml` or `.xml.gz` outside hidden directories.
fn candidate(path: &str, glob: Option<&globset::GlobMatcher>) -> bool {
    match glob {
        Some(glob) => glob.is_match(path),
        None => {
            (path.ends_with(".xml") || path.ends_with(".xml.gz"))
                && !path.split('/').any(|component| component.starts_with('.'))
        }
    }
}

/// Sorts the keys of a listing (`/`-separated, relative to its root) into builds and JUnit
/// candidates.
pub(crate) fn layout(keys: &[String], glob: Option<&globset::GlobMatcher>) -> Layout {
    let mut directories: Vec<&str> = keys
        .iter()
        .filter_map(|key| {
            let (directory, name) = key.rsplit_once('/').unwrap_or(("", key));
            (name == STARTED || name == FINISHED).then_some(directory)
        })
        .collect();
    directories.sort_unstable();
    directories.dedup();
    // A build directory never holds another: what looks like one inside (a copy under
    // artifacts/) belongs to the outer build.
    let outer: Vec<&str> = directories
        .iter()
        .copied()
        .filter(|directory| !directories.iter().any(|other| other != directory && is_inside(directory, other)))
        .collect();
    if outer.is_empty() {
        let mut loose: Vec<String> = keys.iter().filter(|key| candidate(key, glob)).cloned().collect();
        loose.sort_unstable();
        return Layout { builds: Vec::new(), loose };
    }
    let builds = outer
        .into_iter()
        .map(|directory| {
            let artifacts = join(directory, "artifacts/");
            let within =
                |key: &str| if directory.is_empty() { key.to_owned() } else { key[directory.len() + 1..].to_owned() };
            let mut junit: Vec<String> = keys
                .iter()
                .filter(|key| match glob {
                    Some(_) => key.starts_with(&join(directory, "")) && candidate(&within(key), glob),
                    None => key.starts_with(&artifacts) && candidate(&within(key), None),
                })
                .cloned()
                .collect();
            junit.sort_unstable();
            let has = |name: &str| keys.iter().any(|key| *key == join(directory, name));
            BuildFiles {
                directory: directory.to_owned(),
                has_started: has(STARTED),
                has_finished: has(FINISHED),
                junit,
            }
        })
        .collect();
    Layout { builds, loose: Vec::new() }
}

fn is_inside(directory: &str, other: &str) -> bool {
    other.is_empty() || directory.strip_prefix(other).is_some_and(|rest| rest.starts_with('/'))
}

fn join(directory: &str, name: &str) -> String {
    if directory.is_empty() { name.to_owned() } else { format!("{directory}/{name}") }
}

/// The job and build id of a build directory at `location` (a path or URL): its parent's name
/// and its own.
pub(crate) fn job_and_build(location: &str) -> Option<(String, String)> {
    let mut segments = location.split('/').filter(|segment| !segment.is_empty() && *segment != ".");
    let build = segments.next_back()?;
    let job = segments.next_back()?;
    (!job.ends_with(':')).then(|| (job.to_owned(), build.to_owned()))
}

/// What a build's metadata files say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Metadata {
    pub(crate) started: Option<i64>,
    pub(crate) finished: Option<i64>,
    pub(crate) passed: Option<bool>,
    pub(crate) version: Option<String>,
}

/// Reads `started.json` and `finished.json` (either may be absent: `Value::Null`).
pub(crate) fn metadata(started: &Value, finished: &Value) -> Metadata {
    let timestamp = |value: &Value| value.get("timestamp").and_then(|stamp| stamp.as_i64().or_else(|| float(stamp)));
    let passed = finished.get("passed").and_then(Value::as_bool).or_else(|| {
        finished.get("result").and_then(Value::as_str).map(|result| result.eq_ignore_ascii_case("success"))
    });
    Metadata { started: timestamp(started), finished: timestamp(finished), passed, version: version(started, finished) }
}

fn float(value: &Value) -> Option<i64> {
    value.as_f64().filter(|seconds| seconds.is_finite()).map(|seconds| seconds as i64)
}

/// TestGrid's version of a build (`metadata.Version`): the first non-empty of finished's and
/// started's deprecated `job-version`, started's and finished's `repo-version`, finished's
/// `metadata.revision`, `metadata.repo-commit`, `metadata.job-version`, and started's
/// `repo-commit`; the part after the first `+`, at most 9 characters.
pub fn version(started: &Value, finished: &Value) -> Option<String> {
    let field = |value: &Value, key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
    let metadata = |key: &str| finished.get("metadata").and_then(|metadata| field(metadata, key));
    let candidates = [
        field(finished, "job-version"),
        field(started, "job-version"),
        field(started, "repo-version"),
        field(finished, "repo-version"),
        metadata("revision"),
        metadata("repo-commit"),
        metadata("job-version"),
        field(started, "repo-commit"),
    ];
    let value = candidates.into_iter().flatten().find(|value| !value.is_empty())?;
    let value = value.split_once('+').map_or(value.as_str(), |(_, after)| after);
    Some(value.chars().take(9).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(keys: &[&str]) -> Vec<String> {
        keys.iter().map(|key| (*key).to_owned()).collect()
    }

    #[test]
    fn builds_are_the_directories_with_started_or_finished() {
        let layout = layout(
            &keys(&[
                "logs/unit/2/started.json",
                "logs/unit/2/artifacts/junit_1.xml",
                "logs/unit/2/artifacts/copy/started.json",
                "logs/unit/2/artifacts/sub/junit_runner.xml",
                "logs/unit/2/artifacts/report.xml.gz",
                "logs/unit/2/artifacts/build-log.txt",
                "logs/unit/2/junit.xml",
                "logs/unit/latest-build.txt",
                "logs/e2e/7/finished.json",
            ]),
            None,
        );
        assert!(layout.loose.is_empty());
        assert_eq!(
            layout.builds,
            [
                BuildFiles {
                    directory: "logs/e2e/7".to_owned(),
                    has_started: false,
                    has_finished: true,
                    junit: vec![]
                },
                BuildFiles {
                    directory: "logs/unit/2".to_owned(),
                    has_started: true,
                    has_finished: false,
                    junit: keys(&[
                        "logs/unit/2/artifacts/junit_1.xml",
                        "logs/unit/2/artifacts/report.xml.gz",
                        "logs/unit/2/artifacts/sub/junit_runner.xml"
                    ]),
                },
            ]
        );
        let root = layout_of_root();
        assert_eq!((root.builds[0].directory.as_str(), root.builds[0].junit.len()), ("", 1));
    }

    fn layout_of_root() -> Layout {
        layout(&keys(&["started.json", "finished.json", "artifacts/junit.xml"]), None)
    }

    #[test]
    fn without_builds_every_xml_file_is_a_candidate() {
        let listing = keys(&["junit.xml", "reports/TEST-a.xml", "pom.xml", ".git/x.xml", "notes.txt"]);
        assert_eq!(layout(&listing, None).loose, keys(&["junit.xml", "pom.xml", "reports/TEST-a.xml"]));
        let glob = globset::Glob::new("reports/**/*.xml").expect("glob").compile_matcher();
        assert_eq!(layout(&listing, Some(&glob)).loose, keys(&["reports/TEST-a.xml"]));
        let build = keys(&["logs/u/1/started.json", "logs/u/1/artifacts/a.xml", "logs/u/1/out/junit.xml"]);
        let glob = globset::Glob::new("out/*.xml").expect("glob").compile_matcher();
        assert_eq!(layout(&build, Some(&glob)).builds[0].junit, keys(&["logs/u/1/out/junit.xml"]));
    }

    #[test]
    fn job_and_build_come_from_the_path() {
        assert_eq!(job_and_build("/srv/logs/ci-e2e/1795/"), Some(("ci-e2e".to_owned(), "1795".to_owned())));
        assert_eq!(job_and_build("s3://bucket/logs/unit/12"), Some(("unit".to_owned(), "12".to_owned())));
        assert_eq!(job_and_build("s3://bucket"), None);
        assert_eq!(job_and_build("/only"), None);
    }

    #[test]
    fn version_follows_testgrid() {
        let started = serde_json::json!({"timestamp": 1, "repo-commit": "0123456789abcdef"});
        assert_eq!(version(&started, &Value::Null).as_deref(), Some("012345678"));
        let finished = serde_json::json!({"metadata": {"job-version": "v1.31.0-alpha.1+fedcba9876543210"}});
        assert_eq!(version(&started, &finished).as_deref(), Some("fedcba987"));
        let finished = serde_json::json!({"job-version": "", "revision": "x", "metadata": {"revision": "v1.2.3"}});
        assert_eq!(version(&started, &finished).as_deref(), Some("v1.2.3"));
        assert_eq!(version(&Value::Null, &Value::Null), None);
    }

    #[test]
    fn metadata_reads_times_and_outcome() {
        let started = serde_json::json!({"timestamp": 100});
        let finished = serde_json::json!({"timestamp": 160, "passed": null, "result": "FAILURE"});
        let metadata = metadata(&started, &finished);
        assert_eq!((metadata.started, metadata.finished, metadata.passed), (Some(100), Some(160), Some(false)));
        let running = self::metadata(&started, &Value::Null);
        assert_eq!((running.finished, running.passed), (None, None));
    }
}
