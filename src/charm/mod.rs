//! What the charm wants: config model and validation, peers, the relation
//! protocols, the pure `plan`, status and actions.
//!
//! # Layout: one direction, bottom to top
//!
//! Every file imports only files in its own layer or below (checked by
//! `tests/shape.rs`, which fails on any import cycle in src/).
//!
//! ```text
//!  shell      handle ──> actions/ ──> reconcile ──> gather ─┐
//!  (I/O)         │                        │          apply ─┤   juju (hook tools),
//!                │                        │  checked_write ─┤   the unit's files
//!                └────────────────────────┘          system ┘
//!                                         │   (metrics_probe: one test bind)
//!                                         v
//!  compose    plan.rs        (which planners run, in which order; the status)
//!                │
//!                v
//!  planners   vip_agent  keepalived  host  peer_data  legacy  lb_consumers/
//!             cos_agent  bgp/ (plan, frr_conf, daemons, steps, summary)
//!             haproxy/ (plan, requests, services, seam)
//!             each: (&Inputs, what it needs) -> Part
//!                │
//!                v
//!  helpers    config/  instances  net  peers  vrid  addresses  reldata
//!             metrics_endpoint
//!             render  unit_file  status  paths
//!             haproxy/ (names, request, options, frontend, from_request,
//!                       model, render, ports, stats)
//!                │
//!                v
//!  types/     Inputs, Plan, Part, FileSpec, ServiceOp, SysctlOp,
//!             RelationSet, Status, NetworkView, Peer, ConsumerRelation,
//!             UnitRelation, StatusDoc, HealthCheck, LbWorld, ProxyNeed,
//!             ProxyOutcome: plain data, importing nothing of the charm
//! ```
//!
//! # Data flow of one hook
//!
//! 1. `juju::dispatch::run` (handed [`handle()`] by `main.rs`; src/juju never
//!    imports the charm) calls [`handle()`], which runs
//!    [`reconcile::reconcile`] for a hook or [`actions::run`] for an action.
//! 2. [`gather::gather`] reads the world once into [`types::Inputs`]
//!    (config, leadership, network, peers, relations, services, files, and
//!    [`types::LbWorld`] through [`haproxy::world`]).
//! 3. [`plan::plan`] is pure: it parses the config, asks each planner for
//!    its [`types::Part`] and merges them into one [`types::Plan`]:
//!    - [`lb_consumers`] (first pass): ports the VIP cannot serve directly,
//!      as [`types::ProxyNeed`]s;
//!    - [`haproxy::seam`]: the HAProxy planner's [`types::ProxyOutcome`]
//!      (files, steps, refused requests, a status note, the agent check);
//!    - [`instances`] places the VRRP instances; [`peer_data`] publishes
//!      this unit's addresses;
//!    - [`host`] (sysctls) and the VRRP speaker, [`vip_agent`] or
//!      [`keepalived`];
//!    - [`lb_consumers`] (second pass) and [`legacy`] answer the consumers;
//!    - [`status`] / [`keepalived::unit_status`] say how the unit is.
//!
//!    At stop/remove the same planners hand back their teardown parts.
//! 4. [`apply::apply`] performs the plan through [`system`] and the hook
//!    tools, each step only when something changes; a file with a
//!    [`types::Validator`] replaces the old one only once its own program
//!    accepts it ([`checked_write`]).
//!
//! Actions read the same [`types::Inputs`]; `pause` and `resume` then run
//! the same reconcile, so status and services follow the pause marker.
//!
//! # Adding a concern
//!
//! A new planner (BFD, BGP, COS, ...) is one file beside `vip_agent.rs`:
//! `fn plan(&Inputs, ...) -> Part` (and a teardown part), any new facts it
//! needs added to [`types::Inputs`] and gathered in `gather.rs`, and one
//! `plan.add(...)` line in `plan.rs`. A per-request error of a relation
//! protocol belongs to that protocol's planner (`lb_consumers::answer`,
//! `haproxy::requests`), never to the whole hook.

pub mod actions;
pub mod addresses;
pub mod apply;
pub mod bgp;
pub mod checked_write;
pub mod config;
pub mod cos_agent;
pub mod gather;
pub mod handle;
pub mod haproxy;
pub mod host;
pub mod instances;
pub mod keepalived;
pub mod lb_consumers;
pub mod legacy;
pub mod metrics_endpoint;
pub mod metrics_probe;
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
