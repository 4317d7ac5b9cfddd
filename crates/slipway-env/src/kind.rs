//! What the `kind` command line takes, by kind release: the arguments of `kind build
//! node-image` and `kind create cluster`, and the cluster configuration. Pure: the commands are
//! run elsewhere ([`crate::build`], [`crate::cluster`]), so these are tested as the exact
//! command lines and files they produce.
//!
//! The rules (kind's `pkg/cmd/kind/build/nodeimage` by release):
//! - v0.24.0 added building from a release version, a server tarball URL or file
//!   (`--type release|url|file`); before, only from a Kubernetes source tree.
//! - Tarballs of Kubernetes before v1.31 have no `kubernetes/version` file; kind v0.25 reads only
//!   that file and fails on them, v0.26.0 falls back to `kube-apiserver.docker_tag`.
//! - v0.32.0 added `--type ci` (`ci/latest-1.37`), with which kind reads the marker itself.
//!   slipway resolves CI markers itself and builds from the resolved build's tarball URL
//!   (`--type url`, from v0.24.0), so what is built is exactly what was resolved and locked, even
//!   when the marker moves during the build, and a CI build needs only kind v0.24.0.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use slipway_core::Version;

use crate::config::ClusterSection;

/// The first kind release that builds from release artifacts (a version or a tarball URL).
pub const MIN_TARBALL_BUILDS: (u64, u64, u64) = (0, 24, 0);
/// The first kind release that builds from tarballs of Kubernetes before v1.31.
pub const MIN_OLD_TARBALLS: (u64, u64, u64) = (0, 26, 0);

/// Where a build takes Kubernetes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildSource {
    /// A release (`v1.36.0`), which kind downloads from dl.k8s.io itself.
    Release { version: String },
    /// A server tarball at a URL (a CI build, or a release from a mirror).
    Url { version: String, url: String },
    /// A server tarball on disk (markers read from a directory).
    File { version: String, path: String },
}

impl BuildSource {
    /// The Kubernetes version it builds.
    pub fn version(&self) -> &str {
        match self {
            BuildSource::Release { version } | BuildSource::Url { version, .. } | BuildSource::File { version, .. } => {
                version
            }
        }
    }

    /// What the lock file records as the source: the version, or the tarball URL.
    pub fn describe(&self) -> String {
        match self {
            BuildSource::Release { version } => format!("release {version}"),
            BuildSource::Url { url, .. } => url.clone(),
            BuildSource::File { path, .. } => path.clone(),
        }
    }
}

/// A kind too old for the build asked of it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "kind v{kind} cannot build a node image of Kubernetes {kubernetes} from release artifacts: {why}; set env.kind to v{}.{}.{} or later",
    minimum.0,
    minimum.1,
    minimum.2
)]
pub struct KindTooOld {
    pub kind: String,
    pub kubernetes: String,
    pub minimum: (u64, u64, u64),
    pub why: &'static str,
}

/// The arguments after `kind` that build `source` for `arch` into `image`.
pub fn build_args(
    kind: &Version,
    source: &BuildSource,
    arch: &str,
    image: &str,
    base_image: Option<&str>,
) -> Result<Vec<String>, KindTooOld> {
    let too_old =
        |minimum, why| KindTooOld { kind: kind.to_string(), kubernetes: source.version().to_owned(), minimum, why };
    if kind.core() < MIN_TARBALL_BUILDS {
        return Err(too_old(MIN_TARBALL_BUILDS, "kind builds from release versions and tarballs from v0.24.0"));
    }
    let kubernetes = Version::parse_lenient(source.version()).map(|version| version.core()).unwrap_or((0, 0, 0));
    if kubernetes < (1, 31, 0) && kind.core() < MIN_OLD_TARBALLS {
        return Err(too_old(
            MIN_OLD_TARBALLS,
            "tarballs before Kubernetes v1.31 have no kubernetes/version file, which kind reads from v0.26.0 on",
        ));
    }
    let mut args: Vec<String> = vec!["build".into(), "node-image".into()];
    match source {
        BuildSource::Release { version } => args.extend(["--type".into(), "release".into(), version.clone()]),
        BuildSource::Url { url, .. } => args.extend(["--type".into(), "url".into(), url.clone()]),
        BuildSource::File { path, .. } => args.extend(["--type".into(), "file".into(), path.clone()]),
    }
    args.extend(["--image".into(), image.to_owned(), "--arch".into(), arch.to_owned()]);
    if let Some(base) = base_image {
        args.extend(["--base-image".into(), base.to_owned()]);
    }
    Ok(args)
}

