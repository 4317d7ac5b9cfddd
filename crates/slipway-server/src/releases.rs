//! Releases: the release ledger audited (each recorded release against its git tag, its
//! manifests and, when asked, its registry images) and the version markers.

use std::fmt::Write;
use std::future::Future;
use std::pin::Pin;

use axum::Json;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use slipway_core::Severity;
use slipway_release::ledger::audit::AuditReport;

use crate::Shared;
use crate::html::{self, escape};

/// The schema of `/api/v1/releases`.
pub const RELEASES_SCHEMA: &str = "slipway.api.releases/v1";

/// A future a [`Releases`] answers with.
pub type Answer<'a, T> = Pin<Box<dyn Future<Output = Result<T, String>> + Send + 'a>>;

/// A version marker as the server shows it.
#[derive(Debug, Clone, Serialize)]
pub struct MarkerInfo {
    /// `stable-1.31.txt`, `markers/latest-ci.txt`.
    pub name: String,
    pub value: String,
    pub url: String,
}

/// What the server knows of the project's releases (the binary audits; the server shows).
pub trait Releases: Send + Sync {
    /// `release audit`'s report; registries are read only with `registries`.
    fn audit(&self, registries: bool) -> Answer<'_, AuditReport>;
    /// The version markers of the artifact storage.
    fn markers(&self) -> Answer<'_, Vec<MarkerInfo>>;
    /// Publishes marker `name` (only to a greater version with `if_newer`), as `marker publish`
    /// does; its JSON report.
    fn publish_marker(
        &self,
        name: String,
        value: String,
        if_newer: bool,
    ) -> Pin<Box<dyn Future<Output = Result<serde_json::Value, MarkerRefusal>> + Send + '_>>;
}

/// Why a marker was not published.
#[derive(Debug, Clone)]
pub enum MarkerRefusal {
    /// The name or value is not acceptable (400).
    Invalid(String),
    /// Another publisher moved it meanwhile (409).
    Conflict(String),
    /// The storage failed (502).
    Storage(String),
}

#[derive(Debug, Deserialize)]
pub(crate) struct PublishBody {
    value: String,
    #[serde(default)]
    if_newer: bool,
}

