//! Container image references (`registry.k8s.io/descheduler/descheduler:v0.33.0@sha256:...`).
//!
//! [`ImageReference::parse`] follows the grammar of the Docker/OCI distribution reference: an
//! optional registry host (a first component containing `.` or `:`, or `localhost`), a lowercase
//! repository path, an optional tag and an optional digest. It keeps the byte ranges of the tag
//! and digest in the text it was given, so a bump can replace exactly the tag and nothing else.

use std::fmt;
use std::ops::Range;

/// A parsed image reference that remembers where its parts sit in the original text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageReference {
    text: String,
    registry: Option<Range<usize>>,
    repository: Range<usize>,
    tag: Option<Range<usize>>,
    digest: Option<Range<usize>>,
}

/// Why a string is not an image reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid image reference `{input}`: {reason}")]
pub struct ImageReferenceError {
    /// The text that was given.
    pub input: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// The registry Docker uses for references without a registry host.
pub const DOCKER_HUB: &str = "docker.io";

impl ImageReference {
    /// Parses a reference such as `busybox`, `ghcr.io/org/app:v1.2.3` or
    /// `localhost:5000/app@sha256:<64 hex>`.
    pub fn parse(input: &str) -> Result<ImageReference, ImageReferenceError> {
        let error = |reason| ImageReferenceError { input: input.to_owned(), reason };
        if input.is_empty() {
            return Err(error("empty"));
        }
        if input.len() > 4096 {
            return Err(error("longer than 4096 characters"));
        }
        let (name_end, digest) = match input.find('@') {
            Some(at) => {
                let digest = &input[at + 1..];
                if !is_digest(digest) {
                    return Err(error("the digest after `@` is not `algorithm:hex`"));
                }
                (at, Some(at + 1..input.len()))
            }
            None => (input.len(), None),
        };
        let name_and_tag = &input[..name_end];
        let last_slash = name_and_tag.rfind('/');
        let tag_colon = name_and_tag.rfind(':').filter(|colon| last_slash.is_none_or(|slash| *colon > slash));
        let (name, tag) = match tag_colon {
            Some(colon) => {
                let tag = &name_and_tag[colon + 1..];
                if !is_tag(tag) {
                    return Err(error(
                        "the tag after `:` must be 1 to 128 of letters, digits, `_`, `.` and `-`, not starting with `.` or `-`",
                    ));
                }
                (&name_and_tag[..colon], Some(colon + 1..name_end))
            }
            None => (name_and_tag, None),
        };
        let (registry, repository_start) = match name.find('/') {
            Some(slash) if is_registry(&name[..slash]) => (Some(0..slash), slash + 1),
            _ => (None, 0),
        };
        let repository = &name[repository_start..];
        if repository.is_empty() || !repository.split('/').all(is_path_component) {
            return Err(error(
                "the repository path must be lowercase letters and digits, separated by `/`, `.`, `_` or `-`",
            ));
        }
        Ok(ImageReference { text: input.to_owned(), registry, repository: repository_start..name.len(), tag, digest })
    }

    /// The reference exactly as it was written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The registry host as written (`registry.k8s.io`, `localhost:5000`), if any.
    pub fn registry(&self) -> Option<&str> {
        self.registry.clone().map(|range| &self.text[range])
    }

    /// The registry this reference is pulled from: the written one, or Docker Hub.
    pub fn resolved_registry(&self) -> &str {
        match self.registry() {
            Some("index.docker.io" | "registry-1.docker.io") | None => DOCKER_HUB,
            Some(registry) => registry,
        }
    }

    /// The repository path as written, without registry (`descheduler/descheduler`).
    pub fn repository(&self) -> &str {
        &self.text[self.repository.clone()]
    }

    /// The repository path the registry knows: Docker Hub's single-component names live under
    /// `library/`.
    pub fn resolved_repository(&self) -> String {
        let repository = self.repository();
        if self.resolved_registry() == DOCKER_HUB && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository.to_owned()
        }
    }

    /// Registry and repository as written, without tag or digest.
    pub fn name(&self) -> &str {
        &self.text[..self.repository.end]
    }

    /// The fully qualified name (`docker.io/library/busybox` for `busybox`), for comparing two
    /// references to the same repository written differently.
    pub fn canonical_name(&self) -> String {
        format!("{}/{}", self.resolved_registry(), self.resolved_repository())
    }

    /// The tag, if any.
    pub fn tag(&self) -> Option<&str> {
        self.tag.clone().map(|range| &self.text[range])
    }

    /// Where the tag sits in [`as_str`](Self::as_str).
    pub fn tag_range(&self) -> Option<Range<usize>> {
        self.tag.clone()
    }

    /// The digest (`sha256:...`), if any.
    pub fn digest(&self) -> Option<&str> {
        self.digest.clone().map(|range| &self.text[range])
    }

    /// Whether both references name the same repository, however each is spelled.
    pub fn same_repository(&self, other: &ImageReference) -> bool {
        self.canonical_name() == other.canonical_name()
    }

    /// This reference's repository with another tag and no digest.
    pub fn with_tag(&self, tag: &str) -> ImageReference {
        let text = format!("{}:{tag}", self.name());
        ImageReference {
            tag: Some(self.repository.end + 1..text.len()),
            text,
            registry: self.registry.clone(),
            repository: self.repository.clone(),
            digest: None,
        }
    }
}

