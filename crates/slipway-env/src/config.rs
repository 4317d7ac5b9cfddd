//! The `env:` section of slipway.yaml, and the checked settings it resolves to.
//!
//! ```yaml
//! env:
//!   kind: v0.32.0
//!   kubernetes: [v1.35.2, stable-1.36, latest-1.37, ci/latest]
//!   arches: [amd64, arm64]            # default: this machine's
//!   policy:
//!     main: build
//!     release-*: published-or-build
//!   registry: ghcr.io/example/kind-node
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use slipway_core::platform::Architecture;
use slipway_core::{ImageReference, Version};

use crate::policy::{BranchPolicies, Policy};

/// The section as written.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct EnvSection {
    /// The kind release (`v0.32.0`) whose node images are used and whose `kind` builds them.
    pub kind: Option<String>,
    /// Kubernetes versions and markers (`v1.35.2`, `stable-1.36`, `latest-1.37`, `ci/latest`).
    /// Default: every `matrix.kubernetes` entry of the jobs.
    pub kubernetes: Vec<String>,
    /// Architectures (`amd64`, `arm64`); default this machine's.
    pub arches: Vec<String>,
    /// Branch name or glob (`release-*`) to policy: `published`, `published-or-build` or
    /// `build`. The most specific match wins: a name before any glob, then the longest glob.
    pub policy: BTreeMap<String, String>,
    /// Where built node images are pushed and read back (`ghcr.io/org/kind-node`).
    pub registry: Option<String>,
    /// Base URL of the Kubernetes version markers and release artifacts (default
    /// `matrix.markers_url`, else `https://dl.k8s.io`); a mirror or a directory.
    pub markers_url: Option<String>,
    /// Base URL of kind's release data in the shape of the GitHub releases API (default
    /// `https://api.github.com`); a mirror or a directory.
    pub kind_releases_url: Option<String>,
    /// Where kind's published images are read (default `docker.io/kindest/node`, as its
    /// release notes name them); a mirror holding the same digests.
    pub published_repository: Option<String>,
    /// The base image builds use (`kind build node-image --base-image`); default kind's own.
    pub base_image: Option<String>,
    /// How many node images build at once (default 2).
    pub parallel: Option<usize>,
    /// How long a resolved marker or kind release is used before it is read again (`10m`);
    /// read with the markers' settings, which job matrices share.
    pub cache_ttl: Option<String>,
    /// The lock file, relative to the project (default `slipway.lock`).
    pub lock: Option<String>,
    /// The kind clusters `slipway env up` creates.
    pub cluster: ClusterSection,
}

/// `env.cluster`: what goes into the kind cluster configuration.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ClusterSection {
    /// Node roles, in order (`[control-plane, worker, worker]`); default one control plane.
    pub nodes: Vec<String>,
    /// Kubernetes feature gates for every component.
    pub feature_gates: BTreeMap<String, bool>,
    /// API server `--runtime-config` entries (`api/alpha: "true"`).
    pub runtime_config: BTreeMap<String, String>,
    /// containerd configuration patches (TOML), applied on every node.
    pub containerd_config_patches: Vec<String>,
    /// How long `env up` waits for the nodes to be Ready (default `5m`).
    pub wait: Option<String>,
}

/// The default registry of kind's published node images.
pub const PUBLISHED_REPOSITORY: &str = "docker.io/kindest/node";

/// The settings `env` commands run on, checked.
#[derive(Debug, Clone)]
pub struct EnvConfig {
    pub kind: Option<Version>,
    pub kubernetes: Vec<String>,
    pub arches: Vec<String>,
    pub policies: BranchPolicies,
    pub registry: Option<ImageReference>,
    pub published_repository: ImageReference,
    pub base_image: Option<String>,
    pub parallel: usize,
    pub cluster: ClusterSection,
    /// How long `env up` waits for nodes (`env.cluster.wait`, default 5m).
    pub cluster_wait: Duration,
}

/// A key of the section that is wrong: the dotted key and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidKey {
    /// `env.policy.main`, `env.arches[1]`.
    pub key: String,
    pub message: String,
}

