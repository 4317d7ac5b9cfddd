//! Checking a kind node image in a registry before anyone relies on it: every required platform
//! is there, `/kind/version` names the expected Kubernetes version, and `kubelet`, `kubeadm` and
//! `kubectl` under `/usr/bin` are ELF binaries of the platform's architecture.
//!
//! The files are found by streaming layers from the top and stopping once all are found (the
//! same union-filesystem lookup as the image checks), so a check of a 1.5 GB node image reads
//! only the layers above its binaries.

use std::collections::BTreeMap;

use serde::Serialize;
use slipway_core::elf::ElfHeader;
use slipway_core::platform::Architecture;
use slipway_core::{Finding, FindingKind, ImageReference, Severity};
use slipway_oci::entrypoint::{self, ImageLayers, Layer};
use slipway_oci::layers::Lookup;
use slipway_oci::manifest::Descriptor;
use slipway_oci::verify::platform_entries;
use slipway_oci::{Error, Registry};

/// The JSON schema of `slipway env node-image verify`.
pub const SCHEMA: &str = "slipway.env.node-image-verify/v1";

/// The binaries a node image must carry for its platform.
pub const BINARIES: [&str; 3] = ["/usr/bin/kubelet", "/usr/bin/kubeadm", "/usr/bin/kubectl"];
/// The file kind writes the Kubernetes version to.
pub const VERSION_FILE: &str = "/kind/version";

/// What to check.
#[derive(Debug, Clone)]
pub struct NodeImageCheck {
    pub image: ImageReference,
    /// Architectures that must be present; empty means every linux platform it has.
    pub arches: Vec<String>,
    /// The Kubernetes version `/kind/version` must name, if known.
    pub kubernetes: Option<String>,
}

/// What the registry holds, and what is wrong with it.
#[derive(Debug, Clone, Serialize)]
pub struct NodeImageReport {
    pub image: String,
    /// The digest the reference points at, when it exists.
    pub digest: Option<String>,
    pub platforms: Vec<NodePlatform>,
    pub findings: Vec<Finding>,
}

impl NodeImageReport {
    /// Whether nothing is wrong (warnings aside).
    pub fn passed(&self) -> bool {
        !self.findings.iter().any(|finding| finding.severity == Severity::Error)
    }
}

/// One platform of a node image.
#[derive(Debug, Clone, Serialize)]
pub struct NodePlatform {
    pub arch: String,
    /// The platform manifest's digest.
    pub digest: String,
    /// What `/kind/version` holds.
    pub kubernetes: Option<String>,
    /// Each binary with what its ELF header says (`/usr/bin/kubelet: amd64 (...)`).
    pub binaries: BTreeMap<String, String>,
}

/// Checks one node image. Errors are failures to reach or read the registry; anything wrong
/// with the image is a finding.
pub async fn verify(registry: &Registry, check: &NodeImageCheck) -> Result<NodeImageReport, Error> {
    let image = check.image.as_str().to_owned();
    let mut report =
        NodeImageReport { image: image.clone(), digest: None, platforms: Vec::new(), findings: Vec::new() };
    let Some(found) = platform_entries(registry, &check.image).await? else {
        report.findings.push(
            Finding::in_registry(FindingKind::RegistryTagMissing, &image, None, "(not found)".into(), image.clone())
                .with_message("the registry has no such image"),
        );
        return Ok(report);
    };
    report.digest = Some(found.digest);
    let entries: Vec<(String, Descriptor)> = found
        .entries
        .into_iter()
        .filter(|(platform, _)| platform.os == "linux")
        .map(|(platform, descriptor)| (platform.architecture, descriptor))
        .collect();
    let available: Vec<&str> = entries.iter().map(|(arch, _)| arch.as_str()).collect();
    let mut selected = Vec::new();
    if check.arches.is_empty() {
        selected.clone_from(&entries);
    }
    for arch in &check.arches {
        match entries.iter().find(|(candidate, _)| candidate == arch) {
            Some(entry) => selected.push(entry.clone()),
            None => report.findings.push(
                Finding::in_registry(
                    FindingKind::RegistryPlatformMissing,
                    &image,
                    Some(format!("linux/{arch}")),
                    if available.is_empty() { "(no linux platforms)".into() } else { available.join(", ") },
                    format!("linux/{arch}"),
                )
                .with_message("the node image has no image for this architecture"),
            ),
        }
    }
    let checks = selected.into_iter().map(|(arch, descriptor)| {
        let registry = registry.clone();
        let check = check.clone();
        async move { verify_platform(&registry, &check, &arch, &descriptor).await }
    });
    for result in futures_util::future::join_all(checks).await {
        let (platform, findings) = result?;
        report.platforms.push(platform);
        report.findings.extend(findings);
    }
    report.platforms.sort_by(|a, b| a.arch.cmp(&b.arch));
    if check.kubernetes.is_none() {
        let versions: std::collections::BTreeSet<&str> =
            report.platforms.iter().filter_map(|platform| platform.kubernetes.as_deref()).collect();
        if versions.len() > 1 {
            let found = versions.into_iter().collect::<Vec<_>>().join(", ");
            report.findings.push(
                Finding::in_registry(
                    FindingKind::NodeImageVersion,
                    &image,
                    None,
                    found,
                    "one Kubernetes version".into(),
                )
                .with_message("the platforms of one node image hold different Kubernetes versions"),
            );
        }
    }
    Ok(report)
}

