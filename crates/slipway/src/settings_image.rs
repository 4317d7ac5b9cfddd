//! Resolving command-line arguments and `slipway.yaml` into the settings the image commands run
//! on (`image build`, `inspect`, `verify`, `dockerfile`, `cloudbuild`), once per command, with
//! the configuration's warnings.

use slipway_oci::RegistryOptions;
use slipway_oci::build::{BuildOptions, Destination, ImageSpec};
use slipway_oci::verify::ImageCheck;
use slipway_release::Settings;
use slipway_release::ledger::Writer;

use crate::cli::{Format, ImageBuildArgs, ImageInspectArgs, ImageVerifyArgs, Output};
use crate::cli_jobs::StorageArgs;
use crate::config_file::{Globals, Loaded};
use crate::errors::UsageError;
use crate::settings::{cache_limits, registry_options, release, writer};
use crate::warnings::Warning;

/// Everything `image build` runs on.
pub(crate) struct ImageBuildSettings {
    pub(crate) options: BuildOptions,
    pub(crate) format: Format,
    /// How a pushed release is recorded in the ledger (`--push` only).
    pub(crate) recording: Option<Recording>,
    pub(crate) warnings: Vec<Warning>,
}

/// Where and as whom `image build --push` records a release it pushed. The storage is opened
/// only when there is something to record, so a build never fails on the ledger's storage.
pub(crate) struct Recording {
    pub(crate) release: Settings,
    pub(crate) storage: String,
    pub(crate) writer: Writer,
}

/// The configured images with the release settings they take defaults from, for `image
/// dockerfile` and `image cloudbuild`.
pub(crate) struct ImageSpecs {
    pub(crate) specs: Vec<ImageSpec>,
    pub(crate) warnings: Vec<Warning>,
}

/// The images named in `selected` (all when empty).
pub(crate) fn image_specs(globals: &Globals, selected: &[String]) -> anyhow::Result<ImageSpecs> {
    let loaded = crate::config_file::load(globals)?;
    let (specs, _) = images(&loaded, selected)?;
    Ok(ImageSpecs { specs, warnings: loaded.warnings })
}

/// The configured images, those named in `selected` (all when empty), with the release
/// settings they take defaults from.
fn images(loaded: &Loaded, selected: &[String]) -> anyhow::Result<(Vec<ImageSpec>, Settings)> {
    let release = release(loaded)?;
    let specs = slipway_oci::build::config::resolve(&loaded.file.images, &release.platforms).map_err(
        |error| -> anyhow::Error {
            if let slipway_oci::build::Error::Config { key, message } = &error
                && let Some(located) = loaded.invalid_key(key, message)
            {
                return located.into();
            }
            error.into()
        },
    )?;
    if specs.is_empty() {
        return Err(UsageError(
            "no images are configured: add an `images:` section to slipway.yaml (see the README)".to_owned(),
        )
        .into());
    }
    if selected.is_empty() {
        return Ok((specs, release));
    }
    let names: Vec<&str> = specs.iter().map(|spec| spec.name.as_str()).collect();
    if let Some(unknown) = selected.iter().find(|name| !names.contains(&name.as_str())) {
        return Err(UsageError(format!("no image is named `{unknown}`; slipway.yaml has {}", names.join(", "))).into());
    }
    Ok((specs.into_iter().filter(|spec| selected.contains(&spec.name)).collect(), release))
}

