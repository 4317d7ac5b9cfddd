//! Checking a published multi-arch image: the tag is an index, every required platform is in
//! it, each platform's config says the same platform, the revision annotation names the
//! release commit, and the entrypoint binary really is built for its platform.
//!
//! autoscaler#9226 shipped an index that looked right around an amd64 image holding an arm64
//! binary; only reading the binary catches that ([`crate::entrypoint`]).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use slipway_core::{Finding, FindingKind, ImageReference, Platform};

use crate::entrypoint::{self, ImageLayers, Layer};
use crate::error::Error;
use crate::manifest::{Descriptor, Document, Manifest, REVISION};
use crate::registry::Registry;

/// What to check about one published image.
#[derive(Debug, Clone)]
pub struct ImageCheck {
    /// The image at its release tag.
    pub image: ImageReference,
    /// Platforms the index must cover; empty means every platform it has (inspection).
    pub platforms: Vec<Platform>,
    /// The commit `org.opencontainers.image.revision` must name, if known.
    pub revision: Option<String>,
}

/// What the registry holds for one image, and what is wrong with it.
#[derive(Debug, Clone, Serialize)]
pub struct ImageReport {
    /// The image checked.
    pub image: String,
    /// The digest the tag points at, if it exists.
    pub digest: Option<String>,
    /// The media type of what the tag points at.
    pub media_type: Option<String>,
    /// The index's annotations.
    pub annotations: BTreeMap<String, String>,
    /// Each required platform that was found.
    pub platforms: Vec<PlatformReport>,
    /// Problems.
    pub findings: Vec<Finding>,
}

/// One platform of an image.
#[derive(Debug, Clone, Serialize)]
pub struct PlatformReport {
    /// The platform, as the index states it.
    pub platform: String,
    /// The platform manifest's digest.
    pub digest: String,
    /// The platform its config declares.
    pub config_platform: String,
    /// The revision it carries, if any.
    pub revision: Option<String>,
    /// Config and layers, in bytes.
    pub size: u64,
    /// Layers.
    pub layers: usize,
    /// `org.opencontainers.image.*` from the manifest's annotations and the config's labels.
    pub provenance: BTreeMap<String, String>,
    /// The file the image runs.
    pub executable: Option<String>,
    /// What that file's header says it is built for.
    pub binary: Option<String>,
}

/// What a reference points at, as platforms: an index's entries (attestations left out), or a
/// single manifest as one entry with its config's platform.
#[derive(Debug, Clone)]
pub struct PlatformEntries {
    /// The digest the reference points at.
    pub digest: String,
    /// Its media type.
    pub media_type: String,
    /// A single manifest rather than an index.
    pub single: bool,
    /// Each platform with its manifest's descriptor.
    pub entries: Vec<(Platform, Descriptor)>,
    /// The index's annotations.
    pub annotations: BTreeMap<String, String>,
}

/// The platforms `image` points at; `None` when it does not exist.
pub async fn platform_entries(registry: &Registry, image: &ImageReference) -> Result<Option<PlatformEntries>, Error> {
    let fetched = match registry.fetch(image).await {
        Ok(fetched) => fetched,
        Err(Error::NotFound { .. }) => return Ok(None),
        Err(error) => return Err(error),
    };
    let (single, entries, annotations) = match fetched.document {
        Document::Index(index) => {
            let entries = index
                .manifests
                .iter()
                .filter_map(|entry| Some((entry.platform.as_ref()?.platform(), entry.clone())))
                .filter(|(platform, _)| !platform.is_attestation())
                .collect();
            (false, entries, index.annotations)
        }
        Document::Manifest(manifest) => {
            let config = registry.fetch_config(image, &manifest.config.digest).await?;
            let platform = config.platform();
            let descriptor = Descriptor {
                media_type: fetched.media_type.clone(),
                digest: fetched.digest.clone(),
                size: fetched.size,
                platform: Some((&platform).into()),
                annotations: BTreeMap::new(),
            };
            (true, vec![(platform, descriptor)], BTreeMap::new())
        }
    };
    Ok(Some(PlatformEntries { digest: fetched.digest, media_type: fetched.media_type, single, entries, annotations }))
}

/// Checks one image. Errors are infrastructure failures only; anything wrong with the image
/// itself is a finding.
pub async fn verify_image(registry: &Registry, check: &ImageCheck) -> Result<ImageReport, Error> {
    let image = check.image.as_str().to_owned();
    let mut report = ImageReport {
        image: image.clone(),
        digest: None,
        media_type: None,
        annotations: BTreeMap::new(),
        platforms: Vec::new(),
        findings: Vec::new(),
    };
    let Some(found) = platform_entries(registry, &check.image).await? else {
        report.findings.push(
            Finding::in_registry(FindingKind::RegistryTagMissing, &image, None, "(no such tag)".into(), image.clone())
                .with_message("the release tag has not been pushed to the registry"),
        );
        return Ok(report);
    };
    report.digest = Some(found.digest.clone());
    report.media_type = Some(found.media_type.clone());
    let required = platform_list(&check.platforms);
    if found.single && !check.platforms.is_empty() {
        let platform = found.entries.first().map(|(platform, _)| platform.to_string()).unwrap_or_default();
        report.findings.push(
            Finding::in_registry(
                FindingKind::RegistryNotIndex,
                &image,
                None,
                format!("a single-platform image ({platform})"),
                format!("an index covering {required}"),
            )
            .with_message("the tag names one image, not a multi-arch index"),
        );
    }
    let (entries, index_annotations) = (found.entries, found.annotations);

    report.annotations = index_annotations.clone();
    let available = platform_list(&entries.iter().map(|(platform, _)| platform.clone()).collect::<Vec<_>>());
    let mut selected = Vec::new();
    if check.platforms.is_empty() {
        selected.clone_from(&entries);
    }
    for platform in &check.platforms {
        match entries.iter().find(|(candidate, _)| candidate.satisfies(platform)) {
            Some(entry) => selected.push(entry.clone()),
            None => report.findings.push(
                Finding::in_registry(
                    FindingKind::RegistryPlatformMissing,
                    &image,
                    Some(platform.to_string()),
                    if available.is_empty() { "(no platforms)".to_owned() } else { available.clone() },
                    platform.to_string(),
                )
                .with_message("the index has no image for this platform"),
            ),
        }
    }

    let checks = selected.into_iter().map(|(platform, descriptor)| {
        let registry = registry.clone();
        let check = check.clone();
        let index_annotations = index_annotations.clone();
        async move { verify_platform(&registry, &check, &platform, &descriptor, &index_annotations).await }
    });
    let mut revision_seen = false;
    for result in futures_util::future::join_all(checks).await {
        let (platform_report, findings, has_revision) = result?;
        revision_seen |= has_revision;
        report.platforms.push(platform_report);
        report.findings.extend(findings);
    }
    if check.revision.is_some() && !revision_seen && !report.platforms.is_empty() {
        report.findings.push(
            Finding::in_registry(
                FindingKind::RegistryRevisionMissing,
                &image,
                None,
                "(no revision annotation or label)".into(),
                format!("{REVISION}={}", check.revision.clone().unwrap_or_default()),
            )
            .with_message("without it nobody can tell which commit the image was built from")
            .as_warning(),
        );
    }
    Ok(report)
}