/// The arguments after `kind` that create cluster `name` from `image`.
pub fn create_args(name: &str, image: &str, config: &str, kubeconfig: &str, wait: &str) -> Vec<String> {
    [
        "create",
        "cluster",
        "--name",
        name,
        "--image",
        image,
        "--config",
        config,
        "--kubeconfig",
        kubeconfig,
        "--wait",
        wait,
    ]
    .map(str::to_owned)
    .to_vec()
}

/// The arguments after `kind` that delete cluster `name`.
pub fn delete_args(name: &str) -> Vec<String> {
    ["delete", "cluster", "--name", name].map(str::to_owned).to_vec()
}

/// The version a `kind version` line names (`kind v0.32.0 go1.25.1 linux/amd64`).
pub fn parse_kind_version_output(output: &str) -> Option<Version> {
    output.split_whitespace().find_map(|word| {
        let word = word.strip_prefix('v')?;
        Version::parse(word).ok()
    })
}

/// The default base image `kind build node-image --help` names.
pub fn default_base_image(help: &str) -> Option<String> {
    let line = help.lines().find(|line| line.contains("--base-image"))?;
    let start = line.find("(default \"")? + "(default \"".len();
    let rest = &line[start..];
    Some(rest[..rest.find('"')?].to_owned())
}

/// The kind cluster configuration (`kind.x-k8s.io/v1alpha4`) for `section`, every node on
/// `image`.
pub fn cluster_config(section: &ClusterSection, image: &str) -> String {
    let mut text = String::from("kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n");
    let default_nodes = ["control-plane".to_owned()];
    let nodes: &[String] = if section.nodes.is_empty() { &default_nodes } else { &section.nodes };
    for role in nodes {
        let _ = write!(text, "- role: {role}\n  image: {}\n", quoted(image));
    }
    write_map(&mut text, "featureGates", section.feature_gates.iter().map(|(key, value)| (key, value.to_string())));
    write_map(&mut text, "runtimeConfig", section.runtime_config.iter().map(|(key, value)| (key, quoted(value))));
    if !section.containerd_config_patches.is_empty() {
        text.push_str("containerdConfigPatches:\n");
        for patch in &section.containerd_config_patches {
            text.push_str("- |-\n");
            for line in patch.trim_end().lines() {
                let _ = writeln!(text, "  {line}");
            }
        }
    }
    text
}

fn write_map<'a>(text: &mut String, key: &str, entries: impl Iterator<Item = (&'a String, String)>) {
    let entries: BTreeMap<&String, String> = entries.collect();
    if entries.is_empty() {
        return;
    }
    let _ = writeln!(text, "{key}:");
    for (name, value) in entries {
        let _ = writeln!(text, "  {}: {value}", quoted(name));
    }
}

