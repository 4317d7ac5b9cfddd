//! Kubernetes version matrices and version-range skip rules.
//!
//! A matrix entry is a version (`v1.31.2`) or a marker name (`stable`, `stable-1.30`,
//! `latest-1.32`, `ci/latest-1.34`) that is read from a marker base URL at run time (see
//! [`the markers module of slipway-jobs`]). Each run of a matrix job gets `KUBERNETES_VERSION` and the skip rules
//! whose range holds that version, combined into `SKIP_REGEX`.

use std::cmp::Ordering;
use std::fmt;

use slipway_core::Version;

/// A skip rule: `tests` are skipped on versions in `range`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkipRule {
    pub range: VersionRange,
    pub tests: String,
}

/// What kind of matrix entry a string is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A version, used as written.
    Version(String),
    /// A marker, read from `<base>/<path>.txt`; `path` is `release/stable-1.30` or `ci/latest`.
    Marker { path: String },
}

/// Classifies a matrix entry, or says what a valid entry looks like.
pub fn classify(entry: &str) -> Result<Entry, String> {
    let trimmed = entry.trim();
    if trimmed.starts_with('v') && trimmed[1..].starts_with(|c: char| c.is_ascii_digit()) {
        return match parse_version(trimmed) {
            Some(_) => Ok(Entry::Version(trimmed.to_owned())),
            None => Err(format!("`{entry}` is not a Kubernetes version such as v1.31.2")),
        };
    }
    let (directory, name) = match trimmed.split_once('/') {
        Some((directory @ ("release" | "ci"), name)) => (directory, name),
        Some(_) => return Err(format!("`{entry}`: marker directories are `release/` and `ci/`")),
        None => ("release", trimmed),
    };
    let (kind, suffix) = match name.split_once('-') {
        Some((kind, suffix)) => (kind, Some(suffix)),
        None => (name, None),
    };
    let kind_ok = matches!(kind, "stable" | "latest");
    let suffix_ok = suffix.is_none_or(|suffix| {
        let parts: Vec<&str> = suffix.split('.').collect();
        parts.len() <= 2 && parts.iter().all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
    });
    if kind_ok && suffix_ok {
        Ok(Entry::Marker { path: format!("{directory}/{name}") })
    } else {
        Err(format!(
            "`{entry}` is neither a version (v1.31.2) nor a marker name (stable, stable-1.30, latest-1.32, ci/latest)"
        ))
    }
}

/// Checks a matrix entry.
pub fn check_entry(entry: &str) -> Result<(), String> {
    classify(entry).map(|_| ())
}

/// A Kubernetes version as matrices, markers and skip ranges write it: `v1.31.2`,
/// `1.31.2-rc.1+abc`, or `1.31` (MAJOR.MINOR, read as 1.31.0); the one version type of
/// slipway ([`Version`]). Ranges compare its [`Version::core`], so `v1.35.0-alpha.0.123+0123abcd`
/// counts as 1.35.0.
pub fn parse_version(text: &str) -> Option<Version> {
    Version::parse_lenient(text).ok()
}

/// A version range: comma-separated comparisons (`<1.27`, `>=1.30, <1.32`), or a bare
/// `MAJOR.MINOR` meaning every patch release of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRange {
    text: String,
    comparisons: Vec<(Op, (u64, u64, u64))>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
    Equal,
}

impl VersionRange {
    pub fn parse(text: &str) -> Result<VersionRange, String> {
        let mut comparisons = Vec::new();
        for part in text.split(',').map(str::trim) {
            let (op, version) = if let Some(rest) = part.strip_prefix("<=") {
                (Op::LessOrEqual, rest)
            } else if let Some(rest) = part.strip_prefix(">=") {
                (Op::GreaterOrEqual, rest)
            } else if let Some(rest) = part.strip_prefix('<') {
                (Op::Less, rest)
            } else if let Some(rest) = part.strip_prefix('>') {
                (Op::Greater, rest)
            } else if let Some(rest) = part.strip_prefix('=') {
                (Op::Equal, rest)
            } else {
                (Op::Equal, part)
            };
            let version = version.trim();
            let parsed = parse_version(version)
                .ok_or_else(|| {
                    format!("`{text}` is not a version range; write comparisons such as `<1.27` or `>=1.30, <1.32`")
                })?
                .core();
            let has_patch = version
                .trim_start_matches('v')
                .split(['-', '+'])
                .next()
                .is_some_and(|core| core.matches('.').count() == 2);
            if op == Op::Equal && !has_patch {
                // `1.29` means every 1.29.x.
                comparisons.push((Op::GreaterOrEqual, parsed));
                comparisons.push((Op::Less, (parsed.0, parsed.1 + 1, 0)));
            } else {
                comparisons.push((op, parsed));
            }
        }
        Ok(VersionRange { text: text.trim().to_owned(), comparisons })
    }

