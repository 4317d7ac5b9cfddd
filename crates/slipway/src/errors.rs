//! Mapping failures to the exit codes of DESIGN.md, once, and rendering them once.

use std::io::Write;

use slipway_core::exit;

/// A usage or configuration error raised by the binary itself.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct UsageError(pub(crate) String);

/// The exit code for an error: the first error in the chain that knows its meaning decides.
pub(crate) fn exit_code(error: &anyhow::Error) -> u8 {
    for cause in error.chain() {
        if let Some(error) = cause.downcast_ref::<slipway_release::Error>() {
            return error.exit_code();
        }
        if let Some(error) = cause.downcast_ref::<slipway_release::ledger::LedgerError>() {
            return error.exit_code();
        }
        if let Some(error) = cause.downcast_ref::<slipway_release::ledger::audit::AuditError>() {
            return error.exit_code();
        }
        if let Some(error) = cause.downcast_ref::<slipway_release::promoter::PromoterError>() {
            return error.exit_code();
        }
        if let Some(error) = cause.downcast_ref::<slipway_oci::Error>() {
            return error.exit_code();
        }
        if let Some(error) = cause.downcast_ref::<slipway_oci::build::Error>() {
            return error.exit_code();
        }
        if let Some(error) = cause.downcast_ref::<slipway_jobs::runner::RunError>() {
            return error.exit_code();
        }
        if let Some(error) = cause.downcast_ref::<slipway_jobs::exec::ExecError>() {
            return error.exit_code();
        }
        if let Some(error) = cause.downcast_ref::<slipway_jobs::markers::MarkerError>() {
            return error.exit_code();
        }
        if let Some(error) = cause.downcast_ref::<slipway_artifacts::Error>() {
            return error.exit_code();
        }
        if let Some(error) = cause.downcast_ref::<slipway_store::Error>() {
            return error.exit_code();
        }
        if let Some(error) = cause.downcast_ref::<slipway_triage::Error>() {
            return error.exit_code();
        }
        if let Some(error) = cause.downcast_ref::<slipway_junit::Error>() {
            return error.exit_code();
        }
        if cause.is::<slipway_oci::dockerfile::Error>() {
            return exit::USAGE;
        }
        if cause.is::<slipway_prow::LoadError>() || cause.is::<slipway_prow::PresetClash>() {
            return exit::USAGE;
        }
        if cause.is::<UsageError>() || cause.is::<crate::config_file::ConfigError>() {
            return exit::USAGE;
        }
    }
    exit::INFRASTRUCTURE
}

/// Prints `error: <message>: <cause>: ...` on stderr.
pub(crate) fn report(error: &anyhow::Error) {
    let mut stderr = crate::output::stderr();
    let _ = writeln!(stderr, "error: {error:#}");
}
