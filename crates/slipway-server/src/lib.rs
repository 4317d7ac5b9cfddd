//! slipway's web UI and JSON API, served by `slipway serve`.
//!
//! Server-rendered HTML with no script at all, a strict Content Security Policy, and every
//! value escaped (run descriptions and log lines are written by jobs, so they are treated as
//! hostile). The JSON API under `/api/v1/` returns what the pages show, and describes itself
//! at `/api/v1/openapi.json`. Reads are open; the server holds no state of its own beyond its
//! metrics: everything comes from the store, so replicas on one database show the same.
//!
//! Routes: [`ROUTES`].

mod abort;
mod api;
mod artifacts;
mod auth;
mod clusters;
mod dashboards;
mod grid;
mod html;
mod jobs;
mod leases;
mod log;
mod metrics;
mod page_cache;
mod pages;
mod releases;

pub use abort::ABORTING_SCHEMA;
pub use api::{OPENAPI, RUN_SCHEMA, RUNS_SCHEMA, TESTS_SCHEMA};
pub use artifacts::ARTIFACTS_SCHEMA;
pub use clusters::CLUSTERS_SCHEMA;
pub use dashboards::DASHBOARDS_SCHEMA;
pub use jobs::{Actions, JOBS_SCHEMA, JobInfo};
pub use leases::LEASES_SCHEMA;
pub use log::LOG_SCHEMA;
pub use metrics::Metrics;
pub use releases::{Answer, MarkerInfo, MarkerRefusal, RELEASES_SCHEMA, Releases};

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use slipway_store::Store;
use tokio_util::sync::CancellationToken;

/// Every route the server answers, as `(path, what it is)`; the OpenAPI document lists those
/// under `/api/v1/` (a test keeps the two in step).
pub const ROUTES: [(&str, &str); 36] = [
    ("/", "redirects to /runs"),
    ("/runs", "every run, newest first: ?job=, ?state=, ?trigger=, ?matrix=, ?page="),
    ("/runs/{id}", "one run: its metadata and the tail of its log"),
    ("/runs/{id}/log", "a run's whole log, as text"),
    ("/runs/{id}/artifacts/{*path}", "one of a run's files, streamed: ?download=1 for an attachment"),
    ("/grid", "the jobs with test results"),
    ("/grid/{job}", "a job's tests × builds: ?builds="),
    ("/builds/{job}/{build}", "the run of a job's build, when slipway ran it"),
    ("/dashboards", "the dashboards: tabs of jobs"),
    ("/dashboards/{name}", "a dashboard: each tab's status, open alerts and grid: ?builds="),
    ("/api/v1/dashboards", "the dashboards as JSON"),
    ("/api/v1/dashboards/{name}", "a dashboard's tabs with status and alerts as JSON: ?builds="),
    ("/clusters", "failures clustered by their text: ?days=, ?job="),
    ("/api/v1/clusters", "the clusters as JSON"),
    ("/jobs", "the jobs: schedule, next run, matrix, newest run, and run now"),
    ("/api/v1/jobs", "the jobs as JSON"),
    ("/login", "sign in with the token, for changes from the UI"),
    ("/releases", "the release ledger audited, and the version markers: ?registries=1"),
    ("/api/v1/releases", "the audit and the markers as JSON: ?registries=1"),
    ("/leases", "the lease server's resources: type, state, owner, for how long"),
    ("/api/v1/leases", "the resources as JSON (never their userdata)"),
    ("/style.css", "the pages' style sheet"),
    ("/favicon.svg", "the pages' icon"),
    ("/favicon.ico", "the icon, where a browser looks for it on a page that is not HTML (a log)"),
    ("/grid.css", "the grid's style sheet"),
    ("/grid.js", "the grid's filter"),
    ("/api/v1/runs", "runs as JSON"),
    ("/api/v1/runs/{id}", "one run as JSON"),
    ("/api/v1/runs/{id}/log", "what a run's log holds from a byte on: ?from="),
    ("/api/v1/runs/{id}/tests", "a run's JUnit results"),
    ("/api/v1/runs/{id}/artifacts", "a run's files, with sizes and links"),
    ("/live.js", "the run page's live tail"),
    ("/api/v1/openapi.json", "this API's OpenAPI document"),
    ("/healthz", "alive"),
    ("/healthz/ready", "ready: the store answers"),
    ("/metrics", "Prometheus metrics"),
];

