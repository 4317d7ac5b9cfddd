//! Leases a run holds: taken from the lease server after the run has its `max_concurrency`
//! slot, kept alive by a heartbeat while the job runs, and given back `dirty` afterwards,
//! whatever happened. The job gets them in its environment (`BOSKOS_RESOURCE`, `GCP_PROJECT`,
//! `AWS_ACCESS_KEY_ID`, ...), and their userdata values are masked in its log.

use std::collections::BTreeMap;
use std::time::Duration;

use slipway_job_model::LeaseSpec;
use slipway_lease::client::{Client, ClientError};
use slipway_lease::resource::Resource;
use tokio_util::sync::CancellationToken;

/// How often a held lease is heartbeated (the reaper's default expiry is 30 minutes).
const HEARTBEAT: Duration = Duration::from_secs(30);

/// The lease server runs take their leases from.
#[derive(Debug, Clone)]
pub struct LeaseServer {
    /// `host:port` or a URL, as `BOSKOS_HOST` or `leases.server` give it.
    pub server: String,
    pub token: Option<String>,
    /// `leases.env`: userdata key to environment variable, per type.
    pub mappings: BTreeMap<String, BTreeMap<String, String>>,
}

/// Why a run could not get its leases.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error(
        "job `{job}` needs leases ({kinds}), but no lease server is configured: set `leases.server` in slipway.yaml or BOSKOS_HOST"
    )]
    NoServer { job: String, kinds: String },
    #[error("job `{job}`: could not lease a {kind}")]
    Client {
        job: String,
        kind: String,
        #[source]
        source: ClientError,
    },
    #[error("job `{job}`: interrupted while waiting for a {kind} lease")]
    Interrupted { job: String, kind: String },
}

impl LeaseError {
    pub fn exit_code(&self) -> u8 {
        match self {
            LeaseError::NoServer { .. } => slipway_core::exit::USAGE,
            LeaseError::Client { source, .. } => source.exit_code(),
            LeaseError::Interrupted { .. } => slipway_core::exit::INTERRUPTED,
        }
    }
}

/// Leases held by a run.
pub struct Held {
    client: Client,
    resources: Vec<Resource>,
    mappings: BTreeMap<String, BTreeMap<String, String>>,
    heartbeat: tokio::task::JoinHandle<()>,
}

/// Takes every lease of `specs` for a run of `job` (the owner is the job's name, as Prow's
/// `$JOB_NAME`), waiting up to `wait` for each. What was taken goes back when one fails.
pub async fn take(
    server: Option<&LeaseServer>,
    job: &str,
    specs: &[LeaseSpec],
    wait: Duration,
    cancel: &CancellationToken,
    waiting: &(dyn Fn(&str) + Sync),
) -> Result<Option<Held>, LeaseError> {
    if specs.is_empty() {
        return Ok(None);
    }
    let kinds = || specs.iter().map(|spec| spec.kind.as_str()).collect::<Vec<_>>().join(", ");
    let Some(server) = server else {
        return Err(LeaseError::NoServer { job: job.to_owned(), kinds: kinds() });
    };
    let client = Client::new(&server.server, job, server.token.clone()).map_err(|source| LeaseError::Client {
        job: job.to_owned(),
        kind: kinds(),
        source,
    })?;
    let mut resources = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    for spec in specs {
        for _ in 0..spec.count {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now()).max(Duration::from_millis(1));
            let mut told = false;
            let acquired = tokio::select! {
                acquired = client.acquire_wait(&spec.kind, "free", "busy", left, |_| {
                    if !told {
                        told = true;
                        waiting(&spec.kind);
                    }
                }) => acquired,
                () = cancel.cancelled() => Err(ClientError::TimedOut { kind: spec.kind.clone(), waited: Duration::ZERO }),
            };
            match acquired {
                Ok(resource) => resources.push(resource),
                Err(source) => {
                    for resource in &resources {
                        let _ = client.release(&resource.name, "free").await;
                    }
                    if cancel.is_cancelled() {
                        return Err(LeaseError::Interrupted { job: job.to_owned(), kind: spec.kind.clone() });
                    }
                    return Err(LeaseError::Client { job: job.to_owned(), kind: spec.kind.clone(), source });
                }
            }
        }
    }
    let heartbeat = {
        let (client, names) =
            (client.clone(), resources.iter().map(|resource| resource.name.clone()).collect::<Vec<_>>());
        tokio::spawn(async move {
            let mut every = tokio::time::interval(HEARTBEAT);
            every.tick().await;
            loop {
                every.tick().await;
                for name in &names {
                    let _ = client.update(name, "busy", &BTreeMap::new()).await;
                }
            }
        })
    };
    Ok(Some(Held { client, resources, mappings: server.mappings.clone(), heartbeat }))
}

impl Held {
    /// What the job gets in its environment.
    pub fn environment(&self) -> Vec<(String, String)> {
        slipway_lease::environment::lease_environment(&self.resources, &self.mappings)
    }

    /// The values masked in the log.
    pub fn secrets(&self) -> Vec<String> {
        slipway_lease::environment::secret_values(&self.resources)
    }

    /// The names, for notes.
    pub fn names(&self) -> Vec<String> {
        self.resources.iter().map(|resource| format!("{} ({})", resource.name, resource.kind)).collect()
    }

    /// Gives every lease back `dirty`; says what could not be given back.
    pub async fn give_back(self) -> Vec<String> {
        self.heartbeat.abort();
        let mut problems = Vec::new();
        for resource in &self.resources {
            if let Err(error) = self.client.release(&resource.name, "dirty").await {
                problems.push(format!(
                    "could not give back the lease of {}: {}; the reaper takes it back",
                    resource.name,
                    slipway_core::errors::chain(&error)
                ));
            }
        }
        problems
    }
}