/// `POST /api/v1/markers/{name}` (a nested name with its slashes as `%2F`) with `{"value": "...", "if_newer": true}` and the bearer token.
pub(crate) async fn publish(
    State(shared): State<Shared>,
    axum::extract::Path(name): axum::extract::Path<String>,
    headers: axum::http::HeaderMap,
    body: Result<Json<PublishBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    use axum::http::StatusCode;
    if let Err(message) = shared.auth.check_api(&headers) {
        return crate::auth::api_refusal(message);
    }
    let Json(body) = match body {
        Ok(body) => body,
        Err(rejection) => return crate::api::error(StatusCode::BAD_REQUEST, &rejection.body_text()),
    };
    let Some(releases) = &shared.releases else {
        return crate::api::error(StatusCode::NOT_FOUND, "this server was started without a project");
    };
    if body.value.trim().is_empty() || body.value.contains(['\n', '\r']) {
        return crate::api::error(StatusCode::BAD_REQUEST, "a marker's value is one line, not empty");
    }
    match releases.publish_marker(name, body.value, body.if_newer).await {
        Ok(report) => Json(report).into_response(),
        Err(MarkerRefusal::Invalid(message)) => crate::api::error(StatusCode::BAD_REQUEST, &message),
        Err(MarkerRefusal::Conflict(message)) => crate::api::error(StatusCode::CONFLICT, &message),
        Err(MarkerRefusal::Storage(message)) => crate::api::error(StatusCode::BAD_GATEWAY, &message),
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ReleasesQuery {
    /// Any value but empty or `0`: read the registries too (slower).
    registries: Option<String>,
}

impl ReleasesQuery {
    fn registries(&self) -> bool {
        self.registries.as_deref().is_some_and(|value| !value.is_empty() && value != "0")
    }
}

/// `GET /releases?registries=1`.
pub(crate) async fn page(State(shared): State<Shared>, Query(query): Query<ReleasesQuery>) -> Response {
    let mut body = String::from("<h1>Releases</h1>\n");
    let Some(releases) = &shared.releases else {
        body.push_str("<p class=\"note\">This server was started without a project.</p>\n");
        return html::page("Releases", &body, None);
    };
    let registries = query.registries();
    match releases.audit(registries).await {
        Ok(report) => audit(&mut body, &report, registries),
        Err(message) => {
            let _ = writeln!(body, "<p class=\"note\">The ledger could not be audited: {}</p>", escape(&message));
        }
    }
    body.push_str("<h2 id=\"markers\">Version markers</h2>\n");
    match releases.markers().await {
        Ok(markers) if markers.is_empty() => {
            body.push_str(
                "<p class=\"note\">No markers (<code>slipway marker publish NAME VALUE</code> writes one).</p>\n",
            );
        }
        Ok(markers) => {
            body.push_str("<table class=\"markers\"><thead><tr><th>Marker</th><th>Value</th></tr></thead><tbody>\n");
            for marker in &markers {
                let _ = writeln!(
                    body,
                    "<tr><td title=\"{}\">{}</td><td><code>{}</code></td></tr>",
                    escape(&marker.url),
                    escape(&marker.name),
                    escape(&marker.value)
                );
            }
            body.push_str("</tbody></table>\n");
        }
        Err(message) => {
            let _ = writeln!(body, "<p class=\"note\">The markers could not be read: {}</p>", escape(&message));
        }
    }
    html::page("Releases", &body, None)
}

fn audit(body: &mut String, report: &AuditReport, registries: bool) {
    let summary = &report.summary;
    let _ = writeln!(
        body,
        "<p class=\"summary\">{} recorded {} in <code>{}</code>: {} changed, {} without a usable record; {} errors, {} warnings. {}</p>",
        summary.releases,
        if summary.releases == 1 { "release" } else { "releases" },
        escape(&report.storage),
        summary.changed,
        summary.unusable,
        summary.errors,
        summary.warnings,
        if registries {
            "Registries read.".to_owned()
        } else {
            "Registries not read: <a href=\"/releases?registries=1\">read them too</a> (slower).".to_owned()
        }
    );
    for note in &report.notes {
        let _ = writeln!(body, "<p class=\"note\">{}</p>", escape(note));
    }
    for problem in &report.registry_errors {
        let _ = writeln!(
            body,
            "<p class=\"note\">Could not check {} on {}: {}</p>",
            escape(&problem.image),
            escape(&problem.registry),
            escape(&problem.message)
        );
    }
    if report.releases.is_empty() {
        body.push_str(
            "<p class=\"note\">No release is recorded: <code>slipway release bump --tag</code> records one as it tags, \
             <code>slipway release record</code> records one made before.</p>\n",
        );
        return;
    }
    body.push_str(
        "<div class=\"scroll\"><table class=\"releases\"><thead><tr><th>Tag</th><th>Recorded</th><th>Verdict</th><th>Findings</th></tr></thead><tbody>\n",
    );
    for release in &report.releases {
        let verdict_class = match release.verdict {
            "unchanged" => "state-success",
            "changed" => "state-failure",
            _ => "state-aborted",
        };
        let mut findings = String::new();
        for finding in &release.findings {
            let severity = match finding.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            let place = finding
                .file
                .as_deref()
                .map(|file| format!("{file}{}", finding.line.map(|line| format!(":{line}")).unwrap_or_default()))
                .or_else(|| finding.image.clone())
                .or_else(|| finding.subject.clone())
                .unwrap_or_default();
            let _ = write!(
                findings,
                "<li><strong>{severity}</strong> {}: found <code>{}</code>, recorded <code>{}</code>. {}</li>",
                escape(&place),
                escape(&finding.found),
                escape(&finding.expected),
                escape(&finding.message)
            );
        }
        let _ = writeln!(
            body,
            "<tr><td>{}</td><td>{}</td><td class=\"state {verdict_class}\">{}</td><td>{}</td></tr>",
            escape(&release.tag),
            escape(release.recorded_at.as_deref().unwrap_or("–")),
            release.verdict,
            if findings.is_empty() { "–".to_owned() } else { format!("<ul>{findings}</ul>") }
        );
    }
    body.push_str("</tbody></table></div>\n");
}

/// `GET /api/v1/releases?registries=1`: the audit report and the markers.
pub(crate) async fn api(State(shared): State<Shared>, Query(query): Query<ReleasesQuery>) -> Response {
    let Some(releases) = &shared.releases else {
        return Json(serde_json::json!({ "schema": RELEASES_SCHEMA, "audit": null, "markers": [] })).into_response();
    };
    let (audit, audit_error) = match releases.audit(query.registries()).await {
        Ok(report) => (serde_json::to_value(&report).unwrap_or_default(), None),
        Err(message) => (serde_json::Value::Null, Some(message)),
    };
    let (markers, markers_error) = match releases.markers().await {
        Ok(markers) => (markers, None),
        Err(message) => (Vec::new(), Some(message)),
    };
    Json(serde_json::json!({
        "schema": RELEASES_SCHEMA,
        "audit": audit,
        "audit_error": audit_error,
        "markers": markers,
        "markers_error": markers_error,
    }))
    .into_response()
}
