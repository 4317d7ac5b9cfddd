//! The git adapter: every git command slipway runs, through the `git` executable.
//!
//! The CLI is used rather than a library so credential helpers, hooks, signing configuration and
//! exact porcelain behaviour are the user's own. Reading many files at a tag goes through one
//! `git cat-file --batch` process, so it costs one process, not one per file.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use slipway_core::exit;

mod source;

pub use source::{FoundRef, WorkingChanges, clone_without_checkout};

/// Why a git command could not give an answer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The `git` executable could not be run.
    #[error("could not run `git`; is it installed and on PATH?")]
    Missing(#[source] std::io::Error),
    /// A git command failed.
    #[error("`git {command}` failed in `{}`: {stderr}", directory.display())]
    Failed {
        /// The git arguments, joined.
        command: String,
        /// Where it ran.
        directory: PathBuf,
        /// What git printed on stderr, trimmed.
        stderr: String,
    },
    /// git has no identity to commit with.
    #[error("git has no committer identity here; set user.name and user.email")]
    NoIdentity(#[source] Box<Error>),
}

impl Error {
    /// The process exit code this error means: a missing git or a failing command is the
    /// environment failing (3); a missing identity is configuration (2).
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::NoIdentity(_) => exit::USAGE,
            Error::Missing(_) | Error::Failed { .. } => exit::INFRASTRUCTURE,
        }
    }
}

/// A git repository that contains the directory slipway works on.
#[derive(Debug, Clone)]
pub struct Git {
    /// The directory commands run in (the scan root).
    directory: PathBuf,
    /// The repository's top level.
    toplevel: PathBuf,
    /// The scan root relative to the top level, with a trailing `/`, or empty.
    prefix: String,
}

/// A tag and what it points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagRef {
    /// The tag's name.
    pub name: String,
    /// The commit it names (through the tag object, for annotated tags).
    pub commit: String,
    /// The tag object's id, for annotated tags.
    pub tag_object: Option<String>,
}

/// One entry of a tree listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeEntry {
    /// Path relative to the scan root.
    pub path: String,
    /// The blob id.
    pub object: String,
    /// Whether git stores it as a symbolic link.
    pub symlink: bool,
}

impl Git {
    /// Finds the repository containing `directory`, or `None` when there is none.
    pub fn discover(directory: &Path) -> Result<Option<Git>, Error> {
        let output = run_raw(directory, &["rev-parse", "--show-toplevel", "--show-prefix"])?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            if stderr.contains("not a git repository") {
                return Ok(None);
            }
            return Err(git_error(directory, &["rev-parse", "--show-toplevel"], &output.stderr));
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        let mut lines = stdout.lines();
        let toplevel = PathBuf::from(lines.next().unwrap_or_default());
        let prefix = lines.next().unwrap_or_default().to_owned();
        Ok(Some(Git { directory: directory.to_path_buf(), toplevel, prefix }))
    }

    /// The repository's top-level directory.
    pub fn toplevel(&self) -> &Path {
        &self.toplevel
    }

    /// The commit a tag points at, or `None` when the tag does not exist.
    pub fn tag_commit(&self, tag: &str) -> Result<Option<String>, Error> {
        let reference = format!("refs/tags/{tag}^{{commit}}");
        let output = run_raw(&self.directory, &["rev-parse", "--verify", "--quiet", &reference])?;
        if output.status.success() {
            Ok(Some(String::from_utf8_lossy(&output.stdout).trim().to_owned()))
        } else {
            Ok(None)
        }
    }

