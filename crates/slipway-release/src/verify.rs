//! `release verify`: do the git tag, the registry's images and every manifest name the same
//! release?
//!
//! The version comes from `--tag` (files are then read at the tag's commit, through git),
//! `--version` (the work tree is checked against it) or, with neither, from a clean checkout of
//! a tagged commit, else from the highest version the references name. Unless offline, each
//! project image's release tag is then checked in its registry.

use std::path::PathBuf;

use futures_util::future::join_all;
use serde::Serialize;
use slipway_core::{Finding, FindingKind, ImageReference, Platform, Severity, Version, exit, finding};
use slipway_oci::verify::{ImageCheck, ImageReport, verify_image};
use slipway_oci::{Registry, RegistryOptions};

use crate::analysis::{Analysis, Directory};
use crate::check::{Checked, DigestPin, Expected, Reference, SkippedReference};
use crate::config::Settings;
use crate::error::{Error, chain};
use crate::ledger::Ledger;
use crate::ledger::audit::Now;
use crate::ledger::record::ImageFacts;
use crate::project::Project;
use crate::source::{git_tree, worktree};

/// The JSON schema identifier of [`VerifyReport`]; it changes only with incompatible changes.
pub const SCHEMA: &str = "slipway.release.verify/v1";

/// Which release to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A git tag: read files at its commit.
    Tag(String),
    /// A version: check the work tree against it.
    Version(Version),
    /// Work it out.
    Infer,
}

/// What `verify` needs besides settings.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// The project directory.
    pub directory: PathBuf,
    /// Which release.
    pub target: Target,
    /// Skip the registry.
    pub offline: bool,
    /// How to reach registries.
    pub registry: RegistryOptions,
    /// The release ledger, to tell what changed since the release was recorded.
    pub ledger: Option<Ledger>,
}

pub use slipway_core::progress::{Progress, Quiet};

/// Where the checked files came from.
#[derive(Debug, Clone, Serialize)]
pub struct SourceInfo {
    /// `tag` or `worktree`.
    pub kind: &'static str,
    /// The tag read, for `tag`.
    pub tag: Option<String>,
    /// The commit the release tag points at, if the tag exists.
    pub commit: Option<String>,
}

/// The registry half of the report.
#[derive(Debug, Clone, Serialize)]
pub struct RegistrySection {
    /// Whether the registry was consulted.
    pub checked: bool,
    /// One report per project image.
    pub images: Vec<ImageReport>,
    /// Registries that could not be used, and why.
    pub errors: Vec<RegistryProblem>,
}

/// What the ledger said.
#[derive(Debug, Clone, Serialize)]
pub struct LedgerSection {
    /// Where the release's record is (or would be).
    pub record: Option<String>,
    /// Whether a record was found and compared.
    pub compared: bool,
    /// Why the ledger could not be read, if it could not (exit 3).
    pub error: Option<String>,
}

/// A registry that could not be used.
#[derive(Debug, Clone, Serialize)]
pub struct RegistryProblem {
    /// The registry host.
    pub registry: String,
    /// The image being checked.
    pub image: String,
    /// What went wrong.
    pub message: String,
}

/// Counts for the summary line.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// References checked.
    pub references: usize,
    /// References that agree.
    pub agreeing: usize,
    /// Error findings.
    pub errors: usize,
    /// Warning findings.
    pub warnings: usize,
    /// Values that looked like references and were not checked.
    pub skipped: usize,
}

/// Everything `verify` found: the stable JSON output of `release verify --format json`.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// [`SCHEMA`].
    pub schema: &'static str,
    /// The directory checked.
    pub directory: String,
    /// Where the files came from.
    pub source: SourceInfo,
    /// The release checked.
    pub expected: Expected,
    /// How the version was chosen: `--tag`, `--version`, `the tag at HEAD`, or
    /// `the highest version the N references name`.
    pub version_from: String,
    /// The project.
    pub project: Project,
    /// Platforms required of each image.
    pub platforms: Vec<String>,
    /// The registry checks.
    pub registry: RegistrySection,
    /// The release ledger: whether the release is recorded, and storage that failed.
    pub ledger: LedgerSection,
    /// Every reference found, agreeing or not.
    pub references: Vec<Reference>,
    /// Disagreements and warnings.
    pub findings: Vec<Finding>,
    /// What looked like a reference and was not checked, with why.
    pub skipped: Vec<SkippedReference>,
    /// What was skipped or assumed.
    pub notes: Vec<String>,
    /// Counts.
    pub summary: Summary,
}

impl VerifyReport {
    /// The exit code: 3 when a registry could not be used, 1 for any error finding, else 0.
    pub fn exit_code(&self) -> u8 {
        if !self.registry.errors.is_empty() || self.ledger.error.is_some() {
            exit::INFRASTRUCTURE
        } else if self.summary.errors > 0 {
            exit::CHECK_FAILED
        } else {
            exit::SUCCESS
        }
    }
}

