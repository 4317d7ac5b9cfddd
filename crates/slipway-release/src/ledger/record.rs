//! One release as recorded: the document `releases/<tag>.json` holds, its schema, how a stored
//! document is read back (never trusting it), and how new facts are added to a record without
//! ever replacing one (`merge`).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// The schema identifier of [`ReleaseRecord`]. A newer one is refused, never half-read.
pub const SCHEMA: &str = "slipway.release.record/v1";

/// What a release was when slipway recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseRecord {
    /// [`SCHEMA`].
    pub schema: String,
    /// The version (`0.36.0`).
    pub version: String,
    /// The git tag (`v0.36.0`).
    pub tag: String,
    /// What the tag pointed at, once known.
    pub git: Option<GitFacts>,
    /// Each of the release's images, as pushed.
    pub images: Vec<ImageFacts>,
    /// What each overlay and chart at the tag deploys.
    pub rendered: Vec<RenderedFacts>,
    /// Who recorded what, and when; the first entry created the record.
    pub events: Vec<Event>,
}

/// The git tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitFacts {
    /// The commit the tag names.
    pub commit: String,
    /// The tag object, for an annotated tag.
    pub tag_object: Option<String>,
}

/// One image of the release in its registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageFacts {
    /// Registry and repository (`registry.k8s.io/descheduler/descheduler`).
    pub repository: String,
    /// The image tag (`v0.36.0`).
    pub tag: String,
    /// The digest the tag pointed at: an index, or a single manifest.
    pub digest: String,
    /// Each platform of an index, with its manifest's digest.
    pub platforms: Vec<PlatformFacts>,
}

/// One platform of an image index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformFacts {
    /// `linux/arm64`.
    pub platform: String,
    /// Its manifest's digest.
    pub digest: String,
}

/// The images one overlay or chart deploys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenderedFacts {
    /// `overlay` or `chart`.
    pub kind: String,
    /// The overlay's directory or the chart's `Chart.yaml`.
    pub source: String,
    /// Every image it deploys, sorted.
    pub images: Vec<String>,
    /// `sha256:` of the images, one per line: what an audit compares.
    pub digest: String,
}

/// One write to the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// The command that wrote (`release bump --tag`, `image build --push`, `release record`).
    pub by_command: String,
    /// Who ran it: git's committer identity, else the user name.
    pub by: String,
    /// When, RFC 3339 in UTC.
    pub at: String,
    /// What it added (`git tag`, `image registry.k8s.io/x:v1`, `overlay config/default`).
    pub added: Vec<String>,
}

/// Why a stored document is not a record slipway can use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordProblem {
    /// Not JSON, or not this schema's shape.
    #[error("`{key}` is not a readable release record (line {line}, column {column}): {message}")]
    Corrupt {
        /// The storage key.
        key: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// Written by a newer slipway.
    #[error(
        "`{key}` was written with schema `{schema}`; this slipway reads `{SCHEMA}`, so upgrade slipway to audit it"
    )]
    NewerSchema {
        /// The storage key.
        key: String,
        /// The schema it declares.
        schema: String,
    },
    /// For another release than its name says.
    #[error("`{key}` records tag `{found}`, not `{expected}`")]
    WrongRelease {
        /// The storage key.
        key: String,
        /// The tag inside.
        found: String,
        /// The tag its key names.
        expected: String,
    },
}

impl ImageFacts {
    /// The facts of `repository:tag` at `digest`, with its platforms as `(platform, digest)`.
    pub fn new(
        repository: &str,
        tag: &str,
        digest: &str,
        platforms: impl IntoIterator<Item = (String, String)>,
    ) -> ImageFacts {
        ImageFacts {
            repository: repository.to_owned(),
            tag: tag.to_owned(),
            digest: digest.to_owned(),
            platforms: platforms.into_iter().map(|(platform, digest)| PlatformFacts { platform, digest }).collect(),
        }
    }
}

impl RenderedFacts {
    /// The facts of an overlay or chart that deploys `images` (in any order, with repeats).
    pub fn new(kind: &str, source: &str, images: impl IntoIterator<Item = String>) -> RenderedFacts {
        let images: BTreeSet<String> = images.into_iter().collect();
        let images: Vec<String> = images.into_iter().collect();
        let mut listing = images.join("\n");
        listing.push('\n');
        let digest = slipway_oci::manifest::sha256_digest(listing.as_bytes());
        RenderedFacts { kind: kind.to_owned(), source: source.to_owned(), images, digest }
    }
}

impl ReleaseRecord {
    /// An empty record of a release.
    pub fn new(version: &str, tag: &str) -> ReleaseRecord {
        ReleaseRecord {
            schema: SCHEMA.to_owned(),
            version: version.to_owned(),
            tag: tag.to_owned(),
            git: None,
            images: Vec::new(),
            rendered: Vec::new(),
            events: Vec::new(),
        }
    }

