//! Turning a Prow job into a slipway [`JobSpec`], losing nothing.
//!
//! What slipway understands is mapped: the container's image, command, args, env and working
//! directory, the decoration timeouts, the periodic's schedule, concurrency, labels, annotations,
//! `extra_refs`, and volumes joined with their mounts. Everything else stays, unchanged and at
//! the same path, under [`JobSpec::prow`], together with the job's `type` and `repo`; so a field
//! slipway does not use is kept, never dropped. Import works field by field on a copy of the
//! job: a field is removed from the copy only once it has been mapped, and the copy that is left
//! is `prow`.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use slipway_job_model::spec::{CommandSpec, JobSpec, RefSpec, VolumeSpec};

use crate::load::{JobType, ProwJob, scalar_text};

/// The JSON schema of `slipway job import-prow --format json`: `{jobs, notes, errors}`.
pub const SCHEMA: &str = "slipway.job.import/v1";

/// A job as slipway writes it, and what could not be carried over for people to read.
#[derive(Debug, Clone, PartialEq)]
pub struct Import {
    pub spec: JobSpec,
    /// One sentence per thing that will not work the same locally (a secret, a second container).
    pub notes: Vec<String>,
}

/// An env var whose value comes from the cluster (`valueFrom`), which a local run cannot read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterEnv {
    pub name: String,
    /// Where it comes from: `secret `x` key `y``.
    pub source: String,
}

/// Maps `job` (with its presets already applied, see [`crate::apply_presets`]).
pub fn to_slipway(job: &ProwJob) -> Import {
    let mut rest = job.fields.clone();
    let mut notes = Vec::new();
    let mut spec = JobSpec { name: job.name.clone(), ..JobSpec::default() };
    if rest.get("name").is_some_and(is_scalar) {
        rest.remove("name");
    }
    if let Some(labels) = take_string_map(&mut rest, "labels") {
        spec.labels = labels;
    }
    if let Some(annotations) = take_string_map(&mut rest, "annotations") {
        spec.annotations = annotations;
    }
    if let Some(Value::Number(number)) = rest.get("max_concurrency")
        && let Some(limit) = number.as_u64().and_then(|limit| u32::try_from(limit).ok())
    {
        spec.max_concurrency = Some(limit);
        rest.remove("max_concurrency");
    }
    if let Some(Value::Object(decoration)) = rest.get_mut("decoration_config") {
        spec.timeout = take_string(decoration, "timeout");
        spec.grace_period = take_string(decoration, "grace_period");
        if decoration.is_empty() {
            rest.remove("decoration_config");
        }
    }
    if job.job_type == JobType::Periodic {
        schedule(&mut rest, &mut spec, &mut notes);
    }
    extra_refs(&mut rest, &mut spec);
    if let Some(Value::Object(pod)) = rest.get_mut("spec") {
        pod_spec(pod, &mut spec, &mut notes);
        if pod.is_empty() {
            rest.remove("spec");
        }
    }

    let mut prow = Map::new();
    prow.insert("type".to_owned(), Value::String(job.job_type.as_str().to_owned()));
    if let Some(repo) = &job.repo {
        prow.insert("repo".to_owned(), Value::String(repo.clone()));
    }
    if rest.get("agent").and_then(Value::as_str).is_some_and(|agent| agent != "kubernetes") {
        notes.push(format!(
            "runs on the `{}` agent; slipway runs the pod spec only",
            rest.get("agent").map(scalar_text).unwrap_or_default()
        ));
    }
    prow.extend(rest);
    spec.prow = Some(Value::Object(prow));
    Import { spec, notes }
}

/// The env vars of an imported job that come from the cluster, read back from `prow`.
pub fn cluster_env(spec: &JobSpec) -> Vec<ClusterEnv> {
    let env = spec
        .prow
        .as_ref()
        .and_then(|prow| prow.pointer("/spec/containers/0/env"))
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    env.iter()
        .filter_map(|item| {
            let source = item.get("valueFrom")?;
            Some(ClusterEnv { name: item.get("name").map(scalar_text)?, source: describe_value_from(source) })
        })
        .collect()
}

