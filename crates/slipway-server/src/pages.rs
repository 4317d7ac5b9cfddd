//! The HTML pages: the runs (Deck's list) and one run (Spyglass's page).

use std::fmt::Write;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use slipway_store::runs::Filter;
use slipway_store::{Run, RunState};

use crate::html::{self, escape, url_component};
use crate::{Shared, log, store_error};

/// Runs per page.
pub(crate) const PAGE_SIZE: u32 = 50;

/// The states a run can be in, for the filter.
const STATES: [&str; 6] = ["running", "pending", "success", "failure", "error", "aborted"];

/// `?job=&state=&page=` of the runs list (the page and the API).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RunsQuery {
    pub(crate) job: Option<String>,
    pub(crate) state: Option<String>,
    /// 1-based.
    pub(crate) page: Option<u32>,
}

impl RunsQuery {
    /// The store's filter, or what is wrong with the query.
    pub(crate) fn filter(&self) -> Result<Filter, String> {
        let state = match self.state.as_deref().filter(|state| !state.is_empty()) {
            None => None,
            Some(state) => Some(
                RunState::parse(state)
                    .ok_or_else(|| format!("unknown state `{state}`: one of {}", STATES.join(", ")))?,
            ),
        };
        let page = self.page.unwrap_or(1).max(1);
        Ok(Filter {
            job: self.job.clone().filter(|job| !job.is_empty()),
            state,
            limit: PAGE_SIZE,
            offset: (page - 1).saturating_mul(PAGE_SIZE),
        })
    }

    fn page(&self) -> u32 {
        self.page.unwrap_or(1).max(1)
    }

    /// The query string of this filter on another page.
    fn with_page(&self, page: u32) -> String {
        let mut query = format!("?page={page}");
        if let Some(job) = self.job.as_deref().filter(|job| !job.is_empty()) {
            let _ = write!(query, "&job={}", url_component(job));
        }
        if let Some(state) = self.state.as_deref().filter(|state| !state.is_empty()) {
            let _ = write!(query, "&state={}", url_component(state));
        }
        query
    }
}

/// `GET /runs`.
pub(crate) async fn runs(State(shared): State<Shared>, Query(query): Query<RunsQuery>) -> Response {
    let filter = match query.filter() {
        Ok(filter) => filter,
        Err(message) => return (StatusCode::BAD_REQUEST, message).into_response(),
    };
    let runs = match shared.store.list_runs(&filter).await {
        Ok(runs) => runs,
        Err(error) => return store_error(&error),
    };
    let mut body = String::from("<h1>Runs</h1>\n<form class=\"filter\" method=\"get\" action=\"/runs\">");
    let _ = write!(
        body,
        "<label>Job <input name=\"job\" value=\"{}\"></label> <label>State <select name=\"state\"><option value=\"\">any</option>",
        escape(query.job.as_deref().unwrap_or_default())
    );
    for state in STATES {
        let selected = if query.state.as_deref() == Some(state) { " selected" } else { "" };
        let _ = write!(body, "<option{selected}>{state}</option>");
    }
    body.push_str("</select></label> <button>Show</button></form>\n");
    if runs.is_empty() {
        body.push_str("<p class=\"note\">No run matches.</p>\n");
    } else {
        body.push_str(
            "<div class=\"scroll\"><table class=\"runs\"><thead><tr><th>State</th><th>Job</th><th>Build</th>\
             <th>Trigger</th><th>Started</th><th>Took</th><th>What happened</th></tr></thead><tbody>\n",
        );
        for run in &runs {
            row(&mut body, run);
        }
        body.push_str("</tbody></table></div>\n");
    }
    body.push_str("<div class=\"pages\">");
    let page = query.page();
    if page > 1 {
        let _ = write!(body, "<a rel=\"prev\" href=\"/runs{}\">newer</a>", escape(&query.with_page(page - 1)));
    }
    if runs.len() == PAGE_SIZE as usize {
        let _ = write!(body, "<a rel=\"next\" href=\"/runs{}\">older</a>", escape(&query.with_page(page + 1)));
    }
    body.push_str("</div>\n");
    html::page("Runs", &body, None)
}

fn row(body: &mut String, run: &Run) {
    let link = format!("/runs/{}", url_component(&run.id));
    let job = if run.variant.is_empty() {
        escape(&run.job)
    } else {
        format!("{} <span class=\"note\">{}</span>", escape(&run.base_job), escape(&run.variant))
    };
    let _ = writeln!(
        body,
        "<tr><td class=\"state state-{state}\">{state}</td><td>{job}</td><td><a href=\"{}\">{}</a></td><td>{}</td>\
         <td>{}</td><td>{}</td><td>{}</td></tr>",
        escape(&link),
        escape(&run.build_id),
        run.trigger.as_str(),
        html::time(run.started_at.or(Some(run.created_at))),
        took(run),
        escape(&run.description),
        state = run.state.as_str(),
    );
}

