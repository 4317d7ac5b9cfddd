//! [`Registry`]: the distribution API client every slipway command uses.
//!
//! It picks plain HTTP for `localhost`, loopback addresses and registries configured as
//! insecure (as Docker does) and HTTPS for everything else, finds credentials in the Docker
//! config, and turns transport failures into [`Error`]s that say whether the thing is missing
//! (a finding), the registry is unreachable (exit 3) or access was denied.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};
use slipway_core::ImageReference;

use crate::auth;
use crate::error::Error;
use crate::manifest::{ACCEPTED_MANIFESTS, Document, Fetched, ImageConfig, Index, Manifest, sha256_digest};

/// `registries:` in `slipway.yaml`.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct RegistriesSection {
    /// Registries (`host` or `host:port`) spoken to over plain HTTP, besides localhost.
    pub insecure: Vec<String>,
}

/// How to reach registries.
#[derive(Debug, Clone)]
pub struct RegistryOptions {
    /// Registries (`host` or `host:port`) spoken to over plain HTTP besides localhost.
    pub insecure: Vec<String>,
    /// The Docker config to read credentials from; `None` means the default location.
    pub docker_config: Option<PathBuf>,
    /// How long to wait for a connection.
    pub connect_timeout: Duration,
    /// How long to wait for data on an open connection.
    pub read_timeout: Duration,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        RegistryOptions {
            insecure: Vec::new(),
            docker_config: auth::default_config_path(),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
        }
    }
}

/// A client for any number of registries. Cloning is cheap and shares connections.
#[derive(Clone)]
pub struct Registry {
    options: Arc<RegistryOptions>,
    clients: Arc<Mutex<HashMap<String, Client>>>,
    http: reqwest::Client,
}

/// A blob as a stream of chunks.
pub type BlobStream = BoxStream<'static, std::io::Result<bytes::Bytes>>;

/// How a blob came to be in a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BlobTransfer {
    /// It was there already.
    Present,
    /// Mounted from another repository of the same registry.
    Mounted,
    /// Streamed from another registry.
    Copied,
    /// Uploaded from here.
    Uploaded,
}

impl Registry {
    /// A client with these options.
    pub fn new(options: RegistryOptions) -> Registry {
        let http = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .read_timeout(options.read_timeout)
            .build()
            .unwrap_or_default();
        Registry { options: Arc::new(options), clients: Arc::new(Mutex::new(HashMap::new())), http }
    }

    /// Whether slipway speaks plain HTTP to `registry`.
    pub fn is_plain_http(&self, registry: &str) -> bool {
        let host = host_of(registry);
        matches!(host, "localhost" | "127.0.0.1" | "::1" | "[::1]")
            || self.options.insecure.iter().any(|insecure| insecure == registry || insecure == host)
    }

    fn client(&self, registry: &str) -> Client {
        let mut clients = self.clients.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        clients
            .entry(registry.to_owned())
            .or_insert_with(|| {
                Client::new(ClientConfig {
                    protocol: if self.is_plain_http(registry) { ClientProtocol::Http } else { ClientProtocol::Https },
                    connect_timeout: Some(self.options.connect_timeout),
                    read_timeout: Some(self.options.read_timeout),
                    // Sizes are always known: one request per blob instead of chunks.
                    use_monolithic_push: true,
                    ..ClientConfig::default()
                })
            })
            .clone()
    }

    /// The HTTP client for requests oci-client does not make itself.
    pub(crate) fn http(&self) -> reqwest::Client {
        self.http.clone()
    }

