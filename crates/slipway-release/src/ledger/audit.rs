//! `release audit`: is each recorded release still what it was? A tag re-pointed at another
//! commit (descheduler v0.29.0), a registry tag overwritten, a platform gone, an overlay at the
//! tag that now deploys something else, a promoter manifest that promotes another digest.
//!
//! [`compare`] is the pure part: a record against the facts as they are now. [`audit`] reads
//! those facts (git, the files at the tag, the registries) for every release asked about.

use serde::Serialize;
use slipway_core::{Finding, FindingKind, ImageReference, Severity, exit, finding};
use slipway_oci::{Registry, RegistryOptions};

use super::facts::{self, Unreadable};
use super::record::{GitFacts, ImageFacts, ReleaseRecord, RenderedFacts, describe_git};
use super::store::{Ledger, LedgerError};
use crate::analysis::Directory;
use crate::config::Settings;
use crate::verify::RegistryProblem;

/// The JSON schema identifier of [`AuditReport`].
pub const SCHEMA: &str = "slipway.release.audit/v1";

/// What an audit needs besides settings.
#[derive(Debug, Clone)]
pub struct AuditOptions {
    /// The project directory (its git repository holds the tags).
    pub directory: std::path::PathBuf,
    /// The release tags to audit; empty: every recorded release.
    pub tags: Vec<String>,
    /// Skip the registries.
    pub offline: bool,
    /// How to reach registries.
    pub registry: RegistryOptions,
}

/// The facts of a release as they are now, for [`compare`].
#[derive(Debug, Clone, Default)]
pub struct Now {
    /// What the tag points at, `None` when it is gone.
    pub git: Option<GitFacts>,
    /// What the overlays and charts deploy at the tag's commit now (`None`: not read, as when
    /// the tag is gone).
    pub rendered: Option<Vec<RenderedFacts>>,
    /// Each recorded image's tag in its registry now (`None` inside: the tag is gone); empty
    /// when the registries were not asked.
    pub images: Vec<(String, String, Option<ImageFacts>)>,
}

/// Everything that changed in a release since it was recorded.
pub fn compare(record: &ReleaseRecord, now: &Now) -> Vec<Finding> {
    let subject = format!("tag {}", record.tag);
    let mut findings = Vec::new();
    match (&record.git, &now.git) {
        (Some(recorded), None) => findings.push(
            Finding::about(FindingKind::TagDeleted, &subject, "(no such tag)".to_owned(), describe_git(recorded))
                .with_message("the release tag was deleted after the release was recorded"),
        ),
        (Some(recorded), Some(seen)) if recorded.commit != seen.commit => findings.push(
            Finding::about(FindingKind::TagMoved, &subject, describe_git(seen), describe_git(recorded)).with_message(
                "the release tag now points at another commit than when it was recorded, so what it holds is not what was released (and built)",
            ),
        ),
        (Some(recorded), Some(seen)) if recorded != seen => findings.push(
            Finding::about(FindingKind::TagMoved, &subject, describe_git(seen), describe_git(recorded))
                .with_message("the tag was made again (another tag object) on the same commit")
                .as_warning(),
        ),
        _ => {}
    }
    if let Some(rendered) = &now.rendered {
        for recorded in &record.rendered {
            let what = format!("{} {}", recorded.kind, recorded.source);
            match rendered.iter().find(|seen| seen.kind == recorded.kind && seen.source == recorded.source) {
                None => findings.push(
                    Finding::about(
                        FindingKind::RenderedImagesChanged,
                        &subject,
                        format!("{what}: (gone)"),
                        format!("{what}: {}", recorded.images.join(", ")),
                    )
                    .with_message(format!("{what} is no longer at the tag")),
                ),
                Some(seen) if seen.digest != recorded.digest => findings.push(
                    Finding::about(
                        FindingKind::RenderedImagesChanged,
                        &subject,
                        format!("{what}: {}", seen.images.join(", ")),
                        format!("{what}: {}", recorded.images.join(", ")),
                    )
                    .with_message(format!("{what} at the tag deploys other images than when the release was recorded")),
                ),
                Some(_) => {}
            }
        }
    }
    for recorded in &record.images {
        let image = format!("{}:{}", recorded.repository, recorded.tag);
        let Some((_, _, seen)) =
            now.images.iter().find(|(repository, tag, _)| *repository == recorded.repository && *tag == recorded.tag)
        else {
            continue;
        };
        let Some(seen) = seen else {
            findings.push(
                Finding::in_registry(
                    FindingKind::RegistryTagMissing,
                    &image,
                    None,
                    "(no such tag)".to_owned(),
                    recorded.digest.clone(),
                )
                .with_message("the release image's tag was deleted after the release was recorded"),
            );
            continue;
        };
        if seen.digest != recorded.digest {
            findings.push(
                Finding::in_registry(
                    FindingKind::RegistryTagMoved,
                    &image,
                    None,
                    seen.digest.clone(),
                    recorded.digest.clone(),
                )
                .with_message(
                    "the registry tag now points at another image than the one released (it was pushed over)",
                ),
            );
            continue;
        }
        for platform in &recorded.platforms {
            let now_platform = seen.platforms.iter().find(|candidate| candidate.platform == platform.platform);
            let found = match now_platform {
                Some(candidate) if candidate.digest == platform.digest => continue,
                Some(candidate) => candidate.digest.clone(),
                None => "(gone)".to_owned(),
            };
            findings.push(
                Finding::in_registry(
                    FindingKind::RegistryPlatformChanged,
                    &image,
                    Some(platform.platform.clone()),
                    found,
                    platform.digest.clone(),
                )
                .with_message("a platform of the released image is gone or changed"),
            );
        }
    }
    findings
}

