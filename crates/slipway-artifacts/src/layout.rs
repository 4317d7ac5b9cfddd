//! The Prow artifact layout, so Spyglass, TestGrid and Triage read slipway's results unchanged.
//!
//! One build of a periodic or postsubmit job lives in `logs/<job>/<build-id>/`:
//! `started.json` at the start, then `artifacts/**`, `build-log.txt`, `prowjob.json` and, last,
//! `finished.json`, so a reader that sees `finished.json` sees everything else of the build.
//! `logs/<job>/latest-build.txt` holds the newest build id (no newline) and only ever moves
//! forward. Field names and types are those of `metadata.Started` and `metadata.Finished`
//! (GoogleCloudPlatform/testgrid `metadata/job.go`) and of Prow's `ProwJob`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::build_id;
use crate::error::{Error, Result};
use crate::name;
use crate::storage::{Headers, Storage};

/// How many artifact uploads run at once.
const PARALLEL_UPLOADS: usize = 8;

/// `started.json`: written when a build starts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Started {
    /// Seconds since the Unix epoch.
    pub timestamp: i64,
    /// The machine that ran the build (pod-utils never set it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// The first pull request number, as text (`"93264"`), for presubmits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull: Option<String>,
    /// `org/repo` to `base_ref[:base_sha][,pr:sha]...`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub repos: BTreeMap<String, String>,
    /// The commit the build tested.
    #[serde(rename = "repo-commit", default, skip_serializing_if = "Option::is_none")]
    pub repo_commit: Option<String>,
    /// Deprecated; the same as `repo-commit` when set.
    #[serde(rename = "repo-version", default, skip_serializing_if = "Option::is_none")]
    pub repo_version: Option<String>,
    /// Free-form metadata (deprecated here by Prow).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub metadata: Map<String, Value>,
    /// Deprecated.
    #[serde(rename = "job-version", default, skip_serializing_if = "Option::is_none")]
    pub job_version: Option<String>,
}

/// How a build ended, as the sidecar writes it (crier's lowercase fallbacks are read too).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobResult {
    /// The job passed.
    #[serde(rename = "SUCCESS", alias = "success")]
    Success,
    /// The job failed.
    #[serde(rename = "FAILURE", alias = "failure")]
    Failure,
    /// The job was interrupted.
    #[serde(rename = "ABORTED", alias = "aborted")]
    Aborted,
    /// Anything else another writer put there (crier writes `error`).
    #[serde(untagged)]
    Other(String),
}

/// `finished.json`: written last, when a build ends.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Finished {
    /// Seconds since the Unix epoch; absent means the build is incomplete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<i64>,
    /// Always written: `null` when unknown.
    #[serde(default)]
    pub passed: Option<bool>,
    /// `SUCCESS`, `FAILURE` or `ABORTED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<JobResult>,
    /// Deprecated: the base or PR commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// The job's own metadata (`$ARTIFACTS/metadata.json`, merged by [`BuildDir::finish`]).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub metadata: Map<String, Value>,
    /// Deprecated.
    #[serde(rename = "job-version", default, skip_serializing_if = "Option::is_none")]
    pub job_version: Option<String>,
    /// Deprecated.
    #[serde(rename = "repo-version", default, skip_serializing_if = "Option::is_none")]
    pub repo_version: Option<String>,
}

/// A ProwJob's `status.state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProwJobState {
    /// Created, not yet running.
    Triggered,
    /// Running.
    Pending,
    /// Ended and passed.
    Success,
    /// Ended and failed.
    Failure,
    /// Interrupted.
    Aborted,
    /// Could not run.
    Error,
}

/// The `prowjob.json` of a build: a ProwJob custom resource as Prow's crier uploads it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProwJob {
    /// `metadata.name`: a UUID derived from the job and build id, so it is stable.
    pub name: String,
    /// The job spec, as the caller has it (`type`, `job`, `refs`, `pod_spec`, ...).
    pub spec: Map<String, Value>,
    /// `status.state`.
    pub state: ProwJobState,
    /// `status.startTime`, seconds since the Unix epoch.
    pub start_time: i64,
    /// `status.completionTime`, once finished.
    pub completion_time: Option<i64>,
    /// `status.build_id`.
    pub build_id: u64,
    /// `status.description`.
    pub description: Option<String>,
}

