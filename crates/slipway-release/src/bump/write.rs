//! Writing several files as one change: all of them or none, even across a crash.
//!
//! Every new text goes to a temporary file in a staging directory first: inside the git
//! directory (`.git/slipway/staging`), where neither git nor the user sees it, or
//! `.slipway/staging` outside git. Only when all are written and synced is a journal written
//! that lists them; then they are renamed over their targets and the journal is removed.
//!
//! - A failure before the renames removes the temporary files: the tree is untouched.
//! - A failure while renaming puts back the files already replaced.
//! - A crash (SIGKILL, power loss) before the journal leaves only temporaries in the staging
//!   directory, which the next run sweeps. A crash after it leaves a journal whose files are all
//!   complete, and the next run finishes the renames ([`recover`]). Either way the tree ends up
//!   untouched or fully bumped.
//!
//! A file that changed on disk since it was read stops everything before anything is written.
//! When the staging directory is on another file system than a target (a rename cannot cross
//! one), that target's temporary goes beside it instead, named `.<name>.slipway-<pid>.tmp`.

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// One file's old and new text, as they are on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// Path relative to the root.
    pub path: String,
    /// The text it had when read.
    pub before: String,
    /// The text to write.
    pub after: String,
}

/// Where temporaries and the journal live.
#[derive(Debug, Clone)]
pub struct Staging {
    directory: PathBuf,
}

/// What the journal records: each temporary and the target it replaces.
#[derive(Debug, Serialize, Deserialize)]
struct Journal {
    pid: u32,
    renames: Vec<Rename>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Rename {
    temporary: PathBuf,
    target: PathBuf,
}

impl Staging {
    /// The staging directory for a project: in the git directory when there is one, else under
    /// `.slipway/` in the project.
    pub fn new(root: &Path, git_directory: Option<&Path>) -> Staging {
        let directory = match git_directory {
            Some(git) => git.join("slipway").join("staging"),
            None => root.join(".slipway").join("staging"),
        };
        Staging { directory }
    }

    /// The directory.
    pub fn directory(&self) -> &Path {
        &self.directory
    }

    fn journal(&self) -> PathBuf {
        self.directory.join(format!("journal-{}.json", std::process::id()))
    }
}

/// What [`recover`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovered {
    /// Files whose interrupted bump was completed, as absolute paths.
    pub completed: Vec<PathBuf>,
    /// Temporary files of interrupted runs that were removed.
    pub swept: usize,
}

/// Finishes what an interrupted bump left: completes the renames of every journal whose process
/// is gone, and removes temporaries that no journal names.
pub fn recover(staging: &Staging) -> Result<Recovered, Error> {
    let mut recovered = Recovered::default();
    let Ok(entries) = fs_err::read_dir(&staging.directory) else {
        return Ok(recovered);
    };
    let mut names: Vec<String> =
        entries.filter_map(Result::ok).filter_map(|entry| entry.file_name().into_string().ok()).collect();
    names.sort();
    for name in names.iter().filter(|name| name.starts_with("journal-") && name.ends_with(".json")) {
        let path = staging.directory.join(name);
        let Ok(text) = fs_err::read_to_string(&path) else {
            continue;
        };
        // A journal is written whole and synced before any rename; one that does not parse was
        // cut short by the crash, so no rename had started.
        let Ok(journal) = serde_json::from_str::<Journal>(&text) else {
            let _ = fs_err::remove_file(&path);
            continue;
        };
        if is_alive(journal.pid) {
            continue;
        }
        for rename in &journal.renames {
            if rename.temporary.exists() {
                fs_err::rename(&rename.temporary, &rename.target)
                    .map_err(|source| Error::Write { path: rename.target.clone(), source })?;
                recovered.completed.push(rename.target.clone());
            }
        }
        sync_directory(&staging.directory);
        let _ = fs_err::remove_file(&path);
    }
    for name in names.iter().filter(|name| name.ends_with(".tmp")) {
        let owner = name.split('-').next().and_then(|pid| pid.parse::<u32>().ok());
        if owner.is_some_and(|pid| !is_alive(pid)) && fs_err::remove_file(staging.directory.join(name)).is_ok() {
            recovered.swept += 1;
        }
    }
    Ok(recovered)
}

/// Whether `name` is a temporary file slipway left beside a target (`.<name>.slipway-<pid>.tmp`)
/// and the process that made it is gone.
pub fn is_stale_temporary(name: &str) -> bool {
    let Some(rest) = name.strip_prefix('.').and_then(|rest| rest.strip_suffix(".tmp")) else {
        return false;
    };
    let Some((_, pid)) = rest.rsplit_once(".slipway-") else {
        return false;
    };
    pid.parse::<u32>().is_ok_and(|pid| !is_alive(pid))
}

/// Writes every change, or none.
pub fn write_all(root: &Path, staging: &Staging, changes: &[FileChange]) -> Result<(), Error> {
    write_all_failing_at(root, staging, changes, None)
}

