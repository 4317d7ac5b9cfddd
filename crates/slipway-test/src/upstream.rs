//! A local HTTP server playing the upstreams of test environments: dl.k8s.io (version markers,
//! with or without a trailing newline, and a redirect as dl.k8s.io answers with) and the GitHub
//! releases API (`/repos/kubernetes-sigs/kind/releases/tags/<tag>` answering `{"tag_name",
//! "body"}` with `\r\n` line endings, as GitHub returns release notes).
//!
//! It runs on its own thread with its own runtime, so tests that run the binary as a process
//! (and synchronous tests) can use it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

#[derive(Default)]
struct Content {
    /// `release/stable-1.36.txt` to its body.
    files: BTreeMap<String, String>,
    /// kind tag to release-note body.
    releases: BTreeMap<String, String>,
    /// Delay every answer by this much (a slow upstream).
    delay: Duration,
}

/// The running server.
pub struct Upstream {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    content: Arc<Mutex<Content>>,
    requests: Arc<AtomicUsize>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Upstream {
    /// Stops the server and waits until its port is closed, so a test can count on it being
    /// unreachable.
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Upstream {
    /// Starts a server with no content.
    ///
    /// # Panics
    ///
    /// When no port can be bound.
    pub fn start() -> Upstream {
        let content = Arc::new(Mutex::new(Content::default()));
        let requests = Arc::new(AtomicUsize::new(0));
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let (ready, address) = std::sync::mpsc::channel();
        let state = (content.clone(), requests.clone());
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(async move {
                let app = Router::new()
                    .route("/repos/kubernetes-sigs/kind/releases/tags/{tag}", get(release))
                    .route("/redirect/{*path}", get(redirect))
                    .route("/{*path}", get(file))
                    .with_state(state);
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
                ready.send(listener.local_addr().expect("address")).expect("report the address");
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await;
            });
        });
        let address = address.recv().expect("the server starts");
        Upstream { url: format!("http://{address}"), content, requests, shutdown: Some(shutdown), thread: Some(thread) }
    }

    /// Serves `body` at `path` (`release/stable-1.36.txt`).
    pub fn file(&self, path: &str, body: &str) -> &Upstream {
        self.content.lock().expect("lock").files.insert(path.trim_start_matches('/').to_owned(), body.to_owned());
        self
    }

    /// Serves kind release `tag`'s notes (any line endings; served with `\r\n`).
    pub fn release(&self, tag: &str, notes: &str) -> &Upstream {
        let body = notes.replace("\r\n", "\n").replace('\n', "\r\n");
        self.content.lock().expect("lock").releases.insert(tag.to_owned(), body);
        self
    }

    /// Delays every answer.
    pub fn delay(&self, delay: Duration) -> &Upstream {
        self.content.lock().expect("lock").delay = delay;
        self
    }

    /// How many requests were answered.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

type Shared = (Arc<Mutex<Content>>, Arc<AtomicUsize>);

async fn pause(state: &Shared) {
    state.1.fetch_add(1, Ordering::SeqCst);
    let delay = state.0.lock().expect("lock").delay;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
}

async fn file(State(state): State<Shared>, Path(path): Path<String>) -> Response {
    pause(&state).await;
    match state.0.lock().expect("lock").files.get(&path) {
        Some(body) => ([(header::CONTENT_TYPE, "text/plain")], body.clone()).into_response(),
        None => (StatusCode::NOT_FOUND, "NoSuchKey").into_response(),
    }
}

async fn redirect(State(state): State<Shared>, Path(path): Path<String>) -> Response {
    pause(&state).await;
    (StatusCode::FOUND, [(header::LOCATION, format!("/{path}"))]).into_response()
}

async fn release(State(state): State<Shared>, Path(tag): Path<String>) -> Response {
    pause(&state).await;
    match state.0.lock().expect("lock").releases.get(&tag) {
        Some(body) => {
            let json = serde_json::json!({"tag_name": tag, "name": tag, "body": body});
            ([(header::CONTENT_TYPE, "application/json")], json.to_string()).into_response()
        }
        None => (StatusCode::NOT_FOUND, r#"{"message":"Not Found"}"#).into_response(),
    }
}
