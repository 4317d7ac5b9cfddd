//! Resolving command-line arguments and `slipway.yaml` into the settings a command runs on.
//!
//! Layers, lowest first: built-in defaults, the file, `SLIPWAY_*` environment variables, flags.
//! clap applies the environment to the flags that have one, so here the file is the floor and
//! anything given on the command line or in the environment replaces it. Arguments are
//! destructured completely, so a new flag cannot be forgotten.

use slipway_oci::RegistryOptions;
use slipway_release::Settings;
use slipway_release::bump::BumpOptions;
use slipway_release::verify::{Target, VerifyOptions};

use crate::cli::{BumpArgs, Format, VerifyArgs};
use crate::config_file::Loaded;

/// Everything `release verify` runs on.
pub(crate) struct VerifySettings {
    pub(crate) options: VerifyOptions,
    pub(crate) release: Settings,
    pub(crate) format: Format,
}

/// Everything `release bump` runs on.
pub(crate) struct BumpSettings {
    pub(crate) options: BumpOptions,
    pub(crate) release: Settings,
    pub(crate) format: Format,
}

pub(crate) fn verify(args: VerifyArgs, loaded: &Loaded) -> Result<VerifySettings, slipway_release::Error> {
    let VerifyArgs { repo, tag, version, images, platforms, offline, insecure_registries, format } = args;
    let mut release = Settings::resolve(&loaded.file.project, &loaded.file.release)?;
    if !images.is_empty() {
        release.images = images;
    }
    if !platforms.is_empty() {
        release.platforms = platforms;
    }
    let mut insecure = loaded.file.registries.insecure.clone();
    insecure.extend(insecure_registries);
    let target = match (tag, version) {
        (Some(tag), _) => Target::Tag(tag),
        (None, Some(version)) => Target::Version(version),
        (None, None) => Target::Infer,
    };
    Ok(VerifySettings {
        options: VerifyOptions {
            directory: repo,
            target,
            offline,
            registry: RegistryOptions { insecure, ..RegistryOptions::default() },
        },
        release,
        format,
    })
}

pub(crate) fn bump(args: BumpArgs, loaded: &Loaded) -> Result<BumpSettings, slipway_release::Error> {
    let BumpArgs { version, repo, dry_run, commit, tag, allow_downgrade, images, format } = args;
    let mut release = Settings::resolve(&loaded.file.project, &loaded.file.release)?;
    if !images.is_empty() {
        release.images = images;
    }
    Ok(BumpSettings {
        options: BumpOptions { directory: repo, version, dry_run, commit, tag, allow_downgrade },
        release,
        format,
    })
}
