//! Which addresses a consumer may name as backends.
//!
//! A backend is where the VIP's traffic goes, so an address a consumer
//! writes there is a redirection of everyone who reaches the VIP. The rules:
//!
//! - never loopback, unspecified, link-local (this is where cloud instance
//!   metadata lives, `169.254.169.254`), multicast or broadcast addresses,
//!   nor one of our VIPs (a loop): these are never "a remote server";
//! - by default, only the requesting application's own units (their
//!   `ingress-address` on the relation). A consumer can then only send the
//!   VIP's traffic to machines it already runs on, which is what
//!   kubernetes-control-plane does (it sends no backends at all, meaning its
//!   units). Juju vouches for these addresses; the request JSON is just text.
//! - the `lb-backends-any-address` option lifts the second rule for models
//!   whose consumers balance over machines outside the relation (any
//!   routable address); the first rule always holds.
//!
//! IPv4-mapped IPv6 addresses (`::ffff:127.0.0.1`) are judged as the IPv4
//! address they carry.

use std::net::IpAddr;

use super::limits::MAX_BACKENDS_PER_REQUEST;
use super::request::{LbRequest, RequestError};

/// Who may be a backend of one request: our VIPs (never), the requesting
/// app's units (always), and whether any other routable address may.
#[derive(Debug, Clone, Copy)]
pub struct BackendRules<'a> {
    /// Our VIPs.
    pub vips: &'a [IpAddr],
    /// The requesting application's units' addresses.
    pub units: &'a [IpAddr],
    /// `lb-backends-any-address`.
    pub any_address: bool,
}

/// The request's backend addresses (or the consumer units' when it lists
/// none), each one allowed by the rules above.
pub fn backend_addresses(
    request: &LbRequest,
    ctx: &BackendRules<'_>,
) -> Result<Vec<IpAddr>, RequestError> {
    if request.backends.len() > MAX_BACKENDS_PER_REQUEST {
        return Err(RequestError::invalid(
            "backends",
            format!(
                "{} backends listed; at most {MAX_BACKENDS_PER_REQUEST} per request",
                request.backends.len()
            ),
        ));
    }
    let addresses: Vec<IpAddr> = if request.backends.is_empty() {
        ctx.units.to_vec()
    } else {
        request
            .backends
            .iter()
            .map(|b| {
                b.trim().parse::<IpAddr>().map_err(|_| {
                    RequestError::invalid("backends", format!("{b:?} is not an IP address"))
                })
            })
            .collect::<Result<_, _>>()?
    };
    if addresses.is_empty() {
        return Err(RequestError::invalid(
            "backends",
            "no backends: the request lists none and no consumer unit has an ingress-address yet",
        ));
    }
    for a in &addresses {
        allowed_backend(*a, ctx).map_err(|why| RequestError::invalid("backends", why))?;
    }
    Ok(addresses)
}

/// Whether `addr` may receive the VIP's traffic for this request.
pub fn allowed_backend(addr: IpAddr, ctx: &BackendRules<'_>) -> Result<(), String> {
    let ip = addr.to_canonical();
    if let Some(kind) = never_a_backend(ip) {
        return Err(format!("{addr} is {kind}, never a backend"));
    }
    if ctx.vips.iter().any(|v| v.to_canonical() == ip) {
        return Err(format!("{addr} is a VIP of this load balancer"));
    }
    let is_unit = ctx.units.iter().any(|c| c.to_canonical() == ip);
    if !ctx.any_address && !is_unit {
        return Err(format!(
            "{addr} is not the address of a unit of the requesting application; \
             list no backends (= its units), or ask the operator to set lb-backends-any-address=true"
        ));
    }
    Ok(())
}

/// The kind of address that is never a remote server, if `ip` is one.
pub fn never_a_backend(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => {
            if v4.is_loopback() {
                Some("a loopback address")
            } else if v4.is_unspecified() {
                Some("the unspecified address")
            } else if v4.is_link_local() {
                Some("a link-local address (instance metadata lives there)")
            } else if v4.is_multicast() {
                Some("a multicast address")
            } else if v4.is_broadcast() {
                Some("the broadcast address")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            if v6.is_loopback() {
                Some("a loopback address")
            } else if v6.is_unspecified() {
                Some("the unspecified address")
            } else if v6.segments()[0] & 0xffc0 == 0xfe80 {
                Some("a link-local address")
            } else if v6.is_multicast() {
                Some("a multicast address")
            } else {
                None
            }
        }
    }
}
