//! `image build`: daemonless, reproducible multi-arch images.
//!
//! For each configured image and platform: run the build command ([`run`]), put the files in a
//! reproducible layer ([`layer`]), set it on the base image's matching platform ([`base`],
//! [`assemble`]), check that the entrypoint really is a binary for that platform (the same check
//! as `release verify`), and only when every platform passes, publish the index ([`publish`]):
//! to a registry, an OCI layout directory or an OCI archive. Tags come from git ([`tags`]).

pub mod assemble;
pub mod base;
pub mod cache;
pub mod config;
pub mod layer;
pub mod publish;
pub mod run;
pub mod tags;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use serde::Serialize;
use slipway_core::progress::Progress;
use slipway_core::{Finding, Platform, Severity, exit, time};
use slipway_git::Git;

pub use assemble::Provenance;
pub use config::{ImageSection, ImageSpec};
pub use publish::{Pushed, Transfers};

use crate::entrypoint::{self, ImageLayers, Layer};
use crate::manifest::ImageConfig;
use crate::registry::{BlobTransfer, Registry, RegistryOptions};
use assemble::MediaTypes;
use layer::{BlobStore, LayerFile};
use tags::{GitFacts, TagPlan};

/// The JSON schema identifier of [`BuildReport`].
pub const SCHEMA: &str = "slipway.image.build/v1";

/// Why a build stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The `images:` configuration is invalid.
    #[error("invalid `{key}` in the configuration: {message}")]
    Config {
        /// The key.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// A build command failed; nothing was published.
    #[error("the build of `{job}` failed ({status}); nothing was published\n  command: {command}\n{}", indent(output))]
    BuildFailed {
        /// Image and platform.
        job: String,
        /// The command.
        command: String,
        /// How it ended.
        status: String,
        /// Its stdout and stderr.
        output: String,
    },
    /// A file to add does not exist.
    #[error("`{path}`, which {image} adds for {platform}, does not exist{hint}")]
    SourceMissing {
        /// The image.
        image: String,
        /// The platform.
        platform: String,
        /// The source path.
        path: String,
        /// A hint.
        hint: String,
    },
    /// The base image does not exist.
    #[error("base image `{base}` does not exist")]
    BaseNotFound {
        /// The base.
        base: String,
    },
    /// The base image lacks a platform being built.
    #[error("base image `{base}` has no {platform} (it has {available})")]
    BaseMissingPlatform {
        /// The base.
        base: String,
        /// The missing platform.
        platform: String,
        /// What it has.
        available: String,
    },
    /// A release tag would be overwritten.
    #[error(
        "`{image}` already names {existing}, not the {new} just built; slipway does not overwrite a release tag without --force"
    )]
    TagCollision {
        /// The tag.
        image: String,
        /// What it names.
        existing: String,
        /// What was built.
        new: String,
    },
    /// A registry failed.
    #[error(transparent)]
    Registry(#[from] crate::Error),
    /// git failed.
    #[error(transparent)]
    Git(#[from] slipway_git::Error),
    /// The file system failed.
    #[error("could not write `{}`", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// The process exit code this error means.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::BuildFailed { .. } => exit::CHECK_FAILED,
            Error::Config { .. }
            | Error::SourceMissing { .. }
            | Error::BaseNotFound { .. }
            | Error::BaseMissingPlatform { .. }
            | Error::TagCollision { .. } => exit::USAGE,
            Error::Registry(error) => error.exit_code(),
            Error::Git(error) => error.exit_code(),
            Error::Io { .. } => exit::INFRASTRUCTURE,
        }
    }
}

fn indent(output: &str) -> String {
    let lines: Vec<String> = output.trim_end().lines().map(|line| format!("  | {line}")).collect();
    if lines.is_empty() { "  (no output)".to_owned() } else { lines.join("\n") }
}

/// Where a build goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// Nowhere: build and check only.
    Check,
    /// The configured repositories.
    Push {
        /// Overwrite release tags that name another image.
        force: bool,
    },
    /// An OCI layout directory.
    Layout(PathBuf),
    /// An OCI layout archive.
    Archive(PathBuf),
}

