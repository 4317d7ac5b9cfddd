//! The settings of the `job`, `schedule`, `runs`, `marker` and `results` commands, resolved
//! once into typed values. Layers as everywhere: defaults, slipway.yaml, `SLIPWAY_*`, flags.
//! Command files take these values and never read the configuration themselves.

use std::path::{Path, PathBuf};

use slipway_env::markers::MarkerSource;
use slipway_jobs::Job;
use slipway_jobs::exec;
use slipway_prow::{JobType, Location, NotRunnable, ProwConfig, Runnable};

use crate::cli::RegistryArgs;
use crate::cli_jobs::{DatabaseArgs, StateArgs, StorageArgs};
use crate::config_file::{Globals, Loaded};
use crate::errors::UsageError;
use crate::warnings::Warning;

/// The store and the artifact storage, by URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct State {
    /// `sqlite:PATH` or `postgres://...`.
    pub(crate) database_url: String,
    /// A directory, `s3://`, `gs://` or `az://`.
    pub(crate) storage_url: String,
}

/// Where a job comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origin {
    /// `jobs:` in slipway.yaml.
    SlipwayYaml,
    /// Prow job config, read in place.
    Prow { job_type: JobType, repo: Option<String>, location: Location },
}

/// A job a command can run, with where it comes from and what will not be as on Prow.
#[derive(Debug, Clone)]
pub(crate) struct CatalogJob {
    pub(crate) job: Job,
    pub(crate) origin: Origin,
    pub(crate) notes: Vec<String>,
}

/// Every job the project has: slipway.yaml's, and Prow's when Prow config is given
/// (`--prow-config` or `prow.config`).
#[derive(Debug, Default)]
pub(crate) struct Catalog {
    pub(crate) jobs: Vec<CatalogJob>,
    /// Prow jobs that cannot run here, with why.
    pub(crate) not_runnable: Vec<NotRunnable>,
    /// The Prow config read, if any, and the paths it was read from.
    pub(crate) prow: Option<(ProwConfig, Vec<PathBuf>)>,
    /// `--prow-config` was given: the jobs are Prow's only.
    pub(crate) prow_only: bool,
}

impl Catalog {
    /// The job named `name`; an unknown name or one that several jobs share is the user's error.
    pub(crate) fn find(&self, name: &str) -> Result<&CatalogJob, UsageError> {
        let matching: Vec<&CatalogJob> = self.jobs.iter().filter(|entry| entry.job.name == name).collect();
        if let [one] = matching.as_slice() {
            return Ok(one);
        }
        if matching.len() > 1 {
            let places: Vec<String> = matching.iter().map(|entry| describe_origin(&entry.origin)).collect();
            return Err(UsageError(format!("several jobs are named `{name}`: {}", places.join("; "))));
        }
        if let Some(unrunnable) = self.not_runnable.iter().find(|job| job.name == name) {
            return Err(UsageError(unrunnable.to_string()));
        }
        let names: Vec<&str> = self.jobs.iter().map(|entry| entry.job.name.as_str()).collect();
        Err(UsageError(match (&self.prow, self.prow_only) {
            (Some((config, paths)), only_prow) => format!(
                "no {} named `{name}` in {} (it has {} jobs)",
                if only_prow { "Prow job" } else { "job" },
                if only_prow { String::new() } else { "slipway.yaml or ".to_owned() }
                    + &paths.iter().map(|path| path.display().to_string()).collect::<Vec<_>>().join(", "),
                config.jobs.len()
            ),
            (None, _) if names.is_empty() => format!(
                "no job named `{name}`: slipway.yaml has no jobs (add a `jobs:` section, or read Prow jobs with --prow-config)"
            ),
            (None, _) => format!("no job named `{name}` in slipway.yaml; its jobs are {}", names.join(", ")),
        }))
    }

