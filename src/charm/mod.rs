//! What the charm wants: config model and validation, peers, the relation
//! protocols, the pure `plan`, status and actions.

pub mod actions;
pub mod agent_state;
pub mod apply;
pub mod config;
pub mod gather;
pub mod handle;
pub mod haproxy;
pub mod health;
pub mod instances;
pub mod lb_consumers;
pub mod legacy;
pub mod net;
pub mod paths;
pub mod peers;
pub mod plan;
pub mod plan_types;
pub mod proxy;
pub mod reldata;
pub mod render;
pub mod status;
pub mod system;
pub mod system_plan;
pub mod teardown;
pub mod unit_file;
pub mod vrid;

pub use handle::handle;
pub use plan::{plan, Inputs, Plan};
