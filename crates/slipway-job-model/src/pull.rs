//! When a container job's image is pulled.

/// When a container job's image is pulled, as Kubernetes' `imagePullPolicy` says it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PullPolicy {
    /// Every run (`Always`).
    Always,
    /// Only when the engine does not have the image (`IfNotPresent`): images built locally
    /// (`localhost/...`) and cached ones run without a registry.
    #[default]
    Missing,
    /// Never: the image must be there (`Never`).
    Never,
}

impl PullPolicy {
    /// Parses `always`, `missing` or `never`, or Kubernetes' `Always`, `IfNotPresent`, `Never`.
    pub fn parse(text: &str) -> Result<PullPolicy, String> {
        match text.trim() {
            "always" | "Always" => Ok(PullPolicy::Always),
            "missing" | "IfNotPresent" => Ok(PullPolicy::Missing),
            "never" | "Never" => Ok(PullPolicy::Never),
            other => Err(format!("`{other}` is not a pull policy: use always, missing or never")),
        }
    }

    /// The policy's name in slipway.yaml.
    pub fn as_str(self) -> &'static str {
        match self {
            PullPolicy::Always => "always",
            PullPolicy::Missing => "missing",
            PullPolicy::Never => "never",
        }
    }
}