async fn verify_platform(
    registry: &Registry,
    check: &ImageCheck,
    platform: &Platform,
    descriptor: &Descriptor,
    index_annotations: &std::collections::BTreeMap<String, String>,
) -> Result<(PlatformReport, Vec<Finding>, bool), Error> {
    let image = check.image.as_str();
    let mut findings = Vec::new();
    let manifest: Manifest = registry.fetch_manifest(&check.image, &descriptor.digest).await?;
    let config = registry.fetch_config(&check.image, &manifest.config.digest).await?;
    let declared = config.platform();
    if !declared.satisfies(platform) || declared.architecture != platform.architecture {
        findings.push(
            Finding::in_registry(
                FindingKind::RegistryConfigPlatform,
                image,
                Some(platform.to_string()),
                declared.to_string(),
                platform.to_string(),
            )
            .with_message("the platform manifest's config declares another platform than its index entry"),
        );
    }

    let revisions: BTreeSet<&str> = [
        index_annotations.get(REVISION).map(String::as_str),
        descriptor.annotations.get(REVISION).map(String::as_str),
        manifest.annotations.get(REVISION).map(String::as_str),
        config.label(REVISION),
    ]
    .into_iter()
    .flatten()
    .collect();
    if let Some(expected) = &check.revision {
        for found in &revisions {
            if !same_commit(found, expected) {
                findings.push(
                    Finding::in_registry(
                        FindingKind::RegistryRevision,
                        image,
                        Some(platform.to_string()),
                        (*found).to_owned(),
                        expected.clone(),
                    )
                    .with_message("the image was built from another commit than the release tag points at"),
                );
            }
        }
    }

    let layers = ImageLayers {
        registry: Some(registry.clone()),
        repository: Some(check.image.clone()),
        layers: manifest.layers.iter().map(|layer| Layer::Remote { digest: layer.digest.clone() }).collect(),
    };
    let binary_check = entrypoint::check(layers, &config, platform, image).await?;
    findings.extend(binary_check.findings);
    let (executable, binary) = (binary_check.executable, binary_check.binary);

    let mut provenance: BTreeMap<String, String> = config
        .config
        .as_ref()
        .and_then(|run| run.labels.clone())
        .unwrap_or_default()
        .into_iter()
        .chain(manifest.annotations.clone())
        .filter(|(key, _)| key.starts_with("org.opencontainers.image."))
        .collect();
    provenance.retain(|_, value| !value.is_empty());
    let report = PlatformReport {
        platform: platform_of(descriptor).map_or_else(|| platform.to_string(), |p| p.to_string()),
        digest: descriptor.digest.clone(),
        config_platform: declared.to_string(),
        revision: revisions.iter().next().map(|revision| (*revision).to_owned()),
        size: manifest.config.size + manifest.layers.iter().map(|layer| layer.size).sum::<u64>(),
        layers: manifest.layers.len(),
        provenance,
        executable,
        binary,
    };
    Ok((report, findings, !revisions.is_empty()))
}

fn platform_of(descriptor: &Descriptor) -> Option<Platform> {
    descriptor.platform.as_ref().map(crate::manifest::PlatformJson::platform)
}

fn platform_list(platforms: &[Platform]) -> String {
    platforms.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

/// Whether two commit ids name the same commit: equal, or one an abbreviation (of at least 7
/// characters) of the other.
fn same_commit(found: &str, commit: &str) -> bool {
    let found = found.trim().to_ascii_lowercase();
    let commit = commit.trim().to_ascii_lowercase();
    let (short, long) = if found.len() <= commit.len() { (&found, &commit) } else { (&commit, &found) };
    found == commit || (short.len() >= 7 && long.starts_with(short.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abbreviated_commits_match() {
        let commit = "045fbb6a0411d492824d0830fdaf98b179f055d5";
        assert!(same_commit(commit, commit));
        assert!(same_commit("045fbb6", commit));
        assert!(same_commit(commit, "045fbb6a04"), "either side may be the abbreviation");
        assert!(!same_commit("045fb", commit));
        assert!(!same_commit("1f4d20dd6b7c7fc6bbd8ee4b320a9cc299a33ca6", commit));
    }
}
