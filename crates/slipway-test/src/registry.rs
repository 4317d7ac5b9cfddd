//! The local OCI registry the tests push to (Debian's `docker-registry`, started by
//! `scripts/test-services.sh`).

use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use slipway_oci::{Registry, RegistryOptions};

/// `host:port` of the test registry: `$SLIPWAY_TEST_REGISTRY`, else `127.0.0.1:5000`.
///
/// # Panics
///
/// When nothing listens there, with instructions to start it.
pub fn address() -> String {
    let address = std::env::var("SLIPWAY_TEST_REGISTRY").unwrap_or_else(|_| "127.0.0.1:5000".to_owned());
    let reachable = address
        .to_socket_addrs()
        .ok()
        .and_then(|mut addresses| addresses.next())
        .is_some_and(|socket| TcpStream::connect_timeout(&socket, Duration::from_secs(2)).is_ok());
    assert!(
        reachable,
        "no OCI registry at {address}: start one with `scripts/test-services.sh start` (or set SLIPWAY_TEST_REGISTRY)"
    );
    address
}

/// A repository name no other test (or earlier run) uses.
pub fn unique_repository(name: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_nanos());
    format!("slipway-test/{name}-{}-{nanos}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// A client for the test registry, without credentials.
pub fn client() -> Registry {
    Registry::new(RegistryOptions { docker_config: None, ..RegistryOptions::default() })
}