    /// Reads a stored document, refusing anything that is not exactly a record of `tag` in this
    /// schema.
    pub fn parse(key: &str, tag: &str, bytes: &[u8]) -> Result<ReleaseRecord, RecordProblem> {
        let corrupt = |error: &serde_json::Error| RecordProblem::Corrupt {
            key: key.to_owned(),
            line: error.line(),
            column: error.column(),
            message: error.to_string().split(" at line ").next().unwrap_or_default().to_owned(),
        };
        let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|error| corrupt(&error))?;
        match value.get("schema").and_then(serde_json::Value::as_str) {
            Some(SCHEMA) => {}
            Some(schema) if schema.starts_with("slipway.release.record/") => {
                return Err(RecordProblem::NewerSchema { key: key.to_owned(), schema: schema.to_owned() });
            }
            other => {
                return Err(RecordProblem::Corrupt {
                    key: key.to_owned(),
                    line: 1,
                    column: 1,
                    message: format!(
                        "`schema` is {}, not `{SCHEMA}`",
                        other.map_or("missing".to_owned(), |s| format!("`{s}`"))
                    ),
                });
            }
        }
        let record: ReleaseRecord = serde_json::from_slice(bytes).map_err(|error| corrupt(&error))?;
        if record.tag != tag {
            return Err(RecordProblem::WrongRelease {
                key: key.to_owned(),
                found: record.tag,
                expected: tag.to_owned(),
            });
        }
        Ok(record)
    }

    /// The document's bytes: pretty JSON with a newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }
}

/// A fact that differs from the one recorded; the record keeps the recorded one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    /// What (`git tag`, `image r.io/app:v1`, `platform linux/arm64 of r.io/app:v1`).
    pub what: String,
    /// What the record says.
    pub recorded: String,
    /// What was seen now.
    pub seen: String,
}

/// What [`merge`] did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Merged {
    /// Facts that were new to the record.
    pub added: Vec<String>,
    /// Facts that differ from the record, which was kept.
    pub conflicts: Vec<Conflict>,
}

/// Adds to `record` the facts of `new` that it lacks. A fact it already has is never replaced:
/// a different value is a [`Conflict`], because it means the release changed after it was
/// recorded.
pub fn merge(record: &mut ReleaseRecord, new: &ReleaseRecord) -> Merged {
    let mut merged = Merged::default();
    match (&record.git, &new.git) {
        (None, Some(git)) => {
            record.git = Some(git.clone());
            merged.added.push("git tag".to_owned());
        }
        (Some(recorded), Some(seen)) if recorded != seen => merged.conflicts.push(Conflict {
            what: format!("tag {}", record.tag),
            recorded: describe_git(recorded),
            seen: describe_git(seen),
        }),
        _ => {}
    }
    for image in &new.images {
        let name = format!("{}:{}", image.repository, image.tag);
        let Some(recorded) = record
            .images
            .iter_mut()
            .find(|recorded| recorded.repository == image.repository && recorded.tag == image.tag)
        else {
            record.images.push(image.clone());
            merged.added.push(format!("image {name}"));
            continue;
        };
        if recorded.digest != image.digest {
            merged.conflicts.push(Conflict {
                what: format!("image {name}"),
                recorded: recorded.digest.clone(),
                seen: image.digest.clone(),
            });
            continue;
        }
        for platform in &image.platforms {
            match recorded.platforms.iter().find(|recorded| recorded.platform == platform.platform) {
                None => {
                    recorded.platforms.push(platform.clone());
                    merged.added.push(format!("platform {} of {name}", platform.platform));
                }
                Some(existing) if existing.digest != platform.digest => merged.conflicts.push(Conflict {
                    what: format!("platform {} of {name}", platform.platform),
                    recorded: existing.digest.clone(),
                    seen: platform.digest.clone(),
                }),
                Some(_) => {}
            }
        }
    }
    for rendered in &new.rendered {
        match record
            .rendered
            .iter()
            .find(|recorded| recorded.kind == rendered.kind && recorded.source == rendered.source)
        {
            None => {
                record.rendered.push(rendered.clone());
                merged.added.push(format!("{} {}", rendered.kind, rendered.source));
            }
            Some(recorded) if recorded.digest != rendered.digest => merged.conflicts.push(Conflict {
                what: format!("{} {}", rendered.kind, rendered.source),
                recorded: recorded.images.join(", "),
                seen: rendered.images.join(", "),
            }),
            Some(_) => {}
        }
    }
    record.images.sort_by(|a, b| (&a.repository, &a.tag).cmp(&(&b.repository, &b.tag)));
    record.rendered.sort_by(|a, b| (&a.kind, &a.source).cmp(&(&b.kind, &b.source)));
    merged
}

