//! Release versions as projects write them: semantic versions, with or without a leading `v`.
//!
//! A project's version appears in many spellings (`v0.33.0` in an image tag, `0.33.0` in a Helm
//! `appVersion`, `cluster-autoscaler-1.36.1` as a git tag). [`Version`] is the one value behind
//! them; [`restyle`] writes a new version in the spelling an existing reference already uses, so a
//! bump never changes a file's conventions.

use std::cmp::Ordering;
use std::fmt;

/// A semantic version (`MAJOR.MINOR.PATCH[-PRE][+BUILD]`), stored without any `v` prefix.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version(semver::Version);

/// Why a string is not a version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid version `{input}`: {reason}")]
pub struct VersionError {
    /// The text that was given.
    pub input: String,
    /// What is wrong with it, as a lowercase fragment.
    pub reason: String,
}

impl Version {
    /// Parses `1.2.3`, `v1.2.3`, `1.2.3-rc.1` or `v1.2.3+build.5`.
    ///
    /// Anything else (`1.2`, `latest`, `v1.2.3 ` with spaces) is an error that says what a version
    /// looks like.
    pub fn parse(input: &str) -> Result<Version, VersionError> {
        let unprefixed = input.strip_prefix('v').unwrap_or(input);
        let error = |reason: &str| VersionError { input: input.to_owned(), reason: reason.to_owned() };
        if unprefixed.is_empty() {
            return Err(error("expected MAJOR.MINOR.PATCH, like 1.4.0 or v1.4.0"));
        }
        if !unprefixed.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(error(
                "expected MAJOR.MINOR.PATCH, like 1.4.0 or v1.4.0, optionally followed by -PRERELEASE or +BUILD",
            ));
        }
        match semver::Version::parse(unprefixed) {
            Ok(version) => Ok(Version(version)),
            Err(semver_error) => {
                Err(error(&format!("expected MAJOR.MINOR.PATCH, like 1.4.0 or v1.4.0 ({semver_error})")))
            }
        }
    }

    /// Parses a tag written as `prefix` followed by a version, such as `v0.33.0` with prefix `v`
    /// or `cluster-autoscaler-1.36.1` with prefix `cluster-autoscaler-`. A `v` after the prefix is
    /// accepted too. Returns `None` when the tag is not of that form.
    pub fn from_tag(tag: &str, prefix: &str) -> Option<Version> {
        let rest = tag.strip_prefix(prefix)?;
        Version::parse(rest).ok()
    }

    /// The major component.
    pub fn major(&self) -> u64 {
        self.0.major
    }

    /// The minor component.
    pub fn minor(&self) -> u64 {
        self.0.minor
    }

    /// The patch component.
    pub fn patch(&self) -> u64 {
        self.0.patch
    }

    /// Whether this is a pre-release (`1.2.0-rc.1`).
    pub fn is_prerelease(&self) -> bool {
        !self.0.pre.is_empty()
    }

    /// The pre-release identifiers (`rc.1.5` gives `["rc", "1", "5"]`); empty for a release.
    pub fn prerelease(&self) -> Vec<&str> {
        if self.0.pre.is_empty() { Vec::new() } else { self.0.pre.as_str().split('.').collect() }
    }

    /// `(major, minor, patch)`, without pre-release or build: what a Kubernetes version range
    /// (`>=1.30, <1.32`) compares, so `v1.35.0-alpha.0.123+0123abcd` counts as 1.35.0.
    pub fn core(&self) -> (u64, u64, u64) {
        (self.0.major, self.0.minor, self.0.patch)
    }

    /// Parses a version as Kubernetes' ranges and markers write it: anything [`Version::parse`]
    /// takes, and also `MAJOR.MINOR` (`1.31`, `v1.31`), read as `MAJOR.MINOR.0`.
    pub fn parse_lenient(input: &str) -> Result<Version, VersionError> {
        let trimmed = input.trim();
        let unprefixed = trimmed.strip_prefix('v').unwrap_or(trimmed);
        let numeric = |part: &str| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit());
        match unprefixed.split_once('.') {
            Some((major, minor)) if numeric(major) && numeric(minor) => Version::parse(&format!("{unprefixed}.0"))
                .map_err(|mut error| {
                    error.input = input.to_owned();
                    error
                }),
            _ => Version::parse(trimmed).map_err(|mut error| {
                error.input = input.to_owned();
                error
            }),
        }
    }

    /// Whether a version marker holding `self` may move to `new`: the rule of kubernetes/release
    /// (`IsUpToDate` in pkg/release/publish.go). A marker moves only to a greater version, with
    /// one exception from Kubernetes' tagging: a CI build after a release candidate,
    /// `X.Y.0-rc.N.M+sha`, is followed by builds on the release branch numbered `X.Y.0-M+sha`
    /// (and later `X.Y.Z-M+sha`), which semver orders lower (`11` < `rc`) but which are newer.
    pub fn marker_moves_to(&self, new: &Version) -> bool {
        let (current_pre, new_pre) = (self.prerelease(), new.prerelease());
        let after_release_candidate = current_pre.len() == 3
            && current_pre[0] == "rc"
            && new_pre.len() == 1
            && new_pre[0].bytes().all(|byte| byte.is_ascii_digit())
            && new.core() >= self.core();
        after_release_candidate || new > self
    }

    /// The tag for this version under a tag prefix: `v` gives `v1.2.3`.
    pub fn tag(&self, prefix: &str) -> String {
        format!("{prefix}{self}")
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for Version {
    type Err = VersionError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Version::parse(input)
    }
}

