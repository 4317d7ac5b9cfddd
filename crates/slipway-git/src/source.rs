//! A repository as the source of a checkout: which commit a branch name means in it (a local
//! branch, else a remote-tracking one), its default branch, what its working tree changes
//! against `HEAD`, and cloning it or a remote URL.

use std::path::Path;

use crate::{Error, Git, git_error, run_raw};

/// A branch or tag found in a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundRef {
    /// The full reference that matched (`refs/remotes/origin/release-1.36`).
    pub reference: String,
    /// The commit it names.
    pub commit: String,
}

/// What a working tree holds beyond `HEAD`: the paths (relative to the top level) of tracked
/// files changed, staged or not, added or deleted, and of untracked files that are not ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkingChanges {
    /// Tracked paths that differ from `HEAD` (a deleted file is listed too).
    pub changed: Vec<String>,
    /// Untracked paths that no ignore rule covers.
    pub untracked: Vec<String>,
}

impl Git {
    /// A bare repository at `path`, or `None` when `path` is not one.
    pub fn open_bare(path: &Path) -> Result<Option<Git>, Error> {
        let output = run_raw(path, &["rev-parse", "--is-bare-repository"])?;
        let bare = output.status.success() && String::from_utf8_lossy(&output.stdout).trim() == "true";
        Ok(bare.then(|| Git { directory: path.to_path_buf(), toplevel: path.to_path_buf(), prefix: String::new() }))
    }

    /// The commit that branch (or tag) `name` names here, looked up as a local branch, then as a
    /// remote-tracking branch of `origin`, then `upstream`, then any other remote, then as a tag:
    /// a clone has its release branches only as `origin/*`.
    pub fn find_ref(&self, name: &str) -> Result<Option<FoundRef>, Error> {
        let stdout = self.run(&["for-each-ref", "--format=%(refname)%00%(objectname)%00%(*objectname)"])?;
        let refs: Vec<(&str, &str)> = stdout
            .lines()
            .filter_map(|line| {
                let mut fields = line.split('\0');
                let (reference, object, peeled) = (fields.next()?, fields.next()?, fields.next()?);
                Some((reference, if peeled.is_empty() { object } else { peeled }))
            })
            .collect();
        let candidates = [
            format!("refs/heads/{name}"),
            format!("refs/remotes/origin/{name}"),
            format!("refs/remotes/upstream/{name}"),
        ];
        let exact = candidates.iter().find_map(|wanted| refs.iter().find(|(reference, _)| reference == wanted));
        let other_remote = || {
            refs.iter().find(|(reference, _)| {
                reference
                    .strip_prefix("refs/remotes/")
                    .and_then(|rest| rest.split_once('/'))
                    .is_some_and(|(_, branch)| branch == name)
            })
        };
        let tag = format!("refs/tags/{name}");
        let found = exact.or_else(other_remote).or_else(|| refs.iter().find(|(reference, _)| *reference == tag));
        Ok(found
            .map(|(reference, commit)| FoundRef { reference: (*reference).to_owned(), commit: (*commit).to_owned() }))
    }

    /// The repository's default branch: what `origin/HEAD` points at; else `main` or `master`
    /// on `origin`; else the branch checked out; else a local `main` or `master`.
    pub fn default_branch(&self) -> Result<Option<String>, Error> {
        let output = run_raw(&self.directory, &["symbolic-ref", "--quiet", "refs/remotes/origin/HEAD"])?;
        if output.status.success()
            && let Some(branch) = String::from_utf8_lossy(&output.stdout).trim().strip_prefix("refs/remotes/origin/")
        {
            return Ok(Some(branch.to_owned()));
        }
        let stdout = self.run(&["for-each-ref", "--format=%(refname)", "refs/heads", "refs/remotes/origin"])?;
        let has = |reference: &str| stdout.lines().any(|line| line == reference);
        for branch in ["main", "master"] {
            if has(&format!("refs/remotes/origin/{branch}")) {
                return Ok(Some(branch.to_owned()));
            }
        }
        let output = run_raw(&self.directory, &["symbolic-ref", "--quiet", "--short", "HEAD"])?;
        let current = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        if output.status.success() && !current.is_empty() && has(&format!("refs/heads/{current}")) {
            return Ok(Some(current));
        }
        Ok(["main", "master"].into_iter().find(|branch| has(&format!("refs/heads/{branch}"))).map(str::to_owned))
    }

