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
        if let Some(error) = cause.downcast_ref::<slipway_env::markers::MarkerError>() {
            return error.exit_code();
        }
        if let Some(error) = cause.downcast_ref::<slipway_env::lock::LockError>() {
            return error.exit_code();
        }
        if let Some(error) = cause.downcast_ref::<slipway_env::cluster::ClusterError>() {
            return error.exit_code();
        }
        if let Some(error) = cause.downcast_ref::<slipway_env::tools::ToolError>() {
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
        if let Some(error) = cause.downcast_ref::<slipway_lease::client::ClientError>() {
            return error.exit_code();
        }
        if cause.is::<slipway_lease::config::ConfigError>() {
            return exit::USAGE;
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

/// Prints `error: <message>: <cause>: ...` on stderr, with the userinfo of every URL in it
/// redacted (causes from libraries can echo a database URL or an endpoint with credentials).
pub(crate) fn report(error: &anyhow::Error) {
    let mut stderr = crate::output::stderr();
    let _ = writeln!(stderr, "error: {}", slipway_core::redact::urls(&render(error)));
}

/// The error and its causes joined by `: `, each said once: libraries often put their source's
/// text into their own message too (sqlx's "error communicating with database: Connection
/// refused" over the I/O error "Connection refused"), so a cause already said is left out.
pub(crate) fn render(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let message = cause.to_string();
        let message = message.trim();
        if message.is_empty() || text.contains(message) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(message);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_already_said_are_left_out() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused (os error 111)");
        let error = anyhow::Error::new(io)
            .context("error communicating with database: Connection refused (os error 111)")
            .context("could not open the database `postgres://db`");
        assert_eq!(
            render(&error),
            "could not open the database `postgres://db`: error communicating with database: Connection refused (os error 111)"
        );
    }
}