impl fmt::Display for ImageReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for ImageReference {
    type Err = ImageReferenceError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        ImageReference::parse(input)
    }
}

fn is_registry(component: &str) -> bool {
    let valid = !component.is_empty()
        && component.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    valid && (component.contains(['.', ':']) || component == "localhost")
}

fn is_path_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alphanumeric = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if bytes.is_empty() || !alphanumeric(&bytes[0]) || !alphanumeric(&bytes[bytes.len() - 1]) {
        return false;
    }
    // Separators are `.`, `_`, `__` or any run of `-`; two different separators never touch.
    let mut previous_separator: Option<u8> = None;
    let mut run = 0;
    for &b in bytes {
        if alphanumeric(&b) {
            previous_separator = None;
            run = 0;
            continue;
        }
        run += 1;
        let allowed = match (b, previous_separator) {
            (b'-', None | Some(b'-')) => true,
            (b'_', None) => true,
            (b'_', Some(b'_')) => run == 2,
            (b'.', None) => true,
            _ => false,
        };
        if !allowed {
            return false;
        }
        previous_separator = Some(b);
    }
    true
}

fn is_tag(tag: &str) -> bool {
    let bytes = tag.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 128
        && (bytes[0].is_ascii_alphanumeric() || bytes[0] == b'_')
        && bytes.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

fn is_digest(digest: &str) -> bool {
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return false;
    };
    !algorithm.is_empty()
        && algorithm
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'+' | b'.' | b'_' | b'-'))
        && hex.len() >= 32
        && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DIGEST: &str = "sha256:8d866994ab6de2a1b8b4b2a8fcb8b5c3f9a1f2e3d4c5b6a7980716253443526a";

    #[test]
    fn parses_the_common_forms() {
        let reference = ImageReference::parse("registry.k8s.io/descheduler/descheduler:v0.33.0").expect("valid");
        assert_eq!(reference.registry(), Some("registry.k8s.io"));
        assert_eq!(reference.repository(), "descheduler/descheduler");
        assert_eq!(reference.tag(), Some("v0.33.0"));
        assert_eq!(reference.digest(), None);
        assert_eq!(reference.name(), "registry.k8s.io/descheduler/descheduler");

        let hub = ImageReference::parse("busybox").expect("valid");
        assert_eq!(hub.registry(), None);
        assert_eq!(hub.canonical_name(), "docker.io/library/busybox");
        assert!(hub.same_repository(&ImageReference::parse("docker.io/library/busybox:1.36").expect("valid")));

        let port = ImageReference::parse(&format!("localhost:5000/app:v1@{DIGEST}")).expect("valid");
        assert_eq!(port.registry(), Some("localhost:5000"));
        assert_eq!(port.repository(), "app");
        assert_eq!(port.tag(), Some("v1"));
        assert_eq!(port.digest(), Some(DIGEST));

        let no_tag_port = ImageReference::parse("127.0.0.1:5000/team/app").expect("valid");
        assert_eq!(no_tag_port.registry(), Some("127.0.0.1:5000"));
        assert_eq!(no_tag_port.tag(), None);
    }

    #[test]
    fn tag_range_points_into_the_text() {
        let text = format!("ghcr.io/org/app:v1.2.3@{DIGEST}");
        let reference = ImageReference::parse(&text).expect("valid");
        let range = reference.tag_range().expect("has a tag");
        assert_eq!(&text[range], "v1.2.3");
        assert_eq!(reference.with_tag("v2.0.0").as_str(), "ghcr.io/org/app:v2.0.0");
    }

    #[test]
    fn rejects_templates_and_garbage() {
        for input in [
            "",
            "{{ .Values.image }}",
            "$(IMAGE)",
            "Registry/App",
            "app:",
            "app:-x",
            "app@sha256:short",
            "a//b",
            "-app",
            "app_-x",
        ] {
            assert!(ImageReference::parse(input).is_err(), "{input} should be rejected");
        }
    }

    #[test]
    fn path_component_separators() {
        for ok in ["a", "a.b", "a_b", "a__b", "a-b", "a---b", "a1.b2-c3"] {
            assert!(is_path_component(ok), "{ok}");
        }
        for bad in ["a..b", "a___b", "a._b", "a-", ".a", "A"] {
            assert!(!is_path_component(bad), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn composed_references_parse_back(
            registry in proptest::option::of("[a-z]{1,8}\\.(io|com)(:[0-9]{2,5})?"),
            path in proptest::collection::vec("[a-z0-9]{1,6}([_-][a-z0-9]{1,4})?", 1..4),
            tag in proptest::option::of("[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}"),
        ) {
            let mut text = String::new();
            if let Some(registry) = &registry {
                text.push_str(registry);
                text.push('/');
            }
            text.push_str(&path.join("/"));
            if let Some(tag) = &tag {
                text.push(':');
                text.push_str(tag);
            }
            let reference = ImageReference::parse(&text).expect("composed references are valid");
            prop_assert_eq!(reference.registry(), registry.as_deref());
            prop_assert_eq!(reference.repository(), path.join("/"));
            prop_assert_eq!(reference.tag(), tag.as_deref());
            prop_assert_eq!(reference.as_str(), text.as_str());
        }
    }
}
