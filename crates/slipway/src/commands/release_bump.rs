//! `slipway release bump`.

use std::path::Path;

use slipway_release::bump::bump;

use crate::cli::{BumpArgs, Format};
use crate::{config_file, output, settings};

pub(super) fn run(args: BumpArgs, config: Option<&Path>) -> anyhow::Result<u8> {
    let loaded = config_file::load(config, &args.repo)?;
    super::warn(&loaded.warnings);
    let settings = settings::bump(args, &loaded)?;
    let report = bump(&settings.options, &settings.release)?;
    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr().lock();
    match settings.format {
        Format::Text => {
            output::notes(&mut stderr, &report.notes)?;
            output::bump_text(&mut stdout, &mut stderr, &report)?;
        }
        Format::Json => output::json(&mut stdout, &report)?,
    }
    Ok(report.exit_code())
}