fn schedule(rest: &mut Map<String, Value>, spec: &mut JobSpec, notes: &mut Vec<String>) {
    if let Some(cron) = rest.get("cron").and_then(Value::as_str).map(str::to_owned) {
        let trimmed = cron.trim();
        if let Some(every) = trimmed.strip_prefix("@every ") {
            spec.interval = Some(every.trim().to_owned());
        } else if let Some((zone, expression)) = split_timezone(trimmed) {
            notes.push(format!(
                "cron `{cron}`: Prow does not honour a time zone prefix (it stops scheduling this job); imported as cron `{expression}` with timezone `{zone}`"
            ));
            spec.cron = Some(expression.to_owned());
            spec.timezone = Some(zone.to_owned());
        } else {
            spec.cron = Some(cron.clone());
        }
        rest.remove("cron");
    }
    spec.interval = spec.interval.take().or_else(|| take_string(rest, "interval"));
    spec.minimum_interval = take_string(rest, "minimum_interval");
}

/// `TZ=Europe/Berlin 0 5 * * *` as (`Europe/Berlin`, `0 5 * * *`).
pub(crate) fn split_timezone(cron: &str) -> Option<(&str, &str)> {
    let rest = cron.strip_prefix("CRON_TZ=").or_else(|| cron.strip_prefix("TZ="))?;
    let (zone, expression) = rest.split_once(char::is_whitespace)?;
    Some((zone, expression.trim()))
}

fn extra_refs(rest: &mut Map<String, Value>, spec: &mut JobSpec) {
    let Some(Value::Array(refs)) = rest.get_mut("extra_refs") else {
        return;
    };
    if !refs
        .iter()
        .all(|item| item.get("org").is_some_and(Value::is_string) && item.get("repo").is_some_and(Value::is_string))
    {
        return;
    }
    let mut leftovers = Vec::new();
    for item in refs.iter_mut() {
        let Value::Object(fields) = item else { continue };
        let workdir = match fields.get("workdir") {
            Some(Value::Bool(workdir)) => {
                let workdir = *workdir;
                fields.remove("workdir");
                workdir
            }
            _ => false,
        };
        spec.extra_refs.push(RefSpec {
            org: take_string(fields, "org").unwrap_or_default(),
            repo: take_string(fields, "repo").unwrap_or_default(),
            base_ref: take_string(fields, "base_ref"),
            path_alias: take_string(fields, "path_alias"),
            workdir,
            clone_uri: take_string(fields, "clone_uri"),
        });
        leftovers.push(Value::Object(std::mem::take(fields)));
    }
    if leftovers.iter().all(|left| left.as_object().is_some_and(Map::is_empty)) {
        rest.remove("extra_refs");
    } else {
        rest.insert("extra_refs".to_owned(), Value::Array(leftovers));
    }
}

fn pod_spec(pod: &mut Map<String, Value>, spec: &mut JobSpec, notes: &mut Vec<String>) {
    let mut volumes = match pod.remove("volumes") {
        Some(Value::Array(volumes)) => volumes,
        Some(other) => {
            pod.insert("volumes".to_owned(), other);
            Vec::new()
        }
        None => Vec::new(),
    };
    let mut used = vec![false; volumes.len()];
    if let Some(Value::Array(containers)) = pod.get_mut("containers") {
        if containers.len() > 1 {
            notes.push(format!(
                "has {} containers; slipway runs the first, the others are kept under prow.spec.containers",
                containers.len()
            ));
        }
        if let Some(Value::Object(container)) = containers.first_mut() {
            self::container(container, &volumes, &mut used, spec, notes);
        }
        if containers.len() == 1 && containers[0].as_object().is_some_and(Map::is_empty) {
            pod.remove("containers");
        }
    }
    for (volume, used) in volumes.iter_mut().zip(used) {
        if used {
            strip_mapped(volume);
        }
    }
    volumes.retain(|volume| volume.as_object().is_none_or(|fields| !fields.is_empty()));
    if !volumes.is_empty() {
        pod.insert("volumes".to_owned(), Value::Array(volumes));
    }
}

