//! Building and pushing test images: each platform a layer holding an executable, a config and
//! a manifest, and an index over them; blobs pushed first, the index last.

use std::collections::BTreeMap;
use std::io::Write;

use slipway_core::{ImageReference, Platform};
use slipway_oci::Registry;
use slipway_oci::manifest::{
    DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, Descriptor, ImageConfig, Index, Manifest, OCI_CONFIG, OCI_INDEX,
    OCI_LAYER_GZIP, OCI_MANIFEST, PlatformJson, REVISION, RootFs, RunConfig, sha256_digest,
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
    /// Publish with Docker media types (a manifest list), as `docker manifest create` does.
    pub docker_media_types: bool,
    /// Compress layers with zstd instead of gzip (OCI media types only).
    pub zstd: bool,
}

/// The media types an image is published with, and how its layers are compressed.
#[derive(Debug, Clone, Copy)]
struct Format {
    index: &'static str,
    manifest: &'static str,
    config: &'static str,
    layer: &'static str,
    zstd: bool,
}

impl TestImage {
    fn format(&self) -> Format {
        match (self.docker_media_types, self.zstd) {
            (true, _) => Format {
                index: DOCKER_MANIFEST_LIST,
                manifest: DOCKER_MANIFEST,
                config: "application/vnd.docker.container.image.v1+json",
                layer: "application/vnd.docker.image.rootfs.diff.tar.gzip",
                zstd: false,
            },
            (false, true) => Format {
                index: OCI_INDEX,
                manifest: OCI_MANIFEST,
                config: OCI_CONFIG,
                layer: "application/vnd.oci.image.layer.v1.tar+zstd",
                zstd: true,
            },
            (false, false) => Format {
                index: OCI_INDEX,
                manifest: OCI_MANIFEST,
                config: OCI_CONFIG,
                layer: OCI_LAYER_GZIP,
                zstd: false,
            },
        }
    }
}

/// A tar of `files` (path, mode, contents) with fixed metadata, and its diff id.
fn tar_of(files: &[(&str, u32, &[u8])]) -> (Vec<u8>, String) {
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
    (tar, diff_id)
}

/// A gzip tar layer holding `files`, and its diff id.
pub fn layer(files: &[(&str, u32, &[u8])]) -> (Vec<u8>, String) {
    let (tar, diff_id) = tar_of(files);
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(&tar).expect("compress layer");
    (encoder.finish().expect("compress layer"), diff_id)
}

/// A zstd tar layer holding `files`, and its diff id.
pub fn zstd_layer(files: &[(&str, u32, &[u8])]) -> (Vec<u8>, String) {
    let (tar, diff_id) = tar_of(files);
    (ruzstd::encoding::compress_to_vec(&tar[..], ruzstd::encoding::CompressionLevel::Fastest), diff_id)
}

/// Pushes `image` to `reference` (a tag): blobs, platform manifests, then the index.
/// Returns the index digest.
///
/// # Panics
///
/// When the registry refuses anything.
pub async fn push(registry: &Registry, reference: &ImageReference, image: &TestImage) -> String {
    let format = image.format();
    let mut entries = Vec::new();
    for platform_image in &image.platforms {
        entries.push(push_platform(registry, reference, platform_image, format).await);
    }
    if image.attestation {
        let (layer_bytes, diff_id) = layer(&[("attestation.json", 0o644, b"{}")]);
        let config = ImageConfig {
            architecture: "unknown".into(),
            os: "unknown".into(),
            variant: None,
            config: None,
            rootfs: RootFs { kind: "layers".into(), diff_ids: vec![diff_id] },
            history: vec![serde_json::json!({"created_by": "slipway-test"})],
        };
        let mut descriptor = push_manifest_for(registry, reference, &config, vec![layer_bytes], format).await;
        descriptor.platform =
            Some(PlatformJson { architecture: "unknown".into(), os: "unknown".into(), variant: None });
        descriptor.annotations.insert("vnd.docker.reference.type".into(), "attestation-manifest".into());
        entries.push(descriptor);
    }
    let mut annotations = BTreeMap::new();
    if let Some(revision) = &image.index_revision {
        annotations.insert(REVISION.to_owned(), revision.clone());
    }
    let index = Index { schema_version: 2, media_type: Some(format.index.to_owned()), manifests: entries, annotations };
    let bytes = serde_json::to_vec(&index).expect("serialise index");
    registry.push_manifest(reference, format.index, bytes).await.expect("push index")
}

/// Pushes one platform image alone under `reference` (a single-platform tag, not an index).
pub async fn push_single(registry: &Registry, reference: &ImageReference, platform_image: &PlatformImage) -> String {
    let format = TestImage::default().format();
    let descriptor = push_platform(registry, reference, platform_image, format).await;
    tag_manifest(registry, reference, &descriptor, format).await
}