    /// The branch checked out, or `None` on a detached `HEAD`.
    pub fn current_branch(&self) -> Result<Option<String>, Error> {
        let output = run_raw(&self.directory, &["symbolic-ref", "--quiet", "--short", "HEAD"])?;
        let branch = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        Ok((output.status.success() && !branch.is_empty()).then_some(branch))
    }

    /// What the working tree changes against `HEAD`, leaving out paths under `excluded`
    /// (relative to the top level). Reads only: the index is neither refreshed nor written
    /// (`GIT_OPTIONAL_LOCKS=0`), the stash is untouched.
    pub fn working_changes(&self, excluded: &[String]) -> Result<WorkingChanges, Error> {
        self.changes_since("HEAD", excluded)
    }

    /// What the working tree changes against `commit`: its commits since, staged and unstaged
    /// edits (a rename is the old path and the new), and untracked files that are not ignored.
    /// Reads only, as [`Git::working_changes`].
    pub fn changes_since(&self, commit: &str, excluded: &[String]) -> Result<WorkingChanges, Error> {
        let excludes: Vec<String> = excluded.iter().map(|path| format!(":(exclude,top){path}")).collect();
        let mut diff = vec![
            "diff",
            "--name-only",
            "-z",
            "--no-renames",
            "--no-relative",
            "--no-ext-diff",
            "--ignore-submodules=all",
            commit,
            "--",
            ":(top)",
        ];
        diff.extend(excludes.iter().map(String::as_str));
        let changed = self.run_reading(&diff)?;
        let mut others = vec!["ls-files", "-z", "--others", "--exclude-standard", "--full-name", "--", ":(top)"];
        others.extend(excludes.iter().map(String::as_str));
        let untracked = self.run_reading(&others)?;
        let split = |text: String| -> Vec<String> {
            text.split('\0').filter(|path| !path.is_empty()).map(str::to_owned).collect()
        };
        Ok(WorkingChanges { changed: split(changed), untracked: split(untracked) })
    }

    /// The base a change is compared with, named the way people name it: `origin/release-1.36`
    /// (a remote-tracking branch), a bare branch name (`release-1.36`: `upstream/`, then
    /// `origin/`, then the local branch, as a pull request's base is the upstream branch), a tag,
    /// or a commit. Returns the branch name Prow would see and what it resolved to; `None` when
    /// nothing has that name.
    pub fn find_base(&self, name: &str) -> Result<Option<(String, FoundRef)>, Error> {
        let stdout = self.run(&["for-each-ref", "--format=%(refname)%00%(objectname)%00%(*objectname)"])?;
        let refs: Vec<(&str, &str)> = stdout
            .lines()
            .filter_map(|line| {
                let mut fields = line.split('\0');
                let (reference, object, peeled) = (fields.next()?, fields.next()?, fields.next()?);
                Some((reference, if peeled.is_empty() { object } else { peeled }))
            })
            .collect();
        let lookup = |wanted: &str| {
            refs.iter().find(|(reference, _)| *reference == wanted).map(|(reference, commit)| FoundRef {
                reference: (*reference).to_owned(),
                commit: (*commit).to_owned(),
            })
        };
        if let Some(found) = lookup(&format!("refs/remotes/{name}"))
            && let Some((_, branch)) = name.split_once('/')
        {
            return Ok(Some((branch.to_owned(), found)));
        }
        for prefix in ["refs/remotes/upstream/", "refs/remotes/origin/", "refs/heads/", "refs/tags/"] {
            if let Some(found) = lookup(&format!("{prefix}{name}")) {
                return Ok(Some((name.to_owned(), found)));
            }
        }
        Ok(self.resolve_commit(name)?.map(|commit| (name.to_owned(), FoundRef { reference: commit.clone(), commit })))
    }