/// Runs the check.
pub async fn verify(
    options: &VerifyOptions,
    settings: &Settings,
    progress: &dyn Progress,
) -> Result<VerifyReport, Error> {
    let directory = Directory::open(&options.directory)?;
    let recovered = directory.recover()?;
    let (analysis, expected, source, mut version_from) = resolve(&directory, &options.target, settings)?;
    let checked = analysis.check(&expected, settings);
    let Checked { references, findings: other_findings, skipped, digest_pins, notes: check_notes } = checked;
    if version_from == INFERRED {
        version_from = format!(
            "the highest version the {} {} name",
            references.len(),
            if references.len() == 1 { "reference" } else { "references" }
        );
    }
    let mut findings: Vec<Finding> = references.iter().filter_map(Reference::finding).collect();
    findings.extend(other_findings);

    let registry = if options.offline {
        RegistrySection { checked: false, images: Vec::new(), errors: Vec::new() }
    } else {
        let revision = source.commit.clone();
        let section =
            check_registry(&analysis.project, &expected, &settings.platforms, revision, &options.registry, progress)
                .await;
        findings.extend(section.images.iter().flat_map(|image| image.findings.iter().cloned()));
        findings.extend(check_digest_pins(&digest_pins, &section, &expected));
        section
    };
    let mut notes = recovered;
    if !options.offline
        && let Some(location) = &settings.promoter_manifest
    {
        match crate::promoter::load(location, &directory.path).await {
            Ok(manifest) => {
                for report in &registry.images {
                    if let (Some(digest), Ok(image)) = (&report.digest, ImageReference::parse(&report.image)) {
                        findings.extend(manifest.check(&image, &expected.image_tag, digest));
                    }
                }
            }
            Err(error) => notes.push(format!("{error}; the promoter manifest is not checked")),
        }
    }
    let ledger = match (&options.ledger, &source.commit) {
        (Some(ledger), Some(_)) => compare_with_ledger(ledger, &directory, &expected, &registry, &mut findings).await,
        (Some(ledger), None) => {
            LedgerSection { record: Some(ledger.url(&expected.git_tag)), compared: false, error: None }
        }
        (None, _) => LedgerSection { record: None, compared: false, error: None },
    };
    finding::sort(&mut findings);

    notes.extend(analysis.notes());
    notes.extend(check_notes);
    if source.commit.is_none() && !options.offline {
        notes.push(format!(
            "tag `{}` does not exist yet, so image revisions are not compared with a commit",
            expected.git_tag
        ));
    }
    let summary = Summary {
        references: references.len(),
        agreeing: references.iter().filter(|reference| reference.agrees).count(),
        errors: findings.iter().filter(|finding| finding.severity == Severity::Error).count(),
        warnings: findings.iter().filter(|finding| finding.severity == Severity::Warning).count(),
        skipped: skipped.len(),
    };
    Ok(VerifyReport {
        schema: SCHEMA,
        directory: directory.path.display().to_string(),
        source,
        expected,
        version_from,
        project: analysis.project,
        platforms: settings.platforms.iter().map(ToString::to_string).collect(),
        registry,
        ledger,
        references,
        findings,
        skipped,
        notes,
        summary,
    })
}

/// The placeholder `resolve` returns for an inferred version; the count of references is only
/// known after the check.
const INFERRED: &str = "inferred";

fn resolve(
    directory: &Directory,
    target: &Target,
    settings: &Settings,
) -> Result<(Analysis, Expected, SourceInfo, String), Error> {
    let tag_version = |tag: &str| {
        Version::from_tag(tag, &settings.tag_prefix)
            .ok_or_else(|| Error::TagNotAVersion { tag: tag.to_owned(), prefix: settings.tag_prefix.clone() })
    };
    match target {
        Target::Tag(tag) => {
            let git = directory.require_git("reading files at a tag")?;
            let commit = git
                .tag_commit(tag)?
                .ok_or_else(|| Error::TagNotFound { tag: tag.clone(), repo: directory.path.clone() })?;
            let version = tag_version(tag)?;
            let files = git_tree::load(git, &commit, settings)?;
            let analysis = Analysis::of(files, settings, directory)?;
            let source = SourceInfo { kind: "tag", tag: Some(tag.clone()), commit: Some(commit) };
            Ok((analysis, Expected::new(version, settings), source, "--tag".to_owned()))
        }
        Target::Version(version) => {
            let files = worktree::load(&directory.path, settings)?;
            let analysis = Analysis::of(files, settings, directory)?;
            let expected = Expected::new(version.clone(), settings);
            let commit = match &directory.git {
                Some(git) => git.tag_commit(&expected.git_tag)?,
                None => None,
            };
            let source = SourceInfo { kind: "worktree", tag: None, commit };
            Ok((analysis, expected, source, "--version".to_owned()))
        }
        Target::Infer => {
            if let Some(git) = &directory.git
                && !git.has_changes()?
            {
                let mut tagged: Vec<(Version, String)> = git
                    .tags_at_head()?
                    .into_iter()
                    .filter_map(|tag| Some((Version::from_tag(&tag, &settings.tag_prefix)?, tag)))
                    .collect();
                tagged.sort();
                if let Some((_, tag)) = tagged.pop() {
                    let (analysis, expected, source, _) = resolve(directory, &Target::Tag(tag), settings)?;
                    return Ok((analysis, expected, source, "the tag at HEAD".to_owned()));
                }
            }
            let files = worktree::load(&directory.path, settings)?;
            let analysis = Analysis::of(files, settings, directory)?;
            let Some(version) = analysis.highest_version(settings) else {
                return Err(Error::NothingToInferFrom { directory: directory.path.clone() });
            };
            let expected = Expected::new(version, settings);
            let commit = match &directory.git {
                Some(git) => git.tag_commit(&expected.git_tag)?,
                None => None,
            };
            let source = SourceInfo { kind: "worktree", tag: None, commit };
            Ok((analysis, expected, source, INFERRED.to_owned()))
        }
    }
}

