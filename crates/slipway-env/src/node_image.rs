//! Resolving each (Kubernetes version, kind release, architecture) to a node image pinned by
//! digest, in this order: the lock file; the image kind published with that release (from its
//! release notes, confirmed in the registry); an image slipway built earlier and pushed to
//! `env.registry` (found by its tag, verified); else a build, when the policy allows one.
//!
//! Each entry is resolved on its own and in parallel: one that fails (an unknown marker, a
//! mirror that cannot be reached) is reported as missing with its reason while the rest of the
//! matrix still resolves.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;
use slipway_core::{ImageReference, Version, exit};
use slipway_oci::Registry;

use crate::kind::BuildSource;
use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};

use crate::kind_releases::{KindReleases, Release, ReleaseError};
use crate::lock::{LockFile, LockedImage};
use crate::markers::{MarkerSource, Resolved};
use crate::policy::Policy;
use crate::verify::{self, NodeImageCheck};

/// The JSON schema of `slipway env node-image`.
pub const SCHEMA: &str = "slipway.env.node-image/v1";

/// Where each kind of fact is read.
#[derive(Clone)]
pub struct Sources {
    pub markers: MarkerSource,
    pub releases: KindReleases,
    pub registry: Registry,
    pub client: reqwest::Client,
    /// Where what the registry confirmed is remembered (`.slipway/cache/env/verified`): node
    /// images that passed verification (by digest, for good: a 1.5 GB image is streamed once),
    /// and for the markers' TTL, published digests found present and built images' tags.
    pub verified: Option<PathBuf>,
}

/// What to resolve.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Matrix entries: versions and markers.
    pub entries: Vec<String>,
    pub kind: Version,
    pub arches: Vec<String>,
    pub policy: Policy,
    /// Where built images live.
    pub registry: Option<ImageReference>,
    /// Where kind's published images are read.
    pub published_repository: ImageReference,
    /// Re-resolve everything instead of taking the lock's entries.
    pub update: bool,
}

/// Where a node image came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Lock,
    Published,
    Registry,
    Built,
    Missing,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Lock => "lock",
            Source::Published => "published",
            Source::Registry => "registry",
            Source::Built => "built",
            Source::Missing => "missing",
        }
    }
}

/// One resolved (or missing) node image.
#[derive(Debug, Clone, Serialize)]
pub struct NodeImage {
    /// The matrix entry as given (`stable-1.36`).
    pub entry: String,
    /// The exact version, when the entry resolved.
    pub kubernetes: Option<String>,
    /// The kind release (`v0.32.0`).
    pub kind: String,
    pub arch: String,
    /// `repository:tag@sha256:...`, unless missing.
    pub image: Option<String>,
    pub source: Source,
    /// For an entry from the lock: where it came from when it was locked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locked_source: Option<String>,
    /// For a missing entry: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What was noticed on the way (a re-pushed tag, a stale cache).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// For a CI build: the directory of its artifacts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifacts: Option<String>,
    /// For a built image: what it was built from, and on which base.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub built_from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_image: Option<String>,
    /// For a missing entry: the exit code it calls for (1 nothing allowed, 2 bad input, 3 a
    /// source unreachable).
    #[serde(skip)]
    pub exit_code: u8,
    /// For a missing entry the policy lets slipway build: what to build.
    #[serde(skip)]
    pub build: Option<BuildSource>,
}

impl NodeImage {
    fn new(entry: &str, kind: &Version, arch: &str) -> NodeImage {
        NodeImage {
            entry: entry.to_owned(),
            kubernetes: None,
            kind: format!("v{kind}"),
            arch: arch.to_owned(),
            image: None,
            source: Source::Missing,
            locked_source: None,
            reason: None,
            notes: Vec::new(),
            artifacts: None,
            built_from: None,
            base_image: None,
            exit_code: exit::SUCCESS,
            build: None,
        }
    }

    fn missing(mut self, reason: impl Into<String>, exit_code: u8) -> NodeImage {
        self.source = Source::Missing;
        self.reason = Some(reason.into());
        self.exit_code = exit_code;
        self
    }

