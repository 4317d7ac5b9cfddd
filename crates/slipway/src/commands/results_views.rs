//! `slipway results grid|flakes|alerts`.

use std::path::Path;

use crate::cli_results::{AlertsArgs, FlakesArgs, GridArgs};
use crate::errors::UsageError;

pub(super) fn grid(args: GridArgs, config: Option<&Path>) -> anyhow::Result<u8> {
    let _ = (args, config);
    Err(UsageError("`results grid` is not built yet".to_owned()).into())
}

pub(super) fn flakes(args: FlakesArgs, config: Option<&Path>) -> anyhow::Result<u8> {
    let _ = (args, config);
    Err(UsageError("`results flakes` is not built yet".to_owned()).into())
}

pub(super) fn alerts(args: AlertsArgs, config: Option<&Path>) -> anyhow::Result<u8> {
    let _ = (args, config);
    Err(UsageError("`results alerts` is not built yet".to_owned()).into())
}
