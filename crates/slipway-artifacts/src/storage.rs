//! Storage by URL: a local directory (the default), S3, GCS or Azure, through object_store.
//!
//! A [`Storage`] is a bucket (or directory) plus a prefix; every key the layout and the markers
//! use is relative to it. Backend settings come from the environment the way each cloud's own
//! tools read them (`AWS_*`, `GOOGLE_*` and `SERVICE_ACCOUNT`, `AZURE_*`), passed in explicitly
//! by [`Storage::open_with`] so tests and servers need not touch the process environment
//! ([`crate::backends`] builds the stores). Missing or refused credentials are reported as
//! [`crate::CredentialsError`], naming the variables to set.
//!
//! Writes are single objects, each one put (or one multipart upload that becomes visible only
//! when complete), so a reader never sees half of one. Compare-and-swap writes use the store's
//! conditional puts (`If-None-Match: *` to create, `If-Match: <etag>` or a GCS generation to
//! replace); the local file system has no such thing in object_store, so [`crate::local`]
//! implements it with a lock file and an atomic rename.

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use object_store::buffered::BufWriter;
use object_store::local::LocalFileSystem;
use object_store::path::{Path, PathPart};
use object_store::{
    Attribute, AttributeValue, Attributes, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion,
};
use tokio::io::AsyncWriteExt;

use crate::backends::{self, BuildError};
use crate::credentials::{self, Cloud};
use crate::error::{Error, Result};
use crate::local;

/// Files up to this size are uploaded in one put; larger ones as a multipart upload of parts
/// this size (which the store also makes visible only when complete).
const SINGLE_PUT_LIMIT: usize = 8 * 1024 * 1024;

/// Where artifacts and markers live.
///
/// Cloning is cheap: clones share one connection pool.
#[derive(Debug, Clone)]
pub struct Storage {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Arc<dyn ObjectStore>,
    /// The key prefix inside the store (empty: its root).
    prefix: Path,
    /// The storage URL for messages: a local directory's absolute path, else `s3://bucket/prefix`.
    url: String,
    /// Local directories get their own compare-and-swap (see [`crate::local`]).
    local_root: Option<PathBuf>,
    /// The cloud of an `s3://`, `gs://` or `az://` URL, for messages about its credentials.
    cloud: Option<Cloud>,
}

/// An object's content and the version a conditional replace must name.
#[derive(Debug, Clone)]
pub(crate) struct Object {
    pub(crate) body: Bytes,
    version: UpdateVersion,
}

/// The HTTP headers an object is served with (ignored by local directories).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Headers {
    pub(crate) content_type: &'static str,
    pub(crate) cache_control: Option<&'static str>,
}

impl Headers {
    /// The headers for a file of this name, by its extension.
    pub(crate) fn for_name(name: &str) -> Headers {
        let extension = name.rsplit_once('.').map_or("", |(_, extension)| extension).to_ascii_lowercase();
        let content_type = match extension.as_str() {
            "txt" | "log" => "text/plain; charset=utf-8",
            "json" => "application/json",
            "xml" => "application/xml",
            "html" | "htm" => "text/html; charset=utf-8",
            "yaml" | "yml" => "application/yaml",
            "svg" => "image/svg+xml",
            "png" => "image/png",
            _ => "application/octet-stream",
        };
        Headers { content_type, cache_control: None }
    }
}

