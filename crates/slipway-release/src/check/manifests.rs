//! References in Kubernetes manifests: workload images, kustomization `images:` entries, what
//! each overlay deploys, and Helm charts (`Chart.yaml` and the images in `values.yaml`).

use std::collections::BTreeSet;

use slipway_core::version::restyle;
use slipway_core::{FindingKind, ImageReference, Severity, Version};

use super::{Checked, Context, DigestPin, Edit, Fix, Reference, remove_line, replace};
use crate::config::ChartVersionPolicy;
use crate::render::Overlay;
use crate::scan::helm::default_tag;
use crate::scan::{Chart, Scan, TagDefault, ValuesImage};

/// Why another project's image is not checked.
pub(super) const NOT_PROJECT_IMAGE: &str =
    "not one of the project's images (set release.images or pass --image if it is)";

impl Context<'_> {
    pub(super) fn workloads(&self, scan: &Scan, checked: &mut Checked) {
        for workload in &scan.workloads {
            let image = &workload.image;
            if !self.project.owns(image) {
                if image.tag().is_some_and(|tag| self.is_version_tag(tag)) {
                    self.skip(checked, FindingKind::ImageTag, &workload.value, NOT_PROJECT_IMAGE);
                }
                continue;
            }
            let wanted = image.with_tag(&self.expected.image_tag);
            if let Some(digest) = image.digest() {
                checked.digest_pins.push(DigestPin {
                    file: workload.value.file.clone(),
                    line: workload.value.line,
                    image: image.clone(),
                    digest: digest.to_owned(),
                });
            }
            match image.tag() {
                Some(tag) if self.is_version_tag(tag) => {
                    let agrees = tag == self.expected.image_tag;
                    let mut message = self.tag_message(tag);
                    if image.digest().is_some() {
                        message.push_str("; its digest pins the old image too, so a bump drops the digest");
                    }
                    self.push(
                        checked,
                        self.reference(
                            FindingKind::ImageTag,
                            &workload.value,
                            image.to_string(),
                            wanted.to_string(),
                            agrees,
                            message,
                            replace(&workload.value, wanted.as_str()),
                        ),
                    );
                }
                None if image.digest().is_some() => {}
                _ => self.push(
                    checked,
                    Reference {
                        kind: FindingKind::FloatingImageTag,
                        file: workload.value.file.clone(),
                        line: workload.value.line,
                        found: image.to_string(),
                        expected: wanted.to_string(),
                        agrees: false,
                        severity: Severity::Warning,
                        message: format!(
                            "{} has no version tag, so what it deploys changes without a release",
                            workload.object
                        ),
                        fix: Fix::Manual("give the image a version tag, or set it from a kustomization".to_owned()),
                    },
                ),
            }
        }
    }

    pub(super) fn kustomizations(&self, scan: &Scan, checked: &mut Checked) {
        for kustomization in &scan.kustomizations {
            for entry in &kustomization.images {
                let Ok(name) = ImageReference::parse(entry.effective_name()) else {
                    continue;
                };
                if !self.project.owns(&name) {
                    if let Some(new_tag) = entry.new_tag.as_ref().filter(|tag| self.is_version_tag(&tag.text)) {
                        self.skip(checked, FindingKind::KustomizeNewTag, new_tag, NOT_PROJECT_IMAGE);
                    }
                    continue;
                }
                if let Some(digest) = &entry.digest {
                    checked.digest_pins.push(DigestPin {
                        file: digest.file.clone(),
                        line: digest.line,
                        image: name.clone(),
                        digest: digest.text.clone(),
                    });
                }
                let Some(new_tag) = &entry.new_tag else {
                    continue;
                };
                let agrees = new_tag.text == self.expected.image_tag;
                let mut reference = self.reference(
                    FindingKind::KustomizeNewTag,
                    new_tag,
                    new_tag.text.clone(),
                    self.expected.image_tag.clone(),
                    agrees,
                    self.tag_message(&new_tag.text),
                    replace(new_tag, &self.expected.image_tag),
                );
                if let (Fix::Edits(edits), Some(start)) = (&mut reference.fix, entry.digest_key_start) {
                    reference.message.push_str("; the entry's digest pins the old image too, so a bump removes it");
                    match remove_line(self.files, &kustomization.file, start) {
                        Some(edit) => edits.push(edit),
                        None => {
                            reference.fix = Fix::Manual(
                                "the entry also pins a digest that cannot be removed in place; update it by hand"
                                    .to_owned(),
                            );
                        }
                    }
                }
                self.push(checked, reference);
            }
        }
    }

    pub(super) fn overlays(&self, scan: &Scan, overlays: &[Overlay], checked: &mut Checked) {
        let mut seen = BTreeSet::new();
        for overlay in overlays {
            for container in &overlay.containers {
                let Ok(image) = ImageReference::parse(&container.image) else {
                    continue;
                };
                if !self.project.owns(&image) {
                    continue;
                }
                if !seen.insert((&overlay.directory, &container.origin, &container.image)) {
                    continue;
                }
                let wanted = image.with_tag(&self.expected.image_tag);
                let (agrees, severity, fix) = match image.tag() {
                    Some(tag) if tag == self.expected.image_tag => (true, Severity::Error, Fix::Nothing),
                    Some(tag) if self.is_version_tag(tag) => {
                        (false, Severity::Error, self.fix_at_origin(scan, &container.origin, checked))
                    }
                    None if image.digest().is_some() => continue,
                    _ => (false, Severity::Warning, Fix::Manual("give the overlay's image a version tag".to_owned())),
                };
                let directory = if overlay.directory.is_empty() { "." } else { overlay.directory.as_str() };
                self.push(
                    checked,
                    Reference {
                        kind: FindingKind::OverlayImage,
                        file: container.origin.file.clone(),
                        line: container.origin.line,
                        found: container.image.clone(),
                        expected: wanted.to_string(),
                        agrees,
                        severity,
                        message: format!(
                            "`kubectl apply -k {directory}` deploys this in {}/{} (container {})",
                            container.kind, container.name, container.container
                        ),
                        fix,
                    },
                );
            }
        }
    }

    /// How to fix what an overlay deploys: through the reference at the line that decided it, or
    /// by rewriting the tag there when that line is an image no other reference covers (a base
    /// that names `controller:v0.1.0` which a kustomization renames to the project's image).
    fn fix_at_origin(&self, scan: &Scan, origin: &crate::render::Origin, checked: &Checked) -> Fix {
        let covered = checked.references.iter().any(|reference| {
            reference.file == origin.file && reference.line == origin.line && matches!(reference.fix, Fix::Edits(_))
        });
        if covered {
            return Fix::ByOthers;
        }
        let workload = scan.workloads.iter().find(|workload| {
            workload.value.file == origin.file && workload.value.line == origin.line && workload.image.tag().is_some()
        });
        match workload
            .and_then(|workload| replace(&workload.value, workload.image.with_tag(&self.expected.image_tag).as_str()))
        {
            Some(edit) => Fix::Edits(vec![edit]),
            None => Fix::Manual(format!("set the image tag at {}:{} by hand", origin.file, origin.line)),
        }
    }

    pub(super) fn chart(&self, chart: &Chart, checked: &mut Checked) {
        let version = &self.expected.version;
        match &chart.app_version {
            Some(app_version) => self.push(
                checked,
                self.version_reference(
                    FindingKind::ChartAppVersion,
                    app_version,
                    "the chart ships another release of the app",
                ),
            ),
            None => self.push(
                checked,
                Reference {
                    kind: FindingKind::ChartAppVersion,
                    file: chart.file.clone(),
                    line: chart.version.as_ref().map_or(1, |version| version.line),
                    found: "(missing)".to_owned(),
                    expected: version.to_string(),
                    agrees: false,
                    severity: Severity::Error,
                    message: "Chart.yaml has no appVersion, so nothing says which release the chart ships".to_owned(),
                    fix: match chart.insert_app_version_at {
                        Some(offset) => Fix::Edits(vec![Edit {
                            file: chart.file.clone(),
                            range: offset..offset,
                            replacement: format!("appVersion: \"{version}\"\n"),
                        }]),
                        None => Fix::Manual("add an appVersion to Chart.yaml".to_owned()),
                    },
                },
            ),
        }
        if let Some(chart_version) = &chart.version {
            let parsed = Version::parse(&chart_version.text).ok();
            let follows = match self.settings.chart_version {
                ChartVersionPolicy::Follow => true,
                ChartVersionPolicy::Independent => false,
                ChartVersionPolicy::Auto => parsed.as_ref().is_some_and(|parsed| parsed.major() == version.major()),
            };
            if follows {
                self.push(
                    checked,
                    self.version_reference(
                        FindingKind::ChartVersion,
                        chart_version,
                        "the chart version follows the app version here",
                    ),
                );
            } else {
                checked.notes.push(format!(
                    "`{}`: chart version {} is treated as independent of the app version (set release.chart_version to change this)",
                    chart.file, chart_version.text
                ));
            }
        }
        for image in &chart.images {
            self.values_image(chart, image, checked);
        }
    }

    fn values_image(&self, chart: &Chart, image: &ValuesImage, checked: &mut Checked) {
        let Some(reference) = image.reference() else {
            return;
        };
        if !self.project.owns(&reference) {
            let tag = match image {
                ValuesImage::Whole { value, .. } => Some(value),
                ValuesImage::Split { tag, .. } => tag.as_ref().filter(|tag| !tag.text.is_empty()),
            };
            if let Some(tag) = tag {
                self.skip(checked, FindingKind::HelmImageTag, tag, NOT_PROJECT_IMAGE);
            }
            return;
        }
        let image_tag = &self.expected.image_tag;
        match image {
            ValuesImage::Whole { value, image, .. } => {
                let wanted = image.with_tag(image_tag);
                self.push(
                    checked,
                    self.reference(
                        FindingKind::HelmImageTag,
                        value,
                        image.to_string(),
                        wanted.to_string(),
                        image.tag() == Some(image_tag.as_str()),
                        self.tag_message(image.tag().unwrap_or("")),
                        replace(value, wanted.as_str()),
                    ),
                );
            }
            ValuesImage::Split { tag: Some(tag), .. } if !tag.text.is_empty() => {
                self.push(
                    checked,
                    self.reference(
                        FindingKind::HelmImageTag,
                        tag,
                        tag.text.clone(),
                        image_tag.clone(),
                        &tag.text == image_tag,
                        self.tag_message(&tag.text),
                        replace(tag, image_tag),
                    ),
                );
            }
            ValuesImage::Split { line, path, .. } => {
                let values_file = chart.values_file.clone().unwrap_or_default();
                let Some(app_version) = &chart.app_version else {
                    self.push(
                        checked,
                        Reference {
                            kind: FindingKind::HelmImageTag,
                            file: values_file,
                            line: *line,
                            found: format!("(empty {path}.tag and no appVersion)"),
                            expected: image_tag.clone(),
                            agrees: false,
                            severity: Severity::Error,
                            message: "the chart deploys an image tag that nothing sets".to_owned(),
                            fix: Fix::ByOthers,
                        },
                    );
                    return;
                };
                let deployed = default_tag(chart.tag_default, &app_version.text);
                let after_bump = default_tag(chart.tag_default, &restyle(&app_version.text, &self.expected.version));
                self.push(checked, Reference {
                    kind: FindingKind::HelmImageTag,
                    file: values_file,
                    line: *line,
                    found: deployed.clone(),
                    expected: image_tag.clone(),
                    agrees: &deployed == image_tag,
                    severity: Severity::Error,
                    message: format!(
                        "{path}.tag is empty, so the chart deploys {} ({}:{})",
                        match chart.tag_default {
                            TagDefault::VPrefixedAppVersion => "`v` + appVersion",
                            TagDefault::AppVersion => "its appVersion",
                        },
                        app_version.file,
                        app_version.line
                    ),
                    fix: if &after_bump == image_tag {
                        Fix::ByOthers
                    } else {
                        Fix::Manual(format!(
                            "the chart's default tag `{after_bump}` can never be `{image_tag}`; set {path}.tag or change how the templates build it"
                        ))
                    },
                });
            }
        }
    }
}
