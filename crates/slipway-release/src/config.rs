//! The `release` section of `slipway.yaml`, and the settings it resolves to.
//!
//! [`ReleaseSection`] is the file's shape (every key optional, unknown keys reported by the
//! loader); [`Settings`] is what the commands run on, with defaults applied, patterns compiled
//! and values validated, so no command ever sees a half-valid configuration.

use std::collections::{BTreeMap, BTreeSet};

use globset::{Glob, GlobSet, GlobSetBuilder};
use regex::Regex;
use serde::Deserialize;
use slipway_core::{FindingKind, ImageReference, Platform, platform};

use crate::branches::BranchPattern;
use crate::error::Error;

/// `project:` in `slipway.yaml`: who the project is.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ProjectSection {
    /// Short name (`descheduler`); used to recognise the project's images and links.
    pub name: Option<String>,
    /// Where the upstream source lives (`github.com/kubernetes-sigs/descheduler`); recognises
    /// `?ref=` links. Inferred from the repository when not set.
    pub repository: Option<String>,
}

/// `release:` in `slipway.yaml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ReleaseSection {
    /// The project's image repositories; inferred from the manifests when empty.
    pub images: Vec<String>,
    /// Platforms every release image must cover (default linux/amd64 and linux/arm64).
    pub platforms: Vec<String>,
    /// What comes before the version in git tags (default `v`).
    pub tag_prefix: Option<String>,
    /// What comes before the version in image tags (default `v`).
    pub image_tag_prefix: Option<String>,
    /// Whether a Helm chart's `version` follows the app version.
    pub chart_version: ChartVersionPolicy,
    /// Files holding the version, each with a regex whose one capture group is the version.
    pub version_files: Vec<VersionFileSection>,
    /// Globs of repository paths slipway must not read (test fixtures, generated files).
    pub exclude: Vec<String>,
    /// The message of the commit `release bump --commit` makes; `{version}` and `{tag}` are
    /// replaced.
    pub commit_message: Option<String>,
    /// Release branch names, with `{major}` and `{minor}` (`release-1.{minor}` for
    /// descheduler); inferred from the repository's branches when not set.
    pub branch_pattern: Option<String>,
    /// Reference kinds to check or not, by name (`makefile-variable: false`); all are on.
    pub checks: BTreeMap<String, bool>,
    /// A kubernetes/k8s.io-style promoter `images.yaml` (a path in the repository or a URL)
    /// whose digests the release's images must match.
    pub promoter_manifest: Option<String>,
}

/// One `release.version_files` entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct VersionFileSection {
    /// Repository-relative path.
    pub path: String,
    /// Regex with exactly one capture group around the version.
    pub pattern: String,
}

/// Whether a chart's `version` is the app version or a version of its own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChartVersionPolicy {
    /// Follow when the chart version's major equals the app version's, independent otherwise
    /// (cluster-autoscaler's chart 9.x ships app 1.x).
    #[default]
    Auto,
    /// The chart version always equals the app version (descheduler).
    Follow,
    /// The chart is versioned on its own; only `appVersion` is checked.
    Independent,
}

/// Release settings after defaults and validation.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The project's name, if configured.
    pub project_name: Option<String>,
    /// The project's source repository, if configured.
    pub project_repository: Option<String>,
    /// The project's images; empty means infer them.
    pub images: Vec<ImageReference>,
    /// Platforms release images must cover.
    pub platforms: Vec<Platform>,
    /// Git tag prefix.
    pub tag_prefix: String,
    /// Image tag prefix.
    pub image_tag_prefix: String,
    /// Chart version policy.
    pub chart_version: ChartVersionPolicy,
    /// Version files.
    pub version_files: Vec<VersionFile>,
    /// Paths not to read.
    pub exclude: Exclude,
    /// Commit message template.
    pub commit_message: String,
    /// The configured release branch pattern, if any.
    pub branch_pattern: Option<BranchPattern>,
    /// Reference kinds turned off in `release.checks`.
    pub disabled: BTreeSet<FindingKind>,
    /// The promoter manifest, if configured.
    pub promoter_manifest: Option<String>,
}

