//! `GET /metrics`: Prometheus's text format. Runs by job and state and lease resources by type
//! and state (from the store, so every replica reports the same), and this server's HTTP
//! requests by route and status class with their latencies.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use slipway_core::metrics::{Histogram, REQUEST_BUCKETS, escape};

use crate::{Shared, store_error};

/// Run durations, seconds: from a second to four hours.
const RUN_BUCKETS: [f64; 12] = [1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 14400.0];
/// How late a scheduled run started after its tick, seconds.
const LAG_BUCKETS: [f64; 10] = [0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0];

/// Request latencies by route and status class; the durations of the runs this process ran,
/// by job and state, and how late their ticks started them.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), Histogram>>,
    runs: Mutex<BTreeMap<(String, String), Histogram>>,
    lag: Mutex<Histogram>,
}

impl Metrics {
    /// A run this process ran has ended: its duration by job (a matrix job counts as one) and
    /// state and, for a scheduled run, how long after its tick it started.
    pub fn observe_run(&self, run: &slipway_store::Run) {
        if let (Some(started), Some(finished)) = (run.started_at, run.finished_at)
            && let Ok(mut runs) = self.runs.lock()
        {
            #[expect(clippy::cast_precision_loss, reason = "seconds of a run")]
            let seconds = (finished - started).max(0) as f64;
            runs.entry((run.base_job.clone(), run.state.as_str().to_owned()))
                .or_default()
                .observe(&RUN_BUCKETS, seconds);
        }
        if let (Some(due), Some(started)) = (run.due_at, run.started_at)
            && let Ok(mut lag) = self.lag.lock()
        {
            #[expect(clippy::cast_precision_loss, reason = "seconds of lag")]
            let seconds = (started - due).max(0) as f64;
            lag.observe(&LAG_BUCKETS, seconds);
        }
    }

    /// A request to `route` answered with `status`, started at `started`.
    pub(crate) fn observe_request(&self, route: &str, status: u16, started: Instant) {
        if let Ok(mut requests) = self.requests.lock() {
            requests
                .entry((route.to_owned(), status / 100))
                .or_default()
                .observe(&REQUEST_BUCKETS, started.elapsed().as_secs_f64());
        }
    }
}

/// `GET /metrics`.
pub(crate) async fn render(State(shared): State<Shared>) -> Response {
    let counts = match shared.store.run_counts().await {
        Ok(counts) => counts,
        Err(error) => return store_error(&error),
    };
    let mut out = String::new();
    out.push_str("# HELP slipway_runs Runs recorded in the store, by job and state.\n");
    out.push_str("# TYPE slipway_runs gauge\n");
    let mut counts: Vec<_> = counts.iter().map(|(job, state, runs)| (job.as_str(), state.as_str(), runs)).collect();
    counts.sort_unstable();
    for (job, state, runs) in counts {
        let _ = writeln!(out, "slipway_runs{{job=\"{}\",state=\"{state}\"}} {runs}", escape(job));
    }
    let leases = match shared.store.leases(None).await {
        Ok(leases) => leases,
        Err(error) => return store_error(&error),
    };
    let mut held: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    for lease in &leases {
        *held.entry((lease.kind.as_str(), lease.state.as_str())).or_default() += 1;
    }
    out.push_str("# HELP slipway_leases Lease resources by type and state.\n");
    out.push_str("# TYPE slipway_leases gauge\n");
    for ((kind, state), count) in held {
        let _ = writeln!(out, "slipway_leases{{type=\"{}\",state=\"{}\"}} {count}", escape(kind), escape(state));
    }
    out.push_str("# HELP slipway_http_request_duration_seconds HTTP requests by route and status class.\n");
    out.push_str("# TYPE slipway_http_request_duration_seconds histogram\n");
    if let Ok(requests) = shared.metrics.requests.lock() {
        for ((route, class), histogram) in requests.iter() {
            let labels = format!("route=\"{}\",code=\"{class}xx\"", escape(route));
            histogram.write(&mut out, "slipway_http_request_duration_seconds", &labels, &REQUEST_BUCKETS);
        }
    }
    out.push_str("# HELP slipway_run_duration_seconds Runs this process ran, by job and how they ended.\n");
    out.push_str("# TYPE slipway_run_duration_seconds histogram\n");
    if let Ok(runs) = shared.metrics.runs.lock() {
        for ((job, state), histogram) in runs.iter() {
            let labels = format!("job=\"{}\",state=\"{}\"", escape(job), escape(state));
            histogram.write(&mut out, "slipway_run_duration_seconds", &labels, &RUN_BUCKETS);
        }
    }
    out.push_str(
        "# HELP slipway_scheduler_lag_seconds How long after its tick each scheduled run this process ran started.\n",
    );
    out.push_str("# TYPE slipway_scheduler_lag_seconds histogram\n");
    if let Ok(lag) = shared.metrics.lag.lock() {
        lag.write(&mut out, "slipway_scheduler_lag_seconds", "", &LAG_BUCKETS);
    }
    let mut response = out.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    response
}
