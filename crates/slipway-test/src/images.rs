//! Building and pushing test images: each platform a gzip layer holding an executable, an OCI
//! config and manifest, and an index over them; pushed blobs first, the index last.

use std::collections::BTreeMap;
use std::io::Write;

use slipway_core::{ImageReference, Platform};
use slipway_oci::Registry;
use slipway_oci::manifest::{
    Descriptor, ImageConfig, Index, Manifest, OCI_CONFIG, OCI_INDEX, OCI_LAYER_GZIP, OCI_MANIFEST, PlatformJson,
    REVISION, RootFs, RunConfig, sha256_digest,
};

use crate::elf;

/// One platform of a test image.
#[derive(Debug, Clone)]
pub struct PlatformImage {
    /// The platform in the index.
    pub platform: Platform,
    /// The architecture the executable inside is built for.
    pub binary_architecture: String,
    /// The platform the config declares (defaults to `platform`).
    pub config_platform: Option<Platform>,
    /// Where the executable is, and the entrypoint.
    pub entrypoint: String,
    /// `org.opencontainers.image.revision` label in the config.
    pub revision_label: Option<String>,
}

impl PlatformImage {
    /// A correct platform image: its binary matches, entrypoint `/app`.
    pub fn new(platform: &str) -> PlatformImage {
        let platform = Platform::parse(platform).expect("valid test platform");
        PlatformImage {
            binary_architecture: platform.architecture.clone(),
            platform,
            config_platform: None,
            entrypoint: "/app".to_owned(),
            revision_label: None,
        }
    }

    /// The same, holding a binary for another architecture (autoscaler#9226).
    pub fn with_binary(mut self, architecture: &str) -> PlatformImage {
        architecture.clone_into(&mut self.binary_architecture);
        self
    }

    /// The same, with a revision label.
    pub fn with_revision(mut self, revision: &str) -> PlatformImage {
        self.revision_label = Some(revision.to_owned());
        self
    }

    /// The same, with a config that declares another platform.
    pub fn with_config_platform(mut self, platform: &str) -> PlatformImage {
        self.config_platform = Some(Platform::parse(platform).expect("valid test platform"));
        self
    }
}

/// A multi-arch test image.
#[derive(Debug, Clone, Default)]
pub struct TestImage {
    /// The platforms, in index order.
    pub platforms: Vec<PlatformImage>,
    /// `org.opencontainers.image.revision` on the index.
    pub index_revision: Option<String>,
    /// Add a BuildKit-style `unknown/unknown` attestation entry.
    pub attestation: bool,
}

/// A gzip tar layer holding `files` (path, mode, contents), with fixed metadata.
pub fn layer(files: &[(&str, u32, &[u8])]) -> (Vec<u8>, String) {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, mode, contents) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(contents.len() as u64);
        header.set_mode(*mode);
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, path.trim_start_matches('/'), *contents).expect("append to layer");
    }
    let tar = builder.into_inner().expect("finish layer");
    let diff_id = sha256_digest(&tar);
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(&tar).expect("compress layer");
    (encoder.finish().expect("compress layer"), diff_id)
}

/// Pushes `image` to `reference` (a tag): blobs, platform manifests, then the index.
/// Returns the index digest.
///
/// # Panics
///
/// When the registry refuses anything.
pub async fn push(registry: &Registry, reference: &ImageReference, image: &TestImage) -> String {
    let mut entries = Vec::new();
    for platform_image in &image.platforms {
        let descriptor = push_platform(registry, reference, platform_image).await;
        entries.push(descriptor);
    }
    if image.attestation {
        let (layer_bytes, diff_id) = layer(&[("attestation.json", 0o644, b"{}")]);
        let config = ImageConfig {
            architecture: "unknown".into(),
            os: "unknown".into(),
            variant: None,
            config: None,
            rootfs: RootFs { kind: "layers".into(), diff_ids: vec![diff_id] },
        };
        let mut descriptor = push_manifest_for(registry, reference, &config, layer_bytes, BTreeMap::new()).await;
        descriptor.platform =
            Some(PlatformJson { architecture: "unknown".into(), os: "unknown".into(), variant: None });
        descriptor.annotations.insert("vnd.docker.reference.type".into(), "attestation-manifest".into());
        entries.push(descriptor);
    }
    let mut annotations = BTreeMap::new();
    if let Some(revision) = &image.index_revision {
        annotations.insert(REVISION.to_owned(), revision.clone());
    }
    let index = Index { schema_version: 2, media_type: Some(OCI_INDEX.to_owned()), manifests: entries, annotations };
    let bytes = serde_json::to_vec(&index).expect("serialise index");
    registry.push_manifest(reference, OCI_INDEX, bytes).await.expect("push index")
}