    /// The jobs with a schedule: slipway.yaml's, and Prow's periodics (their `cron` is UTC, as
    /// on Prow); Prow periodics that cannot run are warnings.
    pub(crate) fn scheduled(&self) -> (Vec<Job>, Vec<Warning>) {
        let jobs =
            self.jobs.iter().filter(|entry| entry.job.schedule.is_some()).map(|entry| entry.job.clone()).collect();
        let warnings = self
            .not_runnable
            .iter()
            .filter(|job| job.job_type == JobType::Periodic)
            .cloned()
            .map(Warning::NotRunnable)
            .collect();
        (jobs, warnings)
    }
}

/// `slipway.yaml` or `file:line` for people.
pub(crate) fn describe_origin(origin: &Origin) -> String {
    match origin {
        Origin::SlipwayYaml => "slipway.yaml".to_owned(),
        Origin::Prow { job_type, location, .. } => format!("a Prow {} at {location}", job_type.as_str()),
    }
}

/// Everything `job list` runs on.
pub(crate) struct ListSettings {
    pub(crate) catalog: Catalog,
    pub(crate) warnings: Vec<Warning>,
}

/// Everything `job run`, `job affected` and `schedule` run on.
pub(crate) struct RunSettings {
    pub(crate) catalog: Catalog,
    /// The project directory: jobs without refs run here, `job affected` reads its changes.
    pub(crate) project: PathBuf,
    /// `project.repository`, if set.
    pub(crate) repository: Option<String>,
    pub(crate) state: State,
    pub(crate) markers: MarkerSource,
    /// The local run directories (`.slipway/runs`).
    pub(crate) runs_dir: PathBuf,
    pub(crate) executors: exec::Settings,
    /// What `schedule` keeps of old runs (`runs:`).
    pub(crate) retention: slipway_jobs::retention::Retention,
    /// Where jobs take their leases: `leases.server`, else `$BOSKOS_HOST`.
    pub(crate) leases: Option<slipway_jobs::leases::LeaseServer>,
    /// Where `environment: kind` jobs get their clusters.
    pub(crate) environments: Option<slipway_env::provider::Provider>,
    pub(crate) warnings: Vec<Warning>,
}

impl RunSettings {
    /// What every run of this process shares, with the store and storage opened.
    pub(crate) async fn setup(&self) -> anyhow::Result<slipway_jobs::launch::Setup> {
        let store = slipway_store::Store::open(&self.state.database_url).await?;
        let storage = slipway_artifacts::Storage::open(&self.state.storage_url)?;
        let context = slipway_jobs::runner::Context { store, storage, host: host() };
        Ok(slipway_jobs::launch::Setup::new(
            context,
            self.markers.clone(),
            self.project.clone(),
            self.runs_dir.clone(),
            self.executors.clone(),
        )
        .with_leases(self.leases.clone())
        .with_environments(self.environments.clone()))
    }
}

/// The test environments of `environment: kind` jobs, when a job has one: `env:` of
/// slipway.yaml, with the policy of the checked-out branch.
fn environments(loaded: &Loaded, catalog: &Catalog) -> anyhow::Result<Option<slipway_env::provider::Provider>> {
    let wanted = catalog.jobs.iter().any(|job| job.job.environment.is_some());
    if !wanted {
        return Ok(None);
    }
    let settings = crate::settings_env::env_of(loaded)?;
    let branch = crate::settings_env::current_branch(&settings.root);
    let registry = settings.registry(crate::cli::RegistryArgs { insecure_registries: Vec::new() });
    Ok(Some(slipway_env::provider::Provider {
        sources: settings.sources(registry),
        policy: settings.config.policies.for_branch(branch.as_deref()).policy,
        wait: settings.wait(),
        lock_path: settings.lock_path.clone(),
        state: settings.state.clone(),
        configured: settings.configured.clone(),
        config: settings.config,
    }))
}

/// The settings of `job list`.
pub(crate) fn list(globals: &Globals, prow_config: Vec<PathBuf>) -> anyhow::Result<ListSettings> {
    let loaded = crate::config_file::load(globals)?;
    let mut warnings = loaded.warnings.clone();
    let catalog = catalog(&loaded, prow_config, &mut warnings)?;
    Ok(ListSettings { catalog, warnings })
}

