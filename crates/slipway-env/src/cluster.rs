//! kind clusters on resolved node images: `slipway env up` creates them (in parallel), waits
//! for their nodes, and keeps each one's kind configuration, kubeconfig and record under
//! `.slipway/env/<name>/`; `env down` deletes them; `env list` shows them.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::ClusterSection;
use crate::tools::{self, Engine};

/// The JSON schema of `slipway env up` and `slipway env list`.
pub const SCHEMA: &str = "slipway.env.clusters/v1";

/// Where clusters are kept and how kind is run.
#[derive(Debug, Clone)]
pub struct Clusters {
    /// `.slipway/env`.
    pub root: PathBuf,
    pub kind_program: PathBuf,
    pub engine: Engine,
    /// How long to wait for the nodes to be Ready.
    pub wait: Duration,
}

/// A cluster to create.
#[derive(Debug, Clone)]
pub struct ClusterSpec {
    pub name: String,
    pub entry: String,
    pub kubernetes: String,
    pub kind: String,
    pub image: String,
}

/// A cluster slipway created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterRecord {
    pub name: String,
    pub entry: String,
    pub kubernetes: String,
    pub kind: String,
    pub image: String,
    pub kubeconfig: PathBuf,
    pub created_at: String,
    /// Whether kind still has it (filled in by [`Clusters::list`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exists: Option<bool>,
}

/// Why a cluster could not be created or deleted.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClusterError {
    #[error("`{name}` is not a cluster name: use lowercase letters, digits and dashes, at most 50")]
    Name { name: String },
    #[error("could not create kind cluster {name} ({status}); the output is in {}:\n{tail}", log.display())]
    Create { name: String, status: String, log: PathBuf, tail: String },
    #[error("kind cluster {name}'s nodes are not Ready after {wait}: see {}", log.display())]
    NotReady { name: String, wait: String, log: PathBuf },
    #[error("could not delete kind cluster {name}: {reason}")]
    Delete { name: String, reason: String },
    #[error("could not run {program}: {reason}")]
    Spawn { program: String, reason: String },
    #[error("could not write {}: {reason}", path.display())]
    Write { path: PathBuf, reason: String },
}

impl ClusterError {
    pub fn exit_code(&self) -> u8 {
        match self {
            ClusterError::Name { .. } => slipway_core::exit::USAGE,
            _ => slipway_core::exit::INFRASTRUCTURE,
        }
    }
}

/// A kind cluster name from a prefix and a Kubernetes version: `slipway-v1-36-1`.
pub fn cluster_name(prefix: &str, kubernetes: Option<&str>) -> String {
    let mut name = prefix.to_ascii_lowercase();
    if let Some(version) = kubernetes {
        name.push('-');
        name.push_str(&version.to_ascii_lowercase());
    }
    let mut clean = String::new();
    for c in name.chars() {
        let c = if c.is_ascii_alphanumeric() { c } else { '-' };
        if !(c == '-' && clean.ends_with('-')) {
            clean.push(c);
        }
    }
    clean.trim_matches('-').chars().take(50).collect::<String>().trim_end_matches('-').to_owned()
}

fn check_name(name: &str) -> Result<(), ClusterError> {
    let valid = !name.is_empty()
        && name.len() <= 50
        && name.bytes().all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-')
        && !name.starts_with('-');
    if valid { Ok(()) } else { Err(ClusterError::Name { name: name.to_owned() }) }
}

