//! Finding and reading `slipway.yaml`, composing the sections each crate owns.
//!
//! The file is found by walking up from `--repo` or the current directory, no further than the
//! top of the git repository (or named by `--config`). The project's root is the directory of
//! that file; without one it is `--repo` as given, else the git repository's top level, so every
//! command works the same from any subdirectory. Unknown keys are warnings that name the file,
//! line and key, never silent and never fatal; malformed YAML is an error that names the file
//! and line.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use slipway_jobs::spec::{JobSpec, MatrixSection};
use slipway_oci::RegistriesSection;
use slipway_oci::build::ImageSection;
use slipway_release::config::{ChartVersionPolicy, ProjectSection, ReleaseSection};
use slipway_release::yaml::{self, Node};
use slipway_store::StoreSection;

/// The name slipway looks for.
pub(crate) const FILE_NAME: &str = "slipway.yaml";

/// The whole file: one field per section, each owned by its crate.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ConfigFile {
    pub(crate) project: ProjectSection,
    pub(crate) release: ReleaseSection,
    pub(crate) registries: RegistriesSection,
    pub(crate) images: Vec<ImageSection>,
    pub(crate) jobs: Vec<JobSpec>,
    pub(crate) matrix: MatrixSection,
    pub(crate) store: StoreSection,
    pub(crate) artifacts: slipway_artifacts::ArtifactsSection,
    pub(crate) prow: slipway_prow::ProwSection,
    pub(crate) cache: slipway_oci::build::cache::CacheSection,
    pub(crate) runs: slipway_jobs::retention::RunsSection,
    pub(crate) leases: slipway_lease::environment::LeasesSection,
    pub(crate) env: slipway_env::config::EnvSection,
    pub(crate) results: slipway_results::config::ResultsSection,
}

/// The options every command takes: `--config` and `--repo`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Globals {
    /// `--config FILE`.
    pub(crate) config: Option<PathBuf>,
    /// `--repo DIR`.
    pub(crate) repo: Option<PathBuf>,
}

/// A loaded configuration and what was odd about it.
#[derive(Debug, Default)]
pub(crate) struct Loaded {
    /// The project's root: the directory of the file read, else `--repo`, else the git
    /// repository's top level, else the current directory.
    pub(crate) root: PathBuf,
    /// The directory of the file read, if any.
    pub(crate) directory: Option<PathBuf>,
    /// Its content (defaults when there is no file).
    pub(crate) file: ConfigFile,
    /// Warnings for people (unknown keys).
    pub(crate) warnings: Vec<crate::warnings::Warning>,
    /// The file read, if any.
    pub(crate) path: Option<PathBuf>,
    /// The keys the environment set, with the variable that set each.
    pub(crate) from_environment: Vec<(&'static str, &'static str)>,
}

impl Loaded {
    /// Turns a crate's complaint about a key (`images[0].build`) into an error that says where
    /// the value came from: the file and line, or the environment variable.
    pub(crate) fn invalid_key(&self, key: &str, message: &str) -> Option<ConfigError> {
        let dotted = key.replace('[', ".").replace(']', "");
        if let Some((variable, _)) = self.from_environment.iter().find(|(_, set)| *set == dotted) {
            return Some(ConfigError::Environment { variable, message: message.to_owned() });
        }
        let path = self.path.as_ref()?;
        let text = fs_err::read_to_string(path).ok()?;
        let tree = yaml::parse(&text).ok()?;
        let line = line_of(tree.first()?, &dotted)?;
        Some(ConfigError::InvalidKey {
            path: path.clone(),
            line: line as u64,
            key: key.to_owned(),
            message: message.to_owned(),
        })
    }
}

/// A configuration file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConfigError {
    #[error("could not read `{}`", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid `{}` at line {line}, column {column}: {message}", path.display())]
    Invalid { path: PathBuf, line: u64, column: u64, message: String },
    #[error("invalid `{key}` in `{}` at line {line}: {message}", path.display())]
    InvalidKey { path: PathBuf, line: u64, key: String, message: String },
    #[error("invalid environment variable `{variable}`: {message}")]
    Environment { variable: &'static str, message: String },
    #[error("`{}` (--repo) is not a directory", path.display())]
    NotADirectory { path: PathBuf },
}

