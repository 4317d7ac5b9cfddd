//! Reading Kubernetes version markers (`https://dl.k8s.io/release/stable-1.30.txt`) for matrix
//! entries, with a small on-disk cache so a matrix does not hit the network on every run and
//! still works for a while when it cannot.

use std::path::PathBuf;
use std::time::Duration;

use crate::matrix::{Entry, classify, parse_version};

/// The marker base URL slipway uses unless configured otherwise.
pub const DEFAULT_BASE_URL: &str = "https://dl.k8s.io";
/// How long a cached marker is used without asking again.
pub const DEFAULT_TTL: Duration = Duration::from_secs(10 * 60);

/// Where markers come from and where they are cached.
#[derive(Debug, Clone)]
pub struct MarkerSource {
    pub base_url: String,
    pub cache: Option<PathBuf>,
    pub ttl: Duration,
}

/// A resolved matrix entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub entry: String,
    /// The version the run gets as `KUBERNETES_VERSION`.
    pub version: String,
    /// Where it came from: `given`, the marker URL, or the URL plus "(cached)".
    pub source: String,
}

/// Why an entry could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum MarkerError {
    #[error("{0}")]
    Entry(String),
    #[error("could not read the version marker {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("the version marker {url} holds `{body}`, which is not a Kubernetes version")]
    NotAVersion { url: String, body: String },
}

impl MarkerError {
    pub fn exit_code(&self) -> u8 {
        match self {
            MarkerError::Entry(_) => slipway_core::exit::USAGE,
            _ => slipway_core::exit::INFRASTRUCTURE,
        }
    }
}

impl MarkerSource {
    pub fn new(base_url: Option<&str>, cache: Option<PathBuf>) -> MarkerSource {
        MarkerSource {
            base_url: base_url.unwrap_or(DEFAULT_BASE_URL).trim_end_matches('/').to_owned(),
            cache,
            ttl: DEFAULT_TTL,
        }
    }

    /// The URL of a marker path (`release/stable-1.30`).
    pub fn url(&self, path: &str) -> String {
        format!("{}/{path}.txt", self.base_url)
    }

    /// Resolves one matrix entry: a version is used as written; a marker is read (from the
    /// cache while it is fresh; from a stale cache, with the source saying so, when the base URL
    /// cannot be reached).
    pub async fn resolve(&self, client: &reqwest::Client, entry: &str) -> Result<Resolved, MarkerError> {
        let path = match classify(entry).map_err(MarkerError::Entry)? {
            Entry::Version(version) => {
                return Ok(Resolved { entry: entry.to_owned(), version, source: "given".to_owned() });
            }
            Entry::Marker { path } => path,
        };
        let url = self.url(&path);
        let cached = self.cache.as_ref().map(|directory| directory.join(format!("{path}.txt")));
        let cached_body = cached.as_ref().and_then(|file| {
            let age = std::fs::metadata(file).ok()?.modified().ok()?.elapsed().unwrap_or(Duration::MAX);
            Some((fs_err::read_to_string(file).ok()?, age))
        });
        if let Some((body, age)) = &cached_body
            && *age < self.ttl
        {
            return Ok(Resolved {
                entry: entry.to_owned(),
                version: body.trim().to_owned(),
                source: format!("{url} (cached)"),
            });
        }
        let body = match fetch(client, &url).await {
            Ok(body) => body,
            Err(reason) => {
                return match cached_body {
                    Some((body, _)) => Ok(Resolved {
                        entry: entry.to_owned(),
                        version: body.trim().to_owned(),
                        source: format!("{url} (cached; unreachable now: {reason})"),
                    }),
                    None => Err(MarkerError::Unreachable { url, reason }),
                };
            }
        };
        let version = body.trim().to_owned();
        if parse_version(&version).is_none() {
            return Err(MarkerError::NotAVersion { url, body: version.chars().take(80).collect() });
        }
        if let Some(file) = cached {
            // The cache is an optimisation: failing to write it changes nothing else.
            if let Some(parent) = file.parent() {
                let _ = fs_err::create_dir_all(parent);
            }
            let temporary = file.with_extension(format!("tmp{}", std::process::id()));
            if fs_err::write(&temporary, &version).is_ok() {
                let _ = fs_err::rename(&temporary, &file);
            }
        }
        Ok(Resolved { entry: entry.to_owned(), version, source: url })
    }
}

async fn fetch(client: &reqwest::Client, url: &str) -> Result<String, String> {
    let response = client.get(url).timeout(Duration::from_secs(20)).send().await.map_err(|error| {
        let mut reason = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            reason = format!("{reason}: {cause}");
            source = cause.source();
        }
        reason
    })?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("HTTP {status}"));
    }
    response.text().await.map_err(|error| error.to_string())
}