impl Clusters {
    fn directory(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    fn spawn(&self, reason: String) -> ClusterError {
        ClusterError::Spawn { program: self.kind_program.display().to_string(), reason }
    }

    fn environment(&self) -> Vec<(OsString, OsString)> {
        tools::kind_environment(self.engine, &self.root.join("bin"))
    }

    /// Creates one cluster and waits for its nodes.
    pub async fn up(&self, spec: &ClusterSpec, section: &ClusterSection) -> Result<ClusterRecord, ClusterError> {
        check_name(&spec.name)?;
        let directory = self.directory(&spec.name);
        let write = |path: &Path, text: &str| {
            fs_err::create_dir_all(&directory)
                .and_then(|()| fs_err::write(path, text))
                .map_err(|error| ClusterError::Write { path: path.to_owned(), reason: error.to_string() })
        };
        let config = directory.join("kind-config.yaml");
        let kubeconfig = directory.join("kubeconfig");
        let log = directory.join("create.log");
        write(&config, &crate::kind::cluster_config(section, &spec.image))?;
        let wait = slipway_job_model::duration::format(self.wait);
        let args = crate::kind::create_args(
            &spec.name,
            &spec.image,
            &config.display().to_string(),
            &kubeconfig.display().to_string(),
            &wait,
        );
        let environment = self.environment();
        let status = crate::process::logged(self.kind_program.as_os_str(), &args, &environment, &log)
            .await
            .map_err(|reason| self.spawn(reason))?;
        if !status.success() {
            return Err(ClusterError::Create {
                name: spec.name.clone(),
                status: crate::process::describe(status),
                log: log.clone(),
                tail: crate::process::tail(&log),
            });
        }
        // kind's --wait covers the control plane; workers are waited for here when kubectl is
        // on the machine.
        let kubectl_args: Vec<String> = [
            "--kubeconfig",
            &kubeconfig.display().to_string(),
            "wait",
            "--for=condition=Ready",
            "nodes",
            "--all",
            &format!("--timeout={}s", self.wait.as_secs()),
        ]
        .map(str::to_owned)
        .to_vec();
        if let Some(kubectl) = tools::kubectl_program() {
            let status = crate::process::logged(kubectl.as_os_str(), &kubectl_args, &[], &log)
                .await
                .map_err(|reason| ClusterError::Spawn { program: kubectl.display().to_string(), reason })?;
            if !status.success() {
                return Err(ClusterError::NotReady { name: spec.name.clone(), wait, log });
            }
        }
        let record = ClusterRecord {
            name: spec.name.clone(),
            entry: spec.entry.clone(),
            kubernetes: spec.kubernetes.clone(),
            kind: spec.kind.clone(),
            image: spec.image.clone(),
            kubeconfig,
            created_at: jiff::Timestamp::now().to_string(),
            exists: None,
        };
        let text = serde_json::to_string_pretty(&record).unwrap_or_default();
        write(&directory.join("cluster.json"), &text)?;
        Ok(record)
    }

    /// Deletes a cluster (kind's and slipway's record of it). A cluster kind no longer has is
    /// not an error.
    pub async fn down(&self, name: &str) -> Result<(), ClusterError> {
        check_name(name)?;
        let directory = self.directory(name);
        let _ = fs_err::create_dir_all(&directory);
        let log = directory.join("delete.log");
        let status = crate::process::logged(
            self.kind_program.as_os_str(),
            &crate::kind::delete_args(name),
            &self.environment(),
            &log,
        )
        .await
        .map_err(|reason| self.spawn(reason))?;
        if !status.success() {
            return Err(ClusterError::Delete {
                name: name.to_owned(),
                reason: format!("{}:\n{}", crate::process::describe(status), crate::process::tail(&log)),
            });
        }
        fs_err::remove_dir_all(&directory)
            .map_err(|error| ClusterError::Delete { name: name.to_owned(), reason: error.to_string() })
    }

    /// The clusters slipway created, with whether kind still has each (when kind answers).
    pub async fn list(&self) -> Vec<ClusterRecord> {
        let mut records = Vec::new();
        let Ok(entries) = fs_err::read_dir(&self.root) else {
            return records;
        };
        for entry in entries.flatten() {
            let file = entry.path().join("cluster.json");
            if let Some(record) =
                fs_err::read_to_string(&file).ok().and_then(|text| serde_json::from_str::<ClusterRecord>(&text).ok())
            {
                records.push(record);
            }
        }
        records.sort_by(|a, b| a.name.cmp(&b.name));
        let known =
            crate::process::output(self.kind_program.as_os_str(), &["get", "clusters"], &self.environment()).await;
        if let Some(known) = known {
            let names: Vec<&str> = known.lines().map(str::trim).collect();
            for record in &mut records {
                record.exists = Some(names.contains(&record.name.as_str()));
            }
        }
        records
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_what_kind_accepts() {
        assert_eq!(cluster_name("slipway", Some("v1.36.1")), "slipway-v1-36-1");
        assert_eq!(cluster_name("E2E_job", Some("v1.37.0-alpha.0.12+abc")), "e2e-job-v1-37-0-alpha-0-12-abc");
        assert_eq!(cluster_name("dev", None), "dev");
        assert!(check_name(&cluster_name(&"x".repeat(80), Some("v1.2.3"))).is_ok());
        assert!(check_name("Dev").is_err() && check_name("").is_err());
    }
}
