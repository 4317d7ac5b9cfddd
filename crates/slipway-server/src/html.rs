//! Escaping, the page frame and the style sheet. Pages are strings built here: every value
//! from the store goes through [`escape`].

use std::fmt::Write;

use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};

/// `text` safe inside an element or a quoted attribute.
pub(crate) fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// `text` safe as one component of a URL's path or query.
pub(crate) fn url_component(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            encoded.push(char::from(byte));
        } else {
            let _ = write!(encoded, "%{byte:02X}");
        }
    }
    encoded
}

/// A Unix time as people read it, in UTC.
pub(crate) fn time(seconds: Option<i64>) -> String {
    seconds
        .and_then(|seconds| jiff::Timestamp::from_second(seconds).ok())
        .map_or_else(|| "–".to_owned(), |time| time.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
}

/// A duration in seconds as `1h 2m 3s`.
pub(crate) fn duration(seconds: i64) -> String {
    let (hours, minutes, seconds) = (seconds / 3600, seconds % 3600 / 60, seconds % 60);
    match (hours, minutes) {
        (0, 0) => format!("{seconds}s"),
        (0, _) => format!("{minutes}m {seconds}s"),
        _ => format!("{hours}h {minutes}m {seconds}s"),
    }
}

/// A whole page: `title` (escaped here) and `body` (already HTML). `refresh`: reload after so
/// many seconds (a running run's page, without a script).
pub(crate) fn page(title: &str, body: &str, refresh: Option<u32>) -> Response {
    page_with(title, body, refresh, "")
}

/// [`page`] with more in its head (`head` is HTML: style sheets and scripts of this server).
pub(crate) fn page_with(title: &str, body: &str, refresh: Option<u32>, head: &str) -> Response {
    Html(document(title, body, refresh, head)).into_response()
}

/// The HTML of [`page_with`].
pub(crate) fn document(title: &str, body: &str, refresh: Option<u32>, head: &str) -> String {
    let refresh =
        refresh.map(|seconds| format!("<meta http-equiv=\"refresh\" content=\"{seconds}\">")).unwrap_or_default();
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">{refresh}\
         <title>{} · slipway</title><link rel=\"icon\" href=\"/favicon.svg\"><link rel=\"stylesheet\" href=\"/style.css\">{head}</head>\n\
         <body><header><a class=\"home\" href=\"/runs\">slipway</a> <nav><a href=\"/runs\">Runs</a> <a href=\"/jobs\">Jobs</a> \
         <a href=\"/grid\">Test results</a> <a href=\"/dashboards\">Dashboards</a> <a href=\"/clusters\">Clusters</a> <a href=\"/releases\">Releases</a> \
         <a href=\"/leases\">Leases</a></nav></header>\n\
         <main>\n{body}</main></body></html>\n",
        escape(title)
    )
}

/// `GET /favicon.svg`: a slipway (the ramp a ship is launched from), so the browser asks for
/// no `/favicon.ico`.
pub(crate) async fn icon() -> Response {
    const ICON: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 16 16\">\
        <path d=\"M1 13 L15 5 L15 8 L4 14 Z\" fill=\"#0550ae\"/></svg>";
    let mut response = ICON.into_response();
    response
        .headers_mut()
        .insert(axum::http::header::CONTENT_TYPE, axum::http::HeaderValue::from_static("image/svg+xml"));
    response
        .headers_mut()
        .insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("max-age=86400"));
    response
}

/// `GET /style.css`: readable without colour (states are words, not only colours), and on a
/// phone (tables scroll sideways).
pub(crate) async fn style() -> Response {
    let mut response = STYLE.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=3600"));
    response
}

const STYLE: &str = include_str!("style.css");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_quotes_are_escaped() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"y\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;y&quot;"
        );
        assert_eq!(url_component("e2e/1 x&y"), "e2e%2F1%20x%26y");
    }

    #[test]
    fn times_and_durations_read_well() {
        assert_eq!(time(Some(1_764_773_810)), "2025-12-03 14:56:50 UTC");
        assert_eq!(time(None), "–");
        assert_eq!(
            (duration(5), duration(125), duration(3725)),
            ("5s".to_owned(), "2m 5s".to_owned(), "1h 2m 5s".to_owned())
        );
    }
}
