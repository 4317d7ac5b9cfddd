//! Presets, merged into a job exactly as Prow's `mergePreset` (pkg/config/jobs.go) does.
//!
//! A preset applies when the job has every one of its labels (a preset without labels applies
//! to every job). Its `env` and `volumeMounts` are appended to every container of the pod spec
//! (not init containers), its `volumes` and `tolerations` to the pod spec. Merging only ever
//! appends: an env var, volume or mount whose name the job or an earlier preset already uses,
//! or an identical toleration, is an error that stops the job from loading, not an override.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::load::{Preset, ProwJob, scalar_text};

/// A preset that cannot be merged into a job.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("job `{job}`: {}", self.reason())]
pub struct PresetClash {
    pub job: String,
    /// The preset's labels (see [`Preset::describe`]).
    pub preset: String,
    /// `env var`, `volume`, `volume mount` or `toleration`.
    pub kind: &'static str,
    /// The clashing name (a toleration is shown as JSON).
    pub name: String,
    /// The other preset's labels when two presets clash; `None` when the job has it.
    pub other: Option<String>,
}

impl PresetClash {
    /// What clashes, without the job: `preset a:b adds env var `X`, which the job already sets`.
    pub fn reason(&self) -> String {
        let owner = match &self.other {
            Some(other) => format!("preset {other} already adds"),
            None => "the job already sets".to_owned(),
        };
        format!("preset {} adds {} `{}`, which {owner}", self.preset, self.kind, self.name)
    }
}

/// Whether `preset` applies to a job with these labels.
pub fn applies(preset: &Preset, labels: &Map<String, Value>) -> bool {
    preset.labels.iter().all(|(key, value)| labels.get(key).is_some_and(|label| scalar_text(label) == *value))
}

/// The job with every preset that applies to it merged into its pod spec.
pub fn apply_presets(job: &ProwJob, presets: &[Preset]) -> Result<ProwJob, PresetClash> {
    let mut merged = job.clone();
    let empty = Map::new();
    let labels = job.fields.get("labels").and_then(Value::as_object).unwrap_or(&empty);
    let Some(Value::Object(spec)) = merged.fields.get_mut("spec") else {
        return Ok(merged);
    };
    // Who put each name there: `None` is the job itself, `Some(i)` the i-th preset.
    let mut owners: HashMap<(&'static str, String), Option<usize>> = HashMap::new();
    for container in containers(spec) {
        for (kind, key) in [("env var", "env"), ("volume mount", "volumeMounts")] {
            for item in list(container, key) {
                owners.insert((kind, name_of(item)), None);
            }
        }
    }
    for item in list(spec, "volumes") {
        owners.insert(("volume", name_of(item)), None);
    }
    for item in list(spec, "tolerations") {
        owners.insert(("toleration", item.to_string()), None);
    }

    for (index, preset) in presets.iter().enumerate() {
        if !applies(preset, labels) {
            continue;
        }
        let mut claim = |kind: &'static str, name: String| match owners.get(&(kind, name.clone())) {
            Some(owner) => Err(PresetClash {
                job: job.name.clone(),
                preset: preset.describe(),
                kind,
                name,
                other: owner.map(|owner| presets[owner].describe()),
            }),
            None => {
                owners.insert((kind, name), Some(index));
                Ok(())
            }
        };
        let container_count = containers(spec).count();
        for item in &preset.env {
            // Prow checks each container before appending, so the first container decides.
            if container_count > 0 {
                claim("env var", name_of(item))?;
            }
        }
        for item in &preset.volumes {
            claim("volume", name_of(item))?;
        }
        for item in &preset.volume_mounts {
            if container_count > 0 {
                claim("volume mount", name_of(item))?;
            }
        }
        for item in &preset.tolerations {
            claim("toleration", item.to_string())?;
        }
        for container in containers_mut(spec) {
            append(container, "env", &preset.env);
            append(container, "volumeMounts", &preset.volume_mounts);
        }
        append(spec, "volumes", &preset.volumes);
        append(spec, "tolerations", &preset.tolerations);
    }
    Ok(merged)
}

