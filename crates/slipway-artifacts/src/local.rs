//! Compare-and-swap on a local directory, which object_store's `LocalFileSystem` does not offer
//! (`PutMode::Update` is not implemented there).
//!
//! A writer takes an exclusive advisory lock (`flock`) on the object's directory itself, so no
//! lock file is ever left beside a marker. Under the lock the current content is compared with
//! what the writer expects, and the new content is written to a temporary file and renamed over
//! the object, so readers (who take no lock) see the old or the new content, never a mix. The
//! lock is held by an open descriptor, so the kernel releases it when a process dies; the
//! temporary file a killed writer left (`.name.<pid>.tmp`) is removed by the next writer of that
//! name, which holds the lock and so knows no one else is writing it.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Replaces `path` with `body` if its content is still `expected` (`None`: still absent).
/// Returns `false`, writing nothing, when it is not.
pub(crate) fn swap(path: &Path, body: &[u8], expected: Option<&[u8]>) -> Result<bool> {
    let io = |operation, path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { operation, path, source }
    };
    let directory = path.parent().ok_or_else(|| Error::Io {
        operation: "write",
        path: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "no parent directory"),
    })?;
    let name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    fs_err::create_dir_all(directory).map_err(|source| Error::Io {
        operation: "create",
        path: directory.to_path_buf(),
        source,
    })?;
    let lock = fs_err::File::open(directory).map_err(io("open", directory))?;
    lock.lock().map_err(io("lock", directory))?;
    sweep(directory, &name);

    let current = match fs_err::read(path) {
        Ok(content) => Some(content),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
        Err(error) => return Err(io("read", path)(error)),
    };
    if current.as_deref() != expected {
        return Ok(false);
    }
    // Only the lock holder writes this name, so one temporary name per process is enough.
    let temporary: PathBuf = directory.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = (|| {
        let mut file = fs_err::File::create(&temporary)?;
        file.write_all(body)?;
        file.sync_all()?;
        fs_err::rename(&temporary, path)
    })();
    if let Err(error) = written {
        let _ = fs_err::remove_file(&temporary);
        return Err(io("write", path)(error));
    }
    // Dropping `lock` closes the file, which releases the lock.
    drop(lock);
    Ok(true)
}

/// Removes what killed writers of `name` left. Only the lock holder writes `.name.<pid>.tmp`,
/// so under the lock every such file is stale.
fn sweep(directory: &Path, name: &str) {
    let prefix = format!(".{name}.");
    let Ok(entries) = fs_err::read_dir(directory) else {
        return;
    };
    for entry in entries.filter_map(std::result::Result::ok) {
        let file = entry.file_name().to_string_lossy().into_owned();
        if let Some(pid) = file.strip_prefix(&prefix).and_then(|rest| rest.strip_suffix(".tmp"))
            && pid.bytes().all(|byte| byte.is_ascii_digit())
        {
            let _ = fs_err::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swaps_only_from_the_expected_content() {
        let directory = tempfile::tempdir().expect("temporary directory");
        let path = directory.path().join("markers/stable.txt");
        assert!(swap(&path, b"v1", None).expect("create"));
        assert!(!swap(&path, b"v2", None).expect("exists"), "a create over an existing object fails");
        assert!(!swap(&path, b"v2", Some(b"v0")).expect("stale"), "a stale expectation fails");
        assert_eq!(fs_err::read(&path).expect("read"), b"v1");
        assert!(swap(&path, b"v2", Some(b"v1")).expect("current"));
        assert_eq!(fs_err::read(&path).expect("read"), b"v2");
        let names: Vec<_> = fs_err::read_dir(path.parent().expect("parent"))
            .expect("list")
            .map(|entry| entry.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["stable.txt"], "no temporary or lock file is left beside the marker");
    }

    #[test]
    fn what_a_killed_writer_left_is_swept() {
        let directory = tempfile::tempdir().expect("temporary directory");
        let path = directory.path().join("stable.txt");
        fs_err::write(directory.path().join(".stable.txt.4242.tmp"), "half").expect("write");
        fs_err::write(directory.path().join(".other.txt.4242.tmp"), "not ours").expect("write");
        assert!(swap(&path, b"v1", None).expect("create"));
        assert!(!directory.path().join(".stable.txt.4242.tmp").exists());
        assert!(directory.path().join(".other.txt.4242.tmp").exists(), "another name's is its writer's business");
    }

    #[test]
    fn concurrent_swappers_never_both_win() {
        let directory = tempfile::tempdir().expect("temporary directory");
        let path = directory.path().join("counter.txt");
        assert!(swap(&path, b"0", None).expect("create"));
        // 8 threads each add 1 twenty times through read + swap; lost races retry. Without
        // mutual exclusion some increments would be lost.
        std::thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| {
                    for _ in 0..20 {
                        loop {
                            let current = fs_err::read(&path).expect("read");
                            let value: u64 = String::from_utf8_lossy(&current).parse().expect("number");
                            let next = (value + 1).to_string();
                            if swap(&path, next.as_bytes(), Some(&current)).expect("swap") {
                                break;
                            }
                        }
                    }
                });
            }
        });
        assert_eq!(fs_err::read_to_string(&path).expect("read"), "160");
    }
}
