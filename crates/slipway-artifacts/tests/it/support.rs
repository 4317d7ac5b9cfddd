//! Storage to test on (a fresh one per test, on each backend), and a store wrapper that records
//! the order of writes.

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use futures_util::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore, ObjectStoreExt,
    PutMultipartOptions, PutOptions, PutPayload, PutResult,
};
use slipway_artifacts::Storage;
use tempfile::TempDir;

/// The backends every scenario runs on. GCS is the emulator (fake-gcs-server), which serves
/// object_store's reads but not its uploads: scenarios that write run on GCS only with real
/// credentials ([`real_gcs`]).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Backend {
    /// A temporary directory.
    Local,
    /// A new bucket in moto_server.
    S3,
    /// A new bucket in fake-gcs-server.
    Gcs,
    /// A new container in Azurite.
    Azure,
}

/// A fresh, empty storage, and a way to put objects in it as another writer (Prow's uploader,
/// `gcloud storage cp`) would.
pub(crate) struct Fixture {
    pub(crate) storage: Storage,
    writer: Writer,
    /// The bucket (container) of a cloud backend.
    bucket: Option<String>,
    _directory: Option<TempDir>,
}

enum Writer {
    Directory(PathBuf),
    /// An object store built directly, and the storage's prefix in it.
    Store(Arc<dyn ObjectStore>, &'static str),
    /// fake-gcs-server's JSON API, and the storage's prefix in the bucket.
    GcsEmulator(String, &'static str),
}

/// Every storage in a bucket is used under this prefix, so keys are never at the bucket's root.
pub(crate) const PREFIX: &str = "ci";

impl Backend {
    /// A fresh, empty storage on this backend; `name` starts the bucket's name.
    pub(crate) fn fresh(self, name: &str) -> Fixture {
        match self {
            Backend::Local => {
                let directory = tempfile::tempdir().expect("temporary directory");
                let root = directory.path().join("artifacts");
                let storage = Storage::open(&root.display().to_string()).expect("a directory");
                Fixture { storage, writer: Writer::Directory(root), bucket: None, _directory: Some(directory) }
            }
            Backend::S3 => {
                let bucket = slipway_test::s3::unique_bucket(name);
                let storage = Storage::open_with(&format!("s3://{bucket}/{PREFIX}"), slipway_test::s3::environment())
                    .expect("an S3 URL");
                Fixture {
                    storage,
                    writer: Writer::Store(s3_store(&bucket), PREFIX),
                    bucket: Some(bucket),
                    _directory: None,
                }
            }
            Backend::Gcs => {
                let bucket = slipway_test::gcs::unique_bucket(name);
                let storage = Storage::open_with(&format!("gs://{bucket}/{PREFIX}"), slipway_test::gcs::environment())
                    .expect("a gs:// URL");
                Fixture {
                    storage,
                    writer: Writer::GcsEmulator(bucket.clone(), PREFIX),
                    bucket: Some(bucket),
                    _directory: None,
                }
            }
            Backend::Azure => {
                let container = slipway_test::azure::unique_container(name);
                let storage =
                    Storage::open_with(&format!("az://{container}/{PREFIX}"), slipway_test::azure::environment())
                        .expect("an az:// URL");
                let writer = Writer::Store(azure_store(&container), PREFIX);
                Fixture { storage, writer, bucket: Some(container), _directory: None }
            }
        }
    }
}

impl Fixture {
    /// The bucket (container) of a cloud backend; `None` for a directory.
    pub(crate) fn bucket(&self) -> Option<&str> {
        self.bucket.as_deref()
    }

    /// Stores `body` at `key` (relative to the storage), bypassing slipway.
    pub(crate) async fn put(&self, key: &str, body: &[u8]) {
        match &self.writer {
            Writer::Directory(root) => {
                let path = root.join(key);
                fs_err::create_dir_all(path.parent().expect("a parent")).expect("create directories");
                fs_err::write(path, body).expect("write");
            }
            Writer::Store(store, prefix) => {
                // As written, unescaped (`Path::from` would store `#` as `%23`, as slipway does).
                let location = Path::parse(format!("{prefix}/{key}")).expect("a valid key");
                store.put(&location, PutPayload::from(body.to_vec())).await.expect("put");
            }
            Writer::GcsEmulator(bucket, prefix) => slipway_test::gcs::upload(bucket, &format!("{prefix}/{key}"), body),
        }
    }
}

/// A fresh prefix in the GCS bucket of `$SLIPWAY_TEST_GCS` (`gs://BUCKET/PREFIX`), with
/// credentials from the process environment, for the scenarios that write.
///
/// # Panics
///
/// When `SLIPWAY_TEST_GCS` is not set.
pub(crate) fn real_gcs(name: &str) -> Storage {
    let url = std::env::var("SLIPWAY_TEST_GCS").expect(
        "SLIPWAY_TEST_GCS=gs://BUCKET/PREFIX, with GOOGLE_APPLICATION_CREDENTIALS or GOOGLE_SERVICE_ACCOUNT_KEY",
    );
    let unique = format!("{}/slipway-test-{name}-{}-{}", url.trim_end_matches('/'), std::process::id(), now_nanos());
    Storage::open(&unique).expect("a gs:// URL")
}

fn now_nanos() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_nanos())
}

