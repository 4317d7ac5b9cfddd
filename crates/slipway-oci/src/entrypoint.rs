//! Which binary an image runs, and whether it is built for the image's platform.
//!
//! One check serves `release verify` and `image verify` (layers streamed from a registry) and
//! `image build` (the layers it just built, on disk, over a base image's layers in a registry):
//! find the executable the runtime would start ([`crate::layers`]), read its ELF header, and
//! compare the machine with the platform. A `#!` script is judged by its interpreter.

use std::io::{self, Read};
use std::path::PathBuf;

use futures_util::TryStreamExt;
use slipway_core::elf::{ElfError, ElfHeader};
use slipway_core::platform::Architecture;
use slipway_core::{Finding, FindingKind, ImageReference, Platform};
use tokio_util::io::{StreamReader, SyncIoBridge};

use crate::error::Error;
use crate::layers::{self, LayerSource, Lookup};
use crate::manifest::ImageConfig;
use crate::registry::Registry;

/// Where one layer's bytes are.
#[derive(Debug, Clone)]
pub enum Layer {
    /// A blob in the registry, in the image's repository.
    Remote {
        /// Its digest.
        digest: String,
    },
    /// A file on disk.
    Local {
        /// Its path.
        path: PathBuf,
    },
}

/// The layers of one platform image, bottom first, and where to fetch the remote ones.
#[derive(Clone)]
pub struct ImageLayers {
    /// The registry client, for remote layers.
    pub registry: Option<Registry>,
    /// The repository remote layers are in.
    pub repository: Option<ImageReference>,
    /// The layers.
    pub layers: Vec<Layer>,
}

/// What the check found.
#[derive(Debug, Clone, Default)]
pub struct BinaryCheck {
    /// The executable the config names.
    pub executable: Option<String>,
    /// What its header (or its interpreter's) says, such as `/app: arm64 (ELF 64-bit LSB, EM_AARCH64)`.
    pub binary: Option<String>,
    /// Problems, for `subject` (an image reference or a name).
    pub findings: Vec<Finding>,
}

/// Finds the executable of `config` in `layers` and checks it is built for `platform`.
/// `subject` names the image in findings. Errors are failures to read layers, not findings.
pub async fn check(
    layers: ImageLayers,
    config: &ImageConfig,
    platform: &Platform,
    subject: &str,
) -> Result<BinaryCheck, Error> {
    let platform_text = platform.to_string();
    let mut result =
        BinaryCheck { executable: layers::executable(config).map(str::to_owned), ..BinaryCheck::default() };
    let Some(executable) = result.executable.clone() else {
        result.findings.push(
            Finding::in_registry(
                FindingKind::BinaryMissing,
                subject,
                Some(platform_text),
                "(no entrypoint or cmd)".into(),
                "an entrypoint".into(),
            )
            .with_message("the config does not say what the image runs, so its binary cannot be checked")
            .as_warning(),
        );
        return Ok(result);
    };
    if platform.os != "linux" {
        return Ok(result);
    }
    let run = config.config.clone();
    let mut candidates = layers::candidates(&executable, run.as_ref());
    let mut described = executable.clone();
    for _ in 0..2 {
        let (path, head) = match find(&layers, candidates.clone(), subject).await? {
            Lookup::Found { path, head } => (path, head),
            Lookup::NotFound | Lookup::LinkLoop { .. } => {
                result.findings.push(
                    Finding::in_registry(
                        FindingKind::BinaryMissing,
                        subject,
                        Some(platform_text),
                        format!("`{described}` is not in the image"),
                        format!("`{described}` in a layer"),
                    )
                    .with_message("the entrypoint does not exist in the merged layers"),
                );
                return Ok(result);
            }
        };
        match ElfHeader::parse(&head) {
            Ok(header) => {
                let expected = Architecture::from_goarch(&platform.architecture);
                let matches = expected
                    .is_some_and(|architecture| architecture.elf == (header.machine, header.class, header.endianness));
                if expected.is_some() && !matches {
                    result.findings.push(
                        Finding::in_registry(
                            FindingKind::BinaryArchitecture,
                            subject,
                            Some(platform_text),
                            header.to_string(),
                            platform.architecture.clone(),
                        )
                        .with_message(format!("`/{path}` is built for another architecture than its platform")),
                    );
                }
                result.binary = Some(format!("/{path}: {header}"));
                return Ok(result);
            }
            Err(ElfError::Script { interpreter }) => {
                // A script runs on its interpreter; check that binary instead.
                candidates = layers::interpreter_candidates(&interpreter, run.as_ref());
                described = interpreter.trim_start_matches("#!").split_whitespace().next().unwrap_or("").to_owned();
                if candidates.is_empty() {
                    break;
                }
            }
            Err(error) => {
                result.findings.push(
                    Finding::in_registry(
                        FindingKind::BinaryNotElf,
                        subject,
                        Some(platform_text),
                        format!("/{path}: {error}"),
                        format!("an ELF binary for {}", platform.architecture),
                    )
                    .with_message("the entrypoint is not a Linux executable"),
                );
                return Ok(result);
            }
        }
    }
    result.findings.push(
        Finding::in_registry(
            FindingKind::BinaryNotElf,
            subject,
            Some(platform_text),
            format!("`{executable}` runs a script whose interpreter is a script"),
            "an ELF binary".into(),
        )
        .with_message("the binary behind the entrypoint could not be identified")
        .as_warning(),
    );
    Ok(result)
}

