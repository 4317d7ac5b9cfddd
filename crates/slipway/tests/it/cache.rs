//! `slipway cache prune`, and the prune and sweep `image build` does on its own: a killed
//! build's half-written blobs and a cache that only grows are what a maintainer's disk sees.

use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::support::{slipway, slipway_with_env};

const DAY: Duration = Duration::from_secs(86_400);

/// Writes `size` bytes at `path`, last used `age` ago.
fn entry(path: &Path, size: usize, age: Duration) {
    fs_err::create_dir_all(path.parent().expect("a parent")).expect("directory");
    fs_err::write(path, vec![7u8; size]).expect("write");
    std::fs::File::options()
        .write(true)
        .open(path)
        .expect("open")
        .set_modified(SystemTime::now() - age)
        .expect("set the time");
}

/// A blob and the layer record that points at it.
fn blob(cache: &Path, name: char, size: usize, age: Duration) {
    let hex: String = std::iter::repeat_n(name, 64).collect();
    entry(&cache.join("blobs/sha256").join(&hex), size, age);
    let record = cache.join("layers").join(format!("record-{name}"));
    fs_err::create_dir_all(cache.join("layers")).expect("layers");
    fs_err::write(&record, format!("sha256:{hex} sha256:{hex} {size}\n")).expect("record");
}

fn count(directory: &Path) -> usize {
    std::fs::read_dir(directory).map_or(0, Iterator::count)
}

#[test]
fn prune_removes_old_then_least_recently_used_entries_and_abandoned_writes() {
    let project = tempfile::tempdir().expect("project");
    let cache = project.path().join(".slipway/cache");
    blob(&cache, 'a', 1 << 20, 40 * DAY);
    blob(&cache, 'b', 3 << 20, 3 * DAY);
    blob(&cache, 'c', 3 << 20, 2 * DAY);
    blob(&cache, 'd', 3 << 20, Duration::from_secs(60));
    // What a SIGKILLed `image build` leaves: no process has a pid this high.
    entry(&cache.join("blobs/.incoming-99999999-4"), 2 << 20, Duration::from_secs(600));
    entry(&cache.join("markers/release/stable-1.30.txt"), 8, 40 * DAY);
    let path = project.path().display().to_string();

    let dry = slipway(project.path(), &["cache", "prune", "--max-size", "7MiB", "--dry-run"]);
    insta::assert_snapshot!(dry.render(&[(&path, "[PROJECT]")]));
    assert_eq!(count(&cache.join("blobs/sha256")), 4, "a dry run removes nothing");

    let pruned = slipway(project.path(), &["cache", "prune", "--max-size", "7MiB", "--format", "json"]);
    assert_eq!(pruned.code, 0, "{}", pruned.stderr);
    let report: serde_json::Value = serde_json::from_str(&pruned.stdout).expect("JSON");
    assert_eq!(report["schema"], "slipway.cache.prune/v1");
    assert_eq!(
        (&report["removed_blobs"], &report["removed_temporaries"], &report["removed_markers"], &report["kept_blobs"]),
        (&serde_json::json!(2), &serde_json::json!(1), &serde_json::json!(1), &serde_json::json!(2))
    );
    let mut left: Vec<String> = std::fs::read_dir(cache.join("blobs/sha256"))
        .expect("blobs")
        .map(|entry| entry.expect("entry").file_name().to_string_lossy()[..1].to_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["c", "d"], "the 40-day-old blob, then the least recently used one");
    assert_eq!(count(&cache.join("layers")), 2, "records of removed blobs go with them");
    assert!(!cache.join("blobs/.incoming-99999999-4").exists());

    let all = slipway(project.path(), &["cache", "prune", "--all"]);
    assert_eq!(all.code, 0, "{}", all.stderr);
    assert_eq!(count(&cache.join("blobs/sha256")), 0, "--all spares nothing in use");
}

#[test]
fn bad_limits_are_usage_errors_naming_the_flag_key_or_variable() {
    let project = tempfile::tempdir().expect("project");
    insta::assert_snapshot!(slipway(project.path(), &["cache", "prune", "--max-size", "lots"]).render(&[]));
    fs_err::write(project.path().join("slipway.yaml"), "cache:\n  max_size: 2GiB\n  max_age: forever\n")
        .expect("config");
    let path = project.path().display().to_string();
    insta::assert_snapshot!(slipway(project.path(), &["cache", "prune"]).render(&[(&path, "[PROJECT]")]));
    let environment = slipway_with_env(project.path(), &["cache", "prune"], &[("SLIPWAY_CACHE_MAX_AGE", "1y")]);
    insta::assert_snapshot!(environment.render(&[(&path, "[PROJECT]")]));
    let conflicting = slipway(project.path(), &["cache", "prune", "--all", "--max-age", "1d"]);
    assert_eq!(conflicting.code, 2, "{}", conflicting.stderr);
}

#[test]
fn an_image_build_sweeps_a_killed_builds_writes_and_prunes_to_the_configured_size() {
    let repo = crate::support::example_repo();
    let cache = repo.path().join(".slipway/cache");
    entry(&cache.join("blobs/.incoming-99999999-0"), 2 << 20, Duration::from_secs(60));
    blob(&cache, 'e', 2 << 20, 3 * DAY);
    let built = slipway_with_env(repo.path(), &["image", "build"], &[("SLIPWAY_CACHE_MAX_SIZE", "1MiB")]);
    assert_eq!(built.code, 0, "{}", built.stderr);
    assert!(!cache.join("blobs/.incoming-99999999-0").exists(), "swept when the build started");
    assert!(built.stdout.contains("removed 1 blobs (2.0 MiB)"), "{}", built.stdout);
    assert!(count(&cache.join("blobs/sha256")) > 0, "the build's own layers stay: they were used just now");
    let again =
        slipway_with_env(repo.path(), &["image", "build", "--format", "json"], &[("SLIPWAY_CACHE_MAX_SIZE", "1MiB")]);
    let report: serde_json::Value = serde_json::from_str(&again.stdout).expect("JSON");
    assert!(report.get("cache_pruned").is_none(), "nothing more to prune: {report:#}");
}