    /// The entry as the lock file records it, unless missing.
    pub fn locked(&self) -> Option<LockedImage> {
        let source = match self.source {
            Source::Missing => return None,
            Source::Lock => self.locked_source.clone()?,
            other => other.as_str().to_owned(),
        };
        Some(LockedImage {
            entry: self.entry.clone(),
            kubernetes: self.kubernetes.clone()?,
            kind: self.kind.clone(),
            arch: self.arch.clone(),
            image: self.image.clone()?,
            source,
            built_from: self.built_from.clone(),
            base_image: self.base_image.clone(),
        })
    }
}

/// The tag slipway gives a node image it builds: `<kubernetes>-kind-<kind>-<arch>` (a CI
/// version's `+` becomes `_`, which tags allow); without `arch`, the multi-arch index's.
pub fn built_tag(kubernetes: &str, kind: &str, arch: Option<&str>) -> String {
    let version = kubernetes.replace('+', "_");
    match arch {
        Some(arch) => format!("{version}-kind-{kind}-{arch}"),
        None => format!("{version}-kind-{kind}"),
    }
}

/// kind's release notes, read once for every entry that needs them.
type Notes<'a> = Shared<BoxFuture<'a, Option<Result<Release, ReleaseError>>>>;

/// Resolves every entry of `plan` for every architecture, without building. With
/// `plan.update` nothing cached is trusted but verifications (by digest).
pub async fn resolve(sources: &Sources, plan: &Plan, lock: &LockFile) -> Vec<NodeImage> {
    let fresh;
    let sources = if plan.update {
        let mut uncached = sources.clone();
        uncached.markers.ttl = std::time::Duration::ZERO;
        uncached.releases.ttl = std::time::Duration::ZERO;
        fresh = uncached;
        &fresh
    } else {
        sources
    };
    let kind_tag = format!("v{}", plan.kind);
    let needs_notes = plan.policy.takes_published()
        && plan
            .entries
            .iter()
            .any(|entry| plan.update || plan.arches.iter().any(|arch| lock.find(entry, &kind_tag, arch).is_none()));
    // kind's notes are read while the markers are: the first entry that needs them waits.
    let notes: Notes<'_> = async move {
        if needs_notes { Some(sources.releases.release(&sources.client, &plan.kind).await) } else { None }
    }
    .boxed()
    .shared();
    let work = plan.entries.iter().map(|entry| resolve_entry(sources, plan, lock, notes.clone(), entry));
    futures_util::future::join_all(work).await.into_iter().flatten().collect()
}

async fn resolve_entry(
    sources: &Sources,
    plan: &Plan,
    lock: &LockFile,
    notes: Notes<'_>,
    entry: &str,
) -> Vec<NodeImage> {
    let kind_tag = format!("v{}", plan.kind);
    let locked: Vec<Option<&LockedImage>> =
        plan.arches.iter().map(|arch| lock.find(entry, &kind_tag, arch).filter(|_| !plan.update)).collect();
    if let Some(all) = locked.iter().copied().collect::<Option<Vec<&LockedImage>>>() {
        return plan.arches.iter().zip(all).map(|(arch, locked)| from_lock(entry, &plan.kind, arch, locked)).collect();
    }
    let resolved = match sources.markers.resolve(&sources.client, entry).await {
        Ok(resolved) => resolved,
        Err(error) => {
            let code = error.exit_code();
            return plan
                .arches
                .iter()
                .map(|arch| NodeImage::new(entry, &plan.kind, arch).missing(error.to_string(), code))
                .collect();
        }
    };
    let work = plan.arches.iter().zip(locked).map(|(arch, locked)| {
        let resolved = resolved.clone();
        let notes = notes.clone();
        async move {
            match locked {
                Some(locked) => from_lock(entry, &plan.kind, arch, locked),
                None => resolve_arch(sources, plan, notes, resolved, arch).await,
            }
        }
    });
    futures_util::future::join_all(work).await
}

fn from_lock(entry: &str, kind: &Version, arch: &str, locked: &LockedImage) -> NodeImage {
    NodeImage {
        kubernetes: Some(locked.kubernetes.clone()),
        image: Some(locked.image.clone()),
        source: Source::Lock,
        locked_source: Some(locked.source.clone()),
        built_from: locked.built_from.clone(),
        base_image: locked.base_image.clone(),
        ..NodeImage::new(entry, kind, arch)
    }
}

