//! What the configuration asks of the stored resources: a pure plan of changes, applied by the
//! store only where each still holds (a resource acquired meanwhile is never touched).
//!
//! Static entries: a listed name that does not exist is created in the entry's state; a stored
//! resource listed nowhere (its entry or its type removed) is deleted once nobody holds it, at
//! the first sync after its release (Boskos could keep it forever, boskos#20 and #83); a name
//! whose type changed is deleted and created again once free.
//!
//! Dynamic entries (no names): held resources are never touched; a free resource whose
//! expiration date has passed, or one in `toBeDeleted` or `tombstone`, is deleted; resources are
//! created up to `min-count`; above `max-count` the free ones with the highest names are deleted.
//! Boskos moves such resources through `toBeDeleted` and `tombstone` for a separate cleaner; here
//! the server deletes them itself.

use std::collections::BTreeMap;

use slipway_store::leases::{Change, Lease};

use crate::config::{Config, Entry};

/// The changes that bring `current` in line with `config` at `now` (nanoseconds). `new_name`
/// names each resource a dynamic type needs.
pub fn plan(config: &Config, current: &[Lease], now: i64, mut new_name: impl FnMut(&str) -> String) -> Vec<Change> {
    let mut changes = Vec::new();
    let mut listed: BTreeMap<&str, &Entry> = BTreeMap::new();
    for entry in config.entries.iter().filter(|entry| !entry.is_dynamic()) {
        for name in &entry.names {
            listed.insert(name, entry);
        }
    }
    let dynamic: BTreeMap<&str, &Entry> =
        config.entries.iter().filter(|entry| entry.is_dynamic()).map(|entry| (entry.kind.as_str(), entry)).collect();
    let stored: BTreeMap<&str, &Lease> = current.iter().map(|lease| (lease.name.as_str(), lease)).collect();

    for (name, entry) in &listed {
        match stored.get(name) {
            None => changes.push(Change::Create {
                name: (*name).to_owned(),
                kind: entry.kind.clone(),
                state: entry.state.clone(),
                dynamic: false,
            }),
            Some(lease) if lease.kind != entry.kind => {
                if lease.owner.is_empty() {
                    changes.push(Change::Delete { name: (*name).to_owned() });
                    changes.push(Change::Create {
                        name: (*name).to_owned(),
                        kind: entry.kind.clone(),
                        state: entry.state.clone(),
                        dynamic: false,
                    });
                }
            }
            Some(lease) if lease.dynamic => {
                changes.push(Change::SetDynamic { name: (*name).to_owned(), dynamic: false });
            }
            Some(_) => {}
        }
    }

    let mut by_kind: BTreeMap<&str, Vec<&Lease>> = BTreeMap::new();
    for lease in current.iter().filter(|lease| !listed.contains_key(lease.name.as_str())) {
        if dynamic.contains_key(lease.kind.as_str()) {
            by_kind.entry(lease.kind.as_str()).or_default().push(lease);
        } else if lease.owner.is_empty() {
            changes.push(Change::Delete { name: lease.name.clone() });
        }
    }
    for (kind, entry) in &dynamic {
        let leases = by_kind.remove(kind).unwrap_or_default();
        let mut alive = Vec::new();
        for lease in leases {
            if !lease.dynamic {
                changes.push(Change::SetDynamic { name: lease.name.clone(), dynamic: true });
            }
            let gone = lease.owner.is_empty()
                && (matches!(lease.state.as_str(), "toBeDeleted" | "tombstone")
                    || lease.expiration.is_some_and(|expiration| expiration < now));
            if gone {
                changes.push(Change::Delete { name: lease.name.clone() });
            } else {
                alive.push(lease);
            }
        }
        let mut count = alive.len();
        while count < entry.min_count as usize {
            changes.push(Change::Create {
                name: new_name(kind),
                kind: (*kind).to_owned(),
                state: entry.state.clone(),
                dynamic: true,
            });
            count += 1;
        }
        let mut excess = count.saturating_sub(entry.max_count as usize);
        let mut free: Vec<&&Lease> = alive.iter().filter(|lease| lease.owner.is_empty()).collect();
        free.sort_by(|a, b| b.name.cmp(&a.name));
        for lease in free {
            if excess == 0 {
                break;
            }
            changes.push(Change::Delete { name: lease.name.clone() });
            excess -= 1;
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(name: &str, kind: &str, owner: &str) -> Lease {
        Lease {
            name: name.to_owned(),
            kind: kind.to_owned(),
            state: "free".to_owned(),
            owner: owner.to_owned(),
            last_update: 0,
            userdata: BTreeMap::new(),
            expiration: None,
            dynamic: false,
        }
    }

    fn config(text: &str) -> Config {
        crate::config::parse(text).expect("valid")
    }

    fn names(mut prefix: u32) -> impl FnMut(&str) -> String {
        move |kind: &str| {
            prefix += 1;
            format!("{kind}-{prefix}")
        }
    }

    #[test]
    fn static_names_are_created_removed_and_retyped() {
        let config = config("resources:\n- type: a\n  state: dirty\n  names: [a1, a2]\n- type: b\n  names: [moved]\n");
        let current =
            vec![lease("a1", "a", ""), lease("gone", "a", ""), lease("held", "a", "job"), lease("moved", "a", "")];
        assert_eq!(
            plan(&config, &current, 0, names(0)),
            [
                Change::Create { name: "a2".into(), kind: "a".into(), state: "dirty".into(), dynamic: false },
                Change::Delete { name: "moved".into() },
                Change::Create { name: "moved".into(), kind: "b".into(), state: "free".into(), dynamic: false },
                Change::Delete { name: "gone".into() },
            ],
            "a held resource that left the configuration stays until it is released"
        );
    }

    #[test]
    fn dynamic_types_keep_between_min_and_max() {
        let config = config("resources:\n- type: c\n  min-count: 2\n  max-count: 3\n");
        let mut expired = lease("c-old", "c", "");
        expired.dynamic = true;
        expired.expiration = Some(5);
        assert_eq!(
            plan(&config, &[expired], 10, names(0)),
            [
                Change::Delete { name: "c-old".into() },
                Change::Create { name: "c-1".into(), kind: "c".into(), state: "free".into(), dynamic: true },
                Change::Create { name: "c-2".into(), kind: "c".into(), state: "free".into(), dynamic: true },
            ]
        );
        let mut many: Vec<Lease> = ["c-1", "c-2", "c-3", "c-4", "c-5"]
            .iter()
            .map(|name| Lease { dynamic: true, ..lease(name, "c", "") })
            .collect();
        many[4].owner = "job".into();
        assert_eq!(
            plan(&config, &many, 10, names(0)),
            [Change::Delete { name: "c-4".into() }, Change::Delete { name: "c-3".into() }],
            "the highest free names go; the held one stays"
        );
    }

    #[test]
    fn static_resources_are_adopted_by_a_dynamic_type_and_back() {
        let dynamic = config("resources:\n- type: a\n  max-count: 2\n");
        assert_eq!(
            plan(&dynamic, &[lease("a1", "a", "")], 0, names(0)),
            [Change::SetDynamic { name: "a1".into(), dynamic: true }]
        );
        let fixed = config("resources:\n- type: a\n  names: [a1]\n");
        let adopted = Lease { dynamic: true, ..lease("a1", "a", "") };
        assert_eq!(plan(&fixed, &[adopted], 0, names(0)), [Change::SetDynamic { name: "a1".into(), dynamic: false }]);
    }
}