/// The routes that change something (POST), each needing the sign-in or the token.
pub const CHANGES: [(&str, &str); 7] = [
    ("/jobs/{name}/run", "run a job now (a form: the session and its CSRF field)"),
    ("/api/v1/jobs/{name}/run", "run a job now (the bearer token)"),
    ("/runs/{id}/abort", "abort a running run (a form)"),
    ("/leases/{name}/release", "take a held resource back, to dirty or free (a form)"),
    ("/api/v1/markers/{name}", "publish a version marker (the bearer token)"),
    ("/api/v1/runs/{id}/abort", "abort a running run (the bearer token)"),
    ("/login", "the token for a session cookie"),
];

/// The Content Security Policy of every answer: nothing but this server's own files (no
/// inline script or style anywhere).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Whether serving on `address` needs a token: anything but loopback.
pub fn needs_token(address: &SocketAddr) -> bool {
    !address.ip().is_loopback()
}

#[derive(Clone)]
pub(crate) struct Shared {
    pub(crate) store: Store,
    pub(crate) metrics: Arc<metrics::Metrics>,
    pub(crate) auth: auth::Auth,
    pub(crate) actions: jobs::SharedActions,
    pub(crate) dashboards: dashboards::SharedDashboards,
    pub(crate) releases: Option<Arc<dyn Releases>>,
    pub(crate) pages: Arc<page_cache::PageCache>,
    ready: Arc<AtomicBool>,
}

/// The server: the store it shows.
pub struct Server {
    shared: Shared,
    /// Routes served beside the UI's (the lease server's Boskos API).
    more: Option<Router>,
}

impl Server {
    /// A server of `store`'s runs and results; changes need `token` when there is one.
    pub fn new(store: Store, token: Option<String>) -> Server {
        let auth = auth::Auth::new(token);
        let shared = Shared {
            store,
            metrics: Arc::default(),
            auth,
            actions: None,
            dashboards: Arc::default(),
            releases: None,
            pages: Arc::default(),
            ready: Arc::default(),
        };
        Server { shared, more: None }
    }

    /// With the jobs and "run now".
    #[must_use]
    pub fn with_actions(mut self, actions: Arc<dyn Actions>) -> Server {
        self.shared.actions = Some(actions);
        self
    }

    /// Reporting `metrics`, which what runs beside the server also feeds (the runs it ran).
    #[must_use]
    pub fn with_metrics(mut self, metrics: Arc<metrics::Metrics>) -> Server {
        self.shared.metrics = metrics;
        self
    }

    /// With the release ledger and the markers.
    #[must_use]
    pub fn with_releases(mut self, releases: Arc<dyn Releases>) -> Server {
        self.shared.releases = Some(releases);
        self
    }

    /// With these dashboards (`results.dashboards` and jobs' TestGrid annotations).
    #[must_use]
    pub fn with_dashboards(self, dashboards: Vec<slipway_results::dashboard::Dashboard>) -> Server {
        self.dashboards().replace(dashboards);
        self
    }

    /// The handle that replaces the dashboards while the server runs (when slipway.yaml
    /// changes).
    pub fn dashboards(&self) -> DashboardsHandle {
        DashboardsHandle(self.shared.dashboards.clone())
    }

    /// Also serving `routes` (paths none of [`ROUTES`] has: the lease server's Boskos API),
    /// under the same headers and request metrics.
    #[must_use]
    pub fn with_routes(mut self, routes: Router) -> Server {
        self.more = Some(routes);
        self
    }