async fn resolve_arch(sources: &Sources, plan: &Plan, notes: Notes<'_>, resolved: Resolved, arch: &str) -> NodeImage {
    let mut image = NodeImage::new(&resolved.entry, &plan.kind, arch);
    image.kubernetes = Some(resolved.version.clone());
    if resolved.is_ci_build() {
        image.artifacts = Some(sources.markers.artifacts_url(&resolved));
    }
    if let Some(stale) = resolved.source.split_once("(cached; unreachable now: ") {
        image.notes.push(format!("{} could not be read, so its cached value is used", stale.0.trim()));
    }
    let mut reasons: Vec<String> = Vec::new();
    let mut worst = exit::CHECK_FAILED;

    if plan.policy.takes_published() {
        let release = notes.await;
        match published(sources, plan, release.as_ref(), &resolved.version, arch, &mut image.notes).await {
            Ok(reference) => {
                image.image = Some(reference);
                image.source = Source::Published;
                return image;
            }
            Err((reason, code)) => {
                worst = worst.max_code(code);
                reasons.push(reason);
            }
        }
    }
    if plan.policy.takes_built() {
        match &plan.registry {
            None => reasons.push("env.registry is not set, so there is nowhere to find or push a built image".into()),
            Some(registry) => match built_earlier(sources, registry, &image).await {
                Ok(Some(reference)) => {
                    image.image = Some(reference);
                    image.source = Source::Registry;
                    return image;
                }
                Ok(None) => {
                    image.build = Some(build_source(&sources.markers, &resolved, arch));
                    reasons.push(format!(
                        "{}:{} is not built yet (slipway env node-image --build builds it)",
                        registry.as_str(),
                        built_tag(&resolved.version, &image.kind, Some(arch))
                    ));
                }
                Err((reason, code)) => {
                    worst = worst.max_code(code);
                    reasons.push(reason);
                }
            },
        }
    }
    let code = if image.build.is_some() { exit::CHECK_FAILED } else { worst };
    image.missing(format!("{} (policy {})", reasons.join("; "), plan.policy), code)
}

/// What kind builds `resolved` from: a release from dl.k8s.io by its version; a CI build, or a
/// release from a mirror, by its server tarball's URL; from a directory of markers, the tarball
/// file beside them. Markers kept in object storage (`s3://`) hold no artifacts, so those come
/// from dl.k8s.io.
fn build_source(markers: &MarkerSource, resolved: &Resolved, arch: &str) -> BuildSource {
    let version = resolved.version.clone();
    let tarball = markers.server_tarball(resolved, arch);
    if tarball.starts_with("http://") || tarball.starts_with("https://") {
        if resolved.is_ci_build() || !markers.is_default() {
            return BuildSource::Url { version, url: tarball };
        }
        return BuildSource::Release { version };
    }
    if !tarball.contains("://") || tarball.starts_with("file://") {
        return BuildSource::File { version, path: tarball.trim_start_matches("file://").to_owned() };
    }
    if resolved.is_ci_build() {
        let upstream = MarkerSource::new(None, None);
        return BuildSource::Url { url: upstream.server_tarball(resolved, arch), version };
    }
    BuildSource::Release { version }
}

/// Exit codes by weight: a bad input (2) before an unreachable source (3) before a plain "no".
trait ExitWeight {
    fn max_code(self, other: u8) -> u8;
}

impl ExitWeight for u8 {
    fn max_code(self, other: u8) -> u8 {
        let weight = |code: u8| match code {
            exit::USAGE => 3,
            exit::INFRASTRUCTURE => 2,
            exit::CHECK_FAILED => 1,
            _ => 0,
        };
        if weight(other) > weight(self) { other } else { self }
    }
}

/// The heaviest exit code of a set of node images (0 when none is missing).
pub fn exit_code(images: &[NodeImage]) -> u8 {
    images.iter().filter(|image| image.source == Source::Missing).fold(exit::SUCCESS, |code, image| {
        if code == exit::SUCCESS { image.exit_code } else { code.max_code(image.exit_code) }
    })
}