/// The settings of `job run`, `job affected` and `schedule`.
pub(crate) fn run(
    globals: &Globals,
    prow_config: Vec<PathBuf>,
    state_args: StateArgs,
    registries: RegistryArgs,
) -> anyhow::Result<RunSettings> {
    let loaded = crate::config_file::load(globals)?;
    let mut warnings = loaded.warnings.clone();
    let catalog = catalog(&loaded, prow_config, &mut warnings)?;
    let environments = environments(&loaded, &catalog)?;
    let RegistryArgs { insecure_registries } = registries;
    let mut insecure = loaded.file.registries.insecure.clone();
    insecure.extend(insecure_registries);
    Ok(RunSettings {
        catalog,
        project: loaded.root.clone(),
        repository: loaded.file.project.repository.clone(),
        state: state(&loaded, state_args),
        markers: markers(&loaded)?,
        runs_dir: loaded.root.join(".slipway").join("runs"),
        executors: exec::Settings { insecure_registries: insecure },
        retention: retention(&loaded)?,
        leases: lease_server(&loaded)?,
        environments,
        warnings,
    })
}

/// The lease server jobs use: `leases.server`, else `$BOSKOS_HOST`, with `leases.token_file`
/// and `leases.env`.
fn lease_server(loaded: &Loaded) -> anyhow::Result<Option<slipway_jobs::leases::LeaseServer>> {
    let section = &loaded.file.leases;
    let Some(server) =
        section.server.clone().or_else(|| std::env::var("BOSKOS_HOST").ok().filter(|host| !host.trim().is_empty()))
    else {
        return Ok(None);
    };
    let token = match &section.token_file {
        Some(path) => {
            let path = loaded.root.join(path);
            let text = fs_err::read_to_string(&path)
                .map_err(|error| crate::errors::UsageError(format!("cannot read `leases.token_file`: {error}")))?;
            Some(text.trim().to_owned())
        }
        None => None,
    };
    Ok(Some(slipway_jobs::leases::LeaseServer { server, token, mappings: section.env.clone() }))
}

/// Everything `runs prune` runs on.
pub(crate) struct PruneSettings {
    pub(crate) state: State,
    pub(crate) runs_dir: PathBuf,
    pub(crate) retention: slipway_jobs::retention::Retention,
    pub(crate) job: Option<String>,
    pub(crate) dry_run: bool,
    pub(crate) format: crate::cli::Format,
    pub(crate) warnings: Vec<Warning>,
}

/// The retention `runs:` sets (what `schedule` applies), an invalid value reported at its line.
pub(crate) fn retention(loaded: &Loaded) -> anyhow::Result<slipway_jobs::retention::Retention> {
    loaded.file.runs.retention().map_err(|(key, message)| match loaded.invalid_key(key, &message) {
        Some(located) => located.into(),
        None => UsageError(format!("invalid `{key}`: {message}")).into(),
    })
}

/// The settings of `runs prune`: the flags, else `runs:`.
pub(crate) fn prune(globals: &Globals, args: crate::cli_jobs::RunsPruneArgs) -> anyhow::Result<PruneSettings> {
    let crate::cli_jobs::RunsPruneArgs { keep, older_than, job, dry_run, state: state_args, format } = args;
    let loaded = crate::config_file::load(globals)?;
    let retention = if keep.is_none() && older_than.is_none() {
        retention(&loaded)?
    } else {
        let older_than = older_than
            .map(|age| {
                slipway_core::retention::parse_age(&age).map_err(|error| UsageError(format!("--older-than: {error}")))
            })
            .transpose()?;
        slipway_jobs::retention::Retention { keep, older_than }
    };
    Ok(PruneSettings {
        state: state(&loaded, state_args),
        runs_dir: loaded.root.join(".slipway").join("runs"),
        retention,
        job,
        dry_run,
        format,
        warnings: loaded.warnings,
    })
}

