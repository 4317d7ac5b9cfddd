//! Building the node images nobody published: `kind build node-image` for each missing
//! (version, architecture), several at once within `env.parallel`, each pushed to
//! `env.registry` under `<kubernetes>-kind-<kind>-<arch>`, verified before it counts, and joined
//! into a multi-arch index `<kubernetes>-kind-<kind>` when several architectures were asked for.
//!
//! Each build's output goes to `.slipway/env/builds/<tag>.log`, which is kept; a failed build's
//! error names it and quotes its last lines.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use slipway_core::progress::Progress;

use slipway_core::{ImageReference, Version};
use slipway_oci::manifest::{self, Descriptor, Document, Index, PlatformJson};

use crate::kind::{self, BuildSource};
use crate::node_image::{self, NodeImage, Source, Sources};
use crate::tools::{self, Engine};

/// How builds run.
#[derive(Debug, Clone)]
pub struct Builder {
    pub kind_program: PathBuf,
    pub kind: Version,
    pub engine: Engine,
    /// `--base-image`, when configured.
    pub base_image: Option<String>,
    /// Where build logs go (`.slipway/env/builds`).
    pub logs: PathBuf,
    /// Builds at once.
    pub parallel: usize,
    /// Where built images are pushed.
    pub registry: ImageReference,
    /// Push without TLS verification (podman only; Docker has its own daemon setting).
    pub plain_http: bool,
}

/// Why a build did not give a node image.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    TooOld(#[from] kind::KindTooOld),
    #[error("`kind {args}` failed ({status}); its output is in {}:\n{tail}", log.display())]
    Kind { args: String, status: String, log: PathBuf, tail: String },
    #[error("could not start `{program}`: {reason}")]
    Spawn { program: String, reason: String },
    #[error("`{program} push {image}` failed ({status}); the registry refused the image or cannot be reached. Output in {}:\n{tail}", log.display())]
    Push { program: String, image: String, status: String, log: PathBuf, tail: String },
    #[error("{0}")]
    Registry(String),
    #[error("the image built is not a valid node image: {0}")]
    Verify(String),
}

impl BuildError {
    pub fn exit_code(&self) -> u8 {
        match self {
            BuildError::TooOld(_) => slipway_core::exit::USAGE,
            BuildError::Verify(_) => slipway_core::exit::CHECK_FAILED,
            _ => slipway_core::exit::INFRASTRUCTURE,
        }
    }
}

impl Builder {
    /// The default base image of this kind (what `kind build node-image --help` names), for
    /// the record.
    pub async fn base_image(&self, environment: &[(OsString, OsString)]) -> Option<String> {
        if let Some(base) = &self.base_image {
            return Some(base.clone());
        }
        let help =
            crate::process::output(self.kind_program.as_os_str(), &["build", "node-image", "--help"], environment)
                .await?;
        kind::default_base_image(&help)
    }

    /// Builds every image in `images` that is missing with a build to do; the others are left
    /// as they are. Returns each build's failure by position (the image stays missing, with the
    /// reason).
    pub async fn build_all(&self, sources: &Sources, images: &mut [NodeImage], progress: &dyn Progress) {
        let wanted = images.iter().filter(|image| image.build.is_some()).count();
        progress.begin(wanted as u64, "building node images");
        let environment = tools::kind_environment(self.engine, &self.logs.join("bin"));
        let base_image = self.base_image(&environment).await;
        let permits = Arc::new(tokio::sync::Semaphore::new(self.parallel.max(1)));
        let work = images.iter().enumerate().filter_map(|(position, image)| {
            let source = image.build.clone()?;
            let permits = permits.clone();
            let image = image.clone();
            let environment = environment.clone();
            let base_image = base_image.clone();
            Some(async move {
                // The semaphore is never closed, so a permit always comes.
                let _permit = permits.acquire().await.ok();
                let started = Instant::now();
                let result = self.build_one(sources, &image, &source, &environment).await;
                let mut image = image;
                match result {
                    Ok(pinned) => {
                        image.image = Some(pinned);
                        image.source = Source::Built;
                        image.reason = None;
                        image.exit_code = slipway_core::exit::SUCCESS;
                        image.built_from = Some(source.describe());
                        image.base_image.clone_from(&base_image);
                    }
                    Err(error) => {
                        image.reason = Some(slipway_core::errors::chain(&error));
                        image.exit_code = error.exit_code();
                    }
                }
                image.build = None;
                let outcome = if image.source == Source::Built { "built" } else { "failed" };
                progress.advance(&format!(
                    "{} {} {outcome} in {}s",
                    image.kubernetes.as_deref().unwrap_or(&image.entry),
                    image.arch,
                    started.elapsed().as_secs()
                ));
                (position, image)
            })
        });
        for (position, image) in futures_util::future::join_all(work).await {
            images[position] = image;
        }
        progress.end();
    }