pub(crate) fn image_build(args: ImageBuildArgs, globals: &Globals) -> anyhow::Result<ImageBuildSettings> {
    let ImageBuildArgs { images: selected, push, output, tags, force, registries, format, storage } = args;
    let loaded = crate::config_file::load(globals)?;
    let (specs, release) = images(&loaded, &selected)?;
    let directory = loaded.root.clone();
    let destination = match (push, output) {
        (true, _) => Destination::Push { force },
        (false, Some(Output::Layout(path))) => Destination::Layout(path),
        (false, Some(Output::Archive(path))) => Destination::Archive(path),
        (false, None) => Destination::Check,
    };
    let epoch = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(value) if !value.is_empty() => Some(
            value
                .trim()
                .parse::<i64>()
                .map_err(|_| UsageError(format!("SOURCE_DATE_EPOCH is `{value}`, not a number of seconds")))?,
        ),
        _ => None,
    };
    let recording = push.then(|| {
        let StorageArgs { storage } = storage;
        Recording {
            release: release.clone(),
            storage: crate::settings_jobs::storage_url(&loaded, storage),
            writer: writer("image build --push", &loaded),
        }
    });
    Ok(ImageBuildSettings {
        options: BuildOptions {
            cache: directory.join(".slipway/cache"),
            cache_limits: cache_limits(&loaded)?,
            directory,
            images: specs,
            destination,
            tags,
            tag_prefix: release.tag_prefix,
            image_tag_prefix: release.image_tag_prefix,
            epoch,
            registry: registry_options(&loaded, registries),
            parallel: std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get),
        },
        format,
        recording,
        warnings: loaded.warnings,
    })
}

/// Everything `image inspect` and `image verify` run on.
pub(crate) struct ImageCheckSettings {
    pub(crate) registry: RegistryOptions,
    pub(crate) check: ImageCheck,
    pub(crate) format: Format,
    pub(crate) warnings: Vec<Warning>,
}

pub(crate) fn image_inspect(args: ImageInspectArgs, globals: &Globals) -> anyhow::Result<ImageCheckSettings> {
    let ImageInspectArgs { reference, registries, format } = args;
    let loaded = crate::config_file::load(globals)?;
    Ok(ImageCheckSettings {
        registry: registry_options(&loaded, registries),
        check: ImageCheck { image: reference, platforms: Vec::new(), revision: None },
        format,
        warnings: loaded.warnings,
    })
}

pub(crate) fn image_verify(args: ImageVerifyArgs, globals: &Globals) -> anyhow::Result<ImageCheckSettings> {
    let ImageVerifyArgs { reference, platforms, revision, registries, format } = args;
    let loaded = crate::config_file::load(globals)?;
    let platforms = if platforms.is_empty() { release(&loaded)?.platforms } else { platforms };
    let revision = revision.map(|revision| full_commit(&revision, &loaded.root)).transpose()?;
    Ok(ImageCheckSettings {
        registry: registry_options(&loaded, registries),
        check: ImageCheck { image: reference, platforms, revision },
        format,
        warnings: loaded.warnings,
    })
}

/// The full commit id `--revision` names: as given when it is 40 hex digits, else expanded by
/// the project's git repository (an abbreviation of at least 7 hex digits, or a tag).
fn full_commit(revision: &str, root: &std::path::Path) -> anyhow::Result<String> {
    let revision = revision.trim();
    let hex = !revision.is_empty() && revision.bytes().all(|byte| byte.is_ascii_hexdigit());
    if hex && revision.len() == 40 {
        return Ok(revision.to_ascii_lowercase());
    }
    if hex && revision.len() < 7 {
        return Err(UsageError(format!(
            "--revision `{revision}` is too short to name a commit; give at least 7 hex digits"
        ))
        .into());
    }
    let Some(git) = slipway_git::Git::discover(root)? else {
        return Err(UsageError(format!(
            "--revision `{revision}` is not a full commit id, and `{}` is not in a git repository to expand it in; run in the repository (or pass --repo), or give all 40 hex digits",
            root.display()
        ))
        .into());
    };
    match git.resolve_commit(revision) {
        Ok(Some(commit)) => Ok(commit),
        Ok(None) => {
            Err(UsageError(format!("--revision `{revision}` names no commit in `{}`", git.toplevel().display())).into())
        }
        Err(slipway_git::Error::Failed { stderr, .. }) if stderr.contains("ambiguous") => Err(UsageError(format!(
            "--revision `{revision}` is ambiguous in `{}`: several objects start with it; give more hex digits",
            git.toplevel().display()
        ))
        .into()),
        Err(error) => Err(error.into()),
    }
}
