//! The JSON API under `/api/v1/`: what the pages show, for programs.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::pages::{PAGE_SIZE, RunsQuery};
use crate::{Shared, store_error};

/// The schema of `/api/v1/runs`.
pub const RUNS_SCHEMA: &str = "slipway.api.runs/v1";
/// The schema of `/api/v1/runs/{id}`.
pub const RUN_SCHEMA: &str = "slipway.api.run/v1";

pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// The largest error text kept when an error answer is turned into JSON.
const MAX_ERROR_TEXT: usize = 64 * 1024;

/// An error answer of the API that is not JSON (a rejected query string, a failed store) as
/// `{"error": "..."}` with the same status: every error of the API has one shape.
pub(crate) async fn json_error(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let text = match axum::body::to_bytes(response.into_body(), MAX_ERROR_TEXT).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_owned(),
        Err(_) => String::new(),
    };
    let text = if text.is_empty() { status.canonical_reason().unwrap_or("error").to_owned() } else { text };
    error(status, &text)
}

/// `GET /api/v1/runs?job=&state=&page=`.
pub(crate) async fn runs(State(shared): State<Shared>, Query(query): Query<RunsQuery>) -> Response {
    let filter = match query.filter() {
        Ok(filter) => filter,
        Err(message) => return error(StatusCode::BAD_REQUEST, &message),
    };
    match shared.store.list_runs(&filter).await {
        Ok(runs) => Json(json!({
            "schema": RUNS_SCHEMA,
            "page": query.page.unwrap_or(1).max(1),
            "page_size": PAGE_SIZE,
            "runs": runs,
        }))
        .into_response(),
        Err(error) => store_error(&error),
    }
}

/// `GET /api/v1/runs/{id}`.
pub(crate) async fn run(State(shared): State<Shared>, Path(id): Path<String>) -> Response {
    match shared.store.find_run(&id).await {
        Ok(Some(run)) => Json(json!({ "schema": RUN_SCHEMA, "run": run })).into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, &format!("no run `{id}`")),
        Err(error) => store_error(&error),
    }
}

/// The schema of `/api/v1/runs/{id}/tests`.
pub const TESTS_SCHEMA: &str = "slipway.api.tests/v1";

/// `GET /api/v1/runs/{id}/tests`: the run's JUnit results, as ingested.
pub(crate) async fn tests(State(shared): State<Shared>, Path(id): Path<String>) -> Response {
    let run = match shared.store.find_run(&id).await {
        Ok(Some(run)) => run,
        Ok(None) => return error(StatusCode::NOT_FOUND, &format!("no run `{id}`")),
        Err(error) => return store_error(&error),
    };
    match shared.store.build_tests(&run.job, &run.build_id).await {
        Ok(tests) => Json(json!({ "schema": TESTS_SCHEMA, "run": run.id, "tests": tests })).into_response(),
        Err(error) => store_error(&error),
    }
}

/// `GET /api/v1/openapi.json`.
pub(crate) async fn openapi() -> Response {
    let mut response = OPENAPI.into_response();
    response
        .headers_mut()
        .insert(axum::http::header::CONTENT_TYPE, axum::http::HeaderValue::from_static("application/json"));
    response
}

/// The OpenAPI document of the API.
pub const OPENAPI: &str = include_str!("openapi.json");