fn container(
    container: &mut Map<String, Value>,
    volumes: &[Value],
    used: &mut [bool],
    spec: &mut JobSpec,
    notes: &mut Vec<String>,
) {
    spec.image = take_string(container, "image");
    // Kubernetes' three policies map to slipway's; anything else stays under `prow:` as written.
    let policy = match container.get("imagePullPolicy").and_then(Value::as_str) {
        Some("Always") => Some("always"),
        Some("IfNotPresent") => Some("missing"),
        Some("Never") => Some("never"),
        _ => None,
    };
    if let Some(policy) = policy {
        container.remove("imagePullPolicy");
        spec.pull_policy = Some(policy.to_owned());
    }
    spec.workdir = take_string(container, "workingDir");
    if let Some(command) = take_strings(container, "command") {
        spec.command = Some(CommandSpec::Argv(command));
    }
    if let Some(args) = take_strings(container, "args") {
        spec.args = args;
    }
    if let Some(Value::Array(env)) = container.get_mut("env") {
        env.retain(|item| {
            let plain = item.as_object().is_some_and(|fields| {
                fields.keys().all(|key| key == "name" || key == "value")
                    && fields.get("name").is_some_and(Value::is_string)
                    && fields.get("value").is_none_or(is_scalar)
            });
            if plain {
                let name = item.get("name").map(scalar_text).unwrap_or_default();
                spec.env.insert(name, item.get("value").map(scalar_text).unwrap_or_default());
            } else if let (Some(name), Some(source)) = (item.get("name"), item.get("valueFrom")) {
                let name = scalar_text(name);
                notes.push(format!(
                    "env {name} comes from {}, not available locally; pass it with --env {name}=...",
                    describe_value_from(source)
                ));
            }
            !plain
        });
        if env.is_empty() {
            container.remove("env");
        }
    }
    if let Some(Value::Array(mounts)) = container.get_mut("volumeMounts") {
        for mount in mounts.iter_mut() {
            let Value::Object(fields) = mount else { continue };
            let (Some(name), Some(mount_path)) =
                (fields.get("name").and_then(Value::as_str), fields.get("mountPath").and_then(Value::as_str))
            else {
                continue;
            };
            let (name, mount_path) = (name.to_owned(), mount_path.to_owned());
            let index = volumes.iter().position(|volume| volume.get("name").and_then(Value::as_str) == Some(&name));
            let (host_path, unavailable) = match index {
                Some(index) => {
                    used[index] = true;
                    volume_source(&volumes[index])
                }
                None => (None, Some(format!("not defined (no volume `{name}` in the pod spec)"))),
            };
            if let Some(reason) = &unavailable {
                notes.push(format!(
                    "volume {name} at {mount_path} comes from {reason}, not available locally; it is mounted empty unless you pass --volume {name}=PATH"
                ));
            }
            let read_only = matches!(fields.get("readOnly"), Some(Value::Bool(true)));
            if fields.get("readOnly").is_some_and(Value::is_boolean) {
                fields.remove("readOnly");
            }
            fields.remove("mountPath");
            if fields.len() == 1 {
                fields.remove("name");
            }
            spec.volumes.push(VolumeSpec { name, mount_path, host_path, read_only, unavailable });
        }
        mounts.retain(|mount| mount.as_object().is_none_or(|fields| !fields.is_empty()));
        if mounts.is_empty() {
            container.remove("volumeMounts");
        }
    }
}

/// The one volume source of a volume (`hostPath`, `secret`, ...), if it has exactly one.
fn source_kind(fields: &Map<String, Value>) -> Option<&str> {
    let mut kinds = fields.keys().filter(|key| key.as_str() != "name");
    let kind = kinds.next()?;
    kinds.next().is_none().then_some(kind.as_str())
}

