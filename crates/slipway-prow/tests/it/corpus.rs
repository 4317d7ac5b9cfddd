//! Every corpus file loads, lints clean, merges presets as Prow does, and imports without losing
//! a field.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Map, Value, json};
use slipway_job_model::spec::{CommandSpec, JobSpec};
use slipway_prow::{JobType, ProwConfig, ProwJob, apply_presets, lint, load, to_slipway};

fn corpus() -> PathBuf {
    slipway_test::paths::corpus().join("prow/config")
}

fn corpus_config() -> ProwConfig {
    load(&[corpus()]).expect("the corpus loads")
}

fn job<'a>(config: &'a ProwConfig, name: &str) -> &'a ProwJob {
    config.jobs.iter().find(|job| job.name == name).unwrap_or_else(|| panic!("no job {name}"))
}

#[test]
fn every_corpus_file_loads_and_lints_clean() {
    let config = corpus_config();
    assert_eq!(config.files.len(), 9);
    assert!(config.files.iter().any(|file| file.core && file.path.ends_with("prow/config.yaml")));
    let count = |job_type| config.jobs.iter().filter(|job| job.job_type == job_type).count();
    assert_eq!((count(JobType::Presubmit), count(JobType::Postsubmit), count(JobType::Periodic)), (28, 4, 27));
    assert_eq!(config.presets.len(), 15);
    let findings: Vec<String> = lint(&config).iter().map(ToString::to_string).collect();
    assert_eq!(findings, Vec::<String>::new());
}

#[test]
fn crio_jobs_get_the_presets_prow_gives_them() {
    let config = corpus_config();
    let merged = apply_presets(job(&config, "ci-node-crio-features"), &config.presets).expect("no clash");
    let container = &merged.fields["spec"]["containers"][0];
    let env: Vec<(&str, &str)> = container["env"]
        .as_array()
        .expect("env")
        .iter()
        .map(|item| (item["name"].as_str().expect("name"), item["value"].as_str().expect("value")))
        .collect();
    // The job's own env, then preset-service-account, preset-k8s-ssh and the two label-less
    // presets (GOPROXY, GOTOOLCHAIN), in config.yaml order, as mergePreset appends them.
    assert_eq!(
        env,
        [
            ("GOPATH", "/go"),
            ("KUBE_SSH_USER", "core"),
            ("IGNITION_INJECT_GCE_SSH_PUBLIC_KEY_FILE", "1"),
            ("GOOGLE_APPLICATION_CREDENTIALS", "/etc/service-account/service-account.json"),
            ("E2E_GOOGLE_APPLICATION_CREDENTIALS", "/etc/service-account/service-account.json"),
            ("GOOGLE_APPLICATION_CREDENTIALS_DEPRECATED", "Migrate to workload identity, contact sig-testing"),
            ("USER", "prow"),
            ("JENKINS_GCE_SSH_PRIVATE_KEY_FILE", "/etc/ssh-key-secret/ssh-private"),
            ("JENKINS_GCE_SSH_PUBLIC_KEY_FILE", "/etc/ssh-key-secret/ssh-public"),
            ("GCE_SSH_PRIVATE_KEY_FILE", "/etc/ssh-key-secret/ssh-private"),
            ("GCE_SSH_PUBLIC_KEY_FILE", "/etc/ssh-key-secret/ssh-public"),
            ("GOPROXY", "https://proxy.golang.org"),
            ("GOTOOLCHAIN", "auto"),
        ]
    );
    assert_eq!(
        merged.fields["spec"]["volumes"],
        json!([
            {"name": "service", "secret": {"secretName": "service-account"}},
            {"name": "ssh", "secret": {"defaultMode": 256, "secretName": "ssh-key-secret"}},
        ])
    );
    assert_eq!(
        container["volumeMounts"],
        json!([
            {"name": "service", "mountPath": "/etc/service-account", "readOnly": true},
            {"name": "ssh", "mountPath": "/etc/ssh-key-secret", "readOnly": true},
        ])
    );

    let imported = to_slipway(&merged);
    let volumes: Vec<_> = imported
        .spec
        .volumes
        .iter()
        .map(|volume| (volume.mount_path.as_str(), volume.unavailable.as_deref(), volume.read_only))
        .collect();
    assert_eq!(
        volumes,
        [
            ("/etc/service-account", Some("secret service-account"), true),
            ("/etc/ssh-key-secret", Some("secret ssh-key-secret"), true)
        ]
    );
}