/// Puts every file back to its `before` text (after a failed commit).
pub fn restore(root: &Path, staging: &Staging, changes: &[FileChange]) -> Result<(), Error> {
    let reversed: Vec<FileChange> = changes
        .iter()
        .map(|change| FileChange {
            path: change.path.clone(),
            before: change.after.clone(),
            after: change.before.clone(),
        })
        .collect();
    write_all(root, staging, &reversed)
}

fn write_all_failing_at(
    root: &Path,
    staging: &Staging,
    changes: &[FileChange],
    fail_rename_at: Option<usize>,
) -> Result<(), Error> {
    for change in changes {
        let current = fs_err::read_to_string(root.join(&change.path))
            .map_err(|source| Error::Read { path: change.path.clone(), source })?;
        if current != change.before {
            return Err(Error::ChangedUnderneath { path: change.path.clone() });
        }
    }
    fs_err::create_dir_all(&staging.directory)
        .map_err(|source| Error::Write { path: staging.directory.clone(), source })?;
    let staging_device = fs_err::metadata(&staging.directory).map(|metadata| metadata.dev()).ok();

    let mut temporaries: Vec<PathBuf> = Vec::with_capacity(changes.len());
    for (index, change) in changes.iter().enumerate() {
        let target = root.join(&change.path);
        match write_temporary(&target, &change.after, staging, staging_device, index) {
            Ok(temporary) => temporaries.push(temporary),
            Err(source) => {
                remove_all(&temporaries);
                return Err(Error::Write { path: target, source });
            }
        }
    }
    let journal = staging.journal();
    let record = Journal {
        pid: std::process::id(),
        renames: changes
            .iter()
            .zip(&temporaries)
            .map(|(change, temporary)| Rename { temporary: temporary.clone(), target: root.join(&change.path) })
            .collect(),
    };
    if let Err(source) = write_synced(&journal, serde_json::to_string(&record).unwrap_or_default().as_bytes()) {
        remove_all(&temporaries);
        let _ = fs_err::remove_file(&journal);
        return Err(Error::Write { path: journal, source });
    }

    for (index, (change, temporary)) in changes.iter().zip(&temporaries).enumerate() {
        let target = root.join(&change.path);
        let renamed = if fail_rename_at == Some(index) {
            Err(std::io::Error::other("injected failure"))
        } else {
            fs_err::rename(temporary, &target)
        };
        if let Err(source) = renamed {
            // Put back what was replaced; the journal goes first so a crash while restoring does
            // not roll the bump forward again.
            let _ = fs_err::remove_file(&journal);
            remove_all(&temporaries[index..]);
            let mut restore_failed = Vec::new();
            for (done_index, done) in changes[..index].iter().enumerate() {
                let path = root.join(&done.path);
                let restored = write_temporary(&path, &done.before, staging, staging_device, done_index)
                    .and_then(|temporary| fs_err::rename(temporary, &path));
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
    for target in changes.iter().filter_map(|change| root.join(&change.path).parent().map(Path::to_path_buf)) {
        sync_directory(&target);
    }
    let _ = fs_err::remove_file(&journal);
    Ok(())
}

fn write_temporary(
    target: &Path,
    text: &str,
    staging: &Staging,
    staging_device: Option<u64>,
    index: usize,
) -> std::io::Result<PathBuf> {
    let directory = target.parent().unwrap_or(Path::new("."));
    let same_device =
        staging_device.is_some() && fs_err::metadata(directory).map(|metadata| metadata.dev()).ok() == staging_device;
    let temporary = if same_device {
        staging.directory.join(format!("{}-{index}.tmp", std::process::id()))
    } else {
        let name = target.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
        directory.join(format!(".{name}.slipway-{}.tmp", std::process::id()))
    };
    let result = (|| {
        write_synced(&temporary, text.as_bytes())?;
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

fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = fs_err::File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

fn sync_directory(directory: &Path) {
    if let Ok(handle) = fs_err::File::open(directory) {
        let _ = handle.sync_all();
    }
}

fn remove_all(paths: &[PathBuf]) {
    for path in paths {
        let _ = fs_err::remove_file(path);
    }
}

/// Whether a process with this id is running (on Linux, `/proc/<pid>` exists).
fn is_alive(pid: u32) -> bool {
    pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(names: &[&str]) -> (tempfile::TempDir, Staging, Vec<FileChange>) {
        let directory = tempfile::tempdir().expect("temporary directory");
        fs_err::create_dir_all(directory.path().join("tree")).expect("mkdir");
        let changes = names
            .iter()
            .map(|name| {
                fs_err::write(directory.path().join("tree").join(name), format!("old {name}\n")).expect("write");
                FileChange { path: (*name).to_owned(), before: format!("old {name}\n"), after: format!("new {name}\n") }
            })
            .collect();
        let staging = Staging::new(&directory.path().join("tree"), Some(&directory.path().join("git")));
        (directory, staging, changes)
    }

    fn contents(directory: &Path) -> Vec<(String, String)> {
        let mut entries: Vec<(String, String)> = fs_err::read_dir(directory)
            .expect("list")
            .map(|entry| {
                let path = entry.expect("entry").path();
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                (name.chars().take(12).collect(), fs_err::read_to_string(&path).unwrap_or_default())
            })
            .collect();
        entries.sort();
        entries
    }

    #[test]
    fn writes_everything_and_leaves_no_temporaries() {
        let (directory, staging, changes) = setup(&["a.yaml", "b.yaml"]);
        let tree = directory.path().join("tree");
        write_all(&tree, &staging, &changes).expect("writes");
        assert_eq!(
            contents(&tree),
            [("a.yaml".into(), "new a.yaml\n".into()), ("b.yaml".into(), "new b.yaml\n".into())]
        );
        assert_eq!(contents(staging.directory()), [], "the staging directory is empty again");
    }

    #[test]
    fn a_failure_while_writing_leaves_the_tree_as_it_was() {
        let (directory, staging, changes) = setup(&["a.yaml", "b.yaml"]);
        let tree = directory.path().join("tree");
        // The staging directory cannot be made: a file is in its way.
        fs_err::create_dir_all(directory.path().join("git")).expect("mkdir");
        fs_err::write(directory.path().join("git/slipway"), "in the way").expect("write");
        let before = contents(&tree);
        let error = write_all(&tree, &staging, &changes).expect_err("no staging directory");
        assert!(matches!(error, Error::Write { .. }), "{error:?}");
        assert_eq!(contents(&tree), before);
    }

    #[test]
    fn a_failure_while_renaming_restores_what_was_replaced() {
        let (directory, staging, changes) = setup(&["a.yaml", "b.yaml", "c.yaml"]);
        let tree = directory.path().join("tree");
        let before = contents(&tree);
        let error = write_all_failing_at(&tree, &staging, &changes, Some(2)).expect_err("injected");
        assert!(matches!(error, Error::Write { .. }), "{error:?}");
        assert_eq!(contents(&tree), before);
        assert_eq!(contents(staging.directory()), [], "no journal, no temporaries");
    }

    #[test]
    fn a_file_changed_since_it_was_read_stops_everything() {
        let (directory, staging, changes) = setup(&["a.yaml", "b.yaml"]);
        let tree = directory.path().join("tree");
        fs_err::write(tree.join("b.yaml"), "edited meanwhile\n").expect("write");
        let error = write_all(&tree, &staging, &changes).expect_err("changed underneath");
        assert!(matches!(error, Error::ChangedUnderneath { ref path } if path == "b.yaml"), "{error:?}");
        assert_eq!(fs_err::read_to_string(tree.join("a.yaml")).expect("read"), "old a.yaml\n");
    }

    #[test]
    fn permissions_are_kept() {
        use std::os::unix::fs::PermissionsExt;
        let (directory, staging, changes) = setup(&["run.sh"]);
        let path = directory.path().join("tree/run.sh");
        fs_err::set_permissions(&path, std::fs::Permissions::from_mode(0o750)).expect("chmod");
        write_all(&directory.path().join("tree"), &staging, &changes).expect("writes");
        assert_eq!(fs_err::metadata(&path).expect("stat").permissions().mode() & 0o777, 0o750);
    }

    /// A process id that no running process has.
    fn dead_pid() -> u32 {
        (4_000_000..4_100_000).find(|pid| !is_alive(*pid)).expect("a free pid")
    }

    #[test]
    fn a_journal_left_by_a_dead_process_is_rolled_forward() {
        let (directory, staging, changes) = setup(&["a.yaml", "b.yaml"]);
        let tree = directory.path().join("tree");
        fs_err::create_dir_all(staging.directory()).expect("mkdir");
        let pid = dead_pid();
        // The crash came after the journal and the first rename.
        fs_err::write(tree.join("a.yaml"), "new a.yaml\n").expect("write");
        let temporary = staging.directory().join(format!("{pid}-1.tmp"));
        fs_err::write(&temporary, &changes[1].after).expect("write");
        let journal = Journal {
            pid,
            renames: vec![
                Rename { temporary: staging.directory().join(format!("{pid}-0.tmp")), target: tree.join("a.yaml") },
                Rename { temporary, target: tree.join("b.yaml") },
            ],
        };
        fs_err::write(
            staging.directory().join(format!("journal-{pid}.json")),
            serde_json::to_string(&journal).expect("json"),
        )
        .expect("write");
        // And a temporary of another crash, before its journal was written.
        fs_err::write(staging.directory().join(format!("{pid}-7.tmp")), "half").expect("write");
        let recovered = recover(&staging).expect("recovers");
        assert_eq!(recovered, Recovered { completed: vec![tree.join("b.yaml")], swept: 1 });
        assert_eq!(
            contents(&tree),
            [("a.yaml".into(), "new a.yaml\n".into()), ("b.yaml".into(), "new b.yaml\n".into())]
        );
        assert_eq!(contents(staging.directory()), []);
    }

    #[test]
    fn stale_temporaries_beside_targets_are_recognised() {
        let dead = dead_pid();
        assert!(is_stale_temporary(&format!(".deployment.yaml.slipway-{dead}.tmp")));
        assert!(!is_stale_temporary(&format!(".deployment.yaml.slipway-{}.tmp", std::process::id())));
        assert!(!is_stale_temporary("deployment.yaml"));
        assert!(!is_stale_temporary(".env.tmp"));
    }
}
