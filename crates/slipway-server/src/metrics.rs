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

/// Request latencies by route and status class.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), Histogram>>,
}

impl Metrics {
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
    let mut response = out.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    response
}
