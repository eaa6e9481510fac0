//! What the `lb-consumers` provider knows of itself: its endpoint, the
//! protocol version it speaks, and this application's VIPs and addresses.

use std::net::IpAddr;

use crate::charm::types::PortOwners;

/// The endpoint name in metadata.yaml.
pub const ENDPOINT: &str = "lb-consumers";
/// The protocol version we speak.
pub const VERSION: &str = "1";
/// Prefix of a request key in the consumer's application data.
pub(super) const REQUEST_PREFIX: &str = "request_";
/// Prefix of our answer's key.
pub(super) const RESPONSE_PREFIX: &str = "response_";

/// What the provider needs to know about this application.
#[derive(Debug, Clone)]
pub struct ProviderContext<'a> {
    /// Our VIPs (IPv4 first).
    pub vips: &'a [IpAddr],
    /// `vip-hostname`, answered instead of the address when set.
    pub hostname: Option<&'a str>,
    /// This unit's own addresses (the direct rule).
    pub my_addrs: &'a [IpAddr],
    /// The peers' known addresses (the VIP may land on any of them).
    pub peer_addrs: &'a [IpAddr],
    /// Port owners as remembered in the peer app data
    /// (`haproxy::owners`); the leader writes them back when they change.
    pub port_owners: &'a PortOwners,
    /// The `cluster` peer relation, where the leader remembers the owners.
    pub cluster_relation: Option<&'a str>,
}
