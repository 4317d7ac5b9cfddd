//! Findings: what a check reports, in one shape for text and JSON output.
//!
//! A finding names where the problem is (a file and line, or an image and platform), what was
//! found and what was expected. Its [`Severity`] decides the exit code: any error makes the
//! check fail (exit 1); warnings are reported and do not.

use serde::Serialize;

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The release is inconsistent; the check fails.
    Error,
    /// Worth knowing; the check still passes.
    Warning,
}

/// What kind of reference or registry fact a finding is about. The JSON name of each kind is part
/// of the versioned output schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    /// An `image:` field of a container in a Kubernetes workload.
    ImageTag,
    /// A project image with no tag, or a floating tag such as `latest`.
    FloatingImageTag,
    /// An image pinned by digest that differs from the registry's digest for the version tag.
    ImageDigest,
    /// A kustomization `images:` entry (`newTag`).
    KustomizeNewTag,
    /// The image a kustomize overlay deploys once its images transformers are applied.
    OverlayImage,
    /// Helm `Chart.yaml` `version`.
    ChartVersion,
    /// Helm `Chart.yaml` `appVersion`.
    ChartAppVersion,
    /// The image tag a Helm chart deploys by default (`values.yaml` `tag`, or the `appVersion`).
    HelmImageTag,
    /// A `?ref=` kustomize remote link to a release tag, in docs or manifests.
    RefLink,
    /// A `?ref=` kustomize remote link to a release branch (`release-1.36`).
    RefBranchLink,
    /// A link into a repository that has the project's name under another owner (a fork).
    ForeignLink,
    /// An image reference to one of the project's images in a document (README, docs).
    MarkdownImage,
    /// A GitHub Actions workflow input, matrix or env value that names a version of the project.
    WorkflowValue,
    /// A Makefile variable that names a version of the project (`VERSION ?= v0.31.0`).
    MakefileVariable,
    /// A version file named in the configuration.
    VersionFile,
    /// An image given with `--image` or `release.images` that nothing references.
    UnusedImage,
    /// The version tag does not exist in the registry.
    RegistryTagMissing,
    /// The version tag is a single-platform manifest, not an index.
    RegistryNotIndex,
    /// The index has no entry for a required platform.
    RegistryPlatformMissing,
    /// A platform manifest's config declares another platform than its index entry.
    RegistryConfigPlatform,
    /// The image's `org.opencontainers.image.revision` names another commit than the tag.
    RegistryRevision,
    /// The image carries no `org.opencontainers.image.revision`.
    RegistryRevisionMissing,
    /// The entrypoint binary is built for another architecture than its platform.
    BinaryArchitecture,
    /// The entrypoint could not be found in the image's layers.
    BinaryMissing,
    /// The entrypoint is not an ELF binary (a script, or another format).
    BinaryNotElf,
    /// A release tag points at another commit (or tag object) than when the release was recorded.
    TagMoved,
    /// A recorded release tag no longer exists.
    TagDeleted,
    /// A registry tag points at another digest than the one recorded.
    RegistryTagMoved,
    /// A platform recorded in a release image is gone, or its digest changed.
    RegistryPlatformChanged,
    /// An overlay or chart at the release tag renders other images than when recorded.
    RenderedImagesChanged,
    /// The promoter manifest maps the release tag to another digest than the one built.
    PromoterDigest,
    /// A release-ledger entry that is missing, corrupt or of an unknown schema.
    LedgerEntry,
    /// A kind node image's `/kind/version` names another Kubernetes version than expected, or
    /// is missing.
    NodeImageVersion,
}

