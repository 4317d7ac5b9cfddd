//! The programs test environments need on the machine: `kind`, and Docker or podman (whichever
//! works: a daemon that answers, not only a binary on PATH). Missing ones are errors that say
//! what to install.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use slipway_core::Version;

/// A container engine kind can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    Docker,
    Podman,
}

impl Engine {
    pub fn program(self) -> &'static str {
        match self {
            Engine::Docker => "docker",
            Engine::Podman => "podman",
        }
    }
}

/// Why a tool cannot be used.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ToolError {
    #[error(
        "no working Docker or podman on this machine{tried}: kind builds node images and runs clusters in containers; install docker.io (and start it: systemctl start docker) or podman"
    )]
    NoEngine { tried: String },
    #[error("SLIPWAY_CONTAINER_ENGINE is `{name}`; set it to docker or podman")]
    UnknownEngine { name: String },
    #[error(
        "kind is not installed (looked for `{program}`): install kind {wanted} (go install sigs.k8s.io/kind@{wanted}, or download https://kind.sigs.k8s.io/dl/{wanted}/kind-linux-{arch}), or name it with SLIPWAY_KIND"
    )]
    NoKind { program: String, wanted: String, arch: &'static str },
    #[error(
        "`{program} version` says {found}, but env.kind is {wanted}: install kind {wanted} (go install sigs.k8s.io/kind@{wanted}), or set env.kind to {found}"
    )]
    KindVersion { program: String, found: String, wanted: String },
}

impl ToolError {
    pub fn exit_code(&self) -> u8 {
        match self {
            ToolError::UnknownEngine { .. } => slipway_core::exit::USAGE,
            _ => slipway_core::exit::INFRASTRUCTURE,
        }
    }
}

/// The kind program: `SLIPWAY_KIND`, else `kind` on PATH.
pub fn kind_program() -> PathBuf {
    std::env::var_os("SLIPWAY_KIND")
        .filter(|value| !value.is_empty())
        .map_or_else(|| PathBuf::from("kind"), PathBuf::from)
}

/// The kubectl program: `SLIPWAY_KUBECTL`, else `kubectl` on PATH when there is one.
pub fn kubectl_program() -> Option<PathBuf> {
    if let Some(program) = std::env::var_os("SLIPWAY_KUBECTL").filter(|value| !value.is_empty()) {
        return Some(PathBuf::from(program));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|directory| directory.join("kubectl")).find(|candidate| candidate.is_file())
}

/// Checks that `program` is kind `wanted` (`v0.32.0`); a kind that is newer or older is an
/// error, since the release notes, the base image and the flags belong to one release.
pub async fn check_kind(program: &Path, wanted: &Version) -> Result<(), ToolError> {
    let wanted_tag = format!("v{wanted}");
    let no_kind = || ToolError::NoKind {
        program: program.display().to_string(),
        wanted: wanted_tag.clone(),
        arch: slipway_core::platform::host_architecture(),
    };
    let output = crate::process::output(program.as_os_str(), &["version"], &[]).await.ok_or_else(no_kind)?;
    let found = crate::kind::parse_kind_version_output(&output).ok_or_else(no_kind)?;
    if found.core() != wanted.core() || found.is_prerelease() != wanted.is_prerelease() {
        return Err(ToolError::KindVersion {
            program: program.display().to_string(),
            found: format!("v{found}"),
            wanted: wanted_tag,
        });
    }
    Ok(())
}

/// The container engine to use: `SLIPWAY_CONTAINER_ENGINE`, else Docker when its daemon answers
/// (kind's default), else podman when it works.
pub async fn engine() -> Result<Engine, ToolError> {
    let chosen = std::env::var("SLIPWAY_CONTAINER_ENGINE").ok().filter(|name| !name.is_empty());
    let candidates = match chosen.as_deref() {
        Some("docker") => vec![Engine::Docker],
        Some("podman") => vec![Engine::Podman],
        Some(other) => return Err(ToolError::UnknownEngine { name: other.to_owned() }),
        None => vec![Engine::Docker, Engine::Podman],
    };
    let mut tried = Vec::new();
    for engine in candidates {
        if crate::process::output(
            OsString::from(engine.program()).as_os_str(),
            &["info", "--format", "{{json .}}"],
            &[],
        )
        .await
        .is_some()
        {
            return Ok(engine);
        }
        tried.push(engine.program());
    }
    Err(ToolError::NoEngine { tried: format!(" (tried {})", tried.join(", ")) })
}

/// The environment kind runs with on `engine`: for podman, kind's provider switch, and for
/// builds (which call `docker` by name) a `docker` on PATH that runs podman.
pub fn kind_environment(engine: Engine, shim_directory: &Path) -> Vec<(OsString, OsString)> {
    match engine {
        Engine::Docker => Vec::new(),
        Engine::Podman => {
            let shim = shim_directory.join("docker");
            if !shim.exists() {
                let _ = fs_err::create_dir_all(shim_directory);
                let _ = fs_err::write(&shim, "#!/bin/sh\nexec podman \"$@\"\n");
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    let _ = fs_err::set_permissions(&shim, std::fs::Permissions::from_mode(0o755));
                }
            }
            let mut path = OsString::from(shim_directory.as_os_str());
            if let Some(existing) = std::env::var_os("PATH") {
                path.push(":");
                path.push(existing);
            }
            vec![("KIND_EXPERIMENTAL_PROVIDER".into(), "podman".into()), ("PATH".into(), path)]
        }
    }
}