    /// The best common ancestor of `a` and `b`, or `None` when they share no history.
    pub fn merge_base(&self, a: &str, b: &str) -> Result<Option<String>, Error> {
        let output = run_raw(&self.directory, &["merge-base", "--end-of-options", a, b])?;
        Ok(output.status.success().then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned()))
    }

    /// Checks out `commit` in this clone, on branch `branch` (created or reset there) or
    /// detached.
    pub fn check_out(&self, commit: &str, branch: Option<&str>) -> Result<(), Error> {
        match branch {
            Some(branch) => self.run(&["checkout", "--quiet", "-B", branch, commit]).map(drop),
            None => self.run(&["checkout", "--quiet", "--detach", commit]).map(drop),
        }
    }

    /// Points branch `branch` at `commit` without checking it out.
    pub fn set_branch(&self, branch: &str, commit: &str) -> Result<(), Error> {
        self.run(&["branch", "--force", "--no-track", branch, commit]).map(drop)
    }

    fn run_reading(&self, args: &[&str]) -> Result<String, Error> {
        let output = std::process::Command::new("git")
            .args(args)
            .current_dir(&self.toplevel)
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_OPTIONAL_LOCKS", "0")
            .env("LC_ALL", "C")
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(Error::Missing)?;
        if !output.status.success() {
            return Err(git_error(&self.toplevel, args, &output.stderr));
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }
}