/// What a mounted volume is for slipway: a host path (`Some(path)`), an empty directory
/// (neither), or something only the cluster provides (why it is unavailable).
fn volume_source(volume: &Value) -> (Option<String>, Option<String>) {
    let Some(fields) = volume.as_object() else {
        return (None, Some("an invalid volume".to_owned()));
    };
    let Some(kind) = source_kind(fields) else {
        return (None, Some("a volume with several sources".to_owned()));
    };
    let source = &fields[kind];
    match kind {
        "hostPath" => match source.get("path").and_then(Value::as_str) {
            Some(path) => (Some(path.to_owned()), None),
            None => (None, Some("a host path without a path".to_owned())),
        },
        "emptyDir" => (None, None),
        "secret" => (None, Some(format!("secret {}", field_text(source, "secretName")))),
        "configMap" => (None, Some(format!("configMap {}", field_text(source, "name")))),
        "persistentVolumeClaim" => (None, Some(format!("persistentVolumeClaim {}", field_text(source, "claimName")))),
        other => (None, Some(other.to_owned())),
    }
}

/// Removes from a mounted volume what its [`VolumeSpec`]s carry: the name, a host path's path,
/// an empty `emptyDir`. What is left (a secret, a host path `type`) stays, with the name.
fn strip_mapped(volume: &mut Value) {
    let Value::Object(fields) = volume else { return };
    match source_kind(fields) {
        Some("hostPath") => {
            if let Some(Value::Object(host)) = fields.get_mut("hostPath")
                && host.get("path").is_some_and(Value::is_string)
            {
                host.remove("path");
                if host.is_empty() {
                    fields.remove("hostPath");
                }
            }
        }
        Some("emptyDir")
            if fields.get("emptyDir").is_some_and(|empty| empty.as_object().is_some_and(Map::is_empty)) =>
        {
            fields.remove("emptyDir");
        }
        _ => {}
    }
    if fields.len() == 1 && fields.get("name").is_some_and(Value::is_string) {
        fields.remove("name");
    }
}

fn describe_value_from(source: &Value) -> String {
    let reference = |key: &str| source.get(key);
    if let Some(secret) = reference("secretKeyRef") {
        format!("secret {} key {}", field_text(secret, "name"), field_text(secret, "key"))
    } else if let Some(map) = reference("configMapKeyRef") {
        format!("configMap {} key {}", field_text(map, "name"), field_text(map, "key"))
    } else if let Some(field) = reference("fieldRef") {
        format!("the pod field {}", field_text(field, "fieldPath"))
    } else if let Some(resource) = reference("resourceFieldRef") {
        format!("the container resource {}", field_text(resource, "resource"))
    } else {
        format!("the cluster ({source})")
    }
}

fn field_text(object: &Value, key: &str) -> String {
    object.get(key).map_or_else(|| "(unnamed)".to_owned(), scalar_text)
}

fn is_scalar(value: &Value) -> bool {
    !(value.is_array() || value.is_object())
}

fn take_string(object: &mut Map<String, Value>, key: &str) -> Option<String> {
    match object.get(key) {
        Some(Value::String(text)) => {
            let text = text.clone();
            object.remove(key);
            Some(text)
        }
        _ => None,
    }
}

/// A list of scalars as strings (`- 25` is the argument `25`, as Kubernetes reads it).
fn take_strings(object: &mut Map<String, Value>, key: &str) -> Option<Vec<String>> {
    let Some(Value::Array(items)) = object.get(key) else {
        return None;
    };
    if !items.iter().all(|item| is_scalar(item) && !item.is_null()) {
        return None;
    }
    let strings = items.iter().map(scalar_text).collect();
    object.remove(key);
    Some(strings)
}

