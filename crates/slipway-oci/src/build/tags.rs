//! Which tags an image gets, from git.
//!
//! On a clean commit that carries a release tag (`v1.2.3`, or whatever `release.tag_prefix`
//! says), the image tag is the release's (`release.image_tag_prefix` + version). Anywhere else it
//! is a `git describe` tag (`v1.2.3-4-gabcdef012345`, `-dirty` when the tree has changes), so a
//! snapshot can never take a release's tag. Moving tags such as `latest` follow only the newest
//! release, never a pre-release or an older patch.

use serde::Serialize;
use slipway_core::Version;

/// What git says about the commit being built.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GitFacts {
    /// Tags on `HEAD`.
    pub head_tags: Vec<String>,
    /// `git describe --tags --always --dirty` against the release tag prefix.
    pub describe: Option<String>,
    /// Whether tracked files have changes.
    pub dirty: bool,
}

/// The tags an image is pushed under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TagPlan {
    /// Tags that must never move: the release or snapshot tag, or `--tag`s.
    pub tags: Vec<String>,
    /// The release being built, when this is one.
    pub release: Option<Version>,
}

/// Whether a moving tag moves, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MovingTag {
    /// The tag.
    pub tag: String,
    /// Whether it is pushed.
    pub moved: bool,
    /// Why, for people.
    pub reason: String,
}

/// The tags for a build: `explicit` ones when given, else the release or snapshot tag.
pub fn plan(facts: &GitFacts, explicit: &[String], tag_prefix: &str, image_tag_prefix: &str) -> TagPlan {
    let release = if facts.dirty {
        None
    } else {
        facts.head_tags.iter().filter_map(|tag| Version::from_tag(tag, tag_prefix)).max()
    };
    if !explicit.is_empty() {
        return TagPlan { tags: explicit.to_vec(), release };
    }
    if let Some(version) = &release {
        return TagPlan { tags: vec![version.tag(image_tag_prefix)], release };
    }
    let snapshot = match &facts.describe {
        Some(described) => {
            let without_prefix =
                described.strip_prefix(tag_prefix).filter(|rest| rest.starts_with(|c: char| c.is_ascii_digit()));
            match without_prefix {
                Some(rest) => format!("{image_tag_prefix}{rest}"),
                None => described.clone(),
            }
        }
        None => "dev".to_owned(),
    };
    TagPlan { tags: vec![sanitize(&snapshot)], release: None }
}

/// Decides each moving tag against the tags the repository already has.
pub fn moving(
    tags: &[String],
    release: Option<&Version>,
    existing: &[String],
    image_tag_prefix: &str,
) -> Vec<MovingTag> {
    let newest = existing
        .iter()
        .filter_map(|tag| Version::from_tag(tag, image_tag_prefix))
        .filter(|version| !version.is_prerelease())
        .max();
    tags.iter()
        .map(|tag| {
            let (moved, reason) = match (release, &newest) {
                (None, _) => (false, "this build is not a release".to_owned()),
                (Some(version), _) if version.is_prerelease() => (false, format!("{version} is a pre-release")),
                (Some(version), Some(newest)) if newest > version => {
                    (false, format!("{} is newer than {version}", newest.tag(image_tag_prefix)))
                }
                (Some(version), _) => (true, format!("{version} is the newest release")),
            };
            MovingTag { tag: tag.clone(), moved, reason }
        })
        .collect()
}

/// Makes a string a valid tag: `[A-Za-z0-9_.-]`, not starting with `.` or `-`, at most 128.
fn sanitize(tag: &str) -> String {
    let mut clean: String =
        tag.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') { c } else { '-' }).collect();
    while clean.starts_with(['.', '-']) {
        clean.remove(0);
    }
    clean.truncate(128);
    if clean.is_empty() { "dev".to_owned() } else { clean }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(tags: &[&str], describe: &str, dirty: bool) -> GitFacts {
        GitFacts {
            head_tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            describe: Some(describe.to_owned()),
            dirty,
        }
    }

    #[test]
    fn a_clean_tagged_commit_is_a_release() {
        let release = plan(&facts(&["v0.4.0", "docs-1"], "v0.4.0", false), &[], "v", "v");
        assert_eq!(release.tags, ["v0.4.0"]);
        assert_eq!(release.release.map(|v| v.to_string()), Some("0.4.0".to_owned()));
        let autoscaler = plan(
            &facts(&["cluster-autoscaler-1.36.1"], "cluster-autoscaler-1.36.1", false),
            &[],
            "cluster-autoscaler-",
            "v",
        );
        assert_eq!(autoscaler.tags, ["v1.36.1"]);
    }

    #[test]
    fn anything_else_is_a_snapshot() {
        assert_eq!(plan(&facts(&["v0.4.0"], "v0.4.0-dirty", true), &[], "v", "v").tags, ["v0.4.0-dirty"]);
        assert_eq!(plan(&facts(&[], "v0.4.0-3-g0123456789ab", false), &[], "v", "v").tags, ["v0.4.0-3-g0123456789ab"]);
        assert_eq!(
            plan(&facts(&[], "cluster-autoscaler-1.36.1-2-gabcdef012345", false), &[], "cluster-autoscaler-", "v").tags,
            ["v1.36.1-2-gabcdef012345"]
        );
        assert_eq!(plan(&facts(&[], "0123456789ab", false), &[], "v", "v").tags, ["0123456789ab"]);
        assert_eq!(plan(&GitFacts::default(), &[], "v", "v").tags, ["dev"]);
        assert_eq!(sanitize("feature/x+y"), "feature-x-y");
    }

    #[test]
    fn explicit_tags_win_but_the_release_is_still_known() {
        let explicit = plan(&facts(&["v1.0.0"], "v1.0.0", false), &["candidate".to_owned()], "v", "v");
        assert_eq!(explicit.tags, ["candidate"]);
        assert!(explicit.release.is_some());
    }

    #[test]
    fn moving_tags_follow_only_the_newest_release() {
        let existing: Vec<String> =
            ["v1.2.0", "v1.3.0", "v1.4.0-rc.1", "latest"].iter().map(|t| (*t).to_owned()).collect();
        let decide = |version: &str| {
            let version = Version::parse(version).expect("valid");
            moving(&["latest".to_owned()], Some(&version), &existing, "v").remove(0)
        };
        assert!(decide("1.3.1").moved);
        assert!(decide("1.3.0").moved, "rebuilding the newest release keeps latest on it");
        let older = decide("1.2.1");
        assert!(!older.moved);
        assert_eq!(older.reason, "v1.3.0 is newer than 1.2.1");
        assert!(!decide("1.5.0-rc.1").moved);
        assert!(!moving(&["latest".to_owned()], None, &existing, "v")[0].moved);
    }
}
