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
