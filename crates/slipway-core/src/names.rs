//! The one rule for job names, shared by slipway.yaml, Prow imports, the store and the artifact
//! layout, so a name that loads is a name that runs (`.` and `..` passed `job list` and then
//! failed in `job run`, where the name becomes a directory).

/// Checks a job name: 1 to 255 letters, digits, `-`, `.` and `_`, not starting with `.`. The
/// error is a fragment for "job name `x` ...".
pub fn job(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("is empty".to_owned());
    }
    if name.len() > 255 {
        return Err("is longer than 255 characters".to_owned());
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')) {
        return Err("may only contain letters, digits, `-`, `.` and `_`".to_owned());
    }
    if name.starts_with('.') {
        return Err("cannot start with `.` (it names a directory of the artifact layout)".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_names() {
        for name in ["unit", "pull-descheduler-test-e2e-k8s-release-1-36", "ci_kops.e2e", "a"] {
            assert_eq!(job(name), Ok(()), "{name}");
        }
        for name in ["", ".", "..", ".hidden", "a/b", "a b", "ünit", &"x".repeat(256)] {
            assert!(job(name).is_err(), "{name:?}");
        }
    }
}