impl FindingKind {
    /// Every kind, in declaration order.
    pub const ALL: &'static [FindingKind] = &[
        FindingKind::ImageTag,
        FindingKind::FloatingImageTag,
        FindingKind::ImageDigest,
        FindingKind::KustomizeNewTag,
        FindingKind::OverlayImage,
        FindingKind::ChartVersion,
        FindingKind::ChartAppVersion,
        FindingKind::HelmImageTag,
        FindingKind::RefLink,
        FindingKind::RefBranchLink,
        FindingKind::ForeignLink,
        FindingKind::MarkdownImage,
        FindingKind::WorkflowValue,
        FindingKind::MakefileVariable,
        FindingKind::VersionFile,
        FindingKind::UnusedImage,
        FindingKind::RegistryTagMissing,
        FindingKind::RegistryNotIndex,
        FindingKind::RegistryPlatformMissing,
        FindingKind::RegistryConfigPlatform,
        FindingKind::RegistryRevision,
        FindingKind::RegistryRevisionMissing,
        FindingKind::BinaryArchitecture,
        FindingKind::BinaryMissing,
        FindingKind::BinaryNotElf,
        FindingKind::TagMoved,
        FindingKind::TagDeleted,
        FindingKind::RegistryTagMoved,
        FindingKind::RegistryPlatformChanged,
        FindingKind::RenderedImagesChanged,
        FindingKind::PromoterDigest,
        FindingKind::LedgerEntry,
        FindingKind::NodeImageVersion,
    ];

    /// The kind's name, as JSON and configuration spell it (`ref-branch-link`).
    pub fn name(self) -> &'static str {
        match self {
            FindingKind::ImageTag => "image-tag",
            FindingKind::FloatingImageTag => "floating-image-tag",
            FindingKind::ImageDigest => "image-digest",
            FindingKind::KustomizeNewTag => "kustomize-new-tag",
            FindingKind::OverlayImage => "overlay-image",
            FindingKind::ChartVersion => "chart-version",
            FindingKind::ChartAppVersion => "chart-app-version",
            FindingKind::HelmImageTag => "helm-image-tag",
            FindingKind::RefLink => "ref-link",
            FindingKind::RefBranchLink => "ref-branch-link",
            FindingKind::ForeignLink => "foreign-link",
            FindingKind::MarkdownImage => "markdown-image",
            FindingKind::WorkflowValue => "workflow-value",
            FindingKind::MakefileVariable => "makefile-variable",
            FindingKind::VersionFile => "version-file",
            FindingKind::UnusedImage => "unused-image",
            FindingKind::RegistryTagMissing => "registry-tag-missing",
            FindingKind::RegistryNotIndex => "registry-not-index",
            FindingKind::RegistryPlatformMissing => "registry-platform-missing",
            FindingKind::RegistryConfigPlatform => "registry-config-platform",
            FindingKind::RegistryRevision => "registry-revision",
            FindingKind::RegistryRevisionMissing => "registry-revision-missing",
            FindingKind::BinaryArchitecture => "binary-architecture",
            FindingKind::BinaryMissing => "binary-missing",
            FindingKind::BinaryNotElf => "binary-not-elf",
            FindingKind::TagMoved => "tag-moved",
            FindingKind::TagDeleted => "tag-deleted",
            FindingKind::RegistryTagMoved => "registry-tag-moved",
            FindingKind::RegistryPlatformChanged => "registry-platform-changed",
            FindingKind::RenderedImagesChanged => "rendered-images-changed",
            FindingKind::PromoterDigest => "promoter-digest",
            FindingKind::LedgerEntry => "ledger-entry",
            FindingKind::NodeImageVersion => "node-image-version",
        }
    }

    /// The kind with this name, if there is one.
    pub fn from_name(name: &str) -> Option<FindingKind> {
        FindingKind::ALL.iter().copied().find(|kind| kind.name() == name)
    }
}

/// One disagreement (or notable fact) found by a check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Whether this fails the check.
    pub severity: Severity,
    /// What the finding is about.
    pub kind: FindingKind,
    /// Repository-relative path of the file, for findings in files.
    pub file: Option<String>,
    /// 1-based line in `file`.
    pub line: Option<usize>,
    /// The image reference, for registry findings.
    pub image: Option<String>,
    /// The platform, for per-platform registry findings.
    pub platform: Option<String>,
    /// What the finding is about when it is in neither a file nor an image: a git tag
    /// (`tag v0.29.0`), a release-ledger entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// What is there.
    pub found: String,
    /// What should be there.
    pub expected: String,
    /// One sentence for people: what this means or where the value comes from.
    pub message: String,
}