fn take_string_map(object: &mut Map<String, Value>, key: &str) -> Option<BTreeMap<String, String>> {
    let Some(Value::Object(map)) = object.get(key) else {
        return None;
    };
    if !map.values().all(|value| is_scalar(value) && !value.is_null()) {
        return None;
    }
    let strings = map.iter().map(|(key, value)| (key.clone(), scalar_text(value))).collect();
    object.remove(key);
    Some(strings)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_json::json;

    use super::*;
    use crate::load::{ProwConfig, read_text};

    fn import(text: &str) -> Import {
        let mut config = ProwConfig::default();
        read_text(Path::new("jobs.yaml"), text, &mut config).expect("valid");
        to_slipway(&config.jobs[0])
    }

    #[test]
    fn schedules_map_to_slipway_schedules() {
        let every = import("periodics:\n- name: a\n  cron: '@every 2h'\n");
        assert_eq!((every.spec.cron, every.spec.interval), (None, Some("2h".to_owned())));
        let zoned = import("periodics:\n- name: a\n  cron: 'TZ=America/New_York 30 20 * * *'\n");
        assert_eq!(zoned.spec.cron.as_deref(), Some("30 20 * * *"));
        assert_eq!(zoned.spec.timezone.as_deref(), Some("America/New_York"));
        assert_eq!(zoned.notes.len(), 1, "{:?}", zoned.notes);
        let minimum = import("periodics:\n- name: a\n  minimum_interval: 30m\n  max_concurrency: 1\n");
        assert_eq!((minimum.spec.minimum_interval.as_deref(), minimum.spec.max_concurrency), (Some("30m"), Some(1)));
    }

    #[test]
    fn cluster_env_and_volumes_are_kept_and_explained() {
        let imported = import(
            "presubmits:\n  org/repo:\n  - name: pull-a\n    always_run: true\n    spec:\n      volumes:\n      - {name: graph, emptyDir: {}}\n      - {name: modules, hostPath: {path: /lib/modules, type: Directory}}\n      - {name: creds, secret: {secretName: aws, defaultMode: 0400}}\n      - {name: unused, emptyDir: {}}\n      containers:\n      - image: golang\n        env:\n        - {name: PLAIN, value: x}\n        - name: TOKEN\n          valueFrom: {secretKeyRef: {name: bot, key: token}}\n        volumeMounts:\n        - {name: graph, mountPath: /docker-graph}\n        - {name: modules, mountPath: /lib/modules, readOnly: true}\n        - {name: creds, mountPath: /etc/aws, subPath: config}\n",
        );
        let spec = &imported.spec;
        assert_eq!(spec.env, BTreeMap::from([("PLAIN".to_owned(), "x".to_owned())]));
        let volumes: Vec<_> = spec
            .volumes
            .iter()
            .map(|volume| {
                (volume.name.as_str(), volume.host_path.as_deref(), volume.unavailable.as_deref(), volume.read_only)
            })
            .collect();
        assert_eq!(
            volumes,
            [
                ("graph", None, None, false),
                ("modules", Some("/lib/modules"), None, true),
                ("creds", None, Some("secret aws"), false)
            ]
        );
        assert_eq!(
            spec.prow,
            Some(json!({
                "type": "presubmit",
                "repo": "org/repo",
                "always_run": true,
                "spec": {
                    "containers": [{
                        "env": [{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "bot", "key": "token"}}}],
                        "volumeMounts": [{"name": "creds", "subPath": "config"}],
                    }],
                    "volumes": [
                        {"name": "modules", "hostPath": {"type": "Directory"}},
                        {"name": "creds", "secret": {"secretName": "aws", "defaultMode": 256}},
                        {"name": "unused", "emptyDir": {}},
                    ],
                },
            }))
        );
        assert_eq!(
            cluster_env(spec),
            [ClusterEnv { name: "TOKEN".to_owned(), source: "secret bot key token".to_owned() }]
        );
        assert_eq!(
            imported.notes,
            [
                "env TOKEN comes from secret bot key token, not available locally; pass it with --env TOKEN=...",
                "volume creds at /etc/aws comes from secret aws, not available locally; it is mounted empty unless you pass --volume creds=PATH",
            ]
        );
    }
}
