//! Release branches: the branch a release belongs to (`release-1.36` for descheduler v0.36.0),
//! which `?ref=` links that follow a branch must name.
//!
//! A [`BranchPattern`] is a branch name with `{major}` and `{minor}` placeholders
//! (`release-{major}.{minor}`), or with a fixed major where a project's minor tracks Kubernetes'
//! (`release-1.{minor}`). It is configured (`release.branch_pattern`), or [`infer`]red from the
//! branches the repository has: the pattern that names a branch for the most released minors.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::LazyLock;

use regex::Regex;
use slipway_core::Version;

/// A release branch name pattern.
#[derive(Debug, Clone)]
pub struct BranchPattern {
    text: String,
    matcher: Regex,
}

impl PartialEq for BranchPattern {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for BranchPattern {}

/// Why a pattern is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{pattern}` {reason}")]
pub struct PatternError {
    /// The pattern given.
    pub pattern: String,
    /// What is wrong.
    pub reason: &'static str,
}

/// The pattern when nothing says otherwise.
pub const DEFAULT: &str = "release-{major}.{minor}";

impl BranchPattern {
    /// Parses a pattern: it must contain `{minor}`, may contain `{major}`, and nothing else in
    /// braces.
    pub fn parse(text: &str) -> Result<BranchPattern, PatternError> {
        let error = |reason| PatternError { pattern: text.to_owned(), reason };
        if !text.contains("{minor}") {
            return Err(error("has no {minor} placeholder"));
        }
        let rest = text.replace("{major}", "").replace("{minor}", "");
        if rest.contains(['{', '}']) {
            return Err(error("may only use the placeholders {major} and {minor}"));
        }
        if rest.chars().any(|c| c.is_whitespace() || c == '~' || c == '^' || c == ':' || c == '?' || c == '*') {
            return Err(error("contains characters a git branch name cannot have"));
        }
        let mut expression = String::from("^");
        let mut remaining = text;
        while let Some(start) = remaining.find('{') {
            expression.push_str(&regex::escape(&remaining[..start]));
            let after = &remaining[start..];
            if let Some(stripped) = after.strip_prefix("{major}") {
                expression.push_str("(?P<major>[0-9]+)");
                remaining = stripped;
            } else if let Some(stripped) = after.strip_prefix("{minor}") {
                expression.push_str("(?P<minor>[0-9]+)");
                remaining = stripped;
            } else {
                return Err(error("may only use the placeholders {major} and {minor}"));
            }
        }
        expression.push_str(&regex::escape(remaining));
        expression.push('$');
        let matcher = Regex::new(&expression).map_err(|_| error("is not a valid pattern"))?;
        Ok(BranchPattern { text: text.to_owned(), matcher })
    }

    /// The branch of `version`'s minor release.
    pub fn branch(&self, version: &Version) -> String {
        self.text.replace("{major}", &version.major().to_string()).replace("{minor}", &version.minor().to_string())
    }

    /// Whether `name` is a release branch of this pattern.
    pub fn matches(&self, name: &str) -> bool {
        self.matcher.is_match(name)
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for BranchPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A pattern inferred from branches, and for how many released minors it names a branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inferred {
    /// The pattern.
    pub pattern: BranchPattern,
    /// Released minors (from version tags) that have a branch of this pattern.
    pub minors: usize,
}

static NUMBERED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?P<prefix>.*?)(?P<major>[0-9]+)\.(?P<minor>[0-9]+)$").expect("valid regex"));

/// The pattern that names a branch for the most released minors among `versions`, when at least
/// two minors (or the only one released) have one. Patterns that follow the version's major are
/// preferred to a fixed major on a tie.
pub fn infer(branches: &[String], versions: &[Version]) -> Option<Inferred> {
    let minors: BTreeSet<(u64, u64)> = versions.iter().map(|version| (version.major(), version.minor())).collect();
    if minors.is_empty() {
        return None;
    }
    // Each numbered branch votes, for every released minor it could belong to, for a pattern.
    let mut votes: Vec<(String, BTreeSet<(u64, u64)>)> = Vec::new();
    for branch in branches {
        let Some(captures) = NUMBERED.captures(branch) else {
            continue;
        };
        let (prefix, major, minor) = (&captures["prefix"], &captures["major"], &captures["minor"]);
        let (Ok(major_number), Ok(minor_number)) = (major.parse::<u64>(), minor.parse::<u64>()) else {
            continue;
        };
        for &(released_major, released_minor) in minors.iter().filter(|(_, released)| *released == minor_number) {
            let pattern = if released_major == major_number {
                format!("{prefix}{{major}}.{{minor}}")
            } else {
                format!("{prefix}{major}.{{minor}}")
            };
            match votes.iter_mut().find(|(candidate, _)| *candidate == pattern) {
                Some((_, covered)) => {
                    covered.insert((released_major, released_minor));
                }
                None => votes.push((pattern, BTreeSet::from([(released_major, released_minor)]))),
            }
        }
    }
    let needed = if minors.len() == 1 { 1 } else { 2 };
    votes
        .into_iter()
        .filter(|(_, covered)| covered.len() >= needed)
        .max_by_key(|(pattern, covered)| {
            (covered.len(), pattern.contains("{major}"), std::cmp::Reverse(pattern.clone()))
        })
        .and_then(|(pattern, covered)| {
            Some(Inferred { pattern: BranchPattern::parse(&pattern).ok()?, minors: covered.len() })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn versions(list: &[&str]) -> Vec<Version> {
        list.iter().map(|text| Version::parse(text).expect("valid")).collect()
    }

    #[test]
    fn patterns_render_and_match() {
        let pattern = BranchPattern::parse("release-1.{minor}").expect("valid");
        assert_eq!(pattern.branch(&Version::parse("0.36.0").expect("valid")), "release-1.36");
        assert!(pattern.matches("release-1.34"));
        assert!(!pattern.matches("release-1.34-rc") && !pattern.matches("master"));
        let default = BranchPattern::parse(DEFAULT).expect("valid");
        assert_eq!(default.branch(&Version::parse("2.3.4").expect("valid")), "release-2.3");
        assert!(BranchPattern::parse("release").is_err());
        assert!(BranchPattern::parse("release-{minor}-{patch}").is_err());
        assert!(BranchPattern::parse("release {minor}").is_err());
    }

    #[test]
    fn descheduler_branches_follow_kubernetes_minors() {
        let branches: Vec<String> = (28..=36)
            .map(|minor| format!("release-1.{minor}"))
            .chain(["master".to_owned(), "security/update-trivy-action-v0.35.0".to_owned()])
            .collect();
        let tags = versions(&["0.3.0", "0.27.1", "0.28.1", "0.29.0", "0.33.0", "0.35.1", "0.36.0"]);
        let inferred = infer(&branches, &tags).expect("inferred");
        assert_eq!(inferred.pattern.as_str(), "release-1.{minor}");
        assert_eq!(inferred.minors, 5);
    }

    #[test]
    fn branches_that_follow_the_version_are_found_and_preferred() {
        let branches =
            ["release-1.2".to_owned(), "release-1.3".to_owned(), "cluster-autoscaler-release-1.3".to_owned()];
        let inferred = infer(&branches, &versions(&["1.2.0", "1.3.1"])).expect("inferred");
        assert_eq!(inferred.pattern.as_str(), "release-{major}.{minor}");
        assert_eq!(infer(&["main".to_owned()], &versions(&["1.2.0"])), None);
        assert_eq!(infer(&["release-1.2".to_owned()], &versions(&["1.2.0", "1.3.0"])), None, "one minor of two");
    }
}
