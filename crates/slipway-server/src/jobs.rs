//! The jobs (`/jobs`, `/api/v1/jobs`): each with its schedule in its time zone, its next run,
//! its matrix and its newest run; and "run now" (a form for people, `POST
//! /api/v1/jobs/{name}/run` for programs), with the sign-in that changes need.

use std::fmt::Write;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use slipway_store::runs::Filter;

use crate::html::{self, escape, url_component};
use crate::{Shared, auth, store_error};

/// The schema of `/api/v1/jobs`.
pub const JOBS_SCHEMA: &str = "slipway.api.jobs/v1";

/// One job as the server shows it.
#[derive(Debug, Clone, Serialize)]
pub struct JobInfo {
    pub name: String,
    /// The schedule for people (`cron 0 5 * * * in Europe/Berlin`, `every 1h`), if any.
    pub schedule: Option<String>,
    /// When it next runs, Unix seconds, if scheduled.
    pub next: Option<i64>,
    /// Its matrix entries (Kubernetes versions or markers).
    pub matrix: Vec<String>,
    /// What it runs: `sh -c ...`, or an image.
    pub runs: String,
}

/// What the server can do besides reading the store: know the jobs and start them.
pub trait Actions: Send + Sync {
    fn jobs(&self) -> Vec<JobInfo>;
    /// Starts every run of `job` now; an unknown job is an error for people.
    fn run_now(&self, job: &str) -> Result<(), String>;
}

pub(crate) type SharedActions = Option<Arc<dyn Actions>>;

pub(crate) fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// `GET /jobs`.
pub(crate) async fn page(State(shared): State<Shared>, headers: HeaderMap) -> Response {
    let Some(actions) = &shared.actions else {
        return html::page(
            "Jobs",
            "<h1>Jobs</h1>\n<p class=\"note\">This server was started without jobs.</p>\n",
            None,
        );
    };
    let csrf = shared.auth.csrf_for(&headers, now());
    let mut body = String::from("<h1>Jobs</h1>\n");
    if csrf.is_none() {
        body.push_str("<p class=\"note\"><a href=\"/login\">Sign in</a> to start runs.</p>\n");
    }
    body.push_str(
        "<div class=\"scroll\"><table class=\"jobs\"><thead><tr><th>Job</th><th>Schedule</th><th>Next run</th>\
         <th>Matrix</th><th>Newest run</th><th></th></tr></thead><tbody>\n",
    );
    for job in actions.jobs() {
        let newest = match shared
            .store
            .list_runs(&Filter { job: Some(job.name.clone()), limit: 1, ..Filter::default() })
            .await
        {
            Ok(runs) => runs.into_iter().next(),
            Err(error) => return store_error(&error),
        };
        let newest = newest.map_or_else(
            || "–".to_owned(),
            |run| {
                // A running run can be aborted from here too.
                let abort = match &csrf {
                    Some(csrf) if !run.state.is_finished() => format!(
                        "<form method=\"post\" action=\"/runs/{}/abort\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
                         <button>Abort</button></form>",
                        escape(&url_component(&run.id)),
                        escape(csrf)
                    ),
                    _ => String::new(),
                };
                format!(
                    "<a href=\"/runs/{}\"><span class=\"state state-{state}\">{state}</span> {}</a>{abort}",
                    escape(&url_component(&run.id)),
                    html::time(run.started_at.or(Some(run.created_at))),
                    state = run.state.as_str()
                )
            },
        );
        let button = csrf.as_ref().map_or_else(String::new, |csrf| {
            format!(
                "<form method=\"post\" action=\"/jobs/{}/run\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
                 <button>Run now</button></form>",
                escape(&url_component(&job.name)),
                escape(csrf)
            )
        });
        let _ = writeln!(
            body,
            "<tr><td><a href=\"/runs?job={}\">{}</a><br><span class=\"note\">{}</span></td><td>{}</td><td>{}</td><td>{}</td><td>{newest}</td><td>{button}</td></tr>",
            escape(&url_component(&job.name)),
            escape(&job.name),
            escape(&job.runs),
            escape(job.schedule.as_deref().unwrap_or("by hand")),
            if job.next.is_some() { html::time(job.next) } else { "–".to_owned() },
            escape(&job.matrix.join(", ")),
        );
    }
    body.push_str("</tbody></table></div>\n");
    html::page("Jobs", &body, None)
}

