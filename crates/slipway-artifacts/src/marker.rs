//! Version markers (`stable-1.31.txt`, `markers/master/latest-ci.txt`) with compare-and-swap.
//!
//! A marker is a small object whose body is a bare value with no newline: a version for
//! Kubernetes, a URL for kops. It is served as `text/plain` with
//! `Cache-Control: private, max-age=0, no-transform`, as kubernetes/release writes them.
//!
//! Names are relative paths under the markers prefix (default: the storage's root); `.txt` is
//! added when a name does not end in it, since every marker consumers read is a `.txt` file.
//!
//! Publishing reads the marker (value and version), decides, and writes with a conditional put
//! that succeeds only if the marker is still what was read. A plain publish whose write loses a
//! race fails with [`Error::MarkerMoved`] and writes nothing. With `if_newer` the decision is
//! re-made against the value that won, so racing publishers converge on the greatest version
//! and the marker never moves backwards.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;

use crate::build_id::UNCACHED_TEXT;
use crate::error::{Error, Result};
use crate::name;
use crate::storage::{Object, Storage};
use slipway_core::Version;

/// The JSON schema of `slipway marker get` and `publish`: `{name, value, url, outcome, ...}`.
pub const MARKER_SCHEMA: &str = "slipway.marker/v1";

/// How many times an `if_newer` publish re-reads after losing a race before giving up.
const MAX_ATTEMPTS: u32 = 64;

/// The version markers of one storage, under one prefix.
#[derive(Debug, Clone)]
pub struct Markers {
    storage: Storage,
    prefix: String,
}

/// A marker as read: what it held, and the version a conditional write must match.
#[derive(Debug, Clone)]
pub struct MarkerState {
    name: String,
    value: Option<String>,
    object: Option<Object>,
}

impl MarkerState {
    /// The marker's normalized name (`stable-1.31.txt`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its value, or `None` when there is no such marker.
    pub fn value(&self) -> Option<&str> {
        self.value.as_deref()
    }
}

/// What a publish did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Published {
    /// The marker did not exist and now holds the value.
    Created,
    /// The marker held `previous` and now holds the value.
    Updated {
        /// The value replaced.
        previous: String,
    },
    /// The marker already held the value; nothing was written.
    Unchanged,
    /// `if_newer`, and the marker holds `current`, which is newer: nothing was written.
    Kept {
        /// The newer value the marker keeps.
        current: String,
    },
}

impl Markers {
    /// The markers at the root of `storage`.
    pub fn new(storage: Storage) -> Markers {
        Markers { storage, prefix: String::new() }
    }

    /// The markers under `prefix` (such as `release` or `kops/releases/markers`) of `storage`.
    pub fn with_prefix(storage: Storage, prefix: &str) -> Result<Markers> {
        let prefix = prefix.trim_matches('/');
        if !prefix.is_empty() {
            name::relative_path("markers prefix", prefix)?;
        }
        Ok(Markers { storage, prefix: prefix.to_owned() })
    }

    /// The storage the markers live in.
    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// The normalized name: checked, with `.txt` added when missing.
    pub fn normalize(name: &str) -> Result<String> {
        let name = if name.ends_with(".txt") { name.to_owned() } else { format!("{name}.txt") };
        name::relative_path("marker name", &name)?;
        Ok(name)
    }

    fn key(&self, name: &str) -> String {
        if self.prefix.is_empty() { name.to_owned() } else { format!("{}/{name}", self.prefix) }
    }

    /// The URL of a marker (normalized name).
    pub fn url(&self, name: &str) -> Result<String> {
        Ok(self.storage.object_url(&self.key(&Markers::normalize(name)?)))
    }

    /// The marker's value, or `None` when there is no such marker.
    pub async fn get(&self, name: &str) -> Result<Option<String>> {
        Ok(self.read(name).await?.value)
    }

    /// Reads a marker for a later [`Markers::publish_over`].
    pub async fn read(&self, name: &str) -> Result<MarkerState> {
        let name = Markers::normalize(name)?;
        let object = self.storage.get(&self.key(&name)).await?;
        let value = object.as_ref().map(|object| String::from_utf8_lossy(&object.body).into_owned());
        Ok(MarkerState { name, value, object })
    }

    /// Sets marker `name` to `value`. With `if_newer`, only moves it to a greater version
    /// (see [`Version::marker_moves_to`]); an equal value is a no-op.
    pub async fn publish(&self, name: &str, value: &str, if_newer: bool) -> Result<Published> {
        let state = self.read(name).await?;
        self.publish_over(state, value, if_newer).await
    }