struct Source {
    layers: ImageLayers,
    runtime: tokio::runtime::Handle,
}

impl LayerSource for Source {
    fn count(&self) -> usize {
        self.layers.layers.len()
    }

    fn open(&mut self, index: usize) -> io::Result<Box<dyn Read + '_>> {
        match &self.layers.layers[index] {
            Layer::Local { path } => Ok(Box::new(fs_err::File::open(path)?)),
            Layer::Remote { digest } => {
                let (Some(registry), Some(repository)) = (&self.layers.registry, &self.layers.repository) else {
                    return Err(io::Error::other("a remote layer without a registry"));
                };
                let stream =
                    self.runtime.block_on(registry.blob_stream(repository, digest)).map_err(io::Error::other)?;
                let reader = StreamReader::new(stream.map_err(io::Error::other));
                Ok(Box::new(SyncIoBridge::new_with_handle(reader, self.runtime.clone())))
            }
        }
    }
}

async fn find(layers: &ImageLayers, candidates: Vec<String>, subject: &str) -> Result<Lookup, Error> {
    search(layers, subject, move |source| layers::find(source, &candidates)).await
}

/// Looks up each of `paths` in the image's merged layers (each on its own; see
/// [`layers::find_each`]), streaming remote layers from the top and stopping once all are found.
pub async fn find_each(layers: &ImageLayers, paths: Vec<String>, subject: &str) -> Result<Vec<Lookup>, Error> {
    search(layers, subject, move |source| layers::find_each(source, &paths)).await
}

async fn search<T: Send + 'static>(
    layers: &ImageLayers,
    subject: &str,
    lookup: impl FnOnce(&mut dyn LayerSource) -> io::Result<T> + Send + 'static,
) -> Result<T, Error> {
    let mut source = Source { layers: layers.clone(), runtime: tokio::runtime::Handle::current() };
    let top = match layers.layers.last() {
        Some(Layer::Remote { digest }) => digest.clone(),
        Some(Layer::Local { path }) => path.display().to_string(),
        None => String::new(),
    };
    let layer_error = |source: io::Error| Error::Layer { reference: subject.to_owned(), digest: top.clone(), source };
    let result = tokio::task::spawn_blocking(move || lookup(&mut source))
        .await
        .map_err(|error| layer_error(io::Error::other(error)))?;
    result.map_err(|error| {
        if error.get_ref().is_some_and(|inner| inner.is::<Error>()) {
            let inner = error.into_inner().expect("checked above");
            return *inner.downcast::<Error>().expect("checked above");
        }
        layer_error(error)
    })
}