#[derive(Debug, Deserialize)]
pub(crate) struct RunForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /jobs/{name}/run`: a form's "run now".
pub(crate) async fn run_form(
    State(shared): State<Shared>,
    Path(name): Path<String>,
    headers: HeaderMap,
    Form(form): Form<RunForm>,
) -> Response {
    if let Err(message) = shared.auth.check_form(&headers, &form.csrf, now()) {
        return (StatusCode::FORBIDDEN, message).into_response();
    }
    match start(&shared, &name) {
        Ok(()) => Redirect::to(&format!("/runs?job={}", url_component(&name))).into_response(),
        Err(message) => (StatusCode::NOT_FOUND, message).into_response(),
    }
}

/// `POST /api/v1/jobs/{name}/run`.
pub(crate) async fn run_api(State(shared): State<Shared>, Path(name): Path<String>, headers: HeaderMap) -> Response {
    if let Err(message) = shared.auth.check_api(&headers) {
        return crate::auth::api_refusal(message);
    }
    match start(&shared, &name) {
        Ok(()) => (StatusCode::ACCEPTED, Json(serde_json::json!({ "schema": "slipway.api.started/v1", "job": name })))
            .into_response(),
        Err(message) => crate::api::error(StatusCode::NOT_FOUND, &message),
    }
}

/// Starts `name`; an unknown job (or no jobs at all) is a message for a 404.
fn start(shared: &Shared, name: &str) -> Result<(), String> {
    let Some(actions) = &shared.actions else {
        return Err("this server was started without jobs".to_owned());
    };
    actions.run_now(name)
}

/// `GET /api/v1/jobs`.
pub(crate) async fn api(State(shared): State<Shared>) -> Response {
    let jobs = shared.actions.as_ref().map(|actions| actions.jobs()).unwrap_or_default();
    Json(serde_json::json!({ "schema": JOBS_SCHEMA, "jobs": jobs })).into_response()
}

/// `GET /login`.
pub(crate) async fn login_page(State(shared): State<Shared>) -> Response {
    let body = if shared.auth.needs_login() {
        "<h1>Sign in</h1>\n<form method=\"post\" action=\"/login\"><label>Token <input name=\"token\" type=\"password\" \
         autocomplete=\"current-password\"></label> <button>Sign in</button></form>\n"
    } else {
        "<h1>Sign in</h1>\n<p class=\"note\">No sign-in is needed: this server has no token (it listens on loopback only).</p>\n"
    };
    html::page("Sign in", body, None)
}

#[derive(Debug, Deserialize)]
pub(crate) struct LoginForm {
    #[serde(default)]
    token: String,
}

/// `POST /login`: the token for a session cookie.
pub(crate) async fn login(State(shared): State<Shared>, headers: HeaderMap, Form(form): Form<LoginForm>) -> Response {
    if let Err(message) = auth::same_site(&headers) {
        return (StatusCode::FORBIDDEN, message).into_response();
    }
    if !shared.auth.is_token(&form.token) {
        let mut response = html::page(
            "Sign in",
            "<h1>Sign in</h1>\n<p>That is not the token.</p>\n<p><a href=\"/login\">Try again</a></p>\n",
            None,
        );
        *response.status_mut() = StatusCode::FORBIDDEN;
        return response;
    }
    let mut response = Redirect::to("/jobs").into_response();
    let cookie =
        format!("{}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200", auth::COOKIE, shared.auth.session(now()));
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}
