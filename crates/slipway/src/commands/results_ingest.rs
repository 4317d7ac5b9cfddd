//! `slipway results ingest`.

use std::path::Path;

use crate::cli_results::IngestArgs;
use crate::errors::UsageError;

pub(super) fn run(args: IngestArgs, config: Option<&Path>) -> anyhow::Result<u8> {
    let _ = (args, config);
    Err(UsageError("`results ingest` is not built yet".to_owned()).into())
}
