//! Helm charts: `Chart.yaml` `version`/`appVersion`, and the image repositories and tags in the
//! chart's `values.yaml`, plus how the chart's templates default an empty tag.

use slipway_core::ImageReference;

use super::{Located, file_name, parent};
use crate::error::Error;
use crate::source::FileSet;
use crate::yaml::{self, Node};

/// One chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chart {
    /// Repository-relative path of `Chart.yaml`.
    pub file: String,
    /// The chart's directory.
    pub directory: String,
    /// `name`.
    pub name: Option<String>,
    /// `home` and `sources`: where the chart says its project lives.
    pub homes: Vec<String>,
    /// `version`.
    pub version: Option<Located>,
    /// `appVersion`.
    pub app_version: Option<Located>,
    /// Byte offset just after the `version` line, where a missing `appVersion` can go.
    pub insert_app_version_at: Option<usize>,
    /// `values.yaml`, if the chart has one.
    pub values_file: Option<String>,
    /// Images in `values.yaml`.
    pub images: Vec<ValuesImage>,
    /// What an empty `tag` turns into.
    pub tag_default: TagDefault,
}

/// How a chart's templates fill an empty image tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagDefault {
    /// `v` + `appVersion`: the usual default (and what slipway assumes without templates).
    VPrefixedAppVersion,
    /// `appVersion` as written.
    AppVersion,
}

/// An image in `values.yaml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValuesImage {
    /// `repository:` (with an optional `registry:`) and `tag:` keys in one mapping.
    Split {
        /// The full repository (`registry/repository` when a registry key is set).
        repository: String,
        /// 1-based line of `repository`.
        line: usize,
        /// YAML path of the mapping (`image`, `controller.image`).
        path: String,
        /// `tag`, if the key exists (its text may be empty).
        tag: Option<Located>,
    },
    /// A whole reference in one string (`image: registry.k8s.io/app:v1.0.0`).
    Whole {
        /// The value.
        value: Located,
        /// The parsed reference.
        image: ImageReference,
        /// YAML path of the value.
        path: String,
    },
}

/// The tag an empty `tag:` turns into: `v` + `appVersion`, or `appVersion` as written.
pub fn default_tag(default: TagDefault, app_version: &str) -> String {
    match default {
        TagDefault::VPrefixedAppVersion if !app_version.starts_with('v') => format!("v{app_version}"),
        _ => app_version.to_owned(),
    }
}

impl Chart {
    /// Every image the chart deploys with its default values: set tags as written, empty ones
    /// as the templates fill them.
    pub fn deployed_images(&self) -> Vec<String> {
        self.images
            .iter()
            .filter_map(|image| match image {
                ValuesImage::Whole { image, .. } => Some(image.to_string()),
                ValuesImage::Split { repository, tag: Some(tag), .. } if !tag.text.is_empty() => {
                    Some(format!("{repository}:{}", tag.text))
                }
                ValuesImage::Split { repository, .. } => {
                    let app_version = self.app_version.as_ref()?;
                    Some(format!("{repository}:{}", default_tag(self.tag_default, &app_version.text)))
                }
            })
            .collect()
    }
}

impl ValuesImage {
    /// The repository this entry names, parsed.
    pub fn reference(&self) -> Option<ImageReference> {
        match self {
            ValuesImage::Split { repository, .. } => ImageReference::parse(repository).ok(),
            ValuesImage::Whole { image, .. } => Some(image.clone()),
        }
    }
}

/// Reads a chart from its parsed `Chart.yaml` and the files beside it.
pub fn read_chart(path: &str, source: &str, root: Option<&Node>, files: &FileSet) -> Result<Chart, Error> {
    let directory = parent(path).to_owned();
    let field = |key: &str| {
        root.and_then(|root| root.get(key))
            .filter(|node| node.as_non_null_str().is_some())
            .and_then(|node| Located::from_node(path, node, source))
    };
    let version = field("version");
    let insert_app_version_at = root
        .and_then(|root| root.entries().iter().find(|(key, _)| key.as_str() == Some("version")))
        .and_then(|(_, value)| {
            let end = value.span.end;
            source[end..].find('\n').map(|newline| end + newline + 1)
        });
    let within = |name: &str| {
        if directory.is_empty() { name.to_owned() } else { format!("{directory}/{name}") }
    };
    let values_file =
        ["values.yaml", "values.yml"].iter().map(|name| within(name)).find(|candidate| files.get(candidate).is_some());
    let mut images = Vec::new();
    if let Some(values_file) = &values_file {
        let text = files.get(values_file).unwrap_or_default();
        let documents = yaml::parse(text).map_err(|error| Error::Yaml {
            file: values_file.clone(),
            line: error.line,
            column: error.column,
            message: error.message,
        })?;
        if let Some(values) = documents.first() {
            collect_values_images(values_file, text, values, "", &mut images);
        }
    }
    let templates = within("templates/");
    let template_texts: Vec<&str> = files
        .iter()
        .filter(|(candidate, _)| candidate.starts_with(&templates) && file_name(candidate) != "NOTES.txt")
        .map(|(_, text)| text)
        .collect();
    let tag_default = if template_texts.iter().any(|text| text.contains(".Chart.AppVersion"))
        && !template_texts.iter().any(|text| text.contains("printf \"v%s\" .Chart.AppVersion"))
    {
        TagDefault::AppVersion
    } else {
        TagDefault::VPrefixedAppVersion
    };
    Ok(Chart {
        file: path.to_owned(),
        directory,
        name: root.and_then(|root| root.get("name")).and_then(Node::as_str).map(str::to_owned),
        homes: root
            .map(|root| {
                let home = root.get("home").and_then(Node::as_non_null_str).map(str::to_owned);
                let sources = root.get("sources").map(Node::items).unwrap_or_default().iter();
                home.into_iter().chain(sources.filter_map(Node::as_non_null_str).map(str::to_owned)).collect()
            })
            .unwrap_or_default(),
        version,
        app_version: field("appVersion"),
        insert_app_version_at,
        values_file,
        images,
        tag_default,
    })
}

