//! Resolving the jobs, the store and the artifact storage that `job`, `schedule` and `runs`
//! commands run on. Layers as everywhere: defaults, slipway.yaml, `SLIPWAY_*`, flags.

use std::path::{Path, PathBuf};

use slipway_jobs::Job;
use slipway_jobs::markers::MarkerSource;

use crate::config_file::Loaded;
use crate::errors::UsageError;

/// The project directory (see [`crate::config_file::load`]).
pub(crate) fn project(loaded: &Loaded) -> PathBuf {
    loaded.root.clone()
}

/// The jobs of slipway.yaml, checked; the first problem is reported at its line.
pub(crate) fn jobs(loaded: &Loaded) -> anyhow::Result<Vec<Job>> {
    let (jobs, problems) = slipway_jobs::resolve_all(&loaded.file.jobs);
    let Some(first) = problems.first() else {
        return Ok(jobs);
    };
    let more = match problems.len() {
        1 => String::new(),
        count => format!(" (and {} more; `slipway job lint` lists them all)", count - 1),
    };
    let message = format!("job `{}`: {}{more}", first.job, first.message);
    Err(match loaded.invalid_key(&first.key, &message) {
        Some(located) => located.into(),
        None => UsageError(format!("invalid `{}`: {message}", first.key)).into(),
    })
}

/// The store's URL: the flag (or SLIPWAY_DATABASE_URL), `store.url`, else the project's
/// SQLite file. A relative SQLite path in the file is relative to the project.
pub(crate) fn database_url(loaded: &Loaded, flag: Option<String>) -> String {
    if let Some(url) = flag {
        return url;
    }
    let project = project(loaded);
    match &loaded.file.store.url {
        Some(url) => match url.strip_prefix("sqlite:") {
            Some(path) if !path.starts_with('/') && !path.starts_with(":memory:") => {
                format!("sqlite:{}", project.join(path).display())
            }
            _ => url.clone(),
        },
        None => slipway_store::default_url(&project),
    }
}

/// The artifact storage URL: the flag (or SLIPWAY_ARTIFACTS), `artifacts.storage`, else
/// `.slipway/artifacts` in the project.
pub(crate) fn storage_url(loaded: &Loaded, flag: Option<String>) -> String {
    let project = project(loaded);
    let configured = flag.or_else(|| loaded.file.artifacts.storage.clone());
    match configured {
        Some(url) if url.contains("://") || Path::new(&url).is_absolute() => url,
        Some(relative) => project.join(relative).display().to_string(),
        None => project.join(".slipway").join("artifacts").display().to_string(),
    }
}

/// Where matrix markers are read and cached.
pub(crate) fn markers(loaded: &Loaded) -> MarkerSource {
    let cache = project(loaded).join(".slipway").join("cache").join("markers");
    MarkerSource::new(loaded.file.matrix.markers_url.as_deref(), Some(cache))
}

/// The local run directories (`.slipway/runs`).
pub(crate) fn runs_dir(loaded: &Loaded) -> PathBuf {
    project(loaded).join(".slipway").join("runs")
}

/// This machine's name, recorded as the owner of its runs.
pub(crate) fn host() -> String {
    fs_err::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}