#[test]
fn a_job_that_sets_a_preset_env_var_clashes() {
    let config = corpus_config();
    let mut job = job(&config, "ci-node-crio-features").clone();
    let env = job.fields["spec"]["containers"][0]["env"].as_array_mut().expect("env");
    env.push(json!({"name": "GOPROXY", "value": "off"}));
    let clash = apply_presets(&job, &config.presets).expect_err("GOPROXY is set by a preset");
    assert_eq!(
        clash.to_string(),
        "job `ci-node-crio-features`: preset (no labels: applies to every job) adds env var `GOPROXY`, which the job already sets"
    );
}

#[test]
fn import_keeps_every_field() {
    let config = corpus_config();
    for job in &config.jobs {
        let merged = apply_presets(job, &config.presets).expect("no clash");
        let imported = to_slipway(&merged);
        let spec = &imported.spec;
        let prow = spec.prow.as_ref().and_then(Value::as_object).expect("prow is an object");
        assert_eq!(prow["type"], job.job_type.as_str());
        assert_eq!(prow.get("repo").and_then(Value::as_str), job.repo.as_deref());
        let mut leftovers = prow.clone();
        leftovers.remove("type");
        leftovers.remove("repo");
        let rebuilt = merge(mapped_as_prow(spec), Value::Object(leftovers));
        assert_eq!(
            normalize(&rebuilt),
            normalize(&Value::Object(merged.fields.clone())),
            "job {} does not round-trip",
            job.name
        );
        // Nothing of the original job is left behind either: a field is in the mapped part or
        // under prow, never in both.
        assert!(prow.get("name").is_none() && prow.get("labels").is_none(), "{}", job.name);
    }
}

/// The Prow fields a [`JobSpec`]'s mapped part stands for: the inverse of the import.
fn mapped_as_prow(spec: &JobSpec) -> Value {
    let mut job = Map::new();
    job.insert("name".into(), json!(spec.name));
    let strings = |map: &BTreeMap<String, String>| json!(map);
    if !spec.labels.is_empty() {
        job.insert("labels".into(), strings(&spec.labels));
    }
    if !spec.annotations.is_empty() {
        job.insert("annotations".into(), strings(&spec.annotations));
    }
    if let Some(limit) = spec.max_concurrency {
        job.insert("max_concurrency".into(), json!(limit));
    }
    let mut decoration = Map::new();
    for (key, value) in [("timeout", &spec.timeout), ("grace_period", &spec.grace_period)] {
        if let Some(value) = value {
            decoration.insert(key.into(), json!(value));
        }
    }
    if !decoration.is_empty() {
        job.insert("decoration_config".into(), Value::Object(decoration));
    }
    for (key, value) in
        [("cron", &spec.cron), ("interval", &spec.interval), ("minimum_interval", &spec.minimum_interval)]
    {
        if let Some(value) = value {
            job.insert(key.into(), json!(value));
        }
    }
    if !spec.extra_refs.is_empty() {
        let refs: Vec<Value> = spec
            .extra_refs
            .iter()
            .map(|reference| {
                let mut item = json!({"org": reference.org, "repo": reference.repo});
                for (key, value) in [
                    ("base_ref", &reference.base_ref),
                    ("path_alias", &reference.path_alias),
                    ("clone_uri", &reference.clone_uri),
                ] {
                    if let Some(value) = value {
                        item[key] = json!(value);
                    }
                }
                if reference.workdir {
                    item["workdir"] = json!(true);
                }
                item
            })
            .collect();
        job.insert("extra_refs".into(), Value::Array(refs));
    }
    let mut container = Map::new();
    if let Some(image) = &spec.image {
        container.insert("image".into(), json!(image));
        if let Some(policy) = &spec.pull_policy {
            let kubernetes = match policy.as_str() {
                "always" => "Always",
                "never" => "Never",
                _ => "IfNotPresent",
            };
            container.insert("imagePullPolicy".into(), json!(kubernetes));
        }
    }
    if let Some(workdir) = &spec.workdir {
        container.insert("workingDir".into(), json!(workdir));
    }
    match &spec.command {
        Some(CommandSpec::Argv(argv)) => {
            container.insert("command".into(), json!(argv));
        }
        Some(CommandSpec::Shell(line)) => panic!("a Prow command is a list, not `{line}`"),
        None => {}
    }
    if !spec.args.is_empty() {
        container.insert("args".into(), json!(spec.args));
    }
    if !spec.env.is_empty() {
        let env: Vec<Value> = spec.env.iter().map(|(name, value)| json!({"name": name, "value": value})).collect();
        container.insert("env".into(), Value::Array(env));
    }
    let mut volumes: Vec<Value> = Vec::new();
    if !spec.volumes.is_empty() {
        let mounts: Vec<Value> = spec
            .volumes
            .iter()
            .map(|volume| json!({"name": volume.name, "mountPath": volume.mount_path, "readOnly": volume.read_only}))
            .collect();
        container.insert("volumeMounts".into(), Value::Array(mounts));
        for volume in &spec.volumes {
            let source = match (&volume.host_path, &volume.unavailable) {
                (Some(path), _) => json!({"name": volume.name, "hostPath": {"path": path}}),
                (None, None) => json!({"name": volume.name, "emptyDir": {}}),
                (None, Some(_)) => json!({"name": volume.name}),
            };
            if !volumes.iter().any(|known| known["name"] == volume.name.as_str()) {
                volumes.push(source);
            }
        }
    }
    let mut pod = Map::new();
    if !container.is_empty() {
        pod.insert("containers".into(), json!([container]));
    }
    if !volumes.is_empty() {
        pod.insert("volumes".into(), Value::Array(volumes));
    }
    if !pod.is_empty() {
        job.insert("spec".into(), Value::Object(pod));
    }
    Value::Object(job)
}