    /// Sets the marker read as `seen` to `value`, only if it still holds what `seen` holds.
    /// Without `if_newer` a marker that moved since is [`Error::MarkerMoved`]; with it, the
    /// decision is made again against the new value.
    pub async fn publish_over(&self, seen: MarkerState, value: &str, if_newer: bool) -> Result<Published> {
        self.swap(seen, value, if_newer, if_newer).await
    }

    /// Sets marker `name` to `value` only if it holds `expected` now (`None`: absent), such as
    /// the value a job resolved when it started; otherwise [`Error::NotExpected`], and nothing
    /// is written. A race lost between the read and the write is [`Error::MarkerMoved`].
    pub async fn publish_expecting(
        &self,
        name: &str,
        expected: Option<&str>,
        value: &str,
        if_newer: bool,
    ) -> Result<Published> {
        check_value(value)?;
        let state = self.read(name).await?;
        if state.value.as_deref() != expected {
            return Err(Error::NotExpected {
                name: state.name,
                url: self.storage.url().to_owned(),
                expected: expected.map(str::to_owned),
                found: state.value,
                requested: value.to_owned(),
            });
        }
        self.swap(state, value, if_newer, false).await
    }

    async fn swap(&self, seen: MarkerState, value: &str, if_newer: bool, retry: bool) -> Result<Published> {
        check_value(value)?;
        let new_version = if if_newer {
            let version = Version::parse(value).map_err(|error| Error::NotAVersion {
                subject: format!("the new value `{value}` is not a version"),
                value: value.to_owned(),
                reason: error.reason,
            })?;
            Some(version)
        } else {
            None
        };
        let key = self.key(&seen.name);
        let mut seen = seen;
        let mut attempt = 0;
        loop {
            if seen.value.as_deref() == Some(value) {
                return Ok(Published::Unchanged);
            }
            if let (Some(new), Some(current)) = (&new_version, &seen.value) {
                let current_version = Version::parse(current).map_err(|error| Error::NotAVersion {
                    subject: format!("marker `{}` holds `{current}`, which is not a version", seen.name),
                    value: current.clone(),
                    reason: error.reason,
                })?;
                if !current_version.marker_moves_to(new) {
                    return Ok(Published::Kept { current: current.clone() });
                }
            }
            let body = Bytes::from(value.to_owned());
            if self.storage.swap(&key, body, seen.object.as_ref(), UNCACHED_TEXT).await? {
                return Ok(match seen.value {
                    None => Published::Created,
                    Some(previous) => Published::Updated { previous },
                });
            }
            let now = self.read(&seen.name).await?;
            if now.value.as_deref() == Some(value) {
                // Another publisher wrote the same value first: the marker holds what was asked.
                return Ok(Published::Unchanged);
            }
            attempt += 1;
            if !retry || attempt >= MAX_ATTEMPTS {
                return Err(Error::MarkerMoved {
                    name: seen.name,
                    url: self.storage.url().to_owned(),
                    from: seen.value,
                    to: now.value,
                });
            }
            seen = now;
            tokio::time::sleep(jitter(attempt)).await;
        }
    }
}

/// A marker's body is one line of text.
fn check_value(value: &str) -> Result<()> {
    let reason = if value.is_empty() {
        "a marker holds a version or a URL; it cannot be empty"
    } else if value.chars().any(char::is_control) {
        "a marker holds one line with no control characters (the body is written without a newline)"
    } else if value.trim() != value {
        "leading or trailing spaces would be part of the marker"
    } else {
        return Ok(());
    };
    Err(Error::Invalid { what: "marker value", value: value.to_owned(), reason: reason.to_owned() })
}

/// A short random pause, growing with the attempt, so racing publishers spread out.
fn jitter(attempt: u32) -> Duration {
    let random = std::collections::hash_map::RandomState::new().build_hasher().finish();
    let ceiling = 5 * u64::from(attempt.min(10));
    Duration::from_millis(1 + random % ceiling.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_get_txt() {
        assert_eq!(Markers::normalize("stable-1.31").expect("valid"), "stable-1.31.txt");
        assert_eq!(Markers::normalize("markers/master/latest-ci.txt").expect("valid"), "markers/master/latest-ci.txt");
        assert!(Markers::normalize("../stable").is_err());
    }

    #[test]
    fn values_are_one_clean_line() {
        check_value("v1.31.2").expect("a version");
        check_value("https://storage.googleapis.com/k8s-staging-kops/kops/releases/1.31.0").expect("a URL");
        for bad in ["", "v1.31.2\n", " v1.31.2", "v1\tx"] {
            let error = check_value(bad).expect_err(bad);
            assert_eq!(error.exit_code(), slipway_core::exit::USAGE);
        }
    }
}
