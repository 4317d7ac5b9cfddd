//! A lease server on a free loopback port, over a fresh store, and calls to it.

use std::time::Duration;

use slipway_lease::server::{Options, Server};
use tokio_util::sync::CancellationToken;

/// Where the server keeps its state.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

/// A running server.
pub(crate) struct Harness {
    pub(crate) base: String,
    pub(crate) config: std::path::PathBuf,
    pub(crate) directory: tempfile::TempDir,
    pub(crate) database: String,
    http: reqwest::Client,
    stop: CancellationToken,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// An answer: status, body, content type.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: String,
    pub(crate) content_type: String,
}

impl Answer {
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|error| panic!("not JSON ({error}): {}", self.body))
    }
}

pub(crate) struct Settings {
    pub(crate) request_ttl: Duration,
    pub(crate) token: Option<String>,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings { request_ttl: Duration::from_secs(30), token: None }
    }
}

impl Harness {
    pub(crate) async fn start(backend: Backend, config: &str) -> Harness {
        Harness::start_with(backend, config, Settings::default()).await
    }

    pub(crate) async fn start_with(backend: Backend, config: &str, settings: Settings) -> Harness {
        let directory = tempfile::tempdir().expect("temporary directory");
        let database = match backend {
            Backend::Sqlite => format!("sqlite:{}", directory.path().join("leases.db").display()),
            Backend::Postgres => slipway_test::postgres::database(),
        };
        Harness::start_on(directory, database, config, settings).await
    }

    /// A server on `database` (another replica when a server already uses it).
    pub(crate) async fn start_on(
        directory: tempfile::TempDir,
        database: String,
        config: &str,
        settings: Settings,
    ) -> Harness {
        let path = directory.path().join("resources.yaml");
        fs_err::write(&path, config).expect("write the configuration");
        let mut harness = Harness {
            base: String::new(),
            config: path,
            directory,
            database,
            http: reqwest::Client::new(),
            stop: CancellationToken::new(),
            task: None,
        };
        harness.launch(settings).await;
        harness
    }

    async fn launch(&mut self, settings: Settings) {
        let store = slipway_store::Store::open(&self.database).await.expect("store");
        let config = slipway_lease::config::load(&self.config).expect("valid configuration");
        let options = Options {
            config_path: self.config.clone(),
            token: settings.token,
            request_ttl: settings.request_ttl,
            janitor_logs: self.directory.path().join("janitor"),
            log: slipway_lease::server::Log::default(),
        };
        let server = Server::new(store, config, options).await.expect("server");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        self.base = format!("http://{}", listener.local_addr().expect("address"));
        self.stop = CancellationToken::new();
        self.task = Some(tokio::spawn(server.serve(listener, self.stop.clone())));
    }

    /// Stops the server and starts another on the same store and configuration.
    pub(crate) async fn restart(&mut self, settings: Settings) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            task.await.expect("the server task ends").expect("the server ends cleanly");
        }
        self.launch(settings).await;
    }

    pub(crate) async fn call(&self, method: &str, path: &str, query: &[(&str, &str)], body: Option<&str>) -> Answer {
        let url = reqwest::Url::parse_with_params(&format!("{}{path}", self.base), query).expect("url");
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self.http.request(method, url);
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body.to_owned());
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        let content_type =
            response.headers().get("content-type").and_then(|value| value.to_str().ok()).unwrap_or_default().to_owned();
        Answer { status, body: response.text().await.expect("body"), content_type }
    }

    pub(crate) async fn post(&self, path: &str, query: &[(&str, &str)]) -> Answer {
        self.call("POST", path, query, None).await
    }

    pub(crate) async fn acquire(&self, kind: &str, state: &str, dest: &str, owner: &str) -> Answer {
        self.post("/acquire", &[("type", kind), ("state", state), ("dest", dest), ("owner", owner)]).await
    }

    pub(crate) async fn acquire_with_id(&self, kind: &str, owner: &str, id: &str) -> Answer {
        self.post(
            "/acquire",
            &[("type", kind), ("state", "free"), ("dest", "busy"), ("owner", owner), ("request_id", id)],
        )
        .await
    }

    pub(crate) async fn release(&self, name: &str, dest: &str, owner: &str) -> Answer {
        self.post("/release", &[("name", name), ("dest", dest), ("owner", owner)]).await
    }

    /// Every stored resource, by name.
    pub(crate) async fn resources(&self) -> Vec<slipway_store::leases::Lease> {
        let store = slipway_store::Store::open(&self.database).await.expect("store");
        store.leases(None).await.expect("leases")
    }

    /// Rewrites the configuration (the server notices the file changed).
    pub(crate) fn reconfigure(&self, config: &str) {
        // A new modification time, even on file systems with coarse timestamps.
        std::thread::sleep(Duration::from_millis(20));
        fs_err::write(&self.config, config).expect("rewrite the configuration");
    }

    /// Waits until `check` holds on the stored resources.
    pub(crate) async fn eventually(&self, what: &str, check: impl Fn(&[slipway_store::leases::Lease]) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            let resources = self.resources().await;
            if check(&resources) {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "{what}: {resources:#?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Runs one async test body on both backends.
macro_rules! on_both {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                ($body)(crate::harness::Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                ($body)(crate::harness::Backend::Postgres).await;
            }
        }
    };
}
pub(crate) use on_both;
