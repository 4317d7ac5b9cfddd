//! The `slipway` binary: parse the command line, run the command, map the outcome to an exit
//! code. Everything else lives in the library crates.

mod cli;
mod cli_env;
mod cli_jobs;
mod cli_lease;
mod cli_results;
mod cli_serve;
mod commands;
mod config_file;
mod errors;
mod output;
mod progress;
mod settings;
mod settings_env;
mod settings_image;
mod settings_jobs;
mod settings_lease;
mod warnings;

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(commands::run(std::env::args_os()))
}
