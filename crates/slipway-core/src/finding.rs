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
    /// A `?ref=` kustomize remote link in docs or manifests.
    RefLink,
    /// A version file named in the configuration.
    VersionFile,
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
            (None, _, None, _) => String::from("(repository)"),
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
    fn errors_sort_before_warnings() {
        let warning =
            Finding::in_file(FindingKind::FloatingImageTag, "a.yaml", 1, "app".into(), "app:v1".into()).as_warning();
        let error = Finding::in_file(FindingKind::ImageTag, "z.yaml", 9, "app:v0".into(), "app:v1".into());
        let mut findings = vec![warning.clone(), error.clone()];
        sort(&mut findings);
        assert_eq!(findings, vec![error, warning]);
    }
}
