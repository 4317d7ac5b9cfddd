//! One plain HTTP/1.1 request per connection: enough to make buckets and put objects in the
//! emulators, which need no TLS, without an HTTP client in the test support.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// What a server answered.
pub(crate) struct Response {
    /// The status code (0 when the status line could not be read).
    pub(crate) status: u16,
    /// The whole response, headers and body, for messages.
    pub(crate) text: String,
}

/// Sends `method target` to `address` with `headers` and `body`, and reads the whole answer.
///
/// # Panics
///
/// When the server cannot be reached.
pub(crate) fn request(address: &str, method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
    let mut stream = TcpStream::connect(address).unwrap_or_else(|error| panic!("connect to {address}: {error}"));
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(body)).expect("send the request");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).expect("read the response");
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text.lines().next().and_then(|line| line.split(' ').nth(1)).and_then(|code| code.parse().ok());
    Response { status: status.unwrap_or(0), text }
}

/// `value` percent-encoded for a URL path segment or query value (all but unreserved bytes).
pub(crate) fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(byte).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// A bucket or container name no other test (or earlier run) uses, starting with `name`:
/// lowercase letters, digits and single dashes, at most 52 characters.
pub(crate) fn unique_name(name: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos =
        SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_nanos() % 1_000_000_000_000);
    // Azure refuses a leading dash and two dashes in a row.
    let mut prefix = String::new();
    for c in name.to_ascii_lowercase().chars().take(24) {
        let c = if c.is_ascii_alphanumeric() { c } else { '-' };
        if c != '-' || !(prefix.is_empty() || prefix.ends_with('-')) {
            prefix.push(c);
        }
    }
    let prefix = prefix.trim_end_matches('-');
    format!("{prefix}-{}-{nanos}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_encoded_and_unique() {
        assert_eq!(encode("logs/job/1/kubelet log #1.txt"), "logs%2Fjob%2F1%2Fkubelet%20log%20%231.txt");
        let (first, second) = (unique_name("Cli_Race"), unique_name("Cli_Race"));
        assert_ne!(first, second);
        assert!(first.starts_with("cli-race-"), "{first}");
        let long = unique_name("links_never_lead_out_of_the_artifacts");
        assert!(long.starts_with("links-never-lead-out-of-") && !long.contains("--"), "{long}");
        assert!(unique_name("_x").starts_with("x-"));
    }
}
