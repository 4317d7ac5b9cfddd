//! kind's release notes, read for the node images each release published.
//!
//! Every kind release lists its pre-built images, one per line, pinned by digest:
//!
//! ```text
//! Images pre-built for this release:
//! - v1.33.1: `kindest/node:v1.33.1@sha256:05007225...`
//! ```
//!
//! Releases up to v0.20 wrote the key as the minor (` - 1.27: \`kindest/node:v1.27.1@...\``),
//! and some add "Additional images built for this release:". The tag is the Kubernetes version,
//! whatever the key says. Line endings may be `\r\n` (as the GitHub API returns them).

use serde::Serialize;
use slipway_core::Version;

/// One published node image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublishedImage {
    /// The Kubernetes version, as the tag writes it (`v1.33.1`).
    pub kubernetes: String,
    /// The repository (`kindest/node`).
    pub repository: String,
    /// `sha256:<64 hex>`.
    pub digest: String,
}

impl PublishedImage {
    /// `repository:tag@digest`.
    pub fn image(&self) -> String {
        format!("{}:{}@{}", self.repository, self.kubernetes, self.digest)
    }
}

/// What a release's notes say about node images.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReleaseNotes {
    /// Every image listed, in the order of the notes.
    pub images: Vec<PublishedImage>,
    /// The image `kind create cluster` uses by default, when the notes name it.
    pub default_image: Option<PublishedImage>,
}

impl ReleaseNotes {
    /// The image for exactly this Kubernetes version (`v1.33.1` and `1.33.1` are one version).
    pub fn image_for(&self, version: &str) -> Option<&PublishedImage> {
        let wanted = Version::parse(version.trim()).ok()?;
        self.images.iter().find(|image| Version::parse(&image.kubernetes).ok().as_ref() == Some(&wanted))
    }

    /// The Kubernetes versions listed for the minor of `version`, for a message.
    pub fn same_minor(&self, version: &str) -> Vec<&str> {
        let Ok(wanted) = Version::parse_lenient(version) else {
            return Vec::new();
        };
        self.images
            .iter()
            .filter(|image| {
                Version::parse(&image.kubernetes)
                    .is_ok_and(|listed| (listed.major(), listed.minor()) == (wanted.major(), wanted.minor()))
            })
            .map(|image| image.kubernetes.as_str())
            .collect()
    }
}

/// Reads the images out of a release's notes (its GitHub release `body`).
pub fn parse(body: &str) -> ReleaseNotes {
    let mut notes = ReleaseNotes::default();
    let mut in_list = false;
    let mut listed = Vec::new();
    let mut loose = Vec::new();
    for line in body.lines() {
        let line = line.trim_end_matches('\r');
        let lower = line.to_ascii_lowercase();
        if lower.contains("images pre-built for this release") || lower.contains("additional images built for") {
            in_list = true;
            continue;
        }
        let trimmed = line.trim();
        let item = trimmed.strip_prefix("- ").or_else(|| trimmed.strip_prefix("* "));
        if lower.contains("default node image") {
            if let Some(image) = image_in(line) {
                notes.default_image = Some(image);
            }
            continue;
        }
        match item {
            Some(item) => {
                if let Some(image) = image_in(item) {
                    if in_list { listed.push(image) } else { loose.push(image) }
                }
            }
            None if trimmed.is_empty() => {}
            None => in_list = false,
        }
    }
    // Without a heading (a copy that lost it), every listed image counts.
    let mut images = if listed.is_empty() { loose } else { listed };
    let mut seen = std::collections::BTreeSet::new();
    images.retain(|image| seen.insert((image.kubernetes.clone(), image.digest.clone())));
    notes.images = images;
    notes
}

/// The first `` `repository:tag@sha256:<64 hex>` `` in a line.
fn image_in(line: &str) -> Option<PublishedImage> {
    line.split('`').skip(1).step_by(2).find_map(|quoted| {
        let (name, digest) = quoted.trim().split_once('@')?;
        let hex = digest.strip_prefix("sha256:")?;
        if hex.len() != 64 || !hex.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return None;
        }
        let (repository, tag) = name.rsplit_once(':')?;
        if repository.is_empty() || repository.contains(' ') || Version::parse(tag).is_err() {
            return None;
        }
        Some(PublishedImage {
            kubernetes: tag.to_owned(),
            repository: repository.to_owned(),
            digest: format!("sha256:{}", hex.to_ascii_lowercase()),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "050072256b9a903bd914c0b2866828150cb229cea0efe5892e2b644d5dd3b34f";

    #[test]
    fn both_list_forms_and_crlf() {
        let body = format!(
            "The default node image is now `kindest/node:v1.33.1@sha256:{DIGEST}`\r\n\r\nImages pre-built for this release:\r\n- v1.33.1: `kindest/node:v1.33.1@sha256:{DIGEST}`\r\n - 1.27: `kindest/node:v1.27.1@sha256:{}` \r\n\r\n**NOTE**: use the digest\r\n- a later list item `kindest/node:v1.20.0@sha256:{}`\r\n",
            "b".repeat(64),
            "c".repeat(64)
        );
        let notes = parse(&body);
        let versions: Vec<&str> = notes.images.iter().map(|image| image.kubernetes.as_str()).collect();
        assert_eq!(versions, ["v1.33.1", "v1.27.1"]);
        assert_eq!(
            notes.image_for("1.33.1").map(PublishedImage::image),
            Some(format!("kindest/node:v1.33.1@sha256:{DIGEST}"))
        );
        assert_eq!(notes.default_image.as_ref().map(|image| image.kubernetes.as_str()), Some("v1.33.1"));
        assert!(notes.image_for("v1.33.2").is_none());
        assert_eq!(notes.same_minor("v1.27.9"), ["v1.27.1"]);
    }

    #[test]
    fn broken_digests_and_prose_are_not_images() {
        let body = format!(
            "Images pre-built for this release:\n- v1.1.1: `kindest/node:v1.1.1@sha256: {DIGEST}`\n- v1.1.2: `kindest/node:v1.1.2@sha256:{}`\n- v1.1.3: `kindest/node:latest@sha256:{DIGEST}`\n",
            &DIGEST[..60]
        );
        assert!(parse(&body).images.is_empty());
        assert!(parse("").images.is_empty());
    }

    #[test]
    fn a_list_without_its_heading_still_counts() {
        let notes = parse(&format!("- v1.30.0: `kindest/node:v1.30.0@sha256:{DIGEST}`\n"));
        assert_eq!(notes.images.len(), 1);
    }
}
