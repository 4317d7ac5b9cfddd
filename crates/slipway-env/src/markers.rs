//! Reading Kubernetes version markers (`https://dl.k8s.io/release/stable-1.30.txt`) for matrix
//! entries, with a small on-disk cache so a matrix does not hit the network on every run and
//! still works for a while when it cannot.
//!
//! The base is an HTTP(S) URL or any storage URL `slipway marker publish` writes to (a
//! directory, `file://`, `s3://`, `gs://`, `az://`): `stable-1.30` is the object
//! `release/stable-1.30.txt` under it. A local directory is read every time (it is as fast as
//! the cache, and a marker just published counts at once).

use std::path::PathBuf;
use std::time::Duration;

use slipway_artifacts::Storage;

use slipway_job_model::matrix::{Entry, classify, parse_version};

/// The marker base URL slipway uses unless configured otherwise.
pub const DEFAULT_BASE_URL: &str = "https://dl.k8s.io";
/// How long a cached marker is used without asking again.
pub const DEFAULT_TTL: Duration = Duration::from_secs(10 * 60);

/// Where markers come from and where they are cached.
#[derive(Debug, Clone)]
pub struct MarkerSource {
    /// An `http(s)://` URL, or a storage URL (directory, `file://`, `s3://`, `gs://`, `az://`).
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

impl Resolved {
    /// Whether the version is a CI build (`v1.37.0-alpha.0.123+0123abcd`): a marker under `ci/`
    /// or a version with build metadata.
    pub fn is_ci_build(&self) -> bool {
        self.entry.trim().starts_with("ci/") || self.version.contains('+')
    }
}

/// Why an entry could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum MarkerError {
    #[error("{0}")]
    Entry(String),
    #[error("could not read the version marker {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("there is no version marker at {url}; publish it (slipway marker publish) or fix matrix.markers_url")]
    Missing { url: String },
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

    /// The directory of a version's build artifacts: `<base>/ci/<version>` for a CI build,
    /// `<base>/release/<version>` for a release.
    pub fn artifacts_url(&self, resolved: &Resolved) -> String {
        let directory = if resolved.is_ci_build() { "ci" } else { "release" };
        format!("{}/{directory}/{}", self.base_url, resolved.version)
    }

    /// The Kubernetes server tarball of a version for `arch`, which `kind build node-image`
    /// builds from (`kubernetes/server/bin/{kubelet,kubeadm,kubectl,...}`).
    pub fn server_tarball(&self, resolved: &Resolved, arch: &str) -> String {
        format!("{}/kubernetes-server-linux-{arch}.tar.gz", self.artifacts_url(resolved))
    }

    /// Whether the base is the default `https://dl.k8s.io`, which kind downloads from itself.
    pub fn is_default(&self) -> bool {
        self.base_url == DEFAULT_BASE_URL
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
        let key = format!("{path}.txt");
        let storage = match self.storage() {
            None => None,
            Some(Ok(storage)) => Some(storage),
            Some(Err(error)) => {
                return Err(MarkerError::Unreachable { url, reason: slipway_core::redact::urls(&error.to_string()) });
            }
        };
        if let Some(storage) = storage.as_ref().filter(|storage| storage.is_local()) {
            let body = read_stored(storage, &key, &url).await?;
            return finish(entry, &body, url);
        }
        let cached = self.cache.as_ref().map(|directory| directory.join(&key));
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
        let fetched = match &storage {
            Some(storage) => read_stored(storage, &key, &url).await,
            None => fetch(client, &url).await,
        };
        let body = match fetched {
            Ok(body) => body,
            Err(MarkerError::Unreachable { reason, .. }) => {
                return match cached_body {
                    Some((body, _)) => Ok(Resolved {
                        entry: entry.to_owned(),
                        version: body.trim().to_owned(),
                        source: format!("{url} (cached; unreachable now: {reason})"),
                    }),
                    None => Err(MarkerError::Unreachable { url, reason }),
                };
            }
            Err(other) => return Err(other),
        };
        let resolved = finish(entry, &body, url)?;
        if let Some(file) = cached {
            crate::cache::store(&file, &resolved.version);
        }
        Ok(resolved)
    }

    /// The storage the markers are in, when the base is not an HTTP(S) URL.
    fn storage(&self) -> Option<Result<Storage, slipway_artifacts::Error>> {
        let http = self.base_url.starts_with("http://") || self.base_url.starts_with("https://");
        (!http).then(|| Storage::open(&self.base_url))
    }
}

/// A marker's body checked to be a version.
fn finish(entry: &str, body: &str, url: String) -> Result<Resolved, MarkerError> {
    let version = body.trim().to_owned();
    if parse_version(&version).is_none() {
        return Err(MarkerError::NotAVersion { url, body: version.chars().take(80).collect() });
    }
    Ok(Resolved { entry: entry.to_owned(), version, source: url })
}

async fn read_stored(storage: &Storage, key: &str, url: &str) -> Result<String, MarkerError> {
    match storage.read(key).await {
        Ok(Some(body)) => Ok(String::from_utf8_lossy(&body).into_owned()),
        Ok(None) => Err(MarkerError::Missing { url: url.to_owned() }),
        Err(error) => Err(MarkerError::Unreachable {
            url: url.to_owned(),
            reason: slipway_core::redact::urls(&error.to_string()),
        }),
    }
}

async fn fetch(client: &reqwest::Client, url: &str) -> Result<String, MarkerError> {
    let unreachable = |reason: String| MarkerError::Unreachable { url: url.to_owned(), reason };
    let response = client
        .get(url)
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .map_err(|error| unreachable(slipway_core::errors::chain(&error)))?;
    let status = response.status();
    if status == reqwest::StatusCode::NOT_FOUND {
        return Err(MarkerError::Missing { url: url.to_owned() });
    }
    if !status.is_success() {
        return Err(unreachable(format!("HTTP {status}")));
    }
    response.text().await.map_err(|error| unreachable(error.to_string()))
}
