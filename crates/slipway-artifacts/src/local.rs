//! Compare-and-swap on a local directory, which object_store's `LocalFileSystem` does not offer
//! (`PutMode::Update` is not implemented there).
//!
//! Each object `dir/name` has a lock file `dir/.name.lock`, locked with an exclusive advisory
//! lock (`flock`). Under the lock the current content is compared with what the writer expects,
//! and the new content is written to a temporary file and renamed over the object, so readers
//! (who take no lock) see the old or the new content, never a mix. The lock is held by an open
//! file, so the kernel releases it when a process dies: a crash leaves no stale lock. The lock
//! files stay (empty) next to the objects they guard; deleting them safely would need the
//! inode dance of a lock-then-recheck loop for no real gain.

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
    let lock_path = directory.join(format!(".{name}.lock"));
    let lock = fs_err::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(io("open", &lock_path))?;
    lock.lock().map_err(io("lock", &lock_path))?;

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
        assert!(!names.iter().any(|name| name.ends_with(".tmp")), "no temporary file is left: {names:?}");
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
