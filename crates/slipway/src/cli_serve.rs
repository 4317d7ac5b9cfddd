//! `slipway serve`'s arguments.

use std::path::PathBuf;

use clap::Args;

use crate::cli_jobs::{ProwConfigArgs, StateArgs};

/// `slipway serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The address to serve on. Any address but loopback needs --token-file.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080", env = "SLIPWAY_LISTEN")]
    pub(crate) listen: String,

    /// A file holding the token that changes through the UI or the API will need (required
    /// off loopback).
    #[arg(long, value_name = "FILE")]
    pub(crate) token_file: Option<PathBuf>,

    #[command(flatten)]
    pub(crate) prow: ProwConfigArgs,

    #[command(flatten)]
    pub(crate) state: StateArgs,

    #[command(flatten)]
    pub(crate) registries: crate::cli::RegistryArgs,
}
