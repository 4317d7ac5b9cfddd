//! Matrix entries resolved from marker files served by a local HTTP server.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use slipway_env::markers::{MarkerError, MarkerSource};

/// Serves `/release/<name>.txt` from a fixed table and counts requests.
async fn serve() -> (String, Arc<AtomicUsize>, tokio::task::JoinHandle<()>) {
    async fn marker(
        State(hits): State<Arc<AtomicUsize>>,
        Path((directory, file)): Path<(String, String)>,
    ) -> (StatusCode, String) {
        hits.fetch_add(1, Ordering::SeqCst);
        match (directory.as_str(), file.as_str()) {
            ("release", "stable-1.30.txt") => (StatusCode::OK, "v1.30.14".to_owned()),
            ("release", "latest-1.32.txt") => (StatusCode::OK, "v1.32.0-rc.2".to_owned()),
            ("ci", "latest.txt") => (StatusCode::OK, "v1.35.0-alpha.0.123+0123456789abcd".to_owned()),
            ("release", "stable-9.99.txt") => (StatusCode::OK, "<html>".to_owned()),
            _ => (StatusCode::NOT_FOUND, "no such marker".to_owned()),
        }
    }
    let hits = Arc::new(AtomicUsize::new(0));
    let app = Router::new().route("/{directory}/{file}", get(marker)).with_state(hits.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serve");
    });
    (format!("http://{address}"), hits, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markers_resolve_and_are_cached() {
    let (base, hits, server) = serve().await;
    let cache = tempfile::tempdir().expect("cache");
    let source = MarkerSource::new(Some(&base), Some(cache.path().to_path_buf()));
    let client = reqwest::Client::new();

    let given = source.resolve(&client, "v1.31.2").await.expect("version");
    assert_eq!((given.version.as_str(), given.source.as_str()), ("v1.31.2", "given"));
    assert_eq!(hits.load(Ordering::SeqCst), 0, "a version needs no request");

    let stable = source.resolve(&client, "stable-1.30").await.expect("marker");
    assert_eq!(stable.version, "v1.30.14");
    assert_eq!(stable.source, format!("{base}/release/stable-1.30.txt"));
    assert_eq!(source.resolve(&client, "latest-1.32").await.expect("marker").version, "v1.32.0-rc.2");
    assert_eq!(
        source.resolve(&client, "ci/latest").await.expect("marker").version,
        "v1.35.0-alpha.0.123+0123456789abcd"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 3);

    let again = source.resolve(&client, "stable-1.30").await.expect("cached");
    assert!(again.source.ends_with("(cached)"), "{}", again.source);
    assert_eq!(hits.load(Ordering::SeqCst), 3, "a fresh cache entry is not fetched again");

    // With the server gone, a stale cache entry is still used, and says so.
    server.abort();
    let _ = server.await;
    let stale = MarkerSource { ttl: Duration::ZERO, ..source.clone() };
    let offline = stale.resolve(&client, "stable-1.30").await.expect("stale cache");
    assert_eq!(offline.version, "v1.30.14");
    assert!(offline.source.contains("unreachable now"), "{}", offline.source);
    let error = stale.resolve(&client, "stable-1.29").await.expect_err("never cached");
    assert!(matches!(error, MarkerError::Unreachable { .. }), "{error}");
    assert_eq!(error.exit_code(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_and_malformed_markers_are_errors() {
    let (base, _hits, _server) = serve().await;
    let source = MarkerSource::new(Some(&base), None);
    let client = reqwest::Client::new();
    let missing = source.resolve(&client, "stable-1.12").await.expect_err("404");
    assert!(
        matches!(missing, MarkerError::Missing { ref url } if url.ends_with("/release/stable-1.12.txt")),
        "{missing}"
    );
    assert_eq!(missing.exit_code(), 3);
    let garbage = source.resolve(&client, "stable-9.99").await.expect_err("not a version");
    assert!(matches!(garbage, MarkerError::NotAVersion { ref body, .. } if body == "<html>"), "{garbage}");
    let error = source.resolve(&client, "newest").await.expect_err("bad entry");
    assert_eq!(error.exit_code(), 2);
}
