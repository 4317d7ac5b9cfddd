//! The GCS emulator the tests read from (fake-gcs-server, started by `scripts/test-services.sh`).
//!
//! slipway reaches it as a user would reach any GCS endpoint: a service account key whose
//! `gcs_base_url` names it and whose `disable_oauth` skips the token exchange
//! ([`environment`]). It answers object_store's reads and listings (the XML API) but refuses its
//! uploads and ignores generation preconditions (docs/design/storage.md), so tests put objects in
//! through its JSON API with [`upload`], as `gcloud storage cp` would. It keeps everything in
//! memory; each test makes a bucket of its own with [`unique_bucket`].

use crate::http;

/// `host:port` of the emulator: `$SLIPWAY_TEST_GCS_EMULATOR`, else `127.0.0.1:4443`.
///
/// # Panics
///
/// When nothing listens there, with instructions to start it.
pub fn address() -> String {
    crate::registry::service_address("SLIPWAY_TEST_GCS_EMULATOR", "127.0.0.1:4443", "GCS emulator (fake-gcs-server)")
}

/// The emulator's base URL, `http://127.0.0.1:4443`.
///
/// # Panics
///
/// As [`address`].
pub fn endpoint() -> String {
    format!("http://{}", address())
}

/// A service account key for an emulator at `base_url`: object_store sends requests there and
/// asks no token server for a token.
pub fn service_account_key(base_url: &str) -> String {
    serde_json::json!({
        "gcs_base_url": base_url,
        "disable_oauth": true,
        "client_email": "",
        "private_key": "",
        "private_key_id": "",
    })
    .to_string()
}

/// The environment that points slipway (object_store) at the GCS endpoint `base_url`.
pub fn environment_for(base_url: &str) -> Vec<(String, String)> {
    vec![("GOOGLE_SERVICE_ACCOUNT_KEY".to_owned(), service_account_key(base_url))]
}

/// [`environment_for`] the running emulator.
///
/// # Panics
///
/// As [`address`].
pub fn environment() -> Vec<(String, String)> {
    environment_for(&endpoint())
}

/// A new, empty bucket no other test (or earlier run) uses; its name starts with `name`.
///
/// # Panics
///
/// When the emulator is not running or refuses to create it.
pub fn unique_bucket(name: &str) -> String {
    let bucket = http::unique_name(name);
    let body = serde_json::json!({ "name": bucket }).to_string();
    let headers = [("Content-Type", "application/json")];
    let response = http::request(&address(), "POST", "/storage/v1/b", &headers, body.as_bytes());
    assert_eq!(response.status, 200, "creating bucket {bucket} failed: {}", response.text);
    bucket
}

/// Stores `body` as object `name` of `bucket`, through the JSON API's media upload.
///
/// # Panics
///
/// When the emulator is not running or refuses the upload.
pub fn upload(bucket: &str, name: &str, body: &[u8]) {
    let target =
        format!("/upload/storage/v1/b/{}/o?uploadType=media&name={}", http::encode(bucket), http::encode(name));
    let headers = [("Content-Type", "application/octet-stream")];
    let response = http::request(&address(), "POST", &target, &headers, body);
    assert_eq!(response.status, 200, "uploading {name} to {bucket} failed: {}", response.text);
}
