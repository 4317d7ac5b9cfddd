//! Comparing every reference with the release: the one set of rules behind both `verify` and
//! `bump`.
//!
//! [`check`] turns a [`Scan`] into [`Reference`]s. Each says what is written, what the release
//! expects there, whether they agree and, when they do not, how to fix it: an exact text edit,
//! nothing because another reference's edit fixes it (an overlay deploying what a base names),
//! or a reason it needs a person. `verify` reports the disagreements as findings; `bump` runs
//! the same check against the new version and applies the edits, so the two can never disagree
//! about what a reference is.

use std::collections::BTreeSet;
use std::ops::Range;

use serde::Serialize;
use slipway_core::version::{names_version, restyle};
use slipway_core::{Finding, FindingKind, ImageReference, Severity, Version};

use crate::config::{ChartVersionPolicy, Settings};
use crate::project::Project;
use crate::render::Overlay;
use crate::scan::{Chart, Located, Scan, TagDefault, ValuesImage};
use crate::source::FileSet;

/// What the release expects references to say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Expected {
    /// The version.
    pub version: Version,
    /// The git tag (`v0.33.0`).
    pub git_tag: String,
    /// The image tag (`v0.33.0`).
    pub image_tag: String,
}

impl Expected {
    /// The tags for `version` under the configured prefixes.
    pub fn new(version: Version, settings: &Settings) -> Expected {
        Expected {
            git_tag: version.tag(&settings.tag_prefix),
            image_tag: version.tag(&settings.image_tag_prefix),
            version,
        }
    }
}

/// One reference to the project's version or images.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reference {
    /// What kind of reference.
    pub kind: FindingKind,
    /// Repository-relative path.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// What is written (or deployed).
    pub found: String,
    /// What the release expects.
    pub expected: String,
    /// Whether they agree.
    pub agrees: bool,
    /// How much a disagreement matters.
    #[serde(skip)]
    pub severity: Severity,
    /// A sentence for people.
    pub message: String,
    /// How to fix a disagreement.
    #[serde(skip)]
    pub fix: Fix,
}

/// How a disagreeing reference gets fixed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fix {
    /// Nothing to fix.
    Nothing,
    /// These text edits fix it.
    Edits(Vec<Edit>),
    /// Fixing other references fixes this one.
    ByOthers,
    /// A person has to decide; the reason says what.
    Manual(String),
}

/// Replacing a byte range of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// Repository-relative path.
    pub file: String,
    /// Bytes to replace.
    pub range: Range<usize>,
    /// The new text.
    pub replacement: String,
}

impl Reference {
    /// The finding this reference makes, if it disagrees.
    pub fn finding(&self) -> Option<Finding> {
        if self.agrees {
            return None;
        }
        let finding = Finding::in_file(self.kind, &self.file, self.line, self.found.clone(), self.expected.clone())
            .with_message(self.message.clone());
        Some(match self.severity {
            Severity::Error => finding,
            Severity::Warning => finding.as_warning(),
        })
    }
}

/// An image pinned by digest, which only the registry can confirm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestPin {
    /// Where.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// The repository.
    pub image: ImageReference,
    /// The pinned digest.
    pub digest: String,
}

/// Everything the check produced.
#[derive(Debug, Clone, Default)]
pub struct Checked {
    /// Every reference, agreeing or not.
    pub references: Vec<Reference>,
    /// Digest pins, for the registry to confirm.
    pub digest_pins: Vec<DigestPin>,
    /// What was skipped or assumed, for people.
    pub notes: Vec<String>,
}