/// A tag's target, for messages: `commit abc…` or `commit abc… (tag object def…)`.
pub fn describe_git(git: &GitFacts) -> String {
    match &git.tag_object {
        Some(object) => format!("commit {} (tag object {})", git.commit, object),
        None => format!("commit {}", git.commit),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(digest: &str, platforms: &[(&str, &str)]) -> ImageFacts {
        ImageFacts {
            repository: "r.io/app".into(),
            tag: "v1.0.0".into(),
            digest: digest.into(),
            platforms: platforms
                .iter()
                .map(|(platform, digest)| PlatformFacts { platform: (*platform).into(), digest: (*digest).into() })
                .collect(),
        }
    }

    #[test]
    fn merge_adds_what_is_missing_and_never_replaces() {
        let mut record = ReleaseRecord::new("1.0.0", "v1.0.0");
        let mut first = ReleaseRecord::new("1.0.0", "v1.0.0");
        first.git = Some(GitFacts { commit: "c1".into(), tag_object: None });
        first.rendered.push(RenderedFacts::new("overlay", "config/default", ["r.io/app:v1.0.0".to_owned()]));
        let merged = merge(&mut record, &first);
        assert_eq!(merged.added, ["git tag", "overlay config/default"]);
        assert!(merged.conflicts.is_empty());

        let mut pushed = ReleaseRecord::new("1.0.0", "v1.0.0");
        pushed.images.push(image("sha256:i1", &[("linux/amd64", "sha256:a"), ("linux/arm64", "sha256:b")]));
        let merged = merge(&mut record, &pushed);
        assert_eq!(merged.added, ["image r.io/app:v1.0.0"]);
        assert_eq!(merge(&mut record, &pushed), Merged::default(), "the same facts add nothing");

        let mut moved = ReleaseRecord::new("1.0.0", "v1.0.0");
        moved.git = Some(GitFacts { commit: "c2".into(), tag_object: None });
        moved.images.push(image("sha256:i2", &[]));
        moved.rendered.push(RenderedFacts::new("overlay", "config/default", ["r.io/app:v0.9.0".to_owned()]));
        let merged = merge(&mut record, &moved);
        assert!(merged.added.is_empty());
        let what: Vec<&str> = merged.conflicts.iter().map(|conflict| conflict.what.as_str()).collect();
        assert_eq!(what, ["tag v1.0.0", "image r.io/app:v1.0.0", "overlay config/default"]);
        assert_eq!(record.git.as_ref().map(|git| git.commit.as_str()), Some("c1"), "the recorded fact stays");
        assert_eq!(record.images[0].digest, "sha256:i1");
    }

    #[test]
    fn rendered_digests_do_not_depend_on_order() {
        let a = RenderedFacts::new("chart", "c/Chart.yaml", ["b:1".to_owned(), "a:1".to_owned(), "b:1".to_owned()]);
        let b = RenderedFacts::new("chart", "c/Chart.yaml", ["a:1".to_owned(), "b:1".to_owned()]);
        assert_eq!(a, b);
        assert!(a.digest.starts_with("sha256:"));
    }

    #[test]
    fn stored_documents_are_checked_before_use() {
        let mut record = ReleaseRecord::new("1.0.0", "v1.0.0");
        record.images.push(image("sha256:i1", &[]));
        let bytes = record.to_bytes();
        assert_eq!(ReleaseRecord::parse("releases/v1.0.0.json", "v1.0.0", &bytes), Ok(record));

        let problem =
            |bytes: &[u8]| ReleaseRecord::parse("releases/v1.0.0.json", "v1.0.0", bytes).expect_err("refused");
        let corrupt = problem(b"{\"schema\": \"slipway.release.record/v1\",\n \"version\": ");
        assert!(matches!(corrupt, RecordProblem::Corrupt { line: 2, .. }), "{corrupt:?}");
        let newer = problem(b"{\"schema\": \"slipway.release.record/v2\", \"anything\": 1}");
        assert!(matches!(&newer, RecordProblem::NewerSchema { schema, .. } if schema.ends_with("/v2")), "{newer:?}");
        assert!(newer.to_string().contains("upgrade slipway"), "{newer}");
        let foreign = problem(b"{\"kind\": \"something else\"}");
        assert!(matches!(foreign, RecordProblem::Corrupt { .. }), "{foreign:?}");
        let mut other = ReleaseRecord::new("0.9.0", "v0.9.0");
        other.events.clear();
        assert!(matches!(problem(&other.to_bytes()), RecordProblem::WrongRelease { .. }));
    }
}
