//! Running the binary and snapshotting what it printed.

use std::path::{Path, PathBuf};
use std::process::Command;

use slipway_test::git::TempRepo;

/// What a run printed and how it ended.
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    /// Exit code, stdout and stderr as one text, with `redactions` applied (longest first) and
    /// commit ids and digests replaced.
    pub(crate) fn render(&self, redactions: &[(&str, &str)]) -> String {
        let mut text =
            format!("exit: {}\n----- stdout -----\n{}----- stderr -----\n{}", self.code, self.stdout, self.stderr);
        let mut redactions = redactions.to_vec();
        redactions.sort_by_key(|(from, _)| std::cmp::Reverse(from.len()));
        for (from, to) in redactions {
            if !from.is_empty() {
                text = text.replace(from, to);
            }
        }
        redact_hex(&redact_temporary_paths(&text))
    }
}

/// Replaces temporary directories (`/tmp/.tmpAbC123`) with `[TMP]`.
fn redact_temporary_paths(text: &str) -> String {
    let prefix = format!("{}/.tmp", std::env::temp_dir().display().to_string().trim_end_matches('/'));
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(&prefix) {
        out.push_str(&rest[..start]);
        let after = &rest[start + prefix.len()..];
        let name = after.bytes().take_while(u8::is_ascii_alphanumeric).count();
        out.push_str("[TMP]");
        rest = &after[name..];
    }
    out.push_str(rest);
    out
}

impl Run {
    /// [`Run::render`] with the repository's path shown as `[REPO]` and its commit ids (full and
    /// abbreviated) as `[COMMIT]` and `[SHORT]`, plus `extra` redactions.
    pub(crate) fn render_for(&self, repo: &TempRepo, extra: &[(&str, &str)]) -> String {
        let path = repo.path().display().to_string();
        let commits: Vec<String> = repo.git(&["rev-list", "--all"]).lines().map(str::to_owned).collect();
        let shorts: Vec<String> = commits.iter().map(|commit| commit[..12].to_owned()).collect();
        let mut redactions: Vec<(&str, &str)> = vec![(&path, "[REPO]")];
        redactions.extend(commits.iter().map(|commit| (commit.as_str(), "[COMMIT]")));
        redactions.extend(shorts.iter().map(|short| (short.as_str(), "[SHORT]")));
        redactions.extend_from_slice(extra);
        self.render(&redactions)
    }
}

/// Replaces `sha256:<64 hex>` with `[DIGEST]`, 40-hex commit ids with `[COMMIT]` and the
/// 12-hex abbreviations slipway prints with `[SHORT]`.
fn redact_hex(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let bytes = text.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        let run = bytes[index..].iter().take_while(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b)).count();
        let boundary_before = index == 0 || !bytes[index - 1].is_ascii_alphanumeric();
        let boundary_after = bytes.get(index + run).is_none_or(|b| !b.is_ascii_alphanumeric());
        if boundary_before && boundary_after && (run == 40 || run == 12 || run == 64) {
            let has_letter = bytes[index..index + run].iter().any(u8::is_ascii_alphabetic);
            if run == 64 || has_letter {
                out.push_str(match run {
                    64 => "[HEX64]",
                    40 => "[COMMIT]",
                    _ => "[SHORT]",
                });
                index += run;
                continue;
            }
        }
        let next = text[index..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&text[index..index + next]);
        index += next;
    }
    out.replace("sha256:[HEX64]", "[DIGEST]")
}

/// [`Run::render`] with run ids, build ids, times, durations, pids and the host name replaced.
pub(crate) fn render_runs(run: &Run, project: &Path) -> String {
    let path = project.display().to_string();
    let text = run.render(&[(&path, "[PROJECT]")]);
    let host = fs_err::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default().trim().to_owned();
    let replacements = [
        // The last group of a run id is 12 hex digits, which `render` has already made [SHORT].
        (r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-(\[SHORT\]|\d{12})", "[RUN-ID]"),
        (r"\b\d{18,20}\b", "[BUILD]"),
        (r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\dZ", "[TIME]"),
        (r"(\[TIME\] +)\d+(m\d+)?s", "${1}[TOOK]"),
        (r"pid \d+", "pid [PID]"),
    ];
    let mut text = text;
    for (pattern, with) in replacements {
        text = regex::Regex::new(pattern).expect("pattern").replace_all(&text, with).into_owned();
    }
    if host.is_empty() {
        return text;
    }
    text.replace(&format!(" on {host} "), " on [HOST] ").replace(&format!(" on {host})"), " on [HOST])")
}

/// A project directory whose slipway.yaml is `config`.
pub(crate) fn project(config: &str) -> tempfile::TempDir {
    let directory = tempfile::tempdir().expect("temporary directory");
    fs_err::write(directory.path().join("slipway.yaml"), config).expect("write slipway.yaml");
    directory
}

/// `text` parsed as JSON; the test fails showing the text when it is not JSON.
pub(crate) fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|error| panic!("not JSON ({error}): {text}"))
}

/// The one build directory of `job`.
pub(crate) fn build_dir(project: &Path, job: &str) -> PathBuf {
    let logs = project.join(".slipway/artifacts/logs").join(job);
    let builds: Vec<PathBuf> = fs_err::read_dir(&logs)
        .expect("job directory")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.is_dir())
        .collect();
    assert_eq!(builds.len(), 1, "{builds:?}");
    builds[0].clone()
}

/// Runs `slipway` with `args` in `directory`, in a clean environment.
pub(crate) fn slipway(directory: &Path, args: &[&str]) -> Run {
    slipway_with_env(directory, args, &[])
}

/// [`slipway`] with some environment variables set.
pub(crate) fn slipway_with_env(directory: &Path, args: &[&str], environment: &[(&str, &str)]) -> Run {
    let docker_config = tempfile::tempdir().expect("temporary directory");
    let output = Command::new(env!("CARGO_BIN_EXE_slipway"))
        .args(args)
        .current_dir(directory)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", docker_config.path())
        .env("DOCKER_CONFIG", docker_config.path())
        .env("NO_COLOR", "1")
        .envs(environment.iter().copied())
        .output()
        .expect("the slipway binary runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

pub(crate) use slipway_test::paths::{corpus, example};

/// A git repository holding a copy of the example project, committed, untagged, with an origin.
pub(crate) fn example_repo() -> TempRepo {
    let repo = TempRepo::new();
    repo.copy_tree(&example(), ".");
    repo.git(&["remote", "add", "origin", "https://github.com/example-org/hello-operator.git"]);
    repo.commit("hello-operator v0.4.0");
    repo
}

/// Replaces `from` with `to` in a file of the repository.
pub(crate) fn edit(repo: &TempRepo, path: &str, from: &str, to: &str) {
    let text = repo.read(path);
    assert!(text.contains(from), "`{path}` does not contain `{from}`");
    repo.write(path, &text.replace(from, to));
}
