//! Headless Chromium (Debian's `chromium`, installed by `scripts/test-services.sh start`): a
//! page's DOM after its scripts ran, and screenshots.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs headless Chromium with `args` and returns its stdout, with name resolution disabled so
/// that nothing could be fetched from elsewhere (loopback addresses still work).
///
/// # Panics
///
/// When Chromium is missing, fails, or takes over 90 s.
fn chromium(args: &[&str]) -> String {
    let profile = tempfile::tempdir().expect("temporary directory");
    let mut child = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-extensions",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium runs (`scripts/test-services.sh start` installs Debian's chromium package)");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 90 s: {}", err.join().unwrap_or_default());
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let output = out.join().expect("stdout reader");
    let log = err.join().expect("stderr reader");
    assert!(status.success(), "chromium failed ({status}): {log}");
    output
}

/// The DOM of `url` after its scripts ran.
///
/// # Panics
///
/// As [`chromium`] does, or when what it printed is not a page.
pub fn dump_dom(url: &str) -> String {
    let dom = chromium(&["--dump-dom", url]);
    assert!(dom.contains("</html>"), "chromium printed no page for {url}: {dom}");
    dom
}

/// Saves a screenshot of `url` as a PNG at `path`, in a window of `width` × `height`.
///
/// # Panics
///
/// As [`chromium`] does, or when no PNG was written.
pub fn screenshot(url: &str, path: &Path, width: u32, height: u32) {
    chromium(&[&format!("--screenshot={}", path.display()), &format!("--window-size={width},{height}"), url]);
    let bytes = fs_err::read(path).expect("the screenshot was written");
    assert!(bytes.starts_with(b"\x89PNG"), "not a PNG: {}", path.display());
}
