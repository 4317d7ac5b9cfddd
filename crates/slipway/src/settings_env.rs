//! Resolving the `env` commands' arguments and `slipway.yaml`'s `env:` section into the
//! settings they run on, once per command, with what was assumed.

use std::path::PathBuf;
use std::time::Duration;

use slipway_env::config::EnvConfig;
use slipway_env::kind_releases::KindReleases;
use slipway_env::markers::MarkerSource;
use slipway_env::node_image::{Plan, Sources};
use slipway_env::policy::{Chosen, Policy};
use slipway_oci::{Registry, RegistryOptions};

use crate::cli::RegistryArgs;
use crate::cli_env::EnvResolveArgs;
use crate::config_file::{Globals, Loaded};
use crate::errors::UsageError;
use crate::warnings::Warning;

/// Everything an `env` command runs on.
pub(crate) struct EnvSettings {
    pub(crate) root: PathBuf,
    pub(crate) config: EnvConfig,
    /// The matrix as configured: `env.kubernetes`, else every job's `matrix.kubernetes`.
    pub(crate) configured: Vec<String>,
    pub(crate) markers: MarkerSource,
    pub(crate) releases: KindReleases,
    pub(crate) lock_path: PathBuf,
    /// `.slipway/env`: clusters, build logs.
    pub(crate) state: PathBuf,
    pub(crate) verified_cache: PathBuf,
    pub(crate) insecure: Vec<String>,
    pub(crate) warnings: Vec<Warning>,
}

/// A resolution to run: the plan, and the policy with the branch that chose it.
pub(crate) struct Resolution {
    pub(crate) plan: Plan,
    pub(crate) chosen: Chosen,
    pub(crate) branch: Option<String>,
    pub(crate) policy_overridden: bool,
    /// Said on stderr: what was assumed.
    pub(crate) notes: Vec<String>,
    pub(crate) build: bool,
}

pub(crate) fn env(globals: &Globals) -> anyhow::Result<EnvSettings> {
    let loaded = crate::config_file::load(globals)?;
    env_of(&loaded)
}

pub(crate) fn env_of(loaded: &Loaded) -> anyhow::Result<EnvSettings> {
    let section = &loaded.file.env;
    let config = section.check().map_err(|invalid| -> anyhow::Error {
        match loaded.invalid_key(&invalid.key, &invalid.message) {
            Some(located) => located.into(),
            None => UsageError(format!("{}: {}", invalid.key, invalid.message)).into(),
        }
    })?;
    let mut configured = config.kubernetes.clone();
    if configured.is_empty() {
        for job in &loaded.file.jobs {
            for entry in job.matrix.iter().flat_map(|matrix| &matrix.kubernetes) {
                if !configured.contains(entry) {
                    configured.push(entry.clone());
                }
            }
        }
    }
    let markers = crate::settings_jobs::markers(loaded)?;
    let cache = loaded.root.join(".slipway").join("cache");
    let releases_url = crate::settings_jobs::relative_to_project(loaded, section.kind_releases_url.as_deref());
    let releases = KindReleases::new(releases_url.as_deref(), Some(cache.join("env")), markers.ttl);
    Ok(EnvSettings {
        root: loaded.root.clone(),
        lock_path: loaded.root.join(section.lock.as_deref().unwrap_or(slipway_env::lock::FILE_NAME)),
        state: loaded.root.join(".slipway").join("env"),
        verified_cache: cache.join("env").join("verified"),
        insecure: loaded.file.registries.insecure.clone(),
        config,
        configured,
        markers,
        releases,
        warnings: loaded.warnings.clone(),
    })
}

impl EnvSettings {
    /// The registry client, with `--insecure-registry` added.
    pub(crate) fn registry(&self, args: RegistryArgs) -> Registry {
        let RegistryArgs { insecure_registries } = args;
        let mut insecure = self.insecure.clone();
        insecure.extend(insecure_registries);
        Registry::new(RegistryOptions { insecure, ..RegistryOptions::default() })
    }