impl Finding {
    /// An error finding at a line of a file.
    pub fn in_file(kind: FindingKind, file: &str, line: usize, found: String, expected: String) -> Finding {
        Finding {
            severity: Severity::Error,
            kind,
            file: Some(file.to_owned()),
            line: Some(line),
            image: None,
            platform: None,
            subject: None,
            found,
            expected,
            message: String::new(),
        }
    }

    /// An error finding about something that is neither a file nor an image (`tag v0.29.0`).
    pub fn about(kind: FindingKind, subject: impl Into<String>, found: String, expected: String) -> Finding {
        Finding {
            severity: Severity::Error,
            kind,
            file: None,
            line: None,
            image: None,
            platform: None,
            subject: Some(subject.into()),
            found,
            expected,
            message: String::new(),
        }
    }

    /// An error finding about an image in a registry, optionally for one platform.
    pub fn in_registry(
        kind: FindingKind,
        image: &str,
        platform: Option<String>,
        found: String,
        expected: String,
    ) -> Finding {
        Finding {
            severity: Severity::Error,
            kind,
            file: None,
            line: None,
            image: Some(image.to_owned()),
            platform,
            subject: None,
            found,
            expected,
            message: String::new(),
        }
    }

    /// The same finding with an explanation.
    pub fn with_message(mut self, message: impl Into<String>) -> Finding {
        self.message = message.into();
        self
    }

    /// The same finding as a warning.
    pub fn as_warning(mut self) -> Finding {
        self.severity = Severity::Warning;
        self
    }

    /// Where the finding is, for people: `file:line`, or `image [platform]`.
    pub fn location(&self) -> String {
        match (&self.file, self.line, &self.image, &self.platform) {
            (Some(file), Some(line), _, _) => format!("{file}:{line}"),
            (Some(file), None, _, _) => file.clone(),
            (None, _, Some(image), Some(platform)) => format!("{image} [{platform}]"),
            (None, _, Some(image), None) => image.clone(),
            (None, _, None, _) => self.subject.clone().unwrap_or_else(|| String::from("(repository)")),
        }
    }
}

/// Sorts findings for output: errors before warnings, findings in files before findings in
/// registries, then by place, so reports are stable.
pub fn sort(findings: &mut [Finding]) {
    let key = |finding: &Finding| {
        (
            finding.severity,
            finding.file.is_none(),
            finding.file.clone(),
            finding.line,
            finding.image.clone(),
            finding.platform.clone(),
            finding.subject.clone(),
            finding.kind,
            finding.found.clone(),
        )
    };
    findings.sort_by_cached_key(key);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_read_naturally() {
        let in_file = Finding::in_file(
            FindingKind::ChartAppVersion,
            "charts/app/Chart.yaml",
            5,
            "0.32.0".into(),
            "0.33.0".into(),
        );
        assert_eq!(in_file.location(), "charts/app/Chart.yaml:5");
        let in_registry = Finding::in_registry(
            FindingKind::BinaryArchitecture,
            "r.io/app:v1.0.0",
            Some("linux/arm64".into()),
            "amd64".into(),
            "arm64".into(),
        );
        assert_eq!(in_registry.location(), "r.io/app:v1.0.0 [linux/arm64]");
    }

    #[test]
    fn names_are_the_json_names() {
        for kind in FindingKind::ALL {
            let json = serde_json::to_value(kind).expect("serializes");
            assert_eq!(json.as_str(), Some(kind.name()), "{kind:?}");
            assert_eq!(FindingKind::from_name(kind.name()), Some(*kind));
        }
        assert_eq!(FindingKind::from_name("no-such-kind"), None);
    }

    #[test]
    fn errors_sort_before_warnings() {
        let warning =
            Finding::in_file(FindingKind::FloatingImageTag, "a.yaml", 1, "app".into(), "app:v1".into()).as_warning();
        let error = Finding::in_file(FindingKind::ImageTag, "z.yaml", 9, "app:v0".into(), "app:v1".into());
        let mut findings = vec![warning.clone(), error.clone()];
        sort(&mut findings);
        assert_eq!(findings, vec![error, warning]);
    }
}