    async fn build_one(
        &self,
        sources: &Sources,
        image: &NodeImage,
        source: &BuildSource,
        environment: &[(OsString, OsString)],
    ) -> Result<String, BuildError> {
        let tag = node_image::built_tag(source.version(), &image.kind, Some(&image.arch));
        let target = self.registry.with_tag(&tag);
        let args = kind::build_args(&self.kind, source, &image.arch, target.as_str(), self.base_image.as_deref())?;
        let _ = fs_err::create_dir_all(&self.logs);
        let log = self.logs.join(format!("{tag}.log"));
        let status = crate::process::logged(self.kind_program.as_os_str(), &args, environment, &log)
            .await
            .map_err(|reason| BuildError::Spawn { program: self.kind_program.display().to_string(), reason })?;
        if !status.success() {
            let mut tail = crate::process::tail(&log);
            if let Some(hint) = cross_build_hint(&image.arch) {
                tail.push_str(&format!("\n{hint}"));
            }
            return Err(BuildError::Kind {
                args: args.join(" "),
                status: crate::process::describe(status),
                log: log.clone(),
                tail,
            });
        }
        let mut push: Vec<String> = vec!["push".into()];
        if self.engine == Engine::Podman && self.plain_http {
            push.push("--tls-verify=false".into());
        }
        push.push(target.as_str().to_owned());
        let program = OsString::from(self.engine.program());
        let status = crate::process::logged(&program, &push, environment, &log)
            .await
            .map_err(|reason| BuildError::Spawn { program: self.engine.program().to_owned(), reason })?;
        if !status.success() {
            return Err(BuildError::Push {
                program: self.engine.program().to_owned(),
                image: target.as_str().to_owned(),
                status: crate::process::describe(status),
                log: log.clone(),
                tail: crate::process::tail(&log),
            });
        }
        let digest = sources
            .registry
            .manifest_digest(&target)
            .await
            .map_err(|error| BuildError::Registry(slipway_core::errors::chain(&error)))?
            .ok_or_else(|| {
                BuildError::Registry(format!("{} is not in the registry after the push", target.as_str()))
            })?;
        let pinned = format!("{}@{digest}", target.as_str());
        node_image::check_built(sources, &pinned, source.version(), &image.arch)
            .await
            .map_err(|(reason, _)| BuildError::Verify(reason))?;
        Ok(pinned)
    }
}

/// What to do when a build for another architecture than this machine's fails and the kernel
/// cannot run that architecture's binaries (kind runs the base image of the target
/// architecture during the build).
fn cross_build_hint(arch: &str) -> Option<String> {
    if arch == slipway_core::platform::host_architecture() {
        return None;
    }
    let qemu = match arch {
        "amd64" => "x86_64",
        "arm64" => "aarch64",
        other => other,
    };
    let registered = std::path::Path::new("/proc/sys/fs/binfmt_misc").join(format!("qemu-{qemu}"));
    (!registered.exists()).then(|| {
        format!(
            "building for {arch} on this {} machine needs qemu binfmt, and {} is missing: docker run --privileged --rm tonistiigi/binfmt --install {arch}",
            slipway_core::platform::host_architecture(),
            registered.display()
        )
    })
}

/// Pushes a multi-arch index for every entry whose architectures all resolved from
/// `registry` (built now or earlier), and returns the indexes by entry.
pub async fn push_indexes(
    sources: &Sources,
    registry: &ImageReference,
    images: &[NodeImage],
) -> Vec<(String, Result<String, String>)> {
    let mut entries: Vec<&str> = images.iter().map(|image| image.entry.as_str()).collect();
    entries.dedup();
    let mut pushed = Vec::new();
    for entry in entries {
        let members: Vec<&NodeImage> = images.iter().filter(|image| image.entry == entry).collect();
        let ours = members.iter().all(|image| {
            matches!(image.source, Source::Built | Source::Registry)
                || (image.source == Source::Lock
                    && matches!(image.locked_source.as_deref(), Some("built" | "registry")))
        });
        if members.len() < 2 || !ours || !members.iter().any(|image| image.source == Source::Built) {
            continue;
        }
        let result = push_index(sources, registry, &members).await;
        pushed.push((entry.to_owned(), result));
    }
    pushed
}

async fn push_index(sources: &Sources, registry: &ImageReference, members: &[&NodeImage]) -> Result<String, String> {
    let mut descriptors = Vec::new();
    for member in members {
        let pinned = member.image.as_deref().unwrap_or_default();
        let reference = ImageReference::parse(pinned).map_err(|error| error.to_string())?;
        let fetched = sources.registry.fetch(&reference).await.map_err(|error| slipway_core::errors::chain(&error))?;
        if !matches!(fetched.document, Document::Manifest(_)) {
            return Err(format!("{pinned} is an index, not one platform's image"));
        }
        descriptors.push(Descriptor {
            media_type: fetched.media_type.clone(),
            digest: fetched.digest.clone(),
            size: fetched.size,
            platform: Some(PlatformJson { architecture: member.arch.clone(), os: "linux".into(), variant: None }),
            annotations: Default::default(),
        });
    }
    let index = Index {
        schema_version: 2,
        media_type: Some(manifest::OCI_INDEX.into()),
        manifests: descriptors,
        annotations: Default::default(),
    };
    let bytes = serde_json::to_vec(&index).map_err(|error| error.to_string())?;
    let first = members[0];
    let tag = node_image::built_tag(first.kubernetes.as_deref().unwrap_or_default(), &first.kind, None);
    let target = registry.with_tag(&tag);
    let digest = sources
        .registry
        .push_manifest(&target, manifest::OCI_INDEX, bytes)
        .await
        .map_err(|error| slipway_core::errors::chain(&error))?;
    Ok(format!("{}@{digest}", target.as_str()))
}