    pub(crate) fn sources(&self, registry: Registry) -> Sources {
        Sources {
            markers: self.markers.clone(),
            releases: self.releases.clone(),
            registry,
            client: reqwest::Client::new(),
            verified: Some(self.verified_cache.clone()),
        }
    }

    /// The entries to work on: those given, else the configured matrix.
    pub(crate) fn entries(&self, given: Vec<String>) -> anyhow::Result<Vec<String>> {
        if !given.is_empty() {
            for entry in &given {
                slipway_job_model::matrix::check_entry(entry).map_err(UsageError)?;
            }
            return Ok(given);
        }
        if self.configured.is_empty() {
            return Err(UsageError(
                "no Kubernetes versions to resolve: give some (slipway env node-image v1.36.1 stable-1.35), or list them in env.kubernetes in slipway.yaml".into(),
            )
            .into());
        }
        Ok(self.configured.clone())
    }

    /// The plan for `entries` with `args` over the configuration.
    pub(crate) fn resolution(
        &self,
        entries: Vec<String>,
        args: &EnvResolveArgs,
        update: bool,
    ) -> anyhow::Result<Resolution> {
        let mut notes = Vec::new();
        let kind = match &args.kind {
            Some(text) => slipway_env::config::parse_kind_version(text).map_err(UsageError)?,
            None => match &self.config.kind {
                Some(kind) => kind.clone(),
                None => {
                    let program = slipway_env::tools::kind_program();
                    let installed = std::process::Command::new(&program)
                        .arg("version")
                        .output()
                        .ok()
                        .filter(|output| output.status.success())
                        .and_then(|output| {
                            slipway_env::kind::parse_kind_version_output(&String::from_utf8_lossy(&output.stdout))
                        });
                    match installed {
                        Some(version) => {
                            notes.push(format!("env.kind is not set; using the installed kind, v{version}"));
                            version
                        }
                        None => {
                            return Err(UsageError(
                                "which kind release? set env.kind in slipway.yaml (such as v0.32.0) or give --kind"
                                    .into(),
                            )
                            .into());
                        }
                    }
                }
            },
        };
        let mut arches = if args.arches.is_empty() { self.config.arches.clone() } else { args.arches.clone() };
        for arch in &arches {
            slipway_env::config::check_arch(arch).map_err(UsageError)?;
        }
        if arches.is_empty() {
            arches.push(slipway_core::platform::host_architecture().to_owned());
        }
        let branch = args.branch.clone().or_else(|| current_branch(&self.root));
        let mut chosen = self.config.policies.for_branch(branch.as_deref());
        let policy_overridden = args.policy.is_some();
        if let Some(text) = &args.policy {
            chosen = Chosen { policy: text.parse::<Policy>().map_err(UsageError)?, rule: Some("--policy".into()) };
        }
        let plan = Plan {
            entries,
            kind,
            arches,
            policy: chosen.policy,
            registry: self.config.registry.clone(),
            published_repository: self.config.published_repository.clone(),
            update,
        };
        Ok(Resolution { plan, chosen, branch, policy_overridden, notes, build: args.build })
    }

    /// The architectures of the configured matrix: `env.arches`, else this machine's.
    pub(crate) fn configured_arches(&self) -> Vec<String> {
        if self.config.arches.is_empty() {
            vec![slipway_core::platform::host_architecture().to_owned()]
        } else {
            self.config.arches.clone()
        }
    }

    /// How long `env up` waits for nodes.
    pub(crate) fn wait(&self) -> Duration {
        self.config.cluster_wait
    }
}

/// The branch whose policy applies: Prow's base ref, GitHub's base or ref name, else the
/// checked-out branch.
pub(crate) fn current_branch(root: &std::path::Path) -> Option<String> {
    for variable in ["PULL_BASE_REF", "GITHUB_BASE_REF", "GITHUB_REF_NAME"] {
        if let Some(value) = std::env::var(variable).ok().filter(|value| !value.trim().is_empty()) {
            return Some(value.trim().to_owned());
        }
    }
    let git = slipway_git::Git::discover(root).ok().flatten()?;
    git.current_branch().ok().flatten()
}
