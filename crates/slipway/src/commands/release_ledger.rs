//! `slipway release record` and `slipway release audit`, and the recording that `release bump
//! --tag` and `image build --push` do as they go.

use std::io::Write;

use serde::Serialize;
use slipway_core::{Finding, FindingKind, Version, exit};
use slipway_release::analysis::Directory;
use slipway_release::ledger::record::{Conflict, ImageFacts, ReleaseRecord};
use slipway_release::ledger::{self, Ledger, Recorded, Writer, audit};

use crate::cli::{AuditArgs, Format, RecordArgs};
use crate::config_file::Globals;
use crate::{output, settings};

/// The JSON schema of `release record`'s output.
const RECORD_SCHEMA: &str = "slipway.release.recorded/v1";

/// What `release record` (and the recording of bump and image build) did.
#[derive(Debug, Serialize)]
struct RecordReport<'a> {
    schema: &'static str,
    /// Where the record is.
    url: &'a str,
    /// Whether this run created it.
    created: bool,
    /// Facts this run added.
    added: &'a [String],
    /// Facts that differ from the record (which kept its own).
    conflicts: &'a [Conflict],
    /// What was not recorded, and why.
    notes: &'a [String],
    /// Registries that could not be read.
    registry_errors: Vec<String>,
    /// The record as it is now.
    record: &'a ReleaseRecord,
}

pub(super) fn record(args: RecordArgs, globals: &Globals) -> anyhow::Result<u8> {
    let settings = settings::record(args, globals)?;
    super::warn(&settings.warnings);
    let writer = &settings.writer;
    let directory = Directory::open(&settings.directory)?;
    let runtime = super::runtime()?;
    let (gathered, recorded) = runtime.block_on(async {
        let gathered =
            ledger::gather(&directory, &settings.version, &settings.release, settings.registry.as_ref()).await?;
        let recorded = settings.ledger.record(&gathered.facts, writer).await?;
        anyhow::Ok((gathered, recorded))
    })?;
    let registry_errors: Vec<String> = gathered
        .unreadable
        .iter()
        .map(|problem| format!("could not read {} from {}: {}", problem.image, problem.registry, problem.message))
        .collect();
    let mut stdout = crate::output::stdout();
    let mut stderr = crate::output::stderr();
    match settings.format {
        Format::Json => output::json(
            &mut stdout,
            &RecordReport {
                schema: RECORD_SCHEMA,
                url: &recorded.url,
                created: recorded.created,
                added: &recorded.added,
                conflicts: &recorded.conflicts,
                notes: &gathered.notes,
                registry_errors: registry_errors.clone(),
                record: &recorded.record,
            },
        )?,
        Format::Text => {
            output::notes(&mut stderr, &gathered.notes)?;
            recorded_text(&mut stdout, &recorded.record.tag, &recorded)?;
        }
    }
    for error in &registry_errors {
        writeln!(stderr, "error: {error}")?;
    }
    Ok(if !registry_errors.is_empty() {
        exit::INFRASTRUCTURE
    } else if !recorded.conflicts.is_empty() {
        exit::CHECK_FAILED
    } else {
        exit::SUCCESS
    })
}

/// What a write to the ledger did, for people.
fn recorded_text(out: &mut dyn Write, tag: &str, recorded: &Recorded) -> std::io::Result<()> {
    if recorded.created {
        writeln!(out, "recorded release {tag} in {}: {}", recorded.url, recorded.added.join(", "))?;
    } else if recorded.added.is_empty() {
        writeln!(out, "release {tag} is already recorded in {}; nothing new to add", recorded.url)?;
    } else {
        writeln!(out, "added to the record of {tag} in {}: {}", recorded.url, recorded.added.join(", "))?;
    }
    for conflict in &recorded.conflicts {
        let finding = Finding::about(
            FindingKind::LedgerEntry,
            conflict.what.clone(),
            conflict.seen.clone(),
            conflict.recorded.clone(),
        )
        .with_message("this differs from what was recorded; the record keeps what the release was (`slipway release audit` explains)");
        output::finding(out, &finding)?;
    }
    Ok(())
}

/// Records a release that `release bump --tag` just tagged: the tag and what its manifests
/// deploy. The images come later, when they are pushed. Returns the exit code to end with: a
/// ledger that cannot be written is reported, not hidden, and the tag stays.
pub(super) fn record_tagged(
    ledger: &Ledger,
    directory: &std::path::Path,
    version: &Version,
    release: &slipway_release::Settings,
    writer: &Writer,
) -> u8 {
    let result = super::runtime().and_then(|runtime| {
        runtime.block_on(async {
            let directory = Directory::open(directory)?;
            let gathered = ledger::gather(&directory, version, release, None).await?;
            anyhow::Ok(ledger.record(&gathered.facts, writer).await?)
        })
    });
    report_recording(version, release, result)
}

/// Records the images `image build --push` pushed for a release (with the tag and manifests
/// too when the tag exists).
pub(super) fn record_pushed(
    ledger: &Ledger,
    directory: &std::path::Path,
    version: &Version,
    release: &slipway_release::Settings,
    images: &[slipway_oci::build::ImageResult],
    writer: &Writer,
) -> u8 {
    let image_tag = version.tag(&release.image_tag_prefix);
    let result = super::runtime().and_then(|runtime| {
        runtime.block_on(async {
            let directory = Directory::open(directory)?;
            let git_tag = version.tag(&release.tag_prefix);
            let tagged = match &directory.git {
                Some(git) => git.tag_commit(&git_tag)?.is_some(),
                None => false,
            };
            let mut facts = if tagged {
                ledger::gather(&directory, version, release, None).await?.facts
            } else {
                ReleaseRecord::new(&version.to_string(), &git_tag)
            };
            facts.images = images
                .iter()
                .map(|image| {
                    let platforms = image.platforms.iter().map(|p| (p.platform.clone(), p.digest.clone()));
                    ImageFacts::new(&image.repository, &image_tag, &image.digest, platforms)
                })
                .collect();
            anyhow::Ok(ledger.record(&facts, writer).await?)
        })
    });
    report_recording(version, release, result)
}

fn report_recording(version: &Version, release: &slipway_release::Settings, result: anyhow::Result<Recorded>) -> u8 {
    let mut stderr = crate::output::stderr();
    let tag = version.tag(&release.tag_prefix);
    match result {
        Ok(recorded) => {
            let _ = recorded_text(&mut stderr, &tag, &recorded);
            if recorded.conflicts.is_empty() { exit::SUCCESS } else { exit::CHECK_FAILED }
        }
        Err(error) => {
            let _ = writeln!(
                stderr,
                "error: release {tag} could not be recorded in the ledger: {error:#}\n  run `slipway release record {version}` once the storage is reachable"
            );
            crate::errors::exit_code(&error)
        }
    }
}

pub(super) fn audit(args: AuditArgs, globals: &Globals) -> anyhow::Result<u8> {
    let settings = settings::audit(args, globals)?;
    super::warn(&settings.warnings);
    let report = super::runtime()?.block_on(audit::audit(&settings.ledger, &settings.options, &settings.release))?;
    let mut stdout = crate::output::stdout();
    let mut stderr = crate::output::stderr();
    match settings.format {
        Format::Json => output::json(&mut stdout, &report)?,
        Format::Text => {
            output::notes(&mut stderr, &report.notes)?;
            output::audit_text(&mut stdout, &report)?;
        }
    }
    for problem in &report.registry_errors {
        writeln!(stderr, "error: could not check {}: {}", problem.image, problem.message)?;
    }
    Ok(report.exit_code())
}