/// Pushes one platform image alone under `reference` (a single-platform tag, not an index).
pub async fn push_single(registry: &Registry, reference: &ImageReference, platform_image: &PlatformImage) -> String {
    let descriptor = push_platform(registry, reference, platform_image).await;
    let manifest =
        registry.fetch_manifest(reference, &descriptor.digest).await.expect("fetch the platform manifest back");
    let bytes = serde_json::to_vec(&manifest).expect("serialise manifest");
    registry.push_manifest(reference, OCI_MANIFEST, bytes).await.expect("push manifest by tag")
}

async fn push_platform(registry: &Registry, reference: &ImageReference, platform_image: &PlatformImage) -> Descriptor {
    let binary = elf::executable(&platform_image.binary_architecture);
    let (layer_bytes, diff_id) = layer(&[(&platform_image.entrypoint, 0o755, &binary)]);
    let declared = platform_image.config_platform.as_ref().unwrap_or(&platform_image.platform);
    let labels = platform_image
        .revision_label
        .as_ref()
        .map(|revision| BTreeMap::from([(REVISION.to_owned(), revision.clone())]));
    let config = ImageConfig {
        architecture: declared.architecture.clone(),
        os: declared.os.clone(),
        variant: declared.variant.clone(),
        config: Some(RunConfig {
            entrypoint: Some(vec![platform_image.entrypoint.clone()]),
            labels,
            ..RunConfig::default()
        }),
        rootfs: RootFs { kind: "layers".into(), diff_ids: vec![diff_id] },
    };
    let mut descriptor = push_manifest_for(registry, reference, &config, layer_bytes, BTreeMap::new()).await;
    descriptor.platform = Some((&platform_image.platform).into());
    descriptor
}

async fn push_manifest_for(
    registry: &Registry,
    reference: &ImageReference,
    config: &ImageConfig,
    layer_bytes: Vec<u8>,
    annotations: BTreeMap<String, String>,
) -> Descriptor {
    let config_bytes = serde_json::to_vec(config).expect("serialise config");
    let layer_size = layer_bytes.len() as u64;
    let config_size = config_bytes.len() as u64;
    let layer_digest = registry.push_blob(reference, layer_bytes).await.expect("push layer");
    let config_digest = registry.push_blob(reference, config_bytes).await.expect("push config");
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(OCI_MANIFEST.to_owned()),
        config: Descriptor {
            media_type: OCI_CONFIG.to_owned(),
            digest: config_digest,
            size: config_size,
            platform: None,
            annotations: BTreeMap::new(),
        },
        layers: vec![Descriptor {
            media_type: OCI_LAYER_GZIP.to_owned(),
            digest: layer_digest,
            size: layer_size,
            platform: None,
            annotations: BTreeMap::new(),
        }],
        annotations,
    };
    let bytes = serde_json::to_vec(&manifest).expect("serialise manifest");
    let size = bytes.len() as u64;
    let by_digest =
        ImageReference::parse(&format!("{}@{}", reference.name(), sha256_digest(&bytes))).expect("valid reference");
    let digest = registry.push_manifest(&by_digest, OCI_MANIFEST, bytes).await.expect("push manifest");
    Descriptor { media_type: OCI_MANIFEST.to_owned(), digest, size, platform: None, annotations: BTreeMap::new() }
}