impl EnvSection {
    /// Checks every key and resolves the section.
    pub fn check(&self) -> Result<EnvConfig, InvalidKey> {
        let invalid = |key: String, message: String| InvalidKey { key, message };
        let kind = self
            .kind
            .as_deref()
            .map(|text| parse_kind_version(text).map_err(|message| invalid("env.kind".into(), message)))
            .transpose()?;
        for (index, entry) in self.kubernetes.iter().enumerate() {
            slipway_job_model::matrix::check_entry(entry)
                .map_err(|message| invalid(format!("env.kubernetes[{index}]"), message))?;
        }
        for (index, arch) in self.arches.iter().enumerate() {
            check_arch(arch).map_err(|message| invalid(format!("env.arches[{index}]"), message))?;
        }
        let mut rules = Vec::new();
        for (pattern, policy) in &self.policy {
            let policy: Policy = policy.parse().map_err(|message| invalid(format!("env.policy.{pattern}"), message))?;
            rules.push((pattern.clone(), policy));
        }
        let policies = BranchPolicies::new(rules).map_err(|message| invalid("env.policy".into(), message))?;
        let registry = self
            .registry
            .as_deref()
            .map(|text| parse_repository(text).map_err(|message| invalid("env.registry".into(), message)))
            .transpose()?;
        let published_repository =
            parse_repository(self.published_repository.as_deref().unwrap_or(PUBLISHED_REPOSITORY))
                .map_err(|message| invalid("env.published_repository".into(), message))?;
        if self.parallel == Some(0) {
            return Err(invalid("env.parallel".into(), "must be at least 1".into()));
        }
        for (index, role) in self.cluster.nodes.iter().enumerate() {
            if !matches!(role.as_str(), "control-plane" | "worker") {
                return Err(invalid(
                    format!("env.cluster.nodes[{index}]"),
                    format!("`{role}` is not a node role: write control-plane or worker"),
                ));
            }
        }
        if !self.cluster.nodes.is_empty() && !self.cluster.nodes.iter().any(|role| role == "control-plane") {
            return Err(invalid("env.cluster.nodes".into(), "a cluster needs a control-plane node".into()));
        }
        let cluster_wait = match &self.cluster.wait {
            Some(wait) => slipway_job_model::duration::parse(wait)
                .map_err(|message| invalid("env.cluster.wait".into(), message))?,
            None => Duration::from_secs(300),
        };
        Ok(EnvConfig {
            kind,
            kubernetes: self.kubernetes.clone(),
            arches: self.arches.clone(),
            policies,
            registry,
            published_repository,
            base_image: self.base_image.clone(),
            parallel: self.parallel.unwrap_or(2),
            cluster: self.cluster.clone(),
            cluster_wait,
        })
    }
}

/// A kind release as written (`v0.32.0`); kind's tags always carry the `v`.
pub fn parse_kind_version(text: &str) -> Result<Version, String> {
    Version::parse(text.trim())
        .map_err(|_| format!("`{text}` is not a kind release: write it as kind tags it, such as v0.32.0"))
}

/// An architecture slipway can check binaries of (`amd64`, `arm64`, ...).
pub fn check_arch(arch: &str) -> Result<(), String> {
    match Architecture::from_goarch(arch) {
        Some(_) => Ok(()),
        None => Err(format!("`{arch}` is not an architecture: write it as GOARCH does (amd64, arm64, ppc64le, s390x)")),
    }
}

/// A repository without tag or digest (`ghcr.io/org/kind-node`).
pub fn parse_repository(text: &str) -> Result<ImageReference, String> {
    let reference = ImageReference::parse(text.trim()).map_err(|error| error.to_string())?;
    if reference.tag().is_some() || reference.digest().is_some() {
        return Err(format!(
            "`{text}` names a tag or digest; give the repository alone, such as ghcr.io/example/kind-node"
        ));
    }
    Ok(reference)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(yaml: &str) -> EnvSection {
        serde_saphyr::from_str(yaml).expect("valid yaml")
    }

    #[test]
    fn a_full_section_checks() {
        let config = section(
            "kind: v0.32.0\nkubernetes: [v1.35.2, stable-1.36, ci/latest-1.37]\narches: [amd64, arm64]\npolicy: {main: build, release-*: published-or-build}\nregistry: ghcr.io/example/kind-node\ncluster: {wait: 2m}\n",
        )
        .check()
        .expect("valid");
        assert_eq!(config.kind.map(|version| version.to_string()), Some("0.32.0".into()));
        assert_eq!(
            config.registry.map(|registry| registry.as_str().to_owned()),
            Some("ghcr.io/example/kind-node".into())
        );
        assert_eq!(config.published_repository.as_str(), PUBLISHED_REPOSITORY);
        assert_eq!(config.cluster_wait, Duration::from_secs(120));
        assert_eq!(config.parallel, 2);
    }

    #[test]
    fn each_bad_key_is_named() {
        let key = |yaml: &str| section(yaml).check().expect_err("invalid").key;
        assert_eq!(key("kind: latest\n"), "env.kind");
        assert_eq!(key("kubernetes: [v1.35.2, newest]\n"), "env.kubernetes[1]");
        assert_eq!(key("arches: [amd64, x86_64]\n"), "env.arches[1]");
        assert_eq!(key("policy: {main: always-build}\n"), "env.policy.main");
        assert_eq!(key("registry: ghcr.io/example/kind-node:v1\n"), "env.registry");
        assert_eq!(key("cluster: {wait: soon}\n"), "env.cluster.wait");
        assert_eq!(key("parallel: 0\n"), "env.parallel");
        assert_eq!(key("cluster: {nodes: [master]}\n"), "env.cluster.nodes[0]");
        assert_eq!(key("cluster: {nodes: [worker]}\n"), "env.cluster.nodes");
        let message = section("policy: {main: always-build}\n").check().expect_err("invalid").message;
        assert!(message.contains("published-or-build"), "{message}");
    }
}
