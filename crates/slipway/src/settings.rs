//! Resolving command-line arguments and `slipway.yaml` into the settings a release or cache
//! command runs on (the image commands' are in `settings_image`, the jobs' in `settings_jobs`).
//! Each command's settings are resolved once, from its arguments and the globals, and carry the
//! configuration's warnings for the command to print.
//!
//! Layers, lowest first: built-in defaults, the file, `SLIPWAY_*` environment variables, flags.
//! clap applies the environment to the flags that have one, so here the file is the floor and
//! anything given on the command line or in the environment replaces it. Arguments are
//! destructured completely, so a new flag cannot be forgotten.

use std::path::PathBuf;

use slipway_oci::RegistryOptions;
use slipway_oci::build;
use slipway_release::Settings;
use slipway_release::bump::BumpOptions;
use slipway_release::verify::{Target, VerifyOptions};

use slipway_release::ledger::{Ledger, Writer};

use crate::cli::{AuditArgs, BumpArgs, CachePruneArgs, Format, RecordArgs, RegistryArgs, VerifyArgs};
use crate::cli_jobs::StorageArgs;
use crate::config_file::{Globals, Loaded};
use crate::errors::UsageError;
use crate::warnings::Warning;

/// The release settings of the file and environment; an invalid value is reported at its line
/// or environment variable.
pub(crate) fn release(loaded: &Loaded) -> anyhow::Result<Settings> {
    Settings::resolve(&loaded.file.project, &loaded.file.release).map_err(|error| -> anyhow::Error {
        if let slipway_release::Error::Config { key, message } = &error
            && let Some(located) = loaded.invalid_key(key, message)
        {
            return located.into();
        }
        error.into()
    })
}

/// What the build cache keeps (`cache:`), an invalid value reported at its line or variable.
pub(crate) fn cache_limits(loaded: &Loaded) -> anyhow::Result<build::cache::Limits> {
    loaded.file.cache.limits().map_err(|(key, message)| match loaded.invalid_key(key, &message) {
        Some(located) => located.into(),
        None => UsageError(format!("invalid `{key}`: {message}")).into(),
    })
}

/// Everything `cache prune` runs on.
pub(crate) struct CachePruneSettings {
    pub(crate) directory: std::path::PathBuf,
    pub(crate) policy: build::cache::Policy,
    pub(crate) dry_run: bool,
    pub(crate) format: Format,
    pub(crate) warnings: Vec<Warning>,
}

pub(crate) fn cache_prune(args: CachePruneArgs, globals: &Globals) -> anyhow::Result<CachePruneSettings> {
    let CachePruneArgs { max_size, max_age, all, dry_run, format } = args;
    let loaded = crate::config_file::load(globals)?;
    let mut limits = cache_limits(&loaded)?;
    if let Some(size) = max_size {
        limits.max_size =
            slipway_core::retention::parse_size(&size).map_err(|error| UsageError(format!("--max-size: {error}")))?;
    }
    if let Some(age) = max_age {
        limits.max_age =
            slipway_core::retention::parse_age(&age).map_err(|error| UsageError(format!("--max-age: {error}")))?;
    }
    Ok(CachePruneSettings {
        directory: loaded.root.join(".slipway/cache"),
        policy: if all { build::cache::Policy::All } else { build::cache::Policy::Limits(limits) },
        dry_run,
        format,
        warnings: loaded.warnings,
    })
}

/// Everything `release verify` runs on.
pub(crate) struct VerifySettings {
    pub(crate) options: VerifyOptions,
    pub(crate) release: Settings,
    pub(crate) format: Format,
    pub(crate) verbose: bool,
    pub(crate) warnings: Vec<Warning>,
}

/// Everything `release bump` runs on.
pub(crate) struct BumpSettings {
    pub(crate) options: BumpOptions,
    pub(crate) release: Settings,
    pub(crate) format: Format,
    pub(crate) verbose: bool,
    /// Where `--tag` records the release, and as whom.
    pub(crate) ledger: Option<(Ledger, Writer)>,
    pub(crate) warnings: Vec<Warning>,
}

/// Everything `release record` runs on.
pub(crate) struct RecordSettings {
    pub(crate) version: slipway_core::Version,
    /// The project's root.
    pub(crate) directory: PathBuf,
    pub(crate) release: Settings,
    pub(crate) registry: Option<RegistryOptions>,
    pub(crate) ledger: Ledger,
    pub(crate) writer: Writer,
    pub(crate) format: Format,
    pub(crate) warnings: Vec<Warning>,
}

