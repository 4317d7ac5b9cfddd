//! Property: whatever version a project is bumped to, the bumped tree verifies offline, and the
//! bump touched nothing but the references it reports.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use slipway_core::Version;
use slipway_release::Settings;
use slipway_release::bump::{BumpOptions, bump};
use slipway_release::config::{ProjectSection, ReleaseSection, VersionFileSection};
use slipway_release::verify::{Quiet, Target, VerifyOptions, verify};
use slipway_test::paths::example;

fn settings() -> Settings {
    let project = ProjectSection {
        name: Some("hello-operator".into()),
        repository: Some("github.com/example-org/hello-operator".into()),
    };
    let release = ReleaseSection {
        version_files: vec![VersionFileSection {
            path: "version/version.go".into(),
            pattern: r#"Version = "(v[0-9][^"]*)""#.into(),
        }],
        ..ReleaseSection::default()
    };
    Settings::resolve(&project, &release).expect("valid settings")
}

fn changed_lines(before: &Path, after: &Path) -> usize {
    let mut changed = 0;
    for entry in walk(before) {
        let relative = entry.strip_prefix(before).expect("under root");
        let old = fs_err::read_to_string(&entry).expect("read");
        let new = fs_err::read_to_string(after.join(relative)).expect("read");
        changed += old.lines().zip(new.lines()).filter(|(a, b)| a != b).count();
        changed += old.lines().count().abs_diff(new.lines().count());
    }
    changed
}

/// The example's files, without what its .gitignore ignores (`out/` from builds and tests,
/// `.slipway/` from job runs), which may exist in a working copy that ran them.
fn walk(directory: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in fs_err::read_dir(directory).expect("list") {
        let path = entry.expect("entry").path();
        if path.file_name().is_some_and(|name| name == "out" || name == ".slipway") {
            continue;
        }
        if path.is_dir() { files.extend(walk(&path)) } else { files.push(path) }
    }
    files
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn a_bumped_tree_verifies(major in 0u64..20, minor in 0u64..60, patch in 0u64..60, pre in proptest::option::of("(alpha|beta|rc)\\.[0-9]")) {
        let text = match &pre { Some(pre) => format!("{major}.{minor}.{patch}-{pre}"), None => format!("{major}.{minor}.{patch}") };
        let version = Version::parse(&text).expect("generated versions are valid");
        let directory = tempfile::tempdir().expect("temporary directory");
        slipway_test::git::copy_tree(&example(), directory.path());
        let settings = settings();
        let options = BumpOptions { directory: directory.path().to_path_buf(), version: version.clone(), dry_run: false, commit: false, tag: false, allow_downgrade: true };
        let report = bump(&options, &settings).expect("the bump succeeds");
        prop_assert!(report.remaining.is_empty(), "{:?}", report.remaining);
        let unchanged = text == "0.4.0";
        prop_assert_eq!(report.written, !unchanged);
        // One changed line per rewritten reference: nothing else moved.
        prop_assert_eq!(changed_lines(&example(), directory.path()), report.changes.len());

        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let verify_options = VerifyOptions { directory: directory.path().to_path_buf(), target: Target::Version(version), offline: true, registry: Default::default(), ledger: None };
        let verified = runtime.block_on(verify(&verify_options, &settings, &Quiet)).expect("verify runs");
        prop_assert_eq!(verified.summary.errors, 0, "{:?}", verified.findings);
        prop_assert_eq!(verified.summary.agreeing, verified.summary.references);
    }
}