fn took(run: &Run) -> String {
    match (run.started_at, run.finished_at) {
        (Some(started), Some(finished)) => html::duration(finished - started),
        (Some(started), None) if run.state == RunState::Running => {
            format!("{} so far", html::duration(jiff::Timestamp::now().as_second() - started))
        }
        _ => "–".to_owned(),
    }
}

/// `GET /runs/{id}`.
pub(crate) async fn run(State(shared): State<Shared>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let run = match shared.store.find_run(&id).await {
        Ok(Some(run)) => run,
        Ok(None) => return not_found_of(&format!("no run `{id}`")),
        Err(error) => return store_error(&error),
    };
    let mut body = format!(
        "<h1><span id=\"state\" class=\"state state-{state}\">{state}</span> {} <span class=\"note\">#{}</span></h1>\n<dl>",
        escape(&run.job),
        escape(&run.build_id),
        state = run.state.as_str()
    );
    let mut item = |name: &str, value: String| {
        let _ = write!(body, "<dt>{name}</dt><dd>{value}</dd>");
    };
    item("What happened", escape(&run.description));
    item(
        "Job",
        format!("<a href=\"/runs?job={}\">{}</a>", escape(&url_component(&run.base_job)), escape(&run.base_job)),
    );
    if !run.variant.is_empty() {
        item("Matrix entry", escape(&run.variant));
    }
    item("Trigger", run.trigger.as_str().to_owned());
    item("Created", html::time(Some(run.created_at)));
    item("Started", html::time(run.started_at));
    item("Finished", html::time(run.finished_at));
    item("Took", took(&run));
    if let Some(code) = run.exit_code {
        item("Exit code", code.to_string());
    }
    item("Executor", escape(&run.executor));
    if !run.revision.is_empty() {
        item("Revision", escape(&run.revision));
    }
    item("Artifacts", artifacts(&run.artifacts));
    body.push_str("</dl>\n");
    let running = !run.state.is_finished();
    if running {
        match shared.auth.csrf_for(&headers, crate::jobs::now()) {
            Some(csrf) => {
                let _ = writeln!(
                    body,
                    "<form method=\"post\" action=\"/runs/{}/abort\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
                     <button>Abort</button></form>",
                    escape(&url_component(&run.id)),
                    escape(&csrf)
                );
            }
            None => body.push_str("<p class=\"note\"><a href=\"/login\">Sign in</a> to abort this run.</p>\n"),
        }
    }
    body.push_str("<h2>Build log</h2>\n");
    let id = escape(&run.id);
    match log::tail_and_end(&run).await {
        Some((tail, end)) => {
            if tail.cut > 0 {
                let _ = writeln!(
                    body,
                    "<p class=\"note\">The last {} KiB; <a href=\"/runs/{}/log\">the whole log</a>.</p>",
                    log::TAIL_BYTES / 1024,
                    escape(&url_component(&run.id))
                );
            }
            let _ = write!(body, "<pre class=\"log\" id=\"log\" data-run=\"{id}\" data-next=\"{end}\">");
            for line in tail.text.lines() {
                if log::is_failing_line(line) {
                    let _ = writeln!(body, "<span class=\"bad\">{}</span>", escape(line));
                } else {
                    let _ = writeln!(body, "{}", escape(line));
                }
            }
            body.push_str("</pre>\n");
        }
        None if running => {
            let _ = writeln!(body, "<pre class=\"log\" id=\"log\" data-run=\"{id}\" data-next=\"0\"></pre>");
        }
        None => body.push_str("<p class=\"note\">No log was found for this run.</p>\n"),
    }
    // A running run's log grows on the page (a small script polls for what it gained).
    let head = if running { "<script src=\"/live.js\" defer></script>" } else { "" };
    html::page_with(&format!("{} #{}", run.job, run.build_id), &body, None, head)
}

/// `GET /builds/{job}/{build}`: the page of the run of that build.
pub(crate) async fn build(State(shared): State<Shared>, Path((job, build)): Path<(String, String)>) -> Response {
    match shared.store.find_run(&format!("{job}/{build}")).await {
        Ok(Some(run)) => axum::response::Redirect::to(&format!("/runs/{}", url_component(&run.id))).into_response(),
        Ok(None) => not_found_of(&format!("no run of {job} #{build}: its results came from elsewhere")),
        Err(error) => store_error(&error),
    }
}

/// The artifacts location: a link when it is a web address, else as text.
fn artifacts(location: &str) -> String {
    if location.starts_with("https://") || location.starts_with("http://") {
        format!("<a href=\"{0}\">{0}</a>", escape(location))
    } else if location.is_empty() {
        "–".to_owned()
    } else {
        format!("<code>{}</code>", escape(location))
    }
}

pub(crate) fn not_found_of(message: &str) -> Response {
    let body = format!("<h1>Not found</h1>\n<p>{}</p>\n", escape(message));
    let mut response = html::page("Not found", &body, None);
    *response.status_mut() = StatusCode::NOT_FOUND;
    response
}

/// Any other path.
pub(crate) async fn not_found() -> Response {
    not_found_of("There is no page here.")
}
