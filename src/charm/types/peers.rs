//! [`Peer`]: another unit of the application in the `cluster` peer relation,
//! with the keys of the data each unit publishes there.

use std::collections::BTreeMap;
use std::net::IpAddr;

/// Peer-data key: this unit's VRRP (ingress) address of the first family it has.
pub const KEY_ADDRESS: &str = "address";
/// Peer-data key: this unit's IPv6 address for IPv6 VRRP instances, if any.
pub const KEY_ADDRESS_V6: &str = "address-v6";
/// Peer-data key: the interface this unit floats the first VIP on.
pub const KEY_INTERFACE: &str = "interface";
/// Peer-data key: the units whose address this unit knows, by name, itself
/// included (so never empty, which would delete the key), space-separated.
/// A unit lists a peer as a unicast peer only once that peer knows it too,
/// so no unit sends adverts to (or takes the VIP beside) a peer that would
/// drop them as a stranger's.
pub const KEY_PEERS_SEEN: &str = "knows";

/// One other unit of the application, as its peer data says.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Peer {
    /// Unit name (`k8s-vip/2`).
    pub unit: String,
    /// Its published unit data in the `cluster` relation.
    pub data: BTreeMap<String, String>,
}

impl Peer {
    /// The peer's address of the family of `like` (IPv4 or IPv6), if published.
    pub fn address_like(&self, like: IpAddr) -> Option<IpAddr> {
        [KEY_ADDRESS, KEY_ADDRESS_V6]
            .iter()
            .filter_map(|k| self.data.get(*k))
            .filter_map(|v| v.parse::<IpAddr>().ok())
            .find(|a| a.is_ipv4() == like.is_ipv4())
    }

    /// Whether the peer knows unit `me` (lists it under [`KEY_PEERS_SEEN`]).
    /// A peer that publishes no such key (an older revision) is taken to.
    pub fn knows(&self, me: &str) -> bool {
        self.data
            .get(KEY_PEERS_SEEN)
            .map_or(true, |seen| seen.split_whitespace().any(|u| u == me))
    }

    /// Every address the peer published.
    pub fn addresses(&self) -> Vec<IpAddr> {
        [
            KEY_ADDRESS,
            KEY_ADDRESS_V6,
            "ingress-address",
            "private-address",
        ]
        .iter()
        .filter_map(|k| self.data.get(*k))
        .filter_map(|v| v.parse::<IpAddr>().ok())
        .collect()
    }
}