/// The kinds `release.checks` can turn off: the references found in files.
pub const CHECKABLE: &[FindingKind] = &[
    FindingKind::ImageTag,
    FindingKind::FloatingImageTag,
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
];

/// A configured version file.
#[derive(Debug, Clone)]
pub struct VersionFile {
    /// Repository-relative path.
    pub path: String,
    /// The compiled pattern.
    pub pattern: Regex,
}

/// Paths excluded from reading.
#[derive(Debug, Clone, Default)]
pub struct Exclude {
    globs: Vec<String>,
    set: GlobSet,
}

impl Exclude {
    /// Whether a repository-relative path is excluded.
    pub fn matches(&self, path: &str) -> bool {
        !self.globs.is_empty() && self.set.is_match(path)
    }
}

impl Settings {
    /// Resolves the file sections into settings, reporting the first invalid value by key.
    pub fn resolve(project: &ProjectSection, release: &ReleaseSection) -> Result<Settings, Error> {
        let images = release
            .images
            .iter()
            .enumerate()
            .map(|(index, image)| {
                ImageReference::parse(image).map_err(|error| Error::Config {
                    key: format!("release.images[{index}]"),
                    message: error.to_string(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let platforms = if release.platforms.is_empty() {
            platform::default_platforms()
        } else {
            release
                .platforms
                .iter()
                .enumerate()
                .map(|(index, platform)| {
                    Platform::parse(platform).map_err(|error| Error::Config {
                        key: format!("release.platforms[{index}]"),
                        message: error.to_string(),
                    })
                })
                .collect::<Result<Vec<_>, _>>()?
        };
        let version_files = release
            .version_files
            .iter()
            .enumerate()
            .map(|(index, file)| compile_version_file(index, file))
            .collect::<Result<Vec<_>, _>>()?;
        let mut builder = GlobSetBuilder::new();
        for (index, glob) in release.exclude.iter().enumerate() {
            let compiled = Glob::new(glob).map_err(|error| Error::Config {
                key: format!("release.exclude[{index}]"),
                message: error.kind().to_string(),
            })?;
            builder.add(compiled);
            // `dir/**` should also exclude `dir` itself and `dir` should exclude what is under it.
            if !glob.ends_with("/**")
                && let Ok(under) = Glob::new(&format!("{}/**", glob.trim_end_matches('/')))
            {
                builder.add(under);
            }
        }
        let exclude = Exclude {
            globs: release.exclude.clone(),
            set: builder
                .build()
                .map_err(|error| Error::Config { key: "release.exclude".to_owned(), message: error.to_string() })?,
        };
        let branch_pattern = release
            .branch_pattern
            .as_deref()
            .map(|pattern| {
                BranchPattern::parse(pattern).map_err(|error| Error::Config {
                    key: "release.branch_pattern".to_owned(),
                    message: error.to_string(),
                })
            })
            .transpose()?;
        let mut disabled = BTreeSet::new();
        for (name, enabled) in &release.checks {
            let kind =
                FindingKind::from_name(name).filter(|kind| CHECKABLE.contains(kind)).ok_or_else(|| Error::Config {
                    key: format!("release.checks.{name}"),
                    message: format!(
                        "`{name}` is not a reference kind; the kinds are {}",
                        CHECKABLE.iter().map(|kind| kind.name()).collect::<Vec<_>>().join(", ")
                    ),
                })?;
            if !enabled {
                disabled.insert(kind);
            }
        }
        Ok(Settings {
            project_name: project.name.clone().filter(|name| !name.is_empty()),
            project_repository: project.repository.clone().filter(|repository| !repository.is_empty()),
            images,
            platforms,
            tag_prefix: release.tag_prefix.clone().unwrap_or_else(|| "v".to_owned()),
            image_tag_prefix: release.image_tag_prefix.clone().unwrap_or_else(|| "v".to_owned()),
            chart_version: release.chart_version,
            version_files,
            exclude,
            commit_message: release.commit_message.clone().unwrap_or_else(|| "Release {tag}".to_owned()),
            branch_pattern,
            disabled,
            promoter_manifest: release.promoter_manifest.clone().filter(|manifest| !manifest.is_empty()),
        })
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings::resolve(&ProjectSection::default(), &ReleaseSection::default())
            .expect("the default configuration is valid")
    }
}

fn compile_version_file(index: usize, file: &VersionFileSection) -> Result<VersionFile, Error> {
    let key = |field: &str| format!("release.version_files[{index}].{field}");
    if file.path.is_empty() {
        return Err(Error::Config { key: key("path"), message: "a path is required".to_owned() });
    }
    if file.path.starts_with('/') || file.path.split('/').any(|part| part == "..") {
        return Err(Error::Config {
            key: key("path"),
            message: format!("`{}` must be relative to the repository and stay inside it", file.path),
        });
    }
    let pattern =
        Regex::new(&file.pattern).map_err(|error| Error::Config { key: key("pattern"), message: error.to_string() })?;
    let groups = pattern.captures_len() - 1;
    if groups != 1 {
        return Err(Error::Config {
            key: key("pattern"),
            message: format!(
                "`{}` has {groups} capture groups; it needs exactly one, around the version (use (?:...) for other groups)",
                file.pattern
            ),
        });
    }
    Ok(VersionFile { path: file.path.trim_start_matches("./").to_owned(), pattern })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let settings = Settings::default();
        assert_eq!(settings.tag_prefix, "v");
        assert_eq!(settings.image_tag_prefix, "v");
        assert_eq!(
            settings.platforms.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["linux/amd64", "linux/arm64"]
        );
        assert!(!settings.exclude.matches("anything"));
    }

    #[test]
    fn errors_name_the_key() {
        let release = ReleaseSection {
            version_files: vec![VersionFileSection {
                path: "version.go".into(),
                pattern: "Version = \"(v)?([0-9.]+)\"".into(),
            }],
            ..ReleaseSection::default()
        };
        let error = Settings::resolve(&ProjectSection::default(), &release).expect_err("two groups");
        assert!(error.to_string().starts_with("invalid `release.version_files[0].pattern`"), "{error}");

        let release = ReleaseSection { platforms: vec!["linux".into()], ..ReleaseSection::default() };
        let error = Settings::resolve(&ProjectSection::default(), &release).expect_err("bad platform");
        assert!(error.to_string().starts_with("invalid `release.platforms[0]`"), "{error}");

        let release = ReleaseSection { images: vec!["Not An Image".into()], ..ReleaseSection::default() };
        let error = Settings::resolve(&ProjectSection::default(), &release).expect_err("bad image");
        assert!(error.to_string().starts_with("invalid `release.images[0]`"), "{error}");

        let release = ReleaseSection { branch_pattern: Some("release-branch".into()), ..ReleaseSection::default() };
        let error = Settings::resolve(&ProjectSection::default(), &release).expect_err("bad pattern");
        assert!(error.to_string().starts_with("invalid `release.branch_pattern`"), "{error}");

        let release =
            ReleaseSection { checks: [("makefile-variables".into(), false)].into(), ..ReleaseSection::default() };
        let error = Settings::resolve(&ProjectSection::default(), &release).expect_err("bad kind");
        assert!(error.to_string().starts_with("invalid `release.checks.makefile-variables`"), "{error}");
        assert!(error.to_string().contains("makefile-variable,"), "{error}");
    }

    #[test]
    fn checks_turn_kinds_off() {
        let release = ReleaseSection {
            checks: [("makefile-variable".into(), false), ("ref-link".into(), true)].into(),
            ..ReleaseSection::default()
        };
        let settings = Settings::resolve(&ProjectSection::default(), &release).expect("valid");
        assert_eq!(settings.disabled, BTreeSet::from([FindingKind::MakefileVariable]));
    }

    #[test]
    fn exclude_covers_directories() {
        let release = ReleaseSection {
            exclude: vec!["test/fixtures".into(), "**/*.gen.yaml".into()],
            ..ReleaseSection::default()
        };
        let settings = Settings::resolve(&ProjectSection::default(), &release).expect("valid");
        assert!(settings.exclude.matches("test/fixtures/bad.yaml"));
        assert!(settings.exclude.matches("deploy/x.gen.yaml"));
        assert!(!settings.exclude.matches("test/e2e.yaml"));
    }
}
