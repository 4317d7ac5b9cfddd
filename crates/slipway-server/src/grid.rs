//! The grid (TestGrid's view): every job with results, and one job's tests × builds, drawn by
//! `slipway-results` as `results grid --html` draws it, with its filter script and style sheet
//! served as files.

use std::fmt::Write;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use slipway_results::{BuildResults, grid};

use crate::html::{self, escape, url_component};
use crate::{Shared, store_error};

/// Builds a grid shows unless asked.
const DEFAULT_BUILDS: u32 = 30;
/// The most builds a grid shows.
const MAX_BUILDS: u32 = 500;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct GridQuery {
    builds: Option<u32>,
}

/// `GET /grid`: the jobs with results.
pub(crate) async fn jobs(State(shared): State<Shared>) -> Response {
    let jobs = match shared.store.result_jobs().await {
        Ok(jobs) => jobs,
        Err(error) => return store_error(&error),
    };
    let mut body = String::from("<h1>Test results</h1>\n");
    if jobs.is_empty() {
        body.push_str(
            "<p class=\"note\">No job has results yet: <code>slipway results ingest</code> reads JUnit files.</p>\n",
        );
    } else {
        body.push_str("<ul class=\"jobs\">\n");
        for job in &jobs {
            let _ = writeln!(body, "<li><a href=\"/grid/{}\">{}</a></li>", escape(&url_component(job)), escape(job));
        }
        body.push_str("</ul>\n");
    }
    html::page("Test results", &body, None)
}

/// `GET /grid/{job}?builds=N`.
pub(crate) async fn job(
    State(shared): State<Shared>,
    Path(job): Path<String>,
    Query(query): Query<GridQuery>,
) -> Response {
    let limit = query.builds.unwrap_or(DEFAULT_BUILDS).clamp(1, MAX_BUILDS);
    let builds = match shared.store.builds(&job, limit).await {
        Ok(builds) => builds,
        Err(error) => return store_error(&error),
    };
    if builds.is_empty() {
        return crate::pages::not_found_of(&format!("no results for job `{job}`"));
    }
    let mut history = Vec::with_capacity(builds.len());
    for build in builds {
        match shared.store.build_tests(&job, &build.build_id).await {
            Ok(tests) => history.push(BuildResults { build, tests }),
            Err(error) => return store_error(&error),
        }
    }
    let view = grid::build(&job, &history);
    let head = "<link rel=\"stylesheet\" href=\"/grid.css\"><script src=\"/grid.js\" defer></script>";
    html::page_with(&format!("{job}: test results"), &slipway_results::html::body(&view), None, head)
}

/// `GET /grid.js`: the grid's filter.
pub(crate) async fn script() -> Response {
    file(slipway_results::html::SCRIPT, "text/javascript; charset=utf-8")
}

/// `GET /grid.css`.
pub(crate) async fn style() -> Response {
    file(slipway_results::html::STYLE, "text/css; charset=utf-8")
}

fn file(content: &'static str, kind: &'static str) -> Response {
    let mut response = content.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=3600"));
    response
}
