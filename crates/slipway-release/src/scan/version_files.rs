//! Configured version files: a path and a regex whose one capture group is the version.

use super::Located;
use super::text::LineIndex;
use crate::config::VersionFile;
use crate::source::FileSet;

/// What one configured version file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionFileMatch {
    /// The configured path.
    pub path: String,
    /// The pattern, for messages.
    pub pattern: String,
    /// Each captured value; empty when the pattern matched nothing or the file is missing.
    pub values: Vec<Located>,
    /// Whether the file exists.
    pub exists: bool,
}

/// Applies each configured pattern to its file.
pub fn read(files: &FileSet, configured: &[VersionFile]) -> Vec<VersionFileMatch> {
    configured
        .iter()
        .map(|file| {
            let Some(text) = files.get(&file.path) else {
                return VersionFileMatch {
                    path: file.path.clone(),
                    pattern: file.pattern.to_string(),
                    values: Vec::new(),
                    exists: false,
                };
            };
            let lines = LineIndex::new(text);
            let values = file
                .pattern
                .captures_iter(text)
                .filter_map(|captures| captures.get(1))
                .map(|group| Located {
                    file: file.path.clone(),
                    line: lines.line(group.start()),
                    text: group.as_str().to_owned(),
                    range: Some(group.range()),
                })
                .collect();
            VersionFileMatch { path: file.path.clone(), pattern: file.pattern.to_string(), values, exists: true }
        })
        .collect()
}
