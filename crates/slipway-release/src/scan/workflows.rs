//! GitHub Actions workflows (`.github/workflows/*.yml`): the values of `env:` maps (workflow, job
//! and step), step and job `with:` inputs, and `strategy.matrix` entries (`include` entries
//! too). These are where CI pins a version of the project (`descheduler-version: ["v0.36.0"]`);
//! whether a value does is [`crate::check`]'s decision. `run:` scripts are not read.

use super::Located;
use crate::yaml::Node;

/// One scalar value of a workflow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowValue {
    /// The key it is under (`descheduler-version`, `VERSION`).
    pub key: String,
    /// Where it sits, for people (`jobs.test.strategy.matrix`).
    pub place: String,
    /// For `with:` inputs, the action or reusable workflow they go to (`helm/kind-action@v1`).
    pub action: Option<String>,
    /// The value, located.
    pub value: Located,
}

/// Every `env`, `with` and matrix value of a parsed workflow.
pub fn read(path: &str, source: &str, documents: &[Node]) -> Vec<WorkflowValue> {
    let mut collector = Collector { path, source, values: Vec::new() };
    let Some(root) = documents.first() else {
        return collector.values;
    };
    collector.map(root.get("env"), "env", None);
    for (id, job) in root.get("jobs").map(Node::entries).unwrap_or_default() {
        let id = id.as_str().unwrap_or_default();
        collector.map(job.get("env"), &format!("jobs.{id}.env"), None);
        collector.map(job.get("with"), &format!("jobs.{id}.with"), job.get("uses").and_then(Node::as_str));
        if let Some(matrix) = job.get("strategy").and_then(|strategy| strategy.get("matrix")) {
            let place = format!("jobs.{id}.strategy.matrix");
            for (key, value) in matrix.entries() {
                match key.as_str() {
                    Some("include") => {
                        for entry in value.items() {
                            collector.map(Some(entry), &format!("{place}.include"), None);
                        }
                    }
                    Some("exclude") | None => {}
                    Some(key) => collector.value(key, &place, None, value),
                }
            }
        }
        for (index, step) in job.get("steps").map(Node::items).unwrap_or_default().iter().enumerate() {
            collector.map(step.get("env"), &format!("jobs.{id}.steps[{index}].env"), None);
            let action = step.get("uses").and_then(Node::as_str);
            collector.map(step.get("with"), &format!("jobs.{id}.steps[{index}].with"), action);
        }
    }
    collector.values
}

struct Collector<'a> {
    path: &'a str,
    source: &'a str,
    values: Vec<WorkflowValue>,
}

impl Collector<'_> {
    /// Every entry of a mapping.
    fn map(&mut self, node: Option<&Node>, place: &str, action: Option<&str>) {
        for (key, value) in node.map(Node::entries).unwrap_or_default() {
            if let Some(key) = key.as_str() {
                self.value(key, place, action, value);
            }
        }
    }

    /// A scalar, or each scalar of a list (a matrix axis).
    fn value(&mut self, key: &str, place: &str, action: Option<&str>, node: &Node) {
        let items: Vec<&Node> = if node.items().is_empty() { vec![node] } else { node.items().iter().collect() };
        for item in items {
            if item.as_non_null_str().is_some()
                && let Some(value) = Located::from_node(self.path, item, self.source)
            {
                self.values.push(WorkflowValue {
                    key: key.to_owned(),
                    place: place.to_owned(),
                    action: action.map(str::to_owned),
                    value,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml;

    #[test]
    fn reads_env_inputs_and_matrices() {
        let source = r#"name: Test
on: [push]
env:
  IMAGE_TAG: v0.36.0
jobs:
  test:
    strategy:
      matrix:
        k8s-version: ["v1.36.1"]
        descheduler-version: ["v0.36.0"]
        include:
          - descheduler-version: v0.35.0
    steps:
      - uses: helm/kind-action@v1
        with:
          version: v0.31.0
        env:
          VERSION: v0.36.0
      - run: echo ${{ matrix.descheduler-version }}
  call:
    uses: ./.github/workflows/reusable.yaml
    with:
      release: v0.36.0
"#;
        let documents = yaml::parse(source).expect("valid");
        let values = read(".github/workflows/test.yaml", source, &documents);
        let found: Vec<_> =
            values.iter().map(|v| (v.key.as_str(), v.value.line, v.value.text.as_str(), v.action.as_deref())).collect();
        assert_eq!(
            found,
            [
                ("IMAGE_TAG", 4, "v0.36.0", None),
                ("k8s-version", 9, "v1.36.1", None),
                ("descheduler-version", 10, "v0.36.0", None),
                ("descheduler-version", 12, "v0.35.0", None),
                ("VERSION", 18, "v0.36.0", None),
                ("version", 16, "v0.31.0", Some("helm/kind-action@v1")),
                ("release", 23, "v0.36.0", Some("./.github/workflows/reusable.yaml")),
            ]
        );
        let range = values[2].value.range.clone().expect("located");
        assert_eq!(&source[range], "v0.36.0");
    }
}
