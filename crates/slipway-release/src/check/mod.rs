//! Comparing every reference with the release: the one set of rules behind both `verify` and
//! `bump`.
//!
//! [`check`] turns a [`Scan`] into [`Reference`]s. Each says what is written, what the release
//! expects there, whether they agree and, when they do not, how to fix it: an exact text edit,
//! nothing because another reference's edit fixes it (an overlay deploying what a base names),
//! or a reason it needs a person. `verify` reports the disagreements as findings; `bump` runs
//! the same check against the new version and applies the edits, so the two can never disagree
//! about what a reference is.
//!
//! Nothing is dropped silently: a value that looked like a reference and was not checked (another
//! project's image, a link into another repository, a tool's version in a workflow, a kind turned
//! off in `release.checks`) becomes a [`SkippedReference`] with its reason.

mod keys;
mod manifests;
mod text;

use std::collections::BTreeSet;
use std::ops::Range;

use serde::Serialize;
use slipway_core::version::{names_version, restyle};
use slipway_core::{Finding, FindingKind, Severity, Version};

use crate::config::Settings;
use crate::project::Project;
use crate::render::Overlay;
use crate::scan::{Located, Scan};
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

/// Something that looked like a reference and was not checked, and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct SkippedReference {
    /// Repository-relative path.
    pub file: String,
    /// 1-based line; `None` for a whole file.
    pub line: Option<usize>,
    /// The kind it would have been, if it can be told.
    pub kind: Option<FindingKind>,
    /// What is written.
    pub text: String,
    /// Why it was not checked.
    pub reason: String,
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
    pub image: slipway_core::ImageReference,
    /// The pinned digest.
    pub digest: String,
}

/// Everything the check produced.
#[derive(Debug, Clone, Default)]
pub struct Checked {
    /// Every reference, agreeing or not.
    pub references: Vec<Reference>,
    /// Findings that are not about one reference (a configured image nothing references).
    pub findings: Vec<Finding>,
    /// What looked like a reference and was not checked.
    pub skipped: Vec<SkippedReference>,
    /// Digest pins, for the registry to confirm.
    pub digest_pins: Vec<DigestPin>,
    /// What was assumed, for people.
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
    let mut known_versions: BTreeSet<Version> =
        observed_versions(scan, overlays, project, settings).into_iter().collect();
    known_versions.insert(expected.version.clone());
    let context = Context { files, project, expected, settings, known_versions };
    context.workloads(scan, &mut checked);
    context.kustomizations(scan, &mut checked);
    context.overlays(scan, overlays, &mut checked);
    for chart in &scan.charts {
        if project.owns_chart(chart) {
            context.chart(chart, &mut checked);
        } else {
            checked.skipped.push(SkippedReference {
                file: chart.file.clone(),
                line: chart.version.as_ref().map(|version| version.line),
                kind: Some(FindingKind::ChartAppVersion),
                text: chart.name.clone().unwrap_or_default(),
                reason: "the chart ships none of the project's images".to_owned(),
            });
        }
    }
    context.links(scan, &mut checked);
    context.doc_images(scan, &mut checked);
    context.workflow_values(scan, &mut checked);
    context.make_variables(scan, &mut checked);
    context.version_files(scan, &mut checked);
    context.unused_images(scan, overlays, &mut checked);
    checked.skipped.extend(scan.skipped.iter().map(|skipped| SkippedReference {
        file: skipped.path.clone(),
        line: None,
        kind: None,
        text: String::new(),
        reason: format!("file not read: {}", skipped.reason),
    }));
    checked.skipped.sort();
    checked.skipped.dedup();
    checked
}

/// The versions the project's own references name, for inferring the version being checked:
/// manifests, charts, project links and project images in documents. Workflow and Makefile
/// values only count once they are known to be the project's, which needs the version first.
pub fn observed_versions(scan: &Scan, overlays: &[Overlay], project: &Project, settings: &Settings) -> Vec<Version> {
    let tag_version = |tag: &str, prefix: &str| Version::from_tag(tag, prefix).or_else(|| Version::parse(tag).ok());
    let mut versions = Vec::new();
    for workload in scan.workloads.iter().filter(|workload| project.owns(&workload.image)) {
        versions.extend(workload.image.tag().and_then(|tag| tag_version(tag, &settings.image_tag_prefix)));
    }
    for kustomization in &scan.kustomizations {
        for entry in &kustomization.images {
            if slipway_core::ImageReference::parse(entry.effective_name()).is_ok_and(|image| project.owns(&image)) {
                versions
                    .extend(entry.new_tag.as_ref().and_then(|tag| tag_version(&tag.text, &settings.image_tag_prefix)));
            }
        }
    }
    for overlay in overlays {
        for container in &overlay.containers {
            if let Ok(image) = slipway_core::ImageReference::parse(&container.image)
                && project.owns(&image)
            {
                versions.extend(image.tag().and_then(|tag| tag_version(tag, &settings.image_tag_prefix)));
            }
        }
    }
    for chart in scan.charts.iter().filter(|chart| project.owns_chart(chart)) {
        versions.extend(chart.app_version.as_ref().and_then(|app| Version::parse(&app.text).ok()));
    }
    for link in scan.ref_links.iter().filter(|link| project.link_owner(link) == crate::project::LinkOwner::Project) {
        versions.extend(Version::from_tag(&link.value.text, &settings.tag_prefix));
    }
    for image in scan.doc_images.iter().filter(|image| project.owns(&image.image)) {
        versions.extend(image.image.tag().and_then(|tag| tag_version(tag, &settings.image_tag_prefix)));
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
    /// Versions of the project: tagged, named by its manifests, or being released.
    known_versions: BTreeSet<Version>,
}

impl Context<'_> {
    /// Records a reference, or a skipped one when its kind is turned off.
    fn push(&self, checked: &mut Checked, reference: Reference) {
        if self.settings.disabled.contains(&reference.kind) {
            checked.skipped.push(SkippedReference {
                file: reference.file,
                line: Some(reference.line),
                kind: Some(reference.kind),
                text: reference.found,
                reason: format!("release.checks turns `{}` off", reference.kind.name()),
            });
        } else {
            checked.references.push(reference);
        }
    }

    /// Records something that looked like a reference and is not checked.
    fn skip(&self, checked: &mut Checked, kind: FindingKind, located: &Located, reason: impl Into<String>) {
        checked.skipped.push(SkippedReference {
            file: located.file.clone(),
            line: Some(located.line),
            kind: Some(kind),
            text: located.text.clone(),
            reason: reason.into(),
        });
    }

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