impl ProwJob {
    /// A pending ProwJob for a build. `spec` gets `job` and `type` (`periodic`) when it lacks
    /// them.
    pub fn new(job: &str, build_id: u64, mut spec: Map<String, Value>, start_time: i64) -> ProwJob {
        spec.entry("type").or_insert_with(|| Value::from("periodic"));
        spec.entry("job").or_insert_with(|| Value::from(job));
        ProwJob {
            name: uuid_for(job, build_id),
            spec,
            state: ProwJobState::Pending,
            start_time,
            completion_time: None,
            build_id,
            description: None,
        }
    }

    /// Marks the job ended in `state` at `completion_time`.
    pub fn complete(&mut self, state: ProwJobState, completion_time: i64) {
        self.state = state;
        self.completion_time = Some(completion_time);
    }

    /// The resource as JSON.
    pub fn to_json(&self) -> Value {
        let job = self.spec.get("job").and_then(Value::as_str).unwrap_or_default();
        let kind = self.spec.get("type").and_then(Value::as_str).unwrap_or_default();
        let mut labels = Map::new();
        labels.insert("prow.k8s.io/build-id".to_owned(), Value::from(self.build_id.to_string()));
        labels.insert("prow.k8s.io/id".to_owned(), Value::from(self.name.clone()));
        // Label values are at most 63 characters; the annotation carries the full name.
        if job.len() <= 63 {
            labels.insert("prow.k8s.io/job".to_owned(), Value::from(job));
        }
        labels.insert("prow.k8s.io/type".to_owned(), Value::from(kind));
        let mut status = Map::new();
        status.insert("startTime".to_owned(), Value::from(slipway_core::time::rfc3339_utc(self.start_time)));
        if let Some(completion) = self.completion_time {
            status.insert("completionTime".to_owned(), Value::from(slipway_core::time::rfc3339_utc(completion)));
        }
        status.insert("state".to_owned(), serde_json::to_value(self.state).unwrap_or(Value::Null));
        if let Some(description) = &self.description {
            status.insert("description".to_owned(), Value::from(description.clone()));
        }
        status.insert("build_id".to_owned(), Value::from(self.build_id.to_string()));
        serde_json::json!({
            "apiVersion": "prow.k8s.io/v1",
            "kind": "ProwJob",
            "metadata": {
                "name": self.name,
                "creationTimestamp": slipway_core::time::rfc3339_utc(self.start_time),
                "labels": labels,
                "annotations": { "prow.k8s.io/job": job },
            },
            "spec": self.spec,
            "status": status,
        })
    }
}

