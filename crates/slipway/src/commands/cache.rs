//! `slipway cache prune`: keep `.slipway/cache` within its size and age.

use slipway_core::exit;
use slipway_oci::build::cache;

use crate::cli::{CachePruneArgs, Format};
use crate::config_file::Globals;
use crate::{output, settings};

pub(super) fn prune(args: CachePruneArgs, globals: &Globals) -> anyhow::Result<u8> {
    let settings = settings::cache_prune(args, globals)?;
    super::warn(&settings.warnings);
    let pruned = cache::prune(&settings.directory, settings.policy, std::time::SystemTime::now(), settings.dry_run)?;
    let mut stdout = output::stdout();
    match settings.format {
        Format::Text => output::cache_prune_text(&mut stdout, &pruned)?,
        Format::Json => output::json(&mut stdout, &pruned)?,
    }
    Ok(exit::SUCCESS)
}
