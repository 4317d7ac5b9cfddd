//! Aborting a running run: a form on its page (`POST /runs/{id}/abort`) and the API (`POST
//! /api/v1/runs/{id}/abort`). The request is written to the store, and the process running
//! the run, on whichever replica or machine, sees it within a second and stops the run with
//! its grace period; the run is then recorded as aborted.

use axum::Json;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::html::url_component;
use crate::{Shared, store_error};

/// The schema of the API's answer.
pub const ABORTING_SCHEMA: &str = "slipway.api.aborting/v1";

#[derive(Debug, Deserialize)]
pub(crate) struct AbortForm {
    #[serde(default)]
    csrf: String,
}

/// What asking for an abort came to.
enum Asked {
    /// The run's id: the request is recorded.
    Recorded(String),
    NotFound(String),
    /// The run has ended (or was never started): its state.
    NotRunning(String),
    Failed(Response),
}

async fn ask(shared: &Shared, key: &str) -> Asked {
    let run = match shared.store.find_run(key).await {
        Ok(Some(run)) => run,
        Ok(None) => return Asked::NotFound(format!("no run `{key}`")),
        Err(error) => return Asked::Failed(store_error(&error)),
    };
    match shared.store.request_abort(&run.id).await {
        Ok(true) => Asked::Recorded(run.id),
        Ok(false) => Asked::NotRunning(format!("run `{}` is not running: it is {}", run.id, run.state.as_str())),
        Err(error) => Asked::Failed(store_error(&error)),
    }
}

/// `POST /runs/{id}/abort`: the run page's button.
pub(crate) async fn form(
    State(shared): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<AbortForm>,
) -> Response {
    if let Err(message) = shared.auth.check_form(&headers, &form.csrf, crate::jobs::now()) {
        return (StatusCode::FORBIDDEN, message).into_response();
    }
    match ask(&shared, &id).await {
        Asked::Recorded(id) => Redirect::to(&format!("/runs/{}", url_component(&id))).into_response(),
        Asked::NotFound(message) => crate::pages::not_found_of(&message),
        Asked::NotRunning(message) => (StatusCode::CONFLICT, message).into_response(),
        Asked::Failed(response) => response,
    }
}

/// `POST /api/v1/runs/{id}/abort`.
pub(crate) async fn api(State(shared): State<Shared>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    if let Err(message) = shared.auth.check_api(&headers) {
        return crate::auth::api_refusal(message);
    }
    match ask(&shared, &id).await {
        Asked::Recorded(id) => {
            (StatusCode::ACCEPTED, Json(serde_json::json!({ "schema": ABORTING_SCHEMA, "run": id }))).into_response()
        }
        Asked::NotFound(message) => crate::api::error(StatusCode::NOT_FOUND, &message),
        Asked::NotRunning(message) => crate::api::error(StatusCode::CONFLICT, &message),
        Asked::Failed(response) => response,
    }
}
