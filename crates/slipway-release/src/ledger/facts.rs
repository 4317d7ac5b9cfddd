//! Reading a release's facts as they are now: what its git tag points at, what its overlays and
//! charts deploy at that commit, and what its image tags point at in their registries. Recording
//! stores them; an audit compares them with what was stored.

use slipway_core::ImageReference;
use slipway_git::Git;
use slipway_oci::Registry;
use slipway_oci::manifest::Document;

use super::record::{GitFacts, ImageFacts, PlatformFacts, RenderedFacts};
use crate::analysis::{Analysis, Directory};
use crate::config::Settings;
use crate::error::{Error, chain};
use crate::project::Project;
use crate::source::git_tree;

/// What a git tag points at now, or `None` when it does not exist.
pub fn git_facts(git: &Git, tag: &str) -> Result<Option<GitFacts>, Error> {
    Ok(git.tag(tag)?.map(|tag| GitFacts { commit: tag.commit, tag_object: tag.tag_object }))
}

/// What each overlay (that deploys anything) and each of the project's charts deploys at
/// `commit`, with the project as the files at that commit describe it.
pub fn rendered_at(
    directory: &Directory,
    git: &Git,
    commit: &str,
    settings: &Settings,
) -> Result<(Vec<RenderedFacts>, Project), Error> {
    let files = git_tree::load(git, commit, settings)?;
    let analysis = Analysis::of(files, settings, directory)?;
    Ok((rendered(&analysis), analysis.project))
}

/// What each overlay and each of the project's charts in `analysis` deploys.
pub fn rendered(analysis: &Analysis) -> Vec<RenderedFacts> {
    let mut facts: Vec<RenderedFacts> = analysis
        .overlays
        .iter()
        .filter(|overlay| !overlay.containers.is_empty())
        .map(|overlay| {
            let source = if overlay.directory.is_empty() { "." } else { overlay.directory.as_str() };
            RenderedFacts::new("overlay", source, overlay.containers.iter().map(|container| container.image.clone()))
        })
        .collect();
    facts.extend(
        analysis
            .scan
            .charts
            .iter()
            .filter(|chart| analysis.project.owns_chart(chart))
            .map(|chart| RenderedFacts::new("chart", &chart.file, chart.deployed_images())),
    );
    facts
}

/// An image tag that could not be read from its registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// The image.
    pub image: String,
    /// The registry host.
    pub registry: String,
    /// Why.
    pub message: String,
}

/// What each of `images` tagged `tag` is in its registry: `Ok(None)` for a tag that does not
/// exist.
pub async fn image_facts(
    registry: &Registry,
    images: &[ImageReference],
    tag: &str,
) -> Vec<(ImageReference, Result<Option<ImageFacts>, Unreadable>)> {
    let mut facts = Vec::new();
    for image in images {
        let tagged = image.with_tag(tag);
        let result = match registry.fetch(&tagged).await {
            Ok(fetched) => Ok(Some(ImageFacts {
                repository: image.name().to_owned(),
                tag: tag.to_owned(),
                digest: fetched.digest,
                platforms: match fetched.document {
                    Document::Index(index) => index
                        .manifests
                        .iter()
                        .filter_map(|descriptor| {
                            let platform = descriptor.platform.as_ref()?.platform();
                            // BuildKit's attestation manifests are not platforms.
                            (platform.to_string() != "unknown/unknown").then(|| PlatformFacts {
                                platform: platform.to_string(),
                                digest: descriptor.digest.clone(),
                            })
                        })
                        .collect(),
                    Document::Manifest(_) => Vec::new(),
                },
            })),
            Err(slipway_oci::Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(Unreadable {
                image: tagged.to_string(),
                registry: error.registry().unwrap_or(tagged.resolved_registry()).to_owned(),
                message: chain(&error),
            }),
        };
        facts.push((tagged, result));
    }
    facts
}
