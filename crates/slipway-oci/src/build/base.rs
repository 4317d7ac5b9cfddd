//! The base image, per platform: its manifest's layers and its config, fetched without a
//! single layer byte.

use slipway_core::{ImageReference, Platform};

use crate::build::Error;
use crate::manifest::{DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, Descriptor, Document, ImageConfig};
use crate::registry::Registry;

/// A base image resolved for the platforms being built.
#[derive(Debug, Clone)]
pub struct Base {
    /// As configured.
    pub reference: ImageReference,
    /// The digest the reference resolved to (what `org.opencontainers.image.base.digest` names).
    pub digest: String,
    /// Whether it uses Docker media types (the built image then does too, as ko does).
    pub docker: bool,
    /// Each platform's part.
    pub platforms: Vec<BasePlatform>,
}

/// One platform of a base image.
#[derive(Debug, Clone)]
pub struct BasePlatform {
    /// The platform it serves.
    pub platform: Platform,
    /// Its layers, bottom first.
    pub layers: Vec<Descriptor>,
    /// Its config, as JSON, so fields slipway does not know survive.
    pub config: serde_json::Value,
    /// The same config, parsed.
    pub parsed: ImageConfig,
}

impl Base {
    /// The part for `platform`.
    pub fn platform(&self, platform: &Platform) -> Option<&BasePlatform> {
        self.platforms.iter().find(|part| &part.platform == platform)
    }
}

/// Resolves `reference` for every platform in `platforms`.
pub async fn resolve(registry: &Registry, reference: &ImageReference, platforms: &[Platform]) -> Result<Base, Error> {
    let fetched = registry.fetch(reference).await.map_err(|error| match error {
        crate::Error::NotFound { .. } => Error::BaseNotFound { base: reference.to_string() },
        other => Error::Registry(other),
    })?;
    let docker = fetched.media_type == DOCKER_MANIFEST_LIST || fetched.media_type == DOCKER_MANIFEST;
    let mut parts = Vec::new();
    match fetched.document {
        Document::Index(index) => {
            let available: Vec<(Platform, &Descriptor)> = index
                .manifests
                .iter()
                .filter_map(|entry| Some((entry.platform.as_ref()?.platform(), entry)))
                .filter(|(platform, _)| !platform.is_attestation())
                .collect();
            for platform in platforms {
                let Some((_, entry)) = available.iter().find(|(candidate, _)| candidate.satisfies(platform)) else {
                    return Err(Error::BaseMissingPlatform {
                        base: reference.to_string(),
                        platform: platform.to_string(),
                        available: list(available.iter().map(|(candidate, _)| candidate)),
                    });
                };
                let manifest = registry.fetch_manifest(reference, &entry.digest).await?;
                parts.push(part(registry, reference, platform, manifest.layers, &manifest.config.digest).await?);
            }
        }
        Document::Manifest(manifest) => {
            let config = fetch_config(registry, reference, &manifest.config.digest).await?;
            let declared = config.1.platform();
            for platform in platforms {
                if !declared.satisfies(platform) {
                    return Err(Error::BaseMissingPlatform {
                        base: reference.to_string(),
                        platform: platform.to_string(),
                        available: declared.to_string(),
                    });
                }
                parts.push(BasePlatform {
                    platform: platform.clone(),
                    layers: manifest.layers.clone(),
                    config: config.0.clone(),
                    parsed: config.1.clone(),
                });
            }
        }
    }
    Ok(Base { reference: reference.clone(), digest: fetched.digest, docker, platforms: parts })
}

async fn part(
    registry: &Registry,
    reference: &ImageReference,
    platform: &Platform,
    layers: Vec<Descriptor>,
    config_digest: &str,
) -> Result<BasePlatform, Error> {
    let (config, parsed) = fetch_config(registry, reference, config_digest).await?;
    Ok(BasePlatform { platform: platform.clone(), layers, config, parsed })
}

async fn fetch_config(
    registry: &Registry,
    reference: &ImageReference,
    digest: &str,
) -> Result<(serde_json::Value, ImageConfig), Error> {
    let bytes = registry.fetch_blob(reference, digest).await?;
    let invalid = |error: serde_json::Error| {
        Error::Registry(crate::Error::Invalid {
            reference: format!("{}@{digest}", reference.name()),
            message: format!("not an image config: {error}"),
        })
    };
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(invalid)?;
    let parsed: ImageConfig = serde_json::from_value(value.clone()).map_err(invalid)?;
    Ok((value, parsed))
}

fn list<'a>(platforms: impl Iterator<Item = &'a Platform>) -> String {
    let names: Vec<String> = platforms.map(ToString::to_string).collect();
    if names.is_empty() { "no platforms".to_owned() } else { names.join(", ") }
}
