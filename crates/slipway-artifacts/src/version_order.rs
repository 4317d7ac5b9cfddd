//! When a version marker may move: the rule of kubernetes/release (`IsUpToDate` in
//! pkg/release/publish.go), as a pure function.
//!
//! Markers hold versions as Kubernetes writes them, `v1.31.2` or
//! `v1.35.0-alpha.0.123+0123456789abcd`. A marker moves only to a greater semantic version, with
//! one exception from Kubernetes' tagging: a CI build after a release candidate,
//! `X.Y.0-rc.N.M+sha`, is followed by builds on the release branch numbered `X.Y.0-M+sha` (and
//! later `X.Y.Z-M+sha`), which semver orders lower (`11` < `rc`) but which are newer.

use semver::{Prerelease, Version};

/// A marker's value read as a version: `v1.31.2` or `1.31.2`.
pub(crate) fn parse(text: &str) -> Result<Version, String> {
    let unprefixed = text.strip_prefix('v').unwrap_or(text);
    Version::parse(unprefixed).map_err(|error| format!("expected a version like v1.31.2 ({error})"))
}

/// Whether a marker holding `current` should move to `new`.
pub(crate) fn should_move(current: &Version, new: &Version) -> bool {
    let current_pre: Vec<&str> = identifiers(&current.pre);
    let new_pre: Vec<&str> = identifiers(&new.pre);
    let core = |version: &Version| (version.major, version.minor, version.patch);
    let after_release_candidate = current_pre.len() == 3
        && current_pre[0] == "rc"
        && new_pre.len() == 1
        && new_pre[0].bytes().all(|byte| byte.is_ascii_digit())
        && core(new) >= core(current);
    after_release_candidate || new > current
}

fn identifiers(pre: &Prerelease) -> Vec<&str> {
    if pre.is_empty() { Vec::new() } else { pre.as_str().split('.').collect() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moves(current: &str, new: &str) -> bool {
        should_move(&parse(current).expect("current"), &parse(new).expect("new"))
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
    fn what_is_not_a_version_says_so() {
        let error = parse("https://storage.googleapis.com/k8s-staging-kops/kops/releases/1.31.0").expect_err("a URL");
        assert!(error.starts_with("expected a version like v1.31.2"), "{error}");
        assert!(parse("v1.31").is_err());
    }
}
