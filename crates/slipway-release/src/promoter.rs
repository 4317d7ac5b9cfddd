//! The image promoter's manifest (kubernetes/k8s.io `registry.k8s.io/images/<project>/images.yaml`):
//! which digest each tag of each image is promoted as. A release is only what was built if the
//! promoter maps its tag to the digest that was built and recorded.
//!
//! The file is a list of `{name, dmap}` entries, `dmap` mapping `"sha256:..."` to the tags that
//! digest carries (`["v0.30.1"]`, sometimes two tags for one digest).

use serde::Serialize;
use slipway_core::{Finding, FindingKind, ImageReference};

use crate::yaml::{self, Node};

/// A parsed promoter manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromoterManifest {
    /// Where it came from (a path or URL), for messages.
    pub source: String,
    entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    name: String,
    /// `(tag, digest, line)`.
    tags: Vec<(String, String, usize)>,
}

/// Why the manifest could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PromoterError {
    /// Not readable YAML of the expected shape.
    #[error("the promoter manifest `{source_name}` is not valid at line {line}: {message}")]
    Invalid {
        /// Its path or URL.
        source_name: String,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// It could not be read.
    #[error("could not read the promoter manifest `{source_name}`: {message}")]
    Unreadable {
        /// Its path or URL.
        source_name: String,
        /// Why.
        message: String,
    },
}

impl PromoterError {
    /// 2 for a manifest that is not valid (configuration), 3 for one that cannot be fetched.
    pub fn exit_code(&self) -> u8 {
        match self {
            PromoterError::Invalid { .. } => slipway_core::exit::USAGE,
            PromoterError::Unreadable { .. } => slipway_core::exit::INFRASTRUCTURE,
        }
    }
}

/// What the manifest says about one image's tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Promotion {
    /// No entry names the image.
    NoImage,
    /// The image's entry does not map the tag (not promoted yet).
    NoTag,
    /// The tag is promoted as this digest, at this line.
    Digest {
        /// The digest.
        digest: String,
        /// 1-based line.
        line: usize,
    },
}

impl PromoterManifest {
    /// Parses the manifest's text.
    pub fn parse(source_name: &str, text: &str) -> Result<PromoterManifest, PromoterError> {
        let invalid = |line: usize, message: String| PromoterError::Invalid {
            source_name: source_name.to_owned(),
            line,
            message,
        };
        let documents = yaml::parse(text).map_err(|error| invalid(error.line, error.message))?;
        let Some(root) = documents.first() else {
            return Ok(PromoterManifest { source: source_name.to_owned(), entries: Vec::new() });
        };
        if !matches!(root.value, crate::yaml::Value::Sequence(_)) {
            return Err(invalid(root.line, "expected a list of images with `name` and `dmap`".to_owned()));
        }
        let mut entries = Vec::new();
        for item in root.items() {
            let Some(name) = item.get("name").and_then(Node::as_str) else {
                return Err(invalid(item.line, "an image entry without `name`".to_owned()));
            };
            let mut tags = Vec::new();
            for (digest, tag_list) in item.get("dmap").map(Node::entries).unwrap_or_default() {
                let Some(digest) = digest.as_str().filter(|digest| digest.starts_with("sha256:")) else {
                    return Err(invalid(digest.line, "a `dmap` key that is not a sha256 digest".to_owned()));
                };
                for tag in tag_list.items() {
                    if let Some(text) = tag.as_str() {
                        tags.push((text.to_owned(), digest.to_owned(), tag.line));
                    }
                }
            }
            entries.push(Entry { name: name.to_owned(), tags });
        }
        Ok(PromoterManifest { source: source_name.to_owned(), entries })
    }

    /// What the manifest maps `image`'s `tag` to. The entry is the one whose name is the end of
    /// the image's repository path (`descheduler` for registry.k8s.io/descheduler/descheduler),
    /// the longest such name when several are.
    pub fn promotion(&self, image: &ImageReference, tag: &str) -> Promotion {
        let repository = image.repository();
        let entry = self
            .entries
            .iter()
            .filter(|entry| repository == entry.name || repository.ends_with(&format!("/{}", entry.name)))
            .max_by_key(|entry| entry.name.len());
        let Some(entry) = entry else {
            return Promotion::NoImage;
        };
        match entry.tags.iter().find(|(candidate, _, _)| candidate == tag) {
            Some((_, digest, line)) => Promotion::Digest { digest: digest.clone(), line: *line },
            None => Promotion::NoTag,
        }
    }

