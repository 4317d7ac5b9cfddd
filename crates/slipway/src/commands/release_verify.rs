//! `slipway release verify`.

use std::io::Write;

use slipway_core::exit;
use slipway_release::verify::verify;

use crate::cli::{Format, VerifyArgs};
use crate::config_file::Globals;
use crate::{output, progress, settings};

pub(super) fn run(args: VerifyArgs, globals: &Globals) -> anyhow::Result<u8> {
    let settings = settings::verify(args, globals)?;
    super::warn(&settings.warnings);
    let runtime = super::runtime()?;
    let progress = progress::for_stderr();
    let report = runtime.block_on(async {
        tokio::select! {
            report = verify(&settings.options, &settings.release, progress.as_ref()) => report.map(Some),
            _ = tokio::signal::ctrl_c() => Ok(None),
        }
    })?;
    let Some(report) = report else {
        let _ = writeln!(crate::output::stderr(), "interrupted");
        return Ok(exit::INTERRUPTED);
    };
    let mut stdout = crate::output::stdout();
    let mut stderr = crate::output::stderr();
    match settings.format {
        Format::Text => {
            output::notes(&mut stderr, &report.notes)?;
            output::verify_text(&mut stdout, &report, settings.verbose)?;
            if !settings.verbose && !report.skipped.is_empty() {
                let count = report.skipped.len();
                let what = if count == 1 { "value looks" } else { "values look" };
                writeln!(
                    stderr,
                    "note: {count} {what} like a reference and {} not checked; --verbose lists them with why",
                    if count == 1 { "was" } else { "were" }
                )?;
            }
        }
        Format::Json => output::json(&mut stdout, &report)?,
    }
    if let Some(error) = &report.ledger.error {
        let record = report.ledger.record.as_deref().unwrap_or("the ledger");
        writeln!(stderr, "error: the release ledger could not be read ({record}): {error}")?;
    }
    for problem in &report.registry.errors {
        writeln!(stderr, "error: could not check {}: {}", problem.image, problem.message)?;
    }
    Ok(report.exit_code())
}
