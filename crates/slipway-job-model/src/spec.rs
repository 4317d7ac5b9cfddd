//! Jobs as `slipway.yaml` writes them (`jobs:`), and as `job import-prow` prints them.
//!
//! These are plain data: strings as the user wrote them. [`crate::resolve`] turns a [`JobSpec`]
//! into a checked [`crate::Job`], with an error that names the job and the field.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One job: what to run, where, when, and with which versions.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct JobSpec {
    /// Unique within the file; `[A-Za-z0-9._-]+` as in Prow.
    pub name: String,
    /// The command: a string is run by `sh -c`, a list is run as it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandSpec>,
    /// Run in this container image (through podman or docker) instead of on the host.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Arguments after the command (Kubernetes `args`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Environment variables the job gets, on top of what slipway injects.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// The working directory: relative to the project (or, in a container, to `/workspace`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workdir: Option<String>,
    /// How long a run may take (`90m`, `2h`, `1h30m`); default 2h.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// How long a run may take to stop after SIGTERM before it is killed; default 15s.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grace_period: Option<String>,
    /// Five-field cron schedule (or `@daily` and friends).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cron: Option<String>,
    /// IANA time zone the cron schedule is read in; default UTC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Run this long after the previous run started (`1h`, `24h`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// Run this long after the previous run finished.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimum_interval: Option<String>,
    /// Whether a scheduled start is skipped while the previous run of the job is still going
    /// (default true, as Prow does). With false, runs overlap up to `max_concurrency`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_if_running: Option<bool>,
    /// How many runs of this job may go at once; 0 or absent means no limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_concurrency: Option<u32>,
    /// When a container job pulls its image: `always`, `missing` (default) or `never`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_policy: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// A version matrix: one run per entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matrix: Option<MatrixSpec>,
    /// Tests to skip on some Kubernetes versions; a run gets the rules that match its version
    /// as one regular expression in `SKIP_REGEX`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skip: Vec<SkipSpec>,
    /// The tests to run (a regular expression), passed on as `FOCUS_REGEX`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub focus: Option<String>,
    /// Host directories or empty directories mounted into a container job.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<VolumeSpec>,
    /// Repositories checked out into the workspace before the job starts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra_refs: Vec<RefSpec>,
    /// Leases each run holds while it runs (`[{type: gce-project}]`), from the lease server
    /// (`leases.server`, else `$BOSKOS_HOST`); released dirty after the run.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub leases: Vec<LeaseSpec>,
    /// Names of `env` entries whose values are secrets: masked (`***`) in the build log.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secret_env: Vec<String>,
    /// Files (relative to the project) whose contents are secrets: masked in the build log,
    /// whole and line by line.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secret_files: Vec<String>,
    /// A test environment each run gets: `kind` brings up a kind cluster on the node image of
    /// the run's Kubernetes version (see `slipway env`), passes `KUBECONFIG` and
    /// `KIND_NODE_IMAGE`, and deletes it after the run (kept with `job run --keep-env`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// What a Prow job had that slipway does not use, kept unchanged (`job import-prow`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prow: Option<serde_json::Value>,
}

/// A lease a job needs: `count` resources of a type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseSpec {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub count: u32,
}

fn one() -> u32 {
    1
}

#[expect(clippy::trivially_copy_pass_by_ref, reason = "serde's skip_serializing_if passes a reference")]
fn is_one(count: &u32) -> bool {
    *count == 1
}

/// A command: one shell line, or an argument vector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum CommandSpec {
    Shell(String),
    Argv(Vec<String>),
}

/// Reads a string or a list of scalars; YAML's `[true]` or `[sleep, 30]` are arguments `true`
/// and `30`, not type errors.
impl<'de> Deserialize<'de> for CommandSpec {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = CommandSpec;

            fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str("a command line (a string) or a list of arguments")
            }

            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<CommandSpec, E> {
                Ok(CommandSpec::Shell(value.to_owned()))
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut items: A) -> Result<CommandSpec, A::Error> {
                let mut argv = Vec::new();
                while let Some(Argument(item)) = items.next_element()? {
                    argv.push(item);
                }
                Ok(CommandSpec::Argv(argv))
            }
        }

        deserializer.deserialize_any(Visitor)
    }
}

/// One argument: any scalar, as text.
struct Argument(String);

impl<'de> Deserialize<'de> for Argument {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl serde::de::Visitor<'_> for Visitor {
            type Value = Argument;

            fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str("an argument (a string, number or boolean)")
            }

            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Argument, E> {
                Ok(Argument(value.to_owned()))
            }

            fn visit_bool<E: serde::de::Error>(self, value: bool) -> Result<Argument, E> {
                Ok(Argument(value.to_string()))
            }

            fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<Argument, E> {
                Ok(Argument(value.to_string()))
            }

            fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<Argument, E> {
                Ok(Argument(value.to_string()))
            }

            fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<Argument, E> {
                Ok(Argument(value.to_string()))
            }
        }

        deserializer.deserialize_any(Visitor)
    }
}

/// `matrix:`: the Kubernetes versions to run against.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct MatrixSpec {
    /// Versions (`v1.31.2`) or marker names (`stable-1.30`, `latest-1.32`, `stable`).
    pub kubernetes: Vec<String>,
}

/// `skip:` entry: tests matching `tests` are skipped on versions in range `kubernetes`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct SkipSpec {
    /// A version range such as `<1.27`, `>=1.30, <1.32` or `1.29` (every 1.29.x).
    pub kubernetes: String,
    /// A regular expression of test names.
    pub tests: String,
}

/// A volume for a container job.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct VolumeSpec {
    pub name: String,
    /// Where it is mounted in the container.
    pub mount_path: String,
    /// The host directory; absent means a fresh empty directory for each run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_path: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
    /// Why slipway cannot provide this volume's content (a Kubernetes secret or config map);
    /// such a volume is mounted empty unless a run maps it to a host directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
}

/// A repository to check out (Prow `extra_refs`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct RefSpec {
    pub org: String,
    pub repo: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_ref: Option<String>,
    /// Checked out at `src/<path_alias>` instead of `src/github.com/<org>/<repo>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_alias: Option<String>,
    /// This checkout becomes the job's working directory.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub workdir: bool,
    /// Where to clone from; default `https://github.com/<org>/<repo>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clone_uri: Option<String>,
}

impl RefSpec {
    /// The directory under the workspace's `src/` this ref is checked out to.
    pub fn checkout_path(&self) -> String {
        match &self.path_alias {
            Some(alias) => alias.clone(),
            None => format!("github.com/{}/{}", self.org, self.repo),
        }
    }
}

/// The `matrix:` section of slipway.yaml: where marker names are read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct MatrixSection {
    /// Base URL of the Kubernetes version markers (default `https://dl.k8s.io`): `stable-1.30`
    /// is read from `<base>/release/stable-1.30.txt`, `ci/latest` from `<base>/ci/latest.txt`.
    pub markers_url: Option<String>,
}
