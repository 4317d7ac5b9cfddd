//! What each kustomize overlay really deploys.
//!
//! descheduler#1339 was an overlay that, at the release tag, deployed the previous release's
//! image. Checking `image:` lines is not enough to catch that: a kustomization's `images:`
//! entries, patches and bases decide the final image. This module follows an overlay the way
//! `kubectl kustomize` does, for the part that decides container images: resources and bases
//! (recursively), components, strategic-merge and JSON 6902 patches that set images, the images
//! transformer (one pass per entry, in order, with kustomize's tag and digest rules) and name
//! prefixes and suffixes. It records, for every container, where its final image was decided, so
//! a finding can point at the line to fix.
//!
//! Only kustomizations that no other kustomization includes are overlays; bases are checked
//! through their files and through the overlays that use them.

use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;
use std::sync::LazyLock;

use regex::Regex;

use crate::error::Error;
use crate::scan::kustomize::{Kustomization, PatchEntry, PatchSource};
use crate::scan::{Scan, parse_yaml, workloads};
use crate::source::FileSet;
use crate::yaml::{self, Node};

/// An overlay and the containers it deploys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overlay {
    /// The overlay's directory.
    pub directory: String,
    /// Its kustomization file.
    pub file: String,
    /// Every container of every workload it renders.
    pub containers: Vec<RenderedContainer>,
}

/// One container as an overlay renders it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedContainer {
    /// The workload's kind.
    pub kind: String,
    /// The workload's final name.
    pub name: String,
    /// The container's name.
    pub container: String,
    /// The final image.
    pub image: String,
    /// Where the image's tag (or digest) was decided.
    pub origin: Origin,
}

/// A place in a file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Origin {
    /// Repository-relative path.
    pub file: String,
    /// 1-based line.
    pub line: usize,
}

/// Something the renderer could not follow, which `kubectl kustomize` would also trip over or
/// which slipway cannot see (remote bases).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderNote {
    /// Where.
    pub origin: Origin,
    /// What, as a sentence fragment.
    pub message: String,
}

#[derive(Debug, Clone)]
struct Workload {
    kind: String,
    names: Vec<String>,
    containers: Vec<Container>,
}

#[derive(Debug, Clone)]
struct Container {
    /// `containers`, `initContainers` or `ephemeralContainers`.
    list: &'static str,
    name: String,
    image: String,
    origin: Origin,
}

/// Renders every overlay found by a scan.
pub fn overlays(scan: &Scan, files: &FileSet) -> Result<(Vec<Overlay>, Vec<RenderNote>), Error> {
    let mut renderer = Renderer {
        files,
        by_directory: scan
            .kustomizations
            .iter()
            .map(|kustomization| (kustomization.directory.clone(), kustomization))
            .collect(),
        rendered: HashMap::new(),
        stack: Vec::new(),
        notes: BTreeSet::new(),
    };
    find_cycles(&scan.kustomizations, &renderer.by_directory)?;
    let mut included = BTreeSet::new();
    for kustomization in &scan.kustomizations {
        for entry in kustomization.resources.iter().chain(&kustomization.components) {
            if let Some(path) = join(&kustomization.directory, &entry.value)
                && renderer.by_directory.contains_key(&path)
            {
                included.insert(path);
            }
        }
    }
    let mut result = Vec::new();
    for kustomization in &scan.kustomizations {
        if included.contains(&kustomization.directory) {
            continue;
        }
        let workloads = renderer.render(&kustomization.directory)?;
        let containers = workloads
            .iter()
            .flat_map(|workload| {
                workload.containers.iter().map(|container| RenderedContainer {
                    kind: workload.kind.clone(),
                    name: workload.names.last().cloned().unwrap_or_default(),
                    container: container.name.clone(),
                    image: container.image.clone(),
                    origin: container.origin.clone(),
                })
            })
            .collect();
        result.push(Overlay {
            directory: kustomization.directory.clone(),
            file: kustomization.file.clone(),
            containers,
        });
    }
    Ok((result, renderer.notes.into_iter().collect()))
}

