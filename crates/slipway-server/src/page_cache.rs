//! Big pages (grids, dashboards) made once per change of their results and kept gzipped: a
//! 300 × 100 grid is a 4.8 MB page from 30,000 stored results, too much to make for each
//! viewer, and 250 KB gzipped.
//!
//! An entry is keyed by its path and query and stamped with what its results were when it was
//! made ([`slipway_store::Store::results_stamp`] of each job on it); a request whose stamp
//! differs makes the page again. Entries also expire after [`MAX_AGE`] (a build re-ingested
//! within the same second keeps its stamp), and at most [`MAX_ENTRIES`] are kept.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// How long an entry is trusted at most.
const MAX_AGE: Duration = Duration::from_secs(60);
/// How many pages are kept.
const MAX_ENTRIES: usize = 64;

/// What a page was made from: per job, its builds and newest ingestion.
pub(crate) type Stamp = Vec<(i64, i64)>;

struct Entry {
    stamp: Stamp,
    made: Instant,
    html: Bytes,
    gzip: Bytes,
}

/// The cached pages of one server.
#[derive(Default)]
pub(crate) struct PageCache {
    entries: Mutex<HashMap<String, Entry>>,
}

impl PageCache {
    /// The page under `key` when it was made from `stamp` and is fresh: its HTML and gzip.
    pub(crate) fn get(&self, key: &str, stamp: &Stamp) -> Option<(Bytes, Bytes)> {
        let entries = self.entries.lock().ok()?;
        let entry = entries.get(key)?;
        (entry.stamp == *stamp && entry.made.elapsed() < MAX_AGE).then(|| (entry.html.clone(), entry.gzip.clone()))
    }

    /// Keeps `html` under `key`, made from `stamp`; returns it and its gzip.
    pub(crate) fn put(&self, key: &str, stamp: Stamp, html: String) -> (Bytes, Bytes) {
        let html = Bytes::from(html);
        let gzip = Bytes::from(gzip(&html));
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES && !entries.contains_key(key) {
                let oldest = entries.iter().min_by_key(|(_, entry)| entry.made).map(|(key, _)| key.clone());
                if let Some(oldest) = oldest {
                    entries.remove(&oldest);
                }
            }
            entries
                .insert(key.to_owned(), Entry { stamp, made: Instant::now(), html: html.clone(), gzip: gzip.clone() });
        }
        (html, gzip)
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::with_capacity(bytes.len() / 16), flate2::Compression::fast());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

/// The page as the request accepts it: gzipped when it says it can take gzip.
pub(crate) fn respond(request: &HeaderMap, html: Bytes, gzip: Bytes) -> Response {
    let accepts_gzip = request
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or_default().trim();
            let refused = parts.any(|parameter| matches!(parameter.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
            name.eq_ignore_ascii_case("gzip") && !refused
        });
    let mut response = if accepts_gzip && !gzip.is_empty() { gzip.into_response() } else { html.into_response() };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if accepts_gzip {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_kept_for_its_stamp_only() {
        let cache = PageCache::default();
        let (html, gzip) = cache.put("/grid/unit", vec![(3, 100)], "<p>grid</p>".repeat(100));
        assert!(gzip.len() < html.len() / 4, "it compresses");
        assert!(cache.get("/grid/unit", &vec![(3, 100)]).is_some());
        assert!(cache.get("/grid/unit", &vec![(4, 101)]).is_none(), "new results make it again");
        assert!(cache.get("/grid/other", &vec![(3, 100)]).is_none());
        for index in 0..MAX_ENTRIES + 5 {
            cache.put(&format!("/grid/{index}"), Vec::new(), String::new());
        }
        assert!(cache.entries.lock().expect("lock").len() <= MAX_ENTRIES, "bounded");
    }

    #[test]
    fn gzip_only_when_the_request_takes_it() {
        let mut takes = HeaderMap::new();
        takes.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("br, gzip;q=0.8"));
        let response = respond(&takes, Bytes::from_static(b"html"), Bytes::from_static(b"gz"));
        assert_eq!(response.headers()[header::CONTENT_ENCODING], "gzip");
        let mut refuses = HeaderMap::new();
        refuses.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip;q=0"));
        let response = respond(&refuses, Bytes::from_static(b"html"), Bytes::from_static(b"gz"));
        assert!(!response.headers().contains_key(header::CONTENT_ENCODING));
        let response = respond(&HeaderMap::new(), Bytes::from_static(b"html"), Bytes::from_static(b"gz"));
        assert!(!response.headers().contains_key(header::CONTENT_ENCODING));
    }
}
