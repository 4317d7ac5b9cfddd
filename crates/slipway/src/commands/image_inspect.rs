//! `slipway image inspect` and `slipway image verify`: one image in its registry.

use slipway_core::exit;
use slipway_oci::Registry;
use slipway_oci::verify::verify_image;

use crate::cli::{Format, ImageInspectArgs, ImageVerifyArgs};
use crate::config_file::Globals;
use crate::{output, settings_image};

pub(super) fn inspect(args: ImageInspectArgs, globals: &Globals) -> anyhow::Result<u8> {
    let settings = settings_image::image_inspect(args, globals)?;
    super::warn(&settings.warnings);
    let registry = Registry::new(settings.registry);
    let report = super::runtime()?.block_on(verify_image(&registry, &settings.check))?;
    let mut stdout = crate::output::stdout();
    match settings.format {
        Format::Text => output::image_text(&mut stdout, &report)?,
        Format::Json => output::json_with_schema(&mut stdout, output::IMAGE_REPORT_SCHEMA, &report)?,
    }
    // Inspecting checks nothing but that the image exists; a missing one fails like verify.
    let missing = report.digest.is_none();
    Ok(if missing { exit::CHECK_FAILED } else { exit::SUCCESS })
}

pub(super) fn verify(args: ImageVerifyArgs, globals: &Globals) -> anyhow::Result<u8> {
    let settings = settings_image::image_verify(args, globals)?;
    super::warn(&settings.warnings);
    let registry = Registry::new(settings.registry);
    let check = settings.check;
    let report = super::runtime()?.block_on(verify_image(&registry, &check))?;
    let mut stdout = crate::output::stdout();
    match settings.format {
        Format::Text => {
            output::image_text(&mut stdout, &report)?;
            output::image_verdict(&mut stdout, &report, &check)?;
        }
        Format::Json => output::json_with_schema(&mut stdout, output::IMAGE_REPORT_SCHEMA, &report)?,
    }
    let failed = report.findings.iter().any(|finding| finding.severity == slipway_core::Severity::Error);
    Ok(if failed { exit::CHECK_FAILED } else { exit::SUCCESS })
}
