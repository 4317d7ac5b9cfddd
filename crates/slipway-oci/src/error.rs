//! Registry errors, sorted by what the caller can do about them.

use slipway_core::exit;

/// Why a registry operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The manifest or blob does not exist. Checks turn this into a finding.
    #[error("`{reference}` was not found in the registry")]
    NotFound {
        /// What was asked for.
        reference: String,
    },
    /// The registry could not be reached, or failed (5xx, timeout, TLS).
    #[error("registry `{registry}` is unreachable or failing")]
    Unreachable {
        /// The registry host.
        registry: String,
        /// The transport error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The registry refused the credentials (or their absence).
    #[error(
        "registry `{registry}` denied access to `{reference}`; log in with `docker login {registry}` (slipway reads ~/.docker/config.json)"
    )]
    Denied {
        /// The registry host.
        registry: String,
        /// What was asked for.
        reference: String,
    },
    /// The registry answered with something that is not a valid manifest, config or blob.
    #[error("registry answered `{reference}` with invalid content: {message}")]
    Invalid {
        /// What was asked for.
        reference: String,
        /// What is wrong.
        message: String,
    },
    /// Reading a layer failed midway.
    #[error("could not read layer `{digest}` of `{reference}`")]
    Layer {
        /// The image.
        reference: String,
        /// The layer.
        digest: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// The process exit code this error means.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::NotFound { .. } => exit::CHECK_FAILED,
            Error::Unreachable { .. } | Error::Denied { .. } | Error::Invalid { .. } | Error::Layer { .. } => {
                exit::INFRASTRUCTURE
            }
        }
    }

    /// The registry host, for infrastructure errors.
    pub fn registry(&self) -> Option<&str> {
        match self {
            Error::Unreachable { registry, .. } | Error::Denied { registry, .. } => Some(registry),
            _ => None,
        }
    }
}
