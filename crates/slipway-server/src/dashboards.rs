//! Dashboards (TestGrid's): tabs of jobs from `results.dashboards` in slipway.yaml and from
//! jobs' `testgrid-dashboards` annotations, each tab with its status, open alerts and grid.

use std::fmt::Write;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use slipway_results::dashboard::{self, Dashboard, TabView};

use crate::grid::{GridQuery, HEAD, grid_of};
use crate::html::{self, escape, url_component};
use crate::{Shared, store_error};

/// The schema of `/api/v1/dashboards`.
pub const DASHBOARDS_SCHEMA: &str = "slipway.api.dashboards/v1";

/// The dashboards the server shows; replaced whole when the configuration is read again.
pub(crate) type SharedDashboards = Arc<std::sync::RwLock<Arc<Vec<Dashboard>>>>;

pub(crate) fn current(shared: &Shared) -> Arc<Vec<Dashboard>> {
    shared.dashboards.read().map_or_else(|poisoned| poisoned.into_inner().clone(), |dashboards| dashboards.clone())
}

/// `GET /dashboards`.
pub(crate) async fn list(State(shared): State<Shared>) -> Response {
    let dashboards = current(&shared);
    let mut body = String::from("<h1>Dashboards</h1>\n");
    if dashboards.is_empty() {
        body.push_str(
            "<p class=\"note\">No dashboards: add <code>results.dashboards</code> to slipway.yaml, or annotate jobs \
             with <code>testgrid-dashboards</code>. Every job's results are under <a href=\"/grid\">Test results</a>.</p>\n",
        );
    } else {
        body.push_str("<ul class=\"dashboards\">\n");
        for dashboard in dashboards.iter() {
            let tabs: Vec<String> = dashboard.tabs.iter().map(|tab| escape(&tab.name)).collect();
            let _ = writeln!(
                body,
                "<li><a href=\"/dashboards/{}\">{}</a> <span class=\"note\">{}</span></li>",
                escape(&url_component(&dashboard.name)),
                escape(&dashboard.name),
                tabs.join(", ")
            );
        }
        body.push_str("</ul>\n");
    }
    html::page("Dashboards", &body, None)
}

/// The views of `dashboard`'s tabs; a tab whose job has no results yet is UNKNOWN and empty.
async fn views(shared: &Shared, dashboard: &Dashboard, limit: u32) -> Result<Vec<TabView>, Response> {
    let mut views = Vec::with_capacity(dashboard.tabs.len());
    for tab in &dashboard.tabs {
        let grid = match grid_of(&shared.store, &tab.job, limit).await {
            Ok(Some(grid)) => grid,
            Ok(None) => slipway_results::grid::build(&tab.job, &[]),
            Err(error) => return Err(store_error(&error)),
        };
        views.push(dashboard::view(tab, grid));
    }
    Ok(views)
}

fn find(shared: &Shared, name: &str) -> Option<Dashboard> {
    current(shared).iter().find(|dashboard| dashboard.name == name).cloned()
}

/// `GET /dashboards/{name}?builds=N`: the tabs' summary, then every tab's grid.
pub(crate) async fn page(
    State(shared): State<Shared>,
    Path(name): Path<String>,
    Query(query): Query<GridQuery>,
    headers: axum::http::HeaderMap,
) -> Response {
    let Some(dashboard) = find(&shared, &name) else {
        return crate::pages::not_found_of(&format!("no dashboard `{name}`"));
    };
    // Made once per change of its tabs' results or of the dashboard itself (see `page_cache`).
    let key = format!(
        "/dashboards/{name}?builds={}#{}",
        query.limit(),
        serde_json::to_string(&dashboard).unwrap_or_default()
    );
    let mut stamp = Vec::with_capacity(dashboard.tabs.len());
    for tab in &dashboard.tabs {
        match shared.store.results_stamp(&tab.job).await {
            Ok(tab_stamp) => stamp.push(tab_stamp),
            Err(error) => return store_error(&error),
        }
    }
    if let Some((html, gzip)) = shared.pages.get(&key, &stamp) {
        return crate::page_cache::respond(&headers, html, gzip);
    }
    match views(&shared, &dashboard, query.limit()).await {
        Ok(views) => {
            let document = html::document(
                &format!("{name}: dashboard"),
                &slipway_results::html::dashboard_body(&dashboard.name, &views),
                None,
                HEAD,
            );
            let (html, gzip) = shared.pages.put(&key, stamp, document);
            crate::page_cache::respond(&headers, html, gzip)
        }
        Err(response) => response,
    }
}

/// `GET /api/v1/dashboards`: the dashboards and their tabs.
pub(crate) async fn api_list(State(shared): State<Shared>) -> Response {
    Json(serde_json::json!({ "schema": DASHBOARDS_SCHEMA, "dashboards": *current(&shared) })).into_response()
}

/// `GET /api/v1/dashboards/{name}?builds=N`: each tab's status, summary and open alerts.
pub(crate) async fn api(
    State(shared): State<Shared>,
    Path(name): Path<String>,
    Query(query): Query<GridQuery>,
) -> Response {
    let Some(dashboard) = find(&shared, &name) else {
        return crate::api::error(StatusCode::NOT_FOUND, &format!("no dashboard `{name}`"));
    };
    match views(&shared, &dashboard, query.limit()).await {
        Ok(views) => {
            Json(serde_json::json!({ "schema": dashboard::SCHEMA, "dashboard": dashboard.name, "tabs": views }))
                .into_response()
        }
        Err(response) => response,
    }
}
