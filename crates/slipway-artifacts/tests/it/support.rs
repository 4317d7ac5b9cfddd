//! Storage to test on, and a store wrapper that records the order of writes.

use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use futures_util::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore, PutMultipartOptions,
    PutOptions, PutPayload, PutResult,
};
use slipway_artifacts::Storage;
use tempfile::TempDir;

/// A local directory storage, deleted with the returned guard.
pub(crate) fn local() -> (Storage, TempDir) {
    let directory = tempfile::tempdir().expect("temporary directory");
    let storage = Storage::open(&directory.path().join("artifacts").display().to_string()).expect("a directory");
    (storage, directory)
}

/// A fresh bucket in the S3 emulator, used under a prefix.
pub(crate) fn s3(name: &str) -> Storage {
    let bucket = slipway_test::s3::unique_bucket(name);
    Storage::open_with(&format!("s3://{bucket}/ci"), slipway_test::s3::environment()).expect("an S3 URL")
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
