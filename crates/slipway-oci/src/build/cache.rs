//! Keeping the build cache bounded: what `image build` leaves in `.slipway/cache/`.
//!
//! The cache holds layer blobs (`blobs/sha256/`), the records that let an unchanged rebuild find
//! them (`layers/`), blobs being written (`blobs/.incoming-<pid>-<n>`), and the version markers
//! job matrices read (`markers/`, which they refresh every ten minutes). Every use of a blob or
//! record sets its modification time, so the time says when it was last needed. Pruning
//!
//! 1. removes temporaries whose writer is gone (its process no longer runs) or that are older
//!    than a day, which is what a SIGKILLed build leaves;
//! 2. removes blobs and records not used for `max_age`;
//! 3. then, while the blobs take more than `max_size`, removes the least recently used;
//! 4. removes records whose blob is gone, and cached markers older than `max_age`.
//!
//! Nothing used in the last hour is removed by size or age, so a build running beside a prune
//! keeps what it has just built or found. `image build` sweeps temporaries when it starts and
//! prunes when it ends; `slipway cache prune` does it on demand, `--all` empties the cache.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::Serialize;

/// The JSON schema of `slipway cache prune --format json`.
pub const SCHEMA: &str = "slipway.cache.prune/v1";

/// The default `cache.max_size`.
pub const DEFAULT_MAX_SIZE: u64 = 10 * 1024 * 1024 * 1024;
/// The default `cache.max_age`.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(30 * 86_400);
/// What was used this recently stays, whatever the limits.
pub const IN_USE: Duration = Duration::from_secs(3600);
/// A temporary this old is abandoned even if a process of its id runs.
const ABANDONED: Duration = Duration::from_secs(86_400);

/// `cache:` in slipway.yaml.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct CacheSection {
    /// `10GiB`, `500MB`: the most the layer blobs may take.
    pub max_size: Option<String>,
    /// `30d`, `2w`: blobs unused this long are removed.
    pub max_age: Option<String>,
}

impl CacheSection {
    /// The limits, or the key that is wrong and why.
    pub fn limits(&self) -> Result<Limits, (&'static str, String)> {
        let mut limits = Limits::default();
        if let Some(size) = &self.max_size {
            limits.max_size = slipway_core::retention::parse_size(size).map_err(|error| ("cache.max_size", error))?;
        }
        if let Some(age) = &self.max_age {
            limits.max_age = slipway_core::retention::parse_age(age).map_err(|error| ("cache.max_age", error))?;
        }
        Ok(limits)
    }
}

/// How much the cache keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limits {
    /// Bytes of blobs.
    pub max_size: u64,
    /// Unused for longer than this, an entry goes.
    #[serde(serialize_with = "seconds")]
    pub max_age: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_size: DEFAULT_MAX_SIZE, max_age: DEFAULT_MAX_AGE }
    }
}

fn seconds<S: serde::Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(duration.as_secs())
}

/// What a prune did (or, with `dry_run`, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Pruned {
    /// [`SCHEMA`].
    pub schema: &'static str,
    /// The cache directory.
    pub directory: PathBuf,
    /// Whether nothing was removed, only counted.
    pub dry_run: bool,
    /// Blobs removed and their bytes.
    pub removed_blobs: u64,
    pub removed_bytes: u64,
    /// Abandoned temporaries removed and their bytes.
    pub removed_temporaries: u64,
    pub removed_temporary_bytes: u64,
    /// Records removed (old, or pointing at a removed blob).
    pub removed_records: u64,
    /// Cached version markers removed.
    pub removed_markers: u64,
    /// Blobs kept and their bytes.
    pub kept_blobs: u64,
    pub kept_bytes: u64,
}

impl Pruned {
    /// Whether anything was (or would be) removed.
    pub fn removed_anything(&self) -> bool {
        self.removed_blobs + self.removed_temporaries + self.removed_records + self.removed_markers > 0
    }
}

/// What to prune down to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Age and size limits, sparing what is in use.
    Limits(Limits),
    /// Everything but the temporaries of running builds.
    All,
}

/// Sets a cache entry's modification time to now: it was just used.
pub fn touch(path: &Path) {
    // A cache entry that cannot be touched is only pruned sooner.
    if let Ok(file) = std::fs::File::options().write(true).open(path) {
        let _ = file.set_modified(SystemTime::now());
    }
}

/// Removes the temporaries that a build which is no longer running left behind.
pub fn sweep_temporaries(cache: &Path, now: SystemTime, dry_run: bool) -> std::io::Result<(u64, u64)> {
    let mut removed = (0, 0);
    for entry in read_dir(&cache.join("blobs"))? {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(".incoming-") else {
            continue;
        };
        let Ok(metadata) = entry.metadata() else {
            continue;
        };
        let writer_alive = rest
            .split('-')
            .next()
            .and_then(|pid| pid.parse::<u32>().ok())
            .is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
        let age = now.duration_since(metadata.modified().unwrap_or(now)).unwrap_or_default();
        if writer_alive && age < ABANDONED {
            continue;
        }
        if dry_run || remove(&entry.path())? {
            removed.0 += 1;
            removed.1 += metadata.len();
        }
    }
    Ok(removed)
}

