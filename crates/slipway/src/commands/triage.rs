//! `slipway triage` and `slipway results clusters`.

use std::path::Path;

use crate::cli_results::{ClustersArgs, TriageArgs};
use crate::errors::UsageError;

pub(super) fn triage(args: TriageArgs, config: Option<&Path>) -> anyhow::Result<u8> {
    let _ = (args, config);
    Err(UsageError("`triage` is not built yet".to_owned()).into())
}

pub(super) fn clusters(args: ClustersArgs, config: Option<&Path>) -> anyhow::Result<u8> {
    let _ = (args, config);
    Err(UsageError("`results clusters` is not built yet".to_owned()).into())
}
