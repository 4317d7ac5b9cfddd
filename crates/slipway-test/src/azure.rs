//! The Azure Blob emulator the tests write to (Azurite, started by `scripts/test-services.sh`).
//!
//! slipway reaches it as it would any Azure endpoint: an account name and key, and the account's
//! URL in `AZURE_STORAGE_ENDPOINT` ([`environment`]). Azurite knows one account,
//! `devstoreaccount1`, with a key published in its documentation, checks every request's
//! signature against it, and keeps everything in memory; each test makes a container of its own
//! with [`unique_container`].

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::http;

/// Azurite's account.
pub const ACCOUNT: &str = "devstoreaccount1";

/// Azurite's well-known key for [`ACCOUNT`].
pub const ACCOUNT_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// The API version of the requests made here.
const API_VERSION: &str = "2021-08-06";

/// `host:port` of the emulator: `$SLIPWAY_TEST_AZURITE`, else `127.0.0.1:10000`.
///
/// # Panics
///
/// When nothing listens there, with instructions to start it.
pub fn address() -> String {
    crate::registry::service_address("SLIPWAY_TEST_AZURITE", "127.0.0.1:10000", "Azure Blob emulator (Azurite)")
}

/// The account's URL, `http://127.0.0.1:10000/devstoreaccount1`.
///
/// # Panics
///
/// As [`address`].
pub fn endpoint() -> String {
    format!("http://{}/{ACCOUNT}", address())
}

/// The environment that points slipway (object_store) at the account URL `endpoint`, signing
/// with `key` (base64, as the Azure portal shows account keys).
pub fn environment_with_key(endpoint: &str, key: &str) -> Vec<(String, String)> {
    [("AZURE_STORAGE_ACCOUNT_NAME", ACCOUNT), ("AZURE_STORAGE_ACCOUNT_KEY", key), ("AZURE_STORAGE_ENDPOINT", endpoint)]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
}

/// [`environment_with_key`] with Azurite's key.
pub fn environment_for(endpoint: &str) -> Vec<(String, String)> {
    environment_with_key(endpoint, ACCOUNT_KEY)
}

/// [`environment_for`] the running emulator.
///
/// # Panics
///
/// As [`address`].
pub fn environment() -> Vec<(String, String)> {
    environment_for(&endpoint())
}

/// A new, empty container no other test (or earlier run) uses; its name starts with `name`.
///
/// # Panics
///
/// When the emulator is not running or refuses to create it.
pub fn unique_container(name: &str) -> String {
    let container = http::unique_name(name);
    let address = address();
    let date = jiff::Timestamp::now().strftime("%a, %d %b %Y %H:%M:%S GMT").to_string();
    // Shared Key signing, for a request with no body and no standard headers: the verb, eleven
    // empty header lines, the x-ms-* headers, then the resource (the account twice on a
    // path-style URL) and its query.
    let string_to_sign = format!(
        "PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:{date}\nx-ms-version:{API_VERSION}\n/{ACCOUNT}/{ACCOUNT}/{container}\nrestype:container"
    );
    let key = STANDARD.decode(ACCOUNT_KEY).expect("the well-known key is base64");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes a key of any length");
    mac.update(string_to_sign.as_bytes());
    let signature = STANDARD.encode(mac.finalize().into_bytes());
    let authorization = format!("SharedKey {ACCOUNT}:{signature}");
    let headers = [("x-ms-date", date.as_str()), ("x-ms-version", API_VERSION), ("Authorization", &authorization)];
    let target = format!("/{ACCOUNT}/{container}?restype=container");
    let response = http::request(&address, "PUT", &target, &headers, b"");
    assert_eq!(response.status, 201, "creating container {container} failed: {}", response.text);
    container
}