/// Everything `job affected` runs on.
pub(crate) struct AffectedSettings {
    /// The project directory, whose working tree is the change.
    pub(crate) project: PathBuf,
    /// `--repository`, else `project.repository`.
    pub(crate) repository: Option<String>,
    /// The Prow config: `--prow-config`, else `prow.config`.
    pub(crate) prow_paths: Vec<PathBuf>,
    pub(crate) warnings: Vec<Warning>,
}

/// The settings of `job affected`. Without Prow config it is the user's error.
pub(crate) fn affected(
    globals: &Globals,
    prow_flag: Vec<PathBuf>,
    repository: Option<String>,
) -> anyhow::Result<AffectedSettings> {
    let loaded = crate::config_file::load(globals)?;
    let prow_paths = prow_paths(&loaded, prow_flag);
    if prow_paths.is_empty() {
        return Err(UsageError(
            "no Prow config: give --prow-config PATH[,PATH] or set `prow.config` in slipway.yaml".to_owned(),
        )
        .into());
    }
    Ok(AffectedSettings {
        project: loaded.root.clone(),
        repository: repository.or_else(|| loaded.file.project.repository.clone()),
        prow_paths,
        warnings: loaded.warnings,
    })
}

/// `--prow-config` when given, else `prow.config` (relative to slipway.yaml).
fn prow_paths(loaded: &Loaded, flag: Vec<PathBuf>) -> Vec<PathBuf> {
    if !flag.is_empty() {
        return flag;
    }
    let base = loaded.directory.clone().unwrap_or_else(|| loaded.root.clone());
    loaded.file.prow.config.iter().map(|path| base.join(path)).collect()
}

/// The store's URL alone, for commands that only record or read runs and results, with the
/// configuration's warnings.
pub(crate) fn database(globals: &Globals, args: DatabaseArgs) -> anyhow::Result<(String, Vec<Warning>)> {
    let loaded = crate::config_file::load(globals)?;
    let DatabaseArgs { database_url } = args;
    Ok((database_url_of(&loaded, database_url), loaded.warnings))
}

/// The artifact storage's URL alone, for `marker`, with the configuration's warnings.
pub(crate) fn storage(globals: &Globals, args: StorageArgs) -> anyhow::Result<(String, Vec<Warning>)> {
    let loaded = crate::config_file::load(globals)?;
    let StorageArgs { storage } = args;
    Ok((storage_url(&loaded, storage), loaded.warnings))
}

/// The configuration `job lint` checks as it is written: every problem, at its line.
pub(crate) fn lint(globals: &Globals) -> anyhow::Result<Loaded> {
    Ok(crate::config_file::load(globals)?)
}

/// The jobs of slipway.yaml (checked; the first problem is reported at its line) and of the
/// Prow config, if any. A name in both is an error.
fn catalog(loaded: &Loaded, prow_flag: Vec<PathBuf>, warnings: &mut Vec<Warning>) -> anyhow::Result<Catalog> {
    // `--prow-config` names the jobs to use; `prow.config` adds Prow's jobs to slipway.yaml's.
    let prow_only = !prow_flag.is_empty();
    let slipway_yaml = if prow_only { Vec::new() } else { slipway_jobs(loaded)? };
    let mut catalog = Catalog {
        prow_only,
        jobs: slipway_yaml
            .into_iter()
            .map(|job| CatalogJob { job, origin: Origin::SlipwayYaml, notes: Vec::new() })
            .collect(),
        ..Catalog::default()
    };
    let paths = prow_paths(loaded, prow_flag);
    if paths.is_empty() {
        return Ok(catalog);
    }
    let config = slipway_prow::load(&paths)?;
    warnings.extend(crate::warnings::duplicate_keys(&config));
    for result in slipway_prow::runnable::all(&config) {
        match result {
            Ok(Runnable { job, job_type, repo, location, notes }) => {
                if let Some(clash) =
                    catalog.jobs.iter().find(|entry| entry.origin == Origin::SlipwayYaml && entry.job.name == job.name)
                {
                    return Err(UsageError(format!(
                        "job `{}` is in slipway.yaml and is a Prow {} at {location}; rename one, or leave the Prow config out",
                        clash.job.name,
                        job_type.as_str()
                    ))
                    .into());
                }
                catalog.jobs.push(CatalogJob { job, origin: Origin::Prow { job_type, repo, location }, notes });
            }
            Err(not_runnable) => catalog.not_runnable.push(not_runnable),
        }
    }
    catalog.prow = Some((config, paths));
    Ok(catalog)
}