async fn published(
    sources: &Sources,
    plan: &Plan,
    release: Option<&Result<Release, ReleaseError>>,
    version: &str,
    arch: &str,
    notes: &mut Vec<String>,
) -> Result<String, (String, u8)> {
    let release = match release {
        Some(Ok(release)) => release,
        Some(Err(error)) => return Err((error.to_string(), error.exit_code())),
        None => return Err(("kind's release notes were not read".into(), exit::CHECK_FAILED)),
    };
    if let Some(reason) = &release.stale {
        notes
            .push(format!("kind's release notes come from the cache: {} could not be read ({reason})", release.source));
    }
    let kind_tag = &release.tag;
    if release.notes.images.is_empty() {
        return Err((
            format!("kind {kind_tag}'s release notes ({}) list no node images", release.source),
            exit::CHECK_FAILED,
        ));
    }
    let Some(listed) = release.notes.image_for(version) else {
        let same_minor = release.notes.same_minor(version);
        let hint = if same_minor.is_empty() {
            String::new()
        } else {
            format!(" (it has {} of that minor)", same_minor.join(", "))
        };
        return Err((format!("kind {kind_tag} published no image for {version}{hint}"), exit::CHECK_FAILED));
    };
    // Read from the configured repository (docker.io/kindest/node, or a mirror of it), and
    // written as kind's notes write it when it is kind's own.
    let repository = if plan.published_repository.as_str() == crate::config::PUBLISHED_REPOSITORY {
        listed.repository.as_str()
    } else {
        plan.published_repository.as_str()
    };
    let pinned_text = format!("{repository}:{}@{}", listed.kubernetes, listed.digest);
    let pinned = ImageReference::parse(&pinned_text).map_err(|error| (error.to_string(), exit::USAGE))?;
    let by_tag = ImageReference::parse(&format!("{repository}:{}", listed.kubernetes))
        .map_err(|error| (error.to_string(), exit::USAGE))?;
    let remembered_key = format!("published-{}-{arch}", listed.digest.trim_start_matches("sha256:"));
    if let Some(current) = remembered(sources, &remembered_key) {
        repushed_note(
            notes,
            repository,
            listed,
            kind_tag,
            Some(current.as_str()).filter(|current| !current.is_empty()),
        );
        return Ok(pinned_text);
    }
    let (content, tag) =
        futures_util::join!(sources.registry.fetch(&pinned), sources.registry.manifest_digest(&by_tag));
    let mut confirmed = false;
    match content {
        Ok(fetched) => {
            confirmed = true;
            if let slipway_oci::manifest::Document::Index(index) = &fetched.document {
                let has_arch = index.manifests.iter().any(|entry| {
                    entry.platform.as_ref().is_some_and(|platform| platform.os == "linux" && platform.architecture == arch)
                });
                if !has_arch {
                    return Err((format!("kind {kind_tag}'s image for {version} ({pinned_text}) has no linux/{arch} platform"), exit::CHECK_FAILED));
                }
            }
        }
        Err(slipway_oci::Error::NotFound { .. }) => {
            return Err((
                format!("kind {kind_tag}'s release notes name {pinned_text}, which {repository} does not have"),
                exit::CHECK_FAILED,
            ));
        }
        Err(error) => notes.push(format!(
            "could not confirm {pinned_text} in the registry ({}); it is pinned by digest, so a pull gets exactly that image or fails",
            slipway_core::errors::chain(&error)
        )),
    }
    let current = tag.ok().flatten();
    repushed_note(notes, repository, listed, kind_tag, current.as_deref());
    if confirmed {
        remember(sources, &remembered_key, current.as_deref().unwrap_or(""));
    }
    Ok(pinned_text)
}

/// Says so when the tag of a published image now points at another digest.
fn repushed_note(
    notes: &mut Vec<String>,
    repository: &str,
    listed: &crate::release_notes::PublishedImage,
    kind_tag: &str,
    current: Option<&str>,
) {
    if let Some(current) = current
        && current != listed.digest
    {
        notes.push(format!(
            "{repository}:{} now points at {current}, not at the {} kind {kind_tag} published (a later kind release re-pushed the tag); the digest of kind {kind_tag} is used",
            listed.kubernetes, listed.digest
        ));
    }
}

/// What the registry confirmed within the markers' TTL, under `key`.
fn remembered(sources: &Sources, key: &str) -> Option<String> {
    let file = sources.verified.as_ref()?.join(key);
    let age = fs_err::metadata(&file).ok()?.modified().ok()?.elapsed().ok()?;
    if age >= sources.markers.ttl {
        return None;
    }
    fs_err::read_to_string(file).ok()
}

