//! Who the project is: its name, upstream repository, image repositories and release branches.
//!
//! Configured values win. Otherwise the upstream repository comes from evidence in the
//! repository itself, in order: the Go module path, a chart's `home`/`sources`, kustomize remote
//! links into a repository of the project's name, the `upstream` remote, and only then `origin`
//! (which in a contributor's clone is a fork). The name comes from the repository, else the
//! directory. Images are inferred from the manifests: repositories whose path names the project
//! (`registry.k8s.io/descheduler/descheduler` for `descheduler`), else the only image referenced
//! with a version tag. The report says where each fact came from, so a wrong guess is visible.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use slipway_core::{ImageReference, Version};

use crate::branches::{self, BranchPattern};
use crate::config::Settings;
use crate::render::Overlay;
use crate::scan::{Chart, RefLink, Scan, gomod, links};

/// What git knows about the repository, for working out the project.
#[derive(Debug, Clone, Default)]
pub struct RepositoryFacts {
    /// The `origin` remote's URL.
    pub origin: Option<String>,
    /// The `upstream` remote's URL.
    pub upstream: Option<String>,
    /// Local and remote-tracking branch names (without the remote).
    pub branches: Vec<String>,
    /// Versions that have a release tag.
    pub tagged_versions: Vec<Version>,
}

/// The project as slipway understands it.
#[derive(Debug, Clone, Serialize)]
pub struct Project {
    /// Short name, if known.
    pub name: Option<String>,
    /// Where the name came from.
    pub name_source: String,
    /// `host/owner/repo` of the upstream source repository, if known.
    pub repository: Option<String>,
    /// Where the repository came from, and why.
    pub repository_source: String,
    /// The project's image repositories.
    pub images: Vec<ProjectImage>,
    /// Release branch names (`release-1.{minor}`).
    pub branch_pattern: String,
    /// Where the branch pattern came from.
    pub branch_pattern_source: String,
    #[serde(skip)]
    pattern: BranchPattern,
    #[serde(skip)]
    tagged: BTreeSet<Version>,
}

/// Whose repository a link points into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkOwner {
    /// The project's.
    Project,
    /// A repository with the project's name under another owner (a fork, or a stale owner).
    SameName(String),
    /// Someone else's, or none that can be told.
    Other,
}

/// One of the project's image repositories.
#[derive(Debug, Clone, Serialize)]
pub struct ProjectImage {
    /// Registry and repository, without tag.
    pub repository: String,
    /// Whether slipway guessed it.
    pub inferred: bool,
    /// Why it is the project's.
    pub reason: String,
    #[serde(skip)]
    reference: ImageReference,
}

impl ProjectImage {
    fn new(reference: &ImageReference, inferred: bool, reason: String) -> ProjectImage {
        ProjectImage { repository: reference.name().to_owned(), inferred, reason, reference: reference.clone() }
    }

    /// The parsed repository.
    pub fn reference(&self) -> &ImageReference {
        &self.reference
    }
}

