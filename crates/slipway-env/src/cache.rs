//! The on-disk cache of what was read from the network (markers, kind's release notes,
//! verified node images). A cache is an optimisation: failing to write one changes nothing else.

use std::path::Path;

/// Writes `body` to `file` through a temporary file, so a reader never sees half of it.
pub(crate) fn store(file: &Path, body: &str) {
    if let Some(parent) = file.parent() {
        let _ = fs_err::create_dir_all(parent);
    }
    let temporary = file.with_extension(format!("tmp{}", std::process::id()));
    if fs_err::write(&temporary, body).is_ok() && fs_err::rename(&temporary, file).is_err() {
        let _ = fs_err::remove_file(&temporary);
    }
}
