//! Throwaway git repositories, made with the real `git`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A git repository in a temporary directory, removed on drop.
pub struct TempRepo {
    directory: tempfile::TempDir,
}

impl TempRepo {
    /// `git init` with an identity and `main` as the branch.
    ///
    /// # Panics
    ///
    /// When git is missing or fails.
    pub fn new() -> TempRepo {
        let repo = TempRepo { directory: tempfile::tempdir().expect("temporary directory") };
        repo.git(&["init", "--quiet", "--initial-branch=main"]);
        repo.git(&["config", "user.name", "Slipway Test"]);
        repo.git(&["config", "user.email", "test@slipway.invalid"]);
        repo.git(&["config", "commit.gpgsign", "false"]);
        repo.git(&["config", "tag.gpgsign", "false"]);
        repo
    }

    /// The repository's directory.
    pub fn path(&self) -> &Path {
        self.directory.path()
    }

    /// Writes a file (creating directories).
    pub fn write(&self, path: &str, contents: &str) -> &Self {
        let full = self.path().join(path);
        if let Some(parent) = full.parent() {
            fs_err::create_dir_all(parent).expect("create directories");
        }
        fs_err::write(full, contents).expect("write file");
        self
    }

    /// Reads a file.
    pub fn read(&self, path: &str) -> String {
        fs_err::read_to_string(self.path().join(path)).expect("read file")
    }

    /// Copies a directory tree into the repository at `destination`.
    pub fn copy_tree(&self, source: &Path, destination: &str) -> &Self {
        copy_tree(source, &self.path().join(destination));
        self
    }

    /// Stages everything and commits; returns the commit id.
    pub fn commit(&self, message: &str) -> String {
        self.git(&["add", "--all"]);
        self.git(&["commit", "--quiet", "--allow-empty", "-m", message]);
        self.git(&["rev-parse", "HEAD"]).trim().to_owned()
    }

    /// Creates a lightweight tag at `HEAD`.
    pub fn tag(&self, name: &str) -> &Self {
        self.git(&["tag", name]);
        self
    }

    /// Runs git and returns stdout.
    ///
    /// # Panics
    ///
    /// When the command fails.
    pub fn git(&self, args: &[&str]) -> String {
        let output = Command::new("git").args(args).current_dir(self.path()).output().expect("git is installed");
        assert!(output.status.success(), "git {} failed: {}", args.join(" "), String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).expect("git prints UTF-8")
    }
}

impl Default for TempRepo {
    fn default() -> Self {
        TempRepo::new()
    }
}

/// Copies every file under `source` to the same place under `destination`.
///
/// # Panics
///
/// When a file cannot be read or written.
pub fn copy_tree(source: &Path, destination: &Path) {
    for entry in walk(source) {
        let relative = entry.strip_prefix(source).expect("under source");
        let target = destination.join(relative);
        if let Some(parent) = target.parent() {
            fs_err::create_dir_all(parent).expect("create directories");
        }
        fs_err::copy(&entry, &target).expect("copy file");
    }
}

fn walk(directory: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![directory.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in fs_err::read_dir(&next).expect("read directory") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}
