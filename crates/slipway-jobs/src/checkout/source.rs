//! Where a ref's code comes from: a local working tree (used as it is), a local bare
//! repository, or a URL git clones from.

use std::path::{Path, PathBuf};

use slipway_git::Git;

/// Where one ref's code comes from.
#[derive(Debug)]
pub(crate) enum Source {
    /// A local working tree: its files as they are, committed or not.
    WorkingTree(Git),
    /// A local bare repository: its branches, tags and commits.
    Bare(Git),
    /// Something git clones from: an `https://`, `ssh://`, `file://` or `host:path` address.
    Remote(String),
}

/// Why a source cannot be used.
#[derive(Debug)]
pub(crate) enum Unusable {
    /// The path does not exist or is not a repository: the user's input.
    Input(String),
    /// git could not be asked.
    Git(slipway_git::Error),
}

impl Source {
    /// Reads `value` (a `--ref` value, a `clone_uri` or a GitHub address): a URL is
    /// [`Source::Remote`]; anything else is a local path, relative to the current directory,
    /// that must be a repository.
    pub(crate) fn of(value: &str) -> Result<Source, Unusable> {
        if is_url(value) {
            return Ok(Source::Remote(value.to_owned()));
        }
        let path = PathBuf::from(value);
        if !path.is_dir() {
            return Err(Unusable::Input(format!("`{value}` is neither a directory nor a URL")));
        }
        if let Some(git) = Git::open_bare(&path).map_err(Unusable::Git)? {
            return Ok(Source::Bare(git));
        }
        match Git::discover(&path).map_err(Unusable::Git)? {
            Some(git) => Ok(Source::WorkingTree(git)),
            None => Err(Unusable::Input(format!("`{}` is not in a git repository", display(&path)))),
        }
    }
}

/// Whether git reads `value` as an address rather than a path: it has a scheme
/// (`https://`, `file://`), or is scp-like (`git@github.com:org/repo`: a colon before any
/// slash).
fn is_url(value: &str) -> bool {
    if value.contains("://") {
        return true;
    }
    match value.split_once(':') {
        Some((host, _)) => !host.is_empty() && !host.contains('/'),
        None => false,
    }
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_paths() {
        for url in ["https://github.com/org/repo", "file:///srv/repo.git", "git@github.com:org/repo.git", "host:repo"] {
            assert!(is_url(url), "{url}");
        }
        for path in [".", "../descheduler", "/srv/repo", "dir/with:colon"] {
            assert!(!is_url(path), "{path}");
        }
    }

    #[test]
    fn a_missing_directory_is_the_users_input() {
        let error = Source::of("/nonexistent/checkout").expect_err("missing");
        assert!(
            matches!(&error, Unusable::Input(reason) if reason.contains("neither a directory nor a URL")),
            "{error:?}"
        );
        let directory = tempfile::tempdir().expect("temporary directory");
        let plain = Source::of(&directory.path().display().to_string()).expect_err("not a repository");
        assert!(matches!(&plain, Unusable::Input(reason) if reason.contains("not in a git repository")), "{plain:?}");
    }
}