/// What to build, and how.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// The project directory; commands run and sources resolve here.
    pub directory: PathBuf,
    /// The images.
    pub images: Vec<ImageSpec>,
    /// Where they go.
    pub destination: Destination,
    /// Tags given on the command line; empty means the tag policy decides.
    pub tags: Vec<String>,
    /// `release.tag_prefix`.
    pub tag_prefix: String,
    /// `release.image_tag_prefix`.
    pub image_tag_prefix: String,
    /// `SOURCE_DATE_EPOCH`, if set; else the commit time.
    pub epoch: Option<i64>,
    /// Registries.
    pub registry: RegistryOptions,
    /// The cache directory (blob store).
    pub cache: PathBuf,
    /// What the cache keeps; it is pruned to this after the build.
    pub cache_limits: cache::Limits,
    /// How many builds run at once.
    pub parallel: usize,
}

/// What a build did: the stable JSON output of `image build --format json`.
#[derive(Debug, Clone, Serialize)]
pub struct BuildReport {
    /// [`SCHEMA`].
    pub schema: &'static str,
    /// The timestamp every file and config carries.
    pub epoch: i64,
    /// Labels and annotations from git.
    pub provenance: Provenance,
    /// The tags.
    pub tags: TagPlan,
    /// Each image.
    pub images: Vec<ImageResult>,
    /// Binaries that are not their platform's; when there are errors, nothing was published.
    pub findings: Vec<Finding>,
    /// `check`, `push`, `oci:DIR` or `oci-archive:FILE`.
    pub destination: String,
    /// Whether the images went to the destination.
    pub published: bool,
    /// What the cache prune after the build removed, when it removed anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_pruned: Option<cache::Pruned>,
}

impl BuildReport {
    /// 1 when a binary is wrong (and nothing was published), else 0.
    pub fn exit_code(&self) -> u8 {
        if self.findings.iter().any(|finding| finding.severity == Severity::Error) {
            exit::CHECK_FAILED
        } else {
            exit::SUCCESS
        }
    }
}

/// One built image.
#[derive(Debug, Clone, Serialize)]
pub struct ImageResult {
    /// Its name.
    pub name: String,
    /// Its repository.
    pub repository: String,
    /// The index digest.
    pub digest: String,
    /// The index media type.
    pub media_type: String,
    /// The base, with the digest it resolved to.
    pub base: Option<String>,
    /// Each platform.
    pub platforms: Vec<PlatformResult>,
    /// What the push did, when pushed.
    pub pushed: Option<Pushed>,
}

/// One platform of a built image.
#[derive(Debug, Clone, Serialize)]
pub struct PlatformResult {
    /// The platform.
    pub platform: String,
    /// The platform manifest's digest.
    pub digest: String,
    /// The config's digest.
    pub config_digest: String,
    /// Config plus layers, in bytes.
    pub size: u64,
    /// slipway's layer.
    pub layer: LayerResult,
    /// What the entrypoint is built for.
    pub binary: Option<String>,
}

/// slipway's layer of one platform.
#[derive(Debug, Clone, Serialize)]
pub struct LayerResult {
    /// Its digest.
    pub digest: String,
    /// Its size.
    pub size: u64,
    /// Whether an unchanged rebuild found it in the cache.
    pub cached: bool,
}

/// Builds the images and sends them to the destination, then prunes the cache to its limits.
pub async fn build(options: &BuildOptions, progress: &dyn Progress) -> Result<BuildReport, Error> {
    let mut report = build_and_publish(options, progress).await?;
    // The build is done either way: a cache that cannot be pruned now is pruned next time.
    if let Ok(pruned) =
        cache::prune(&options.cache, cache::Policy::Limits(options.cache_limits), std::time::SystemTime::now(), false)
    {
        report.cache_pruned = pruned.removed_anything().then_some(pruned);
    }
    Ok(report)
}