    /// Findings for `image:tag` built (or recorded) as `digest`: an error when the manifest
    /// promotes the tag as another digest, a warning when it does not promote it at all.
    pub fn check(&self, image: &ImageReference, tag: &str, digest: &str) -> Option<Finding> {
        let subject = format!("{}:{tag}", image.name());
        match self.promotion(image, tag) {
            Promotion::Digest { digest: promoted, .. } if promoted == digest => None,
            Promotion::Digest { digest: promoted, line } => Some(
                Finding::in_file(FindingKind::PromoterDigest, &self.source, line, promoted, digest.to_owned())
                    .with_message(format!("the promoter manifest promotes {subject} as another digest than was built")),
            ),
            Promotion::NoTag => Some(
                Finding::about(
                    FindingKind::PromoterDigest,
                    &self.source,
                    format!("(no `{tag}` in the manifest)"),
                    digest.to_owned(),
                )
                .with_message(format!("{subject} is not promoted yet"))
                .as_warning(),
            ),
            Promotion::NoImage => Some(
                Finding::about(
                    FindingKind::PromoterDigest,
                    &self.source,
                    format!("(no image named like {})", image.name()),
                    digest.to_owned(),
                )
                .with_message(
                    "the promoter manifest has no entry for the image; is release.promoter_manifest the right file?",
                )
                .as_warning(),
            ),
        }
    }
}

/// Reads the manifest at `location`: an `http(s)://` URL, or a path (relative to `root`).
pub async fn load(location: &str, root: &std::path::Path) -> Result<PromoterManifest, PromoterError> {
    let unreadable = |message: String| PromoterError::Unreadable { source_name: location.to_owned(), message };
    let text = if location.starts_with("https://") || location.starts_with("http://") {
        let response = reqwest::get(location).await.map_err(|error| unreadable(crate::error::chain(&error)))?;
        let status = response.status();
        if !status.is_success() {
            return Err(unreadable(format!("the server answered {status}")));
        }
        if response.content_length().is_some_and(|length| length > 16 * 1024 * 1024) {
            return Err(unreadable("larger than 16 MiB".to_owned()));
        }
        response.text().await.map_err(|error| unreadable(crate::error::chain(&error)))?
    } else {
        let path = root.join(location);
        fs_err::read_to_string(&path).map_err(|error| unreadable(error.to_string()))?
    };
    PromoterManifest::parse(location, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = "- name: descheduler\n  dmap:\n    \"sha256:c89a\": [\"v0.10.0\"]\n    \"sha256:7291\": [\"v0.30.0\", \"v0.30.0-again\"]\n\n- name: descheduler-arm64\n  dmap:\n    \"sha256:66b6\": [\"v0.30.0\"]\n";

    #[test]
    fn maps_tags_to_digests_by_image_name() {
        let manifest = PromoterManifest::parse("images.yaml", MANIFEST).expect("valid");
        let image = ImageReference::parse("registry.k8s.io/descheduler/descheduler").expect("valid");
        assert_eq!(manifest.promotion(&image, "v0.30.0"), Promotion::Digest { digest: "sha256:7291".into(), line: 4 });
        assert_eq!(manifest.promotion(&image, "v0.31.0"), Promotion::NoTag);
        let arm = ImageReference::parse("registry.k8s.io/descheduler/descheduler-arm64").expect("valid");
        assert_eq!(manifest.promotion(&arm, "v0.30.0"), Promotion::Digest { digest: "sha256:66b6".into(), line: 8 });
        let other = ImageReference::parse("registry.k8s.io/kwok/kwok").expect("valid");
        assert_eq!(manifest.promotion(&other, "v0.30.0"), Promotion::NoImage);

        assert_eq!(manifest.check(&image, "v0.30.0", "sha256:7291"), None);
        let moved = manifest.check(&image, "v0.30.0", "sha256:ffff").expect("a finding");
        assert_eq!((moved.found.as_str(), moved.line), ("sha256:7291", Some(4)));
        let unpromoted = manifest.check(&image, "v0.31.0", "sha256:ffff").expect("a finding");
        assert_eq!(unpromoted.severity, slipway_core::Severity::Warning);
    }

    #[test]
    fn a_manifest_of_another_shape_names_its_line() {
        let error = PromoterManifest::parse("images.yaml", "- dmap: {}\n").expect_err("no name");
        assert!(error.to_string().contains("line 1"), "{error}");
        let error =
            PromoterManifest::parse("images.yaml", "- name: x\n  dmap:\n    latest: [v1]\n").expect_err("bad key");
        assert!(error.to_string().contains("line 3"), "{error}");
        let error = PromoterManifest::parse("images.yaml", "images: {}\n").expect_err("not a list");
        assert!(matches!(error, PromoterError::Invalid { .. }), "{error}");
    }
}