    /// The base URL of `image`'s registry and the `Authorization` header a push needs there.
    pub(crate) async fn upload_target(
        &self,
        image: &ImageReference,
    ) -> Result<(String, Option<http::HeaderValue>), Error> {
        let reference = to_reference(image, None);
        let registry = image.resolved_registry();
        let credentials = self.credentials(registry);
        let token = self
            .client(registry)
            .auth(&reference, &credentials, RegistryOperation::Push)
            .await
            .map_err(|error| classify(error, registry, image.as_str()))?;
        let authorization = match (token, &credentials) {
            (Some(token), _) => Some(format!("Bearer {token}")),
            (None, RegistryAuth::Basic(user, password)) => {
                use base64::Engine;
                Some(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
                ))
            }
            (None, _) => None,
        };
        let scheme = if self.is_plain_http(registry) { "http" } else { "https" };
        let authorization = authorization.and_then(|value| value.parse().ok());
        Ok((format!("{scheme}://{}", reference.resolve_registry()), authorization))
    }

    fn credentials(&self, registry: &str) -> RegistryAuth {
        self.options
            .docker_config
            .as_deref()
            .and_then(|path| auth::credentials_for(path, registry))
            .map_or(RegistryAuth::Anonymous, |credentials| {
                RegistryAuth::Basic(credentials.username, credentials.password)
            })
    }

    /// Fetches the manifest or index `image` names (by tag or digest), keeping its digest.
    pub async fn fetch(&self, image: &ImageReference) -> Result<Fetched, Error> {
        let reference = to_reference(image, None);
        let registry = image.resolved_registry();
        let (bytes, digest) = self
            .client(registry)
            .pull_manifest_raw(&reference, &self.credentials(registry), ACCEPTED_MANIFESTS)
            .await
            .map_err(|error| classify(error, registry, image.as_str()))?;
        parse_document(image.as_str(), &bytes, digest)
    }

    /// Fetches the image manifest at `digest` in `image`'s repository.
    pub async fn fetch_manifest(&self, image: &ImageReference, digest: &str) -> Result<Manifest, Error> {
        let by_digest = format!("{}@{digest}", image.name());
        let fetched = self
            .fetch(
                &ImageReference::parse(&by_digest)
                    .map_err(|error| Error::Invalid { reference: by_digest.clone(), message: error.to_string() })?,
            )
            .await?;
        match fetched.document {
            Document::Manifest(manifest) => Ok(manifest),
            Document::Index(_) => Err(Error::Invalid {
                reference: by_digest,
                message: "an index where an image manifest was expected (nested indexes are not supported)".to_owned(),
            }),
        }
    }

    /// Fetches a whole blob (configs and other small blobs).
    pub async fn fetch_blob(&self, image: &ImageReference, digest: &str) -> Result<Vec<u8>, Error> {
        let reference = to_reference(image, Some(digest));
        let registry = image.resolved_registry();
        let client = self.client(registry);
        client.store_auth_if_needed(reference.resolve_registry(), &self.credentials(registry)).await;
        let mut bytes = Vec::new();
        client
            .pull_blob(&reference, digest, &mut bytes)
            .await
            .map_err(|error| classify(error, registry, &format!("{}@{digest}", image.name())))?;
        Ok(bytes)
    }

    /// Fetches and parses an image config.
    pub async fn fetch_config(&self, image: &ImageReference, digest: &str) -> Result<ImageConfig, Error> {
        let bytes = self.fetch_blob(image, digest).await?;
        serde_json::from_slice(&bytes).map_err(|error| Error::Invalid {
            reference: format!("{}@{digest}", image.name()),
            message: format!("not an image config: {error}"),
        })
    }

    /// Streams a blob (layers), so a reader can stop as soon as it has what it needs.
    pub async fn blob_stream(&self, image: &ImageReference, digest: &str) -> Result<BlobStream, Error> {
        let reference = to_reference(image, Some(digest));
        let registry = image.resolved_registry();
        let client = self.client(registry);
        client.store_auth_if_needed(reference.resolve_registry(), &self.credentials(registry)).await;
        let stream = client
            .pull_blob_stream(&reference, digest)
            .await
            .map_err(|error| classify(error, registry, &format!("{}@{digest}", image.name())))?;
        Ok(stream.stream.boxed())
    }

    /// The digest `image`'s tag (or digest) points at, or `None` when it does not exist.
    pub async fn manifest_digest(&self, image: &ImageReference) -> Result<Option<String>, Error> {
        let reference = to_reference(image, None);
        let registry = image.resolved_registry();
        match self.client(registry).fetch_manifest_digest(&reference, &self.credentials(registry)).await {
            Ok(digest) => Ok(Some(digest)),
            Err(error) => match classify(error, registry, image.as_str()) {
                Error::NotFound { .. } => Ok(None),
                other => Err(other),
            },
        }
    }

    /// Every tag of `image`'s repository (an empty list when the repository does not exist).
    pub async fn list_tags(&self, image: &ImageReference) -> Result<Vec<String>, Error> {
        let reference = to_reference(image, None);
        let registry = image.resolved_registry();
        match self.client(registry).list_tags(&reference, &self.credentials(registry), None, None).await {
            Ok(response) => Ok(response.tags),
            Err(error) => match classify(error, registry, image.as_str()) {
                Error::NotFound { .. } => Ok(Vec::new()),
                other => Err(other),
            },
        }
    }

    /// The client of `image`'s registry, authenticated to push to its repository, and the
    /// repository's reference.
    async fn pushing(&self, image: &ImageReference) -> Result<(Client, Reference), Error> {
        let reference = to_reference(image, None);
        let registry = image.resolved_registry();
        let client = self.client(registry);
        client
            .auth(&reference, &self.credentials(registry), RegistryOperation::Push)
            .await
            .map_err(|error| classify(error, registry, image.as_str()))?;
        Ok((client, reference))
    }

    /// Whether `digest` is a blob of `image`'s repository.
    pub async fn blob_exists(&self, image: &ImageReference, digest: &str) -> Result<bool, Error> {
        let (client, reference) = self.pushing(image).await?;
        client
            .blob_exists(&reference, digest)
            .await
            .map_err(|error| classify(error, image.resolved_registry(), image.as_str()))
    }

    /// Makes `digest` from `source`'s repository a blob of `target`'s repository without
    /// uploading it: a cross-repository mount when both are in one registry, else a stream
    /// from one registry to the other. Returns how it got there.
    pub async fn copy_blob(
        &self,
        source: &ImageReference,
        target: &ImageReference,
        digest: &str,
        size: u64,
    ) -> Result<BlobTransfer, Error> {
        if self.blob_exists(target, digest).await? {
            return Ok(BlobTransfer::Present);
        }
        let registry = target.resolved_registry();
        let target_reference = to_reference(target, None);
        if source.resolved_registry() == registry {
            let source_reference = to_reference(source, None);
            // A registry that cannot mount answers 202 and starts an upload instead; copy then.
            if self.client(registry).mount_blob(&target_reference, &source_reference, digest).await.is_ok()
                && self.blob_exists(target, digest).await?
            {
                return Ok(BlobTransfer::Mounted);
            }
        }
        let stream = self.blob_stream(source, digest).await?;
        let stream = stream.map(|chunk| chunk.map_err(OciDistributionError::IoError));
        self.client(registry)
            .push_blob_stream(&target_reference, stream, digest, Some(size))
            .await
            .map_err(|error| classify(error, registry, target.as_str()))?;
        Ok(BlobTransfer::Copied)
    }

    /// Uploads a blob to `image`'s repository unless it is there already; returns its digest.
    pub async fn push_blob(&self, image: &ImageReference, bytes: Vec<u8>) -> Result<String, Error> {
        Ok(self.upload_blob(image, bytes).await?.0)
    }

    /// [`Registry::push_blob`], also saying whether bytes were uploaded.
    pub async fn upload_blob(&self, image: &ImageReference, bytes: Vec<u8>) -> Result<(String, BlobTransfer), Error> {
        let digest = sha256_digest(&bytes);
        let registry = image.resolved_registry();
        let (client, reference) = self.pushing(image).await?;
        let exists =
            client.blob_exists(&reference, &digest).await.map_err(|error| classify(error, registry, image.as_str()))?;
        if exists {
            return Ok((digest, BlobTransfer::Present));
        }
        client
            .push_blob(&reference, bytes, &digest)
            .await
            .map_err(|error| classify(error, registry, image.as_str()))?;
        Ok((digest, BlobTransfer::Uploaded))
    }

    /// Uploads a manifest or index as exactly these bytes, under `image`'s tag or digest.
    /// Returns the digest of the bytes.
    pub async fn push_manifest(
        &self,
        image: &ImageReference,
        media_type: &str,
        bytes: Vec<u8>,
    ) -> Result<String, Error> {
        let digest = sha256_digest(&bytes);
        let registry = image.resolved_registry();
        let (client, reference) = self.pushing(image).await?;
        let content_type = media_type.parse::<http::HeaderValue>().map_err(|error| Error::Invalid {
            reference: image.to_string(),
            message: format!("media type `{media_type}`: {error}"),
        })?;
        client
            .push_manifest_raw(&reference, bytes, content_type)
            .await
            .map_err(|error| classify(error, registry, image.as_str()))?;
        Ok(digest)
    }
}