/// Prunes the cache at `cache` by `policy`, as of `now`.
pub fn prune(cache: &Path, policy: Policy, now: SystemTime, dry_run: bool) -> std::io::Result<Pruned> {
    let mut pruned = Pruned { schema: SCHEMA, directory: cache.to_path_buf(), dry_run, ..Pruned::default() };
    (pruned.removed_temporaries, pruned.removed_temporary_bytes) = sweep_temporaries(cache, now, dry_run)?;

    let mut blobs = Vec::new();
    for entry in read_dir(&cache.join("blobs/sha256"))? {
        let Ok(metadata) = entry.metadata() else {
            continue;
        };
        if metadata.is_file() {
            let age = now.duration_since(metadata.modified().unwrap_or(now)).unwrap_or_default();
            blobs.push((age, metadata.len(), entry.path()));
        }
    }
    // Oldest use first.
    blobs.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.2.cmp(&b.2)));
    let mut total: u64 = blobs.iter().map(|(_, size, _)| size).sum();
    let mut gone = std::collections::HashSet::new();
    for (age, size, path) in &blobs {
        let doomed = match policy {
            Policy::All => true,
            Policy::Limits(limits) => *age >= IN_USE && (*age > limits.max_age || total > limits.max_size),
        };
        if doomed && (dry_run || remove(path)?) {
            pruned.removed_blobs += 1;
            pruned.removed_bytes += size;
            total -= size;
            gone.insert(path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default());
        } else {
            pruned.kept_blobs += 1;
            pruned.kept_bytes += size;
        }
    }

    for entry in read_dir(&cache.join("layers"))? {
        let path = entry.path();
        let Ok(metadata) = entry.metadata() else {
            continue;
        };
        let age = now.duration_since(metadata.modified().unwrap_or(now)).unwrap_or_default();
        let blob = fs_err::read_to_string(&path).ok().and_then(|record| {
            record.split_whitespace().next().map(|digest| digest.trim_start_matches("sha256:").to_owned())
        });
        let orphaned = match &blob {
            Some(hex) => gone.contains(hex) || !cache.join("blobs/sha256").join(hex).exists(),
            None => age >= IN_USE,
        };
        let doomed = match policy {
            Policy::All => true,
            Policy::Limits(limits) => orphaned || (age >= IN_USE && age > limits.max_age),
        };
        if doomed && (dry_run || remove(&path)?) {
            pruned.removed_records += 1;
        }
    }

    let mut directories = vec![cache.join("markers")];
    while let Some(directory) = directories.pop() {
        for entry in read_dir(&directory)? {
            let Ok(metadata) = entry.metadata() else {
                continue;
            };
            if metadata.is_dir() {
                directories.push(entry.path());
                continue;
            }
            let age = now.duration_since(metadata.modified().unwrap_or(now)).unwrap_or_default();
            let doomed = match policy {
                Policy::All => true,
                Policy::Limits(limits) => age > limits.max_age,
            };
            if doomed && (dry_run || remove(&entry.path())?) {
                pruned.removed_markers += 1;
            }
        }
    }
    Ok(pruned)
}