/// One audited release.
#[derive(Debug, Clone, Serialize)]
pub struct AuditedRelease {
    /// The tag.
    pub tag: String,
    /// Where its record is.
    pub record: String,
    /// When it was first recorded, if it could be read.
    pub recorded_at: Option<String>,
    /// `unchanged`, `changed`, `unreadable` or `not-recorded`.
    pub verdict: &'static str,
    /// What changed.
    pub findings: Vec<Finding>,
}

/// Counts.
#[derive(Debug, Clone, Serialize)]
pub struct AuditSummary {
    /// Releases audited.
    pub releases: usize,
    /// Releases that changed.
    pub changed: usize,
    /// Releases without a usable record (not recorded, or unreadable).
    pub unusable: usize,
    /// Error findings.
    pub errors: usize,
    /// Warning findings.
    pub warnings: usize,
}

/// The stable JSON output of `release audit --format json`.
#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    /// [`SCHEMA`].
    pub schema: &'static str,
    /// The ledger's storage.
    pub storage: String,
    /// Each release.
    pub releases: Vec<AuditedRelease>,
    /// Registries that could not be read.
    pub registry_errors: Vec<RegistryProblem>,
    /// Whether the registries were asked.
    pub registry_checked: bool,
    /// What was not checked, and why.
    pub notes: Vec<String>,
    /// Counts.
    pub summary: AuditSummary,
}

impl AuditReport {
    /// 3 when a registry could not be read, 1 for any error finding, else 0.
    pub fn exit_code(&self) -> u8 {
        if !self.registry_errors.is_empty() {
            exit::INFRASTRUCTURE
        } else if self.summary.errors > 0 {
            exit::CHECK_FAILED
        } else {
            exit::SUCCESS
        }
    }
}

