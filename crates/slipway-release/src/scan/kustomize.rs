//! Kustomization files: their `images:` entries (references to check and bump) and what they
//! include (resources, bases, components, patches), which [`crate::render`] follows to learn
//! what an overlay really deploys.

use super::{Located, parent};
use crate::yaml::Node;

/// The file names kustomize accepts.
pub const FILE_NAMES: &[&str] = &["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Whether a file name is a kustomization.
pub fn is_kustomization_file(name: &str) -> bool {
    FILE_NAMES.contains(&name)
}

/// One kustomization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kustomization {
    /// Repository-relative path of the file.
    pub file: String,
    /// Its directory.
    pub directory: String,
    /// `resources:` and the legacy `bases:`, in order.
    pub resources: Vec<ResourceEntry>,
    /// `components:`.
    pub components: Vec<ResourceEntry>,
    /// `images:`.
    pub images: Vec<ImageEntry>,
    /// `patches:`, `patchesStrategicMerge:` and `patchesJson6902:`.
    pub patches: Vec<PatchEntry>,
    /// `namePrefix:`.
    pub name_prefix: String,
    /// `nameSuffix:`.
    pub name_suffix: String,
}

/// A path (or URL) listed in `resources:`, `bases:` or `components:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceEntry {
    /// As written.
    pub value: String,
    /// 1-based line.
    pub line: usize,
}

/// One `images:` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageEntry {
    /// 1-based line of the entry.
    pub line: usize,
    /// `name`: the image name it matches.
    pub name: String,
    /// `newName`.
    pub new_name: Option<Located>,
    /// `newTag`.
    pub new_tag: Option<Located>,
    /// `digest`.
    pub digest: Option<Located>,
    /// Byte offset where the `digest` key starts, so a bump can remove the line.
    pub digest_key_start: Option<usize>,
}

impl ImageEntry {
    /// The name images get after this entry (`newName`, else `name`).
    pub fn effective_name(&self) -> &str {
        self.new_name.as_ref().map_or(self.name.as_str(), |new_name| new_name.text.as_str())
    }
}

/// Where a patch's content is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatchSource {
    /// A file, relative to the kustomization's directory.
    File(String),
    /// Inline text, and the line its first line is on.
    Inline {
        /// The patch.
        text: String,
        /// 1-based line of the patch's first line in the kustomization.
        line: usize,
    },
}

/// One patch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchEntry {
    /// Its content.
    pub source: PatchSource,
    /// `target.kind`, if given.
    pub target_kind: Option<String>,
    /// `target.name`, if given.
    pub target_name: Option<String>,
    /// 1-based line of the entry.
    pub line: usize,
}

/// Reads a kustomization from its parsed first document.
pub fn read(path: &str, source: &str, documents: &[Node]) -> Option<Kustomization> {
    let root = documents.first().filter(|root| root.is_mapping());
    let directory = parent(path).to_owned();
    let mut kustomization = Kustomization {
        file: path.to_owned(),
        directory,
        resources: Vec::new(),
        components: Vec::new(),
        images: Vec::new(),
        patches: Vec::new(),
        name_prefix: String::new(),
        name_suffix: String::new(),
    };
    let Some(root) = root else {
        return Some(kustomization);
    };
    let entries = |key: &str| -> Vec<ResourceEntry> {
        root.get(key)
            .map(Node::items)
            .unwrap_or_default()
            .iter()
            .filter_map(|item| Some(ResourceEntry { value: item.as_str()?.to_owned(), line: item.line }))
            .collect()
    };
    kustomization.resources = entries("resources");
    kustomization.resources.extend(entries("bases"));
    kustomization.components = entries("components");
    kustomization.name_prefix = root.get("namePrefix").and_then(Node::as_non_null_str).unwrap_or("").to_owned();
    kustomization.name_suffix = root.get("nameSuffix").and_then(Node::as_non_null_str).unwrap_or("").to_owned();
    for item in root.get("images").map(Node::items).unwrap_or_default() {
        let Some(name) = item.get("name").and_then(Node::as_str) else {
            continue;
        };
        let located = |key: &str| {
            item.get(key)
                .filter(|node| node.as_non_null_str().is_some_and(|text| !text.is_empty()))
                .and_then(|node| Located::from_node(path, node, source))
        };
        let digest_key_start =
            item.entries().iter().find(|(key, _)| key.as_str() == Some("digest")).map(|(key, _)| key.span.start);
        kustomization.images.push(ImageEntry {
            line: item.line,
            name: name.to_owned(),
            new_name: located("newName"),
            new_tag: located("newTag"),
            digest: located("digest"),
            digest_key_start,
        });
    }
    for item in root.get("patchesStrategicMerge").map(Node::items).unwrap_or_default() {
        if let Some(text) = item.as_str() {
            // An entry is a file path unless it is an inline object.
            let source = if text.contains('\n') {
                PatchSource::Inline { text: text.to_owned(), line: item.line }
            } else {
                PatchSource::File(text.to_owned())
            };
            kustomization.patches.push(PatchEntry { source, target_kind: None, target_name: None, line: item.line });
        }
    }
    for key in ["patches", "patchesJson6902"] {
        for item in root.get(key).map(Node::items).unwrap_or_default() {
            let source = if let Some(path) = item.get("path").and_then(Node::as_str) {
                PatchSource::File(path.to_owned())
            } else if let Some(node) = item.get("patch") {
                let Some(text) = node.as_str() else {
                    continue;
                };
                PatchSource::Inline { text: text.to_owned(), line: node.line }
            } else {
                continue;
            };
            let target = item.get("target");
            let field =
                |name: &str| target.and_then(|target| target.get(name)).and_then(Node::as_str).map(str::to_owned);
            kustomization.patches.push(PatchEntry {
                source,
                target_kind: field("kind"),
                target_name: field("name"),
                line: item.line,
            });
        }
    }
    Some(kustomization)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml;

    #[test]
    fn reads_entries_with_lines() {
        let source = "resources:\n- ../base\n- deployment.yaml\nimages:\n- name: app\n  newName: example.com/app\n  newTag: \"v1.2.0\"\n- name: sidecar\n  digest: sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\npatches:\n- path: patch.yaml\n  target: {kind: Deployment, name: app}\n";
        let documents = yaml::parse(source).expect("valid");
        let kustomization = read("deploy/prod/kustomization.yaml", source, &documents).expect("mapping");
        assert_eq!(kustomization.directory, "deploy/prod");
        assert_eq!(
            kustomization.resources.iter().map(|r| (r.value.as_str(), r.line)).collect::<Vec<_>>(),
            [("../base", 2), ("deployment.yaml", 3)]
        );
        let app = &kustomization.images[0];
        assert_eq!(app.effective_name(), "example.com/app");
        let tag = app.new_tag.as_ref().expect("newTag");
        assert_eq!((tag.text.as_str(), tag.line), ("v1.2.0", 7));
        assert_eq!(tag.range.clone().map(|range| &source[range]), Some("v1.2.0"));
        assert!(kustomization.images[1].digest_key_start.is_some());
        assert_eq!(kustomization.patches[0].target_name.as_deref(), Some("app"));
    }
}
