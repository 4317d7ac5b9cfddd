//! Loading a [`FileSet`] from a commit through git, so `release verify --tag` checks what the tag
//! holds and not whatever the work tree holds now.

use super::{FileSet, Skipped, wanted};
use crate::config::Settings;
use crate::error::Error;
use slipway_git::Git;

/// Reads every wanted file under the scan root at `commit`.
pub fn load(git: &Git, commit: &str, settings: &Settings) -> Result<FileSet, Error> {
    let mut files = FileSet::default();
    let mut selected = Vec::new();
    for entry in git.list_tree(commit)? {
        if !wanted(&entry.path, settings) {
            continue;
        }
        if entry.symlink {
            files.skipped.push(Skipped { path: entry.path, reason: "symlink (not followed)".to_owned() });
            continue;
        }
        selected.push(entry);
    }
    let objects: Vec<&str> = selected.iter().map(|entry| entry.object.as_str()).collect();
    let blobs = git.read_blobs(&objects)?;
    for (entry, bytes) in selected.into_iter().zip(blobs) {
        files.insert(entry.path, bytes);
    }
    Ok(files)
}
