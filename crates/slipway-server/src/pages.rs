//! The HTML pages: the runs (Deck's list) and one run (Spyglass's page).

use std::fmt::Write;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use slipway_store::runs::Filter;
use slipway_store::{Run, RunState, Trigger};

use crate::html::{self, escape, url_component};
use crate::{Shared, log, store_error};

/// Runs per page.
pub(crate) const PAGE_SIZE: u32 = 50;

/// The states a run can be in, for the filter.
const STATES: [&str; 6] = ["running", "pending", "success", "failure", "error", "aborted"];
/// Who can start a run, for the filter.
const TRIGGERS: [&str; 2] = ["manual", "schedule"];

/// `?job=&state=&page=` of the runs list (the page and the API).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RunsQuery {
    pub(crate) job: Option<String>,
    pub(crate) state: Option<String>,
    /// `manual` or `schedule`.
    pub(crate) trigger: Option<String>,
    /// A matrix entry (`stable-1.30`).
    pub(crate) matrix: Option<String>,
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
        let trigger = match self.trigger.as_deref().filter(|trigger| !trigger.is_empty()) {
            None => None,
            Some(trigger) => Some(
                Trigger::parse(trigger)
                    .ok_or_else(|| format!("unknown trigger `{trigger}`: one of {}", TRIGGERS.join(", ")))?,
            ),
        };
        let page = self.page.unwrap_or(1).max(1);
        Ok(Filter {
            job: self.job.clone().filter(|job| !job.is_empty()),
            state,
            trigger,
            variant: self.matrix.clone().filter(|matrix| !matrix.is_empty()),
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
        for (name, value) in [("state", &self.state), ("trigger", &self.trigger), ("matrix", &self.matrix)] {
            if let Some(value) = value.as_deref().filter(|value| !value.is_empty()) {
                let _ = write!(query, "&{name}={}", url_component(value));
            }
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
    body.push_str("</select></label> <label>Trigger <select name=\"trigger\"><option value=\"\">any</option>");
    for trigger in TRIGGERS {
        let selected = if query.trigger.as_deref() == Some(trigger) { " selected" } else { "" };
        let _ = write!(body, "<option{selected}>{trigger}</option>");
    }
    let _ = writeln!(
        body,
        "</select></label> <label>Matrix entry <input name=\"matrix\" value=\"{}\" size=\"12\"></label> <button>Show</button></form>",
        escape(query.matrix.as_deref().unwrap_or_default())
    );
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
    // The newest runs stay current without a script: the first page reloads itself, faster
    // while something on it runs.
    let refresh = (page == 1).then(|| if runs.iter().any(|run| !run.state.is_finished()) { 5 } else { 15 });
    html::page("Runs", &body, refresh)
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
        format!(
            "<a href=\"/runs?job={0}\">{1}</a> (<a href=\"/grid/{2}\">its tests</a>)",
            escape(&url_component(&run.base_job)),
            escape(&run.base_job),
            escape(&url_component(&run.job)),
        ),
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
    match shared.store.build_tests(&run.job, &run.build_id).await {
        Ok(tests) if !tests.is_empty() => test_results(&mut body, &run, &tests),
        Ok(_) => {}
        Err(error) => return store_error(&error),
    }
    files(&mut body, &run).await;
    // A running run's log grows on the page (a small script polls for what it gained).
    let head = if running { "<script src=\"/live.js\" defer></script>" } else { "" };
    html::page_with(&format!("{} #{}", run.job, run.build_id), &body, None, head)
}

/// The most failures a run page shows in full.
const MAX_FAILURES_SHOWN: usize = 200;

/// The run's JUnit results: counts, then each failing or flaky test with its text (open it
/// to read; no script needed).
fn test_results(body: &mut String, run: &Run, tests: &[slipway_core::results::TestResult]) {
    use slipway_core::results::Status;
    let count = |status: Status| tests.iter().filter(|test| test.status == status).count();
    let _ = writeln!(
        body,
        "<h2 id=\"tests\">Test results</h2>\n<p class=\"summary\">{} tests: <span class=\"state state-failure\">{} failed</span> \
         <span class=\"state state-flaky\">{} flaky</span> <span class=\"state state-success\">{} passed</span> {} skipped \
         (<a href=\"/grid/{}\">history</a>)</p>",
        tests.len(),
        count(Status::Fail),
        count(Status::Flaky),
        count(Status::Pass),
        count(Status::Skip),
        escape(&url_component(&run.job)),
    );
    let mut bad: Vec<_> = tests.iter().filter(|test| matches!(test.status, Status::Fail | Status::Flaky)).collect();
    bad.sort_by_key(|test| (test.status != Status::Fail, test.name.clone()));
    if bad.is_empty() {
        return;
    }
    body.push_str("<ul class=\"failures\">\n");
    for test in bad.iter().take(MAX_FAILURES_SHOWN) {
        let _ = writeln!(
            body,
            "<li><details><summary><span class=\"state state-{0}\">{1}</span> {2}</summary><pre>{3}</pre></details></li>",
            if test.status == Status::Fail { "failure" } else { "flaky" },
            test.status.as_str(),
            escape(&test.name),
            escape(test.message.as_deref().unwrap_or("(no failure text)")),
        );
    }
    body.push_str("</ul>\n");
    if bad.len() > MAX_FAILURES_SHOWN {
        let _ = writeln!(
            body,
            "<p class=\"note\">{} more; all of them: <a href=\"/api/v1/runs/{}/tests\">the API</a>.</p>",
            bad.len() - MAX_FAILURES_SHOWN,
            escape(&url_component(&run.id))
        );
    }
}

/// The run's files, each a link to view or download it.
async fn files(body: &mut String, run: &Run) {
    if run.artifacts.is_empty() {
        return;
    }
    body.push_str("<h2 id=\"artifacts\">Artifacts</h2>\n");
    match crate::artifacts::listing(run).await {
        Ok(files) if files.is_empty() => {
            body.push_str("<p class=\"note\">No files yet (a run's files are written when it ends).</p>\n");
        }
        Ok(files) => {
            body.push_str("<ul class=\"files\">\n");
            for (path, size) in &files {
                let href = format!("/runs/{}/artifacts/{}", url_component(&run.id), crate::artifacts::path_url(path));
                let _ = writeln!(
                    body,
                    "<li><a href=\"{0}\">{1}</a> <span class=\"note\">{2}</span> <a class=\"note\" href=\"{0}?download=1\">download</a></li>",
                    escape(&href),
                    escape(path),
                    slipway_core::retention::format_size(*size),
                );
            }
            body.push_str("</ul>\n");
            if files.len() >= crate::artifacts::MAX_LISTED {
                let _ = writeln!(body, "<p class=\"note\">The first {} files.</p>", crate::artifacts::MAX_LISTED);
            }
        }
        Err(message) => {
            let _ = writeln!(body, "<p class=\"note\">{}</p>", escape(&message));
        }
    }
}

/// `GET /builds/{job}/{build}`: the page of the run of that build.
pub(crate) async fn build(State(shared): State<Shared>, Path((job, build)): Path<(String, String)>) -> Response {
    match shared.store.find_run(&format!("{job}/{build}")).await {
        Ok(Some(run)) => axum::response::Redirect::to(&format!("/runs/{}", url_component(&run.id))).into_response(),
        Ok(None) => {
            // Results slipway did not run: their evidence (a Prow build log, a JUnit file),
            // when it is on the web.
            let evidence = match shared.store.build(&job, &build).await {
                Ok(found) => found.and_then(|found| slipway_results::grid::evidence_link(&found.source)),
                Err(error) => return store_error(&error),
            };
            match evidence.filter(|link| link.starts_with("https://") || link.starts_with("http://")) {
                Some(link) => axum::response::Redirect::to(&link).into_response(),
                None => not_found_of(&format!("no run of {job} #{build}: its results came from elsewhere")),
            }
        }
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
