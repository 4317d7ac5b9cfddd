//! Loading a [`FileSet`] from the work tree.
//!
//! The walk honours `.gitignore`, never follows symbolic links (a link's target is read at its
//! own path when it is inside the tree; a bump must never write through a link) and reports
//! broken or looping links instead of failing on them.

use std::path::Path;

use ignore::WalkBuilder;

use super::{FileSet, Skipped, wanted, wanted_directory};
use crate::config::Settings;
use crate::error::Error;

/// Reads every wanted file under `root`.
pub fn load(root: &Path, settings: &Settings) -> Result<FileSet, Error> {
    let mut files = FileSet::default();
    let filter_settings = settings.clone();
    let filter_root = root.to_path_buf();
    let walker = WalkBuilder::new(root)
        .hidden(false)
        .git_ignore(true)
        .git_exclude(true)
        .git_global(false)
        .require_git(false)
        .parents(true)
        .follow_links(false)
        .sort_by_file_name(|a, b| a.cmp(b))
        .filter_entry(move |entry| {
            if entry.depth() == 0 || !entry.file_type().is_some_and(|kind| kind.is_dir()) {
                return true;
            }
            relative(&filter_root, entry.path()).is_some_and(|path| wanted_directory(&path, &filter_settings))
        })
        .build();
    for entry in walker {
        let entry = match entry {
            Ok(entry) => entry,
            Err(error) => {
                files.skipped.push(Skipped { path: error_path(&error).unwrap_or_default(), reason: error.to_string() });
                continue;
            }
        };
        let Some(kind) = entry.file_type() else {
            continue;
        };
        let Some(path) = relative(root, entry.path()) else {
            continue;
        };
        if kind.is_dir() || !wanted(&path, settings) {
            continue;
        }
        if kind.is_symlink() {
            if let Err(error) = std::fs::metadata(entry.path()) {
                let reason = if error.raw_os_error() == Some(40) {
                    "symlink loop (too many levels of symbolic links)".to_owned()
                } else {
                    format!("broken symlink ({error})")
                };
                files.skipped.push(Skipped { path, reason });
            }
            continue;
        }
        if !kind.is_file() {
            continue;
        }
        if let Ok(metadata) = entry.metadata()
            && metadata.len() > super::MAX_FILE_SIZE
        {
            let reason = format!("larger than {} MiB", super::MAX_FILE_SIZE / (1024 * 1024));
            files.skipped.push(Skipped { path, reason });
            continue;
        }
        let bytes = fs_err::read(entry.path()).map_err(|source| Error::Read { path: path.clone(), source })?;
        files.insert(path, bytes);
    }
    Ok(files)
}

fn relative(root: &Path, path: &Path) -> Option<String> {
    let relative = path.strip_prefix(root).ok()?;
    let parts: Vec<&str> = relative.components().map(|part| part.as_os_str().to_str()).collect::<Option<_>>()?;
    Some(parts.join("/"))
}

fn error_path(error: &ignore::Error) -> Option<String> {
    match error {
        ignore::Error::WithPath { path, .. } => Some(path.display().to_string()),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => error_path(err),
        ignore::Error::Loop { child, .. } => Some(child.display().to_string()),
        _ => None,
    }
}