/// Checks every reference in `scan` and `overlays` against `expected`.
pub fn check(
    files: &FileSet,
    scan: &Scan,
    overlays: &[Overlay],
    project: &Project,
    expected: &Expected,
    settings: &Settings,
) -> Checked {
    let mut checked = Checked::default();
    let context = Context { files, project, expected, settings };
    context.workloads(scan, &mut checked);
    context.kustomizations(scan, &mut checked);
    context.overlays(scan, overlays, &mut checked);
    for chart in &scan.charts {
        if project.owns_chart(chart) {
            context.chart(chart, &mut checked);
        } else {
            checked.notes.push(format!("chart `{}` is not checked: it ships none of the project's images", chart.file));
        }
    }
    for link in scan.ref_links.iter().filter(|link| project.owns_link(link)) {
        let agrees = link.value.text == expected.git_tag;
        checked.references.push(context.reference(
            FindingKind::RefLink,
            &link.value,
            link.value.text.clone(),
            expected.git_tag.clone(),
            agrees,
            "a kustomize remote link in the docs names another release".to_owned(),
            replace(&link.value, &expected.git_tag),
        ));
    }
    for file in &scan.version_files {
        if !file.exists {
            checked.references.push(Reference {
                kind: FindingKind::VersionFile,
                file: file.path.clone(),
                line: 1,
                found: "(file missing)".to_owned(),
                expected: expected.version.to_string(),
                agrees: false,
                severity: Severity::Error,
                message: "release.version_files names a file that does not exist".to_owned(),
                fix: Fix::Manual("create the file or remove it from release.version_files".to_owned()),
            });
            continue;
        }
        if file.values.is_empty() {
            checked.references.push(Reference {
                kind: FindingKind::VersionFile,
                file: file.path.clone(),
                line: 1,
                found: format!("(nothing matches `{}`)", file.pattern),
                expected: expected.version.to_string(),
                agrees: false,
                severity: Severity::Error,
                message: "the configured pattern matches nothing in the file".to_owned(),
                fix: Fix::Manual("fix the pattern in release.version_files".to_owned()),
            });
        }
        for value in &file.values {
            checked.references.push(context.version_reference(
                FindingKind::VersionFile,
                value,
                "a configured version file names another version",
            ));
        }
    }
    checked
}

/// The versions the project's references name, for inferring the version being checked.
pub fn observed_versions(scan: &Scan, overlays: &[Overlay], project: &Project, settings: &Settings) -> Vec<Version> {
    let tag_version = |tag: &str, prefix: &str| Version::from_tag(tag, prefix).or_else(|| Version::parse(tag).ok());
    let mut versions = Vec::new();
    for workload in scan.workloads.iter().filter(|workload| project.owns(&workload.image)) {
        versions.extend(workload.image.tag().and_then(|tag| tag_version(tag, &settings.image_tag_prefix)));
    }
    for kustomization in &scan.kustomizations {
        for entry in &kustomization.images {
            if ImageReference::parse(entry.effective_name()).is_ok_and(|image| project.owns(&image)) {
                versions
                    .extend(entry.new_tag.as_ref().and_then(|tag| tag_version(&tag.text, &settings.image_tag_prefix)));
            }
        }
    }
    for overlay in overlays {
        for container in &overlay.containers {
            if let Ok(image) = ImageReference::parse(&container.image)
                && project.owns(&image)
            {
                versions.extend(image.tag().and_then(|tag| tag_version(tag, &settings.image_tag_prefix)));
            }
        }
    }
    for chart in scan.charts.iter().filter(|chart| project.owns_chart(chart)) {
        versions.extend(chart.app_version.as_ref().and_then(|app| Version::parse(&app.text).ok()));
    }
    for link in scan.ref_links.iter().filter(|link| project.owns_link(link)) {
        versions.extend(tag_version(&link.value.text, &settings.tag_prefix));
    }
    for file in &scan.version_files {
        versions.extend(file.values.iter().filter_map(|value| Version::parse(&value.text).ok()));
    }
    versions
}

struct Context<'a> {
    files: &'a FileSet,
    project: &'a Project,
    expected: &'a Expected,
    settings: &'a Settings,
}

