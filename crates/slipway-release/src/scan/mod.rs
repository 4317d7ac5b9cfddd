//! Finding every place a project writes its version or its images, with no configuration.
//!
//! [`scan`] reads a [`FileSet`] and returns a [`Scan`]: container images of Kubernetes workloads,
//! kustomizations (their `images:` entries and resources, for overlay rendering), Helm charts,
//! `?ref=` kustomize remote links, image references in documents, GitHub Actions workflow
//! values, Makefile variables, the Go module path and configured version files. Each value
//! comes with its file, line and, when it can be rewritten in place, its exact byte range.
//! Nothing here decides which values are references or wrong; that is [`crate::check`]'s job.
//!
//! Every scanner is linear in the size of its file: positions come from a [`text::LineIndex`].

pub mod docs;
pub mod gomod;
pub mod helm;
pub mod kustomize;
pub mod links;
pub mod makefiles;
pub mod text;
pub mod version_files;
pub mod workflows;
pub mod workloads;

use std::ops::Range;

pub use docs::DocImage;
pub use helm::{Chart, TagDefault, ValuesImage};
pub use kustomize::{ImageEntry, Kustomization, ResourceEntry};
pub use links::RefLink;
pub use makefiles::MakeVariable;
pub use version_files::VersionFileMatch;
pub use workflows::WorkflowValue;
pub use workloads::WorkloadImage;

use crate::config::Settings;
use crate::error::Error;
use crate::source::{FileSet, Skipped};
use crate::yaml::{self, Node};

/// A value as written in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// Repository-relative path.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// The value (after YAML unquoting).
    pub text: String,
    /// Where `text` sits in the file, when it is written there verbatim and can be edited in
    /// place.
    pub range: Option<Range<usize>>,
}

impl Located {
    /// A scalar node's value, located in `file` whose text is `source`.
    pub fn from_node(file: &str, node: &Node, source: &str) -> Option<Located> {
        Some(Located {
            file: file.to_owned(),
            line: node.line,
            text: node.as_str()?.to_owned(),
            range: node.value_range(source),
        })
    }
}

/// Everything a scan found.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    /// Container images in Kubernetes workloads.
    pub workloads: Vec<WorkloadImage>,
    /// Kustomizations, by directory.
    pub kustomizations: Vec<Kustomization>,
    /// Helm charts.
    pub charts: Vec<Chart>,
    /// `?ref=` kustomize remote links, whatever their refs.
    pub ref_links: Vec<RefLink>,
    /// Registry-qualified image references with version-like tags in documents.
    pub doc_images: Vec<DocImage>,
    /// `env`, `with` and matrix values of GitHub Actions workflows.
    pub workflow_values: Vec<WorkflowValue>,
    /// One-word Makefile variables.
    pub make_variables: Vec<MakeVariable>,
    /// The module path of the `go.mod` at the root, if any.
    pub go_module: Option<Located>,
    /// Configured version files.
    pub version_files: Vec<VersionFileMatch>,
    /// Files that were not read or not understood, and why.
    pub skipped: Vec<Skipped>,
}

/// Scans every file of `files`.
pub fn scan(files: &FileSet, settings: &Settings) -> Result<Scan, Error> {
    let mut result = Scan { skipped: files.skipped.clone(), ..Scan::default() };
    let chart_directories: Vec<String> = files
        .iter()
        .filter(|(path, _)| file_name(path) == "Chart.yaml")
        .map(|(path, _)| parent(path).to_owned())
        .collect();
    for (path, text) in files.iter() {
        let name = file_name(path);
        let lines = text::LineIndex::new(text);
        if path.starts_with(crate::source::WORKFLOWS) {
            let documents = parse_yaml(path, text)?;
            result.workflow_values.extend(workflows::read(path, text, &documents));
        } else if is_yaml(name) || name == "Kustomization" {
            if kustomize::is_kustomization_file(name) {
                let documents = parse_yaml(path, text)?;
                if let Some(kustomization) = kustomize::read(path, text, &documents) {
                    result.kustomizations.push(kustomization);
                }
            } else if name == "Chart.yaml" {
                let documents = parse_yaml(path, text)?;
                result.charts.push(helm::read_chart(path, text, documents.first(), files)?);
            } else if inside_chart_templates(path, &chart_directories) {
                // Go templates, not YAML; the chart is checked through Chart.yaml and values.yaml.
            } else if workloads::may_hold_workloads(text) {
                match yaml::parse(text) {
                    Ok(documents) => result.workloads.extend(workloads::read(path, text, &documents)),
                    Err(_) if text.contains("{{") => result
                        .skipped
                        .push(Skipped { path: path.to_owned(), reason: "templated YAML (contains `{{`)".to_owned() }),
                    Err(error) => return Err(yaml_error(path, error)),
                }
            }
        }
        if makefiles::is_makefile(name) {
            result.make_variables.extend(makefiles::find(path, text, &lines));
        }
        if path == "go.mod" {
            result.go_module = gomod::module(path, text);
        }
        if !links::is_history_file(name) {
            result.ref_links.extend(links::find(path, text, &lines));
            if docs::is_document(name) {
                result.doc_images.extend(docs::find(path, text, &lines));
            }
        }
    }
    result.version_files = version_files::read(files, &settings.version_files);
    Ok(result)
}

/// Parses a YAML file slipway must understand; a syntax error is fatal and names the place.
pub(crate) fn parse_yaml(path: &str, text: &str) -> Result<Vec<Node>, Error> {
    yaml::parse(text).map_err(|error| yaml_error(path, error))
}

fn yaml_error(path: &str, error: yaml::YamlError) -> Error {
    Error::Yaml { file: path.to_owned(), line: error.line, column: error.column, message: error.message }
}

/// The last component of a path.
pub(crate) fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The directory of a path (`""` for the root).
pub(crate) fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(parent, _)| parent)
}

fn is_yaml(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".yaml") || lower.ends_with(".yml")
}

fn inside_chart_templates(path: &str, chart_directories: &[String]) -> bool {
    chart_directories.iter().any(|directory| {
        let templates = if directory.is_empty() { "templates/".to_owned() } else { format!("{directory}/templates/") };
        path.starts_with(&templates)
    })
}
