//! kind's real release notes (from the shared corpus and this crate's test data), in the old and
//! the current list form, with `\n` and `\r\n` line endings.

use std::path::PathBuf;

use slipway_env::release_notes::{self, ReleaseNotes};

fn corpus(version: &str) -> String {
    let path = slipway_test::paths::corpus().join("kind-release-notes").join(format!("{version}.md"));
    fs_err::read_to_string(path).expect("corpus release notes")
}

fn both_endings(body: &str) -> ReleaseNotes {
    let unix = release_notes::parse(&body.replace("\r\n", "\n"));
    let windows = release_notes::parse(&body.replace("\r\n", "\n").replace('\n', "\r\n"));
    assert_eq!(unix, windows, "line endings change nothing");
    unix
}

fn versions(notes: &ReleaseNotes) -> Vec<&str> {
    notes.images.iter().map(|image| image.kubernetes.as_str()).collect()
}

#[test]
fn the_old_form_with_its_additional_images() {
    let notes = both_endings(&corpus("v0.19.0"));
    assert_eq!(
        versions(&notes),
        ["v1.27.1", "v1.26.4", "v1.25.9", "v1.24.13", "v1.23.17", "v1.22.17", "v1.21.14", "v1.28.0"]
    );
    assert_eq!(
        notes.image_for("v1.21.14").map(|image| image.image()),
        Some("kindest/node:v1.21.14@sha256:220cfafdf6e3915fbce50e13d1655425558cb98872c53f802605aa2fb2d569cf".into()),
        "a line ending in a space still counts"
    );
    assert_eq!(notes.default_image.as_ref().map(|image| image.kubernetes.as_str()), Some("v1.27.1"));
    // The prose example with a space after `sha256:` is not an image.
    assert!(notes.image_for("v1.26.3").is_none());
    let twenty = both_endings(&corpus("v0.20.0"));
    assert!(
        versions(&twenty).contains(&"v1.27.3") && versions(&twenty).contains(&"v1.29.0"),
        "{:?}",
        versions(&twenty)
    );
}

#[test]
fn the_current_form() {
    let notes = both_endings(&corpus("v0.22.0"));
    assert!(notes.image_for("v1.29.2").is_some() && notes.image_for("v1.29.1").is_some(), "{:?}", versions(&notes));
    assert_eq!(notes.same_minor("v1.29.5"), ["v1.29.2", "v1.29.1"]);
    let v28 = both_endings(&corpus("v0.28.0"));
    let v29 = both_endings(&corpus("v0.29.0"));
    assert_eq!(versions(&v28), ["v1.33.1", "v1.32.5", "v1.31.9", "v1.30.13"]);
    assert_eq!(versions(&v28), versions(&v29), "v0.29.0 rebuilt the same versions");
    for (before, after) in v28.images.iter().zip(&v29.images) {
        assert_ne!(before.digest, after.digest, "{}: the same tag, another digest", before.kubernetes);
    }
    assert!(v29.image_for("v1.33.1").is_some_and(|image| image.digest.starts_with("sha256:05007225")));
}

#[test]
fn every_collected_release_lists_images_pinned_by_digest() {
    let mut files: Vec<PathBuf> = ["v0.19.0", "v0.20.0", "v0.22.0", "v0.28.0", "v0.29.0"]
        .iter()
        .map(|version| slipway_test::paths::corpus().join("kind-release-notes").join(format!("{version}.md")))
        .collect();
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/kind-releases");
    if let Ok(entries) = fs_err::read_dir(&data) {
        files.extend(
            entries
                .flatten()
                .map(|entry| entry.path())
                .filter(|path| path.extension().is_some_and(|extension| extension == "md"))
                .filter(|path| path.file_name().is_some_and(|name| name != "SOURCES.md")),
        );
    }
    for file in files {
        let text = fs_err::read_to_string(&file).expect("read");
        let notes = both_endings(&text);
        let lines =
            text.lines().filter(|line| line.contains("`kindest/node:v") && line.trim_start().starts_with('-')).count();
        if !text.contains("pre-built for this release") {
            // A partial copy (v0.32.0's keeps only its breaking changes): the default image.
            assert!(notes.default_image.is_some(), "{}: neither a list nor a default image", file.display());
            continue;
        }
        assert!(!notes.images.is_empty(), "{}: no images", file.display());
        assert!(notes.images.len() <= lines, "{}: more images than list lines", file.display());
        for image in &notes.images {
            assert_eq!(image.digest.len(), 71, "{}: {}", file.display(), image.digest);
            assert_eq!(image.repository, "kindest/node");
        }
    }
}

#[test]
fn releases_from_v0_24_on() {
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/kind-releases");
    let read =
        |version: &str| both_endings(&fs_err::read_to_string(data.join(format!("{version}.md"))).expect("test data"));
    assert_eq!(read("v0.24.0").images.len(), 10);
    let v25 = read("v0.25.0");
    assert!(v25.image_for("v1.32.0").is_some(), "the additional pre-built image counts: {:?}", versions(&v25));
    assert_eq!(versions(&read("v0.31.0")), ["v1.35.0", "v1.34.3", "v1.33.7", "v1.32.11", "v1.31.14"]);
    let v32 = read("v0.32.0");
    assert_eq!(
        v32.default_image.map(|image| image.image()),
        Some("kindest/node:v1.36.1@sha256:3489c7674813ba5d8b1a9977baea8a6e553784dab7b84759d1014dbd78f7ebd5".into())
    );
}
