//! Build ids that increase per job, even with several processes sharing one bucket.
//!
//! An id is a snowflake as Prow's are: milliseconds since Twitter's epoch shifted left 22 bits
//! (19 decimal digits today), so slipway's ids sort among Prow's in a shared bucket. The low 22
//! bits are a sequence: an id is the larger of the time-derived one and the job's latest build
//! plus one, and it is claimed by creating the build's `started.json` with a conditional create
//! (`If-None-Match: *`); when another process claimed it first, the next id is tried. Once
//! claimed, `latest-build.txt` is advanced with compare-and-swap, never moved back, so an
//! allocation that starts after another ended gets a larger id even if the clocks disagree.

use bytes::Bytes;

use crate::error::Result;
use crate::layout::Started;
use crate::name;
use crate::storage::{Headers, Object, Storage};

/// Twitter's snowflake epoch (2010-11-04T01:42:54.657Z), which Prow's ids count from.
const SNOWFLAKE_EPOCH_MS: u64 = 1_288_834_974_657;

/// The time-derived part of a build id.
pub fn snowflake(now_unix_ms: u64) -> u64 {
    now_unix_ms.saturating_sub(SNOWFLAKE_EPOCH_MS) << 22
}

fn latest_key(job: &str) -> String {
    format!("logs/{job}/latest-build.txt")
}

/// The headers of pointer files that must not be cached (`latest-build.txt`, markers).
pub(crate) const UNCACHED_TEXT: Headers =
    Headers { content_type: "text/plain", cache_control: Some("private, max-age=0, no-transform") };

/// The id `logs/<job>/latest-build.txt` names, if any (an unreadable one counts as none).
pub async fn latest_build(storage: &Storage, job: &str) -> Result<Option<u64>> {
    name::job(job)?;
    Ok(read_latest(storage, job).await?.1)
}

async fn read_latest(storage: &Storage, job: &str) -> Result<(Option<Object>, Option<u64>)> {
    let object = storage.get(&latest_key(job)).await?;
    let id = object.as_ref().and_then(|object| std::str::from_utf8(&object.body).ok()?.trim().parse().ok());
    Ok((object, id))
}

/// Allocates a build id for `job`: time-derived from `now_unix_ms`, strictly greater than the
/// job's latest build, and claimed (its `started.json` created as a placeholder that
/// [`crate::BuildDir::start`] replaces) so no other process gets it.
pub async fn allocate_build_id(storage: &Storage, job: &str, now_unix_ms: u64) -> Result<u64> {
    name::job(job)?;
    let placeholder =
        Started { timestamp: i64::try_from(now_unix_ms / 1000).unwrap_or(i64::MAX), ..Started::default() };
    let body = Bytes::from(serde_json::to_vec(&placeholder).expect("a Started serializes"));
    let (_, latest) = read_latest(storage, job).await?;
    let mut candidate = snowflake(now_unix_ms).max(latest.map_or(0, |latest| latest + 1));
    loop {
        let key = format!("logs/{job}/{candidate}/started.json");
        if storage.create(&key, body.clone(), Headers::for_name("started.json")).await? {
            advance_latest(storage, job, candidate).await?;
            return Ok(candidate);
        }
        // Taken: someone allocated concurrently. Skip past it, and past whatever is now latest.
        let (_, latest) = read_latest(storage, job).await?;
        candidate = (candidate + 1).max(latest.map_or(0, |latest| latest + 1));
    }
}

/// Moves `latest-build.txt` to `build_id` unless it already names that build or a later one.
pub(crate) async fn advance_latest(storage: &Storage, job: &str, build_id: u64) -> Result<()> {
    let key = latest_key(job);
    loop {
        let (object, latest) = read_latest(storage, job).await?;
        if latest.is_some_and(|latest| latest >= build_id) {
            return Ok(());
        }
        // A lost race means another writer moved it (only ever forward): look again.
        if storage.swap(&key, Bytes::from(build_id.to_string()), object.as_ref(), UNCACHED_TEXT).await? {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snowflakes_have_prows_magnitude() {
        // 2024-06-01T00:00:00Z
        let id = snowflake(1_717_200_000_000);
        assert_eq!(id.to_string().len(), 19);
        assert!(snowflake(1_717_200_000_001) > id);
        assert_eq!(snowflake(0), 0);
    }
}