async fn build_and_publish(options: &BuildOptions, progress: &dyn Progress) -> Result<BuildReport, Error> {
    let (facts, revision, commit_time, source) = git_facts(options)?;
    let epoch = options.epoch.or(commit_time).unwrap_or(0);
    let plan = tags::plan(&facts, &options.tags, &options.tag_prefix, &options.image_tag_prefix);
    let provenance =
        Provenance { source, revision, version: plan.tags.first().cloned(), created: time::rfc3339_utc(epoch) };
    let store = BlobStore::open(&options.cache).map_err(|source| Error::Io { path: options.cache.clone(), source })?;
    // What a killed build was writing is never finished by anyone else.
    cache::sweep_temporaries(&options.cache, std::time::SystemTime::now(), false)
        .map_err(|source| Error::Io { path: options.cache.clone(), source })?;
    let registry = Registry::new(options.registry.clone());

    let mut bases = Vec::new();
    for spec in &options.images {
        bases.push(match &spec.base {
            Some(reference) => Some(base::resolve(&registry, reference, &spec.platforms).await?),
            None => None,
        });
    }

    let jobs: Vec<run::Job> = options
        .images
        .iter()
        .flat_map(|spec| {
            spec.platforms.iter().filter_map(move |platform| {
                Some(run::Job {
                    label: format!("{} {platform}", spec.name),
                    command: config::fill(spec.build.as_ref()?, platform),
                    env: vec![("SOURCE_DATE_EPOCH".to_owned(), epoch.to_string())],
                })
            })
        })
        .collect();
    tokio::task::block_in_place(|| run::run(&jobs, &options.directory, options.parallel, progress))?;

    let (layers, transferred) = match &options.destination {
        // Built layers go up while later ones compress, so packing and uploading overlap.
        Destination::Push { .. } => pack_and_upload(options, &store, &registry, epoch, progress).await?,
        _ => (tokio::task::block_in_place(|| build_layers(options, &store, epoch, progress))?, Transferred::new()),
    };

    let mut findings = Vec::new();
    let mut built = Vec::new();
    let mut results = Vec::new();
    for ((spec, base), image_layers) in options.images.iter().zip(&bases).zip(layers) {
        let types = MediaTypes::for_base(base.as_ref());
        let mut platforms = Vec::new();
        let mut platform_results = Vec::new();
        for (platform, layer) in spec.platforms.iter().zip(image_layers) {
            let base_part = base.as_ref().and_then(|base| Some((base, base.platform(platform)?)));
            let image = assemble::platform_image(spec, platform, base_part, &layer, &provenance, types);
            let config: ImageConfig = serde_json::from_slice(&image.config).expect("slipway wrote this config");
            let check_layers = ImageLayers {
                registry: Some(registry.clone()),
                repository: base.as_ref().map(|base| base.reference.clone()),
                layers: image.layers[..image.base_layers]
                    .iter()
                    .map(|descriptor| Layer::Remote { digest: descriptor.digest.clone() })
                    .chain([Layer::Local { path: store.path(&layer.digest) }])
                    .collect(),
            };
            let subject = spec.repository.to_string();
            let check = entrypoint::check(check_layers, &config, platform, &subject).await?;
            findings.extend(check.findings);
            platform_results.push(PlatformResult {
                platform: platform.to_string(),
                digest: image.manifest_digest.clone(),
                config_digest: image.config_digest.clone(),
                size: image.size(),
                layer: LayerResult { digest: layer.digest.clone(), size: layer.size, cached: layer.cached },
                binary: check.binary,
            });
            platforms.push(image);
        }
        let (index, index_digest) = assemble::index(spec, &platforms, &provenance, types);
        for image in &platforms {
            put(&store, &image.config)?;
            put(&store, &image.manifest)?;
        }
        put(&store, &index)?;
        results.push(ImageResult {
            name: spec.name.clone(),
            repository: spec.repository.to_string(),
            digest: index_digest.clone(),
            media_type: types.index.to_owned(),
            base: base.as_ref().map(|base| format!("{}@{}", base.reference, base.digest)),
            platforms: platform_results,
            pushed: None,
        });
        built.push(publish::Built {
            repository: spec.repository.clone(),
            base: base.clone(),
            platforms,
            index,
            index_digest,
            types,
        });
    }
    slipway_core::finding::sort(&mut findings);

    let destination = match &options.destination {
        Destination::Check => "check".to_owned(),
        Destination::Push { .. } => "push".to_owned(),
        Destination::Layout(path) => format!("oci:{}", path.display()),
        Destination::Archive(path) => format!("oci-archive:{}", path.display()),
    };
    let mut report = BuildReport {
        schema: SCHEMA,
        epoch,
        provenance,
        tags: plan,
        images: results,
        findings,
        destination,
        published: false,
        cache_pruned: None,
    };
    if report.exit_code() != exit::SUCCESS || options.destination == Destination::Check {
        return Ok(report);
    }
    progress.begin(built.len() as u64, "publishing");
    for ((image, result), spec) in built.iter().zip(&mut report.images).zip(&options.images) {
        match &options.destination {
            Destination::Check => {}
            Destination::Push { force } => {
                let request = publish::PushRequest {
                    transferred: &transferred,
                    tags: &report.tags.tags,
                    moving: &spec.moving_tags,
                    release: report.tags.release.as_ref(),
                    image_tag_prefix: &options.image_tag_prefix,
                    force: *force,
                };
                result.pushed = Some(publish::push(&registry, &store, image, &request).await?);
            }
            Destination::Layout(directory) => {
                publish::write_layout(&registry, &store, image, directory, &layout_tags(&report.tags, spec, options))
                    .await?;
            }
            Destination::Archive(file) => {
                publish::write_archive(
                    &registry,
                    &store,
                    image,
                    file,
                    &layout_tags(&report.tags, spec, options),
                    epoch,
                )
                .await?;
            }
        }
        progress.advance(&spec.name);
    }
    progress.end();
    report.published = true;
    Ok(report)
}

