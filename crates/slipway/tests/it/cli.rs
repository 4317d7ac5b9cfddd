//! The command line itself: help that teaches, usage errors that say what is wrong.

use crate::support::slipway;

#[test]
fn help_lists_the_commands() {
    let directory = tempfile::tempdir().expect("temporary directory");
    insta::assert_snapshot!(slipway(directory.path(), &["--help"]).render(&[]));
    insta::assert_snapshot!(slipway(directory.path(), &["release", "verify", "--help"]).render(&[]));
    insta::assert_snapshot!(slipway(directory.path(), &["release", "bump", "--help"]).render(&[]));
    for command in ["build", "inspect", "verify", "dockerfile", "cloudbuild"] {
        let run = slipway(directory.path(), &["image", command, "--help"]);
        insta::assert_snapshot!(format!("image-{command}-help"), run.render(&[]));
    }
}

#[test]
fn usage_errors_exit_2() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let path = directory.path();
    insta::assert_snapshot!(slipway(path, &["release", "verify", "--bogus"]).render(&[]));
    insta::assert_snapshot!(slipway(path, &["release", "verify", "--version", "1.2"]).render(&[]));
    insta::assert_snapshot!(slipway(path, &["release", "verify", "--tag", "v1.0.0", "--version", "1.0.0"]).render(&[]));
    insta::assert_snapshot!(slipway(path, &["release", "verify", "--platform", "linux"]).render(&[]));
    insta::assert_snapshot!(slipway(path, &["release", "bump", "latest"]).render(&[]));
    insta::assert_snapshot!(slipway(path, &["release", "verify", "--repo", "does-not-exist"]).render(&[]));
}