/// The entries of a directory that may not exist yet.
fn read_dir(directory: &Path) -> std::io::Result<Vec<std::fs::DirEntry>> {
    match std::fs::read_dir(directory) {
        Ok(entries) => Ok(entries.filter_map(Result::ok).collect()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(error) => Err(fs_err::read_dir(directory).err().unwrap_or(error)),
    }
}

/// Removes a file; one that another prune removed first counts as not removed here.
fn remove(path: &Path) -> std::io::Result<bool> {
    match fs_err::remove_file(path) {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);
    const DAY: Duration = Duration::from_secs(86_400);

    /// A cache with blobs of `sizes` last used `ages` ago, each with a record.
    fn cache(blobs: &[(&str, u64, Duration)], now: SystemTime) -> tempfile::TempDir {
        let directory = tempfile::tempdir().expect("cache");
        fs_err::create_dir_all(directory.path().join("blobs/sha256")).expect("blobs");
        fs_err::create_dir_all(directory.path().join("layers")).expect("layers");
        for (name, size, age) in blobs {
            let blob = directory.path().join("blobs/sha256").join(name);
            fs_err::write(&blob, vec![0u8; *size as usize]).expect("blob");
            let record = directory.path().join("layers").join(format!("record-{name}"));
            fs_err::write(&record, format!("sha256:{name} sha256:diff {size}\n")).expect("record");
            for path in [&blob, &record] {
                std::fs::File::options().write(true).open(path).expect("open").set_modified(now - *age).expect("time");
            }
        }
        directory
    }

    fn names(directory: &Path, sub: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(directory.join(sub))
            .expect("list")
            .map(|entry| entry.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn old_blobs_go_then_the_least_recently_used_until_it_fits() {
        let now = SystemTime::now();
        let cache =
            cache(&[("old", 100, 40 * DAY), ("a", 300, 5 * DAY), ("b", 300, 2 * DAY), ("c", 300, 2 * HOUR)], now);
        let limits = Limits { max_size: 650, max_age: 30 * DAY };
        let dry = prune(cache.path(), Policy::Limits(limits), now, true).expect("dry run");
        assert_eq!((dry.removed_blobs, dry.removed_bytes, dry.kept_bytes), (2, 400, 600));
        assert_eq!(names(cache.path(), "blobs/sha256"), ["a", "b", "c", "old"], "a dry run removes nothing");

        let pruned = prune(cache.path(), Policy::Limits(limits), now, false).expect("prune");
        assert_eq!(pruned, Pruned { dry_run: false, ..dry });
        assert_eq!(names(cache.path(), "blobs/sha256"), ["b", "c"]);
        assert_eq!(names(cache.path(), "layers"), ["record-b", "record-c"], "records of removed blobs go too");
    }

    #[test]
    fn what_was_used_within_the_hour_stays_whatever_the_size() {
        let now = SystemTime::now();
        let cache = cache(&[("fresh", 1000, Duration::from_secs(60)), ("older", 1000, 3 * HOUR)], now);
        let limits = Limits { max_size: 10, max_age: 30 * DAY };
        let pruned = prune(cache.path(), Policy::Limits(limits), now, false).expect("prune");
        assert_eq!((pruned.removed_blobs, pruned.kept_blobs), (1, 1));
        assert_eq!(names(cache.path(), "blobs/sha256"), ["fresh"]);
        let all = prune(cache.path(), Policy::All, now, false).expect("prune all");
        assert_eq!(all.removed_blobs, 1);
        assert!(names(cache.path(), "blobs/sha256").is_empty());
        assert!(names(cache.path(), "layers").is_empty());
    }

    #[test]
    fn old_cached_markers_go() {
        let now = SystemTime::now();
        let cache = cache(&[], now);
        let release = cache.path().join("markers/release");
        fs_err::create_dir_all(&release).expect("markers");
        for (name, age) in [("stable-1.30.txt", 40 * DAY), ("stable-1.31.txt", DAY)] {
            fs_err::write(release.join(name), "v1.31.0").expect("marker");
            std::fs::File::options()
                .write(true)
                .open(release.join(name))
                .expect("open")
                .set_modified(now - age)
                .expect("time");
        }
        let pruned = prune(cache.path(), Policy::Limits(Limits::default()), now, false).expect("prune");
        assert_eq!(pruned.removed_markers, 1);
        assert_eq!(names(cache.path(), "markers/release"), ["stable-1.31.txt"]);
    }

    #[test]
    fn temporaries_of_gone_builds_are_swept_and_a_running_ones_kept() {
        let now = SystemTime::now();
        let cache = cache(&[], now);
        let blobs = cache.path().join("blobs");
        // No process has a pid this high (pid_max is at most 2^22).
        fs_err::write(blobs.join(".incoming-99999999-0"), vec![1u8; 2048]).expect("dead writer's");
        let mine = format!(".incoming-{}-7", std::process::id());
        fs_err::write(blobs.join(&mine), b"being written").expect("live writer's");
        let swept = sweep_temporaries(cache.path(), now, false).expect("sweep");
        assert_eq!(swept, (1, 2048));
        assert_eq!(names(cache.path(), "blobs"), [mine.as_str(), "sha256"]);
        // A day later even a live pid's temporary is abandoned (the pid was reused).
        let swept = sweep_temporaries(cache.path(), now + DAY + HOUR, false).expect("sweep");
        assert_eq!(swept.0, 1);
    }

    #[test]
    fn limits_come_from_the_section_and_name_the_bad_key() {
        let section = CacheSection { max_size: Some("2GiB".to_owned()), max_age: Some("2w".to_owned()) };
        assert_eq!(section.limits(), Ok(Limits { max_size: 2 << 30, max_age: 14 * DAY }));
        assert_eq!(CacheSection::default().limits(), Ok(Limits::default()));
        let bad = CacheSection { max_size: Some("lots".to_owned()), max_age: None };
        assert_eq!(bad.limits().expect_err("invalid").0, "cache.max_size");
        let bad = CacheSection { max_size: None, max_age: Some("forever".to_owned()) };
        assert_eq!(bad.limits().expect_err("invalid").0, "cache.max_age");
    }
}