fn containers(spec: &Map<String, Value>) -> impl Iterator<Item = &Map<String, Value>> {
    spec.get("containers").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_object)
}

fn containers_mut(spec: &mut Map<String, Value>) -> impl Iterator<Item = &mut Map<String, Value>> {
    spec.get_mut("containers").and_then(Value::as_array_mut).into_iter().flatten().filter_map(Value::as_object_mut)
}

fn list<'a>(object: &'a Map<String, Value>, key: &str) -> &'a [Value] {
    object.get(key).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

fn name_of(item: &Value) -> String {
    item.get("name").map(scalar_text).unwrap_or_default()
}

fn append(object: &mut Map<String, Value>, key: &str, items: &[Value]) {
    if items.is_empty() {
        return;
    }
    let slot = object.entry(key).or_insert_with(|| Value::Array(Vec::new()));
    if !slot.is_array() {
        *slot = Value::Array(Vec::new());
    }
    if let Value::Array(existing) = slot {
        existing.extend(items.iter().cloned());
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::load::{ProwConfig, read_text};

    fn config(text: &str) -> ProwConfig {
        let mut config = ProwConfig::default();
        read_text(Path::new("jobs.yaml"), text, &mut config).expect("valid");
        config
    }

    const PRESETS: &str = "presets:\n- labels: {preset-ssh: \"true\"}\n  env: [{name: USER, value: prow}]\n  volumes: [{name: ssh, secret: {secretName: ssh-key}}]\n  volumeMounts: [{name: ssh, mountPath: /etc/ssh-key, readOnly: true}]\n- env: [{name: GOPROXY, value: 'https://proxy.golang.org'}]\n";

    #[test]
    fn matching_presets_are_appended_to_every_container() {
        let config = config(&format!(
            "{PRESETS}periodics:\n- name: a\n  labels: {{preset-ssh: \"true\"}}\n  spec:\n    containers:\n    - image: x\n      env: [{{name: A, value: '1'}}]\n    - image: y\n- name: b\n  spec: {{containers: [{{image: z}}]}}\n"
        ));
        let merged = apply_presets(&config.jobs[0], &config.presets).expect("no clash");
        let spec = &merged.fields["spec"];
        let env_names = |index: usize| -> Vec<String> {
            spec["containers"][index]["env"].as_array().expect("env").iter().map(name_of).collect()
        };
        assert_eq!(env_names(0), ["A", "USER", "GOPROXY"]);
        assert_eq!(env_names(1), ["USER", "GOPROXY"]);
        assert_eq!(spec["volumes"][0]["secret"]["secretName"], "ssh-key");
        assert_eq!(spec["containers"][1]["volumeMounts"][0]["mountPath"], "/etc/ssh-key");
        let unlabelled = apply_presets(&config.jobs[1], &config.presets).expect("no clash");
        assert_eq!(unlabelled.fields["spec"]["containers"][0]["env"][0]["name"], "GOPROXY");
        assert!(unlabelled.fields["spec"].get("volumes").is_none());
    }

    #[test]
    fn a_name_the_job_or_another_preset_has_is_a_clash() {
        let config = config(&format!(
            "{PRESETS}- labels: {{preset-other: \"true\"}}\n  volumes: [{{name: ssh, emptyDir: {{}}}}]\nperiodics:\n- name: sets-user\n  labels: {{preset-ssh: \"true\"}}\n  spec: {{containers: [{{image: x, env: [{{name: USER, value: me}}]}}]}}\n- name: two-presets\n  labels: {{preset-ssh: \"true\", preset-other: \"true\"}}\n  spec: {{containers: [{{image: x}}]}}\n"
        ));
        let clash = apply_presets(&config.jobs[0], &config.presets).expect_err("env clash");
        assert_eq!(
            clash.to_string(),
            "job `sets-user`: preset preset-ssh:true adds env var `USER`, which the job already sets"
        );
        let clash = apply_presets(&config.jobs[1], &config.presets).expect_err("volume clash");
        assert_eq!(
            clash.to_string(),
            "job `two-presets`: preset preset-other:true adds volume `ssh`, which preset preset-ssh:true already adds"
        );
    }
}
