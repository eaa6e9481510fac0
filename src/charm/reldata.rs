//! Relation data diffs: a hook sets only keys whose value changes, so a second
//! run of any hook sets no relation data at all.

use std::collections::BTreeMap;

use super::types::{RelationSet, UnitRelation};

/// The `relation-set` payload turning `current` into `desired` for the keys in
/// `owned` (keys we manage; others, such as Juju's `ingress-address`, are left
/// alone). A key we own that is no longer desired is deleted (empty value).
/// Empty when nothing changes.
pub fn diff(
    current: &BTreeMap<String, String>,
    desired: &BTreeMap<String, String>,
    owned: &dyn Fn(&str) -> bool,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (k, v) in desired {
        if current.get(k) != Some(v) {
            out.insert(k.clone(), v.clone());
        }
    }
    for k in current.keys() {
        if owned(k) && !desired.contains_key(k) {
            out.insert(k.clone(), String::new());
        }
    }
    out
}

/// The unit-data `relation-set`s that bring each of `rels` to `desired`
/// (only the relations where something changes).
pub fn unit_data_sets(
    rels: &[UnitRelation],
    desired: &BTreeMap<String, String>,
    owned: &dyn Fn(&str) -> bool,
) -> Vec<RelationSet> {
    rels.iter()
        .filter_map(|rel| {
            let changes = diff(&rel.our_unit_data, desired, owned);
            (!changes.is_empty()).then(|| RelationSet {
                relation_id: rel.id.clone(),
                app: false,
                data: changes,
            })
        })
        .collect()
}