/// Remembers what the registry confirmed.
fn remember(sources: &Sources, key: &str, value: &str) {
    if let Some(directory) = &sources.verified {
        crate::cache::store(&directory.join(key), value);
    }
}

/// An image built earlier and pushed under its tag, verified (once per digest).
async fn built_earlier(
    sources: &Sources,
    registry: &ImageReference,
    image: &NodeImage,
) -> Result<Option<String>, (String, u8)> {
    let version = image.kubernetes.clone().unwrap_or_default();
    let tag = built_tag(&version, &image.kind, Some(&image.arch));
    let reference = registry.with_tag(&tag);
    let unreachable = |error: slipway_oci::Error| {
        let code = error.exit_code();
        (format!("could not look up {}: {}", reference.as_str(), slipway_core::errors::chain(&error)), code)
    };
    let key: String = format!("tag-{}", reference.as_str())
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' })
        .collect();
    let digest = match remembered(sources, &key) {
        Some(digest) => digest,
        None => match sources.registry.manifest_digest(&reference).await.map_err(unreachable)? {
            Some(digest) => digest,
            None => return Ok(None),
        },
    };
    let pinned = format!("{}@{digest}", reference.as_str());
    check_built(sources, &pinned, &version, &image.arch).await?;
    remember(sources, &key, &digest);
    Ok(Some(pinned))
}

/// Verifies a node image slipway built (remembering a pass by digest), or says what is wrong.
pub async fn check_built(sources: &Sources, pinned: &str, version: &str, arch: &str) -> Result<(), (String, u8)> {
    let marker = sources.verified.as_ref().map(|directory| {
        let digest = pinned.rsplit_once("@sha256:").map_or("", |(_, hex)| hex);
        directory.join(format!("{digest}-{arch}-{}", version.replace(['+', '/'], "_")))
    });
    if marker.as_ref().is_some_and(|file| file.exists()) {
        return Ok(());
    }
    let reference = ImageReference::parse(pinned).map_err(|error| (error.to_string(), exit::USAGE))?;
    let check =
        NodeImageCheck { image: reference, arches: vec![arch.to_owned()], kubernetes: Some(version.to_owned()) };
    let report = verify::verify(&sources.registry, &check).await.map_err(|error| {
        let code = error.exit_code();
        (format!("could not verify {pinned}: {}", slipway_core::errors::chain(&error)), code)
    })?;
    if !report.passed() {
        let problems: Vec<String> = report
            .findings
            .iter()
            .filter(|finding| finding.severity == slipway_core::Severity::Error)
            .map(|finding| format!("{} (expected {})", finding.found, finding.expected))
            .collect();
        return Err((format!("{pinned} fails verification: {}", problems.join("; ")), exit::CHECK_FAILED));
    }
    if let Some(file) = marker {
        crate::cache::store(&file, "verified\n");
    }
    Ok(())
}

/// The lock after this resolution: entries of the matrix as configured (`configured` entries,
/// `kind`, `arches`) that resolved now, and the old entries of configured keys that were not
/// resolved now; nothing else.
pub fn next_lock(
    old: &LockFile,
    images: &[NodeImage],
    configured: &[String],
    kind: &str,
    arches: &[String],
) -> LockFile {
    let mut entries: BTreeMap<(String, String, String), LockedImage> = BTreeMap::new();
    for locked in &old.node_images {
        if configured.contains(&locked.entry) && locked.kind == kind && arches.contains(&locked.arch) {
            entries.insert((locked.entry.clone(), locked.kind.clone(), locked.arch.clone()), locked.clone());
        }
    }
    let wanted =
        |image: &&NodeImage| configured.contains(&image.entry) && image.kind == kind && arches.contains(&image.arch);
    for image in images.iter().filter(wanted) {
        if let Some(locked) = image.locked() {
            entries.insert((locked.entry.clone(), locked.kind.clone(), locked.arch.clone()), locked);
        }
    }
    LockFile { version: crate::lock::FORMAT, node_images: entries.into_values().collect() }.normalized()
}

