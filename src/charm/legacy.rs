//! The relations the older Kubernetes charms use to find the API endpoint:
//! `loadbalancer` (interface `public-address`, required by kubernetes-master)
//! and `website` (interface `http`, for kubernetes-worker's `kube-api-endpoint`).
//! Every unit publishes the same values in its unit data. The planners of
//! both relations.

use std::collections::BTreeMap;

use super::reldata;
use super::types::{Part, UnitRelation};

/// Endpoint of the `public-address` interface.
pub const PUBLIC_ADDRESS_ENDPOINT: &str = "loadbalancer";
/// Endpoint of the `http` interface.
pub const WEBSITE_ENDPOINT: &str = "website";

/// `public-address` provider data: `public-address` = VIP or hostname, `port`.
pub fn public_address_data(address: &str, port: u16) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("public-address".to_string(), address.to_string()),
        ("port".to_string(), port.to_string()),
    ])
}

/// Keys we manage on `loadbalancer`.
pub fn public_address_owned(key: &str) -> bool {
    matches!(key, "public-address" | "port" | "extended_data")
}

/// `http` provider data: `hostname` (hostname or VIP), `private-address` = VIP, `port`.
pub fn website_data(hostname: &str, vip: &str, port: u16) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("hostname".to_string(), hostname.to_string()),
        ("private-address".to_string(), vip.to_string()),
        ("port".to_string(), port.to_string()),
    ])
}

/// Keys we manage on `website` (not `private-address`, which Juju owns too).
pub fn website_owned(key: &str) -> bool {
    matches!(key, "hostname" | "port")
}

/// The `loadbalancer` (public-address) relations' share of the plan: every
/// unit publishes `published` (hostname or first VIP) and `port`.
pub fn public_address_part(rels: &[UnitRelation], published: &str, port: u16) -> Part {
    let desired = public_address_data(published, port);
    unit_data_part(rels, &desired, &public_address_owned)
}

/// The `website` (http) relations' share of the plan.
pub fn website_part(rels: &[UnitRelation], published: &str, first_vip: &str, port: u16) -> Part {
    let desired = website_data(published, first_vip, port);
    unit_data_part(rels, &desired, &website_owned)
}

/// The unit-data changes that bring each of `rels` to `desired`.
fn unit_data_part(
    rels: &[UnitRelation],
    desired: &BTreeMap<String, String>,
    owned: &dyn Fn(&str) -> bool,
) -> Part {
    Part {
        relation_sets: reldata::unit_data_sets(rels, desired, owned),
        ..Part::default()
    }
}
