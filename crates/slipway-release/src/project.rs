//! Who the project is: its name, source repository and image repositories.
//!
//! Configured values win. Otherwise the name comes from the `origin` remote or the directory,
//! and the images are inferred from the manifests: image repositories the manifests, overlays or
//! charts name whose path names the project (`registry.k8s.io/descheduler/descheduler` for
//! `descheduler`), else the only image referenced with a version tag. The report says which
//! were inferred and why, so a wrong guess is visible and can be corrected with `--image`.

use std::collections::BTreeMap;

use serde::Serialize;
use slipway_core::{ImageReference, Version};

use crate::config::Settings;
use crate::render::Overlay;
use crate::scan::{Chart, RefLink, Scan, links};

/// The project as slipway understands it.
#[derive(Debug, Clone, Serialize)]
pub struct Project {
    /// Short name, if known.
    pub name: Option<String>,
    /// Where the name came from.
    pub name_source: String,
    /// `host/owner/repo` of the source repository, if known.
    pub repository: Option<String>,
    /// The project's image repositories.
    pub images: Vec<ProjectImage>,
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
        origin_url: Option<&str>,
    ) -> Project {
        let repository = settings
            .project_repository
            .as_deref()
            .and_then(|configured| links::repository_of(configured).or_else(|| Some(configured.to_ascii_lowercase())))
            .or_else(|| origin_url.and_then(links::repository_of));
        let (name, name_source) = match (&settings.project_name, &repository) {
            (Some(name), _) => (Some(name.clone()), "project.name".to_owned()),
            (None, Some(repository)) => (
                repository.rsplit('/').next().map(str::to_owned),
                if settings.project_repository.is_some() { "project.repository" } else { "the origin remote" }
                    .to_owned(),
            ),
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
        Project { name, name_source, repository, images }
    }

    /// Whether `image` is one of the project's repositories.
    pub fn owns(&self, image: &ImageReference) -> bool {
        self.images.iter().any(|project_image| project_image.reference.same_repository(image))
    }

    /// Whether a chart ships the project: it deploys a project image, or has the project's name.
    pub fn owns_chart(&self, chart: &Chart) -> bool {
        chart.images.iter().filter_map(|image| image.reference()).any(|image| self.owns(&image))
            || (chart.name.is_some() && chart.name == self.name)
    }

    /// Whether a `?ref=` link points into the project's repository.
    pub fn owns_link(&self, link: &RefLink) -> bool {
        match (&self.repository, &link.repository) {
            (Some(project), Some(linked)) => project == linked,
            (None, Some(linked)) => self.name.as_deref().is_some_and(|name| linked.rsplit('/').next() == Some(name)),
            (_, None) => false,
        }
    }
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
