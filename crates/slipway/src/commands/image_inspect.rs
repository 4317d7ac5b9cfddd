//! `slipway image inspect` and `slipway image verify`: one image in its registry.

use slipway_core::exit;
use slipway_oci::Registry;
use slipway_oci::verify::{ImageCheck, verify_image};

use crate::cli::{Format, ImageInspectArgs, ImageVerifyArgs};
use crate::config_file::Globals;
use crate::errors::UsageError;
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
    let revision = revision.map(|revision| full_commit(&revision, &loaded.root)).transpose()?;
    let registry = Registry::new(settings::registry_options(&loaded, registries));
    let check = ImageCheck { image: reference, platforms, revision };
    let report = super::runtime()?.block_on(verify_image(&registry, &check))?;
    let mut stdout = crate::output::stdout();
    match format {
        Format::Text => {
            output::image_text(&mut stdout, &report)?;
            output::image_verdict(&mut stdout, &report, &check)?;
        }
        Format::Json => output::json_with_schema(&mut stdout, output::IMAGE_REPORT_SCHEMA, &report)?,
    }
    let failed = report.findings.iter().any(|finding| finding.severity == slipway_core::Severity::Error);
    Ok(if failed { exit::CHECK_FAILED } else { exit::SUCCESS })
}

/// The full commit id `--revision` names: as given when it is 40 hex digits, else expanded by
/// the project's git repository (an abbreviation of at least 7 hex digits, or a tag).
fn full_commit(revision: &str, root: &std::path::Path) -> anyhow::Result<String> {
    let revision = revision.trim();
    let hex = !revision.is_empty() && revision.bytes().all(|byte| byte.is_ascii_hexdigit());
    if hex && revision.len() == 40 {
        return Ok(revision.to_ascii_lowercase());
    }
    if hex && revision.len() < 7 {
        return Err(UsageError(format!(
            "--revision `{revision}` is too short to name a commit; give at least 7 hex digits"
        ))
        .into());
    }
    let Some(git) = slipway_git::Git::discover(root)? else {
        return Err(UsageError(format!(
            "--revision `{revision}` is not a full commit id, and `{}` is not in a git repository to expand it in; run in the repository (or pass --repo), or give all 40 hex digits",
            root.display()
        ))
        .into());
    };
    match git.resolve_commit(revision) {
        Ok(Some(commit)) => Ok(commit),
        Ok(None) => {
            Err(UsageError(format!("--revision `{revision}` names no commit in `{}`", git.toplevel().display())).into())
        }
        Err(slipway_git::Error::Failed { stderr, .. }) if stderr.contains("ambiguous") => Err(UsageError(format!(
            "--revision `{revision}` is ambiguous in `{}`: several objects start with it; give more hex digits",
            git.toplevel().display()
        ))
        .into()),
        Err(error) => Err(error.into()),
    }
}
