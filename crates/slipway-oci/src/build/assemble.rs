//! Putting an image together: each platform's config and manifest on top of its base, and the
//! index over them. Pure functions of their inputs, so the same inputs give the same digests.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value, json};
use slipway_core::Platform;

use crate::build::base::{Base, BasePlatform};
use crate::build::config::ImageSpec;
use crate::build::layer::BuiltLayer;
use crate::manifest::{
    DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, Descriptor, OCI_CONFIG, OCI_INDEX, OCI_LAYER_GZIP, OCI_MANIFEST,
    PlatformJson, sha256_digest,
};

/// Where the image comes from, written into labels and annotations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Provenance {
    /// `org.opencontainers.image.source`: the repository's web URL.
    pub source: Option<String>,
    /// `org.opencontainers.image.revision`: the commit.
    pub revision: Option<String>,
    /// `org.opencontainers.image.version`: the release or snapshot tag.
    pub version: Option<String>,
    /// `org.opencontainers.image.created`: the epoch, RFC 3339.
    pub created: String,
}

impl Provenance {
    fn entries(&self) -> BTreeMap<String, String> {
        let mut entries = BTreeMap::new();
        let mut add = |key: &str, value: &Option<String>| {
            if let Some(value) = value {
                entries.insert(format!("org.opencontainers.image.{key}"), value.clone());
            }
        };
        add("source", &self.source);
        add("revision", &self.revision);
        add("version", &self.version);
        add("created", &Some(self.created.clone()));
        entries
    }
}

/// The media types of an image being built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaTypes {
    /// Index.
    pub index: &'static str,
    /// Platform manifests.
    pub manifest: &'static str,
    /// Configs.
    pub config: &'static str,
    /// The layer slipway adds.
    pub layer: &'static str,
    /// Whether manifests and indexes can carry annotations.
    pub annotations: bool,
}

impl MediaTypes {
    /// OCI, or Docker when the base uses Docker media types.
    pub fn for_base(base: Option<&Base>) -> MediaTypes {
        if base.is_some_and(|base| base.docker) {
            MediaTypes {
                index: DOCKER_MANIFEST_LIST,
                manifest: DOCKER_MANIFEST,
                config: "application/vnd.docker.container.image.v1+json",
                layer: "application/vnd.docker.image.rootfs.diff.tar.gzip",
                annotations: false,
            }
        } else {
            MediaTypes {
                index: OCI_INDEX,
                manifest: OCI_MANIFEST,
                config: OCI_CONFIG,
                layer: OCI_LAYER_GZIP,
                annotations: true,
            }
        }
    }
}

/// One platform's image, serialised.
#[derive(Debug, Clone)]
pub struct PlatformImage {
    /// The platform.
    pub platform: Platform,
    /// Config JSON.
    pub config: Vec<u8>,
    /// Its digest.
    pub config_digest: String,
    /// Manifest JSON.
    pub manifest: Vec<u8>,
    /// Its digest.
    pub manifest_digest: String,
    /// Every layer, bottom first; the last is slipway's.
    pub layers: Vec<Descriptor>,
    /// How many of them come from the base.
    pub base_layers: usize,
}

impl PlatformImage {
    /// The image's size: config and layers.
    pub fn size(&self) -> u64 {
        self.config.len() as u64 + self.layers.iter().map(|layer| layer.size).sum::<u64>()
    }
}

