//! The charm's plain data: what a hook reads ([`Inputs`]), what it should
//! change ([`Plan`], made of [`Part`]s and step types), and the value types
//! both contain. The leaf of the charm: nothing here imports any other part
//! of the charm, so every planner can know these types and only these.
//!
//! - [`inputs`] holds [`Inputs`];
//! - [`bgp`] holds [`BgpWorld`], what BGP mode reads of FRR on the unit;
//! - [`service`] holds [`ServiceState`], one systemd unit as a hook sees it;
//! - [`plan`] holds [`Plan`], [`Part`], files, copies, sysctls, systemd steps,
//!   relation data;
//! - [`status`] holds [`Status`], [`State`];
//! - [`net`] holds VIPs, interface addresses, [`NetworkView`];
//! - [`peers`] holds [`Peer`] and the peer-data keys;
//! - [`relations`] holds [`ConsumerRelation`], [`UnitRelation`];
//! - [`agent_state`] holds the agent's status document, [`StatusDoc`];
//! - [`health`] holds [`HealthCheck`], the `health-check` option's value;
//! - [`lb`] holds [`LbWorld`], what the load balancer reads of the unit;
//! - [`proxy`] holds [`ProxyNeed`] / [`ProxyOutcome`], the seam between the
//!   `lb-consumers` planner and the HAProxy planner.

pub mod agent_state;
pub mod bgp;
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
pub use bgp::{BgpSession, BgpWorld, PeerRoute, TcpProbe};
pub use health::HealthCheck;
pub use inputs::{Inputs, PortProbe};
pub use lb::{BackendHealth, LbWorld, Listener, Owner};
pub use net::{IfaceAddr, Interface, NetworkView, VipSpec};
pub use peers::Peer;
pub use plan::{
    CheckedFile, CommandOp, CopySpec, FileSpec, Part, Plan, RelationSet, ServiceAction, ServiceOp,
    SysctlOp, Validator, When,
};
pub use proxy::{PortOwner, PortOwners, ProxyNeed, ProxyOutcome, Rejection, RejectionKind};
pub use relations::{ConsumerRelation, UnitRelation};
pub use service::ServiceState;
pub use status::{State, Status};