/// Audits the releases `options.tags` names (every recorded one when empty).
pub async fn audit(ledger: &Ledger, options: &AuditOptions, settings: &Settings) -> Result<AuditReport, AuditError> {
    let directory = Directory::open(&options.directory)?;
    let git = directory.require_git("auditing release tags")?;
    let tags = if options.tags.is_empty() { ledger.tags().await? } else { options.tags.clone() };
    let registry = Registry::new(options.registry.clone());
    let mut notes = Vec::new();
    let promoter = match &settings.promoter_manifest {
        Some(location) => Some(crate::promoter::load(location, &directory.path).await?),
        None => None,
    };
    if options.offline {
        notes.push("registries not checked (--offline)".to_owned());
    }
    let mut releases = Vec::new();
    let mut registry_errors = Vec::new();
    for tag in tags {
        let url = ledger.url(&tag);
        let record =
            match ledger.read(&tag).await? {
                None => {
                    releases.push(unusable(&tag, url, "not-recorded", "(no record)", format!(
                    "no release `{tag}` is recorded; `slipway release record` records a release made before slipway"
                )));
                    continue;
                }
                Some(Err(problem)) => {
                    releases.push(unusable(&tag, url, "unreadable", "(unreadable record)", problem.to_string()));
                    continue;
                }
                Some(Ok(record)) => record,
            };
        let mut now = Now { git: facts::git_facts(git, &tag)?, ..Now::default() };
        if let Some(git_now) = &now.git {
            let (rendered, _) = facts::rendered_at(&directory, git, &git_now.commit, settings)?;
            now.rendered = Some(rendered);
        }
        if !options.offline {
            for recorded in &record.images {
                let Ok(image) = ImageReference::parse(&recorded.repository) else {
                    continue;
                };
                for (_, result) in facts::image_facts(&registry, std::slice::from_ref(&image), &recorded.tag).await {
                    match result {
                        Ok(seen) => now.images.push((recorded.repository.clone(), recorded.tag.clone(), seen)),
                        Err(Unreadable { image, registry, message }) => {
                            registry_errors.push(RegistryProblem { registry, image, message });
                        }
                    }
                }
            }
        }
        let mut findings = compare(&record, &now);
        if let Some(promoter) = &promoter {
            for recorded in &record.images {
                if let Ok(image) = ImageReference::parse(&recorded.repository) {
                    findings.extend(promoter.check(&image, &recorded.tag, &recorded.digest));
                }
            }
        }
        finding::sort(&mut findings);
        let changed = findings.iter().any(|finding| finding.severity == Severity::Error);
        releases.push(AuditedRelease {
            tag,
            record: url,
            recorded_at: record.events.first().map(|event| event.at.clone()),
            verdict: if changed { "changed" } else { "unchanged" },
            findings,
        });
    }
    let all = || releases.iter().flat_map(|release| &release.findings);
    let summary = AuditSummary {
        releases: releases.len(),
        changed: releases.iter().filter(|release| release.verdict == "changed").count(),
        unusable: releases
            .iter()
            .filter(|release| release.verdict != "changed" && release.verdict != "unchanged")
            .count(),
        errors: all().filter(|finding| finding.severity == Severity::Error).count(),
        warnings: all().filter(|finding| finding.severity == Severity::Warning).count(),
    };
    Ok(AuditReport {
        schema: SCHEMA,
        storage: ledger.storage().url().to_owned(),
        releases,
        registry_errors,
        registry_checked: !options.offline,
        notes,
        summary,
    })
}

fn unusable(tag: &str, url: String, verdict: &'static str, found: &str, message: String) -> AuditedRelease {
    let expected = format!("a {} record", super::record::SCHEMA);
    AuditedRelease {
        tag: tag.to_owned(),
        recorded_at: None,
        verdict,
        findings: vec![
            Finding::about(FindingKind::LedgerEntry, format!("release {tag}"), found.to_owned(), expected)
                .with_message(message),
        ],
        record: url,
    }
}

