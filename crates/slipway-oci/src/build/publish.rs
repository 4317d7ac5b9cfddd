//! Publishing a built image: to a registry, or to an OCI layout directory or archive.
//!
//! A push never leaves a tag on an incomplete image: every tag is checked for collisions first,
//! then blobs go up (the base's mounted or streamed across, never through this machine when the
//! registry can mount them; slipway's own only when missing), then the platform manifests by
//! digest, and the tags last. A rebuild that changed nothing therefore uploads nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use futures_util::StreamExt;
use serde::Serialize;
use slipway_core::{ImageReference, Version};

use crate::build::Error;
use crate::build::assemble::{MediaTypes, PlatformImage};
use crate::build::base::Base;
use crate::build::layer::BlobStore;
use crate::build::tags::{self, MovingTag};
use crate::registry::{BlobTransfer, Registry};

/// How many blobs move at once.
const PARALLEL_TRANSFERS: usize = 4;

/// An image ready to publish.
#[derive(Debug, Clone)]
pub struct Built {
    /// Where it goes, without tag.
    pub repository: ImageReference,
    /// The base, if not scratch.
    pub base: Option<Base>,
    /// Every platform's image.
    pub platforms: Vec<PlatformImage>,
    /// The index.
    pub index: Vec<u8>,
    /// Its digest.
    pub index_digest: String,
    /// Media types.
    pub types: MediaTypes,
}

/// What moved where.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Transfers {
    /// Blobs uploaded from this machine.
    pub uploaded: usize,
    /// Bytes uploaded from this machine.
    pub uploaded_bytes: u64,
    /// Blobs mounted from the base's repository.
    pub mounted: usize,
    /// Blobs streamed from the base's registry.
    pub copied: usize,
    /// Blobs the repository had already.
    pub present: usize,
}

/// What happened to one tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TagResult {
    /// The tag.
    pub tag: String,
    /// `pushed`, or `unchanged` when it named this very index already.
    pub status: &'static str,
}

/// The outcome of a push.
#[derive(Debug, Clone, Serialize)]
pub struct Pushed {
    /// Blob transfers.
    pub transfers: Transfers,
    /// The immutable tags.
    pub tags: Vec<TagResult>,
    /// The moving tags.
    pub moving: Vec<MovingTag>,
}

/// What a push needs besides the image.
pub struct PushRequest<'a> {
    /// slipway's own layers, already uploaded (or found present) while they were built.
    pub transferred: &'a crate::build::Transferred,
    /// Tags that must never move.
    pub tags: &'a [String],
    /// Tags that follow the newest release.
    pub moving: &'a [String],
    /// The release built, if it is one.
    pub release: Option<&'a Version>,
    /// The image tag prefix, to recognise release tags.
    pub image_tag_prefix: &'a str,
    /// Overwrite immutable tags that name another digest.
    pub force: bool,
}

/// Pushes `image`: blobs, platform manifests, then tags.
pub async fn push(
    registry: &Registry,
    store: &BlobStore,
    image: &Built,
    request: &PushRequest<'_>,
) -> Result<Pushed, Error> {
    let repository = &image.repository;
    let mut existing: BTreeMap<String, Option<String>> = BTreeMap::new();
    for tag in request.tags {
        let current = registry.manifest_digest(&repository.with_tag(tag)).await?;
        if let Some(current) = &current
            && current != &image.index_digest
            && !request.force
        {
            return Err(Error::TagCollision {
                image: repository.with_tag(tag).to_string(),
                existing: current.clone(),
                new: image.index_digest.clone(),
            });
        }
        existing.insert(tag.clone(), current);
    }

    let transfers = push_blobs(registry, store, image, request.transferred).await?;

    for platform in &image.platforms {
        let by_digest = by_digest(repository, &platform.manifest_digest)?;
        if registry.manifest_digest(&by_digest).await?.is_none() {
            registry.push_manifest(&by_digest, image.types.manifest, platform.manifest.clone()).await?;
        }
    }

    let mut results = Vec::new();
    for tag in request.tags {
        let unchanged = existing.get(tag).and_then(Option::as_ref) == Some(&image.index_digest);
        if !unchanged {
            registry.push_manifest(&repository.with_tag(tag), image.types.index, image.index.clone()).await?;
        }
        results.push(TagResult { tag: tag.clone(), status: if unchanged { "unchanged" } else { "pushed" } });
    }

    let moving = if request.moving.is_empty() {
        Vec::new()
    } else {
        let existing_tags = registry.list_tags(repository).await?;
        let decisions = tags::moving(request.moving, request.release, &existing_tags, request.image_tag_prefix);
        for decision in decisions.iter().filter(|decision| decision.moved) {
            let target = repository.with_tag(&decision.tag);
            if registry.manifest_digest(&target).await?.as_ref() != Some(&image.index_digest) {
                registry.push_manifest(&target, image.types.index, image.index.clone()).await?;
            }
        }
        decisions
    };
    Ok(Pushed { transfers, tags: results, moving })
}