/// A local directory storage, deleted with the returned guard.
pub(crate) fn local() -> (Storage, TempDir) {
    let directory = tempfile::tempdir().expect("temporary directory");
    let storage = Storage::open(&directory.path().join("artifacts").display().to_string()).expect("a directory");
    (storage, directory)
}

/// An object store of the S3 emulator's bucket `bucket`, built directly.
pub(crate) fn s3_store(bucket: &str) -> Arc<dyn ObjectStore> {
    let store = object_store::aws::AmazonS3Builder::new()
        .with_endpoint(slipway_test::s3::endpoint())
        .with_bucket_name(bucket)
        .with_region("us-east-1")
        .with_access_key_id("slipway-test")
        .with_secret_access_key("slipway-test")
        .with_allow_http(true)
        .build()
        .expect("an S3 store");
    Arc::new(store)
}

/// An object store of the Azure emulator's container `container`, built directly.
pub(crate) fn azure_store(container: &str) -> Arc<dyn ObjectStore> {
    let store = object_store::azure::MicrosoftAzureBuilder::new()
        .with_account(slipway_test::azure::ACCOUNT)
        .with_access_key(slipway_test::azure::ACCOUNT_KEY)
        .with_endpoint(slipway_test::azure::endpoint())
        .with_allow_http(true)
        .with_container_name(container)
        .build()
        .expect("an Azure store");
    Arc::new(store)
}

/// One test per backend for each scenario `async fn NAME(storage: Storage)`, in a module NAME:
/// `local`, `s3` and `azure` on the emulators, and `gcs`, ignored: fake-gcs-server takes none of
/// object_store's uploads (docs/design/storage.md), so writing scenarios run on real GCS only.
/// `multi_thread:` runs them on four worker threads.
macro_rules! on_every_backend {
    (multi_thread: $($scenario:ident),+ $(,)?) => {
        on_every_backend!(@tests #[tokio::test(flavor = "multi_thread", worker_threads = 4)] $($scenario),+);
    };
    ($($scenario:ident),+ $(,)?) => {
        on_every_backend!(@tests #[tokio::test] $($scenario),+);
    };
    (@tests #[$test:meta] $($scenario:ident),+) => { $(
        mod $scenario {
            use crate::support::{Backend, real_gcs};

            #[$test]
            async fn local() {
                let fixture = Backend::Local.fresh(stringify!($scenario));
                super::$scenario(fixture.storage.clone()).await;
            }

            #[$test]
            async fn s3() {
                super::$scenario(Backend::S3.fresh(stringify!($scenario)).storage).await;
            }

            #[$test]
            async fn azure() {
                super::$scenario(Backend::Azure.fresh(stringify!($scenario)).storage).await;
            }

            #[$test]
            #[ignore = "needs GCS that takes uploads with generation preconditions (fake-gcs-server does not): set SLIPWAY_TEST_GCS=gs://BUCKET/PREFIX and GOOGLE_APPLICATION_CREDENTIALS (or GOOGLE_SERVICE_ACCOUNT_KEY), then `cargo test -p slipway-artifacts --test it -- --ignored gcs`"]
            async fn gcs() {
                super::$scenario(real_gcs(stringify!($scenario))).await;
            }
        }
    )+ };
}

pub(crate) use on_every_backend;

/// The `v1.31.N` patch number.
pub(crate) fn patch(version: &str) -> u32 {
    version
        .strip_prefix("v1.31.")
        .and_then(|patch| patch.parse().ok())
        .unwrap_or_else(|| panic!("not v1.31.N: {version}"))
}

/// Delegates to a store and records, in order, each object whose write completed.
#[derive(Debug)]
pub(crate) struct Recording {
    inner: Arc<dyn ObjectStore>,
    writes: Mutex<Vec<String>>,
}

impl Recording {
    pub(crate) fn new(inner: Arc<dyn ObjectStore>) -> Arc<Recording> {
        Arc::new(Recording { inner, writes: Mutex::new(Vec::new()) })
    }

    pub(crate) fn writes(&self) -> Vec<String> {
        self.writes.lock().expect("not poisoned").clone()
    }
}

impl fmt::Display for Recording {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Recording({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for Recording {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        let result = self.inner.put_opts(location, payload, opts).await;
        if result.is_ok() {
            self.writes.lock().expect("not poisoned").push(location.to_string());
        }
        result
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        // Artifacts in these tests are small: a multipart upload would be a surprise.
        self.writes.lock().expect("not poisoned").push(format!("multipart:{location}"));
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> object_store::Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}
