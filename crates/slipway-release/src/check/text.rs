//! References in text outside manifests: kustomize remote links (to a release tag or a release
//! branch), the project's images in documents, GitHub Actions workflow values, Makefile
//! variables and configured version files; and configured images that nothing references.

use slipway_core::version::restyle;
use slipway_core::{Finding, FindingKind, ImageReference, Severity, Version};

use super::keys::{self, Subject};
use super::{Checked, Context, Fix, Reference, replace};
use crate::project::LinkOwner;
use crate::render::Overlay;
use crate::scan::{Located, Scan};

impl Context<'_> {
    pub(super) fn links(&self, scan: &Scan, checked: &mut Checked) {
        let pattern = self.project.branch_pattern();
        let branch = pattern.branch(&self.expected.version);
        for link in &scan.ref_links {
            let value = &link.value;
            match self.project.link_owner(link) {
                LinkOwner::Project => {}
                LinkOwner::SameName(repository) => {
                    let project = self.project.repository.clone().unwrap_or_default();
                    self.push(
                        checked,
                        Reference {
                            kind: FindingKind::ForeignLink,
                            file: value.file.clone(),
                            line: value.line,
                            found: link.url.clone(),
                            expected: link.url.replacen(&repository, &project, 1),
                            agrees: false,
                            severity: Severity::Warning,
                            message: format!(
                                "the link points into {repository}, which has the project's name but is not its repository {project} ({})",
                                self.project.repository_source
                            ),
                            fix: Fix::Manual("point the link at the project's repository, or set project.repository".to_owned()),
                        },
                    );
                    continue;
                }
                LinkOwner::Other => {
                    let reason = match &link.repository {
                        Some(repository) => format!("the link points into {repository}, not the project's repository"),
                        None => "the link's repository cannot be told from its URL".to_owned(),
                    };
                    self.skip(checked, FindingKind::RefLink, value, reason);
                    continue;
                }
            }
            if Version::from_tag(&value.text, &self.settings.tag_prefix).is_some() {
                let agrees = value.text == self.expected.git_tag;
                let reference = self.reference(
                    FindingKind::RefLink,
                    value,
                    value.text.clone(),
                    self.expected.git_tag.clone(),
                    agrees,
                    "a kustomize remote link names another release".to_owned(),
                    replace(value, &self.expected.git_tag),
                );
                self.push(checked, reference);
            } else if pattern.matches(&value.text) {
                let reference = self.reference(
                    FindingKind::RefBranchLink,
                    value,
                    value.text.clone(),
                    branch.clone(),
                    value.text == branch,
                    format!(
                        "a kustomize remote link follows another release branch (branches are named `{pattern}`, {})",
                        self.project.branch_pattern_source
                    ),
                    replace(value, &branch),
                );
                self.push(checked, reference);
            } else {
                self.skip(
                    checked,
                    FindingKind::RefLink,
                    value,
                    format!("ref `{}` is neither a release tag nor a release branch (`{pattern}`)", value.text),
                );
            }
        }
    }

    pub(super) fn doc_images(&self, scan: &Scan, checked: &mut Checked) {
        let release_tables = self.release_tables(scan);
        for doc_image in &scan.doc_images {
            let image = &doc_image.image;
            if !self.project.owns(image) {
                self.skip(checked, FindingKind::MarkdownImage, &doc_image.value, super::manifests::NOT_PROJECT_IMAGE);
                continue;
            }
            if let Some(releases) = release_tables.get(doc_image.value.file.as_str())
                && self.in_table_row(&doc_image.value)
            {
                self.skip(
                    checked,
                    FindingKind::MarkdownImage,
                    &doc_image.value,
                    format!(
                        "a row of a table that lists {releases} releases of the image; past releases are left alone"
                    ),
                );
                continue;
            }
            let Some(tag) = image.tag().filter(|tag| self.is_version_tag(tag)) else {
                continue;
            };
            let wanted = image.with_tag(&self.expected.image_tag);
            let mut reference = self.reference(
                FindingKind::MarkdownImage,
                &doc_image.value,
                image.to_string(),
                wanted.to_string(),
                tag == self.expected.image_tag,
                "the docs name another release of the project's image".to_owned(),
                replace(&doc_image.value, wanted.as_str()),
            );
            if self.pins_digest_after(&doc_image.value) && !reference.agrees {
                reference.fix = Fix::Manual("the reference also pins a digest; update both by hand".to_owned());
            }
            self.push(checked, reference);
        }
    }

    /// Documents with a table whose rows name two or more releases of a project image (a
    /// compatibility or download table), and how many releases it lists.
    fn release_tables<'s>(&self, scan: &'s Scan) -> std::collections::BTreeMap<&'s str, usize> {
        let mut tags: std::collections::BTreeMap<&str, std::collections::BTreeSet<&str>> = Default::default();
        for doc_image in scan.doc_images.iter().filter(|image| self.project.owns(&image.image)) {
            if self.in_table_row(&doc_image.value) {
                tags.entry(doc_image.value.file.as_str()).or_default().extend(doc_image.image.tag());
            }
        }
        tags.into_iter().filter(|(_, tags)| tags.len() >= 2).map(|(file, tags)| (file, tags.len())).collect()
    }

    /// Whether a value sits in a Markdown table row: a line with `|` in a block of such lines
    /// that has a separator row (`---|---`), with or without outer pipes.
    fn in_table_row(&self, located: &Located) -> bool {
        let (Some(text), Some(range)) = (self.files.get(&located.file), &located.range) else {
            return false;
        };
        let start = text[..range.start].rfind('\n').map_or(0, |newline| newline + 1);
        let end = text[range.end..].find('\n').map_or(text.len(), |newline| range.end + newline);
        if !text[start..end].contains('|') {
            return false;
        }
        let is_separator = |line: &str| {
            let line = line.trim();
            line.contains('|')
                && line.contains("---")
                && line.chars().all(|c| matches!(c, '|' | '-' | ':' | ' ' | '\t'))
        };
        // The rows above, up to the table's start: a table has its separator under its header.
        text[..start].lines().rev().take_while(|line| line.contains('|')).take(10_000).any(is_separator)
    }

    /// Whether the text right after a located value is `@sha256:...`.
    fn pins_digest_after(&self, located: &Located) -> bool {
        let (Some(text), Some(range)) = (self.files.get(&located.file), &located.range) else {
            return false;
        };
        text.get(range.end..).is_some_and(|rest| rest.starts_with("@sha256:"))
    }

    pub(super) fn workflow_values(&self, scan: &Scan, checked: &mut Checked) {
        for value in &scan.workflow_values {
            let input_of = value.action.as_deref().filter(|action| !self.action_is_projects(action));
            self.named_value(checked, FindingKind::WorkflowValue, &value.key, input_of, &value.value);
        }
    }

    pub(super) fn make_variables(&self, scan: &Scan, checked: &mut Checked) {
        for variable in &scan.make_variables {
            self.named_value(checked, FindingKind::MakefileVariable, &variable.name, None, &variable.value);
        }
    }

    /// Whether an action (`owner/repo@ref`, `./local`) is the project's own.
    fn action_is_projects(&self, action: &str) -> bool {
        action.starts_with("./")
            || self
                .project
                .name
                .as_deref()
                .is_some_and(|name| action.split(['/', '@']).take(2).any(|part| part.eq_ignore_ascii_case(name)))
    }

    /// A value under a name (a workflow key or a Makefile variable): a reference when it names a
    /// version of the project, or one of its images, and the name is not about something else.
    fn named_value(
        &self,
        checked: &mut Checked,
        kind: FindingKind,
        name: &str,
        input_of: Option<&str>,
        value: &Located,
    ) {
        let text = value.text.as_str();
        if let Ok(image) = ImageReference::parse(text)
            && image.registry().is_some()
            && let Some(tag) = image.tag()
            && self.is_version_tag(tag)
        {
            if !self.project.owns(&image) {
                self.skip(checked, kind, value, super::manifests::NOT_PROJECT_IMAGE);
                return;
            }
            let wanted = image.with_tag(&self.expected.image_tag);
            let reference = self.reference(
                kind,
                value,
                text.to_owned(),
                wanted.to_string(),
                tag == self.expected.image_tag,
                format!("`{name}` names another release of the project's image"),
                replace(value, wanted.as_str()),
            );
            self.push(checked, reference);
            return;
        }
        let Some(version) = self.version_in(text) else {
            return;
        };
        let subject = keys::subject(name, self.project.name.as_deref());
        if let Subject::Other(other) = &subject {
            self.skip(checked, kind, value, format!("`{name}` is about `{other}`, not the project"));
            return;
        }
        if let (Subject::Generic, Some(action)) = (&subject, input_of) {
            self.skip(checked, kind, value, format!("`{name}` is an input of `{action}`, not the project's"));
            return;
        }
        if !self.known_versions.contains(&version) && !self.project.is_tagged(&version) {
            self.skip(checked, kind, value, format!("`{text}` is not a version of the project (no such release tag)"));
            return;
        }
        let wanted = self.restyle_tag(text);
        let reference = self.reference(
            kind,
            value,
            text.to_owned(),
            wanted.clone(),
            version == self.expected.version,
            format!("`{name}` names another release of the project"),
            replace(value, &wanted),
        );
        self.push(checked, reference);
    }

    /// The version a value names: a git tag, an image tag, or a bare version.
    fn version_in(&self, text: &str) -> Option<Version> {
        Version::from_tag(text, &self.settings.tag_prefix)
            .or_else(|| Version::from_tag(text, &self.settings.image_tag_prefix))
            .or_else(|| Version::parse(text).ok())
    }

    /// The release version in the spelling of `text`: the git tag when `text` is written as
    /// one, else `v`-prefixed or bare as `text` is.
    fn restyle_tag(&self, text: &str) -> String {
        let prefix = &self.settings.tag_prefix;
        if prefix != "v" && !prefix.is_empty() && text.starts_with(prefix.as_str()) {
            self.expected.git_tag.clone()
        } else {
            restyle(text, &self.expected.version)
        }
    }

    pub(super) fn version_files(&self, scan: &Scan, checked: &mut Checked) {
        for file in &scan.version_files {
            if !file.exists {
                self.push(
                    checked,
                    Reference {
                        kind: FindingKind::VersionFile,
                        file: file.path.clone(),
                        line: 1,
                        found: "(file missing)".to_owned(),
                        expected: self.expected.version.to_string(),
                        agrees: false,
                        severity: Severity::Error,
                        message: "release.version_files names a file that does not exist".to_owned(),
                        fix: Fix::Manual("create the file or remove it from release.version_files".to_owned()),
                    },
                );
                continue;
            }
            if file.values.is_empty() {
                self.push(
                    checked,
                    Reference {
                        kind: FindingKind::VersionFile,
                        file: file.path.clone(),
                        line: 1,
                        found: format!("(nothing matches `{}`)", file.pattern),
                        expected: self.expected.version.to_string(),
                        agrees: false,
                        severity: Severity::Error,
                        message: "the configured pattern matches nothing in the file".to_owned(),
                        fix: Fix::Manual("fix the pattern in release.version_files".to_owned()),
                    },
                );
            }
            for value in &file.values {
                let reference = self.version_reference(
                    FindingKind::VersionFile,
                    value,
                    "a configured version file names another version",
                );
                self.push(checked, reference);
            }
        }
    }

    /// A configured image (`--image`, `release.images`) that nothing in the repository names is
    /// most likely misspelt: say so rather than pass a check that checked nothing.
    pub(super) fn unused_images(&self, scan: &Scan, overlays: &[Overlay], checked: &mut Checked) {
        for image in self.project.images.iter().filter(|image| !image.inferred) {
            let reference = image.reference();
            let parsed = |text: &str| ImageReference::parse(text).is_ok_and(|other| reference.same_repository(&other));
            let used = scan.workloads.iter().any(|workload| reference.same_repository(&workload.image))
                || scan.kustomizations.iter().flat_map(|k| &k.images).any(|entry| parsed(entry.effective_name()))
                || overlays.iter().flat_map(|overlay| &overlay.containers).any(|container| parsed(&container.image))
                || scan
                    .charts
                    .iter()
                    .flat_map(|chart| &chart.images)
                    .filter_map(|image| image.reference())
                    .any(|other| reference.same_repository(&other))
                || scan.doc_images.iter().any(|doc| reference.same_repository(&doc.image))
                || scan.workflow_values.iter().any(|value| parsed(&value.value.text))
                || scan.make_variables.iter().any(|variable| parsed(&variable.value.text));
            if !used {
                checked.findings.push(
                    Finding::in_registry(
                        FindingKind::UnusedImage,
                        &image.repository,
                        None,
                        "(no reference)".to_owned(),
                        "a manifest, chart or doc that names it".to_owned(),
                    )
                    .with_message(
                        "nothing in the repository references this image, so nothing about it was checked in files; is the name right?",
                    )
                    .as_warning(),
                );
            }
        }
    }
}
