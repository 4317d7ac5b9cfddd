//! `slipway lease serve`: the Boskos API over the slipway store, with the reaper, the janitor
//! and configuration sync running inside the server.
//!
//! Every replica is stateless apart from the configuration it read: resources and the request
//! queue live in the store, so several servers on one PostgreSQL database behind one address
//! give the same answers as one.

mod api;
mod background;
pub mod metrics;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{any, get};
use slipway_store::Store;
use slipway_store::leases::Lifespans;
use tokio_util::sync::CancellationToken;

use crate::config::Config;

/// How long a queued request id keeps its place without a poll (Boskos's `--request-ttl`).
pub const REQUEST_TTL: Duration = Duration::from_secs(30);
/// The largest request body taken (userdata of `/update`).
pub const BODY_LIMIT: usize = 1024 * 1024;
/// The paths of the Boskos API (and slipway's listing), as [`Server::boskos_router`] serves them.
pub const BOSKOS_PATHS: [&str; 7] =
    ["/acquire", "/acquirebystate", "/release", "/update", "/reset", "/metric", crate::LIST_PATH];

/// How a server runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// `resources.yaml`; re-read when it changes and on SIGHUP.
    pub config_path: PathBuf,
    /// A bearer token every mutating call must carry; required on a non-loopback address.
    pub token: Option<String>,
    pub request_ttl: Duration,
    /// Where the janitor keeps each cleanup's output.
    pub janitor_logs: PathBuf,
    /// Hears what the server does on its own: reloads, reaped leases, cleanups, failures.
    pub log: Log,
}

/// Where the server's own news goes, one line at a time (the binary prints it on stderr).
#[derive(Clone)]
pub struct Log(Arc<dyn Fn(&str) + Send + Sync>);

impl Log {
    pub fn new(say: impl Fn(&str) + Send + Sync + 'static) -> Log {
        Log(Arc::new(say))
    }

    pub(crate) fn say(&self, line: &str) {
        (self.0)(line);
    }
}

impl Default for Log {
    /// Says nothing.
    fn default() -> Log {
        Log::new(|_| {})
    }
}

impl std::fmt::Debug for Log {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("Log")
    }
}

/// What every handler shares.
#[derive(Clone)]
pub(crate) struct Shared {
    pub(crate) store: Store,
    config: Arc<RwLock<Arc<Config>>>,
    pub(crate) request_ttl: Duration,
    pub(crate) metrics: Arc<metrics::Metrics>,
    /// Asks the background loop for a configuration sync (after a release or a reset).
    pub(crate) resync: Arc<tokio::sync::Notify>,
    token: Option<Arc<str>>,
    ready: Arc<std::sync::atomic::AtomicBool>,
    pub(crate) log: Log,
}

impl Shared {
    pub(crate) fn config(&self) -> Arc<Config> {
        self.config.read().map_or_else(|poisoned| poisoned.into_inner().clone(), |config| config.clone())
    }

    fn set_config(&self, config: Config) {
        match self.config.write() {
            Ok(mut current) => *current = Arc::new(config),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(config),
        }
    }
}

/// A server ready to serve: its configuration read and applied once.
pub struct Server {
    shared: Shared,
    options: Options,
}

impl Server {
    /// Takes `config` (already validated) and applies it to the store.
    pub async fn new(store: Store, config: Config, options: Options) -> Result<Server, slipway_store::Error> {
        let shared = Shared {
            store,
            config: Arc::new(RwLock::new(Arc::new(config))),
            request_ttl: options.request_ttl,
            metrics: Arc::new(metrics::Metrics::default()),
            resync: Arc::new(tokio::sync::Notify::new()),
            token: options.token.as_deref().map(Arc::from),
            ready: Arc::default(),
            log: options.log.clone(),
        };
        background::sync(&shared).await?;
        Ok(Server { shared, options })
    }

    /// The HTTP routes: the Boskos API, health and Prometheus metrics.
    pub fn router(&self) -> Router {
        let shared = self.shared.clone();
        Router::new()
            .route("/healthz", get(|| async { "OK" }))
            .route("/healthz/ready", get(ready))
            .route("/metrics", get(metrics::render))
            .fallback(api::default)
            .with_state(shared)
            .merge(self.boskos_router())
    }

    /// Only the Boskos API's paths ([`BOSKOS_PATHS`]), with their token check: for a server
    /// that answers other paths too (`slipway serve`).
    pub fn boskos_router(&self) -> Router {
        let shared = self.shared.clone();
        Router::new()
            .route("/acquire", any(api::acquire))
            .route("/acquirebystate", any(api::acquire_by_state))
            .route("/release", any(api::release))
            .route("/update", any(api::update))
            .route("/reset", any(api::reset))
            .route("/metric", any(api::metric))
            .route(crate::LIST_PATH, get(api::list))
            .route_layer(middleware::from_fn_with_state(shared.clone(), authorize))
            .layer(DefaultBodyLimit::max(BODY_LIMIT))
            .with_state(shared)
    }