enum BlobJob<'a> {
    FromBase { base: &'a ImageReference, digest: &'a str, size: u64 },
    Local { path: PathBuf, size: u64 },
    Bytes(&'a [u8]),
}

async fn push_blobs(
    registry: &Registry,
    store: &BlobStore,
    image: &Built,
    transferred: &crate::build::Transferred,
) -> Result<Transfers, Error> {
    let mut jobs: Vec<BlobJob<'_>> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for platform in &image.platforms {
        for (position, layer) in platform.layers.iter().enumerate() {
            if !seen.insert(layer.digest.clone()) {
                continue;
            }
            match (&image.base, position < platform.base_layers) {
                (Some(base), true) => {
                    jobs.push(BlobJob::FromBase { base: &base.reference, digest: &layer.digest, size: layer.size });
                }
                _ => jobs.push(BlobJob::Local { path: store.path(&layer.digest), size: layer.size }),
            }
        }
        if seen.insert(platform.config_digest.clone()) {
            jobs.push(BlobJob::Bytes(&platform.config));
        }
    }
    let repository = &image.repository;
    let results: Vec<Result<(BlobTransfer, u64), Error>> = futures_util::stream::iter(jobs)
        .map(|job| async move {
            match job {
                BlobJob::FromBase { base, digest, size } => {
                    Ok((registry.copy_blob(base, repository, digest, size).await?, 0))
                }
                BlobJob::Local { path, size } => {
                    let digest = format!(
                        "sha256:{}",
                        path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default()
                    );
                    if let Some((transfer, size)) = transferred.get(&digest) {
                        return Ok((*transfer, if *transfer == BlobTransfer::Uploaded { *size } else { 0 }));
                    }
                    if registry.blob_exists(repository, &digest).await? {
                        return Ok((BlobTransfer::Present, 0));
                    }
                    registry.upload_file(repository, &path, &digest).await?;
                    Ok((BlobTransfer::Uploaded, size))
                }
                BlobJob::Bytes(bytes) => {
                    let (_, transfer) = registry.upload_blob(repository, bytes.to_vec()).await?;
                    Ok((transfer, bytes.len() as u64))
                }
            }
        })
        .buffer_unordered(PARALLEL_TRANSFERS)
        .collect()
        .await;
    let mut transfers = Transfers::default();
    for result in results {
        let (transfer, size) = result?;
        match transfer {
            BlobTransfer::Present => transfers.present += 1,
            BlobTransfer::Mounted => transfers.mounted += 1,
            BlobTransfer::Copied => transfers.copied += 1,
            BlobTransfer::Uploaded => {
                transfers.uploaded += 1;
                transfers.uploaded_bytes += size;
            }
        }
    }
    Ok(transfers)
}

fn by_digest(repository: &ImageReference, digest: &str) -> Result<ImageReference, Error> {
    ImageReference::parse(&format!("{}@{digest}", repository.name()))
        .map_err(|error| Error::Config { key: "images[].repository".to_owned(), message: error.to_string() })
}

