//! A kind cluster for one job run (`environment: kind`): the node image of the run's
//! Kubernetes version resolved as `slipway env node-image` would (the lock, kind's published
//! image, one built earlier; never a build in the middle of a run), a cluster created on it,
//! and deleted afterwards.

use std::path::PathBuf;

use slipway_core::Version;

use crate::cluster::{self, ClusterRecord, ClusterSpec, Clusters};
use crate::config::EnvConfig;
use crate::lock::LockFile;
use crate::node_image::{self, Plan, Source, Sources};
use crate::policy::Policy;

/// What runs need to get clusters.
#[derive(Clone)]
pub struct Provider {
    pub sources: Sources,
    pub config: EnvConfig,
    /// The configured matrix (for a job without one, its first entry is used).
    pub configured: Vec<String>,
    pub lock_path: PathBuf,
    /// `.slipway/env`.
    pub state: PathBuf,
    pub policy: Policy,
    pub wait: std::time::Duration,
}

/// A cluster brought up for a run.
pub struct Environment {
    pub record: ClusterRecord,
    clusters: Clusters,
}

impl Environment {
    /// The variables the run gets: `KUBECONFIG`, `KIND_NODE_IMAGE`, `KIND_CLUSTER_NAME`.
    pub fn variables(&self) -> Vec<(String, String)> {
        vec![
            ("KUBECONFIG".into(), self.record.kubeconfig.display().to_string()),
            ("KIND_NODE_IMAGE".into(), self.record.image.clone()),
            ("KIND_CLUSTER_NAME".into(), self.record.name.clone()),
        ]
    }

    /// Deletes the cluster.
    pub async fn down(self) -> Result<(), String> {
        self.clusters.down(&self.record.name).await.map_err(|error| error.to_string())
    }
}

impl Provider {
    /// Brings up cluster `name` for matrix entry `entry` (or the configured matrix's first).
    pub async fn up(&self, entry: Option<&str>, name: &str) -> Result<Environment, String> {
        let entry = match entry {
            Some(entry) => entry.to_owned(),
            None => self.configured.first().cloned().ok_or_else(|| {
                "`environment: kind` needs a Kubernetes version: give the job a matrix, or list versions in env.kubernetes".to_owned()
            })?,
        };
        let kind: Version = self.config.kind.clone().ok_or_else(|| {
            "`environment: kind` needs env.kind in slipway.yaml (the kind release, such as v0.32.0)".to_owned()
        })?;
        let plan = Plan {
            entries: vec![entry.clone()],
            kind,
            arches: vec![slipway_core::platform::host_architecture().to_owned()],
            policy: self.policy,
            registry: self.config.registry.clone(),
            published_repository: self.config.published_repository.clone(),
            update: false,
        };
        let lock = LockFile::read(&self.lock_path).map_err(|error| error.to_string())?;
        let images = node_image::resolve(&self.sources, &plan, &lock).await;
        let image = images.into_iter().next().ok_or("nothing resolved")?;
        if image.source == Source::Missing {
            return Err(format!(
                "no node image for {entry}: {} (slipway env node-image --build builds one)",
                image.reason.unwrap_or_default()
            ));
        }
        let clusters = Clusters {
            root: self.state.clone(),
            kind_program: crate::tools::kind_program(),
            engine: crate::tools::engine().await.map_err(|error| error.to_string())?,
            wait: self.wait,
        };
        let spec = ClusterSpec {
            name: cluster::cluster_name(name, None),
            entry,
            kubernetes: image.kubernetes.clone().unwrap_or_default(),
            kind: image.kind.clone(),
            image: image.image.clone().unwrap_or_default(),
        };
        let record = clusters.up(&spec, &self.config.cluster).await.map_err(|error| error.to_string())?;
        Ok(Environment { record, clusters })
    }
}
