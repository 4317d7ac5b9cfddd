//! `slipway release bump`.

use std::io::Write;

use anyhow::Context;
use slipway_core::exit;
use slipway_release::bump::bump;

use crate::cli::{BumpArgs, Format};
use crate::config_file::Globals;
use crate::{output, settings};

pub(super) fn run(args: BumpArgs, globals: &Globals) -> anyhow::Result<u8> {
    let settings = settings::bump(args, globals)?;
    super::warn(&settings.warnings);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    // Ctrl-C must not stop a bump between two renames: with a handler installed the signal no
    // longer kills the process, the bump finishes (all files or none), and then we exit 130.
    let (result, interrupted) = runtime.block_on(async {
        let options = settings.options.clone();
        let release = settings.release.clone();
        let mut task = tokio::task::spawn_blocking(move || bump(&options, &release));
        tokio::select! {
            result = &mut task => (result, false),
            _ = tokio::signal::ctrl_c() => (task.await, true),
        }
    });
    let report = result.context("the bump stopped unexpectedly")??;
    let mut stdout = crate::output::stdout();
    let mut stderr = crate::output::stderr();
    match settings.format {
        Format::Text => {
            output::notes(&mut stderr, &report.notes)?;
            output::bump_text(&mut stdout, &mut stderr, &report, settings.verbose)?;
        }
        Format::Json => output::json(&mut stdout, &report)?,
    }
    if interrupted {
        writeln!(stderr, "interrupted; the bump had already started and was completed, so no file is half-written")?;
        return Ok(exit::INTERRUPTED);
    }
    if report.tag.is_some()
        && let Some((ledger, writer)) = &settings.ledger
    {
        drop(stderr);
        let code = super::release_ledger::record_tagged(
            ledger,
            &settings.options.directory,
            &settings.options.version,
            &settings.release,
            writer,
        );
        if code != exit::SUCCESS {
            return Ok(code);
        }
    }
    Ok(report.exit_code())
}
