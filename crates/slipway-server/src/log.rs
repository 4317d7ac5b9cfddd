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

/// The last [`TAIL_BYTES`] of a run's log, from a line start; memory stays that size whatever
/// the log's.
pub(crate) async fn tail(run: &Run) -> Option<Tail> {
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
    Some(Tail { text: String::from_utf8_lossy(&bytes).into_owned(), cut })
}

/// Whether a log line reports a failure (it is highlighted).
pub(crate) fn is_failing_line(line: &str) -> bool {
    const MARKS: [&str; 8] = ["--- FAIL", "[FAILED]", "FAIL:", "panic:", "Error:", "ERROR", "error:", "fatal:"];
    MARKS.iter().any(|mark| line.contains(mark))
}

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
    let mut response = Body::from_stream(tokio_util::io::ReaderStream::new(file)).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}