/// Tags the manifest `descriptor` points at (pushed by digest) as `reference`; returns its
/// digest.
async fn tag_manifest(
    registry: &Registry,
    reference: &ImageReference,
    descriptor: &Descriptor,
    format: Format,
) -> String {
    let manifest =
        registry.fetch_manifest(reference, &descriptor.digest).await.expect("fetch the platform manifest back");
    let bytes = serde_json::to_vec(&manifest).expect("serialise manifest");
    registry.push_manifest(reference, format.manifest, bytes).await.expect("push manifest by tag")
}

async fn push_platform(
    registry: &Registry,
    reference: &ImageReference,
    platform_image: &PlatformImage,
    format: Format,
) -> Descriptor {
    let binary = elf::executable(&platform_image.binary_architecture);
    let files = [(platform_image.entrypoint.as_str(), 0o755, binary.as_slice())];
    let (layer_bytes, diff_id) = if format.zstd { zstd_layer(&files) } else { layer(&files) };
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
        history: vec![serde_json::json!({"created_by": "slipway-test"})],
    };
    let mut descriptor = push_manifest_for(registry, reference, &config, vec![layer_bytes], format).await;
    descriptor.platform = Some((&platform_image.platform).into());
    descriptor
}

async fn push_manifest_for(
    registry: &Registry,
    reference: &ImageReference,
    config: &ImageConfig,
    layers: Vec<Vec<u8>>,
    format: Format,
) -> Descriptor {
    let config_bytes = serde_json::to_vec(config).expect("serialise config");
    let config_size = config_bytes.len() as u64;
    let descriptor = |media_type: &str, digest: String, size: u64| Descriptor {
        media_type: media_type.to_owned(),
        digest,
        size,
        platform: None,
        annotations: BTreeMap::new(),
    };
    let mut pushed = Vec::new();
    for bytes in layers {
        let size = bytes.len() as u64;
        let digest = registry.push_blob(reference, bytes).await.expect("push layer");
        pushed.push(descriptor(format.layer, digest, size));
    }
    let config_digest = registry.push_blob(reference, config_bytes).await.expect("push config");
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(format.manifest.to_owned()),
        config: descriptor(format.config, config_digest, config_size),
        layers: pushed,
        annotations: BTreeMap::new(),
    };
    let bytes = serde_json::to_vec(&manifest).expect("serialise manifest");
    let size = bytes.len() as u64;
    let by_digest =
        ImageReference::parse(&format!("{}@{}", reference.name(), sha256_digest(&bytes))).expect("valid reference");
    let digest = registry.push_manifest(&by_digest, format.manifest, bytes).await.expect("push manifest");
    descriptor(format.manifest, digest, size)
}

/// Pushes a base image to `reference`: for linux/amd64, Debian's static busybox at
/// `/bin/busybox` with `sh`, `echo`, `cat`, `mkdir`, `cp` and `ls` linked to it; for linux/arm64, a small arm64
/// executable in its place. `PATH=/bin` and `Cmd ["sh"]`, as a busybox image has.
/// Returns the index digest.
///
/// # Panics
///
/// When busybox-static is not installed or the registry refuses anything.
pub async fn push_busybox_base(registry: &Registry, reference: &ImageReference) -> String {
    let busybox = fs_err::read("/bin/busybox").expect("busybox-static is installed by scripts/test-services.sh");
    let format = TestImage::default().format();
    let mut entries = Vec::new();
    for (platform, binary) in [("linux/amd64", busybox), ("linux/arm64", elf::executable("arm64"))] {
        let (layer_bytes, diff_id) = busybox_layer(&binary);
        let platform = Platform::parse(platform).expect("valid platform");
        let config = ImageConfig {
            architecture: platform.architecture.clone(),
            os: platform.os.clone(),
            variant: None,
            config: Some(RunConfig {
                cmd: Some(vec!["sh".into()]),
                env: Some(vec!["PATH=/bin".into()]),
                ..RunConfig::default()
            }),
            rootfs: RootFs { kind: "layers".into(), diff_ids: vec![diff_id] },
            history: vec![serde_json::json!({"created_by": "slipway-test"})],
        };
        let mut descriptor = push_manifest_for(registry, reference, &config, vec![layer_bytes], format).await;
        descriptor.platform = Some((&platform).into());
        entries.push(descriptor);
    }
    let index = Index {
        schema_version: 2,
        media_type: Some(OCI_INDEX.to_owned()),
        manifests: entries,
        annotations: BTreeMap::new(),
    };
    let bytes = serde_json::to_vec(&index).expect("serialise index");
    registry.push_manifest(reference, OCI_INDEX, bytes).await.expect("push index")
}

