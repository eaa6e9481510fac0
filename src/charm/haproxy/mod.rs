//! HAProxy in front of the VIP: load-balances `loadbalancer` v1 requests
//! (the API servers of kubernetes-control-plane) and worker ingress ports over
//! all units, with active health checks, so the VIP gives both failover and
//! load spreading.
//!
//! From the bottom up (each file imports only those above it in this list,
//! and `charm::types`):
//! - [`names`]: the files, unit, package, services and paths of our HAProxy;
//! - [`request`]: the v1 request JSON and the errors we answer with;
//! - [`options`]: `load-balancer`, `lb-timeout`, `ingress-ports`;
//! - [`limits`]: the bounds on every number and count a request can set;
//! - [`backends`]: which addresses a consumer may name as backends;
//! - [`frontend`]: the values a model is made of (frontends, backends, checks);
//! - [`from_request`]: one v1 request checked and turned into frontends;
//! - [`model`]: the pure [`LoadBalancerModel`] built from requests and options;
//! - [`render`]: haproxy.cfg and the systemd unit from tera templates;
//! - [`check`]: `haproxy -c` on a rendered file before it replaces the old one;
//! - [`ports`]: port-conflict detection before anything is applied;
//! - [`owners`]: which request owns each port (first come, first served,
//!   remembered in the peer app data);
//! - [`stats`]: the runtime API client behind "3/3 API servers up";
//! - [`requests`]: requests added to the model one by one, each refused alone;
//! - [`validated`]: the haproxy.cfg to write, refused requests taken out
//!   until `haproxy -c` accepts it;
//! - [`services`]: package, files and systemd steps that run our HAProxy;
//! - [`plan`]: the HAProxy planner, [`plan::plan_load_balancer`];
//! - [`seam`]: the planner in the charm's terms (`Inputs` in, `ProxyOutcome` out);
//! - [`world`]: gathering [`crate::charm::types::LbWorld`] in a hook.

pub mod backends;
pub mod check;
pub mod from_request;
pub mod frontend;
pub mod limits;
pub mod model;
pub mod names;
pub mod options;
pub mod owners;
pub mod plan;
pub mod ports;
pub mod render;
pub mod request;
pub mod requests;
pub mod seam;
pub mod services;
pub mod stats;
pub mod validated;
pub mod world;

pub use from_request::RequestContext;
pub use frontend::Timeouts;
pub use model::LoadBalancerModel;
pub use names::HaproxyPaths;
pub use render::{render_haproxy_cfg, render_haproxy_unit};
pub use request::{LbRequest, RequestError};
