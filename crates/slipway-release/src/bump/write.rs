//! Writing several files as one change: all of them or none.
//!
//! Every new text goes to a temporary file beside its target first; only when all are written
//! and synced are they renamed over the targets. A failure before that removes the temporary
//! files; a failure while renaming puts back the files already replaced. A file that changed on
//! disk since it was read stops everything before anything is written.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::Error;

/// One file's old and new text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// Path relative to the root.
    pub path: String,
    /// The text it had when read.
    pub before: String,
    /// The text to write.
    pub after: String,
}

/// Writes every change, or none.
pub fn write_all(root: &Path, changes: &[FileChange]) -> Result<(), Error> {
    write_all_failing_at(root, changes, None)
}

/// Puts every file back to its `before` text (after a failed commit).
pub fn restore(root: &Path, changes: &[FileChange]) -> Result<(), Error> {
    let reversed: Vec<FileChange> = changes
        .iter()
        .map(|change| FileChange {
            path: change.path.clone(),
            before: change.after.clone(),
            after: change.before.clone(),
        })
        .collect();
    write_all(root, &reversed)
}

fn write_all_failing_at(root: &Path, changes: &[FileChange], fail_rename_at: Option<usize>) -> Result<(), Error> {
    for change in changes {
        let current = fs_err::read_to_string(root.join(&change.path))
            .map_err(|source| Error::Read { path: change.path.clone(), source })?;
        if current != change.before {
            return Err(Error::ChangedUnderneath { path: change.path.clone() });
        }
    }

    let mut temporaries: Vec<PathBuf> = Vec::with_capacity(changes.len());
    for change in changes {
        let target = root.join(&change.path);
        match write_temporary(&target, &change.after) {
            Ok(temporary) => temporaries.push(temporary),
            Err(source) => {
                remove_all(&temporaries);
                return Err(Error::Write { path: target, source });
            }
        }
    }

    for (index, (change, temporary)) in changes.iter().zip(&temporaries).enumerate() {
        let target = root.join(&change.path);
        let renamed = if fail_rename_at == Some(index) {
            Err(std::io::Error::other("injected failure"))
        } else {
            fs_err::rename(temporary, &target)
        };
        if let Err(source) = renamed {
            remove_all(&temporaries[index..]);
            let mut restore_failed = Vec::new();
            for done in &changes[..index] {
                let path = root.join(&done.path);
                let restored =
                    write_temporary(&path, &done.before).and_then(|temporary| fs_err::rename(temporary, &path));
                if restored.is_err() {
                    restore_failed.push(done.path.clone());
                }
            }
            if restore_failed.is_empty() {
                return Err(Error::Write { path: target, source });
            }
            return Err(Error::WriteAndRestore { path: target, restore_failed: restore_failed.join(", "), source });
        }
    }
    Ok(())
}

fn write_temporary(target: &Path, text: &str) -> std::io::Result<PathBuf> {
    let directory = target.parent().unwrap_or(Path::new("."));
    let name = target.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    let temporary = directory.join(format!(".{name}.slipway-{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = fs_err::File::create(&temporary)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        let permissions = fs_err::metadata(target)?.permissions();
        fs_err::set_permissions(&temporary, permissions)?;
        Ok(())
    })();
    match result {
        Ok(()) => Ok(temporary),
        Err(error) => {
            let _ = fs_err::remove_file(&temporary);
            Err(error)
        }
    }
}

fn remove_all(paths: &[PathBuf]) {
    for path in paths {
        let _ = fs_err::remove_file(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(names: &[&str]) -> (tempfile::TempDir, Vec<FileChange>) {
        let directory = tempfile::tempdir().expect("temporary directory");
        let changes = names
            .iter()
            .map(|name| {
                fs_err::write(directory.path().join(name), format!("old {name}\n")).expect("write");
                FileChange { path: (*name).to_owned(), before: format!("old {name}\n"), after: format!("new {name}\n") }
            })
            .collect();
        (directory, changes)
    }

    fn contents(directory: &Path) -> Vec<(String, String)> {
        let mut entries: Vec<(String, String)> = fs_err::read_dir(directory)
            .expect("list")
            .map(|entry| {
                let path = entry.expect("entry").path();
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                (name.chars().take(12).collect(), fs_err::read_to_string(&path).expect("read"))
            })
            .collect();
        entries.sort();
        entries
    }

    #[test]
    fn writes_everything() {
        let (directory, changes) = setup(&["a.yaml", "b.yaml"]);
        write_all(directory.path(), &changes).expect("writes");
        assert_eq!(
            contents(directory.path()),
            [("a.yaml".into(), "new a.yaml\n".into()), ("b.yaml".into(), "new b.yaml\n".into())]
        );
    }

    #[test]
    fn a_failure_while_writing_leaves_the_tree_as_it_was() {
        // A name so long that its temporary file's name is over the file system's limit.
        let long = format!("{}.yaml", "x".repeat(245));
        let (directory, changes) = setup(&["a.yaml", &long]);
        let before = contents(directory.path());
        let error = write_all(directory.path(), &changes).expect_err("the temporary name is too long");
        assert!(matches!(error, Error::Write { .. }), "{error:?}");
        assert_eq!(contents(directory.path()), before);
    }

    #[test]
    fn a_failure_while_renaming_restores_what_was_replaced() {
        let (directory, changes) = setup(&["a.yaml", "b.yaml", "c.yaml"]);
        let before = contents(directory.path());
        let error = write_all_failing_at(directory.path(), &changes, Some(2)).expect_err("injected");
        assert!(matches!(error, Error::Write { .. }), "{error:?}");
        assert_eq!(contents(directory.path()), before);
    }

    #[test]
    fn a_file_changed_since_it_was_read_stops_everything() {
        let (directory, changes) = setup(&["a.yaml", "b.yaml"]);
        fs_err::write(directory.path().join("b.yaml"), "edited meanwhile\n").expect("write");
        let error = write_all(directory.path(), &changes).expect_err("changed underneath");
        assert!(matches!(error, Error::ChangedUnderneath { ref path } if path == "b.yaml"), "{error:?}");
        assert_eq!(fs_err::read_to_string(directory.path().join("a.yaml")).expect("read"), "old a.yaml\n");
    }

    #[test]
    fn permissions_are_kept() {
        use std::os::unix::fs::PermissionsExt;
        let (directory, changes) = setup(&["run.sh"]);
        let path = directory.path().join("run.sh");
        fs_err::set_permissions(&path, std::fs::Permissions::from_mode(0o750)).expect("chmod");
        write_all(directory.path(), &changes).expect("writes");
        assert_eq!(fs_err::metadata(&path).expect("stat").permissions().mode() & 0o777, 0o750);
    }
}