impl Context<'_> {
    #[expect(clippy::too_many_arguments, reason = "a reference has this many facts; a builder would only move them")]
    fn reference(
        &self,
        kind: FindingKind,
        located: &Located,
        found: String,
        expected: String,
        agrees: bool,
        message: String,
        edit: Option<Edit>,
    ) -> Reference {
        let fix = match (agrees, edit) {
            (true, _) => Fix::Nothing,
            (false, Some(edit)) => Fix::Edits(vec![edit]),
            (false, None) => Fix::Manual(not_editable(located)),
        };
        Reference {
            kind,
            file: located.file.clone(),
            line: located.line,
            found,
            expected,
            agrees,
            severity: Severity::Error,
            // The message explains a disagreement; an agreeing reference needs none.
            message: if agrees { String::new() } else { message },
            fix,
        }
    }

    /// A value that should name the release version, in its own spelling (`0.33.0` or `v0.33.0`).
    fn version_reference(&self, kind: FindingKind, located: &Located, message: &str) -> Reference {
        let version = &self.expected.version;
        let wanted = restyle(&located.text, version);
        self.reference(
            kind,
            located,
            located.text.clone(),
            wanted.clone(),
            names_version(&located.text, version),
            message.to_owned(),
            replace(located, &wanted),
        )
    }

    fn is_version_tag(&self, tag: &str) -> bool {
        Version::from_tag(tag, &self.settings.image_tag_prefix).is_some() || Version::parse(tag).is_ok()
    }

    fn tag_message(&self, found_tag: &str) -> String {
        let bare = |tag: &str| tag.trim_start_matches('v').to_owned();
        if found_tag != self.expected.image_tag && bare(found_tag) == bare(&self.expected.image_tag) {
            "the tags differ only in the `v` prefix; set release.image_tag_prefix if the images are tagged without it"
                .to_owned()
        } else {
            "a manifest names another release of the project's image".to_owned()
        }
    }

    fn workloads(&self, scan: &Scan, checked: &mut Checked) {
        for workload in scan.workloads.iter().filter(|workload| self.project.owns(&workload.image)) {
            let image = &workload.image;
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
                    checked.references.push(self.reference(
                        FindingKind::ImageTag,
                        &workload.value,
                        image.to_string(),
                        wanted.to_string(),
                        agrees,
                        message,
                        replace(&workload.value, wanted.as_str()),
                    ));
                }
                None if image.digest().is_some() => {}
                _ => checked.references.push(Reference {
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
                }),
            }
        }
    }

    fn kustomizations(&self, scan: &Scan, checked: &mut Checked) {
        for kustomization in &scan.kustomizations {
            for entry in &kustomization.images {
                let Ok(name) = ImageReference::parse(entry.effective_name()) else {
                    continue;
                };
                if !self.project.owns(&name) {
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
                checked.references.push(reference);
            }
        }
    }

    fn overlays(&self, scan: &Scan, overlays: &[Overlay], checked: &mut Checked) {
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
                checked.references.push(Reference {
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
                });
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

    fn chart(&self, chart: &Chart, checked: &mut Checked) {
        let version = &self.expected.version;
        match &chart.app_version {
            Some(app_version) => checked.references.push(self.version_reference(
                FindingKind::ChartAppVersion,
                app_version,
                "the chart ships another release of the app",
            )),
            None => checked.references.push(Reference {
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
            }),
        }
        if let Some(chart_version) = &chart.version {
            let parsed = Version::parse(&chart_version.text).ok();
            let follows = match self.settings.chart_version {
                ChartVersionPolicy::Follow => true,
                ChartVersionPolicy::Independent => false,
                ChartVersionPolicy::Auto => parsed.as_ref().is_some_and(|parsed| parsed.major() == version.major()),
            };
            if follows {
                checked.references.push(self.version_reference(
                    FindingKind::ChartVersion,
                    chart_version,
                    "the chart version follows the app version here",
                ));
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
            return;
        }
        let image_tag = &self.expected.image_tag;
        match image {
            ValuesImage::Whole { value, image, .. } => {
                let wanted = image.with_tag(image_tag);
                checked.references.push(self.reference(
                    FindingKind::HelmImageTag,
                    value,
                    image.to_string(),
                    wanted.to_string(),
                    image.tag() == Some(image_tag.as_str()),
                    self.tag_message(image.tag().unwrap_or("")),
                    replace(value, wanted.as_str()),
                ));
            }
            ValuesImage::Split { tag: Some(tag), .. } if !tag.text.is_empty() => {
                checked.references.push(self.reference(
                    FindingKind::HelmImageTag,
                    tag,
                    tag.text.clone(),
                    image_tag.clone(),
                    &tag.text == image_tag,
                    self.tag_message(&tag.text),
                    replace(tag, image_tag),
                ));
            }
            ValuesImage::Split { line, path, .. } => {
                let values_file = chart.values_file.clone().unwrap_or_default();
                let Some(app_version) = &chart.app_version else {
                    checked.references.push(Reference {
                        kind: FindingKind::HelmImageTag,
                        file: values_file,
                        line: *line,
                        found: format!("(empty {path}.tag and no appVersion)"),
                        expected: image_tag.clone(),
                        agrees: false,
                        severity: Severity::Error,
                        message: "the chart deploys an image tag that nothing sets".to_owned(),
                        fix: Fix::ByOthers,
                    });
                    return;
                };
                let deployed = default_tag(chart.tag_default, &app_version.text);
                let after_bump = default_tag(chart.tag_default, &restyle(&app_version.text, &self.expected.version));
                checked.references.push(Reference {
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

fn default_tag(default: TagDefault, app_version: &str) -> String {
    match default {
        TagDefault::VPrefixedAppVersion if !app_version.starts_with('v') => format!("v{app_version}"),
        _ => app_version.to_owned(),
    }
}

fn replace(located: &Located, replacement: &str) -> Option<Edit> {
    located.range.clone().map(|range| Edit { file: located.file.clone(), range, replacement: replacement.to_owned() })
}

fn not_editable(located: &Located) -> String {
    format!(
        "`{}` line {} is written with escapes, line folding or block style, so it cannot be rewritten in place; edit it by hand",
        located.file, located.line
    )
}

/// An edit that deletes the whole line a key starts on, when that line holds only that key.
fn remove_line(files: &FileSet, file: &str, key_start: usize) -> Option<Edit> {
    let text = files.get(file)?;
    let line_start = text[..key_start].rfind('\n').map_or(0, |newline| newline + 1);
    if !text[line_start..key_start].chars().all(char::is_whitespace) {
        return None;
    }
    let line_end = text[key_start..].find('\n').map_or(text.len(), |newline| key_start + newline + 1);
    Some(Edit { file: file.to_owned(), range: line_start..line_end, replacement: String::new() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_helm_tag_follows_the_templates() {
        assert_eq!(default_tag(TagDefault::VPrefixedAppVersion, "0.33.0"), "v0.33.0");
        assert_eq!(default_tag(TagDefault::VPrefixedAppVersion, "v0.33.0"), "v0.33.0");
        assert_eq!(default_tag(TagDefault::AppVersion, "0.33.0"), "0.33.0");
    }

    #[test]
    fn only_a_line_holding_just_the_key_is_removed() {
        let text =
            "images:\n- name: app\n  newTag: v1\n  digest: sha256:00 # pinned\n- digest: sha256:11\n  name: other\n";
        let files = FileSet::from_files([("k.yaml", text)]);
        let start = text.find("digest: sha256:00").expect("present");
        let edit = remove_line(&files, "k.yaml", start).expect("removable");
        assert_eq!(&text[edit.range], "  digest: sha256:00 # pinned\n");
        let first_key = text.find("digest: sha256:11").expect("present");
        assert_eq!(remove_line(&files, "k.yaml", first_key), None, "removing it would break the list item");
    }

    #[test]
    fn expected_tags_use_the_prefixes() {
        let release = crate::config::ReleaseSection {
            tag_prefix: Some("cluster-autoscaler-".into()),
            image_tag_prefix: Some("v".into()),
            ..Default::default()
        };
        let settings = Settings::resolve(&crate::config::ProjectSection::default(), &release).expect("valid");
        let expected = Expected::new(Version::parse("1.36.1").expect("valid"), &settings);
        assert_eq!((expected.git_tag.as_str(), expected.image_tag.as_str()), ("cluster-autoscaler-1.36.1", "v1.36.1"));
    }
}