/// The environment variables that set file keys (flags have their own, in `cli.rs`). Each
/// replaces the key from the file; the README lists them.
pub(crate) const ENVIRONMENT: &[(&str, &str)] = &[
    ("SLIPWAY_PROJECT_NAME", "project.name"),
    ("SLIPWAY_PROJECT_REPOSITORY", "project.repository"),
    ("SLIPWAY_RELEASE_TAG_PREFIX", "release.tag_prefix"),
    ("SLIPWAY_RELEASE_IMAGE_TAG_PREFIX", "release.image_tag_prefix"),
    ("SLIPWAY_RELEASE_CHART_VERSION", "release.chart_version"),
    ("SLIPWAY_RELEASE_COMMIT_MESSAGE", "release.commit_message"),
    ("SLIPWAY_ARTIFACTS_STORAGE", "artifacts.storage"),
    ("SLIPWAY_PROW_CONFIG", "prow.config"),
    ("SLIPWAY_CACHE_MAX_SIZE", "cache.max_size"),
    ("SLIPWAY_CACHE_MAX_AGE", "cache.max_age"),
    ("SLIPWAY_LEASES_SERVER", "leases.server"),
    ("SLIPWAY_LEASES_CONFIG", "leases.config"),
    ("SLIPWAY_ENV_KIND", "env.kind"),
    ("SLIPWAY_ENV_REGISTRY", "env.registry"),
    ("SLIPWAY_ENV_MARKERS_URL", "env.markers_url"),
    ("SLIPWAY_ENV_KIND_RELEASES_URL", "env.kind_releases_url"),
    ("SLIPWAY_RESULTS_ALERTS_WEBHOOK", "results.alerts.webhook"),
];