/// Refuses any cycle among kustomizations, as `kubectl kustomize` does ("cycle detected"). Only
/// rendering overlays is not enough: in a cycle every kustomization is included by another, so
/// none would be rendered and the cycle's references would silently go unchecked.
fn find_cycles(kustomizations: &[Kustomization], by_directory: &HashMap<String, &Kustomization>) -> Result<(), Error> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        Open,
        Done,
    }
    fn visit(
        directory: &str,
        by_directory: &HashMap<String, &Kustomization>,
        states: &mut HashMap<String, State>,
        path: &mut Vec<(String, String, usize)>,
    ) -> Result<(), Error> {
        match states.get(directory) {
            Some(State::Done) => return Ok(()),
            Some(State::Open) => {
                let start = path.iter().position(|(open, _, _)| open == directory).unwrap_or(0);
                let mut chain: Vec<String> = path[start..].iter().map(|(open, _, _)| display_directory(open)).collect();
                chain.push(display_directory(directory));
                let (_, file, line) = path.last().cloned().unwrap_or_default();
                return Err(Error::KustomizeCycle { file, line, chain: chain.join(" -> ") });
            }
            None => {}
        }
        states.insert(directory.to_owned(), State::Open);
        let kustomization = by_directory[directory];
        for entry in kustomization.resources.iter().chain(&kustomization.components) {
            if is_remote(&entry.value) {
                continue;
            }
            let Some(target) = join(&kustomization.directory, &entry.value) else {
                continue;
            };
            if by_directory.contains_key(&target) {
                path.push((directory.to_owned(), kustomization.file.clone(), entry.line));
                visit(&target, by_directory, states, path)?;
                path.pop();
            }
        }
        states.insert(directory.to_owned(), State::Done);
        Ok(())
    }
    let mut states = HashMap::new();
    for kustomization in kustomizations {
        visit(&kustomization.directory, by_directory, &mut states, &mut Vec::new())?;
    }
    Ok(())
}

impl PartialOrd for RenderNote {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for RenderNote {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (&self.origin, &self.message).cmp(&(&other.origin, &other.message))
    }
}

struct Renderer<'a> {
    files: &'a FileSet,
    by_directory: HashMap<String, &'a Kustomization>,
    rendered: HashMap<String, Rc<Vec<Workload>>>,
    stack: Vec<String>,
    notes: BTreeSet<RenderNote>,
}