pub(crate) fn record(args: RecordArgs, globals: &Globals) -> anyhow::Result<RecordSettings> {
    let RecordArgs { version, images, offline, storage, registries, format } = args;
    let loaded = crate::config_file::load(globals)?;
    let mut release = release(&loaded)?;
    if !images.is_empty() {
        release.images = images;
    }
    Ok(RecordSettings {
        version,
        release,
        registry: (!offline).then(|| registry_options(&loaded, registries)),
        ledger: ledger(&loaded, storage)?,
        writer: writer("release record", &loaded),
        directory: loaded.root,
        format,
        warnings: loaded.warnings,
    })
}

/// Everything `release audit` runs on.
pub(crate) struct AuditSettings {
    pub(crate) options: slipway_release::ledger::audit::AuditOptions,
    pub(crate) release: Settings,
    pub(crate) ledger: Ledger,
    pub(crate) format: Format,
    pub(crate) warnings: Vec<Warning>,
}

pub(crate) fn audit(args: AuditArgs, globals: &Globals) -> anyhow::Result<AuditSettings> {
    let AuditArgs { versions, all: _, offline, storage, registries, format } = args;
    let loaded = crate::config_file::load(globals)?;
    let release = release(&loaded)?;
    let tags = versions.iter().map(|version| version.tag(&release.tag_prefix)).collect();
    Ok(AuditSettings {
        options: slipway_release::ledger::audit::AuditOptions {
            directory: loaded.root.clone(),
            tags,
            offline,
            registry: registry_options(&loaded, registries),
        },
        release,
        ledger: ledger(&loaded, storage)?,
        format,
        warnings: loaded.warnings,
    })
}

/// The release ledger in the artifact storage (`--storage`, `artifacts.storage`, else
/// `.slipway/artifacts` in the project).
pub(crate) fn ledger(loaded: &Loaded, storage: StorageArgs) -> anyhow::Result<Ledger> {
    let StorageArgs { storage } = storage;
    open_ledger(&crate::settings_jobs::storage_url(loaded, storage))
}

/// The release ledger at a storage URL.
pub(crate) fn open_ledger(url: &str) -> anyhow::Result<Ledger> {
    Ok(Ledger::new(slipway_artifacts::Storage::open(url)?))
}

/// Who writes to the ledger: git's committer identity in the project, else the user, and now.
pub(crate) fn writer(command: &str, loaded: &Loaded) -> Writer {
    let from_git =
        slipway_git::Git::discover(&loaded.root).ok().flatten().and_then(|git| git.committer().ok().flatten());
    let by = from_git
        .or_else(|| std::env::var("USER").ok().filter(|user| !user.is_empty()))
        .unwrap_or_else(|| "unknown".to_owned());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX));
    Writer { command: command.to_owned(), by, at: slipway_core::time::rfc3339_utc(now) }
}

pub(crate) fn verify(args: VerifyArgs, globals: &Globals) -> anyhow::Result<VerifySettings> {
    let VerifyArgs { tag, version, images, platforms, offline, registries, format, verbose, storage } = args;
    let loaded = crate::config_file::load(globals)?;
    let mut release = release(&loaded)?;
    if !images.is_empty() {
        release.images = images;
    }
    if !platforms.is_empty() {
        release.platforms = platforms;
    }
    let target = match (tag, version) {
        (Some(tag), _) => Target::Tag(tag),
        (None, Some(version)) => Target::Version(version),
        (None, None) => Target::Infer,
    };
    Ok(VerifySettings {
        options: VerifyOptions {
            directory: loaded.root.clone(),
            target,
            offline,
            registry: registry_options(&loaded, registries),
            ledger: Some(ledger(&loaded, storage)?),
        },
        verbose,
        release,
        format,
        warnings: loaded.warnings,
    })
}

pub(crate) fn bump(args: BumpArgs, globals: &Globals) -> anyhow::Result<BumpSettings> {
    let BumpArgs { version, dry_run, commit, tag, allow_downgrade, images, format, verbose, storage } = args;
    let loaded = crate::config_file::load(globals)?;
    let mut release = release(&loaded)?;
    if !images.is_empty() {
        release.images = images;
    }
    Ok(BumpSettings {
        options: BumpOptions { directory: loaded.root.clone(), version, dry_run, commit, tag, allow_downgrade },
        verbose,
        ledger: if tag { Some((ledger(&loaded, storage)?, writer("release bump --tag", &loaded))) } else { None },
        release,
        format,
        warnings: loaded.warnings,
    })
}

/// A registry client configured from the file and `--insecure-registry`.
pub(crate) fn registry_options(loaded: &Loaded, args: RegistryArgs) -> RegistryOptions {
    let RegistryArgs { insecure_registries } = args;
    let mut insecure = loaded.file.registries.insecure.clone();
    insecure.extend(insecure_registries);
    RegistryOptions { insecure, ..RegistryOptions::default() }
}