/// Applies the [`ENVIRONMENT`] layer on top of the file, reading variables through `lookup`.
/// Returns the variables it applied, with their keys.
pub(crate) fn apply_environment(
    file: &mut ConfigFile,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Vec<(&'static str, &'static str)>, ConfigError> {
    let mut applied = Vec::new();
    for (variable, key) in ENVIRONMENT {
        let Some(value) = lookup(variable) else {
            continue;
        };
        applied.push((*variable, *key));
        match *key {
            "project.name" => file.project.name = Some(value),
            "project.repository" => file.project.repository = Some(value),
            "release.tag_prefix" => file.release.tag_prefix = Some(value),
            "release.image_tag_prefix" => file.release.image_tag_prefix = Some(value),
            "release.commit_message" => file.release.commit_message = Some(value),
            "artifacts.storage" => file.artifacts.storage = Some(value),
            "cache.max_size" => file.cache.max_size = Some(value),
            "cache.max_age" => file.cache.max_age = Some(value),
            "leases.server" => file.leases.server = Some(value),
            "leases.config" => file.leases.config = Some(value),
            "env.kind" => file.env.kind = Some(value),
            "env.registry" => file.env.registry = Some(value),
            "env.markers_url" => file.env.markers_url = Some(value),
            "env.kind_releases_url" => file.env.kind_releases_url = Some(value),
            "results.alerts.webhook" => file.results.alerts.webhook = Some(value),
            "prow.config" => {
                file.prow.config =
                    value.split(',').map(str::trim).filter(|path| !path.is_empty()).map(str::to_owned).collect();
            }
            "release.chart_version" => {
                file.release.chart_version = match value.as_str() {
                    "auto" => ChartVersionPolicy::Auto,
                    "follow" => ChartVersionPolicy::Follow,
                    "independent" => ChartVersionPolicy::Independent,
                    _ => {
                        return Err(ConfigError::Environment {
                            variable,
                            message: format!("`{value}` is not one of auto, follow, independent"),
                        });
                    }
                };
            }
            _ => unreachable!("every ENVIRONMENT key is handled"),
        }
    }
    Ok(applied)
}

/// Loads `--config`, or the nearest `slipway.yaml` at or above `--repo` (or the current
/// directory), then the environment, and works out the project's root.
pub(crate) fn load(globals: &Globals) -> Result<Loaded, ConfigError> {
    let current = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let start = match &globals.repo {
        Some(repo) => {
            if !repo.is_dir() {
                return Err(ConfigError::NotADirectory { path: repo.clone() });
            }
            repo.canonicalize().unwrap_or_else(|_| repo.clone())
        }
        None => current.canonicalize().unwrap_or(current),
    };
    let mut loaded = load_file(globals.config.as_deref(), &start)?;
    loaded.root = match (&loaded.directory, &globals.repo) {
        (Some(directory), _) if globals.config.is_none() => directory.clone(),
        (_, Some(_)) => start,
        _ => git_toplevel(&start).unwrap_or(start),
    };
    loaded.from_environment =
        apply_environment(&mut loaded.file, |name| std::env::var(name).ok().filter(|value| !value.is_empty()))?;
    let _ = PROJECT_ROOT.set(loaded.root.clone());
    Ok(loaded)
}

/// The project root the command resolved, for [`ignore_state_directory`].
static PROJECT_ROOT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Keeps slipway's own state (`.slipway/`: the database, runs, artifacts, caches) out of
/// `git status` and `git add --all`: when the command made that directory in the project and
/// it has no `.gitignore`, one that ignores everything is written there. Commands that only read
/// make no directory, so this writes nothing for them.
pub(crate) fn ignore_state_directory() {
    let Some(root) = PROJECT_ROOT.get() else {
        return;
    };
    let state = root.join(".slipway");
    let ignore = state.join(".gitignore");
    if state.is_dir() && !ignore.exists() {
        let _ = fs_err::write(ignore, "# slipway's local state; never committed.\n*\n");
    }
}

/// The nearest directory at or above `start` that holds `.git` (a directory, or a file in a
/// worktree or submodule).
fn git_toplevel(start: &Path) -> Option<PathBuf> {
    start.ancestors().find(|directory| directory.join(".git").exists()).map(Path::to_path_buf)
}

fn load_file(explicit: Option<&Path>, start: &Path) -> Result<Loaded, ConfigError> {
    let path = match explicit {
        Some(path) => Some(path.to_path_buf()),
        None => find(start),
    };
    let Some(path) = path else {
        return Ok(Loaded::default());
    };
    let text = fs_err::read_to_string(&path).map_err(|source| ConfigError::Read { path: path.clone(), source })?;
    let tree = yaml::parse(&text).map_err(|error| ConfigError::Invalid {
        path: path.clone(),
        line: error.line as u64,
        column: error.column as u64,
        message: error.message,
    })?;
    let directory = path.canonicalize().ok().and_then(|path| path.parent().map(Path::to_path_buf));
    let Some(root) = tree.first() else {
        return Ok(Loaded { directory, path: Some(path), ..Loaded::default() });
    };
    if !root.is_mapping() {
        return Err(ConfigError::Invalid {
            path,
            line: root.line as u64,
            column: 1,
            message:
                "expected a mapping of sections (project, release, registries, images, jobs, matrix, store, artifacts, prow, cache, runs, leases)"
                    .to_owned(),
        });
    }
    let mut unknown = Vec::new();
    let file: ConfigFile = serde_saphyr::with_deserializer_from_str(&text, |deserializer| {
        serde_ignored::deserialize(deserializer, |ignored| unknown.push(ignored.to_string()))
    })
    .map_err(|error| {
        let location = error.location();
        ConfigError::Invalid {
            path: path.clone(),
            line: location.map_or(1, |location| location.line()),
            column: location.map_or(1, |location| location.column()),
            message: first_line(&error.without_snippet().to_string()),
        }
    })?;
    let warnings = unknown
        .iter()
        .map(|key| crate::warnings::Warning::UnknownKey {
            file: path.clone(),
            line: line_of(root, key),
            key: key.clone(),
        })
        .collect();
    Ok(Loaded { root: PathBuf::new(), directory, file, warnings, path: Some(path), from_environment: Vec::new() })
}

/// The nearest `slipway.yaml` at or above `start`, looking no higher than the git repository's
/// top level (a stray file in a home directory is not this project's).
fn find(start: &Path) -> Option<PathBuf> {
    let start = start.canonicalize().unwrap_or_else(|_| start.to_path_buf());
    for directory in start.ancestors() {
        let candidate = directory.join(FILE_NAME);
        if candidate.is_file() {
            return Some(candidate);
        }
        if directory.join(".git").exists() {
            return None;
        }
    }
    None
}

/// The first line of a deserializer message, without the location it repeats.
fn first_line(message: &str) -> String {
    let line = message.lines().next().unwrap_or(message).trim();
    match line.rfind(" at line ") {
        Some(index) if line[index..].contains(", column ") => line[..index].to_owned(),
        _ => line.to_owned(),
    }
}

/// The line of a dotted key path (`release.version_files.0.patern`) in the tree.
fn line_of(root: &Node, key: &str) -> Option<usize> {
    let mut node = root;
    let mut line = None;
    for part in key.split('.') {
        if let Ok(index) = part.parse::<usize>()
            && let Some(item) = node.items().get(index)
        {
            node = item;
            line = Some(item.line);
            continue;
        }
        let (key_node, value) = node.entries().iter().find(|(candidate, _)| candidate.as_str() == Some(part))?;
        line = Some(key_node.line);
        node = value;
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> Result<Loaded, ConfigError> {
        let directory = tempfile::tempdir().expect("temporary directory");
        let path = directory.path().join(FILE_NAME);
        fs_err::write(&path, text).expect("write config");
        load_file(Some(&path), directory.path()).map(|mut loaded| {
            for warning in &mut loaded.warnings {
                if let crate::warnings::Warning::UnknownKey { file, .. } = warning {
                    *file = PathBuf::from(FILE_NAME);
                }
            }
            loaded
        })
    }

    #[test]
    fn reads_sections_and_warns_about_unknown_keys() {
        let loaded = load_text(
            "project:\n  name: demo\nrelease:\n  imgaes: [x]\n  platforms: [linux/amd64]\n  version_files:\n  - path: v.go\n    pattern: 'v(.*)'\n    patern: x\nenvironments: {}\n",
        )
        .expect("valid");
        assert_eq!(loaded.file.project.name.as_deref(), Some("demo"));
        assert_eq!(loaded.file.release.platforms, ["linux/amd64"]);
        let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            warnings,
            [
                "slipway.yaml:4: unknown key `release.imgaes` is ignored",
                "slipway.yaml:9: unknown key `release.version_files.0.patern` is ignored",
                "slipway.yaml:10: unknown key `environments` is ignored",
            ]
        );
    }

    #[test]
    fn malformed_files_name_the_line() {
        let error = load_text("release:\n  images: [unclosed\n").expect_err("malformed");
        assert!(matches!(error, ConfigError::Invalid { line, .. } if line >= 2), "{error}");
        let error = load_text("release:\n  platforms: linux/amd64\n").expect_err("wrong type");
        assert!(matches!(error, ConfigError::Invalid { line: 2, .. }), "{error}");
    }

    #[test]
    fn the_environment_replaces_file_keys() {
        let mut loaded = load_text("release:\n  tag_prefix: v\n").expect("valid");
        let environment = |name: &str| match name {
            "SLIPWAY_RELEASE_TAG_PREFIX" => Some("cluster-autoscaler-".to_owned()),
            "SLIPWAY_RELEASE_CHART_VERSION" => Some("independent".to_owned()),
            _ => None,
        };
        apply_environment(&mut loaded.file, environment).expect("valid values");
        assert_eq!(loaded.file.release.tag_prefix.as_deref(), Some("cluster-autoscaler-"));
        assert_eq!(loaded.file.release.chart_version, ChartVersionPolicy::Independent);
        let error = apply_environment(&mut loaded.file, |name| {
            (name == "SLIPWAY_RELEASE_CHART_VERSION").then(|| "sometimes".to_owned())
        })
        .expect_err("invalid value");
        assert_eq!(
            error.to_string(),
            "invalid environment variable `SLIPWAY_RELEASE_CHART_VERSION`: `sometimes` is not one of auto, follow, independent"
        );
    }

    #[test]
    fn invalid_keys_are_located_in_the_file_or_the_environment() {
        let directory = tempfile::tempdir().expect("temporary directory");
        let path = directory.path().join(FILE_NAME);
        fs_err::write(&path, "release:\n  tag_prefix: v\nimages:\n  - repository: x\n    build: make {os}\n")
            .expect("write config");
        let mut loaded = load_file(Some(&path), directory.path()).expect("valid");
        let error = loaded.invalid_key("images[0].build", "bad").expect("located");
        assert!(matches!(&error, ConfigError::InvalidKey { line: 5, .. }), "{error}");
        assert!(loaded.invalid_key("images[3].build", "bad").is_none(), "no such item");
        loaded.from_environment = vec![("SLIPWAY_RELEASE_TAG_PREFIX", "release.tag_prefix")];
        let error = loaded.invalid_key("release.tag_prefix", "bad").expect("located");
        assert_eq!(error.to_string(), "invalid environment variable `SLIPWAY_RELEASE_TAG_PREFIX`: bad");
    }

    #[test]
    fn an_empty_file_is_the_defaults() {
        let loaded = load_text("# nothing yet\n").expect("valid");
        assert!(loaded.file.release.images.is_empty() && loaded.warnings.is_empty());
    }
}