fn collect_values_images(file: &str, source: &str, node: &Node, path: &str, images: &mut Vec<ValuesImage>) {
    if let Some(repository) = node.get("repository").and_then(Node::as_non_null_str) {
        let registry = node.get("registry").and_then(Node::as_non_null_str).filter(|registry| !registry.is_empty());
        let repository = match registry {
            Some(registry) => format!("{}/{repository}", registry.trim_end_matches('/')),
            None => repository.to_owned(),
        };
        if !repository.is_empty() {
            images.push(ValuesImage::Split {
                line: node.get("repository").map_or(node.line, |repository| repository.line),
                repository,
                path: path.to_owned(),
                tag: node.get("tag").and_then(|tag| {
                    let mut located = Located::from_node(file, tag, source)?;
                    if tag.as_non_null_str().is_none() {
                        located.text.clear();
                    }
                    Some(located)
                }),
            });
        }
    }
    for (key, value) in node.entries() {
        let Some(key) = key.as_str() else {
            continue;
        };
        let child = if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") };
        if value.is_mapping() {
            collect_values_images(file, source, value, &child, images);
        } else if key == "image"
            && let Some(located) = Located::from_node(file, value, source)
            && let Ok(image) = ImageReference::parse(&located.text)
            && image.tag().is_some()
        {
            images.push(ValuesImage::Whole { value: located, image, path: child });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_descheduler_chart() {
        let corpus = slipway_test::paths::corpus().join("manifests/descheduler-v0.33.0/charts/descheduler");
        let chart_yaml = fs_err::read_to_string(corpus.join("Chart.yaml")).expect("corpus file");
        let values_yaml = fs_err::read_to_string(corpus.join("values.yaml")).expect("corpus file");
        let files = FileSet::from_files([
            ("charts/descheduler/Chart.yaml", chart_yaml.as_str()),
            ("charts/descheduler/values.yaml", values_yaml.as_str()),
        ]);
        let root = yaml::parse(&chart_yaml).expect("valid").into_iter().next();
        let chart = read_chart("charts/descheduler/Chart.yaml", &chart_yaml, root.as_ref(), &files).expect("valid");
        assert_eq!(chart.name.as_deref(), Some("descheduler"));
        assert_eq!(chart.version.as_ref().map(|v| v.text.as_str()), Some("0.32.0"));
        assert_eq!(chart.app_version.as_ref().map(|v| v.text.as_str()), Some("0.32.0"));
        let ValuesImage::Split { repository, tag, path, .. } = &chart.images[0] else {
            panic!("expected a repository/tag image, got {:?}", chart.images);
        };
        assert_eq!(repository, "registry.k8s.io/descheduler/descheduler");
        assert_eq!(path, "image");
        assert_eq!(tag.as_ref().map(|tag| tag.text.as_str()), Some(""));
        assert_eq!(chart.tag_default, TagDefault::VPrefixedAppVersion);
    }

    #[test]
    fn the_default_helm_tag_follows_the_templates() {
        assert_eq!(default_tag(TagDefault::VPrefixedAppVersion, "0.33.0"), "v0.33.0");
        assert_eq!(default_tag(TagDefault::VPrefixedAppVersion, "v0.33.0"), "v0.33.0");
        assert_eq!(default_tag(TagDefault::AppVersion, "0.33.0"), "0.33.0");
    }

    #[test]
    fn templates_decide_the_tag_default() {
        let files = FileSet::from_files([
            ("c/Chart.yaml", "name: c\nversion: 1.0.0\nappVersion: v1.0.0\n"),
            (
                "c/templates/deployment.yaml",
                "image: \"{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}\"",
            ),
        ]);
        let text = files.get("c/Chart.yaml").unwrap_or_default();
        let root = yaml::parse(text).expect("valid").into_iter().next();
        let chart = read_chart("c/Chart.yaml", text, root.as_ref(), &files).expect("valid");
        assert_eq!(chart.tag_default, TagDefault::AppVersion);
        assert_eq!(chart.insert_app_version_at, Some(text.find("appVersion").expect("present")));
    }
}