/// Writes `image` into the OCI layout at `directory` under `tags` (merging with images already
/// there), fetching the base's layers into the blob store first.
pub async fn write_layout(
    registry: &Registry,
    store: &BlobStore,
    image: &Built,
    directory: &Path,
    tags: &[String],
) -> Result<(), Error> {
    if let Some(base) = &image.base {
        for platform in &image.platforms {
            for layer in &platform.layers[..platform.base_layers] {
                if !store.contains(&layer.digest) {
                    download(registry, store, &base.reference, &layer.digest).await?;
                }
            }
        }
    }
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    let blobs = directory.join("blobs/sha256");
    fs_err::create_dir_all(&blobs).map_err(io(&blobs))?;
    let mut digests: Vec<&str> = vec![image.index_digest.as_str()];
    for platform in &image.platforms {
        digests.push(&platform.manifest_digest);
        digests.push(&platform.config_digest);
        digests.extend(platform.layers.iter().map(|layer| layer.digest.as_str()));
    }
    for digest in digests {
        let target = blobs.join(digest.trim_start_matches("sha256:"));
        if target.exists() {
            continue;
        }
        let source = store.path(digest);
        if std::fs::hard_link(&source, &target).is_err() {
            fs_err::copy(&source, &target).map_err(io(&target))?;
        }
    }
    let layout = directory.join("oci-layout");
    fs_err::write(&layout, "{\"imageLayoutVersion\":\"1.0.0\"}").map_err(io(&layout))?;

    let index_path = directory.join("index.json");
    let mut manifests: Vec<serde_json::Value> = match fs_err::read(&index_path) {
        Ok(bytes) => serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|index| index.get("manifests").and_then(|manifests| manifests.as_array()).cloned())
            .unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    let ref_name = |entry: &serde_json::Value| {
        entry
            .pointer("/annotations/org.opencontainers.image.ref.name")
            .and_then(|name| name.as_str())
            .map(str::to_owned)
    };
    manifests.retain(|entry| ref_name(entry).is_none_or(|name| !tags.contains(&name)));
    for tag in tags {
        manifests.push(serde_json::json!({
            "mediaType": image.types.index,
            "digest": image.index_digest,
            "size": image.index.len(),
            "annotations": {"org.opencontainers.image.ref.name": tag},
        }));
    }
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": crate::manifest::OCI_INDEX,
        "manifests": manifests,
    });
    let temporary = directory.join(".index.json.slipway");
    fs_err::write(&temporary, serde_json::to_vec_pretty(&index).expect("JSON values serialise"))
        .map_err(io(&temporary))?;
    fs_err::rename(&temporary, &index_path).map_err(io(&index_path))?;
    Ok(())
}

/// Writes `image` as an OCI layout archive at `file` (replacing it whole), entries sorted and
/// stamped with `epoch` so the archive is reproducible too.
pub async fn write_archive(
    registry: &Registry,
    store: &BlobStore,
    image: &Built,
    file: &Path,
    tags: &[String],
    epoch: i64,
) -> Result<(), Error> {
    let parent = file.parent().filter(|parent| !parent.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let staging = tempfile::Builder::new()
        .prefix(".slipway-layout-")
        .tempdir_in(parent)
        .map_err(|source| Error::Io { path: parent.to_path_buf(), source })?;
    write_layout(registry, store, image, staging.path(), tags).await?;
    let temporary = parent.join(format!(
        ".{}.slipway",
        file.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default()
    ));
    let written = tar_directory(staging.path(), &temporary, epoch);
    if let Err(source) = written {
        let _ = fs_err::remove_file(&temporary);
        return Err(Error::Io { path: file.to_path_buf(), source });
    }
    fs_err::rename(&temporary, file).map_err(|source| Error::Io { path: file.to_path_buf(), source })
}

fn tar_directory(directory: &Path, destination: &Path, epoch: i64) -> std::io::Result<()> {
    let mut paths = Vec::new();
    let mut pending = vec![directory.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in fs_err::read_dir(&next)? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path.clone());
            }
            paths.push(path);
        }
    }
    paths.sort();
    let mut archive = tar::Builder::new(std::io::BufWriter::new(fs_err::File::create(destination)?));
    let mtime = u64::try_from(epoch).unwrap_or(0);
    for path in paths {
        let name = path.strip_prefix(directory).map_err(std::io::Error::other)?;
        let mut header = tar::Header::new_gnu();
        header.set_mtime(mtime);
        header.set_uid(0);
        header.set_gid(0);
        if path.is_dir() {
            header.set_entry_type(tar::EntryType::Directory);
            header.set_mode(0o755);
            header.set_size(0);
            archive.append_data(&mut header, format!("{}/", name.display()), std::io::empty())?;
        } else {
            let file = fs_err::File::open(&path)?;
            header.set_entry_type(tar::EntryType::Regular);
            header.set_mode(0o644);
            header.set_size(file.metadata()?.len());
            archive.append_data(&mut header, name, file)?;
        }
    }
    archive.into_inner()?.into_inner().map_err(std::io::IntoInnerError::into_error)?.sync_all()
}

async fn download(
    registry: &Registry,
    store: &BlobStore,
    repository: &ImageReference,
    digest: &str,
) -> Result<(), Error> {
    let mut stream = registry.blob_stream(repository, digest).await?;
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|source| crate::Error::Layer {
            reference: repository.to_string(),
            digest: digest.to_owned(),
            source,
        })?;
        bytes.extend_from_slice(&chunk);
    }
    let stored = store.put(&bytes).map_err(|source| Error::Io { path: store.path(digest), source })?;
    if stored != digest {
        return Err(Error::Registry(crate::Error::Invalid {
            reference: format!("{}@{digest}", repository.name()),
            message: format!("the blob's content has digest {stored}"),
        }));
    }
    Ok(())
}