/// Clones `source` (a path or URL) into `destination` without checking anything out; all of a
/// local repository's objects come along, so any of its commits can be checked out after.
pub fn clone_without_checkout(source: &str, destination: &Path) -> Result<Git, Error> {
    let parent = destination.parent().map(Path::to_path_buf).unwrap_or_else(std::env::temp_dir);
    let destination_text = destination.display().to_string();
    let args = ["clone", "--quiet", "--no-checkout", "--no-hardlinks", "--end-of-options", source, &destination_text];
    let output = run_raw(&parent, &args)?;
    if !output.status.success() {
        return Err(git_error(&parent, &["clone", source], &output.stderr));
    }
    Ok(Git { directory: destination.to_path_buf(), toplevel: destination.to_path_buf(), prefix: String::new() })
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use std::path::PathBuf;

    use super::*;

    fn git(directory: &Path, args: &[&str]) -> String {
        let output = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@t", "-c", "init.defaultBranch=trunk"])
            .args(args)
            .current_dir(directory)
            .output()
            .expect("git runs");
        assert!(output.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    fn commit(directory: &Path, file: &str, text: &str) -> String {
        fs_err::write(directory.join(file), text).expect("write");
        git(directory, &["add", file]);
        git(directory, &["commit", "--quiet", "-m", file]);
        git(directory, &["rev-parse", "HEAD"])
    }

    /// An upstream with `master` and `release-1.36`, and an ordinary clone of it on `master`.
    fn upstream_and_clone() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let directory = tempfile::tempdir().expect("temporary directory");
        let upstream = directory.path().join("upstream");
        fs_err::create_dir(&upstream).expect("mkdir");
        git(&upstream, &["init", "--quiet", "--initial-branch=master"]);
        commit(&upstream, "a.txt", "one\n");
        git(&upstream, &["branch", "release-1.36"]);
        commit(&upstream, "a.txt", "two\n");
        git(directory.path(), &["clone", "--quiet", "upstream", "clone"]);
        let clone = directory.path().join("clone");
        (directory, upstream, clone)
    }

    #[test]
    fn branches_of_a_clone_are_found_on_origin() {
        let (_directory, upstream, clone) = upstream_and_clone();
        let repo = Git::discover(&clone).expect("git").expect("a repository");
        let release = repo.find_ref("release-1.36").expect("for-each-ref").expect("found");
        assert_eq!(release.reference, "refs/remotes/origin/release-1.36");
        assert_eq!(release.commit, git(&upstream, &["rev-parse", "release-1.36"]));
        let master = repo.find_ref("master").expect("for-each-ref").expect("found");
        assert_eq!(master.reference, "refs/heads/master", "a local branch comes first");
        assert_eq!(repo.find_ref("release-9.99").expect("for-each-ref"), None);
        git(&clone, &["tag", "-a", "v1.0.0", "-m", "annotated"]);
        let tag = repo.find_ref("v1.0.0").expect("for-each-ref").expect("found");
        assert_eq!(tag.commit, git(&clone, &["rev-parse", "HEAD"]), "an annotated tag names its commit");
        assert_eq!(repo.default_branch().expect("default").as_deref(), Some("master"));
        git(&clone, &["checkout", "--quiet", "-b", "feature"]);
        assert_eq!(repo.default_branch().expect("default").as_deref(), Some("master"), "from origin/HEAD");
        assert_eq!(repo.current_branch().expect("branch").as_deref(), Some("feature"));
    }

    #[test]
    fn default_branch_without_origin_is_the_checked_out_one() {
        let directory = tempfile::tempdir().expect("temporary directory");
        git(directory.path(), &["init", "--quiet"]);
        assert_eq!(Git::discover(directory.path()).expect("git").expect("repo").default_branch().expect("ok"), None);
        commit(directory.path(), "a.txt", "one\n");
        let repo = Git::discover(directory.path()).expect("git").expect("a repository");
        assert_eq!(repo.default_branch().expect("default").as_deref(), Some("trunk"));
    }

    #[test]
    fn working_changes_read_without_touching_the_index() {
        let (_directory, _upstream, clone) = upstream_and_clone();
        commit(&clone, "gone.txt", "x\n");
        commit(&clone, "staged.txt", "x\n");
        fs_err::write(clone.join("a.txt"), "edited\n").expect("write");
        fs_err::write(clone.join("staged.txt"), "staged\n").expect("write");
        git(&clone, &["add", "staged.txt"]);
        fs_err::remove_file(clone.join("gone.txt")).expect("remove");
        fs_err::create_dir_all(clone.join("new/dir")).expect("mkdir");
        fs_err::write(clone.join("new/dir/file.txt"), "new\n").expect("write");
        fs_err::write(clone.join(".gitignore"), "*.log\n.slipway/\n").expect("write");
        fs_err::write(clone.join("debug.log"), "ignored\n").expect("write");
        fs_err::create_dir_all(clone.join("runs")).expect("mkdir");
        fs_err::write(clone.join("runs/x.txt"), "excluded\n").expect("write");
        let index = fs_err::read(clone.join(".git/index")).expect("index");
        let repo = Git::discover(&clone.join("new")).expect("git").expect("a repository");
        let changes = repo.working_changes(&["runs".to_owned()]).expect("changes");
        assert_eq!(changes.changed, ["a.txt", "gone.txt", "staged.txt"]);
        assert_eq!(changes.untracked, [".gitignore", "new/dir/file.txt"]);
        assert_eq!(fs_err::read(clone.join(".git/index")).expect("index"), index, "the index is not rewritten");
    }

    #[test]
    fn a_change_is_measured_from_the_merge_base_with_the_upstream_branch() {
        let (_directory, upstream, clone) = upstream_and_clone();
        git(&clone, &["checkout", "--quiet", "-b", "feature"]);
        commit(&clone, "committed.go", "x\n");
        fs_err::write(clone.join("untracked.md"), "y\n").expect("write");
        // The upstream moves on; its new file is not part of the change.
        commit(&upstream, "upstream-only.txt", "z\n");
        git(&clone, &["fetch", "--quiet", "origin"]);
        let repo = Git::discover(&clone).expect("git").expect("a repository");
        let (branch, base) = repo.find_base("master").expect("refs").expect("found");
        assert_eq!((branch.as_str(), base.reference.as_str()), ("master", "refs/remotes/origin/master"));
        let (branch, _) = repo.find_base("origin/release-1.36").expect("refs").expect("found");
        assert_eq!(branch, "release-1.36");
        assert!(repo.find_base("no-such-branch").expect("refs").is_none());
        let merge_base = repo.merge_base(&base.commit, "HEAD").expect("merge-base").expect("shared history");
        assert_ne!(merge_base, base.commit, "origin/master moved on");
        let changes = repo.changes_since(&merge_base, &[]).expect("changes");
        assert_eq!(changes.changed, ["committed.go"]);
        assert_eq!(changes.untracked, ["untracked.md"]);
    }

    #[test]
    fn bare_repositories_open_and_clone() {
        let (directory, upstream, clone) = upstream_and_clone();
        assert!(Git::open_bare(&clone).expect("git").is_none());
        let bare = directory.path().join("bare.git");
        git(directory.path(), &["clone", "--quiet", "--bare", "upstream", "bare.git"]);
        let repo = Git::open_bare(&bare).expect("git").expect("bare");
        assert!(repo.find_ref("release-1.36").expect("refs").is_some());
        let copy = clone_without_checkout(&bare.display().to_string(), &directory.path().join("copy")).expect("clone");
        let release = git(&upstream, &["rev-parse", "release-1.36"]);
        copy.check_out(&release, Some("release-1.36")).expect("checkout");
        assert_eq!(git(&directory.path().join("copy"), &["rev-parse", "HEAD"]), release);
        assert_eq!(copy.current_branch().expect("branch").as_deref(), Some("release-1.36"));
    }
}
