//! Prometheus metrics in the text exposition format: Boskos's `boskos_resources{type,state}`
//! gauge (every known state for every type, unknown states as `other`) and
//! `boskos_acquire_duration_seconds` histogram (time from a request id's first poll to its
//! lease, with Boskos's buckets), plus `slipway_lease_request_duration_seconds{path}` with
//! buckets fine enough to see milliseconds.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use slipway_core::metrics::{Histogram, REQUEST_BUCKETS, escape};

use super::Shared;

/// The states Boskos's gauge always reports.
pub const KNOWN_STATES: [&str; 7] = ["busy", "cleaning", "dirty", "free", "leased", "toBeDeleted", "tombstone"];
const ACQUIRE_BUCKETS: [f64; 7] = [1.0, 10.0, 100.0, 500.0, 1000.0, 1500.0, 2000.0];

/// The server's histograms.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    acquire: Mutex<BTreeMap<String, Histogram>>,
    requests: Mutex<BTreeMap<String, Histogram>>,
}

impl Metrics {
    /// A lease handed out `waited` nanoseconds after its request id was first seen.
    pub(crate) fn observe_acquire(&self, kind: &str, state: &str, dest: &str, has_request_id: bool, waited: i64) {
        let labels = format!(
            "type=\"{}\",state=\"{}\",dest=\"{}\",has_request_id=\"{has_request_id}\"",
            escape(kind),
            escape(state),
            escape(dest)
        );
        #[expect(clippy::cast_precision_loss, reason = "seconds for a histogram")]
        let seconds = waited as f64 / 1e9;
        if let Ok(mut acquire) = self.acquire.lock() {
            acquire.entry(labels).or_default().observe(&ACQUIRE_BUCKETS, seconds);
        }
    }

    /// One call to `path` that started at `started`.
    pub(crate) fn observe_request(&self, path: &str, started: Instant) {
        if let Ok(mut requests) = self.requests.lock() {
            requests
                .entry(format!("path=\"{path}\""))
                .or_default()
                .observe(&REQUEST_BUCKETS, started.elapsed().as_secs_f64());
        }
    }
}

/// `GET /metrics`.
pub(crate) async fn render(State(shared): State<Shared>) -> Response {
    let leases = match shared.store.leases(None).await {
        Ok(leases) => leases,
        Err(error) => {
            return super::api::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("could not count resources: {}", slipway_core::errors::chain(&error)),
            );
        }
    };
    let mut counts: BTreeMap<&str, BTreeMap<&str, u64>> = BTreeMap::new();
    for lease in &leases {
        let state = KNOWN_STATES.iter().find(|known| **known == lease.state).copied().unwrap_or("other");
        *counts.entry(lease.kind.as_str()).or_default().entry(state).or_default() += 1;
    }
    let mut out = String::new();
    out.push_str("# HELP boskos_resources Number of resources recorded in Boskos by type and state.\n");
    out.push_str("# TYPE boskos_resources gauge\n");
    for (kind, states) in &counts {
        for state in KNOWN_STATES.iter().chain(std::iter::once(&"other")) {
            let count = states.get(state).copied().unwrap_or(0);
            let _ = writeln!(out, "boskos_resources{{type=\"{}\",state=\"{state}\"}} {count}", escape(kind));
        }
    }
    out.push_str("# HELP boskos_acquire_duration_seconds Time from a request's first poll to its lease.\n");
    out.push_str("# TYPE boskos_acquire_duration_seconds histogram\n");
    if let Ok(acquire) = shared.metrics.acquire.lock() {
        for (labels, histogram) in acquire.iter() {
            histogram.write(&mut out, "boskos_acquire_duration_seconds", labels, &ACQUIRE_BUCKETS);
        }
    }
    out.push_str("# HELP slipway_lease_request_duration_seconds Time to answer an API call.\n");
    out.push_str("# TYPE slipway_lease_request_duration_seconds histogram\n");
    if let Ok(requests) = shared.metrics.requests.lock() {
        for (labels, histogram) in requests.iter() {
            histogram.write(&mut out, "slipway_lease_request_duration_seconds", labels, &REQUEST_BUCKETS);
        }
    }
    let mut response = (StatusCode::OK, out).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    response
}
