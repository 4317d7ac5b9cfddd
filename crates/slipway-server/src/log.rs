//! A run's build log: where it is, its tail for the run page, and the whole of it streamed.

use std::io::SeekFrom;
use std::path::PathBuf;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use slipway_store::Run;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::{Shared, store_error};

/// How much of the end of a log the run page shows.
pub(crate) const TAIL_BYTES: u64 = 64 * 1024;

/// The file of a run's log: its live copy while it runs, else `build-log.txt` in its
/// artifacts when they are a local directory.
fn location(run: &Run) -> Option<PathBuf> {
    let live = PathBuf::from(&run.log_path);
    if !run.log_path.is_empty() && live.is_file() {
        return Some(live);
    }
    let directory = run.artifacts.strip_prefix("file://").unwrap_or(&run.artifacts);
    if directory.starts_with('/') {
        let log = PathBuf::from(directory).join("build-log.txt");
        if log.is_file() {
            return Some(log);
        }
    }
    None
}

/// The end of a log.
pub(crate) struct Tail {
    pub(crate) text: String,
    /// Bytes before it that are not shown.
    pub(crate) cut: u64,
}

/// The last [`TAIL_BYTES`] of a run's log, from a line start, and the log's size when it was
/// read (where a live tail goes on from); memory stays that size whatever the log's.
pub(crate) async fn tail_and_end(run: &Run) -> Option<(Tail, u64)> {
    let path = location(run)?;
    let mut file = tokio::fs::File::open(&path).await.ok()?;
    let size = file.metadata().await.ok()?.len();
    let start = size.saturating_sub(TAIL_BYTES);
    file.seek(SeekFrom::Start(start)).await.ok()?;
    let mut bytes = Vec::with_capacity(usize::try_from(size - start).unwrap_or_default());
    file.read_to_end(&mut bytes).await.ok()?;
    let mut cut = start;
    if start > 0 {
        // Start at the first whole line.
        let skip = bytes.iter().position(|&byte| byte == b'\n').map_or(0, |newline| newline + 1);
        bytes.drain(..skip);
        cut += skip as u64;
    }
    Some((Tail { text: String::from_utf8_lossy(&bytes).into_owned(), cut }, size))
}

/// Whether a log line reports a failure (it is highlighted).
pub(crate) fn is_failing_line(line: &str) -> bool {
    const MARKS: [&str; 8] = ["--- FAIL", "[FAILED]", "FAIL:", "panic:", "Error:", "ERROR", "error:", "fatal:"];
    MARKS.iter().any(|mark| line.contains(mark))
}

/// The most one answer of [`more`] carries.
const CHUNK_BYTES: u64 = 1024 * 1024;

#[derive(Debug, serde::Deserialize)]
pub(crate) struct MoreQuery {
    from: Option<u64>,
}

/// How much of a log is read at a time when it is streamed whole (4 KiB reads cap a stream at
/// about 150 MB/s; 256 KiB ones at over 1 GB/s, memory still flat).
const STREAM_CHUNK: usize = 256 * 1024;

/// The schema of `/api/v1/runs/{id}/log`.
pub const LOG_SCHEMA: &str = "slipway.api.log/v1";

/// `GET /api/v1/runs/{id}/log?from=N`: the log from byte `N` on (at most 1 MiB, ending at a
/// line end when there is one), where the next read starts, and whether the run is still
/// running: what the run page's live tail polls.
pub(crate) async fn more(
    State(shared): State<Shared>,
    Path(id): Path<String>,
    axum::extract::Query(query): axum::extract::Query<MoreQuery>,
) -> Response {
    let run = match shared.store.find_run(&id).await {
        Ok(Some(run)) => run,
        Ok(None) => return crate::api::error(StatusCode::NOT_FOUND, &format!("no run `{id}`")),
        Err(error) => return store_error(&error),
    };
    let from = query.from.unwrap_or(0);
    let running = !run.state.is_finished();
    let (text, next) = match location(&run) {
        None => (String::new(), from),
        Some(path) => match read_from(&path, from).await {
            Ok(read) => read,
            Err(error) => {
                return crate::api::error(StatusCode::NOT_FOUND, &format!("cannot read the log: {error}"));
            }
        },
    };
    axum::Json(serde_json::json!({
        "schema": LOG_SCHEMA,
        "from": from,
        "next": next,
        "text": text,
        "running": running,
        "state": run.state.as_str(),
    }))
    .into_response()
}

/// The log from `from` on, at most [`CHUNK_BYTES`], cut after its last line end (or at a
/// character boundary when a line is longer than that); returns the text and where the next
/// read starts.
async fn read_from(path: &std::path::Path, from: u64) -> std::io::Result<(String, u64)> {
    let mut file = tokio::fs::File::open(path).await?;
    let size = file.metadata().await?.len();
    if from >= size {
        return Ok((String::new(), from.min(size)));
    }
    file.seek(SeekFrom::Start(from)).await?;
    let mut bytes = Vec::new();
    (&mut file).take(CHUNK_BYTES).read_to_end(&mut bytes).await?;
    let end = match bytes.iter().rposition(|&byte| byte == b'\n') {
        Some(newline) => newline + 1,
        // A partial line: wait for its end, unless it fills a whole chunk.
        None if bytes.len() < CHUNK_BYTES as usize => 0,
        None => match std::str::from_utf8(&bytes) {
            Ok(_) => bytes.len(),
            Err(error) => error.valid_up_to(),
        },
    };
    bytes.truncate(end);
    Ok((String::from_utf8_lossy(&bytes).into_owned(), from + end as u64))
}

/// `GET /live.js`: the run page's live tail.
pub(crate) async fn script() -> Response {
    let mut response = LIVE.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8"));
    response
}

const LIVE: &str = include_str!("live.js");

/// `GET /runs/{id}/log`: the whole log as text, streamed from the file.
pub(crate) async fn whole(State(shared): State<Shared>, Path(id): Path<String>) -> Response {
    let run = match shared.store.find_run(&id).await {
        Ok(Some(run)) => run,
        Ok(None) => return (StatusCode::NOT_FOUND, format!("no run `{id}`")).into_response(),
        Err(error) => return store_error(&error),
    };
    let Some(path) = location(&run) else {
        return (StatusCode::NOT_FOUND, format!("no log for run `{id}`")).into_response();
    };
    let file = match tokio::fs::File::open(&path).await {
        Ok(file) => file,
        Err(error) => return (StatusCode::NOT_FOUND, format!("cannot read the log: {error}")).into_response(),
    };
    let mut response =
        Body::from_stream(tokio_util::io::ReaderStream::with_capacity(file, STREAM_CHUNK)).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}