    /// Whether `version` (any spelling [`parse_version`] reads) is in the range.
    pub fn contains(&self, version: &str) -> bool {
        let Some(version) = parse_version(version).map(|version| version.core()) else {
            return false;
        };
        self.comparisons.iter().all(|(op, bound)| {
            let order = version.cmp(bound);
            match op {
                Op::Less => order == Ordering::Less,
                Op::LessOrEqual => order != Ordering::Greater,
                Op::Greater => order == Ordering::Greater,
                Op::GreaterOrEqual => order != Ordering::Less,
                Op::Equal => order == Ordering::Equal,
            }
        })
    }
}

impl fmt::Display for VersionRange {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.text)
    }
}

/// The skip regex for a run on `version`: every matching rule's pattern, each in a group,
/// joined with `|`. Empty when no rule applies.
pub fn skip_regex(rules: &[SkipRule], version: &str) -> String {
    rules
        .iter()
        .filter(|rule| rule.range.contains(version))
        .map(|rule| format!("(?:{})", rule.tests))
        .collect::<Vec<_>>()
        .join("|")
}

/// The name of one matrix run: `<job>@<entry>` such as `e2e@stable-1.30`.
pub fn run_name(job: &str, entry: &str) -> String {
    format!("{job}@{entry}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn entries() {
        assert_eq!(classify("v1.31.2"), Ok(Entry::Version("v1.31.2".into())));
        assert_eq!(classify("stable-1.30"), Ok(Entry::Marker { path: "release/stable-1.30".into() }));
        assert_eq!(classify("latest"), Ok(Entry::Marker { path: "release/latest".into() }));
        assert_eq!(classify("ci/latest-1.34"), Ok(Entry::Marker { path: "ci/latest-1.34".into() }));
        assert!(classify("1.31").is_err());
        assert!(classify("newest-1.30").is_err());
        assert!(classify("v1.x").is_err());
        assert!(classify("stable-1.30.1.2").is_err());
    }

    #[test]
    fn ranges() {
        let below = VersionRange::parse("<1.27").expect("valid");
        assert!(below.contains("v1.26.15") && !below.contains("v1.27.0") && below.contains("1.26.0-rc.1"));
        let window = VersionRange::parse(">=1.30, <1.32").expect("valid");
        assert!(!window.contains("v1.29.9") && window.contains("v1.30.0") && window.contains("v1.31.4"));
        assert!(!window.contains("v1.32.0"));
        let minor = VersionRange::parse("1.29").expect("valid");
        assert!(minor.contains("v1.29.0") && minor.contains("v1.29.14") && !minor.contains("v1.30.0"));
        let exact = VersionRange::parse("=1.29.3").expect("valid");
        assert!(exact.contains("v1.29.3") && !exact.contains("v1.29.4"));
        assert!(VersionRange::parse("<soon").is_err());
        assert!(VersionRange::parse("").is_err());
        assert!(!below.contains("not-a-version"));
    }

    #[test]
    fn the_skip_regex_combines_the_rules_for_a_version() {
        let rules = vec![
            SkipRule { range: VersionRange::parse("<1.27").expect("valid"), tests: "Sidecar".into() },
            SkipRule { range: VersionRange::parse("<1.30").expect("valid"), tests: r"\[Feature:DRA\]".into() },
        ];
        assert_eq!(skip_regex(&rules, "v1.26.3"), r"(?:Sidecar)|(?:\[Feature:DRA\])");
        assert_eq!(skip_regex(&rules, "v1.29.0"), r"(?:\[Feature:DRA\])");
        assert_eq!(skip_regex(&rules, "v1.31.0"), "");
        regex::Regex::new(&skip_regex(&rules, "v1.26.3")).expect("the combination is a valid regex");
    }

    proptest! {
        #[test]
        fn a_minor_range_holds_exactly_its_patches(major in 1u64..3, minor in 0u64..40, patch in 0u64..30, other in 0u64..40) {
            let range = VersionRange::parse(&format!("{major}.{minor}")).expect("valid");
            let version = format!("v{major}.{minor}.{patch}");
            prop_assert!(range.contains(&version));
            prop_assert_eq!(range.contains(&format!("v{major}.{other}.{patch}")), other == minor);
        }

        #[test]
        fn less_than_and_at_least_split_every_version(bound in 0u64..40, minor in 0u64..40, patch in 0u64..20) {
            let less = VersionRange::parse(&format!("<1.{bound}")).expect("valid");
            let at_least = VersionRange::parse(&format!(">=1.{bound}")).expect("valid");
            let version = format!("v1.{minor}.{patch}");
            prop_assert!(less.contains(&version) != at_least.contains(&version));
        }
    }
}
