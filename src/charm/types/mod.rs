//! The charm's plain data: what a hook reads ([`Inputs`]), what it should
//! change ([`Plan`], made of [`Part`]s and step types), and the value types
//! both contain. The leaf of the charm: nothing here imports any other part
//! of the charm, so every planner can know these types and only these.
//!
//! - [`inputs`]: [`Inputs`];
//! - [`service`]: [`ServiceState`], one systemd unit as a hook sees it;
//! - [`plan`]: [`Plan`], [`Part`], files, copies, sysctls, systemd steps,
//!   relation data;
//! - [`status`]: [`Status`], [`State`];
//! - [`net`]: VIPs, interface addresses, [`NetworkView`];
//! - [`peers`]: [`Peer`] and the peer-data keys;
//! - [`relations`]: [`ConsumerRelation`], [`UnitRelation`];
//! - [`agent_state`]: the agent's status document, [`StatusDoc`];
//! - [`health`]: [`HealthCheck`], the `health-check` option's value;
//! - [`lb`]: [`LbWorld`], what the load balancer reads of the unit;
//! - [`proxy`]: [`ProxyNeed`] / [`ProxyOutcome`], the seam between the
//!   `lb-consumers` planner and the HAProxy planner.

pub mod agent_state;
pub mod health;
pub mod inputs;
pub mod lb;
pub mod net;
pub mod peers;
pub mod plan;
pub mod proxy;
pub mod relations;
pub mod service;
pub mod status;

pub use agent_state::{CheckState, InstanceState, StatusDoc};
pub use health::HealthCheck;
pub use inputs::Inputs;
pub use lb::{BackendHealth, LbWorld, Listener, Owner};
pub use net::{IfaceAddr, Interface, NetworkView, VipSpec};
pub use peers::Peer;
pub use plan::{
    CopySpec, FileSpec, Part, Plan, RelationSet, ServiceAction, ServiceOp, SysctlOp, When,
};
pub use proxy::{ProxyNeed, ProxyOutcome, Rejection, RejectionKind};
pub use relations::{ConsumerRelation, UnitRelation};
pub use service::ServiceState;
pub use status::{State, Status};