/// Assembles one platform's config and manifest.
pub fn platform_image(
    spec: &ImageSpec,
    platform: &Platform,
    base: Option<(&Base, &BasePlatform)>,
    layer: &BuiltLayer,
    provenance: &Provenance,
    types: MediaTypes,
) -> PlatformImage {
    let config = config(spec, platform, base.map(|(_, part)| part), layer, provenance);
    let config_bytes = serde_json::to_vec(&config).expect("JSON values serialise");
    let config_digest = sha256_digest(&config_bytes);
    let mut layers: Vec<Descriptor> = base.map(|(_, part)| part.layers.clone()).unwrap_or_default();
    let base_layers = layers.len();
    layers.push(descriptor(types.layer, &layer.digest, layer.size));
    let mut manifest = Map::new();
    manifest.insert("schemaVersion".into(), json!(2));
    manifest.insert("mediaType".into(), json!(types.manifest));
    manifest.insert("config".into(), json!(descriptor(types.config, &config_digest, config_bytes.len() as u64)));
    manifest.insert("layers".into(), json!(layers));
    if types.annotations {
        let mut annotations = provenance.entries();
        if let Some((base, _)) = base {
            annotations.insert("org.opencontainers.image.base.name".into(), base.reference.to_string());
            annotations.insert("org.opencontainers.image.base.digest".into(), base.digest.clone());
        }
        annotations.extend(spec.annotations.clone());
        manifest.insert("annotations".into(), json!(annotations));
    }
    let manifest_bytes = serde_json::to_vec(&Value::Object(manifest)).expect("JSON values serialise");
    PlatformImage {
        platform: platform.clone(),
        manifest_digest: sha256_digest(&manifest_bytes),
        manifest: manifest_bytes,
        config_digest,
        config: config_bytes,
        layers,
        base_layers,
    }
}

/// The index over every platform's manifest; returns its bytes and digest.
pub fn index(
    spec: &ImageSpec,
    images: &[PlatformImage],
    provenance: &Provenance,
    types: MediaTypes,
) -> (Vec<u8>, String) {
    let manifests: Vec<Descriptor> = images
        .iter()
        .map(|image| Descriptor {
            media_type: types.manifest.to_owned(),
            digest: image.manifest_digest.clone(),
            size: image.manifest.len() as u64,
            platform: Some(PlatformJson::from(&image.platform)),
            annotations: BTreeMap::new(),
        })
        .collect();
    let mut index = Map::new();
    index.insert("schemaVersion".into(), json!(2));
    index.insert("mediaType".into(), json!(types.index));
    index.insert("manifests".into(), json!(manifests));
    if types.annotations {
        let mut annotations = provenance.entries();
        annotations.extend(spec.annotations.clone());
        index.insert("annotations".into(), json!(annotations));
    }
    let bytes = serde_json::to_vec(&Value::Object(index)).expect("JSON values serialise");
    let digest = sha256_digest(&bytes);
    (bytes, digest)
}

fn descriptor(media_type: &str, digest: &str, size: u64) -> Descriptor {
    Descriptor {
        media_type: media_type.to_owned(),
        digest: digest.to_owned(),
        size,
        platform: None,
        annotations: BTreeMap::new(),
    }
}

