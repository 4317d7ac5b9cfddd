//! `slipway image inspect` and `slipway image verify`: one image in its registry.

use slipway_core::exit;
use slipway_oci::Registry;
use slipway_oci::verify::{ImageCheck, verify_image};

use crate::cli::{Format, ImageInspectArgs, ImageVerifyArgs};
use crate::config_file::Globals;
use crate::{config_file, output, settings};

pub(super) fn inspect(args: ImageInspectArgs, globals: &Globals) -> anyhow::Result<u8> {
    let ImageInspectArgs { reference, registries, format } = args;
    let loaded = config_file::load(globals)?;
    super::warn(&loaded.warnings);
    let registry = Registry::new(settings::registry_options(&loaded, registries));
    let check = ImageCheck { image: reference, platforms: Vec::new(), revision: None };
    let report = super::runtime()?.block_on(verify_image(&registry, &check))?;
    let mut stdout = crate::output::stdout();
    match format {
        Format::Text => output::image_text(&mut stdout, &report)?,
        Format::Json => output::json_with_schema(&mut stdout, output::IMAGE_REPORT_SCHEMA, &report)?,
    }
    // Inspecting checks nothing but that the image exists; a missing one fails like verify.
    let missing = report.digest.is_none();
    Ok(if missing { exit::CHECK_FAILED } else { exit::SUCCESS })
}

pub(super) fn verify(args: ImageVerifyArgs, globals: &Globals) -> anyhow::Result<u8> {
    let ImageVerifyArgs { reference, platforms, revision, registries, format } = args;
    let loaded = config_file::load(globals)?;
    super::warn(&loaded.warnings);
    let platforms = if platforms.is_empty() { settings::release(&loaded)?.platforms } else { platforms };
    let registry = Registry::new(settings::registry_options(&loaded, registries));
    let check = ImageCheck { image: reference, platforms, revision };
    let report = super::runtime()?.block_on(verify_image(&registry, &check))?;
    let mut stdout = crate::output::stdout();
    match format {
        Format::Text => output::image_text(&mut stdout, &report)?,
        Format::Json => output::json_with_schema(&mut stdout, output::IMAGE_REPORT_SCHEMA, &report)?,
    }
    let failed = report.findings.iter().any(|finding| finding.severity == slipway_core::Severity::Error);
    Ok(if failed { exit::CHECK_FAILED } else { exit::SUCCESS })
}
