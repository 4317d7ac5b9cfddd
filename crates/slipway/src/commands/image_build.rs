//! `slipway image build`.

use std::io::Write;

use anyhow::Context;
use slipway_core::exit;
use slipway_oci::build::build;

use crate::cli::{Format, ImageBuildArgs};
use crate::config_file::Globals;
use crate::{config_file, output, progress, settings};

pub(super) fn run(args: ImageBuildArgs, globals: &Globals) -> anyhow::Result<u8> {
    let loaded = config_file::load(globals)?;
    super::warn(&loaded.warnings);
    let settings = settings::image_build(args, &loaded)?;
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
    Ok(report.exit_code())
}
