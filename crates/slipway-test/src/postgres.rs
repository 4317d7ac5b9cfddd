//! The PostgreSQL server the store's tests use (started by `scripts/test-services.sh`).

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// `host:port` of the server: `$SLIPWAY_TEST_POSTGRES`, else `127.0.0.1:55432`.
///
/// # Panics
///
/// When nothing listens there, with instructions to start it.
pub fn address() -> String {
    crate::registry::service_address("SLIPWAY_TEST_POSTGRES", "127.0.0.1:55432", "PostgreSQL server")
}

/// A new, empty database of its own for one test; returns its URL.
///
/// # Panics
///
/// When the server is missing or `psql` cannot create the database.
pub fn database() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let address = address();
    let (host, port) = address.rsplit_once(':').expect("host:port");
    // The server outlives test runs and pids come back: the time makes the name new.
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_nanos());
    let name = format!("slipway_test_{}_{nanos}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
    let output = Command::new("psql")
        .args(["-h", host, "-p", port, "-U", "postgres", "-d", "postgres", "-qc"])
        .arg(format!("CREATE DATABASE {name}"))
        .output()
        .expect("psql runs (install postgresql-client)");
    assert!(output.status.success(), "could not create {name}: {}", String::from_utf8_lossy(&output.stderr));
    format!("postgres://postgres@{address}/{name}")
}
