//! Running the build commands, one per platform, in parallel.
//!
//! Each command runs under `sh -c` in the project directory with `SOURCE_DATE_EPOCH` set; the
//! platform reaches it only through the `{os}`, `{arch}` and `{variant}` placeholders, so a
//! command that is the same for every platform (no placeholders) is the same work and runs once.
//! Its stdout and stderr share one pipe, so a failure is shown with its output in order.

use std::collections::VecDeque;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;

use slipway_core::progress::Progress;

use crate::build::Error;

/// One command to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// For messages: `image linux/arm64`.
    pub label: String,
    /// The command, placeholders filled.
    pub command: String,
    /// Extra environment.
    pub env: Vec<(String, String)>,
}

/// Runs every job, at most `parallel` at once; the first failure (in job order) is the error.
pub fn run(jobs: &[Job], directory: &Path, parallel: usize, progress: &dyn Progress) -> Result<(), Error> {
    let mut unique: Vec<&Job> = Vec::new();
    for job in jobs {
        if !unique.iter().any(|seen| seen.command == job.command && seen.env == job.env) {
            unique.push(job);
        }
    }
    if unique.is_empty() {
        return Ok(());
    }
    progress.begin(unique.len() as u64, "building");
    let queue: Mutex<VecDeque<(usize, &Job)>> = Mutex::new(unique.iter().copied().enumerate().collect());
    let failures: Mutex<Vec<(usize, Error)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..parallel.clamp(1, unique.len()) {
            scope.spawn(|| {
                loop {
                    let next = queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop_front();
                    let Some((position, job)) = next else {
                        break;
                    };
                    if let Err(error) = run_one(job, directory) {
                        failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((position, error));
                    }
                    progress.advance(&job.label);
                }
            });
        }
    });
    progress.end();
    let mut failures = failures.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
    failures.sort_by_key(|(position, _)| *position);
    match failures.into_iter().next() {
        Some((_, error)) => Err(error),
        None => Ok(()),
    }
}

fn run_one(job: &Job, directory: &Path) -> Result<(), Error> {
    let failed = |status: String, output: String| Error::BuildFailed {
        job: job.label.clone(),
        command: job.command.clone(),
        status,
        output,
    };
    let (mut reader, writer) = std::io::pipe().map_err(|error| failed("could not start".into(), error.to_string()))?;
    let stderr = writer.try_clone().map_err(|error| failed("could not start".into(), error.to_string()))?;
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(&job.command)
        .current_dir(directory)
        .envs(job.env.iter().map(|(key, value)| (key.as_str(), value.as_str())))
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(stderr);
    let mut child = command.spawn().map_err(|error| failed("could not start".into(), format!("sh: {error}")))?;
    // The command holds the pipe's write ends; without dropping it the read never ends.
    drop(command);
    let mut output = Vec::new();
    let read = reader.read_to_end(&mut output);
    let status = child.wait().map_err(|error| failed("lost".into(), error.to_string()))?;
    read.map_err(|error| failed("output unreadable".into(), error.to_string()))?;
    if status.success() {
        Ok(())
    } else {
        Err(failed(status.to_string(), String::from_utf8_lossy(&output).into_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use slipway_core::progress::Quiet;

    fn job(label: &str, command: &str) -> Job {
        Job {
            label: label.to_owned(),
            command: command.to_owned(),
            env: vec![("SOURCE_DATE_EPOCH".into(), "0".into())],
        }
    }

    #[test]
    fn runs_every_platform_in_the_directory() {
        let directory = tempfile::tempdir().expect("temporary directory");
        let jobs = [
            job("amd64", "mkdir -p out && echo amd64 > out/amd64"),
            job("arm64", "mkdir -p out && echo arm64 > out/arm64"),
        ];
        run(&jobs, directory.path(), 2, &Quiet).expect("both succeed");
        assert_eq!(fs_err::read_to_string(directory.path().join("out/arm64")).expect("written"), "arm64\n");
        assert_eq!(fs_err::read_to_string(directory.path().join("out/amd64")).expect("written"), "amd64\n");
    }

    #[test]
    fn a_failure_carries_its_output_in_order() {
        let directory = tempfile::tempdir().expect("temporary directory");
        let jobs = [job("amd64", "true"), job("arm64", "echo compiling; echo 'undefined: foo' >&2; exit 2")];
        let error = run(&jobs, directory.path(), 2, &Quiet).expect_err("arm64 fails");
        let Error::BuildFailed { job, status, output, .. } = error else { panic!("not a build failure: {error}") };
        assert_eq!(job, "arm64");
        assert_eq!(status, "exit status: 2");
        assert_eq!(output, "compiling\nundefined: foo\n");
    }

    #[test]
    fn a_command_without_placeholders_runs_once() {
        let directory = tempfile::tempdir().expect("temporary directory");
        let jobs = [job("amd64", "echo x >> ran"), job("arm64", "echo x >> ran")];
        run(&jobs, directory.path(), 2, &Quiet).expect("succeeds");
        assert_eq!(fs_err::read_to_string(directory.path().join("ran")).expect("written"), "x\n");
    }
}