/// What differs between two locks, one line per change, for `--locked`.
pub fn lock_changes(old: &LockFile, new: &LockFile) -> Vec<String> {
    let key = |image: &LockedImage| (image.entry.clone(), image.kind.clone(), image.arch.clone());
    let old_map: BTreeMap<_, _> = old.node_images.iter().map(|image| (key(image), image)).collect();
    let new_map: BTreeMap<_, _> = new.node_images.iter().map(|image| (key(image), image)).collect();
    let mut changes = Vec::new();
    for (key, image) in &new_map {
        match old_map.get(key) {
            None => changes.push(format!("+ {} (kind {}, {}): {}", key.0, key.1, key.2, image.image)),
            Some(before) if before != image => {
                changes.push(format!("~ {} (kind {}, {}): {} -> {}", key.0, key.1, key.2, before.image, image.image));
            }
            Some(_) => {}
        }
    }
    for (key, image) in &old_map {
        if !new_map.contains_key(key) {
            changes.push(format!("- {} (kind {}, {}): {}", key.0, key.1, key.2, image.image));
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved(entry: &str, version: &str) -> Resolved {
        Resolved { entry: entry.into(), version: version.into(), source: "test".into() }
    }

    #[test]
    fn builds_take_kubernetes_from_where_the_markers_are() {
        let release = resolved("stable-1.36", "v1.36.1");
        let ci = resolved("ci/latest-1.37", "v1.37.0-alpha.2.15+0123456789abcd");
        let upstream = MarkerSource::new(None, None);
        assert_eq!(build_source(&upstream, &release, "amd64"), BuildSource::Release { version: "v1.36.1".into() });
        assert_eq!(
            build_source(&upstream, &ci, "arm64"),
            BuildSource::Url {
                version: ci.version.clone(),
                url: "https://dl.k8s.io/ci/v1.37.0-alpha.2.15+0123456789abcd/kubernetes-server-linux-arm64.tar.gz"
                    .into()
            }
        );
        let mirror = MarkerSource::new(Some("https://mirror.example/k8s/"), None);
        assert_eq!(
            build_source(&mirror, &release, "amd64"),
            BuildSource::Url {
                version: "v1.36.1".into(),
                url: "https://mirror.example/k8s/release/v1.36.1/kubernetes-server-linux-amd64.tar.gz".into()
            }
        );
        let directory = MarkerSource::new(Some("/srv/k8s"), None);
        assert_eq!(
            build_source(&directory, &release, "amd64"),
            BuildSource::File {
                version: "v1.36.1".into(),
                path: "/srv/k8s/release/v1.36.1/kubernetes-server-linux-amd64.tar.gz".into()
            }
        );
        let bucket = MarkerSource::new(Some("s3://markers/k8s"), None);
        assert_eq!(build_source(&bucket, &release, "amd64"), BuildSource::Release { version: "v1.36.1".into() });
        assert!(
            matches!(build_source(&bucket, &ci, "amd64"), BuildSource::Url { url, .. } if url.starts_with("https://dl.k8s.io/ci/"))
        );
    }

    #[test]
    fn built_tags_are_valid_tags() {
        assert_eq!(
            built_tag("v1.37.0-alpha.2.15+0123abcd", "v0.32.0", Some("arm64")),
            "v1.37.0-alpha.2.15_0123abcd-kind-v0.32.0-arm64"
        );
        assert_eq!(built_tag("v1.36.1", "v0.32.0", None), "v1.36.1-kind-v0.32.0");
        let tag = built_tag("v1.37.0-alpha.2.15+0123abcd", "v0.32.0", Some("arm64"));
        assert!(ImageReference::parse(&format!("ghcr.io/x/kind-node:{tag}")).is_ok());
    }

    #[test]
    fn the_heaviest_exit_code_wins() {
        let image = |code: u8| NodeImage {
            exit_code: code,
            ..NodeImage::new("v1.1.1", &Version::parse("0.32.0").expect("v"), "amd64")
        };
        assert_eq!(exit_code(&[]), exit::SUCCESS);
        assert_eq!(exit_code(&[image(exit::CHECK_FAILED), image(exit::INFRASTRUCTURE)]), exit::INFRASTRUCTURE);
        assert_eq!(exit_code(&[image(exit::USAGE), image(exit::INFRASTRUCTURE)]), exit::USAGE);
    }
}
