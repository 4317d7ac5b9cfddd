//! Container images of Kubernetes workloads: Pods, Deployments, DaemonSets, StatefulSets,
//! ReplicaSets, Jobs and CronJobs (and `List`s of them), containers, init containers and
//! ephemeral containers alike. YAML documents that are not Kubernetes objects are skipped.

use slipway_core::ImageReference;

use super::Located;
use crate::yaml::Node;

/// One container's image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadImage {
    /// The `image:` value.
    pub value: Located,
    /// The parsed reference.
    pub image: ImageReference,
    /// The object (`Deployment/descheduler`).
    pub object: String,
    /// The container's name.
    pub container: String,
}

/// A cheap test that skips files which cannot hold a container image.
pub fn may_hold_workloads(text: &str) -> bool {
    text.contains("image") && text.contains("kind")
}

/// The pod spec of an object of `kind`, if it is a workload.
pub fn pod_spec<'a>(kind: &str, object: &'a Node) -> Option<&'a Node> {
    let spec = object.get("spec")?;
    match kind {
        "Pod" => Some(spec),
        "Deployment" | "DaemonSet" | "StatefulSet" | "ReplicaSet" | "ReplicationController" | "Job" => {
            spec.get("template")?.get("spec")
        }
        "CronJob" => spec.get("jobTemplate")?.get("spec")?.get("template")?.get("spec"),
        _ => None,
    }
}

/// The container lists of a pod spec, with whether each is an init list.
pub const CONTAINER_LISTS: &[&str] = &["initContainers", "containers", "ephemeralContainers"];

/// Every Kubernetes object in a parsed file, flattening `List`s: `(kind, name, object)`.
pub fn objects(documents: &[Node]) -> Vec<(String, String, &Node)> {
    let mut found = Vec::new();
    for document in documents {
        collect_objects(document, &mut found);
    }
    found
}

fn collect_objects<'a>(node: &'a Node, found: &mut Vec<(String, String, &'a Node)>) {
    let (Some(kind), Some(_)) =
        (node.get("kind").and_then(Node::as_str), node.get("apiVersion").and_then(Node::as_str))
    else {
        return;
    };
    if kind == "List" || kind.ends_with("List") {
        for item in node.get("items").map(Node::items).unwrap_or_default() {
            collect_objects(item, found);
        }
        return;
    }
    let name =
        node.get("metadata").and_then(|metadata| metadata.get("name")).and_then(Node::as_str).unwrap_or("").to_owned();
    found.push((kind.to_owned(), name, node));
}

/// Container images in one parsed file.
pub fn read(path: &str, source: &str, documents: &[Node]) -> Vec<WorkloadImage> {
    let mut images = Vec::new();
    for (kind, name, object) in objects(documents) {
        let Some(spec) = pod_spec(&kind, object) else {
            continue;
        };
        for list in CONTAINER_LISTS {
            for container in spec.get(list).map(Node::items).unwrap_or_default() {
                let Some(image_node) = container.get("image") else {
                    continue;
                };
                let Some(value) = Located::from_node(path, image_node, source) else {
                    continue;
                };
                // Placeholders (`$(IMAGE)`, `{{ .Image }}`) are not references.
                let Ok(image) = ImageReference::parse(&value.text) else {
                    continue;
                };
                images.push(WorkloadImage {
                    value,
                    image,
                    object: format!("{kind}/{name}"),
                    container: container.get("name").and_then(Node::as_str).unwrap_or("").to_owned(),
                });
            }
        }
    }
    images
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml;

    #[test]
    fn finds_every_container_list_in_every_workload_kind() {
        let source = r#"
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: "*/2 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          initContainers:
          - name: init
            image: "example.com/app:v1.0.0"
          containers:
          - name: main
            image: example.com/app:v1.0.0
---
apiVersion: v1
kind: ConfigMap
metadata: {name: not-a-workload}
data:
  image: example.com/app:v0.0.1
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: p}
  spec:
    containers:
    - name: c
      image: $(IMAGE)
    - name: d
      image: busybox
"#;
        let documents = yaml::parse(source).expect("valid");
        let images = read("x.yaml", source, &documents);
        let summary: Vec<_> = images
            .iter()
            .map(|image| (image.object.as_str(), image.container.as_str(), image.value.line, image.image.as_str()))
            .collect();
        assert_eq!(
            summary,
            [
                ("CronJob/nightly", "init", 13, "example.com/app:v1.0.0"),
                ("CronJob/nightly", "main", 16, "example.com/app:v1.0.0"),
                ("Pod/p", "d", 35, "busybox"),
            ]
        );
        let quoted = &images[0].value;
        assert_eq!(quoted.range.clone().map(|range| &source[range]), Some("example.com/app:v1.0.0"));
    }
}
