//! Image references in documentation: `registry.k8s.io/descheduler/descheduler:v0.35.0` in README
//! prose and code blocks (Markdown, reStructuredText, AsciiDoc, plain text). Only references with
//! a registry host and a tag that looks like a version are kept; which of them are the project's
//! images is [`crate::check`]'s decision.

use std::sync::LazyLock;

use regex::Regex;
use slipway_core::ImageReference;

use super::Located;
use super::text::LineIndex;

/// An image reference written in a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocImage {
    /// The whole reference, located (its range covers the reference).
    pub value: Located,
    /// The parsed reference.
    pub image: ImageReference,
}

/// Extensions of documents.
const DOCUMENT_EXTENSIONS: &[&str] = &["md", "markdown", "rst", "adoc", "txt"];

/// Whether a file name is a document.
pub fn is_document(name: &str) -> bool {
    name.rsplit_once('.')
        .is_some_and(|(_, extension)| DOCUMENT_EXTENSIONS.contains(&extension.to_ascii_lowercase().as_str()))
}

/// `host.domain[:port]/path:tag` where the tag starts like a version (`v0.35.0`, `1.36.1`).
static IMAGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?:^|[^A-Za-z0-9._/:@-])((?:[a-z0-9-]+\.)+[a-z0-9-]+(?::[0-9]+)?(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)+:v?[0-9]+\.[0-9]+[A-Za-z0-9_.+-]*)",
    )
    .expect("valid regex")
});

/// Every registry-qualified image reference with a version-like tag in `text`.
pub fn find(path: &str, text: &str, lines: &LineIndex) -> Vec<DocImage> {
    if !text.contains(':') || !text.contains('/') {
        return Vec::new();
    }
    let mut images = Vec::new();
    for captures in IMAGE.captures_iter(text) {
        let Some(found) = captures.get(1) else {
            continue;
        };
        // Sentence punctuation after a reference is not part of it.
        let written = found.as_str().trim_end_matches(['.', '-', '+', '_']);
        let Ok(image) = ImageReference::parse(written) else {
            continue;
        };
        if image.registry().is_none() || image.tag().is_none() {
            continue;
        }
        images.push(DocImage {
            value: Located {
                file: path.to_owned(),
                line: lines.line(found.start()),
                text: written.to_owned(),
                range: Some(found.start()..found.start() + written.len()),
            },
            image,
        });
    }
    images
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_references_in_prose_and_code() {
        let text = "Run the image (`registry.k8s.io/descheduler/descheduler:v0.35.0`), or:\n\n```\ndocker run registry.k8s.io/descheduler/descheduler:v0.35.0.\nimage: ghcr.io/org/app:1.2.3@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n```\nSee https://example.com/docs:v1.0 and busybox:1.36 and localhost:5000/app:v1.0.0.\n";
        let images = find("README.md", text, &LineIndex::new(text));
        let found: Vec<_> = images.iter().map(|image| (image.value.line, image.value.text.as_str())).collect();
        assert_eq!(
            found,
            [
                (1, "registry.k8s.io/descheduler/descheduler:v0.35.0"),
                (4, "registry.k8s.io/descheduler/descheduler:v0.35.0"),
                (5, "ghcr.io/org/app:1.2.3"),
            ]
        );
        let range = images[1].value.range.clone().expect("located");
        assert_eq!(&text[range], "registry.k8s.io/descheduler/descheduler:v0.35.0");
    }
}
