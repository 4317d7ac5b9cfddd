//! Registry credentials from the Docker client configuration (`$DOCKER_CONFIG/config.json` or
//! `~/.docker/config.json`), as `docker login` and `podman login --compat-auth-file` write it.
//!
//! Only inline credentials (`auths.<host>.auth` or `username`/`password`) are read; credential
//! helpers are not run. Without an entry, access is anonymous.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use serde::Deserialize;

/// A username and password for a registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// User name.
    pub username: String,
    /// Password or token.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("username", &self.username).finish_non_exhaustive()
    }
}

#[derive(Deserialize, Default)]
struct DockerConfig {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
}

#[derive(Deserialize, Default)]
struct AuthEntry {
    auth: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

/// Where the Docker config is: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
pub fn default_config_path() -> Option<PathBuf> {
    if let Some(directory) = std::env::var_os("DOCKER_CONFIG") {
        return Some(PathBuf::from(directory).join("config.json"));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".docker/config.json"))
}

/// Credentials for `registry` from the config at `path`, if it has any. A missing or unreadable
/// config means anonymous access.
pub fn credentials_for(path: &Path, registry: &str) -> Option<Credentials> {
    let text = fs_err::read_to_string(path).ok()?;
    let config: DockerConfig = serde_json::from_str(&text).ok()?;
    let wanted = normalize(registry);
    let entry = config.auths.iter().find(|(key, _)| normalize(key) == wanted)?.1;
    if let (Some(username), Some(password)) = (&entry.username, &entry.password) {
        return Some(Credentials { username: username.clone(), password: password.clone() });
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(entry.auth.as_deref()?.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (username, password) = decoded.split_once(':')?;
    Some(Credentials { username: username.to_owned(), password: password.to_owned() })
}

fn normalize(key: &str) -> String {
    let host = key.trim_start_matches("https://").trim_start_matches("http://").split('/').next().unwrap_or(key);
    match host {
        "index.docker.io" | "registry-1.docker.io" | "docker.io" => "docker.io".to_owned(),
        other => other.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_inline_credentials() {
        let directory = tempfile::tempdir().expect("temporary directory");
        let path = directory.path().join("config.json");
        let auth = base64::engine::general_purpose::STANDARD.encode("robot:s3cret");
        fs_err::write(
            &path,
            format!(r#"{{"auths":{{"https://index.docker.io/v1/":{{"auth":"{auth}"}},"ghcr.io":{{"username":"u","password":"p"}}}},"credHelpers":{{"gcr.io":"gcloud"}}}}"#),
        )
        .expect("write config");
        let hub = credentials_for(&path, "docker.io").expect("hub credentials");
        assert_eq!((hub.username.as_str(), hub.password.as_str()), ("robot", "s3cret"));
        assert_eq!(credentials_for(&path, "ghcr.io").map(|c| c.username), Some("u".to_owned()));
        assert_eq!(credentials_for(&path, "gcr.io"), None);
        assert_eq!(credentials_for(&directory.path().join("missing.json"), "ghcr.io"), None);
        assert!(!format!("{hub:?}").contains("s3cret"));
    }
}