async fn check_registry(
    project: &Project,
    expected: &Expected,
    platforms: &[Platform],
    revision: Option<String>,
    options: &RegistryOptions,
    progress: &dyn Progress,
) -> RegistrySection {
    let registry = Registry::new(options.clone());
    progress.begin(project.images.len() as u64, "checking images in their registries");
    let checks = project.images.iter().map(|image| {
        let check = ImageCheck {
            image: image.reference().with_tag(&expected.image_tag),
            platforms: platforms.to_vec(),
            revision: revision.clone(),
        };
        let registry = registry.clone();
        async move {
            let result = verify_image(&registry, &check).await;
            progress.advance(check.image.as_str());
            (check, result)
        }
    });
    let mut section = RegistrySection { checked: true, images: Vec::new(), errors: Vec::new() };
    for (check, result) in join_all(checks).await {
        match result {
            Ok(report) => section.images.push(report),
            Err(error) => section.errors.push(RegistryProblem {
                registry: error.registry().unwrap_or(check.image.resolved_registry()).to_owned(),
                image: check.image.to_string(),
                message: chain(&error),
            }),
        }
    }
    progress.end();
    section
}

fn check_digest_pins(pins: &[DigestPin], section: &RegistrySection, expected: &Expected) -> Vec<Finding> {
    let mut findings = Vec::new();
    for pin in pins {
        if pin.image.tag().is_some_and(|tag| tag != expected.image_tag) {
            continue;
        }
        let release = pin.image.with_tag(&expected.image_tag);
        let Some(report) = section.images.iter().find(|report| report.image == release.as_str()) else {
            continue;
        };
        if let Some(digest) = &report.digest
            && digest != &pin.digest
        {
            findings.push(
                Finding::in_file(FindingKind::ImageDigest, &pin.file, pin.line, pin.digest.clone(), digest.clone())
                    .with_message(format!("the pinned digest is not what {release} is in the registry")),
            );
        }
    }
    findings
}

/// Compares the release with its record in the ledger, if there is one: a tag that moved since
/// it was recorded, and (when the registry was read) an image tag pushed over.
async fn compare_with_ledger(
    ledger: &Ledger,
    directory: &Directory,
    expected: &Expected,
    registry: &RegistrySection,
    findings: &mut Vec<Finding>,
) -> LedgerSection {
    let url = ledger.url(&expected.git_tag);
    let record = match ledger.read(&expected.git_tag).await {
        Ok(None) => return LedgerSection { record: Some(url), compared: false, error: None },
        Ok(Some(Ok(record))) => record,
        Ok(Some(Err(problem))) => {
            findings.push(
                Finding::about(
                    FindingKind::LedgerEntry,
                    format!("release {}", expected.git_tag),
                    "(unusable)".to_owned(),
                    url.clone(),
                )
                .with_message(problem.to_string()),
            );
            return LedgerSection { record: Some(url), compared: false, error: None };
        }
        Err(error) => return LedgerSection { record: Some(url), compared: false, error: Some(chain(&error)) },
    };
    let git = match directory.git.as_ref().map(|git| crate::ledger::facts::git_facts(git, &expected.git_tag)) {
        Some(Ok(git)) => git,
        Some(Err(error)) => return LedgerSection { record: Some(url), compared: false, error: Some(chain(&error)) },
        None => None,
    };
    let images = registry
        .images
        .iter()
        .filter_map(|report| {
            // A tag missing from the registry is verify's own finding already.
            let image = ImageReference::parse(&report.image).ok()?;
            let facts = report.digest.as_ref().map(|digest| {
                let platforms = report.platforms.iter().map(|p| (p.platform.clone(), p.digest.clone()));
                ImageFacts::new(image.name(), &expected.image_tag, digest, platforms)
            });
            facts.is_some().then(|| (image.name().to_owned(), expected.image_tag.clone(), facts))
        })
        .collect();
    findings.extend(crate::ledger::audit::compare(&record, &Now { git, rendered: None, images }));
    LedgerSection { record: Some(url), compared: true, error: None }
}
