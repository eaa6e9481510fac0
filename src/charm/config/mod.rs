//! The charm's options (config.yaml), parsed and validated in one place so every
//! bad value becomes one `blocked` message that names the option and says how to
//! fix it, before anything is written to the unit.
//!
//! - [`model`]: [`Config`] and [`ConfigError`];
//! - [`read`]: typed reads of `config-get` output;
//! - [`options`]: one validator per option;
//! - [`fast_failover`]: the two BFD options, validated together;
//! - [`bgp`]: the BGP options (routed networks), validated together;
//! - [`resolve`]: the host name of a `tcp:` health check, looked up at hook time.

pub mod bgp;
pub mod fast_failover;
pub mod model;
pub mod options;
pub mod read;
pub mod resolve;

use serde_json::{Map, Value};

use read::bool_opt;

pub use model::{BgpOptions, BgpPeer, Config, ConfigError, FastFailover, VipAgent, VrrpVersion};
pub use options::{parse_vips, valid_ifname, MAX_VIPS};
pub use resolve::resolve_host_names;

/// Validates the whole option map. `app` is the application name (for the
/// `juju config APP ...` hints in messages). The first invalid option wins, in
/// the order of config.yaml, so the message is stable.
pub fn parse(map: &Map<String, Value>, app: &str) -> Result<Config, ConfigError> {
    let vrrp_version = options::vrrp_version(map)?;
    let vips = options::vips(map, app, vrrp_version)?;
    let vip_hostname = options::vip_hostname(map)?;
    let port = options::port(map)?;
    let virtual_router_id = options::virtual_router_id(map)?;
    let network_interface = options::network_interface(map)?;
    let advert_interval_cs = options::advert_interval_cs(map, vrrp_version)?;
    let preempt = bool_opt(map, "preempt", false)?;
    let unicast = bool_opt(map, "unicast", true)?;
    let health_check = options::health_check(map)?;
    let garp_refresh_s = options::garp_refresh_s(map)?;
    let vip_agent = options::vip_agent(map)?;
    let fast_failover = fast_failover::parse(map)?;
    let bgp = bgp::parse(map, &vips, vip_agent)?;
    Ok(Config {
        vips,
        vip_hostname,
        port,
        virtual_router_id,
        network_interface,
        advert_interval_cs,
        vrrp_version,
        preempt,
        unicast,
        health_check,
        garp_refresh_s,
        vip_agent,
        fast_failover,
        bgp,
    })
}
