//! `?ref=` kustomize remote links (`kubectl apply -k github.com/org/repo/deploy?ref=v1.2.0`) in
//! documentation and manifests. Every ref is kept, whatever it names (a version tag, a release
//! branch, `master`, a commit): what it means is [`crate::check`]'s decision, and a ref that is
//! not checked is reported as skipped, never dropped silently.

use std::sync::LazyLock;

use regex::Regex;

use super::Located;
use super::text::LineIndex;

/// How far back from `?ref=` the start of a URL is looked for.
const MAX_URL_LENGTH: usize = 2048;

/// A kustomize remote link and its `ref`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefLink {
    /// The ref value, located.
    pub value: Located,
    /// The whole URL as written.
    pub url: String,
    /// The repository the link points into (`github.com/org/repo`), if it can be told.
    pub repository: Option<String>,
}

static REF: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[?&]ref=([A-Za-z0-9._+/-]+)").expect("valid regex"));

/// Release notes and change logs list old versions on purpose.
pub fn is_history_file(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    ["CHANGELOG", "CHANGES", "HISTORY", "RELEASE-NOTES", "RELEASE_NOTES", "RELEASENOTES", "NEWS"]
        .iter()
        .any(|prefix| upper.starts_with(prefix))
}

/// Every link in `text` that has a `ref`, whatever the ref names.
pub fn find(path: &str, text: &str, lines: &LineIndex) -> Vec<RefLink> {
    if !text.contains("ref=") {
        return Vec::new();
    }
    let mut links = Vec::new();
    for captures in REF.captures_iter(text) {
        let (Some(whole), Some(value)) = (captures.get(0), captures.get(1)) else {
            continue;
        };
        let reference = value.as_str().trim_end_matches(['.', '/']);
        if reference.is_empty() {
            continue;
        }
        let mut window_start = whole.start().saturating_sub(MAX_URL_LENGTH);
        while !text.is_char_boundary(window_start) {
            window_start += 1;
        }
        let start = text[window_start..whole.start()]
            .rfind(|c: char| c.is_whitespace() || "\"'`()<>[]{},=".contains(c))
            .map_or(window_start, |index| window_start + index + 1);
        let url = &text[start..whole.start()];
        if url.is_empty() {
            continue;
        }
        links.push(RefLink {
            value: Located {
                file: path.to_owned(),
                line: lines.line(value.start()),
                text: reference.to_owned(),
                range: Some(value.start()..value.start() + reference.len()),
            },
            url: format!("{url}{}", &text[whole.start()..value.start() + reference.len()]),
            repository: repository_of(url),
        });
    }
    links
}

/// The `host/owner/repo` a git URL or kustomize remote path points into, lowercased and without
/// `.git`: `git@github.com:Org/Repo.git` and `https://github.com/org/repo//deploy` both give
/// `github.com/org/repo`.
pub fn repository_of(url: &str) -> Option<String> {
    let mut rest = url.trim();
    rest = rest.strip_prefix("git::").unwrap_or(rest);
    for scheme in ["https://", "http://", "ssh://", "git://", "file://"] {
        if let Some(stripped) = rest.strip_prefix(scheme) {
            rest = stripped;
            break;
        }
    }
    let owned;
    // `git@host:owner/repo` (scp-like) or `user@host/owner/repo`.
    if let Some((user, after)) = rest.split_once('@')
        && !user.contains('/')
    {
        owned = after.replacen(':', "/", 1);
        rest = &owned;
    }
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    let repository_part = rest.split("//").next().unwrap_or(rest);
    let segments: Vec<&str> = repository_part.split('/').filter(|segment| !segment.is_empty()).collect();
    if segments.len() < 3 || !segments[0].contains('.') {
        return None;
    }
    let repo = segments[2].trim_end_matches(".git");
    Some(format!("{}/{}/{}", segments[0], segments[1], repo).to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find_in(path: &str, text: &str) -> Vec<RefLink> {
        find(path, text, &LineIndex::new(text))
    }

    #[test]
    fn finds_every_ref() {
        let text = "Install:\n\n    kubectl apply -k 'github.com/kubernetes-sigs/descheduler/kubernetes/cronjob?ref=v0.29.0'\n\nor the [main branch](https://github.com/kubernetes-sigs/descheduler/kubernetes/base?ref=master).\nSee https://github.com/org/other//deploy?ref=v1.0.0.\n";
        let links = find_in("README.md", text);
        let summary: Vec<_> =
            links.iter().map(|l| (l.value.line, l.value.text.as_str(), l.repository.as_deref())).collect();
        assert_eq!(
            summary,
            [
                (3, "v0.29.0", Some("github.com/kubernetes-sigs/descheduler")),
                (5, "master", Some("github.com/kubernetes-sigs/descheduler")),
                (6, "v1.0.0", Some("github.com/org/other"))
            ]
        );
        let range = links[0].value.range.clone().expect("located");
        assert_eq!(&text[range], "v0.29.0");
        assert_eq!(links[0].url, "github.com/kubernetes-sigs/descheduler/kubernetes/cronjob?ref=v0.29.0");
    }

    #[test]
    fn prefixed_tags() {
        let links = find_in(
            "docs/install.md",
            "helm: https://github.com/kubernetes/autoscaler/cluster-autoscaler?ref=cluster-autoscaler-1.36.1",
        );
        assert_eq!(links.len(), 1);
        assert_eq!(links[0].value.text, "cluster-autoscaler-1.36.1");
    }

    #[test]
    fn repositories_normalise() {
        for url in [
            "git@github.com:Org/Repo.git",
            "https://github.com/org/repo//deploy/base",
            "github.com/org/repo/deploy",
            "git::https://github.com/org/repo.git",
            "ssh://git@github.com/org/repo",
        ] {
            assert_eq!(repository_of(url).as_deref(), Some("github.com/org/repo"), "{url}");
        }
        assert_eq!(repository_of("../base"), None);
    }
}