impl Renderer<'_> {
    fn note(&mut self, file: &str, line: usize, message: String) {
        self.notes.insert(RenderNote { origin: Origin { file: file.to_owned(), line }, message });
    }

    fn render(&mut self, directory: &str) -> Result<Rc<Vec<Workload>>, Error> {
        if let Some(done) = self.rendered.get(directory) {
            return Ok(Rc::clone(done));
        }
        let kustomization =
            *self.by_directory.get(directory).expect("render is only called for kustomization directories");
        self.stack.push(directory.to_owned());
        let mut workloads = Vec::new();
        for entry in &kustomization.resources {
            self.include(kustomization, &entry.value, entry.line, &mut workloads)?;
        }
        for entry in &kustomization.components {
            let Some(path) = join(&kustomization.directory, &entry.value) else {
                self.note(
                    &kustomization.file,
                    entry.line,
                    format!("component `{}` is outside the repository", entry.value),
                );
                continue;
            };
            let Some(component) = self.by_directory.get(&path).copied() else {
                self.note(
                    &kustomization.file,
                    entry.line,
                    format!("component `{}` has no kustomization file", entry.value),
                );
                continue;
            };
            self.check_cycle(kustomization, entry.line, &path)?;
            self.stack.push(path.clone());
            for resource in &component.resources {
                self.include(component, &resource.value, resource.line, &mut workloads)?;
            }
            self.transform(component, &mut workloads)?;
            self.stack.pop();
        }
        self.transform(kustomization, &mut workloads)?;
        self.stack.pop();
        let workloads = Rc::new(workloads);
        self.rendered.insert(directory.to_owned(), Rc::clone(&workloads));
        Ok(workloads)
    }

    fn check_cycle(&self, kustomization: &Kustomization, line: usize, path: &str) -> Result<(), Error> {
        if self.stack.iter().any(|open| open == path) {
            let mut chain: Vec<String> = self.stack.iter().map(|directory| display_directory(directory)).collect();
            chain.push(display_directory(path));
            return Err(Error::KustomizeCycle { file: kustomization.file.clone(), line, chain: chain.join(" -> ") });
        }
        Ok(())
    }

    fn include(
        &mut self,
        kustomization: &Kustomization,
        value: &str,
        line: usize,
        workloads: &mut Vec<Workload>,
    ) -> Result<(), Error> {
        if is_remote(value) {
            self.note(&kustomization.file, line, format!("remote resource `{value}` is not followed"));
            return Ok(());
        }
        let Some(path) = join(&kustomization.directory, value) else {
            self.note(&kustomization.file, line, format!("resource `{value}` is outside the repository"));
            return Ok(());
        };
        if self.by_directory.contains_key(&path) {
            self.check_cycle(kustomization, line, &path)?;
            let rendered = self.render(&path)?;
            workloads.extend(rendered.iter().cloned());
            return Ok(());
        }
        if let Some(text) = self.files.get(&path) {
            if !within(&kustomization.directory, &path) {
                self.note(
                    &kustomization.file,
                    line,
                    format!(
                        "kustomize refuses `{value}`: a file resource must be in or below the kustomization's directory"
                    ),
                );
                return Ok(());
            }
            let documents = parse_yaml(&path, text)?;
            workloads.extend(read_workloads(&path, &documents));
            return Ok(());
        }
        let message = if self.files.iter().any(|(candidate, _)| candidate.starts_with(&format!("{path}/"))) {
            format!("resource `{value}` is a directory without a kustomization file")
        } else {
            format!("resource `{value}` was not found (or is excluded)")
        };
        self.note(&kustomization.file, line, message);
        Ok(())
    }

    fn transform(&mut self, kustomization: &Kustomization, workloads: &mut [Workload]) -> Result<(), Error> {
        for patch in &kustomization.patches {
            self.apply_patch(kustomization, patch, workloads)?;
        }
        for entry in &kustomization.images {
            for workload in workloads.iter_mut() {
                for container in &mut workload.containers {
                    let (name, tag, digest) = split_image(&container.image);
                    if name != entry.name {
                        continue;
                    }
                    let mut name = name.to_owned();
                    let (mut tag, mut digest) = (tag.to_owned(), digest.to_owned());
                    if let Some(new_name) = &entry.new_name {
                        name.clone_from(&new_name.text);
                    }
                    // kustomize: overriding the tag or the digest replaces both.
                    let decided_by = match (&entry.new_tag, &entry.digest) {
                        (Some(new_tag), Some(new_digest)) => {
                            tag.clone_from(&new_tag.text);
                            digest.clone_from(&new_digest.text);
                            Some(new_tag.line)
                        }
                        (Some(new_tag), None) => {
                            tag.clone_from(&new_tag.text);
                            digest.clear();
                            Some(new_tag.line)
                        }
                        (None, Some(new_digest)) => {
                            tag.clear();
                            digest.clone_from(&new_digest.text);
                            Some(new_digest.line)
                        }
                        (None, None) => None,
                    };
                    if !tag.is_empty() {
                        name = format!("{name}:{tag}");
                    }
                    if !digest.is_empty() {
                        name = format!("{name}@{digest}");
                    }
                    container.image = name;
                    if let Some(line) = decided_by {
                        container.origin = Origin { file: kustomization.file.clone(), line };
                    }
                }
            }
        }
        if !kustomization.name_prefix.is_empty() || !kustomization.name_suffix.is_empty() {
            for workload in workloads.iter_mut() {
                let current = workload.names.last().cloned().unwrap_or_default();
                workload.names.push(format!("{}{current}{}", kustomization.name_prefix, kustomization.name_suffix));
            }
        }
        Ok(())
    }

    fn apply_patch(
        &mut self,
        kustomization: &Kustomization,
        patch: &PatchEntry,
        workloads: &mut [Workload],
    ) -> Result<(), Error> {
        let (file, text, inline_line) = match &patch.source {
            PatchSource::File(value) => {
                let Some(path) = join(&kustomization.directory, value) else {
                    self.note(&kustomization.file, patch.line, format!("patch `{value}` is outside the repository"));
                    return Ok(());
                };
                let Some(text) = self.files.get(&path) else {
                    self.note(
                        &kustomization.file,
                        patch.line,
                        format!("patch `{value}` was not found (or is excluded)"),
                    );
                    return Ok(());
                };
                (path, text.to_owned(), None)
            }
            PatchSource::Inline { text, line } => (kustomization.file.clone(), text.clone(), Some(*line)),
        };
        let documents = match yaml::parse(&text) {
            Ok(documents) => documents,
            Err(error) if inline_line.is_some() => {
                return Err(Error::Yaml {
                    file: kustomization.file.clone(),
                    line: inline_line.unwrap_or(patch.line) + error.line - 1,
                    column: error.column,
                    message: format!("in the inline patch: {}", error.message),
                });
            }
            Err(_) => return parse_yaml(&file, &text).map(drop),
        };
        // Lines inside an inline patch count from where the patch text starts.
        let origin_line = |line: usize| inline_line.map_or(line, |start| start + line - 1);
        for document in &documents {
            if !document.items().is_empty() {
                self.apply_json_patch(patch, document, workloads, &file, origin_line);
                continue;
            }
            let Some(kind) =
                patch.target_kind.clone().or_else(|| document.get("kind").and_then(Node::as_str).map(str::to_owned))
            else {
                continue;
            };
            let name = patch.target_name.clone().or_else(|| {
                document.get("metadata").and_then(|m| m.get("name")).and_then(Node::as_str).map(regex::escape)
            });
            let Some(spec) = workloads::pod_spec(&kind, document) else {
                continue;
            };
            for workload in workloads.iter_mut().filter(|workload| targets(workload, &kind, name.as_deref())) {
                for list in workloads::CONTAINER_LISTS {
                    for patch_container in spec.get(list).map(Node::items).unwrap_or_default() {
                        let (Some(container_name), Some(image)) =
                            (patch_container.get("name").and_then(Node::as_str), patch_container.get("image"))
                        else {
                            continue;
                        };
                        let Some(image_text) = image.as_str() else {
                            continue;
                        };
                        let origin = Origin { file: file.clone(), line: origin_line(image.line) };
                        match workload.containers.iter_mut().find(|container| container.name == container_name) {
                            Some(container) => {
                                container.image = image_text.to_owned();
                                container.origin = origin;
                            }
                            None => workload.containers.push(Container {
                                list,
                                name: container_name.to_owned(),
                                image: image_text.to_owned(),
                                origin,
                            }),
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn apply_json_patch(
        &mut self,
        patch: &PatchEntry,
        operations: &Node,
        workloads: &mut [Workload],
        file: &str,
        origin_line: impl Fn(usize) -> usize,
    ) {
        static IMAGE_PATH: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(r"^/spec(?:/jobTemplate/spec)?(?:/template/spec)?/(initContainers|containers|ephemeralContainers)/(\d+)(/image)?$")
                .expect("valid regex")
        });
        let Some(kind) = patch.target_kind.as_deref() else {
            return;
        };
        for operation in operations.items() {
            let (Some(op), Some(path), Some(value)) = (
                operation.get("op").and_then(Node::as_str),
                operation.get("path").and_then(Node::as_str),
                operation.get("value"),
            ) else {
                continue;
            };
            if op != "replace" && op != "add" {
                continue;
            }
            let Some(captures) = IMAGE_PATH.captures(path) else {
                continue;
            };
            let index: usize = captures[2].parse().unwrap_or(usize::MAX);
            let image = if captures.get(3).is_some() { Some(value) } else { value.get("image") };
            let Some(image) = image else {
                continue;
            };
            let Some(image_text) = image.as_str() else {
                continue;
            };
            let list = captures.get(1).map_or("", |list| list.as_str());
            for workload in
                workloads.iter_mut().filter(|workload| targets(workload, kind, patch.target_name.as_deref()))
            {
                let position = workload_list_index(workload, list, index);
                if let Some(container) = position.and_then(|position| workload.containers.get_mut(position)) {
                    container.image = image_text.to_owned();
                    container.origin = Origin { file: file.to_owned(), line: origin_line(image.line) };
                }
            }
        }
    }
}

/// The position in `workload.containers` of the `index`-th container of `list`.
fn workload_list_index(workload: &Workload, list: &str, index: usize) -> Option<usize> {
    workload
        .containers
        .iter()
        .enumerate()
        .filter(|(_, container)| container.list == list)
        .map(|(position, _)| position)
        .nth(index)
}

fn targets(workload: &Workload, kind: &str, name: Option<&str>) -> bool {
    if workload.kind != kind {
        return false;
    }
    let Some(name) = name else {
        return true;
    };
    match Regex::new(&format!("^(?:{name})$")) {
        Ok(pattern) => workload.names.iter().any(|candidate| pattern.is_match(candidate)),
        Err(_) => workload.names.iter().any(|candidate| candidate == name),
    }
}

fn read_workloads(path: &str, documents: &[Node]) -> Vec<Workload> {
    let mut found = Vec::new();
    for (kind, name, object) in workloads::objects(documents) {
        let Some(spec) = workloads::pod_spec(&kind, object) else {
            continue;
        };
        let mut containers = Vec::new();
        for list in workloads::CONTAINER_LISTS {
            for container in spec.get(list).map(Node::items).unwrap_or_default() {
                let Some(image) = container.get("image") else {
                    continue;
                };
                containers.push(Container {
                    list,
                    name: container.get("name").and_then(Node::as_str).unwrap_or("").to_owned(),
                    image: image.as_str().unwrap_or("").to_owned(),
                    origin: Origin { file: path.to_owned(), line: image.line },
                });
            }
        }
        found.push(Workload { kind, names: vec![name], containers });
    }
    found
}

/// kustomize's split of an image into name, tag and digest.
fn split_image(image: &str) -> (&str, &str, &str) {
    let (rest, digest) = match image.rfind('@') {
        Some(at) => (&image[..at], &image[at + 1..]),
        None => (image, ""),
    };
    let last_slash = rest.rfind('/').map_or(0, |slash| slash);
    match rest[last_slash..].rfind(':') {
        Some(colon) => (&rest[..last_slash + colon], &rest[last_slash + colon + 1..], digest),
        None => (rest, "", digest),
    }
}

fn is_remote(value: &str) -> bool {
    value.contains("://")
        || value.contains("?ref=")
        || value.starts_with("git@")
        || value.starts_with("github.com/")
        || value.starts_with("gitlab.com/")
}

/// Joins a relative path to a directory, resolving `.` and `..`; `None` when it leaves the root.
pub(crate) fn join(directory: &str, relative: &str) -> Option<String> {
    let mut parts: Vec<&str> = directory.split('/').filter(|part| !part.is_empty()).collect();
    for part in relative.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    Some(parts.join("/"))
}

fn within(directory: &str, path: &str) -> bool {
    directory.is_empty() || path.starts_with(&format!("{directory}/"))
}

fn display_directory(directory: &str) -> String {
    if directory.is_empty() { ".".to_owned() } else { directory.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_split_like_kustomize() {
        let digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        assert_eq!(split_image("app"), ("app", "", ""));
        assert_eq!(split_image("localhost:5000/app:v1"), ("localhost:5000/app", "v1", ""));
        assert_eq!(split_image("localhost:5000/app"), ("localhost:5000/app", "", ""));
        assert_eq!(split_image(&format!("r.io/app:v1@{digest}")), ("r.io/app", "v1", digest));
        assert_eq!(split_image(&format!("r.io/app@{digest}")), ("r.io/app", "", digest));
    }

    fn render_all(files: &[(&str, &str)]) -> Result<Vec<Overlay>, Error> {
        let files = FileSet::from_files(files.iter().copied());
        let scan = crate::scan::scan(&files, &crate::config::Settings::default())?;
        overlays(&scan, &files).map(|(overlays, _)| overlays)
    }

    #[test]
    fn every_cycle_is_an_error_naming_its_chain() {
        let two_steps = render_all(&[
            ("config/default/kustomization.yaml", "resources:\n- ../cyc\n"),
            ("config/cyc/kustomization.yaml", "resources:\n- ../default\n"),
        ])
        .expect_err("a cycle");
        assert_eq!(
            two_steps.to_string(),
            "kustomization cycle at `config/default/kustomization.yaml` line 2: config/cyc -> config/default -> config/cyc"
        );
        let itself = render_all(&[("config/default/kustomization.yaml", "resources:\n- deployment.yaml\n- .\n")])
            .expect_err("a cycle");
        assert_eq!(
            itself.to_string(),
            "kustomization cycle at `config/default/kustomization.yaml` line 3: config/default -> config/default"
        );
        let component = render_all(&[
            ("a/kustomization.yaml", "components:\n- ../b\n"),
            ("b/kustomization.yaml", "resources:\n- ../c\n"),
            ("c/kustomization.yaml", "resources:\n- ../a\n"),
        ])
        .expect_err("a cycle");
        assert!(component.to_string().ends_with("a -> b -> c -> a"), "{component}");
        let shared_base = render_all(&[
            ("base/kustomization.yaml", "resources: []\n"),
            ("one/kustomization.yaml", "resources:\n- ../base\n"),
            ("two/kustomization.yaml", "resources:\n- ../base\n- ../one\n"),
        ]);
        assert!(shared_base.is_ok(), "a diamond is not a cycle: {shared_base:?}");
    }

    #[test]
    fn paths_join_inside_the_repository_only() {
        assert_eq!(join("deploy/prod", "../base").as_deref(), Some("deploy/base"));
        assert_eq!(join("", "./a/./b").as_deref(), Some("a/b"));
        assert_eq!(join("deploy", "../../outside"), None);
        assert!(within("deploy/prod", "deploy/prod/patch.yaml"));
        assert!(!within("deploy/prod", "deploy/production.yaml"));
    }
}