/// Why an audit could not run.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The project or git failed.
    #[error(transparent)]
    Release(#[from] crate::error::Error),
    /// The ledger's storage failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// The promoter manifest could not be used.
    #[error(transparent)]
    Promoter(#[from] crate::promoter::PromoterError),
}

impl From<slipway_git::Error> for AuditError {
    fn from(error: slipway_git::Error) -> Self {
        AuditError::Release(error.into())
    }
}

impl AuditError {
    /// The exit code of what failed.
    pub fn exit_code(&self) -> u8 {
        match self {
            AuditError::Release(error) => error.exit_code(),
            AuditError::Ledger(error) => error.exit_code(),
            AuditError::Promoter(error) => error.exit_code(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::record::PlatformFacts;

    fn recorded() -> ReleaseRecord {
        let mut record = ReleaseRecord::new("0.29.0", "v0.29.0");
        record.git = Some(GitFacts { commit: "c1".into(), tag_object: None });
        record.images.push(ImageFacts {
            repository: "r.io/app".into(),
            tag: "v0.29.0".into(),
            digest: "sha256:i1".into(),
            platforms: vec![
                PlatformFacts { platform: "linux/amd64".into(), digest: "sha256:a".into() },
                PlatformFacts { platform: "linux/arm64".into(), digest: "sha256:b".into() },
            ],
        });
        record.rendered.push(RenderedFacts::new("overlay", "kubernetes/job", ["r.io/app:v0.29.0".to_owned()]));
        record
    }

    fn unchanged(record: &ReleaseRecord) -> Now {
        Now {
            git: record.git.clone(),
            rendered: Some(record.rendered.clone()),
            images: record
                .images
                .iter()
                .map(|image| (image.repository.clone(), image.tag.clone(), Some(image.clone())))
                .collect(),
        }
    }

    fn kinds(findings: &[Finding]) -> Vec<(FindingKind, Severity)> {
        findings.iter().map(|finding| (finding.kind, finding.severity)).collect()
    }

    #[test]
    fn an_unchanged_release_has_no_findings() {
        let record = recorded();
        assert_eq!(compare(&record, &unchanged(&record)), []);
    }

    #[test]
    fn a_re_pointed_tag_and_what_it_now_deploys() {
        let record = recorded();
        let mut now = unchanged(&record);
        now.git = Some(GitFacts { commit: "c2".into(), tag_object: None });
        now.rendered = Some(vec![RenderedFacts::new("overlay", "kubernetes/job", ["r.io/app:v0.28.1".to_owned()])]);
        let findings = compare(&record, &now);
        assert_eq!(
            kinds(&findings),
            [(FindingKind::TagMoved, Severity::Error), (FindingKind::RenderedImagesChanged, Severity::Error)]
        );
        assert_eq!(findings[0].location(), "tag v0.29.0");
        assert_eq!(findings[1].found, "overlay kubernetes/job: r.io/app:v0.28.1");
    }

    #[test]
    fn deleted_and_re_made_tags() {
        let record = recorded();
        let deleted = Now { git: None, rendered: None, images: Vec::new() };
        assert_eq!(kinds(&compare(&record, &deleted)), [(FindingKind::TagDeleted, Severity::Error)]);
        let mut remade = unchanged(&record);
        remade.git = Some(GitFacts { commit: "c1".into(), tag_object: Some("t2".into()) });
        assert_eq!(kinds(&compare(&record, &remade)), [(FindingKind::TagMoved, Severity::Warning)]);
    }

    #[test]
    fn overwritten_and_deleted_registry_tags_and_platforms() {
        let record = recorded();
        let mut overwritten = unchanged(&record);
        if let Some(image) = overwritten.images[0].2.as_mut() {
            image.digest = "sha256:i2".into();
        }
        assert_eq!(kinds(&compare(&record, &overwritten)), [(FindingKind::RegistryTagMoved, Severity::Error)]);
        let mut gone = unchanged(&record);
        gone.images[0].2 = None;
        assert_eq!(kinds(&compare(&record, &gone)), [(FindingKind::RegistryTagMissing, Severity::Error)]);
        let mut platform = unchanged(&record);
        if let Some(image) = platform.images[0].2.as_mut() {
            image.platforms.retain(|platform| platform.platform == "linux/amd64");
        }
        let findings = compare(&record, &platform);
        assert_eq!(kinds(&findings), [(FindingKind::RegistryPlatformChanged, Severity::Error)]);
        assert_eq!(findings[0].platform.as_deref(), Some("linux/arm64"));
    }

    #[test]
    fn unasked_registries_are_not_findings() {
        let record = recorded();
        let mut now = unchanged(&record);
        now.images.clear();
        assert_eq!(compare(&record, &now), []);
    }
}