fn busybox_layer(binary: &[u8]) -> (Vec<u8>, String) {
    let mut builder = tar::Builder::new(Vec::new());
    let mut directory = tar::Header::new_gnu();
    directory.set_entry_type(tar::EntryType::Directory);
    directory.set_mode(0o755);
    directory.set_size(0);
    builder.append_data(&mut directory, "bin/", std::io::empty()).expect("append directory");
    let mut file = tar::Header::new_gnu();
    file.set_entry_type(tar::EntryType::Regular);
    file.set_mode(0o755);
    file.set_size(binary.len() as u64);
    builder.append_data(&mut file, "bin/busybox", binary).expect("append busybox");
    for applet in ["sh", "echo", "cat", "mkdir", "cp", "ls"] {
        let mut link = tar::Header::new_gnu();
        link.set_entry_type(tar::EntryType::Symlink);
        link.set_size(0);
        builder.append_link(&mut link, format!("bin/{applet}"), "busybox").expect("append link");
    }
    let tar = builder.into_inner().expect("finish layer");
    let diff_id = sha256_digest(&tar);
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(&tar).expect("compress layer");
    (encoder.finish().expect("compress layer"), diff_id)
}

/// One platform of a kind node image as tests build it: a base layer, then a layer with
/// `/kind/version` and `kubelet`, `kubeadm` and `kubectl` in `/usr/bin`.
#[derive(Debug, Clone)]
pub struct NodePlatform {
    /// The platform's architecture (index entry and config).
    pub arch: String,
    /// The architecture the binaries are built for.
    pub binaries: String,
    /// What `/kind/version` holds; `None` leaves the file out.
    pub kind_version: Option<String>,
}

impl NodePlatform {
    /// A correct platform of a node image of `kubernetes`.
    pub fn new(arch: &str, kubernetes: &str) -> NodePlatform {
        NodePlatform { arch: arch.to_owned(), binaries: arch.to_owned(), kind_version: Some(kubernetes.to_owned()) }
    }
}

/// Pushes a node-image-shaped multi-arch image to `reference`; returns the index digest.
///
/// # Panics
///
/// When the registry refuses anything.
pub async fn push_node_image(registry: &Registry, reference: &ImageReference, platforms: &[NodePlatform]) -> String {
    let format = TestImage::default().format();
    let mut entries = Vec::new();
    for platform in platforms {
        let descriptor = push_node_platform(registry, reference, platform, format).await;
        entries.push(descriptor);
    }
    let index = Index {
        schema_version: 2,
        media_type: Some(format.index.to_owned()),
        manifests: entries,
        annotations: BTreeMap::new(),
    };
    let bytes = serde_json::to_vec(&index).expect("serialise index");
    registry.push_manifest(reference, format.index, bytes).await.expect("push index")
}

/// Pushes one platform of a node image alone under `reference` (a tag); returns its digest.
///
/// # Panics
///
/// When the registry refuses anything.
pub async fn push_single_node_image(
    registry: &Registry,
    reference: &ImageReference,
    platform: &NodePlatform,
) -> String {
    let format = TestImage::default().format();
    let descriptor = push_node_platform(registry, reference, platform, format).await;
    tag_manifest(registry, reference, &descriptor, format).await
}

async fn push_node_platform(
    registry: &Registry,
    reference: &ImageReference,
    platform: &NodePlatform,
    format: Format,
) -> Descriptor {
    let (base, base_diff) = layer(&[("etc/os-release", 0o644, b"PRETTY_NAME=\"kind base (test)\"\n")]);
    let binary = elf::executable(&platform.binaries);
    let version = platform.kind_version.as_ref().map(|version| format!("{version}\n"));
    let mut files: Vec<(&str, u32, &[u8])> = vec![
        ("usr/bin/kubelet", 0o755, binary.as_slice()),
        ("usr/bin/kubeadm", 0o755, binary.as_slice()),
        ("usr/bin/kubectl", 0o755, binary.as_slice()),
    ];
    if let Some(version) = &version {
        files.push(("kind/version", 0o644, version.as_bytes()));
    }
    let (top, top_diff) = layer(&files);
    let config = ImageConfig {
        architecture: platform.arch.clone(),
        os: "linux".into(),
        variant: None,
        config: Some(RunConfig {
            entrypoint: Some(vec!["/usr/local/bin/entrypoint".into(), "/sbin/init".into()]),
            ..RunConfig::default()
        }),
        rootfs: RootFs { kind: "layers".into(), diff_ids: vec![base_diff, top_diff] },
        history: vec![serde_json::json!({"created_by": "slipway-test"})],
    };
    let mut descriptor = push_manifest_for(registry, reference, &config, vec![base, top], format).await;
    descriptor.platform = Some(PlatformJson { architecture: platform.arch.clone(), os: "linux".into(), variant: None });
    descriptor
}
