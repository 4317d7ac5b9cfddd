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

/// The head of a page with grids: their style sheet and filter.
pub(crate) const HEAD: &str = "<link rel=\"stylesheet\" href=\"/grid.css\"><script src=\"/grid.js\" defer></script>";

impl GridQuery {
    pub(crate) fn limit(&self) -> u32 {
        self.builds.unwrap_or(DEFAULT_BUILDS).clamp(1, MAX_BUILDS)
    }
}

/// `job`'s grid of its newest `limit` builds, each column linking to its run's page (or to
/// its evidence, for results slipway did not run); `None` when the job has no results.
pub(crate) async fn grid_of(
    store: &slipway_store::Store,
    job: &str,
    limit: u32,
) -> Result<Option<grid::Grid>, slipway_store::Error> {
    let builds = store.builds(job, limit).await?;
    if builds.is_empty() {
        return Ok(None);
    }
    let mut history = Vec::with_capacity(builds.len());
    for build in builds {
        let tests = store.build_tests(job, &build.build_id).await?;
        history.push(BuildResults { build, tests });
    }
    let mut view = grid::build(job, &history);
    for column in &mut view.columns {
        column.link = Some(format!("/builds/{}/{}", url_component(job), url_component(&column.build_id)));
    }
    Ok(Some(view))
}

/// `GET /grid/{job}?builds=N`: the grid, with the job's status and open alerts (by TestGrid's
/// default thresholds) above it.
pub(crate) async fn job(
    State(shared): State<Shared>,
    Path(job): Path<String>,
    Query(query): Query<GridQuery>,
    headers: axum::http::HeaderMap,
) -> Response {
    // Made once per change of the job's results (see `page_cache`).
    let key = format!("/grid/{job}?builds={}", query.limit());
    let stamp = match shared.store.results_stamp(&job).await {
        Ok(stamp) => vec![stamp],
        Err(error) => return store_error(&error),
    };
    if let Some((html, gzip)) = shared.pages.get(&key, &stamp) {
        return crate::page_cache::respond(&headers, html, gzip);
    }
    let view = match grid_of(&shared.store, &job, query.limit()).await {
        Ok(Some(view)) => view,
        Ok(None) => return crate::pages::not_found_of(&format!("no results for job `{job}`")),
        Err(error) => return store_error(&error),
    };
    let tab = slipway_results::dashboard::Tab {
        name: job.clone(),
        job: job.clone(),
        thresholds: slipway_results::alerts::Thresholds::default(),
        include: None,
        exclude: None,
        alert_email: None,
        description: None,
        source: String::new(),
    };
    let summary = slipway_results::dashboard::view(&tab, view.clone());
    let mut body = summary_of(&summary);
    body.push_str(&slipway_results::html::body(&view));
    let (html, gzip) =
        shared.pages.put(&key, stamp, html::document(&format!("{job}: test results"), &body, None, HEAD));
    crate::page_cache::respond(&headers, html, gzip)
}

/// A tab's status and open alerts, as a line and a list.
pub(crate) fn summary_of(view: &slipway_results::dashboard::TabView) -> String {
    let status =
        serde_json::to_value(view.status).ok().and_then(|value| value.as_str().map(str::to_owned)).unwrap_or_default();
    let mut out = format!(
        "<p class=\"tab-summary\"><span class=\"status {status}\">{status}</span> {} of the {} most recent builds passed; {} open {}</p>\n",
        view.recent_passed,
        view.recent_columns,
        view.alerts.len(),
        if view.alerts.len() == 1 { "alert" } else { "alerts" }
    );
    if !view.alerts.is_empty() {
        out.push_str("<ul class=\"alerts\">\n");
        for alert in &view.alerts {
            let _ = writeln!(
                out,
                "<li><strong>{}</strong> failed {} builds in a row, since <a href=\"/builds/{}/{}\">{}</a>{}</li>",
                escape(alert.test.as_deref().unwrap_or("the job")),
                alert.fail_count,
                escape(&url_component(&alert.job)),
                escape(&url_component(&alert.first_failure.build_id)),
                escape(&alert.first_failure.build_id),
                alert
                    .message
                    .as_deref()
                    .map(|message| format!(": <code>{}</code>", escape(&first_line(message))))
                    .unwrap_or_default(),
            );
        }
        out.push_str("</ul>\n");
    }
    out
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() > 200 {
        format!("{}…", line.chars().take(200).collect::<String>())
    } else {
        line.to_owned()
    }
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