/// Versions order by semantic-version precedence; build metadata only breaks ties, so the order
/// is total and agrees with equality.
impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.cmp(&other.0)
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl serde::Serialize for Version {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Whether `text` names `version`, in any of the spellings a project uses for it (`0.33.0` or
/// `v0.33.0`).
pub fn names_version(text: &str, version: &Version) -> bool {
    Version::parse(text).is_ok_and(|found| &found == version)
}

/// Writes `version` in the spelling of `existing`: with a leading `v` when `existing` has one.
///
/// `restyle("v0.32.0", 0.33.0)` is `v0.33.0`; `restyle("0.32.0", 0.33.0)` is `0.33.0`.
pub fn restyle(existing: &str, version: &Version) -> String {
    if existing.starts_with('v') { format!("v{version}") } else { version.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn moves(current: &str, new: &str) -> bool {
        Version::parse(current).expect("current").marker_moves_to(&Version::parse(new).expect("new"))
    }

    #[test]
    fn markers_move_forward_only() {
        assert!(moves("v1.31.1", "v1.31.2"));
        assert!(moves("v1.31.2", "v1.32.0-alpha.0"));
        assert!(moves("v1.32.0-rc.1", "v1.32.0"));
        assert!(moves("v1.35.0-alpha.0.123+0123456789abcd", "v1.35.0-alpha.0.124+fedcba9876543210"));
        assert!(!moves("v1.31.2", "v1.31.2"), "equal is not newer");
        assert!(!moves("v1.31.2", "v1.31.1"));
        assert!(!moves("v1.32.0", "v1.32.0-rc.1"));
        assert!(!moves("1.31.10", "v1.31.9"), "numeric, not text, order");
    }

    #[test]
    fn a_branch_build_after_a_release_candidate_is_newer() {
        // kubernetes/release's own examples.
        assert!(moves("v1.30.0-rc.2.10+00000000000000", "v1.30.0-11+00000000000000"));
        assert!(!moves("v1.29.0-rc.0.20+00000000000000", "v1.28.1-2+00000000000000"));
        // Outside the rule, semver decides.
        assert!(!moves("v1.30.0-rc.2", "v1.30.0-11"), "two identifiers are not a CI build");
    }

    #[test]
    fn lenient_versions_take_major_minor() {
        assert_eq!(Version::parse_lenient("1.31").expect("lenient").core(), (1, 31, 0));
        assert_eq!(Version::parse_lenient("v1.31").expect("lenient").to_string(), "1.31.0");
        assert_eq!(Version::parse_lenient("v1.35.0-alpha.0.123+0123abcd").expect("full").core(), (1, 35, 0));
        assert!(Version::parse_lenient("1").is_err());
        assert!(Version::parse_lenient("1.x").is_err());
        let error = Version::parse_lenient("https://dl.k8s.io/1.31.0").expect_err("a URL");
        assert_eq!(error.input, "https://dl.k8s.io/1.31.0");
    }

    #[test]
    fn parses_with_and_without_prefix() {
        assert_eq!(Version::parse("v0.33.0"), Version::parse("0.33.0"));
        assert_eq!(Version::parse("1.36.1-rc.0").map(|v| v.to_string()), Ok("1.36.1-rc.0".to_owned()));
        assert!(Version::parse("v1.2.3").is_ok_and(|v| v.major() == 1 && v.minor() == 2 && v.patch() == 3));
    }

    #[test]
    fn rejects_what_is_not_a_version() {
        for input in ["", "v", "1.2", "latest", "vv1.2.3", "1.2.3 ", " 1.2.3", "V1.2.3", "01.2.3", "1.2.3.4", "x1.2.3"]
        {
            let error = Version::parse(input).expect_err(input);
            assert!(error.to_string().starts_with(&format!("invalid version `{input}`")), "{error}");
        }
    }

    #[test]
    fn tags_with_prefixes() {
        let version = Version::parse("1.36.1").expect("valid");
        assert_eq!(Version::from_tag("cluster-autoscaler-1.36.1", "cluster-autoscaler-"), Some(version.clone()));
        assert_eq!(Version::from_tag("v1.36.1", "v"), Some(version.clone()));
        assert_eq!(Version::from_tag("v1.36.1", ""), Some(version.clone()));
        assert_eq!(Version::from_tag("release-1.36", "v"), None);
        assert_eq!(version.tag("v"), "v1.36.1");
    }

    #[test]
    fn restyle_keeps_the_prefix_convention() {
        let version = Version::parse("0.33.0").expect("valid");
        assert_eq!(restyle("v0.32.0", &version), "v0.33.0");
        assert_eq!(restyle("0.32.0", &version), "0.33.0");
    }

    #[test]
    fn prereleases_order_before_their_release() {
        let rc = Version::parse("1.0.0-rc.1").expect("valid");
        let release = Version::parse("1.0.0").expect("valid");
        assert!(rc < release);
        assert!(rc.is_prerelease() && !release.is_prerelease());
    }

    fn version_strategy() -> impl Strategy<Value = (u64, u64, u64, Option<String>)> {
        (0u64..1000, 0u64..1000, 0u64..1000, proptest::option::of("(alpha|beta|rc)\\.[1-9][0-9]{0,2}"))
    }

    fn render((major, minor, patch, pre): &(u64, u64, u64, Option<String>)) -> String {
        match pre {
            Some(pre) => format!("{major}.{minor}.{patch}-{pre}"),
            None => format!("{major}.{minor}.{patch}"),
        }
    }

    proptest! {
        #[test]
        fn display_round_trips(parts in version_strategy(), prefixed in any::<bool>()) {
            let text = render(&parts);
            let input = if prefixed { format!("v{text}") } else { text.clone() };
            let version = Version::parse(&input).expect("generated versions are valid");
            prop_assert_eq!(restyle(&input, &version), input);
            prop_assert_eq!(version.to_string(), text);
            prop_assert_eq!(Version::parse(&version.to_string()).expect("display is valid"), version);
        }

        #[test]
        fn order_matches_numeric_components(a in version_strategy(), b in version_strategy()) {
            let left = Version::parse(&render(&a)).expect("valid");
            let right = Version::parse(&render(&b)).expect("valid");
            let numeric = (a.0, a.1, a.2).cmp(&(b.0, b.1, b.2));
            if numeric != Ordering::Equal {
                prop_assert_eq!(left.cmp(&right), numeric);
            } else {
                // Same numbers: a pre-release sorts before the release.
                match (&a.3, &b.3) {
                    (None, Some(_)) => prop_assert!(left > right),
                    (Some(_), None) => prop_assert!(left < right),
                    _ => {}
                }
            }
            prop_assert_eq!(left.cmp(&right) == Ordering::Equal, left == right);
            prop_assert_eq!(left.cmp(&right), right.cmp(&left).reverse());
        }

        #[test]
        fn two_component_versions_are_rejected(major in 0u64..100, minor in 0u64..100) {
            let input = format!("{major}.{minor}");
            prop_assert!(Version::parse(&input).is_err());
        }

        #[test]
        fn accepts_exactly_three_numeric_components(components in proptest::collection::vec("0|[1-9][0-9]{0,3}|0[0-9]", 1..5), prefixed in any::<bool>()) {
            let input = format!("{}{}", if prefixed { "v" } else { "" }, components.join("."));
            let valid = components.len() == 3 && components.iter().all(|c| c == "0" || !c.starts_with('0'));
            let parsed = Version::parse(&input);
            prop_assert_eq!(parsed.is_ok(), valid, "{}", input);
            if let Ok(version) = parsed {
                prop_assert_eq!(Version::parse(&version.to_string()), Ok(version));
            }
        }
    }
}