/// The config: the base's (unknown fields kept) with this image's settings, layer and history.
fn config(
    spec: &ImageSpec,
    platform: &Platform,
    base: Option<&BasePlatform>,
    layer: &BuiltLayer,
    provenance: &Provenance,
) -> Value {
    let mut config = match base.map(|part| &part.config) {
        Some(Value::Object(base)) => base.clone(),
        _ => Map::new(),
    };
    config.insert("architecture".into(), json!(platform.architecture));
    config.insert("os".into(), json!(platform.os));
    match &platform.variant {
        Some(variant) => config.insert("variant".into(), json!(variant)),
        None => config.remove("variant"),
    };
    config.insert("created".into(), json!(provenance.created));

    let mut run = match config.remove("config") {
        Some(Value::Object(run)) => run,
        _ => Map::new(),
    };
    if let Some(entrypoint) = &spec.entrypoint {
        run.insert("Entrypoint".into(), json!(entrypoint));
        // As in a Dockerfile: a new entrypoint drops the base's default arguments.
        if spec.cmd.is_none() {
            run.remove("Cmd");
        }
    }
    if let Some(cmd) = &spec.cmd {
        run.insert("Cmd".into(), json!(cmd));
    }
    if !spec.env.is_empty() {
        let mut env: Vec<String> = run
            .get("Env")
            .and_then(Value::as_array)
            .map(|entries| entries.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default();
        for (key, value) in &spec.env {
            let entry = format!("{key}={value}");
            match env.iter_mut().find(|existing| existing.split_once('=').is_some_and(|(name, _)| name == key)) {
                Some(existing) => *existing = entry,
                None => env.push(entry),
            }
        }
        run.insert("Env".into(), json!(env));
    }
    if let Some(user) = &spec.user {
        run.insert("User".into(), json!(user));
    }
    if let Some(workdir) = &spec.workdir {
        run.insert("WorkingDir".into(), json!(workdir));
    }
    let mut labels: BTreeMap<String, String> = run
        .get("Labels")
        .and_then(Value::as_object)
        .map(|labels| {
            labels.iter().filter_map(|(key, value)| Some((key.clone(), value.as_str()?.to_owned()))).collect()
        })
        .unwrap_or_default();
    labels.extend(spec.labels.clone());
    labels.extend(provenance.entries());
    run.insert("Labels".into(), json!(labels));
    config.insert("config".into(), Value::Object(run));

    let mut diff_ids: Vec<Value> =
        base.map(|part| part.parsed.rootfs.diff_ids.iter().map(|id| json!(id)).collect()).unwrap_or_default();
    diff_ids.push(json!(layer.diff_id));
    config.insert("rootfs".into(), json!({"type": "layers", "diff_ids": diff_ids}));

    let mut history: Vec<Value> = config.get("history").and_then(Value::as_array).cloned().unwrap_or_default();
    // Runtimes insist on one non-empty history entry per layer; a base that lacks them gets
    // them, or nothing could be built on top of this image.
    let base_layers = base.map_or(0, |part| part.parsed.rootfs.diff_ids.len());
    let non_empty =
        history.iter().filter(|entry| entry.get("empty_layer").and_then(Value::as_bool) != Some(true)).count();
    if non_empty != base_layers {
        history = (0..base_layers)
            .map(|_| json!({"created_by": "layer of the base image (its history was incomplete)"}))
            .collect();
    }
    let added: Vec<String> = spec.files.iter().map(|file| format!("/{}", file.path)).collect();
    history.push(json!({
        "created": provenance.created,
        "created_by": format!("slipway image build: add {}", added.join(", ")),
    }));
    config.insert("history".into(), json!(history));
    Value::Object(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::config::FileSpec;
    use slipway_core::ImageReference;

    fn spec() -> ImageSpec {
        ImageSpec {
            name: "app".into(),
            repository: ImageReference::parse("r.io/org/app").expect("valid"),
            platforms: vec![Platform::parse("linux/arm64").expect("valid")],
            base: None,
            build: None,
            files: vec![FileSpec { source: "out/{arch}/app".into(), path: "app".into(), mode: None, uid: 0, gid: 0 }],
            entrypoint: Some(vec!["/app".into()]),
            cmd: None,
            env: BTreeMap::from([("PATH".to_owned(), "/bin".to_owned()), ("MODE".to_owned(), "prod".to_owned())]),
            user: Some("65532".into()),
            workdir: None,
            labels: BTreeMap::from([("team".to_owned(), "sig-x".to_owned())]),
            annotations: BTreeMap::new(),
            moving_tags: Vec::new(),
            builder: None,
        }
    }

    fn layer() -> BuiltLayer {
        BuiltLayer { digest: "sha256:aa".into(), diff_id: "sha256:bb".into(), size: 10, cached: false }
    }

    fn provenance() -> Provenance {
        Provenance {
            source: Some("https://github.com/org/app".into()),
            revision: Some("abc".into()),
            version: Some("v1.0.0".into()),
            created: "2023-11-14T22:13:20Z".into(),
        }
    }

    #[test]
    fn the_base_config_is_kept_and_extended() {
        let base_config = json!({
            "architecture": "arm64", "os": "linux", "variant": "v8",
            "config": {"Env": ["PATH=/usr/bin", "HOME=/root"], "Cmd": ["sh"], "Labels": {"vendor": "base"}, "StopSignal": "SIGTERM"},
            "rootfs": {"type": "layers", "diff_ids": ["sha256:base"]},
            "history": [{"created_by": "base"}],
            "unknown": {"kept": true}
        });
        let part = BasePlatform {
            platform: Platform::parse("linux/arm64").expect("valid"),
            layers: vec![descriptor("application/vnd.oci.image.layer.v1.tar+gzip", "sha256:base-layer", 5)],
            parsed: serde_json::from_value(base_config.clone()).expect("a config"),
            config: base_config,
        };
        let base = Base {
            reference: ImageReference::parse("r.io/base:1").expect("valid"),
            digest: "sha256:cc".into(),
            docker: false,
            platforms: vec![part.clone()],
        };
        let image = platform_image(
            &spec(),
            &Platform::parse("linux/arm64").expect("valid"),
            Some((&base, &part)),
            &layer(),
            &provenance(),
            MediaTypes::for_base(Some(&base)),
        );
        let config: Value = serde_json::from_slice(&image.config).expect("JSON");
        assert_eq!(config["variant"], Value::Null, "the built platform has no variant");
        assert_eq!(config["config"]["Env"], json!(["PATH=/bin", "HOME=/root", "MODE=prod"]));
        assert_eq!(config["config"]["Cmd"], Value::Null, "a new entrypoint drops the base's cmd");
        assert_eq!(config["config"]["StopSignal"], "SIGTERM");
        assert_eq!(config["config"]["Labels"]["vendor"], "base");
        assert_eq!(config["config"]["Labels"]["org.opencontainers.image.revision"], "abc");
        assert_eq!(config["rootfs"]["diff_ids"], json!(["sha256:base", "sha256:bb"]));
        assert_eq!(config["history"].as_array().map(Vec::len), Some(2));
        let mut without_history = part;
        without_history.config.as_object_mut().expect("an object").remove("history");
        without_history.parsed.history.clear();
        let repaired = platform_image(
            &spec(),
            &Platform::parse("linux/arm64").expect("valid"),
            Some((&base, &without_history)),
            &layer(),
            &provenance(),
            MediaTypes::for_base(Some(&base)),
        );
        let repaired: Value = serde_json::from_slice(&repaired.config).expect("JSON");
        assert_eq!(
            repaired["history"].as_array().map(Vec::len),
            Some(2),
            "one entry per layer: {}",
            repaired["history"]
        );
        assert_eq!(config["unknown"]["kept"], true);
        let manifest: Value = serde_json::from_slice(&image.manifest).expect("JSON");
        assert_eq!(manifest["layers"].as_array().map(Vec::len), Some(2));
        assert_eq!(manifest["annotations"]["org.opencontainers.image.base.digest"], "sha256:cc");
        assert_eq!(image.base_layers, 1);
    }

    #[test]
    fn the_same_inputs_give_the_same_digests() {
        let platform = Platform::parse("linux/arm64").expect("valid");
        let types = MediaTypes::for_base(None);
        let first = platform_image(&spec(), &platform, None, &layer(), &provenance(), types);
        let second = platform_image(&spec(), &platform, None, &layer(), &provenance(), types);
        assert_eq!(first.manifest_digest, second.manifest_digest);
        let (_, index_a) = index(&spec(), std::slice::from_ref(&first), &provenance(), types);
        let (_, index_b) = index(&spec(), &[second], &provenance(), types);
        assert_eq!(index_a, index_b);
        let mut later = provenance();
        later.created = "2023-11-14T22:13:21Z".into();
        assert_ne!(
            platform_image(&spec(), &platform, None, &layer(), &later, types).manifest_digest,
            first.manifest_digest
        );
    }
}