    /// The commit `HEAD` points at, or `None` in a repository without commits.
    pub fn head_commit(&self) -> Result<Option<String>, Error> {
        let output = run_raw(&self.directory, &["rev-parse", "--verify", "--quiet", "HEAD^{commit}"])?;
        Ok(output.status.success().then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned()))
    }

    /// Tags that point at `HEAD`.
    pub fn tags_at_head(&self) -> Result<Vec<String>, Error> {
        let output = run_raw(&self.directory, &["tag", "--points-at", "HEAD"])?;
        Ok(String::from_utf8_lossy(&output.stdout).lines().map(str::to_owned).collect())
    }

    /// Whether files under the scan root differ from `HEAD` (tracked changes only).
    pub fn has_changes(&self) -> Result<bool, Error> {
        Ok(!self.changed_files(&[])?.is_empty())
    }

    /// Which of `paths` (relative to the scan root; all under it when empty) have staged or
    /// unstaged changes.
    pub fn changed_files(&self, paths: &[String]) -> Result<Vec<String>, Error> {
        let mut args = vec!["status", "--porcelain=v1", "-z", "--untracked-files=no", "--", "."];
        if !paths.is_empty() {
            args.pop();
            args.extend(paths.iter().map(String::as_str));
        }
        let stdout = self.run(&args)?;
        // Porcelain paths are relative to the top level, whatever the working directory.
        Ok(stdout
            .split('\0')
            .filter_map(|entry| entry.get(3..))
            .filter_map(|path| path.strip_prefix(self.prefix.as_str()))
            .filter(|path| !path.is_empty())
            .map(str::to_owned)
            .collect())
    }

    /// When `commit` was committed, in seconds since the Unix epoch.
    pub fn commit_time(&self, commit: &str) -> Result<i64, Error> {
        let stdout = self.run(&["log", "-1", "--format=%ct", commit])?;
        stdout.trim().parse().map_err(|_| Error::Failed {
            command: format!("log -1 --format=%ct {commit}"),
            directory: self.directory.clone(),
            stderr: format!("unexpected output `{}`", stdout.trim()),
        })
    }

    /// `git describe` of `HEAD` against tags starting with `prefix`: the tag itself on a tagged
    /// commit, `TAG-N-gHASH` after it, the abbreviated commit when no tag matches, with `-dirty`
    /// when tracked files have changes. `None` in a repository without commits.
    pub fn describe(&self, prefix: &str) -> Result<Option<String>, Error> {
        if self.head_commit()?.is_none() {
            return Ok(None);
        }
        let pattern = format!("{prefix}*");
        let stdout = self.run(&["describe", "--tags", "--always", "--dirty", "--abbrev=12", "--match", &pattern])?;
        Ok(Some(stdout.trim().to_owned()))
    }

    /// The URL of the `origin` remote, if there is one.
    pub fn origin_url(&self) -> Result<Option<String>, Error> {
        self.remote_url("origin")
    }

    /// The URL of the remote `name`, if there is one.
    pub fn remote_url(&self, name: &str) -> Result<Option<String>, Error> {
        let output = run_raw(&self.directory, &["remote", "get-url", name])?;
        Ok(output.status.success().then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned()))
    }

    /// The absolute path of the git directory (`.git`, or a worktree's own).
    pub fn git_directory(&self) -> Result<PathBuf, Error> {
        Ok(PathBuf::from(self.run(&["rev-parse", "--absolute-git-dir"])?.trim()))
    }

    /// Every tag, with the object it names and, for annotated tags, the commit behind it.
    pub fn tags(&self) -> Result<Vec<TagRef>, Error> {
        let stdout = self.run(&[
            "for-each-ref",
            "--format=%(refname:strip=2)%00%(objecttype)%00%(objectname)%00%(*objectname)",
            "refs/tags",
        ])?;
        Ok(stdout
            .lines()
            .filter_map(|line| {
                let mut fields = line.split('\0');
                let (name, kind, object, peeled) = (fields.next()?, fields.next()?, fields.next()?, fields.next()?);
                let annotated = kind == "tag";
                Some(TagRef {
                    name: name.to_owned(),
                    commit: if annotated { peeled.to_owned() } else { object.to_owned() },
                    tag_object: annotated.then(|| object.to_owned()),
                })
            })
            .collect())
    }

    /// One tag, as [`Git::tags`] describes it, or `None` when it does not exist.
    pub fn tag(&self, name: &str) -> Result<Option<TagRef>, Error> {
        let reference = format!("refs/tags/{name}");
        let output = run_raw(&self.directory, &["rev-parse", "--verify", "--quiet", &reference])?;
        if !output.status.success() {
            return Ok(None);
        }
        let object = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        let Some(commit) = self.tag_commit(name)? else {
            return Ok(None);
        };
        let tag_object = (object != commit).then_some(object);
        Ok(Some(TagRef { name: name.to_owned(), commit, tag_object }))
    }

    /// The names of local branches and of remote-tracking branches without their remote
    /// (`origin/release-1.36` is `release-1.36`), deduplicated.
    pub fn branches(&self) -> Result<Vec<String>, Error> {
        let stdout = self.run(&["for-each-ref", "--format=%(refname)", "refs/heads", "refs/remotes"])?;
        let mut names: Vec<String> = stdout
            .lines()
            .filter_map(|reference| {
                if let Some(name) = reference.strip_prefix("refs/heads/") {
                    return Some(name.to_owned());
                }
                let (_, name) = reference.strip_prefix("refs/remotes/")?.split_once('/')?;
                (name != "HEAD").then(|| name.to_owned())
            })
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// The full id of the commit that `revision` names: a tag, a branch, or a commit id,
    /// abbreviated to a unique prefix or whole. `Ok(None)` when nothing matches; an ambiguous
    /// prefix is an error that says so.
    pub fn resolve_commit(&self, revision: &str) -> Result<Option<String>, Error> {
        let spec = format!("{revision}^{{commit}}");
        let output = run_raw(&self.directory, &["rev-parse", "--verify", "--quiet", "--end-of-options", &spec])?;
        if output.status.success() {
            return Ok(Some(String::from_utf8_lossy(&output.stdout).trim().to_owned()));
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        if stderr.contains("ambiguous") {
            return Err(git_error(&self.directory, &["rev-parse", revision], &output.stderr));
        }
        Ok(None)
    }

    /// Who git says is committing here: `Name <email>`, if an identity is configured.
    pub fn committer(&self) -> Result<Option<String>, Error> {
        let output = run_raw(&self.directory, &["var", "GIT_COMMITTER_IDENT"])?;
        if !output.status.success() {
            return Ok(None);
        }
        let ident = String::from_utf8_lossy(&output.stdout);
        // `Name <email> 1700000000 +0000`: drop the time and zone.
        Ok(ident.trim().rsplitn(3, ' ').nth(2).map(str::to_owned))
    }

    /// Every file under the scan root in `commit`'s tree, with paths relative to the scan root.
    pub fn list_tree(&self, commit: &str) -> Result<Vec<TreeEntry>, Error> {
        let stdout = self.run(&["ls-tree", "-r", "-z", "--full-tree", commit, "--", &format!(":/{}", self.prefix)])?;
        let mut entries = Vec::new();
        for record in stdout.split('\0').filter(|record| !record.is_empty()) {
            let Some((meta, full_path)) = record.split_once('\t') else {
                continue;
            };
            let mut fields = meta.split(' ');
            let (Some(mode), Some(kind), Some(object)) = (fields.next(), fields.next(), fields.next()) else {
                continue;
            };
            if kind != "blob" {
                continue;
            }
            let Some(path) = full_path.strip_prefix(&self.prefix) else {
                continue;
            };
            entries.push(TreeEntry { path: path.to_owned(), object: object.to_owned(), symlink: mode == "120000" });
        }
        Ok(entries)
    }

    /// The contents of several blobs, in order, through one `git cat-file --batch`.
    pub fn read_blobs(&self, objects: &[&str]) -> Result<Vec<Vec<u8>>, Error> {
        let mut child = Command::new("git")
            .args(["cat-file", "--batch"])
            .current_dir(&self.directory)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(Error::Missing)?;
        let mut stdin = child.stdin.take().expect("stdin was piped");
        let request: String = objects.iter().map(|object| format!("{object}\n")).collect();
        let writer = std::thread::spawn(move || {
            let result = stdin.write_all(request.as_bytes());
            drop(stdin);
            result
        });
        let mut reader = BufReader::new(child.stdout.take().expect("stdout was piped"));
        let failure = |message: String| Error::Failed {
            command: "cat-file --batch".to_owned(),
            directory: self.directory.clone(),
            stderr: message,
        };
        let mut blobs = Vec::with_capacity(objects.len());
        for object in objects {
            let mut header = String::new();
            reader.read_line(&mut header).map_err(|error| failure(error.to_string()))?;
            let size: usize = header
                .trim_end()
                .rsplit(' ')
                .next()
                .and_then(|size| size.parse().ok())
                .ok_or_else(|| failure(format!("unexpected reply for {object}: {}", header.trim_end())))?;
            let mut contents = vec![0; size];
            reader.read_exact(&mut contents).map_err(|error| failure(error.to_string()))?;
            let mut newline = [0u8; 1];
            reader.read_exact(&mut newline).map_err(|error| failure(error.to_string()))?;
            blobs.push(contents);
        }
        let _ = writer.join();
        let _ = child.wait();
        Ok(blobs)
    }

    /// Checks that git can make a commit here (an identity is configured).
    pub fn check_identity(&self) -> Result<(), Error> {
        self.run(&["var", "GIT_COMMITTER_IDENT"]).map(drop).map_err(|error| Error::NoIdentity(Box::new(error)))
    }

    /// Commits exactly `paths` (relative to the scan root) with `message`, returning the commit.
    pub fn commit_paths(&self, paths: &[String], message: &str) -> Result<String, Error> {
        let mut args = vec!["commit", "--quiet", "--no-verify", "--only", "-m", message, "--"];
        args.extend(paths.iter().map(String::as_str));
        self.run(&args)?;
        Ok(self.run(&["rev-parse", "HEAD"])?.trim().to_owned())
    }

    /// Creates an annotated tag at `commit`. Fails if the tag exists.
    pub fn create_tag(&self, tag: &str, commit: &str, message: &str) -> Result<(), Error> {
        self.run(&["tag", "-a", tag, "-m", message, commit]).map(drop)
    }

    fn run(&self, args: &[&str]) -> Result<String, Error> {
        let output = run_raw(&self.directory, args)?;
        if !output.status.success() {
            return Err(git_error(&self.directory, args, &output.stderr));
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }
}

/// The web address of a repository from a remote URL, as `org.opencontainers.image.source`
/// wants it: `git@github.com:org/repo.git` and `ssh://git@github.com/org/repo` give
/// `https://github.com/org/repo`. Local paths give `None`.
pub fn web_url(remote: &str) -> Option<String> {
    let remote = remote.trim();
    let (host, path) = if let Some(rest) = remote.strip_prefix("https://").or_else(|| remote.strip_prefix("http://")) {
        let rest = rest.rsplit_once('@').map_or(rest, |(_, after)| after);
        rest.split_once('/')?
    } else if let Some(rest) = remote.strip_prefix("ssh://").or_else(|| remote.strip_prefix("git://")) {
        let rest = rest.rsplit_once('@').map_or(rest, |(_, after)| after);
        let (host, path) = rest.split_once('/')?;
        (host.split(':').next().unwrap_or(host), path)
    } else if let Some((user_host, path)) = remote.split_once(':') {
        let host = user_host.rsplit_once('@').map_or(user_host, |(_, host)| host);
        if host.contains('/') || path.starts_with("//") {
            return None;
        }
        (host, path)
    } else {
        return None;
    };
    let path = path.trim_end_matches('/').trim_end_matches(".git");
    if host.is_empty() || path.is_empty() || !host.contains('.') {
        return None;
    }
    Some(format!("https://{host}/{path}"))
}

fn run_raw(directory: &Path, args: &[&str]) -> Result<std::process::Output, Error> {
    Command::new("git")
        .args(args)
        .current_dir(directory)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .output()
        .map_err(Error::Missing)
}

fn git_error(directory: &Path, args: &[&str], stderr: &[u8]) -> Error {
    Error::Failed {
        command: args.join(" "),
        directory: directory.to_path_buf(),
        stderr: String::from_utf8_lossy(stderr).trim().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(directory: &Path, args: &[&str]) {
        let status = Command::new("git")
            .args(args)
            .current_dir(directory)
            .env("GIT_COMMITTER_DATE", "@1700000000 +0000")
            .status()
            .expect("git runs");
        assert!(status.success(), "git {args:?}");
    }

    #[test]
    fn remotes_become_web_addresses() {
        for remote in [
            "git@github.com:org/repo.git",
            "https://github.com/org/repo.git",
            "ssh://git@github.com:22/org/repo",
            "https://token@github.com/org/repo/",
        ] {
            assert_eq!(web_url(remote).as_deref(), Some("https://github.com/org/repo"), "{remote}");
        }
        assert_eq!(web_url("/srv/git/repo.git"), None);
        assert_eq!(web_url("../other"), None);
    }

    #[test]
    fn describes_tags_commits_and_dirt() {
        let directory = tempfile::tempdir().expect("temporary directory");
        let path = directory.path();
        git(path, &["init", "--quiet", "--initial-branch=main"]);
        let repo = Git::discover(path).expect("git runs").expect("a repository");
        assert_eq!(repo.describe("v").expect("describe"), None);
        fs_err::write(path.join("a.txt"), "one\n").expect("write");
        git(path, &["add", "a.txt"]);
        git(path, &["-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "-m", "one"]);
        let head = repo.head_commit().expect("rev-parse").expect("a commit");
        assert_eq!(repo.describe("v").expect("describe").as_deref(), Some(&head[..12]));
        git(path, &["tag", "v1.2.0"]);
        git(path, &["tag", "other-9.9.9"]);
        assert_eq!(repo.describe("v").expect("describe").as_deref(), Some("v1.2.0"));
        fs_err::write(path.join("a.txt"), "two\n").expect("write");
        assert_eq!(repo.describe("v").expect("describe").as_deref(), Some("v1.2.0-dirty"));
        git(path, &["-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "-am", "two"]);
        let described = repo.describe("v").expect("describe").expect("a description");
        assert!(described.starts_with("v1.2.0-1-g"), "{described}");
        assert_eq!(repo.commit_time(&head).expect("log"), 1_700_000_000);
    }

    #[test]
    fn tags_branches_and_abbreviated_commits() {
        let directory = tempfile::tempdir().expect("temporary directory");
        let path = directory.path();
        git(path, &["init", "--quiet", "--initial-branch=main"]);
        fs_err::write(path.join("a.txt"), "one\n").expect("write");
        git(path, &["add", "a.txt"]);
        git(path, &["-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "-m", "one"]);
        git(path, &["tag", "v1.0.0"]);
        git(path, &["-c", "user.name=t", "-c", "user.email=t@t", "tag", "-a", "v1.1.0", "-m", "annotated"]);
        git(path, &["branch", "release-1.0"]);
        git(path, &["update-ref", "refs/remotes/origin/release-1.1", "HEAD"]);
        git(path, &["update-ref", "refs/remotes/origin/release-1.0", "HEAD"]);
        let repo = Git::discover(path).expect("git runs").expect("a repository");
        let head = repo.head_commit().expect("rev-parse").expect("a commit");
        let tags = repo.tags().expect("tags");
        assert_eq!(tags.len(), 2);
        assert_eq!(tags[0], TagRef { name: "v1.0.0".into(), commit: head.clone(), tag_object: None });
        assert_eq!(tags[1].commit, head);
        assert!(tags[1].tag_object.as_ref().is_some_and(|object| object != &head), "{:?}", tags[1]);
        assert_eq!(repo.tag("v1.1.0").expect("tag"), Some(tags[1].clone()));
        assert_eq!(repo.tag("v9.9.9").expect("tag"), None);
        assert_eq!(repo.branches().expect("branches"), ["main", "release-1.0", "release-1.1"]);
        assert_eq!(repo.resolve_commit(&head[..7]).expect("resolves"), Some(head.clone()));
        assert_eq!(repo.resolve_commit("v1.1.0").expect("resolves"), Some(head));
        assert_eq!(repo.resolve_commit("0000000").expect("nothing"), None);
        assert!(repo.git_directory().expect("git dir").ends_with(".git"));
    }
}
