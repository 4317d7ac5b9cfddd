//! The ledger in the artifact storage (a directory, S3, GCS, Azure), next to the version markers:
//! one document per release at `releases/<tag>.json`, created once and afterwards only extended
//! with compare-and-swap, so concurrent writers (a tag job and an image job) never lose each
//! other's facts and nothing recorded is ever overwritten.

use bytes::Bytes;
use slipway_artifacts::Storage;
use slipway_core::exit;

use super::record::{Conflict, Event, RecordProblem, ReleaseRecord, merge};

/// How many times a write that lost a race is tried again, against what won.
const ATTEMPTS: usize = 16;

/// Why the ledger could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The storage failed (unreachable, denied, no bucket).
    #[error(transparent)]
    Storage(#[from] slipway_artifacts::Error),
    /// The stored record cannot be used, so it is not written over.
    #[error(transparent)]
    Unusable(RecordProblem),
    /// Other writers kept changing the record.
    #[error("`{key}` kept changing while slipway wrote it ({ATTEMPTS} attempts); try again")]
    Contended {
        /// The storage key.
        key: String,
    },
}

impl LedgerError {
    /// The exit code: the storage's own, 1 for an unusable record (the check found a problem).
    pub fn exit_code(&self) -> u8 {
        match self {
            LedgerError::Storage(error) => error.exit_code(),
            LedgerError::Unusable(_) => exit::CHECK_FAILED,
            LedgerError::Contended { .. } => exit::INFRASTRUCTURE,
        }
    }
}

/// The release ledger of one storage.
#[derive(Debug, Clone)]
pub struct Ledger {
    storage: Storage,
}

/// Who writes to the ledger, with what, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Writer {
    /// The command (`release bump --tag`).
    pub command: String,
    /// Who (`Name <email>`).
    pub by: String,
    /// When, RFC 3339 in UTC.
    pub at: String,
}

/// What a write did.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// Where the record is.
    pub url: String,
    /// Whether this write created it.
    pub created: bool,
    /// Facts this write added (empty: the record already had them all, and nothing was written).
    pub added: Vec<String>,
    /// Facts that differ from the record, which kept its own.
    pub conflicts: Vec<Conflict>,
    /// The record as it is now.
    pub record: ReleaseRecord,
}

impl Ledger {
    /// The ledger in `storage`.
    pub fn new(storage: Storage) -> Ledger {
        Ledger { storage }
    }

    /// The storage it lives in.
    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// The key of a release's record.
    pub fn key(tag: &str) -> String {
        format!("releases/{tag}.json")
    }

    /// The address of a release's record, for messages.
    pub fn url(&self, tag: &str) -> String {
        self.storage.object_url(&Ledger::key(tag))
    }

    /// The record of `tag`: `None` when there is none, `Some(Err)` when the stored document
    /// cannot be used.
    pub async fn read(&self, tag: &str) -> Result<Option<Result<ReleaseRecord, RecordProblem>>, LedgerError> {
        let key = Ledger::key(tag);
        Ok(self.storage.read(&key).await?.map(|bytes| ReleaseRecord::parse(&self.url(tag), tag, &bytes)))
    }

    /// The tags of every recorded release, sorted.
    pub async fn tags(&self) -> Result<Vec<String>, LedgerError> {
        let mut tags: Vec<String> = self
            .storage
            .list("releases")
            .await?
            .into_iter()
            .filter_map(|key| key.strip_prefix("releases/")?.strip_suffix(".json").map(str::to_owned))
            .collect();
        tags.sort();
        Ok(tags)
    }

    /// Records `facts`: creates the record, or adds to it what it lacks. Nothing recorded is
    /// replaced; a fact that differs is returned as a conflict.
    pub async fn record(&self, facts: &ReleaseRecord, writer: &Writer) -> Result<Recorded, LedgerError> {
        let key = Ledger::key(&facts.tag);
        let url = self.url(&facts.tag);
        for _ in 0..ATTEMPTS {
            let seen = self.storage.read_versioned(&key).await?;
            let (mut record, created, merged) = match &seen {
                None => {
                    let mut record = ReleaseRecord::new(&facts.version, &facts.tag);
                    let merged = merge(&mut record, facts);
                    (record, true, merged)
                }
                Some(seen) => {
                    let mut record =
                        ReleaseRecord::parse(&url, &facts.tag, seen.body()).map_err(LedgerError::Unusable)?;
                    let merged = merge(&mut record, facts);
                    (record, false, merged)
                }
            };
            if merged.added.is_empty() && !created {
                return Ok(Recorded { url, created, added: Vec::new(), conflicts: merged.conflicts, record });
            }
            record.events.push(Event {
                by_command: writer.command.clone(),
                by: writer.by.clone(),
                at: writer.at.clone(),
                added: merged.added.clone(),
            });
            if self.storage.write_if_unchanged(&key, Bytes::from(record.to_bytes()), seen.as_ref()).await? {
                return Ok(Recorded { url, created, added: merged.added, conflicts: merged.conflicts, record });
            }
        }
        Err(LedgerError::Contended { key })
    }
}
