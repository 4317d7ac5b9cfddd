//! kind's releases, read for their notes: from the GitHub releases API
//! (`<base>/repos/kubernetes-sigs/kind/releases/tags/<tag>`, the `body` field), a mirror of the
//! same shape, or a directory (`<dir>/<tag>.md` holding the body, or `<dir>/<tag>.json` or the
//! API's path holding the API's JSON). Cached like markers, and a stale copy is used, saying so,
//! when the source cannot be reached.

use std::path::{Path, PathBuf};
use std::time::Duration;

use slipway_core::Version;

use crate::release_notes::{self, ReleaseNotes};

/// The GitHub API.
pub const DEFAULT_BASE_URL: &str = "https://api.github.com";
const API_PATH: &str = "repos/kubernetes-sigs/kind/releases/tags";

/// Where kind's release notes come from.
#[derive(Debug, Clone)]
pub struct KindReleases {
    pub base_url: String,
    pub cache: Option<PathBuf>,
    pub ttl: Duration,
    /// Sent to api.github.com only (`GITHUB_TOKEN`), for its higher rate limit.
    pub token: Option<String>,
}

/// One release's notes and where they came from.
#[derive(Debug, Clone)]
pub struct Release {
    pub tag: String,
    pub notes: ReleaseNotes,
    /// The URL or file read.
    pub source: String,
    /// Set when a stale cached copy was used because the source could not be reached.
    pub stale: Option<String>,
}

/// Why a release's notes could not be read.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ReleaseError {
    #[error("kind has no release {tag} ({url} does not exist); set env.kind to a kind release, such as v0.32.0")]
    Missing { tag: String, url: String },
    #[error("could not read kind's release {tag} from {url}: {reason}")]
    Unreachable { tag: String, url: String, reason: String },
}

impl ReleaseError {
    pub fn exit_code(&self) -> u8 {
        match self {
            ReleaseError::Missing { .. } => slipway_core::exit::USAGE,
            ReleaseError::Unreachable { .. } => slipway_core::exit::INFRASTRUCTURE,
        }
    }
}

impl KindReleases {
    pub fn new(base_url: Option<&str>, cache: Option<PathBuf>, ttl: Duration) -> KindReleases {
        let base_url = base_url.unwrap_or(DEFAULT_BASE_URL).trim_end_matches('/').to_owned();
        let token = (base_url == DEFAULT_BASE_URL)
            .then(|| std::env::var("GITHUB_TOKEN").ok())
            .flatten()
            .filter(|token| !token.trim().is_empty());
        KindReleases { base_url, cache, ttl, token }
    }

    fn is_http(&self) -> bool {
        self.base_url.starts_with("http://") || self.base_url.starts_with("https://")
    }

    /// The URL (or directory) the notes of `tag` are read from.
    pub fn url(&self, tag: &str) -> String {
        if self.is_http() { format!("{}/{API_PATH}/{tag}", self.base_url) } else { self.base_url.clone() }
    }

    /// The notes of kind release `kind`.
    pub async fn release(&self, client: &reqwest::Client, kind: &Version) -> Result<Release, ReleaseError> {
        let tag = format!("v{kind}");
        if !self.is_http() {
            let directory = PathBuf::from(self.base_url.strip_prefix("file://").unwrap_or(&self.base_url));
            let (body, source) = read_directory(&directory, &tag)?;
            return Ok(Release { notes: release_notes::parse(&body), tag, source, stale: None });
        }
        let url = self.url(&tag);
        let cached = self.cache.as_ref().map(|directory| directory.join("kind-releases").join(format!("{tag}.md")));
        let cached_body = cached.as_ref().and_then(|file| {
            let age = fs_err::metadata(file).ok()?.modified().ok()?.elapsed().unwrap_or(Duration::MAX);
            Some((fs_err::read_to_string(file).ok()?, age))
        });
        if let Some((body, age)) = &cached_body
            && *age < self.ttl
        {
            return Ok(Release {
                notes: release_notes::parse(body),
                tag,
                source: format!("{url} (cached)"),
                stale: None,
            });
        }
        let body = match (self.fetch(client, &tag, &url).await, cached_body) {
            (Ok(body), _) => body,
            (Err(ReleaseError::Unreachable { reason, .. }), Some((body, _))) => {
                return Ok(Release {
                    notes: release_notes::parse(&body),
                    tag,
                    source: format!("{url} (cached)"),
                    stale: Some(reason),
                });
            }
            (Err(error), _) => return Err(error),
        };
        if let Some(file) = cached {
            crate::cache::store(&file, &body);
        }
        Ok(Release { notes: release_notes::parse(&body), tag, source: url, stale: None })
    }

    async fn fetch(&self, client: &reqwest::Client, tag: &str, url: &str) -> Result<String, ReleaseError> {
        let unreachable =
            |reason: String| ReleaseError::Unreachable { tag: tag.to_owned(), url: url.to_owned(), reason };
        let mut request = client
            .get(url)
            .header("Accept", "application/vnd.github+json")
            .header("User-Agent", concat!("slipway/", env!("CARGO_PKG_VERSION")))
            .timeout(Duration::from_secs(30));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.map_err(|error| unreachable(slipway_core::errors::chain(&error)))?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Err(ReleaseError::Missing { tag: tag.to_owned(), url: url.to_owned() });
        }
        if !status.is_success() {
            let hint = if status == reqwest::StatusCode::FORBIDDEN || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
                " (GitHub's rate limit? set GITHUB_TOKEN, or env.kind_releases_url to a mirror)"
            } else {
                ""
            };
            return Err(unreachable(format!("HTTP {status}{hint}")));
        }
        let text = response.text().await.map_err(|error| unreachable(error.to_string()))?;
        body_of(&text).map_err(unreachable)
    }
}

/// The `body` of the API's JSON.
fn body_of(json: &str) -> Result<String, String> {
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|error| format!("the answer is not the GitHub release JSON: {error}"))?;
    match value.get("body") {
        Some(serde_json::Value::String(body)) => Ok(body.clone()),
        Some(serde_json::Value::Null) => Ok(String::new()),
        _ => Err("the answer has no `body` (is this the GitHub releases API?)".to_owned()),
    }
}

fn read_directory(directory: &Path, tag: &str) -> Result<(String, String), ReleaseError> {
    let candidates = [
        (directory.join(format!("{tag}.md")), false),
        (directory.join(format!("{tag}.json")), true),
        (directory.join(API_PATH).join(tag), true),
    ];
    for (path, json) in &candidates {
        match fs_err::read_to_string(path) {
            Ok(text) => {
                let body = if *json {
                    body_of(&text).map_err(|reason| ReleaseError::Unreachable {
                        tag: tag.to_owned(),
                        url: path.display().to_string(),
                        reason,
                    })?
                } else {
                    text
                };
                return Ok((body, path.display().to_string()));
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => {
                return Err(ReleaseError::Unreachable {
                    tag: tag.to_owned(),
                    url: path.display().to_string(),
                    reason: error.to_string(),
                });
            }
        }
    }
    Err(ReleaseError::Missing { tag: tag.to_owned(), url: candidates[0].0.display().to_string() })
}
