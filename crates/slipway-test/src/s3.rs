//! The S3 emulator the tests write to (moto_server, started by `scripts/test-services.sh`).
//!
//! moto accepts any key and secret and keeps everything in memory; each test makes a bucket of
//! its own with [`unique_bucket`], so tests never see each other's objects.

/// `host:port` of the emulator: `$SLIPWAY_TEST_S3`, else `127.0.0.1:5001`.
///
/// # Panics
///
/// When nothing listens there, with instructions to start it.
pub fn address() -> String {
    crate::registry::service_address("SLIPWAY_TEST_S3", "127.0.0.1:5001", "S3 emulator (moto_server)")
}

/// The emulator's endpoint URL, `http://127.0.0.1:5001`.
///
/// # Panics
///
/// As [`address`].
pub fn endpoint() -> String {
    format!("http://{}", address())
}

/// The environment that points slipway (object_store) at `endpoint` with test credentials.
pub fn environment_for(endpoint: &str) -> Vec<(String, String)> {
    [
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_ACCESS_KEY_ID", "slipway-test"),
        ("AWS_SECRET_ACCESS_KEY", "slipway-test"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ALLOW_HTTP", "true"),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value.to_owned()))
    .collect()
}

/// [`environment_for`] the running emulator.
///
/// # Panics
///
/// As [`address`].
pub fn environment() -> Vec<(String, String)> {
    environment_for(&endpoint())
}

/// An endpoint where nothing listens (a loopback port just released), for unreachable-bucket
/// tests.
pub fn closed_endpoint() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    format!("http://127.0.0.1:{port}")
}

/// A new, empty bucket no other test (or earlier run) uses; its name starts with `name`.
///
/// # Panics
///
/// When the emulator is not running or refuses to create it.
pub fn unique_bucket(name: &str) -> String {
    let bucket = crate::http::unique_name(name);
    // moto needs no signature to create a bucket: one plain HTTP request does it.
    let response = crate::http::request(&address(), "PUT", &format!("/{bucket}"), &[], b"");
    assert_eq!(response.status, 200, "creating bucket {bucket} failed: {}", response.text);
    bucket
}
