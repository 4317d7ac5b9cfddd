//! `slipway release verify`.

use std::io::Write;
use std::path::Path;

use slipway_core::exit;
use slipway_release::verify::verify;

use crate::cli::{Format, VerifyArgs};
use crate::{config_file, output, progress, settings};

pub(super) fn run(args: VerifyArgs, config: Option<&Path>) -> anyhow::Result<u8> {
    let loaded = config_file::load(config, &args.repo)?;
    super::warn(&loaded.warnings);
    let settings = settings::verify(args, &loaded)?;
    let runtime = super::runtime()?;
    let progress = progress::for_stderr();
    let report = runtime.block_on(async {
        tokio::select! {
            report = verify(&settings.options, &settings.release, progress.as_ref()) => report.map(Some),
            _ = tokio::signal::ctrl_c() => Ok(None),
        }
    })?;
    let Some(report) = report else {
        let _ = writeln!(std::io::stderr(), "interrupted");
        return Ok(exit::INTERRUPTED);
    };
    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr().lock();
    match settings.format {
        Format::Text => {
            output::notes(&mut stderr, &report.notes)?;
            output::verify_text(&mut stdout, &report)?;
        }
        Format::Json => output::json(&mut stdout, &report)?,
    }
    for problem in &report.registry.errors {
        writeln!(stderr, "error: could not check {}: {}", problem.image, problem.message)?;
    }
    Ok(report.exit_code())
}
