//! A run's files: the listing of its build directory (local or in a bucket) and each file
//! streamed for download (`/runs/{id}/artifacts/{path}`), never held whole.
//!
//! Artifacts are written by jobs, so they are hostile: only images and JSON keep their type,
//! everything else is sent as plain text or as an attachment, under the server's Content
//! Security Policy, so an HTML artifact can never run as this site's page.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use slipway_artifacts::Storage;
use slipway_store::Run;

use crate::{Shared, store_error};

/// The schema of `/api/v1/runs/{id}/artifacts`.
pub const ARTIFACTS_SCHEMA: &str = "slipway.api.artifacts/v1";
/// How long a listing may take: a page waits for it (an unreachable bucket must not hold it).
const LIST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);
/// The most files a listing shows.
pub(crate) const MAX_LISTED: usize = 2_000;

/// The run's build directory as storage, when it has one.
fn storage_of(run: &Run) -> Result<Storage, String> {
    if run.artifacts.is_empty() {
        return Err("this run has no artifacts location".to_owned());
    }
    Storage::open(&run.artifacts).map_err(|error| format!("cannot open `{}`: {error}", run.artifacts))
}

/// The files of `run`'s build directory with their sizes, sorted; at most [`MAX_LISTED`].
pub(crate) async fn listing(run: &Run) -> Result<Vec<(String, u64)>, String> {
    if run.artifacts.is_empty() {
        return Ok(Vec::new());
    }
    let storage = storage_of(run)?;
    let listed = tokio::time::timeout(LIST_TIMEOUT, storage.list_sized(""))
        .await
        .map_err(|_| format!("listing `{}` took over {} s", run.artifacts, LIST_TIMEOUT.as_secs()))?;
    let mut files =
        listed.map_err(|error| format!("cannot list `{}`: {}", run.artifacts, slipway_core::errors::chain(&error)))?;
    files.truncate(MAX_LISTED);
    Ok(files)
}

/// A key of the build directory as a request gives it: relative, without `.` or `..` parts.
fn safe_key(path: &str) -> Option<String> {
    let parts: Vec<&str> = path.split('/').filter(|part| !part.is_empty()).collect();
    let bad = |part: &&str| *part == "." || *part == ".." || part.contains('\\') || part.contains('\0');
    (!parts.is_empty() && !parts.iter().any(bad)).then(|| parts.join("/"))
}

/// What a file is sent as: `(content type, whether as an attachment)`.
fn content_type(key: &str) -> (&'static str, bool) {
    let extension = key.rsplit_once('.').map(|(_, extension)| extension.to_ascii_lowercase()).unwrap_or_default();
    match extension.as_str() {
        "png" => ("image/png", false),
        "jpg" | "jpeg" => ("image/jpeg", false),
        "gif" => ("image/gif", false),
        "json" => ("application/json", false),
        "gz" | "tgz" | "tar" | "zip" | "zst" | "xz" | "bz2" | "bin" | "exe" | "so" | "a" | "o" | "pprof" => {
            ("application/octet-stream", true)
        }
        // Logs, XML, YAML, HTML and anything else: text, shown as it is, never as a page.
        _ => ("text/plain; charset=utf-8", false),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct DownloadQuery {
    /// Any value: send the file as an attachment.
    download: Option<String>,
}

/// `GET /runs/{id}/artifacts/{*path}`.
pub(crate) async fn download(
    State(shared): State<Shared>,
    Path((id, path)): Path<(String, String)>,
    Query(query): Query<DownloadQuery>,
) -> Response {
    let run = match shared.store.find_run(&id).await {
        Ok(Some(run)) => run,
        Ok(None) => return crate::pages::not_found_of(&format!("no run `{id}`")),
        Err(error) => return store_error(&error),
    };
    let Some(key) = safe_key(&path) else {
        return (StatusCode::BAD_REQUEST, "a file of the run is a relative path without `.` or `..` parts")
            .into_response();
    };
    let storage = match storage_of(&run) {
        Ok(storage) => storage,
        Err(message) => return crate::pages::not_found_of(&message),
    };
    let (size, stream) = match storage.stream(&key).await {
        Ok(Some(found)) => found,
        Ok(None) => return crate::pages::not_found_of(&format!("run `{}` has no file `{key}`", run.id)),
        Err(error) => {
            return (StatusCode::BAD_GATEWAY, format!("cannot read `{key}`: {}", slipway_core::errors::chain(&error)))
                .into_response();
        }
    };
    let (kind, attachment) = content_type(&key);
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    if attachment || query.download.is_some() {
        let name = key.rsplit('/').next().unwrap_or("artifact");
        let name: String = name.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')).collect();
        if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
            headers.insert(header::CONTENT_DISPOSITION, value);
        }
    }
    response
}

/// `GET /api/v1/runs/{id}/artifacts`.
pub(crate) async fn api(State(shared): State<Shared>, Path(id): Path<String>) -> Response {
    let run = match shared.store.find_run(&id).await {
        Ok(Some(run)) => run,
        Ok(None) => return crate::api::error(StatusCode::NOT_FOUND, &format!("no run `{id}`")),
        Err(error) => return store_error(&error),
    };
    match listing(&run).await {
        Ok(files) => {
            let files: Vec<_> = files
                .iter()
                .map(|(path, size)| {
                    serde_json::json!({
                        "path": path,
                        "size": size,
                        "url": format!("/runs/{}/artifacts/{}", crate::html::url_component(&run.id), path_url(path)),
                    })
                })
                .collect();
            Json(serde_json::json!({
                "schema": ARTIFACTS_SCHEMA,
                "run": run.id,
                "location": run.artifacts,
                "truncated": files.len() >= MAX_LISTED,
                "files": files,
            }))
            .into_response()
        }
        Err(message) => crate::api::error(StatusCode::BAD_GATEWAY, &message),
    }
}

/// A key as a URL path: each part encoded, the slashes kept.
pub(crate) fn path_url(key: &str) -> String {
    key.split('/').map(crate::html::url_component).collect::<Vec<_>>().join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_stay_inside_the_build_directory() {
        assert_eq!(safe_key("artifacts/junit.xml").as_deref(), Some("artifacts/junit.xml"));
        assert_eq!(safe_key("/build-log.txt").as_deref(), Some("build-log.txt"));
        assert_eq!(safe_key("../../etc/passwd"), None);
        assert_eq!(safe_key("artifacts/./x"), None);
        assert_eq!(safe_key("a\\..\\b"), None);
        assert_eq!(safe_key(""), None);
    }

    #[test]
    fn only_safe_types_keep_their_type() {
        assert_eq!(content_type("artifacts/report.html"), ("text/plain; charset=utf-8", false));
        assert_eq!(content_type("artifacts/logo.svg"), ("text/plain; charset=utf-8", false));
        assert_eq!(content_type("artifacts/junit.xml"), ("text/plain; charset=utf-8", false));
        assert_eq!(content_type("finished.json"), ("application/json", false));
        assert_eq!(content_type("dump.tar.gz"), ("application/octet-stream", true));
    }
}
