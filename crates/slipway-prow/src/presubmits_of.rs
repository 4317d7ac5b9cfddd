//! Reading only one repository's presubmits out of a large Prow config, fast: a file is parsed
//! only when it names the repository, and then only the lines of its `presubmits:` entry for that
//! repository. The other lines are blanked, not removed, so every line number stays true.
//!
//! YAML parsing dominates loading (test-infra's 8 MiB of job config take over 300 ms to parse);
//! `job affected` needs a few hundred of its 6,000 jobs. The cut relies only on block layout:
//! top-level keys start in column 0, and `presubmits:`'s repositories are its keys at one
//! indentation. Anything else (a flow mapping, an alias into a blanked part) makes the cut text
//! fail to parse, and the whole file is parsed instead, so the result never differs from
//! [`crate::load`]'s for the repository's presubmits.

use std::path::PathBuf;

use crate::load::{JobType, LoadError, ProwConfig, collect_files, read_file, read_text};

/// The presubmits of `repo` (`org/repo`) in `paths`, with the files they are in; other jobs and
/// presets are not read (not even the repository's postsubmits).
pub fn load_presubmits_of(paths: &[PathBuf], repo: &str) -> Result<ProwConfig, LoadError> {
    let files = collect_files(paths)?;
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get).min(files.len().max(1));
    let chunk = files.len().div_ceil(threads).max(1);
    let parts: Vec<Result<ProwConfig, LoadError>> = std::thread::scope(|scope| {
        let workers: Vec<_> = files
            .chunks(chunk)
            .map(|paths| {
                scope.spawn(move || -> Result<ProwConfig, LoadError> {
                    let mut config = ProwConfig::default();
                    for path in paths {
                        let text = read_file(path)?;
                        if !text.contains(repo) {
                            continue;
                        }
                        let mut part = ProwConfig::default();
                        let cut = cut(&text, repo);
                        let parsed = match &cut {
                            Some(cut) => read_text(path, cut, &mut part),
                            None => Err(LoadError::Shape { path: path.clone(), line: 0, message: String::new() }),
                        };
                        if parsed.is_err() {
                            part = ProwConfig::default();
                            read_text(path, &text, &mut part)?;
                        }
                        part.jobs.retain(|job| job.job_type == JobType::Presubmit && job.repo.as_deref() == Some(repo));
                        config.jobs.extend(part.jobs);
                        config.files.extend(part.files);
                    }
                    Ok(config)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    });
    let mut config = ProwConfig::default();
    for part in parts {
        let part = part?;
        config.jobs.extend(part.jobs);
        config.files.extend(part.files);
    }
    Ok(config)
}

/// `text` with every line blanked but `presubmits:` and its entry for `repo`; `None` when the
/// file has no such entry in block layout.
fn cut(text: &str, repo: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut in_presubmits = false;
    let mut repo_indent: Option<usize> = None;
    let mut keeping = false;
    let mut found = false;
    for line in text.split_inclusive('\n') {
        let content = line.trim_end_matches(['\n', '\r']);
        let trimmed = content.trim_start();
        let indent = content.len() - trimmed.len();
        let blank_or_comment = trimmed.is_empty() || trimmed.starts_with('#');
        if !blank_or_comment && indent == 0 {
            // A top-level key (or a document marker) ends whatever came before.
            in_presubmits = key_of(trimmed) == Some("presubmits");
            repo_indent = None;
            keeping = false;
            if in_presubmits {
                out.push_str(line);
                continue;
            }
        } else if in_presubmits && !blank_or_comment {
            let indent_of_repos = *repo_indent.get_or_insert(indent);
            // A job list may sit at its repository's indentation (`  - name: x`).
            if indent == indent_of_repos && !trimmed.starts_with('-') {
                keeping = key_of(trimmed) == Some(repo);
                found |= keeping;
            } else if indent < indent_of_repos {
                return None;
            }
        }
        if in_presubmits && keeping {
            out.push_str(line);
        } else if line.ends_with('\n') {
            out.push('\n');
        }
    }
    found.then_some(out)
}

/// The key of a `key: value` or `key:` line, unquoted.
fn key_of(line: &str) -> Option<&str> {
    let (key, _) = line.split_once(':')?;
    let key = key.trim();
    Some(
        key.strip_prefix('"')
            .and_then(|key| key.strip_suffix('"'))
            .or_else(|| key.strip_prefix('\'').and_then(|key| key.strip_suffix('\'')))
            .unwrap_or(key),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "# presets and jobs for kubernetes/kubernetes\npresets:\n- labels: {a: \"true\"}\nperiodics:\n- name: ci-x\n  interval: 1h\npresubmits:\n  kubernetes/test-infra:\n  - name: pull-other\n    always_run: true\n  \"kubernetes/kubernetes\":\n  - name: pull-mine\n    run_if_changed: 'x:y'\n    branches:\n    - master\n\n  kubernetes/other:\n  - name: pull-third\npostsubmits:\n  kubernetes/kubernetes:\n  - name: post-mine\n";

    #[test]
    fn only_the_repository_presubmits_are_kept_on_their_lines() {
        let kept_text = cut(FILE, "kubernetes/kubernetes").expect("a cut");
        assert_eq!(kept_text.lines().count(), FILE.lines().count(), "line numbers stay true");
        let kept: Vec<&str> = kept_text.lines().filter(|line| !line.is_empty()).collect();
        assert_eq!(
            kept,
            [
                "presubmits:",
                "  \"kubernetes/kubernetes\":",
                "  - name: pull-mine",
                "    run_if_changed: 'x:y'",
                "    branches:",
                "    - master"
            ]
        );
        assert_eq!(cut(FILE, "kubernetes/none"), None);
    }

    #[test]
    fn the_cut_loads_the_same_presubmits_as_the_whole_file() {
        let directory = tempfile::tempdir().expect("temporary directory");
        let path = directory.path().join("jobs.yaml");
        fs_err::write(&path, FILE).expect("write");
        // An alias into a blanked part: the cut fails to parse and the whole file is read.
        let aliased = directory.path().join("aliased.yaml");
        fs_err::write(
            &aliased,
            "periodics:\n- &base\n  name: ci-y\n  interval: 1h\npresubmits:\n  kubernetes/kubernetes:\n  - <<: *base\n    name: pull-aliased\n    always_run: true\n",
        )
        .expect("write");
        let paths = vec![directory.path().to_path_buf()];
        let fast = load_presubmits_of(&paths, "kubernetes/kubernetes").expect("loads");
        let whole = crate::load(&paths).expect("loads");
        let expected: Vec<_> = whole
            .jobs
            .iter()
            .filter(|job| job.job_type == JobType::Presubmit && job.repo.as_deref() == Some("kubernetes/kubernetes"))
            .cloned()
            .collect();
        assert_eq!(fast.jobs.len(), 2, "{:?}", fast.jobs.iter().map(|job| &job.name).collect::<Vec<_>>());
        for (fast, whole) in fast.jobs.iter().zip(&expected) {
            assert_eq!((&fast.name, &fast.location, &fast.fields), (&whole.name, &whole.location, &whole.fields));
        }
    }
}