/// In a layout holding several images, each tag is qualified by the image's name.
fn layout_tags(plan: &TagPlan, spec: &ImageSpec, options: &BuildOptions) -> Vec<String> {
    if options.images.len() == 1 {
        plan.tags.clone()
    } else {
        plan.tags.iter().map(|tag| format!("{}-{tag}", spec.name)).collect()
    }
}

fn put(store: &BlobStore, bytes: &[u8]) -> Result<String, Error> {
    store.put(bytes).map_err(|source| Error::Io { path: store.path(&crate::manifest::sha256_digest(bytes)), source })
}

type Facts = (GitFacts, Option<String>, Option<i64>, Option<String>);

fn git_facts(options: &BuildOptions) -> Result<Facts, Error> {
    let git = match Git::discover(&options.directory) {
        Ok(Some(git)) => git,
        Ok(None) | Err(slipway_git::Error::Missing(_)) => return Ok((GitFacts::default(), None, None, None)),
        Err(error) => return Err(error.into()),
    };
    let Some(head) = git.head_commit()? else {
        return Ok((GitFacts::default(), None, None, None));
    };
    let facts = GitFacts {
        head_tags: git.tags_at_head()?,
        describe: git.describe(&options.tag_prefix)?,
        dirty: git.has_changes()?,
    };
    let source = git.origin_url()?.as_deref().and_then(slipway_git::web_url);
    let commit_time = git.commit_time(&head)?;
    Ok((facts, Some(head), Some(commit_time), source))
}

