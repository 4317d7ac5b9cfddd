//! `GET /clusters` (and `/api/v1/clusters`): Triage's view of the stored history, the failures
//! of a window clustered by their text, biggest first, with the days, tests, jobs and builds
//! each cluster hit; each build links to its run.

use std::fmt::Write;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use slipway_triage::Options;
use slipway_triage::history::{self, Report};

use crate::html::{self, escape, url_component};
use crate::{Shared, store_error};

/// The schema of `/api/v1/clusters`.
pub const CLUSTERS_SCHEMA: &str = "slipway.api.clusters/v1";

/// The window unless asked: a week.
const DEFAULT_DAYS: u32 = 7;
/// Clusters shown, biggest first.
const SHOWN: usize = 100;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ClustersQuery {
    days: Option<u32>,
    job: Option<String>,
}

async fn clusters(shared: &Shared, query: &ClustersQuery) -> Result<Report, Response> {
    let days = query.days.unwrap_or(DEFAULT_DAYS);
    let since = if days == 0 { i64::MIN } else { jiff::Timestamp::now().as_second() - i64::from(days) * 86_400 };
    let job = query.job.clone().filter(|job| !job.is_empty());
    let history = shared.store.failures(since, job.as_deref()).await.map_err(|error| store_error(&error))?;
    // Clustering is work for the processor: off the threads that answer requests.
    tokio::task::spawn_blocking(move || history::report(history, &Options::default(), SHOWN, days, job.as_deref()))
        .await
        .map_err(|_| (StatusCode::INTERNAL_SERVER_ERROR, "clustering failed").into_response())
}

/// `GET /clusters?days=N&job=JOB`.
pub(crate) async fn page(State(shared): State<Shared>, Query(query): Query<ClustersQuery>) -> Response {
    let report = match clusters(&shared, &query).await {
        Ok(report) => report,
        Err(response) => return response,
    };
    let window = if report.days == 0 { "every build".to_owned() } else { format!("the last {} days", report.days) };
    let mut body = format!(
        "<h1>Failure clusters</h1>\n<form class=\"filter\" method=\"get\" action=\"/clusters\">\
         <label>Days <input name=\"days\" type=\"number\" min=\"0\" value=\"{}\"></label> \
         <label>Job <input name=\"job\" value=\"{}\"></label> <button>Show</button></form>\n\
         <p class=\"note\">{} failures of {} tests in {} clusters ({} of a single failure), {window}{}.</p>\n",
        report.days,
        escape(report.job.as_deref().unwrap_or_default()),
        report.failures,
        report.tests,
        report.total_clusters,
        report.singletons,
        if report.clusters.len() < report.total_clusters {
            format!("; the {} biggest", report.clusters.len())
        } else {
            String::new()
        },
    );
    for cluster in &report.clusters {
        let _ = write!(
            body,
            "<section class=\"cluster\" id=\"{id}\"><h2>{} failures{} <span class=\"note\">id {id}</span></h2>\n<pre class=\"log\">{}</pre>\n",
            cluster.failures,
            if cluster.singleton { " (one)" } else { "" },
            escape(&cluster.key),
            id = escape(&cluster.id),
        );
        let days: Vec<String> = cluster.days_hit.iter().map(|(day, count)| format!("{day}: {count}")).collect();
        if !days.is_empty() {
            let _ = writeln!(body, "<p>By day: {}</p>", escape(&days.join(", ")));
        }
        let tests: Vec<String> =
            cluster.tests.iter().map(|test| format!("{} ({})", escape(&test.name), test.failures)).collect();
        let _ = writeln!(body, "<p>Tests ({}): {}</p>", tests.len(), tests.join(", "));
        body.push_str("<p>Builds:");
        for (job, builds) in &cluster.jobs {
            let _ = write!(body, " <b>{}</b>", escape(job));
            for build in builds.iter().take(20) {
                let _ = write!(
                    body,
                    " <a href=\"/builds/{}/{}\">{}</a>",
                    escape(&url_component(job)),
                    escape(&url_component(build)),
                    escape(build)
                );
            }
            if builds.len() > 20 {
                let _ = write!(body, " and {} more", builds.len() - 20);
            }
            body.push(';');
        }
        body.push_str("</p></section>\n");
    }
    html::page("Failure clusters", &body, None)
}

/// `GET /api/v1/clusters?days=N&job=JOB`.
pub(crate) async fn api(State(shared): State<Shared>, Query(query): Query<ClustersQuery>) -> Response {
    match clusters(&shared, &query).await {
        Ok(report) => Json(serde_json::json!({ "schema": CLUSTERS_SCHEMA, "clusters": report })).into_response(),
        Err(response) => response,
    }
}
