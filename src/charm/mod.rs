//! What the charm wants: config model and validation, peers, the relation
//! protocols, the pure `plan`, status and actions.

pub mod actions;
pub mod addresses;
pub mod apply;
pub mod config;
pub mod gather;
pub mod handle;
pub mod haproxy;
pub mod host;
pub mod instances;
pub mod keepalived;
pub mod lb_consumers;
pub mod legacy;
pub mod net;
pub mod paths;
pub mod peer_data;
pub mod peers;
pub mod plan;
pub mod reconcile;
pub mod reldata;
pub mod render;
pub mod render_cli;
pub mod status;
pub mod system;
pub mod types;
pub mod unit_file;
pub mod vip_agent;
pub mod vrid;

pub use handle::handle;
pub use plan::{plan, Inputs, Plan};