/// Builds every image's layer for every platform, at most `parallel` at a time, and uploads each
/// to its image's repository as soon as it is built and the registry says it lacks it, so early
/// layers go up while later ones compress. Returns the layers (per image, per platform) and what
/// happened to each in the registry.
async fn pack_and_upload(
    options: &BuildOptions,
    store: &BlobStore,
    registry: &Registry,
    epoch: i64,
    progress: &dyn Progress,
) -> Result<(Vec<Vec<layer::BuiltLayer>>, Transferred), Error> {
    let mut jobs = Vec::new();
    for (image, spec) in options.images.iter().enumerate() {
        for platform in &spec.platforms {
            jobs.push((image, spec, platform, layer_files(options, spec, platform)?));
        }
    }
    let compressing = tokio::sync::Semaphore::new(options.parallel.max(1));
    progress.begin(jobs.len() as u64, "packing and uploading layers");
    let results = futures_util::future::join_all(jobs.into_iter().map(|(image, spec, platform, files)| {
        let compressing = &compressing;
        async move {
            let result = async {
                let permit = compressing.acquire().await.expect("the semaphore is never closed");
                let packing_store = store.clone();
                let built = tokio::task::spawn_blocking(move || layer::build(&packing_store, &files, epoch))
                    .await
                    .map_err(std::io::Error::other)
                    .and_then(|built| built)
                    .map_err(|source| Error::Io { path: store.path("sha256:"), source })?;
                drop(permit);
                let transfer = if registry.blob_exists(&spec.repository, &built.digest).await? {
                    BlobTransfer::Present
                } else {
                    registry.upload_file(&spec.repository, &store.path(&built.digest), &built.digest).await?;
                    BlobTransfer::Uploaded
                };
                Ok::<_, Error>((built, transfer))
            }
            .await;
            progress.advance(&format!("{} {platform}", spec.name));
            (image, result)
        }
    }))
    .await;
    progress.end();
    let mut per_image: Vec<Vec<layer::BuiltLayer>> = options.images.iter().map(|_| Vec::new()).collect();
    let mut transferred = Transferred::new();
    for (image, result) in results {
        let (built, transfer) = result?;
        transferred.insert(built.digest.clone(), (transfer, built.size));
        per_image[image].push(built);
    }
    Ok((per_image, transferred))
}

/// What happened to each of slipway's layers in the registry, by digest, with its size.
pub type Transferred = std::collections::BTreeMap<String, (BlobTransfer, u64)>;

/// Builds every image's layer for every platform, in parallel; the result is per image, per
/// platform, in order.
fn build_layers(
    options: &BuildOptions,
    store: &BlobStore,
    epoch: i64,
    progress: &dyn Progress,
) -> Result<Vec<Vec<layer::BuiltLayer>>, Error> {
    let mut work: Vec<(usize, &ImageSpec, &Platform)> = Vec::new();
    for (image, spec) in options.images.iter().enumerate() {
        for platform in &spec.platforms {
            work.push((image, spec, platform));
        }
    }
    let mut files_per_job = Vec::new();
    for (_, spec, platform) in &work {
        files_per_job.push(layer_files(options, spec, platform)?);
    }
    progress.begin(work.len() as u64, "packing layers");
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: std::sync::Mutex<Vec<Option<Result<layer::BuiltLayer, Error>>>> =
        std::sync::Mutex::new((0..work.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..options.parallel.clamp(1, work.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let position = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some((_, spec, platform)) = work.get(position) else {
                        break;
                    };
                    let result = layer::build(store, &files_per_job[position], epoch)
                        .map_err(|source| Error::Io { path: options.cache.clone(), source });
                    results.lock().unwrap_or_else(std::sync::PoisonError::into_inner)[position] = Some(result);
                    progress.advance(&format!("{} {platform}", spec.name));
                }
            });
        }
    });
    progress.end();
    let mut per_image: Vec<Vec<layer::BuiltLayer>> = options.images.iter().map(|_| Vec::new()).collect();
    for ((image, _, _), result) in
        work.iter().zip(results.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner))
    {
        per_image[*image].push(result.expect("every job ran")?);
    }
    Ok(per_image)
}

fn layer_files(options: &BuildOptions, spec: &ImageSpec, platform: &Platform) -> Result<Vec<LayerFile>, Error> {
    spec.files
        .iter()
        .map(|file| {
            let relative = config::fill(&file.source, platform);
            let source = options.directory.join(&relative);
            let metadata = fs_err::metadata(&source).ok().filter(std::fs::Metadata::is_file).ok_or_else(|| {
                Error::SourceMissing {
                    image: spec.name.clone(),
                    platform: platform.to_string(),
                    path: relative.clone(),
                    hint: if spec.build.is_some() {
                        "; did the build command write it there?".to_owned()
                    } else {
                        String::new()
                    },
                }
            })?;
            let executable = metadata.permissions().mode() & 0o111 != 0;
            Ok(LayerFile {
                source,
                path: file.path.clone(),
                mode: file.mode.unwrap_or(if executable { 0o755 } else { 0o644 }),
                uid: file.uid,
                gid: file.gid,
            })
        })
        .collect()
}
