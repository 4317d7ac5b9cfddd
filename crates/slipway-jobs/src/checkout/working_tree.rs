//! Making a clone look like the working tree it was cloned from: the files that differ from
//! `HEAD` (changed, deleted, untracked and not ignored) are copied over, links as links.

use std::io;
use std::path::Path;

use slipway_git::WorkingChanges;

/// What the overlay did.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Overlay {
    /// Files and links copied.
    pub copied: usize,
    /// Files deleted in the working tree, deleted in the copy too.
    pub removed: usize,
    /// Paths left alone, with the reason (a nested repository, a name that is not UTF-8).
    pub skipped: Vec<(String, String)>,
}

/// Copies what `changes` lists from the working tree at `source` into the clone at
/// `destination`. Nothing in `source` is written.
pub(crate) fn overlay(source: &Path, destination: &Path, changes: &WorkingChanges) -> io::Result<Overlay> {
    let mut done = Overlay::default();
    for path in changes.changed.iter().chain(&changes.untracked) {
        if path.ends_with('/') {
            done.skipped.push((path.clone(), "a nested repository is not copied".to_owned()));
            continue;
        }
        if path.contains('\u{fffd}') {
            done.skipped.push((path.clone(), "its name is not UTF-8".to_owned()));
            continue;
        }
        let from = source.join(path);
        let to = destination.join(path);
        let metadata = match fs_err::symlink_metadata(&from) {
            Ok(metadata) => metadata,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                if remove(&to)? {
                    done.removed += 1;
                }
                continue;
            }
            Err(error) => return Err(error),
        };
        if metadata.is_dir() {
            done.skipped.push((path.clone(), "a directory in place of a file (a submodule?) is not copied".to_owned()));
            continue;
        }
        if let Some(parent) = to.parent() {
            fs_err::create_dir_all(parent)?;
        }
        remove(&to)?;
        if metadata.file_type().is_symlink() {
            std::os::unix::fs::symlink(fs_err::read_link(&from)?, &to)?;
        } else {
            fs_err::copy(&from, &to)?;
        }
        done.copied += 1;
    }
    Ok(done)
}

/// Removes a file or link at `path`; whether there was one.
fn remove(path: &Path) -> io::Result<bool> {
    match fs_err::symlink_metadata(path) {
        Ok(metadata) if metadata.is_dir() => {
            fs_err::remove_dir_all(path)?;
            Ok(true)
        }
        Ok(_) => {
            fs_err::remove_file(path)?;
            Ok(true)
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn changes_deletions_links_and_modes_carry_over() {
        let directory = tempfile::tempdir().expect("temporary directory");
        let (source, destination) = (directory.path().join("source"), directory.path().join("copy"));
        for root in [&source, &destination] {
            fs_err::create_dir_all(root.join("dir")).expect("mkdir");
            fs_err::write(root.join("dir/kept.txt"), "committed\n").expect("write");
            fs_err::write(root.join("gone.txt"), "committed\n").expect("write");
        }
        fs_err::write(source.join("dir/kept.txt"), "edited\n").expect("write");
        fs_err::remove_file(source.join("gone.txt")).expect("remove");
        fs_err::create_dir_all(source.join("new/deep")).expect("mkdir");
        fs_err::write(source.join("new/deep/run.sh"), "#!/bin/sh\n").expect("write");
        fs_err::set_permissions(source.join("new/deep/run.sh"), std::fs::Permissions::from_mode(0o755)).expect("chmod");
        std::os::unix::fs::symlink("/etc/hostname", source.join("link")).expect("symlink");
        fs_err::create_dir_all(source.join("vendored/.git")).expect("mkdir");
        let changes = WorkingChanges {
            changed: vec!["dir/kept.txt".into(), "gone.txt".into()],
            untracked: vec!["new/deep/run.sh".into(), "link".into(), "vendored/".into()],
        };
        let done = overlay(&source, &destination, &changes).expect("overlay");
        assert_eq!(done.copied, 3);
        assert_eq!(done.removed, 1);
        assert_eq!(done.skipped.len(), 1, "{:?}", done.skipped);
        assert_eq!(fs_err::read_to_string(destination.join("dir/kept.txt")).expect("read"), "edited\n");
        assert!(!destination.join("gone.txt").exists());
        let mode = fs_err::metadata(destination.join("new/deep/run.sh")).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o755, "the executable bit is kept");
        assert_eq!(fs_err::read_link(destination.join("link")).expect("a link").to_str(), Some("/etc/hostname"));
        assert_eq!(fs_err::read_to_string(source.join("dir/kept.txt")).expect("read"), "edited\n", "source intact");
    }
}