fn host_of(registry: &str) -> &str {
    if registry.starts_with('[') {
        return registry.split(']').next().map_or(registry, |host| &registry[..host.len() + 1]);
    }
    registry.split(':').next().unwrap_or(registry)
}

fn to_reference(image: &ImageReference, digest: Option<&str>) -> Reference {
    let registry = image.resolved_registry().to_owned();
    let repository = image.resolved_repository();
    match (digest.or(image.digest()), image.tag()) {
        (Some(digest), _) => Reference::with_digest(registry, repository, digest.to_owned()),
        (None, Some(tag)) => Reference::with_tag(registry, repository, tag.to_owned()),
        (None, None) => Reference::with_tag(registry, repository, "latest".to_owned()),
    }
}

fn parse_document(reference: &str, bytes: &[u8], digest: String) -> Result<Fetched, Error> {
    let invalid = |message: String| Error::Invalid { reference: reference.to_owned(), message };
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|error| invalid(format!("not JSON: {error}")))?;
    let media_type = value.get("mediaType").and_then(|media_type| media_type.as_str()).unwrap_or("").to_owned();
    let document = if value.get("manifests").is_some() {
        Document::Index(
            serde_json::from_value::<Index>(value).map_err(|error| invalid(format!("not an image index: {error}")))?,
        )
    } else {
        Document::Manifest(
            serde_json::from_value::<Manifest>(value)
                .map_err(|error| invalid(format!("not an image manifest: {error}")))?,
        )
    };
    Ok(Fetched { digest, media_type, size: bytes.len() as u64, document })
}