/// A UUID (RFC 9562 version 8, from SHA-256) naming one build of one job.
fn uuid_for(job: &str, build_id: u64) -> String {
    let digest = Sha256::digest(format!("slipway/{job}/{build_id}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

/// What [`BuildDir::finish`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct FinishReport {
    /// The `finished.json` written, with the job's metadata merged in.
    pub finished: Finished,
    /// How many artifact files were uploaded.
    pub artifacts: usize,
    /// Artifacts not uploaded (symbolic links out of the directory, to directories, broken),
    /// as (path under `artifacts/`, why).
    pub skipped: Vec<(String, String)>,
}

/// One build's directory, `logs/<job>/<build-id>/`.
#[derive(Debug, Clone)]
pub struct BuildDir {
    storage: Storage,
    job: String,
    build_id: u64,
}

impl BuildDir {
    /// The directory of an existing (or already allocated) build.
    pub fn new(storage: Storage, job: &str, build_id: u64) -> Result<BuildDir> {
        name::job(job)?;
        Ok(BuildDir { storage, job: job.to_owned(), build_id })
    }

    /// Allocates a new build of `job` (see [`allocate_build_id`]).
    pub async fn allocate(storage: Storage, job: &str, now_unix_ms: u64) -> Result<BuildDir> {
        let build_id = build_id::allocate_build_id(&storage, job, now_unix_ms).await?;
        Ok(BuildDir { storage, job: job.to_owned(), build_id })
    }

    /// The storage it lives in.
    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// The job's name.
    pub fn job(&self) -> &str {
        &self.job
    }

    /// The build id.
    pub fn build_id(&self) -> u64 {
        self.build_id
    }

    /// `logs/<job>/<build-id>`, relative to the storage.
    pub fn key(&self) -> String {
        format!("logs/{}/{}", self.job, self.build_id)
    }

    /// The directory on this machine, when the storage is a local directory.
    pub fn local_path(&self) -> Option<PathBuf> {
        self.storage.local_path(&self.key())
    }

    /// The directory's URL.
    pub fn url(&self) -> String {
        self.storage.object_url(&self.key())
    }

    fn object(&self, name: &str) -> String {
        format!("{}/{name}", self.key())
    }

    async fn put_json(&self, name: &str, body: Vec<u8>) -> Result<()> {
        self.storage.put(&self.object(name), Bytes::from(body), Headers::for_name(name)).await
    }

    /// Writes `started.json`, `prowjob.json` and `latest-build.txt`.
    pub async fn start(&self, started: &Started, prowjob: &ProwJob) -> Result<()> {
        self.put_json("started.json", to_json(started)).await?;
        self.put_json("prowjob.json", prowjob_json(prowjob)).await?;
        build_id::advance_latest(&self.storage, &self.job, self.build_id).await
    }

    /// Uploads the build's results: everything under `artifacts` (to `artifacts/...`), the
    /// build log, `prowjob.json`, `latest-build.txt`, and last `finished.json`, each only after
    /// the previous ones are stored.
    ///
    /// `metadata.json` and `*-metadata.json` at the top of `artifacts` are merged into
    /// `finished.metadata` (keys already in `finished.metadata` win); a file that is not a JSON
    /// object is reported under `sidecar-errors`, as Prow's sidecar does, rather than failing
    /// the build's upload.
    pub async fn finish(
        &self,
        build_log: &Path,
        artifacts: Option<&Path>,
        finished: &Finished,
        prowjob: &ProwJob,
    ) -> Result<FinishReport> {
        use futures_util::{StreamExt, TryStreamExt};

        let Walked { files, skipped } = match artifacts {
            Some(directory) => walk(directory)?,
            None => Walked::default(),
        };
        let mut finished = finished.clone();
        if let Some(directory) = artifacts {
            merge_metadata(directory, &files, &mut finished.metadata);
        }
        if !skipped.is_empty() {
            // The build's record says what was left out, and why.
            let listed: Vec<Value> =
                skipped.iter().map(|(path, reason)| Value::from(format!("artifacts/{path}: {reason}"))).collect();
            finished.metadata.insert("slipway-skipped-artifacts".to_owned(), Value::Array(listed));
        }
        // Owned values in, so the future is Send for any caller (a closure over borrowed
        // tuples is not general enough for `tokio::spawn`).
        let jobs: Vec<(String, PathBuf, String)> = files
            .iter()
            .map(|(relative, path)| (self.object(&format!("artifacts/{relative}")), path.clone(), relative.clone()))
            .collect();
        let uploads = jobs.into_iter().map(|(key, path, relative)| async move {
            self.storage.upload_file(&key, &path, Headers::for_name(&relative)).await
        });
        futures_util::stream::iter(uploads).buffer_unordered(PARALLEL_UPLOADS).try_collect::<Vec<()>>().await?;
        self.storage.upload_file(&self.object("build-log.txt"), build_log, Headers::for_name("build-log.txt")).await?;
        self.put_json("prowjob.json", prowjob_json(prowjob)).await?;
        build_id::advance_latest(&self.storage, &self.job, self.build_id).await?;
        self.put_json("finished.json", to_json(&finished)).await?;
        Ok(FinishReport { finished, artifacts: files.len(), skipped })
    }

    async fn read_json<T: serde::de::DeserializeOwned>(&self, name: &str, what: &'static str) -> Result<Option<T>> {
        let key = self.object(name);
        let Some(body) = self.storage.read(&key).await? else {
            return Ok(None);
        };
        serde_json::from_slice(&body).map(Some).map_err(|source| Error::Corrupt {
            url: self.storage.url().to_owned(),
            key,
            what,
            source,
        })
    }

    /// The build's `started.json`, if written.
    pub async fn read_started(&self) -> Result<Option<Started>> {
        self.read_json("started.json", "started.json").await
    }

    /// The build's `finished.json`, if written (absent while the build runs).
    pub async fn read_finished(&self) -> Result<Option<Finished>> {
        self.read_json("finished.json", "finished.json").await
    }

    /// The build's `prowjob.json`, if written.
    pub async fn read_prowjob(&self) -> Result<Option<Value>> {
        self.read_json("prowjob.json", "prowjob.json").await
    }
}

/// The build ids of `job` that have a directory, in increasing order.
pub async fn list_builds(storage: &Storage, job: &str) -> Result<Vec<u64>> {
    name::job(job)?;
    let mut builds: Vec<u64> =
        storage.list_directories(&format!("logs/{job}")).await?.iter().filter_map(|name| name.parse().ok()).collect();
    builds.sort_unstable();
    Ok(builds)
}

/// `started.json` and `finished.json` as Go's encoding/json writes them: compact, fields in
/// declaration order.
fn to_json(value: &impl Serialize) -> Vec<u8> {
    serde_json::to_vec(value).expect("started and finished serialize: string keys, no failing impls")
}

/// `prowjob.json` is tab-indented, as crier writes it.
fn prowjob_json(prowjob: &ProwJob) -> Vec<u8> {
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"\t");
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    prowjob.to_json().serialize(&mut serializer).expect("a JSON value serializes");
    out
}

/// What [`walk`] found: the files to upload, and the links it would not follow.
#[derive(Debug, Default)]
struct Walked {
    /// (`/`-separated relative path, path to read), sorted.
    files: Vec<(String, PathBuf)>,
    /// (`/`-separated relative path, why it is not uploaded), sorted.
    skipped: Vec<(String, String)>,
}

/// The regular files under `directory`. A symbolic link is never followed out of it: a job that
/// links `/etc/shadow` into its artifacts must not get the host's file uploaded. A link to a file
/// inside the directory is uploaded as that file; links to directories (a loop could hang the
/// walk) and links that lead outside or nowhere are skipped, each with its reason.
fn walk(directory: &Path) -> Result<Walked> {
    fn visit(root: &Path, directory: &Path, relative: &str, out: &mut Walked) -> Result<()> {
        let io = |source: std::io::Error| Error::Io { operation: "list", path: directory.to_path_buf(), source };
        for entry in fs_err::read_dir(directory).map_err(io)? {
            let entry = entry.map_err(io)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            let child = if relative.is_empty() { name } else { format!("{relative}/{name}") };
            let kind = entry.file_type().map_err(io)?;
            if kind.is_dir() {
                visit(root, &path, &child, out)?;
            } else if kind.is_file() {
                out.files.push((child, path));
            } else if kind.is_symlink() {
                match std::fs::canonicalize(&path) {
                    Ok(target) if !target.starts_with(root) => out
                        .skipped
                        .push((child, "a symbolic link out of the artifacts directory (not followed)".to_owned())),
                    Ok(target) if target.is_file() => out.files.push((child, target)),
                    Ok(_) => out.skipped.push((child, "a symbolic link to a directory (not followed)".to_owned())),
                    Err(_) => out.skipped.push((child, "a broken symbolic link".to_owned())),
                }
            }
        }
        Ok(())
    }
    let root = std::fs::canonicalize(directory).map_err(|source| Error::Io {
        operation: "list",
        path: directory.to_path_buf(),
        source,
    })?;
    let mut walked = Walked::default();
    visit(&root, &root, "", &mut walked)?;
    walked.files.sort();
    walked.skipped.sort();
    Ok(walked)
}

fn merge_metadata(directory: &Path, files: &[(String, PathBuf)], metadata: &mut Map<String, Value>) {
    let mut errors = Vec::new();
    for (relative, path) in files {
        let top_level = !relative.contains('/');
        if !(top_level && (relative == "metadata.json" || relative.ends_with("-metadata.json"))) {
            continue;
        }
        let parsed = fs_err::read(path)
            .map_err(|error| error.to_string())
            .and_then(|body| serde_json::from_slice::<Value>(&body).map_err(|error| error.to_string()));
        match parsed {
            Ok(Value::Object(object)) => {
                for (key, value) in object {
                    metadata.entry(key).or_insert(value);
                }
            }
            Ok(_) => errors.push(format!("{}: not a JSON object", directory.join(relative).display())),
            Err(error) => errors.push(format!("{}: {error}", directory.join(relative).display())),
        }
    }
    if !errors.is_empty() {
        metadata.insert("sidecar-errors".to_owned(), Value::from(errors));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn started_and_finished_use_prows_field_names_and_types() {
        let started = Started {
            timestamp: 1_700_000_000,
            repos: BTreeMap::from([("kubernetes/kops".to_owned(), "master:0123abc".to_owned())]),
            repo_commit: Some("0123abc".to_owned()),
            ..Started::default()
        };
        assert_eq!(
            String::from_utf8(to_json(&started)).expect("UTF-8"),
            r#"{"timestamp":1700000000,"repos":{"kubernetes/kops":"master:0123abc"},"repo-commit":"0123abc"}"#
        );
        let finished = Finished {
            timestamp: Some(1_700_000_100),
            passed: Some(false),
            result: Some(JobResult::Failure),
            revision: Some("0123abc".to_owned()),
            ..Finished::default()
        };
        assert_eq!(
            String::from_utf8(to_json(&finished)).expect("UTF-8"),
            r#"{"timestamp":1700000100,"passed":false,"result":"FAILURE","revision":"0123abc"}"#
        );
        assert_eq!(String::from_utf8(to_json(&Finished::default())).expect("UTF-8"), r#"{"passed":null}"#);
    }

    #[test]
    fn finished_json_from_other_writers_reads() {
        let crier: Finished =
            serde_json::from_str(r#"{"timestamp":5,"passed":true,"result":"success"}"#).expect("crier");
        assert_eq!(crier.result, Some(JobResult::Success));
        let error: Finished = serde_json::from_str(r#"{"passed":null,"result":"error"}"#).expect("error state");
        assert_eq!(error.result, Some(JobResult::Other("error".to_owned())));
        let metadata: Finished =
            serde_json::from_str(r#"{"passed":true,"metadata":{"links":{"a":"b"},"job-version":"v1"}}"#).expect("meta");
        assert_eq!(metadata.metadata["job-version"], "v1");
    }

    #[test]
    fn prowjobs_are_shaped_like_the_custom_resource() {
        let mut spec = Map::new();
        spec.insert("refs".to_owned(), serde_json::json!({"org": "kubernetes", "repo": "kops"}));
        let mut prowjob = ProwJob::new("e2e-kops-aws", 1_834_567_890_123_456_789, spec, 1_700_000_000);
        prowjob.complete(ProwJobState::Success, 1_700_000_100);
        let json = prowjob.to_json();
        assert_eq!(json["apiVersion"], "prow.k8s.io/v1");
        assert_eq!(json["kind"], "ProwJob");
        assert_eq!(json["spec"]["type"], "periodic");
        assert_eq!(json["spec"]["job"], "e2e-kops-aws");
        assert_eq!(json["spec"]["refs"]["repo"], "kops");
        assert_eq!(json["status"]["startTime"], "2023-11-14T22:13:20Z");
        assert_eq!(json["status"]["completionTime"], "2023-11-14T22:15:00Z");
        assert_eq!(json["status"]["state"], "success");
        assert_eq!(json["status"]["build_id"], "1834567890123456789");
        let name = json["metadata"]["name"].as_str().expect("a name");
        let groups: Vec<usize> = name.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12], "{name}");
        assert_eq!(name, uuid_for("e2e-kops-aws", 1_834_567_890_123_456_789), "stable");
        assert_ne!(name, uuid_for("e2e-kops-aws", 1_834_567_890_123_456_790));
        let text = String::from_utf8(prowjob_json(&prowjob)).expect("UTF-8");
        assert!(text.starts_with("{\n\t\"apiVersion\""), "tab-indented: {text}");
    }
}
