//! The Resource JSON of the Boskos API, field for field and in Boskos's order:
//! `{"type","name","state","owner","lastupdate","userdata","expiration-date"}`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use slipway_store::leases::Lease;

/// A resource as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub state: String,
    pub owner: String,
    /// RFC 3339, whole seconds (as Boskos stores it); clients accept fractions too.
    pub lastupdate: String,
    /// Always an object in answers; `null` is read as empty.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub userdata: BTreeMap<String, String>,
    #[serde(rename = "expiration-date", default, skip_serializing_if = "Option::is_none")]
    pub expiration_date: Option<String>,
}

impl From<&Lease> for Resource {
    fn from(lease: &Lease) -> Resource {
        Resource {
            kind: lease.kind.clone(),
            name: lease.name.clone(),
            state: lease.state.clone(),
            owner: lease.owner.clone(),
            lastupdate: rfc3339(lease.last_update),
            userdata: lease.userdata.clone(),
            expiration_date: lease.expiration.map(rfc3339),
        }
    }
}

/// Nanoseconds since the epoch as RFC 3339 in UTC, whole seconds.
pub fn rfc3339(nanoseconds: i64) -> String {
    slipway_core::time::rfc3339_utc(nanoseconds.div_euclid(1_000_000_000))
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<BTreeMap<String, String>, D::Error> {
    Ok(Option::<BTreeMap<String, String>>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_come_in_boskos_order_and_the_expiration_only_when_set() {
        let lease = Lease {
            name: "p1".into(),
            kind: "gce-project".into(),
            state: "busy".into(),
            owner: "job-x".into(),
            last_update: 1_767_366_245_123_456_789,
            userdata: BTreeMap::new(),
            expiration: None,
            dynamic: false,
        };
        assert_eq!(
            serde_json::to_string(&Resource::from(&lease)).expect("json"),
            r#"{"type":"gce-project","name":"p1","state":"busy","owner":"job-x","lastupdate":"2026-01-02T15:04:05Z","userdata":{}}"#
        );
        let dynamic = Lease { expiration: Some(1_767_539_045_000_000_000), ..lease };
        assert!(
            serde_json::to_string(&Resource::from(&dynamic))
                .expect("json")
                .ends_with(r#","expiration-date":"2026-01-04T15:04:05Z"}"#)
        );
        let read: Resource = serde_json::from_str(
            r#"{"type":"t","name":"n","state":"s","owner":"","lastupdate":"2026-01-02T15:04:05.123Z","userdata":null}"#,
        )
        .expect("parse");
        assert!(read.userdata.is_empty());
    }
}