fn classify(error: OciDistributionError, registry: &str, reference: &str) -> Error {
    let not_found = || Error::NotFound { reference: reference.to_owned() };
    let denied = || Error::Denied { registry: registry.to_owned(), reference: reference.to_owned() };
    match &error {
        OciDistributionError::ImageManifestNotFoundError(_) => not_found(),
        OciDistributionError::ServerError { code: 404, .. } => not_found(),
        OciDistributionError::ServerError { code: 401 | 403, .. }
        | OciDistributionError::UnauthorizedError { .. }
        | OciDistributionError::AuthenticationFailure(_) => denied(),
        OciDistributionError::RegistryError { envelope, .. } => {
            let codes: Vec<&OciErrorCode> = envelope.errors.iter().map(|error| &error.code).collect();
            if codes.iter().any(|code| {
                matches!(
                    code,
                    OciErrorCode::ManifestUnknown
                        | OciErrorCode::NameUnknown
                        | OciErrorCode::BlobUnknown
                        | OciErrorCode::NotFound
                )
            }) {
                not_found()
            } else if codes.iter().any(|code| matches!(code, OciErrorCode::Unauthorized | OciErrorCode::Denied)) {
                denied()
            } else {
                Error::Invalid { reference: reference.to_owned(), message: error.to_string() }
            }
        }
        OciDistributionError::RequestError(request)
            if matches!(request.status().map(|status| status.as_u16()), Some(401 | 403)) =>
        {
            denied()
        }
        OciDistributionError::RequestError(request) if request.status().map(|status| status.as_u16()) == Some(404) => {
            not_found()
        }
        OciDistributionError::RequestError(_)
        | OciDistributionError::ServerError { .. }
        | OciDistributionError::IoError(_) => {
            Error::Unreachable { registry: registry.to_owned(), source: Box::new(error) }
        }
        _ => Error::Invalid { reference: reference.to_owned(), message: error.to_string() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_for_loopback_and_insecure_only() {
        let registry = Registry::new(RegistryOptions {
            insecure: vec!["registry.lab:5000".to_owned(), "mirror.lab".to_owned()],
            ..RegistryOptions::default()
        });
        for plain in
            ["localhost:5000", "127.0.0.1:5000", "localhost", "[::1]:5000", "registry.lab:5000", "mirror.lab:443"]
        {
            assert!(registry.is_plain_http(plain), "{plain}");
        }
        for secure in ["registry.k8s.io", "registry.lab:6000", "ghcr.io", "localhost.evil.com"] {
            assert!(!registry.is_plain_http(secure), "{secure}");
        }
    }
}
