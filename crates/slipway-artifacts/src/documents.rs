//! Documents written with compare-and-swap: read with the version a conditional write needs,
//! then created only if absent or replaced only if unchanged. The release ledger keeps one JSON
//! document per release this way, so two writers never overwrite each other's facts.

use bytes::Bytes;

use crate::error::Result;
use crate::storage::{Headers, Object, Storage};

/// A document as read, with what a conditional replace must match.
#[derive(Debug, Clone)]
pub struct Versioned {
    object: Object,
}

impl Versioned {
    /// The document's bytes.
    pub fn body(&self) -> &Bytes {
        &self.object.body
    }
}

impl Storage {
    /// Reads `key` for a later [`Storage::write_if_unchanged`]; `None` when it does not exist.
    pub async fn read_versioned(&self, key: &str) -> Result<Option<Versioned>> {
        Ok(self.get(key).await?.map(|object| Versioned { object }))
    }

    /// Writes `key` if it is still what `seen` read (`None`: if it still does not exist).
    /// `false` when another writer got there first; nothing is written then.
    pub async fn write_if_unchanged(&self, key: &str, body: Bytes, seen: Option<&Versioned>) -> Result<bool> {
        self.swap(key, body, seen.map(|versioned| &versioned.object), Headers::for_name(key)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn create_once_then_replace_only_what_was_read() {
        let directory = tempfile::tempdir().expect("temporary directory");
        let storage = Storage::open(&directory.path().display().to_string()).expect("opens");
        let key = "releases/v1.0.0.json";
        assert!(storage.read_versioned(key).await.expect("reads").is_none());
        assert!(storage.write_if_unchanged(key, Bytes::from_static(b"{\"a\":1}"), None).await.expect("writes"));
        assert!(
            !storage.write_if_unchanged(key, Bytes::from_static(b"{\"a\":2}"), None).await.expect("writes"),
            "a second create loses"
        );
        let seen = storage.read_versioned(key).await.expect("reads").expect("exists");
        assert_eq!(seen.body().as_ref(), b"{\"a\":1}");
        assert!(storage.write_if_unchanged(key, Bytes::from_static(b"{\"a\":3}"), Some(&seen)).await.expect("writes"));
        assert!(
            !storage.write_if_unchanged(key, Bytes::from_static(b"{\"a\":4}"), Some(&seen)).await.expect("writes"),
            "a replace of a version that moved on loses"
        );
        let now = storage.read(key).await.expect("reads").expect("exists");
        assert_eq!(now.as_ref(), b"{\"a\":3}");
    }
}
