//! Where a branch's node images may come from.
//!
//! `published` takes only the images kind published with its release; `published-or-build`
//! takes those, else an image built earlier, else builds one; `build` never takes kind's (the
//! main branch tests the newest Kubernetes build, which kind has not published) and reuses or
//! builds its own.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// A branch's policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Policy {
    Published,
    PublishedOrBuild,
    Build,
}

impl Policy {
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Published => "published",
            Policy::PublishedOrBuild => "published-or-build",
            Policy::Build => "build",
        }
    }

    /// Whether kind's published images may be used.
    pub fn takes_published(self) -> bool {
        self != Policy::Build
    }

    /// Whether an image slipway built (now or earlier) may be used.
    pub fn takes_built(self) -> bool {
        self != Policy::Published
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl FromStr for Policy {
    type Err = String;

    fn from_str(text: &str) -> Result<Policy, String> {
        match text.trim() {
            "published" => Ok(Policy::Published),
            "published-or-build" => Ok(Policy::PublishedOrBuild),
            "build" => Ok(Policy::Build),
            other => Err(format!("`{other}` is not a policy: write published, published-or-build or build")),
        }
    }
}

/// The policy used when no branch rule matches (or the branch is unknown).
pub const DEFAULT_POLICY: Policy = Policy::PublishedOrBuild;

/// Branch rules: a name or glob (`release-*`) with its policy.
#[derive(Debug, Clone, Default)]
pub struct BranchPolicies {
    rules: Vec<(String, globset::GlobMatcher, Policy)>,
}

/// Which policy applies and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Chosen {
    pub policy: Policy,
    /// The rule that chose it (`release-*`), or `None` for the default.
    pub rule: Option<String>,
}

impl BranchPolicies {
    pub fn new(rules: Vec<(String, Policy)>) -> Result<BranchPolicies, String> {
        let mut compiled = Vec::new();
        for (pattern, policy) in rules {
            let glob = globset::GlobBuilder::new(&pattern)
                .literal_separator(false)
                .build()
                .map_err(|error| format!("`{pattern}` is not a branch pattern: {error}"))?;
            compiled.push((pattern, glob.compile_matcher(), policy));
        }
        Ok(BranchPolicies { rules: compiled })
    }

    /// The policy of `branch`: an exact name first, then the matching glob with the most
    /// literal characters; the default when nothing matches.
    pub fn for_branch(&self, branch: Option<&str>) -> Chosen {
        let default = Chosen { policy: DEFAULT_POLICY, rule: None };
        let Some(branch) = branch else {
            return default;
        };
        if let Some((pattern, _, policy)) = self.rules.iter().find(|(pattern, _, _)| pattern == branch) {
            return Chosen { policy: *policy, rule: Some(pattern.clone()) };
        }
        self.rules
            .iter()
            .filter(|(_, matcher, _)| matcher.is_match(branch))
            .max_by_key(|(pattern, _, _)| (literal_length(pattern), std::cmp::Reverse(pattern.clone())))
            .map_or(default, |(pattern, _, policy)| Chosen { policy: *policy, rule: Some(pattern.clone()) })
    }
}

fn literal_length(pattern: &str) -> usize {
    pattern.chars().filter(|c| !matches!(c, '*' | '?' | '[' | ']' | '{' | '}')).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_specific_rule_wins() {
        let policies = BranchPolicies::new(vec![
            ("main".into(), Policy::Build),
            ("release-*".into(), Policy::PublishedOrBuild),
            ("release-1.3*".into(), Policy::Published),
            ("*".into(), Policy::Published),
        ])
        .expect("valid");
        let policy = |branch: Option<&str>| policies.for_branch(branch);
        assert_eq!(policy(Some("main")), Chosen { policy: Policy::Build, rule: Some("main".into()) });
        assert_eq!(policy(Some("release-1.36")).rule.as_deref(), Some("release-1.3*"));
        assert_eq!(policy(Some("release-2.0")).policy, Policy::PublishedOrBuild);
        assert_eq!(policy(Some("feature/x")).rule.as_deref(), Some("*"));
        assert_eq!(policy(None), Chosen { policy: DEFAULT_POLICY, rule: None });
        assert_eq!(BranchPolicies::default().for_branch(Some("main")).policy, DEFAULT_POLICY);
    }

    #[test]
    fn policies_parse_and_say_what_they_allow() {
        assert_eq!("build".parse::<Policy>(), Ok(Policy::Build));
        assert!("always".parse::<Policy>().is_err());
        assert!(!Policy::Build.takes_published() && Policy::Build.takes_built());
        assert!(Policy::Published.takes_published() && !Policy::Published.takes_built());
        assert!(BranchPolicies::new(vec![("release-[".into(), Policy::Build)]).is_err());
    }
}