impl Storage {
    /// Opens the storage at `url`, with backend settings from the process environment.
    ///
    /// `url` is a directory (relative to the current one, or absolute), `file:///abs/dir`,
    /// `s3://bucket[/prefix]`, `gs://bucket[/prefix]`, `az://container[/prefix]` or
    /// `azure://container[/prefix]`. Nothing is contacted yet: an unreachable bucket shows at
    /// the first read or write.
    pub fn open(url: &str) -> Result<Storage> {
        // `std::env::vars` panics on a variable that is not UTF-8; such a variable is no
        // setting of ours anyway.
        let environment =
            std::env::vars_os().filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)));
        Storage::open_with(url, environment)
    }

    /// [`Storage::open`] with the environment given as `(name, value)` pairs.
    ///
    /// S3 reads `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT`), `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION` (default `us-east-1`) and
    /// `AWS_ALLOW_HTTP`; an endpoint on a loopback address is spoken to over plain HTTP without
    /// it. GCS reads `GOOGLE_SERVICE_ACCOUNT` (or `SERVICE_ACCOUNT`), `GOOGLE_SERVICE_ACCOUNT_KEY`,
    /// `GOOGLE_APPLICATION_CREDENTIALS`, `GOOGLE_BASE_URL` and `GOOGLE_BEARER_TOKEN`; an emulator
    /// is reached with a service account key holding `"gcs_base_url"` and `"disable_oauth": true`.
    /// Azure reads `AZURE_STORAGE_ACCOUNT_NAME`, `AZURE_STORAGE_ACCOUNT_KEY`,
    /// `AZURE_STORAGE_ENDPOINT` (a loopback `http://` one needs no `AZURE_ALLOW_HTTP`),
    /// `AZURE_STORAGE_USE_EMULATOR` (Azurite on `127.0.0.1:10000`) and the other `AZURE_*` keys
    /// of object_store.
    pub fn open_with<I, K, V>(url: &str, environment: I) -> Result<Storage>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: Into<String>,
    {
        let invalid = |reason: &str| Error::InvalidUrl { url: url.to_owned(), reason: reason.to_owned() };
        if url.trim().is_empty() {
            return Err(invalid("expected a directory or a URL such as s3://bucket/prefix"));
        }
        let Some((scheme, rest)) = url.split_once("://") else {
            return Storage::local(url, FsPath::new(url));
        };
        if scheme == "file" {
            if !rest.starts_with('/') {
                return Err(invalid("a file:// URL names an absolute directory, like file:///srv/artifacts"));
            }
            return Storage::local(url, FsPath::new(rest));
        }
        if !matches!(scheme, "s3" | "gs" | "az" | "azure") {
            return Err(invalid(&format!(
                "unsupported scheme `{scheme}`; use a directory, file://, s3://, gs://, az:// or azure://"
            )));
        }
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(invalid("the bucket name is missing"));
        }
        if !bucket.bytes().all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'-' | b'_')) {
            return Err(invalid("a bucket name holds only letters, digits, `.`, `-` and `_`"));
        }
        let prefix = prefix.trim_end_matches('/');
        let prefix_path = Path::parse(prefix).map_err(|_| invalid("the prefix has an empty or invalid segment"))?;
        let display =
            if prefix.is_empty() { format!("{scheme}://{bucket}") } else { format!("{scheme}://{bucket}/{prefix}") };
        let variables: Vec<(String, String)> =
            environment.into_iter().map(|(name, value)| (name.as_ref().to_owned(), value.into())).collect();
        let cloud = match scheme {
            "s3" => Cloud::S3,
            "gs" => Cloud::Gcs,
            _ => Cloud::Azure,
        };
        let store = backends::build(cloud, &format!("{scheme}://{bucket}"), bucket, &variables).map_err(|error| {
            let source: Box<dyn std::error::Error + Send + Sync> = match error {
                BuildError::Settings(error) => Box::new(error),
                BuildError::Credentials(error) => Box::new(error),
            };
            Error::Configure { url: display.clone(), source }
        })?;
        let inner = Inner { store, prefix: prefix_path, url: display, local_root: None, cloud: Some(cloud) };
        Ok(Storage { inner: Arc::new(inner) })
    }

    /// Storage on an object store built elsewhere (an `InMemory` store, a wrapper that counts
    /// requests). `url` is how messages name it. Compare-and-swap uses the store's conditional
    /// puts, so the store must support `PutMode::Create` and `PutMode::Update`.
    pub fn from_object_store(store: Arc<dyn ObjectStore>, url: &str) -> Storage {
        let inner = Inner { store, prefix: Path::default(), url: url.to_owned(), local_root: None, cloud: None };
        Storage { inner: Arc::new(inner) }
    }

    fn local(url: &str, directory: &FsPath) -> Result<Storage> {
        let absolute = std::path::absolute(directory).map_err(|source| Error::Io {
            operation: "resolve",
            path: directory.to_path_buf(),
            source,
        })?;
        let prefix = Path::from_absolute_path(&absolute).map_err(|error| Error::InvalidUrl {
            url: url.to_owned(),
            reason: format!("the directory cannot be used as storage ({error})"),
        })?;
        Ok(Storage {
            inner: Arc::new(Inner {
                store: Arc::new(LocalFileSystem::new()),
                prefix,
                url: absolute.display().to_string(),
                local_root: Some(absolute),
                cloud: None,
            }),
        })
    }

    /// Where `key` is on this machine, for a local directory; `None` for a bucket.
    pub fn local_path(&self, key: &str) -> Option<PathBuf> {
        let root = self.inner.local_root.as_ref()?;
        Some(key.split('/').filter(|part| !part.is_empty()).fold(root.clone(), |path, part| path.join(part)))
    }

    /// The storage URL for people: a local directory's absolute path, else `s3://bucket/prefix`.
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// The URL of one object: `s3://bucket/prefix/key`, or `file:///dir/key` for a directory.
    pub fn object_url(&self, key: &str) -> String {
        match &self.inner.local_root {
            Some(root) => format!("file://{}", root.join(key).display()),
            None => format!("{}/{key}", self.inner.url.trim_end_matches('/')),
        }
    }

    /// Whether this is a local directory.
    pub fn is_local(&self) -> bool {
        self.inner.local_root.is_some()
    }

    /// The content of `key`, or `None` when there is no such object.
    pub async fn read(&self, key: &str) -> Result<Option<Bytes>> {
        Ok(self.get(key).await?.map(|object| object.body))
    }

    fn path(&self, key: &str) -> Path {
        let mut path = self.inner.prefix.clone();
        for part in key.split('/').filter(|part| !part.is_empty()) {
            path = path.join(PathPart::from(part));
        }
        path
    }

    fn failed(&self, operation: &'static str, key: &str, source: object_store::Error) -> Error {
        if matches!(source, object_store::Error::NotFound { .. }) && self.inner.local_root.is_none() {
            // A write or list that finds nothing: the bucket itself is missing.
            return Error::NoBucket { url: self.inner.url.clone() };
        }
        let source: Box<dyn std::error::Error + Send + Sync> = match self.inner.cloud {
            Some(cloud) => match credentials::diagnose(cloud, source) {
                Ok(credentials) => Box::new(credentials),
                Err(other) => Box::new(other),
            },
            None => Box::new(source),
        };
        Error::Storage { url: self.inner.url.clone(), operation, key: key.to_owned(), source }
    }

    /// Reads `key` with the version a conditional replace needs; `None` when absent.
    pub(crate) async fn get(&self, key: &str) -> Result<Option<Object>> {
        match self.inner.store.get(&self.path(key)).await {
            Ok(result) => {
                let version = UpdateVersion { e_tag: result.meta.e_tag.clone(), version: result.meta.version.clone() };
                let body = result.bytes().await.map_err(|source| self.failed("read", key, source))?;
                Ok(Some(Object { body, version }))
            }
            Err(object_store::Error::NotFound { .. }) => {
                self.ensure_bucket(key).await?;
                Ok(None)
            }
            Err(source) => Err(self.failed("read", key, source)),
        }
    }

    /// A missing object and a missing bucket look alike to a GET; a listing tells them apart.
    async fn ensure_bucket(&self, key: &str) -> Result<()> {
        if self.inner.local_root.is_some() {
            return Ok(());
        }
        let prefix = self.inner.prefix.clone();
        match self.inner.store.list_with_delimiter(Some(&prefix)).await {
            Ok(_) => Ok(()),
            // Listing a prefix never answers 404 unless the bucket (container) is missing.
            Err(source) if credentials::http_status(&source) == Some(404) => {
                Err(Error::NoBucket { url: self.inner.url.clone() })
            }
            Err(source) => Err(self.failed("read", key, source)),
        }
    }

    fn options(&self, mode: PutMode, headers: Headers) -> PutOptions {
        PutOptions { mode, attributes: self.attributes(headers), ..PutOptions::default() }
    }

    fn attributes(&self, headers: Headers) -> Attributes {
        let mut attributes = Attributes::new();
        // object_store's LocalFileSystem refuses attributes rather than ignoring them.
        if self.inner.local_root.is_none() {
            attributes.insert(Attribute::ContentType, AttributeValue::from(headers.content_type));
            if let Some(cache_control) = headers.cache_control {
                attributes.insert(Attribute::CacheControl, AttributeValue::from(cache_control));
            }
        }
        attributes
    }

    /// Writes `key`, replacing whatever is there.
    pub(crate) async fn put(&self, key: &str, body: Bytes, headers: Headers) -> Result<()> {
        let options = self.options(PutMode::Overwrite, headers);
        self.inner
            .store
            .put_opts(&self.path(key), PutPayload::from(body), options)
            .await
            .map_err(|source| self.failed("write", key, source))?;
        Ok(())
    }

    /// Writes `key` only if it does not exist; `false` when it does.
    pub(crate) async fn create(&self, key: &str, body: Bytes, headers: Headers) -> Result<bool> {
        let options = self.options(PutMode::Create, headers);
        match self.inner.store.put_opts(&self.path(key), PutPayload::from(body), options).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
            Err(source) => Err(self.failed("create", key, source)),
        }
    }

    /// Writes `key` only if it still is `expected` (`None`: still absent). `false` when it
    /// changed since it was read, and nothing was written.
    pub(crate) async fn swap(
        &self,
        key: &str,
        body: Bytes,
        expected: Option<&Object>,
        headers: Headers,
    ) -> Result<bool> {
        if let Some(root) = &self.inner.local_root {
            let path = root.join(key);
            let expected = expected.map(|object| object.body.clone());
            return tokio::task::spawn_blocking(move || local::swap(&path, &body, expected.as_deref()))
                .await
                .map_err(|join| Error::Io { operation: "write", path: root.join(key), source: join.into() })?;
        }
        let mode = match expected {
            None => PutMode::Create,
            Some(object) => PutMode::Update(object.version.clone()),
        };
        match self.inner.store.put_opts(&self.path(key), PutPayload::from(body), self.options(mode, headers)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. }) => Ok(false),
            Err(source) => Err(self.failed("write", key, source)),
        }
    }

    /// Uploads the local file `path` to `key`: one put, or for large files one multipart
    /// upload, which the store also publishes only when complete.
    pub(crate) async fn upload_file(&self, key: &str, path: &FsPath, headers: Headers) -> Result<()> {
        let io = |operation, source| Error::Io { operation, path: path.to_path_buf(), source };
        let mut file = fs_err::tokio::File::open(path).await.map_err(|source| io("read", source))?;
        let size = file.metadata().await.map_err(|source| io("read", source))?.len();
        if size <= SINGLE_PUT_LIMIT as u64 {
            let body = fs_err::tokio::read(path).await.map_err(|source| io("read", source))?;
            return self.put(key, Bytes::from(body), headers).await;
        }
        let mut writer = BufWriter::with_capacity(Arc::clone(&self.inner.store), self.path(key), SINGLE_PUT_LIMIT)
            .with_attributes(self.attributes(headers));
        let copied = tokio::io::copy(&mut file, &mut writer).await;
        let finished = match copied {
            Ok(_) => writer.shutdown().await,
            Err(error) => Err(error),
        };
        if let Err(error) = finished {
            // Nothing becomes visible: the upload is abandoned, not completed.
            let _ = writer.abort().await;
            return Err(match error.downcast::<object_store::Error>() {
                Ok(source) => self.failed("write", key, source),
                Err(error) => io("read", error),
            });
        }
        Ok(())
    }

    /// The names of the "directories" directly under `key` (common prefixes).
    pub(crate) async fn list_directories(&self, key: &str) -> Result<Vec<String>> {
        let path = self.path(key);
        let listing = match self.inner.store.list_with_delimiter(Some(&path)).await {
            Ok(listing) => listing,
            Err(object_store::Error::NotFound { .. }) if self.inner.local_root.is_some() => return Ok(Vec::new()),
            Err(source) => return Err(self.failed("list", key, source)),
        };
        Ok(listing.common_prefixes.iter().filter_map(|prefix| prefix.filename().map(str::to_owned)).collect())
    }

    /// The objects under `key` (recursively) with their sizes in bytes, as keys relative to
    /// the storage, sorted by key.
    pub async fn list_sized(&self, key: &str) -> Result<Vec<(String, u64)>> {
        use futures_util::TryStreamExt;
        let path = self.path(key);
        let objects: Vec<_> = match self.inner.store.list(Some(&path)).try_collect().await {
            Ok(objects) => objects,
            Err(object_store::Error::NotFound { .. }) if self.inner.local_root.is_some() => return Ok(Vec::new()),
            Err(source) => return Err(self.failed("list", key, source)),
        };
        Ok(self.sized(&objects))
    }

    /// The objects directly under `key` (not in its sub-directories) with their sizes, as keys
    /// relative to the storage, sorted.
    pub async fn list_level(&self, key: &str) -> Result<Vec<(String, u64)>> {
        let path = self.path(key);
        let listing = match self.inner.store.list_with_delimiter(Some(&path)).await {
            Ok(listing) => listing,
            Err(object_store::Error::NotFound { .. }) if self.inner.local_root.is_some() => return Ok(Vec::new()),
            Err(source) => return Err(self.failed("list", key, source)),
        };
        Ok(self.sized(&listing.objects))
    }

    /// `objects` as keys relative to the storage with their sizes, sorted by key.
    fn sized(&self, objects: &[object_store::ObjectMeta]) -> Vec<(String, u64)> {
        let mut listed: Vec<(String, u64)> =
            objects.iter().filter_map(|object| Some((self.relative(&object.location)?, object.size))).collect();
        listed.sort();
        listed
    }

    /// A location's key relative to the storage; `None` outside its prefix.
    fn relative(&self, location: &Path) -> Option<String> {
        let relative: Vec<_> = location.prefix_match(&self.inner.prefix)?.collect();
        Some(relative.iter().map(AsRef::as_ref).collect::<Vec<&str>>().join("/"))
    }

    /// `key`'s size and its content as a stream of chunks, never held whole; `None` when there
    /// is no such object.
    pub async fn stream(
        &self,
        key: &str,
    ) -> Result<Option<(u64, futures_util::stream::BoxStream<'static, std::io::Result<Bytes>>)>> {
        use futures_util::StreamExt;
        match self.inner.store.get(&self.path(key)).await {
            Ok(result) => {
                let size = result.meta.size;
                let stream = result.into_stream().map(|chunk| chunk.map_err(std::io::Error::other)).boxed();
                Ok(Some((size, stream)))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(source) => Err(self.failed("read", key, source)),
        }
    }

    /// The objects under `key` (recursively), as keys relative to the storage, in no order.
    pub async fn list(&self, key: &str) -> Result<Vec<String>> {
        use futures_util::TryStreamExt;
        let path = self.path(key);
        let objects: Vec<_> = match self.inner.store.list(Some(&path)).try_collect().await {
            Ok(objects) => objects,
            Err(object_store::Error::NotFound { .. }) if self.inner.local_root.is_some() => return Ok(Vec::new()),
            Err(source) => return Err(self.failed("list", key, source)),
        };
        Ok(objects.iter().filter_map(|object| self.relative(&object.location)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(url: &str) -> Result<Storage> {
        Storage::open_with(
            url,
            [("AWS_ENDPOINT_URL", "http://127.0.0.1:1"), ("AWS_ACCESS_KEY_ID", "x"), ("AWS_SECRET_ACCESS_KEY", "y")],
        )
    }

    #[test]
    fn urls_name_a_backend() {
        let storage = open("s3://ci-bucket/logs/prefix/").expect("valid");
        assert_eq!(storage.url(), "s3://ci-bucket/logs/prefix");
        assert_eq!(storage.object_url("stable.txt"), "s3://ci-bucket/logs/prefix/stable.txt");
        assert!(!storage.is_local());
        assert_eq!(open("s3://ci-bucket").expect("valid").url(), "s3://ci-bucket");
        let directory = tempfile::tempdir().expect("temporary directory");
        let local = open(&directory.path().display().to_string()).expect("valid");
        assert!(local.is_local());
        assert_eq!(local.url(), directory.path().display().to_string());
        let file = open(&format!("file://{}", directory.path().display())).expect("valid");
        assert_eq!(file.object_url("a/b.txt"), format!("file://{}/a/b.txt", directory.path().display()));
    }

    #[test]
    fn bad_urls_are_usage_errors() {
        for (url, reason) in [
            ("", "expected a directory"),
            ("ftp://host/x", "unsupported scheme `ftp`"),
            ("s3://", "the bucket name is missing"),
            ("s3:///prefix", "the bucket name is missing"),
            ("s3://bucket with space/x", "a bucket name holds only"),
            ("s3://bucket/a//b", "empty or invalid segment"),
            ("file://relative/dir", "absolute directory"),
        ] {
            let error = open(url).expect_err(url);
            assert_eq!(error.exit_code(), slipway_core::exit::USAGE, "{url}");
            assert!(error.to_string().contains(reason), "{url}: {error}");
        }
    }

    #[test]
    fn content_types_follow_the_extension() {
        assert_eq!(Headers::for_name("build-log.txt").content_type, "text/plain; charset=utf-8");
        assert_eq!(Headers::for_name("artifacts/junit_01.XML").content_type, "application/xml");
        assert_eq!(Headers::for_name("finished.json").content_type, "application/json");
        assert_eq!(Headers::for_name("kubelet").content_type, "application/octet-stream");
    }
}