/// A YAML double-quoted scalar.
fn quoted(value: &str) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| format!("\"{value}\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(version: &str) -> Version {
        Version::parse(version).expect("version")
    }

    #[test]
    fn release_and_url_builds() {
        let release = BuildSource::Release { version: "v1.36.0".into() };
        assert_eq!(
            build_args(&kind("v0.24.0"), &release, "arm64", "r/kind-node:v1.36.0-kind-v0.24.0-arm64", None)
                .expect("buildable")
                .join(" "),
            "build node-image --type release v1.36.0 --image r/kind-node:v1.36.0-kind-v0.24.0-arm64 --arch arm64"
        );
        let ci = BuildSource::Url {
            version: "v1.37.0-alpha.0.12+abc".into(),
            url: "https://dl.k8s.io/ci/v1.37.0-alpha.0.12+abc/kubernetes-server-linux-amd64.tar.gz".into(),
        };
        assert_eq!(
            build_args(&kind("v0.32.0"), &ci, "amd64", "i", Some("docker.io/kindest/base:v1"))
                .expect("buildable")
                .join(" "),
            "build node-image --type url https://dl.k8s.io/ci/v1.37.0-alpha.0.12+abc/kubernetes-server-linux-amd64.tar.gz --image i --arch amd64 --base-image docker.io/kindest/base:v1"
        );
    }

    #[test]
    fn a_kind_too_old_names_the_minimum() {
        let release = BuildSource::Release { version: "v1.36.0".into() };
        let error = build_args(&kind("v0.23.0"), &release, "amd64", "i", None).expect_err("too old");
        assert_eq!(error.minimum, MIN_TARBALL_BUILDS);
        assert!(error.to_string().contains("v0.24.0 or later"), "{error}");
        let old = BuildSource::Release { version: "v1.30.4".into() };
        let error = build_args(&kind("v0.25.0"), &old, "amd64", "i", None).expect_err("too old");
        assert_eq!(error.minimum, MIN_OLD_TARBALLS);
        assert!(build_args(&kind("v0.26.0"), &old, "amd64", "i", None).is_ok());
        assert!(build_args(&kind("v0.25.0"), &release, "amd64", "i", None).is_ok());
    }

    #[test]
    fn kind_output_is_read() {
        assert_eq!(parse_kind_version_output("kind v0.32.0 go1.25.1 linux/amd64"), Some(kind("0.32.0")));
        assert_eq!(
            parse_kind_version_output("kind v0.33.0-alpha+fed26882 go1.25 linux/amd64").map(|v| v.core()),
            Some((0, 33, 0))
        );
        assert_eq!(parse_kind_version_output("command not found"), None);
        let help = "      --base-image string   name:tag of the base image to use for the build (default \"docker.io/kindest/base:v20260820-69b56db7\")\n";
        assert_eq!(default_base_image(help).as_deref(), Some("docker.io/kindest/base:v20260820-69b56db7"));
    }

    #[test]
    fn cluster_configs() {
        let plain = cluster_config(&ClusterSection::default(), "kindest/node:v1.33.1@sha256:abc");
        insta::assert_snapshot!("plain_cluster", plain);
        let section = ClusterSection {
            nodes: vec!["control-plane".into(), "worker".into(), "worker".into()],
            feature_gates: [("InPlacePodVerticalScaling".to_owned(), true)].into(),
            runtime_config: [("api/alpha".to_owned(), "true".to_owned())].into(),
            containerd_config_patches: vec![
                "[plugins.\"io.containerd.grpc.v1.cri\".registry.mirrors.\"localhost:5000\"]\n  endpoint = [\"http://kind-registry:5000\"]".into(),
            ],
            wait: None,
        };
        let full = cluster_config(&section, "r/kind-node:v1.36.1-kind-v0.32.0-amd64@sha256:def");
        insta::assert_snapshot!("full_cluster", full);
        let parsed: serde_json::Value = serde_saphyr::from_str(&full).expect("valid YAML");
        assert_eq!(parsed["nodes"].as_array().map(Vec::len), Some(3));
        assert_eq!(parsed["featureGates"]["InPlacePodVerticalScaling"], serde_json::json!(true));
        assert!(parsed["containerdConfigPatches"][0].as_str().is_some_and(|patch| patch.contains("endpoint")));
    }
}