/// The jobs of slipway.yaml, checked; the first problem is reported at its line.
fn slipway_jobs(loaded: &Loaded) -> anyhow::Result<Vec<Job>> {
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

fn state(loaded: &Loaded, args: StateArgs) -> State {
    let StateArgs { database: DatabaseArgs { database_url }, storage: StorageArgs { storage } } = args;
    State { database_url: database_url_of(loaded, database_url), storage_url: storage_url(loaded, storage) }
}

/// The store's URL: the flag (or SLIPWAY_DATABASE_URL), `store.url`, else the project's
/// SQLite file. A relative SQLite path in the file is relative to the project.
pub(crate) fn database_url_of(loaded: &Loaded, flag: Option<String>) -> String {
    if let Some(url) = flag {
        return url;
    }
    match &loaded.file.store.url {
        Some(url) => match url.strip_prefix("sqlite:") {
            Some(path) if !path.starts_with('/') && !path.starts_with(":memory:") => {
                format!("sqlite:{}", loaded.root.join(path).display())
            }
            _ => url.clone(),
        },
        None => slipway_store::default_url(&loaded.root),
    }
}

/// The artifact storage URL: the flag (or SLIPWAY_ARTIFACTS), `artifacts.storage`, else
/// `.slipway/artifacts` in the project.
pub(crate) fn storage_url(loaded: &Loaded, flag: Option<String>) -> String {
    let configured = flag.or_else(|| loaded.file.artifacts.storage.clone());
    match configured {
        Some(url) if url.contains("://") || Path::new(&url).is_absolute() => url,
        Some(relative) => loaded.root.join(relative).display().to_string(),
        None => loaded.root.join(".slipway").join("artifacts").display().to_string(),
    }
}

/// Where Kubernetes version markers are read and cached, for job matrices and `slipway env`
/// alike: `env.markers_url`, else `matrix.markers_url`, else dl.k8s.io, for `env.cache_ttl`.
pub(crate) fn markers(loaded: &Loaded) -> anyhow::Result<MarkerSource> {
    let cache = loaded.root.join(".slipway").join("cache").join("markers");
    let configured = loaded.file.env.markers_url.as_deref().or(loaded.file.matrix.markers_url.as_deref());
    let mut source = MarkerSource::new(relative_to_project(loaded, configured).as_deref(), Some(cache));
    if let Some(ttl) = &loaded.file.env.cache_ttl {
        source.ttl = slipway_jobs::duration::parse(ttl).map_err(|message| -> anyhow::Error {
            match loaded.invalid_key("env.cache_ttl", &message) {
                Some(located) => located.into(),
                None => crate::errors::UsageError(format!("env.cache_ttl: {message}")).into(),
            }
        })?;
    }
    Ok(source)
}

/// A URL as it is, or a directory relative to the project (like artifacts.storage).
pub(crate) fn relative_to_project(loaded: &Loaded, url: Option<&str>) -> Option<String> {
    url.map(|url| match url {
        url if url.contains("://") || Path::new(url).is_absolute() => url.to_owned(),
        relative => loaded.root.join(relative).display().to_string(),
    })
}

/// This machine's name, recorded as the owner of its runs.
fn host() -> String {
    fs_err::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}
