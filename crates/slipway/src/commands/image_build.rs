//! `slipway image build`.

use std::io::Write;

use anyhow::Context;
use slipway_core::exit;
use slipway_oci::build::build;

use crate::cli::{Format, ImageBuildArgs};
use crate::config_file::Globals;
use crate::{output, progress, settings, settings_image};

pub(super) fn run(args: ImageBuildArgs, globals: &Globals) -> anyhow::Result<u8> {
    let settings = settings_image::image_build(args, globals)?;
    super::warn(&settings.warnings);
    let runtime = super::runtime()?;
    let progress = progress::for_stderr();
    let report = runtime.block_on(async {
        tokio::select! {
            report = build(&settings.options, progress.as_ref()) => report.map(Some),
            _ = tokio::signal::ctrl_c() => Ok(None),
        }
    });
    let Some(report) = report.context("image build stopped")? else {
        let _ =
            writeln!(crate::output::stderr(), "interrupted; tags are pushed last, so no tag names an incomplete image");
        return Ok(exit::INTERRUPTED);
    };
    let mut stdout = crate::output::stdout();
    match settings.format {
        Format::Text => output::image_build_text(&mut stdout, &report)?,
        Format::Json => output::json(&mut stdout, &report)?,
    }
    drop(stdout);
    // A release pushed is a release recorded: its images' digests go into the ledger.
    if report.published
        && report.destination == "push"
        && let Some(version) = &report.tags.release
        && let Some(recording) = &settings.recording
    {
        let ledger = settings::open_ledger(&recording.storage)?;
        let code = super::release_ledger::record_pushed(
            &ledger,
            &settings.options.directory,
            version,
            &recording.release,
            &report.images,
            &recording.writer,
        );
        if code != exit::SUCCESS {
            return Ok(code);
        }
    }
    Ok(report.exit_code())
}