    /// Starts the reaper, janitor and configuration reload, until `stop` is cancelled; the
    /// server then answers as ready. For a server that serves [`Server::boskos_router`] itself.
    pub fn start_background(&self, stop: CancellationToken) -> tokio::task::JoinHandle<()> {
        let background = tokio::spawn(background::run(self.shared.clone(), self.options.clone(), stop));
        self.shared.ready.store(true, std::sync::atomic::Ordering::SeqCst);
        background
    }

    /// Only `/metrics` and the health checks, for a separate metrics address.
    pub fn metrics_router(&self) -> Router {
        Router::new()
            .route("/healthz", get(|| async { "OK" }))
            .route("/healthz/ready", get(ready))
            .route("/metrics", get(metrics::render))
            .with_state(self.shared.clone())
    }

    /// Serves on `listener` until `stop` is cancelled, with the reaper, janitor and
    /// configuration reload running beside.
    pub async fn serve(self, listener: tokio::net::TcpListener, stop: CancellationToken) -> std::io::Result<()> {
        let router = self.router();
        let background = self.start_background(stop.clone());
        let served = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(stop.clone().cancelled_owned())
            .await;
        stop.cancel();
        let _ = background.await;
        served
    }
}

async fn ready(State(shared): State<Shared>) -> (StatusCode, &'static str) {
    if shared.ready.load(std::sync::atomic::Ordering::SeqCst) {
        (StatusCode::OK, "OK")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "starting")
    }
}

/// With a token configured, every call that changes something (a POST) must carry it, as a
/// bearer token or as the password of Basic authentication (the Go client's way).
async fn authorize(State(shared): State<Shared>, request: Request, next: Next) -> Response {
    let Some(token) = &shared.token else {
        return next.run(request).await;
    };
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let presented =
        request.headers().get(header::AUTHORIZATION).and_then(|value| value.to_str().ok()).and_then(|value| {
            if let Some(bearer) = value.strip_prefix("Bearer ") {
                Some(bearer.trim().to_owned())
            } else {
                let basic = value.strip_prefix("Basic ")?;
                let decoded = base64_decode(basic.trim())?;
                let text = String::from_utf8(decoded).ok()?;
                text.split_once(':').map(|(_, password)| password.trim_end().to_owned())
            }
        });
    if presented.as_deref().is_some_and(|presented| constant_time_eq(presented.as_bytes(), token.as_bytes())) {
        next.run(request).await
    } else {
        api::error(
            StatusCode::UNAUTHORIZED,
            "unauthorized: this server needs its token (Authorization: Bearer TOKEN, or Basic with the token as password)",
        )
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |difference, (x, y)| difference | (x ^ y)) == 0
}

/// Standard base64 (with or without padding).
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for byte in text.bytes().filter(|byte| *byte != b'=') {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(value);
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push(u8::try_from((bits >> count) & 0xff).ok()?);
        }
    }
    Some(out)
}

/// Now, in nanoseconds since the epoch.
pub(crate) fn now_nanos() -> i64 {
    i64::try_from(jiff::Timestamp::now().as_nanosecond()).unwrap_or(i64::MAX)
}

/// A name for a resource a dynamic type creates: UUID-shaped, as Boskos names them.
pub(crate) fn dynamic_name() -> String {
    use std::hash::{BuildHasher, Hasher};
    let random = |salt: u64| {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(salt);
        hasher.write_i64(now_nanos());
        hasher.finish()
    };
    let (high, low) = (random(1), random(2));
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        high >> 32,
        (high >> 16) & 0xffff,
        high & 0xfff,
        0x8000 | ((low >> 48) & 0x3fff),
        low & 0xffff_ffff_ffff
    )
}

/// The dynamic types of `config` with their lifespans, for releases.
pub(crate) fn lifespans(config: &Config) -> Lifespans {
    config
        .entries
        .iter()
        .filter(|entry| entry.is_dynamic())
        .map(|entry| {
            let lifespan = entry.lifespan.map(|lifespan| i64::try_from(lifespan.as_nanos()).unwrap_or(i64::MAX));
            (entry.kind.clone(), lifespan)
        })
        .collect()
}

/// Whether serving on `address` needs a token: anything but loopback does.
pub fn needs_token(address: &SocketAddr) -> bool {
    !address.ip().is_loopback()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_authentication_is_decoded() {
        assert_eq!(base64_decode("dXNlcjpzM2NyZXQ="), Some(b"user:s3cret".to_vec()));
        assert_eq!(base64_decode("dXNlcjpzM2NyZXQ"), Some(b"user:s3cret".to_vec()));
        assert_eq!(base64_decode("not base64!"), None);
    }

    #[test]
    fn dynamic_names_are_dns_subdomains_and_differ() {
        let (a, b) = (dynamic_name(), dynamic_name());
        assert!(crate::config::is_dns_subdomain(&a), "{a}");
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
    }
}