/// `b` laid over `a`: objects key by key, lists of named items name by name, other lists index
/// by index.
fn merge(a: Value, b: Value) -> Value {
    match (a, b) {
        (Value::Object(mut a), Value::Object(b)) => {
            for (key, value) in b {
                let merged = match a.remove(&key) {
                    Some(existing) => merge(existing, value),
                    None => value,
                };
                a.insert(key, merged);
            }
            Value::Object(a)
        }
        (Value::Array(a), Value::Array(b)) => {
            let named = |items: &[Value]| items.iter().all(|item| item.get("name").is_some_and(Value::is_string));
            if named(&a) && named(&b) {
                let mut merged = a;
                for item in b {
                    match merged.iter().position(|known| known["name"] == item["name"]) {
                        Some(index) => {
                            let existing = std::mem::take(&mut merged[index]);
                            merged[index] = merge(existing, item);
                        }
                        None => merged.push(item),
                    }
                }
                Value::Array(merged)
            } else {
                let length = a.len().max(b.len());
                let mut a = a.into_iter();
                let mut b = b.into_iter();
                Value::Array(
                    (0..length)
                        .map(|_| match (a.next(), b.next()) {
                            (Some(a), Some(b)) => merge(a, b),
                            (Some(only), None) | (None, Some(only)) => only,
                            (None, None) => Value::Null,
                        })
                        .collect(),
                )
            }
        }
        (_, b) => b,
    }
}

/// A job in a form that compares what matters: scalars as the strings Kubernetes reads, lists of
/// named items as maps by name, `false` flags that mean their default dropped.
fn normalize(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(key, value)| !(matches!(key.as_str(), "readOnly" | "workdir") && **value == json!(false)))
                .map(|(key, value)| (key.clone(), normalize(value)))
                .collect(),
        ),
        Value::Array(items)
            if !items.is_empty() && items.iter().all(|item| item.get("name").is_some_and(Value::is_string)) =>
        {
            Value::Object(
                items
                    .iter()
                    .map(|item| (item["name"].as_str().unwrap_or_default().to_owned(), normalize(item)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(normalize).collect()),
        Value::String(text) => Value::String(text.clone()),
        Value::Null => Value::Null,
        other => Value::String(other.to_string()),
    }
}
