//! The names that become object keys: job names and marker paths.
//!
//! They are checked before any request, so a typo is a usage error that names the value rather
//! than an object written somewhere unexpected. The characters allowed are those Prow job names
//! and Kubernetes and kops markers use, which every backend (and a local directory) stores as
//! themselves, without escaping.

use crate::error::{Error, Result};

fn allowed(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'-' | b'_' | b'+')
}

/// A relative path of `/`-separated segments of letters, digits, `.`, `-`, `_` and `+`.
pub(crate) fn relative_path(what: &'static str, value: &str) -> Result<()> {
    let invalid = |reason: &str| Error::Invalid { what, value: value.to_owned(), reason: reason.to_owned() };
    if value.is_empty() {
        return Err(invalid("it is empty"));
    }
    if value.starts_with('/') {
        return Err(invalid("it is relative to the storage, so it cannot start with `/`"));
    }
    for segment in value.split('/') {
        if segment.is_empty() || segment == "." || segment == ".." {
            return Err(invalid("a path segment is empty, `.` or `..`"));
        }
        if segment.starts_with('.') {
            return Err(invalid("a path segment cannot start with `.`"));
        }
        if !segment.bytes().all(allowed) {
            return Err(invalid("use letters, digits, `.`, `-`, `_`, `+` and `/` between segments"));
        }
    }
    Ok(())
}

/// A Prow job name: one segment.
pub(crate) fn job(value: &str) -> Result<()> {
    slipway_core::names::job(value).map_err(|reason| Error::Invalid {
        what: "job name",
        value: value.to_owned(),
        reason: format!("it {reason}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_and_job_names() {
        for good in [
            "stable-1.31.txt",
            "markers/master/latest-ci.txt",
            "markers/v1.31.0+build/x.txt",
            "ci/fast/latest-fast.txt",
        ] {
            relative_path("marker name", good).expect(good);
        }
        for bad in [
            "",
            "/stable.txt",
            "a//b.txt",
            "../x.txt",
            "./x.txt",
            "a/../b",
            ".hidden.txt",
            "a b.txt",
            "a#1.txt",
            "é.txt",
        ] {
            let error = relative_path("marker name", bad).expect_err(bad);
            assert_eq!(error.exit_code(), slipway_core::exit::USAGE);
            assert!(error.to_string().starts_with(&format!("invalid marker name `{bad}`")), "{error}");
        }
        job("ci-kubernetes-e2e-gce").expect("a job name");
        assert!(job("a/b").is_err());
    }
}
