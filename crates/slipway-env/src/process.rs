//! Running kind and the container engine: short queries whose output is read, and long
//! commands whose output goes to a log that is kept.

use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

/// Runs a short command and returns its stdout when it succeeds within 20 s.
pub(crate) async fn output(program: &OsStr, args: &[&str], env: &[(OsString, OsString)]) -> Option<String> {
    let mut command = tokio::process::Command::new(program);
    command.args(args).envs(env.iter().cloned()).stdin(Stdio::null()).kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(20), command.output()).await.ok()?.ok()?;
    output.status.success().then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Runs a command with its output appended to `log` (after a `$ command` line).
pub(crate) async fn logged(
    program: &OsStr,
    args: &[String],
    env: &[(OsString, OsString)],
    log: &Path,
) -> Result<ExitStatus, String> {
    use std::io::Write;
    let mut file = fs_err::OpenOptions::new().create(true).append(true).open(log).map_err(|error| error.to_string())?;
    let _ = writeln!(file, "$ {} {}", program.to_string_lossy(), args.join(" "));
    let stdout = file.file().try_clone().map_err(|error| error.to_string())?;
    let stderr = file.file().try_clone().map_err(|error| error.to_string())?;
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .envs(env.iter().cloned())
        .stdin(Stdio::null())
        .stdout(Stdio::from(stdout))
        .stderr(Stdio::from(stderr))
        .kill_on_drop(true);
    let mut child = command.spawn().map_err(|error| error.to_string())?;
    child.wait().await.map_err(|error| error.to_string())
}

/// An exit status in words.
pub(crate) fn describe(status: ExitStatus) -> String {
    match status.code() {
        Some(code) => format!("exit status {code}"),
        None => "killed by a signal".to_owned(),
    }
}

/// The last lines of a log, indented, for an error message.
pub(crate) fn tail(log: &Path) -> String {
    let text = fs_err::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(15);
    lines[start..].iter().map(|line| format!("  | {line}")).collect::<Vec<_>>().join("\n")
}
