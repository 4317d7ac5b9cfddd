//! The release ledger: what each release was when it was made, so that what changes afterwards
//! can be told. descheduler's v0.29.0 tag was re-pointed at another commit days after its image
//! was built; a registry tag can be pushed over; nothing recorded what the release had been.
//!
//! Each release is one JSON document in the artifact storage ([`store`]), written with
//! compare-and-swap and never overwritten ([`record`]): the tag and its commit (and tag object),
//! each image tag's index and platform digests, what each overlay and chart at the tag deploys,
//! and who recorded it when. `release bump --tag` records the tag and the manifests,
//! `image build --push` of a release records its images, `release record` records a release
//! after the fact, and `release audit` ([`audit`]) re-checks them all.

pub mod audit;
pub mod facts;
pub mod record;
pub mod store;

use slipway_core::Version;
use slipway_oci::{Registry, RegistryOptions};

pub use record::{ReleaseRecord, SCHEMA};
pub use store::{Ledger, LedgerError, Recorded, Writer};

use crate::analysis::Directory;
use crate::check::Expected;
use crate::config::Settings;
use crate::error::Error;
use facts::Unreadable;

/// The facts of a tagged release as they are now, and what could not be read.
#[derive(Debug, Clone)]
pub struct Gathered {
    /// The facts, as a record to merge into the ledger.
    pub facts: ReleaseRecord,
    /// What was not recorded, and why.
    pub notes: Vec<String>,
    /// Registries that could not be read.
    pub unreadable: Vec<Unreadable>,
}

/// Reads the facts of `version`'s release: its tag (which must exist), what the overlays and
/// charts deploy at the tag's commit, and, when `registry` is given, each project image's tag
/// in its registry.
pub async fn gather(
    directory: &Directory,
    version: &Version,
    settings: &Settings,
    registry: Option<&RegistryOptions>,
) -> Result<Gathered, Error> {
    let expected = Expected::new(version.clone(), settings);
    let git = directory.require_git("recording a release")?;
    let git_facts = facts::git_facts(git, &expected.git_tag)?
        .ok_or_else(|| Error::TagNotFound { tag: expected.git_tag.clone(), repo: directory.path.clone() })?;
    let (rendered, project) = facts::rendered_at(directory, git, &git_facts.commit, settings)?;
    let mut record = ReleaseRecord::new(&version.to_string(), &expected.git_tag);
    record.git = Some(git_facts);
    record.rendered = rendered;
    let mut notes = Vec::new();
    let mut unreadable = Vec::new();
    match registry {
        None => notes.push("registries not read (--offline): no image is recorded".to_owned()),
        Some(options) => {
            let registry = Registry::new(options.clone());
            let images: Vec<_> = project.images.iter().map(|image| image.reference().clone()).collect();
            if images.is_empty() {
                notes.push("no project images found or configured, so no image is recorded".to_owned());
            }
            for (image, result) in facts::image_facts(&registry, &images, &expected.image_tag).await {
                match result {
                    Ok(Some(image_facts)) => record.images.push(image_facts),
                    Ok(None) => notes.push(format!("{image} is not in its registry, so it is not recorded")),
                    Err(problem) => unreadable.push(problem),
                }
            }
        }
    }
    Ok(Gathered { facts: record, notes, unreadable })
}
