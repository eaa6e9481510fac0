//! The relations the older Kubernetes charms use to find the API endpoint:
//! `loadbalancer` (interface `public-address`, required by kubernetes-master)
//! and `website` (interface `http`, for kubernetes-worker's `kube-api-endpoint`).
//! Every unit publishes the same values in its unit data.

use std::collections::BTreeMap;

/// Endpoint of the `public-address` interface.
pub const PUBLIC_ADDRESS_ENDPOINT: &str = "loadbalancer";
/// Endpoint of the `http` interface.
pub const WEBSITE_ENDPOINT: &str = "website";

/// A unit-data relation as read at the start of the hook.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct UnitRelation {
    /// Relation id.
    pub id: String,
    /// Our unit data as it is now.
    pub our_unit_data: BTreeMap<String, String>,
}

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