impl Project {
    /// Works out the project from settings, the scan, and what git knows.
    pub fn identify(
        settings: &Settings,
        scan: &Scan,
        overlays: &[Overlay],
        directory_name: &str,
        facts: &RepositoryFacts,
    ) -> Project {
        let (repository, repository_source) = upstream_repository(settings, scan, directory_name, facts);
        let (name, name_source) = match (&settings.project_name, &repository) {
            (Some(name), _) => (Some(name.clone()), "project.name".to_owned()),
            (None, Some(repository)) => {
                (repository.rsplit('/').next().map(str::to_owned), format!("the repository {repository}"))
            }
            (None, None) if !directory_name.is_empty() => {
                (Some(directory_name.to_owned()), "the directory name".to_owned())
            }
            (None, None) => (None, "nothing".to_owned()),
        };
        let images = if settings.images.is_empty() {
            infer_images(settings, scan, overlays, name.as_deref())
        } else {
            settings.images.iter().map(|image| ProjectImage::new(image, false, "configured".to_owned())).collect()
        };
        let (pattern, branch_pattern_source) = match &settings.branch_pattern {
            Some(pattern) => (pattern.clone(), "release.branch_pattern".to_owned()),
            None => match branches::infer(&facts.branches, &facts.tagged_versions) {
                Some(inferred) => {
                    let source = format!(
                        "inferred: {} released {} a branch of this name",
                        inferred.minors,
                        if inferred.minors == 1 { "minor has" } else { "minors have" }
                    );
                    (inferred.pattern, source)
                }
                None => (
                    BranchPattern::parse(branches::DEFAULT).expect("the default pattern is valid"),
                    "the default (no release branches found to infer it from)".to_owned(),
                ),
            },
        };
        Project {
            name,
            name_source,
            repository,
            repository_source,
            images,
            branch_pattern: pattern.to_string(),
            branch_pattern_source,
            pattern,
            tagged: facts.tagged_versions.iter().cloned().collect(),
        }
    }

    /// Whether `image` is one of the project's repositories.
    pub fn owns(&self, image: &ImageReference) -> bool {
        self.images.iter().any(|project_image| project_image.reference.same_repository(image))
    }

    /// Whether a chart ships the project: it deploys one of the project's images.
    pub fn owns_chart(&self, chart: &Chart) -> bool {
        chart.images.iter().filter_map(|image| image.reference()).any(|image| self.owns(&image))
    }

    /// Whose repository a `?ref=` link points into.
    pub fn link_owner(&self, link: &RefLink) -> LinkOwner {
        let Some(linked) = &link.repository else {
            return LinkOwner::Other;
        };
        let same_name = self.name.as_deref().is_some_and(|name| linked.rsplit('/').next() == Some(name));
        match &self.repository {
            Some(project) if project == linked => LinkOwner::Project,
            Some(_) if same_name => LinkOwner::SameName(linked.clone()),
            None if same_name => LinkOwner::Project,
            _ => LinkOwner::Other,
        }
    }

    /// The release branch pattern.
    pub fn branch_pattern(&self) -> &BranchPattern {
        &self.pattern
    }

    /// Whether `version` has a release tag in the repository.
    pub fn is_tagged(&self, version: &Version) -> bool {
        self.tagged.contains(version)
    }
}

/// The upstream repository and the sentence that says where it came from.
fn upstream_repository(
    settings: &Settings,
    scan: &Scan,
    directory_name: &str,
    facts: &RepositoryFacts,
) -> (Option<String>, String) {
    if let Some(configured) = &settings.project_repository {
        let repository = links::repository_of(configured).unwrap_or_else(|| configured.to_ascii_lowercase());
        return (Some(repository), "project.repository".to_owned());
    }
    if let Some(module) = &scan.go_module
        && let Some(repository) = gomod::repository_of_module(&module.text)
    {
        return (Some(repository), format!("the Go module path `{}` ({}:{})", module.text, module.file, module.line));
    }
    let remote_name = |url: &Option<String>| {
        url.as_deref()
            .and_then(links::repository_of)
            .and_then(|repository| repository.rsplit('/').next().map(str::to_owned))
    };
    // Names the project may have, to recognise its repository among links and charts.
    let mut names: BTreeSet<String> = BTreeSet::new();
    names.extend(settings.project_name.clone());
    names.extend(remote_name(&facts.upstream));
    names.extend(remote_name(&facts.origin));
    if !directory_name.is_empty() {
        names.insert(directory_name.to_ascii_lowercase());
    }
    let named = |repository: &str| repository.rsplit('/').next().is_some_and(|name| names.contains(name));
    for chart in &scan.charts {
        for home in &chart.homes {
            if let Some(repository) = links::repository_of(home)
                && named(&repository)
            {
                return (Some(repository), format!("the home or sources of {}", chart.file));
            }
        }
    }
    let mut linked: BTreeMap<&str, (usize, &RefLink)> = BTreeMap::new();
    for link in &scan.ref_links {
        if let Some(repository) = link.repository.as_deref()
            && named(repository)
        {
            linked.entry(repository).or_insert((0, link)).0 += 1;
        }
    }
    if let Some((repository, (count, first))) = linked.into_iter().max_by_key(|(_, (count, _))| *count) {
        let links = if count == 1 { "kustomize link points" } else { "kustomize links point" };
        return (
            Some(repository.to_owned()),
            format!("{count} {links} into it, the first at {}:{}", first.value.file, first.value.line),
        );
    }
    if let Some(repository) = facts.upstream.as_deref().and_then(links::repository_of) {
        return (Some(repository), "the `upstream` remote".to_owned());
    }
    if let Some(repository) = facts.origin.as_deref().and_then(links::repository_of) {
        return (
            Some(repository),
            "the `origin` remote; no go.mod, chart home or project link says otherwise".to_owned(),
        );
    }
    (None, "nothing: set project.repository".to_owned())
}