async fn verify_platform(
    registry: &Registry,
    check: &NodeImageCheck,
    arch: &str,
    descriptor: &Descriptor,
) -> Result<(NodePlatform, Vec<Finding>), Error> {
    let image = check.image.as_str();
    let platform_text = format!("linux/{arch}");
    let mut findings = Vec::new();
    let manifest = registry.fetch_manifest(&check.image, &descriptor.digest).await?;
    let config = registry.fetch_config(&check.image, &manifest.config.digest).await?;
    if config.architecture != arch {
        findings.push(
            Finding::in_registry(
                FindingKind::RegistryConfigPlatform,
                image,
                Some(platform_text.clone()),
                config.platform().to_string(),
                platform_text.clone(),
            )
            .with_message("the platform's config declares another architecture"),
        );
    }
    let layers = ImageLayers {
        registry: Some(registry.clone()),
        repository: Some(check.image.clone()),
        layers: manifest.layers.iter().map(|layer| Layer::Remote { digest: layer.digest.clone() }).collect(),
    };
    let mut paths = vec![VERSION_FILE.to_owned()];
    paths.extend(BINARIES.iter().map(|path| (*path).to_owned()));
    let found = entrypoint::find_each(&layers, paths, image).await?;
    let mut platform = NodePlatform {
        arch: arch.to_owned(),
        digest: descriptor.digest.clone(),
        kubernetes: None,
        binaries: BTreeMap::new(),
    };
    let finding = |kind, found: String, expected: String, message: &str| {
        Finding::in_registry(kind, image, Some(platform_text.clone()), found, expected).with_message(message.to_owned())
    };
    match &found[0] {
        Lookup::Found { head, .. } => {
            let text = String::from_utf8_lossy(head).trim().to_owned();
            if let Some(expected) = &check.kubernetes
                && !same_version(&text, expected)
            {
                findings.push(finding(
                    FindingKind::NodeImageVersion,
                    format!("{VERSION_FILE}: {text}"),
                    expected.clone(),
                    "the node image holds another Kubernetes version than expected",
                ));
            }
            platform.kubernetes = Some(text);
        }
        _ => findings.push(finding(
            FindingKind::NodeImageVersion,
            format!("no {VERSION_FILE}"),
            check.kubernetes.clone().unwrap_or_else(|| "a Kubernetes version".into()),
            "kind node images name their Kubernetes version in /kind/version; this is not one",
        )),
    }
    let expected = Architecture::from_goarch(arch);
    for (path, lookup) in BINARIES.iter().zip(&found[1..]) {
        let Lookup::Found { head, .. } = lookup else {
            findings.push(finding(
                FindingKind::BinaryMissing,
                format!("no {path}"),
                format!("{path} for {arch}"),
                "a node image needs kubelet, kubeadm and kubectl",
            ));
            continue;
        };
        match ElfHeader::parse(head) {
            Ok(header) => {
                if expected
                    .is_some_and(|architecture| architecture.elf != (header.machine, header.class, header.endianness))
                {
                    findings.push(finding(
                        FindingKind::BinaryArchitecture,
                        format!("{path}: {header}"),
                        arch.to_owned(),
                        "the binary is built for another architecture than its platform",
                    ));
                }
                platform.binaries.insert((*path).to_owned(), header.to_string());
            }
            Err(_) => {
                findings.push(finding(
                    FindingKind::BinaryNotElf,
                    format!("{path} is not an ELF binary"),
                    format!("an ELF binary for {arch}"),
                    "the binary is not a Linux executable",
                ));
            }
        }
    }
    Ok((platform, findings))
}

/// Whether two spellings name one Kubernetes version (`v1.36.1` and `1.36.1`).
fn same_version(found: &str, expected: &str) -> bool {
    let strip = |text: &str| text.trim().trim_start_matches('v').to_owned();
    strip(found) == strip(expected)
}