    /// Every route of [`ROUTES`].
    pub fn router(&self) -> Router {
        Router::new()
            .route("/", get(|| async { Redirect::to("/runs") }))
            .route("/runs", get(pages::runs))
            .route("/runs/{id}", get(pages::run))
            .route("/runs/{id}/log", get(log::whole))
            .route("/runs/{id}/artifacts/{*path}", get(artifacts::download))
            .route("/api/v1/runs/{id}/tests", get(api::tests))
            .route("/api/v1/runs/{id}/artifacts", get(artifacts::api))
            .route("/grid", get(grid::jobs))
            .route("/grid/{job}", get(grid::job))
            .route("/builds/{job}/{build}", get(pages::build))
            .route("/dashboards", get(dashboards::list))
            .route("/dashboards/{name}", get(dashboards::page))
            .route("/api/v1/dashboards", get(dashboards::api_list))
            .route("/api/v1/dashboards/{name}", get(dashboards::api))
            .route("/clusters", get(clusters::page))
            .route("/api/v1/clusters", get(clusters::api))
            .route("/jobs", get(jobs::page))
            .route("/jobs/{name}/run", post(jobs::run_form))
            .route("/api/v1/jobs", get(jobs::api))
            .route("/api/v1/jobs/{name}/run", post(jobs::run_api))
            .route("/runs/{id}/abort", post(abort::form))
            .route("/api/v1/runs/{id}/abort", post(abort::api))
            .route("/login", get(jobs::login_page).post(jobs::login))
            .route("/releases", get(releases::page))
            .route("/api/v1/releases", get(releases::api))
            .route("/api/v1/markers/{name}", post(releases::publish))
            .route("/leases", get(leases::page))
            .route("/leases/{name}/release", post(leases::release))
            .route("/api/v1/leases", get(leases::api))
            .route("/style.css", get(html::style))
            .route("/favicon.svg", get(html::icon))
            .route("/favicon.ico", get(html::icon))
            .route("/grid.css", get(grid::style))
            .route("/grid.js", get(grid::script))
            .route("/api/v1/runs", get(api::runs))
            .route("/api/v1/runs/{id}", get(api::run))
            .route("/api/v1/runs/{id}/log", get(log::more))
            .route("/live.js", get(log::script))
            .route("/api/v1/openapi.json", get(api::openapi))
            .route("/healthz", get(|| async { "OK" }))
            .route("/healthz/ready", get(ready))
            .route("/metrics", get(metrics::render))
            .fallback(pages::not_found)
            .with_state(self.shared.clone())
            .merge(self.more.clone().unwrap_or_default())
            .layer(middleware::from_fn_with_state(self.shared.clone(), headers_and_metrics))
    }

    /// Serves on `listener` until `stop` is cancelled; running requests finish first.
    pub async fn serve(self, listener: tokio::net::TcpListener, stop: CancellationToken) -> std::io::Result<()> {
        let router = self.router();
        self.shared.ready.store(true, Ordering::SeqCst);
        axum::serve(listener, router).with_graceful_shutdown(stop.cancelled_owned()).await
    }
}

/// Replaces the dashboards a running server shows.
#[derive(Clone)]
pub struct DashboardsHandle(dashboards::SharedDashboards);

impl DashboardsHandle {
    pub fn replace(&self, dashboards: Vec<slipway_results::dashboard::Dashboard>) {
        let dashboards = Arc::new(dashboards);
        match self.0.write() {
            Ok(mut current) => *current = dashboards,
            Err(poisoned) => *poisoned.into_inner() = dashboards,
        }
    }
}

async fn ready(State(shared): State<Shared>) -> (StatusCode, &'static str) {
    if !shared.ready.load(Ordering::SeqCst) {
        return (StatusCode::SERVICE_UNAVAILABLE, "starting");
    }
    match shared.store.ping().await {
        Ok(()) => (StatusCode::OK, "OK"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "the store does not answer"),
    }
}

/// Every answer gets the security headers; every request is timed by its route; every error
/// of the API is JSON.
async fn headers_and_metrics(State(shared): State<Shared>, request: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
    let is_api = request.uri().path().starts_with("/api/");
    let mut response = next.run(request).await;
    if is_api {
        response = api::json_error(response).await;
    }
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // `same-origin`, not `no-referrer`: with no-referrer a browser sends `Origin: null` on this
    // server's own forms; other sites still get no referrer.
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    shared.metrics.observe_request(&route, response.status().as_u16(), started);
    response
}

/// An answer for a store that failed: 503, with what failed.
pub(crate) fn store_error(error: &slipway_store::Error) -> Response {
    (StatusCode::SERVICE_UNAVAILABLE, format!("the store failed: {}", slipway_core::errors::chain(error)))
        .into_response()
}