fn infer_images(settings: &Settings, scan: &Scan, overlays: &[Overlay], name: Option<&str>) -> Vec<ProjectImage> {
    let versioned = |tag: Option<&str>| {
        tag.is_some_and(|tag| {
            Version::from_tag(tag, &settings.image_tag_prefix).is_some() || Version::parse(tag).is_ok()
        })
    };
    // Every repository the project deploys or names, by canonical name, keeping the first
    // spelling, and whether any reference gives it a version tag.
    let mut candidates: BTreeMap<String, (ImageReference, bool)> = BTreeMap::new();
    let mut add = |image: &ImageReference, has_version: bool| {
        let entry = candidates.entry(image.canonical_name()).or_insert_with(|| (image.clone(), false));
        entry.1 |= has_version;
    };
    for workload in &scan.workloads {
        add(&workload.image, versioned(workload.image.tag()));
    }
    for kustomization in &scan.kustomizations {
        for entry in &kustomization.images {
            if let Ok(image) = ImageReference::parse(entry.effective_name()) {
                add(&image, versioned(entry.new_tag.as_ref().map(|tag| tag.text.as_str())));
            }
        }
    }
    for overlay in overlays {
        for container in &overlay.containers {
            if let Ok(image) = ImageReference::parse(&container.image) {
                add(&image, versioned(image.tag()));
            }
        }
    }
    for chart in &scan.charts {
        for image in &chart.images {
            if let Some(reference) = image.reference() {
                add(&reference, true);
            }
        }
    }
    let by_name: Vec<ProjectImage> = match name {
        Some(name) => candidates
            .values()
            .filter(|(image, _)| path_names_project(image, name))
            .map(|(image, _)| ProjectImage::new(image, true, format!("its path matches the project name `{name}`")))
            .collect(),
        None => Vec::new(),
    };
    let with_versions: Vec<&ImageReference> =
        candidates.values().filter(|(_, has_version)| *has_version).map(|(image, _)| image).collect();
    if !by_name.is_empty() || with_versions.len() != 1 {
        return by_name;
    }
    with_versions
        .into_iter()
        .map(|image| ProjectImage::new(image, true, "the only image referenced with a version tag".to_owned()))
        .collect()
}

fn path_names_project(image: &ImageReference, name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    let repository = image.repository();
    let last = repository.rsplit('/').next().unwrap_or(repository);
    repository.split('/').any(|segment| segment == name) || (name.len() >= 3 && last.contains(&name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_paths_that_name_the_project() {
        let image = |text: &str| ImageReference::parse(text).expect("valid");
        assert!(path_names_project(&image("registry.k8s.io/descheduler/descheduler"), "descheduler"));
        assert!(path_names_project(&image("registry.k8s.io/autoscaling/cluster-autoscaler"), "autoscaler"));
        assert!(!path_names_project(&image("busybox"), "descheduler"));
        assert!(!path_names_project(&image("registry.k8s.io/pause"), "kops"));
    }
}
