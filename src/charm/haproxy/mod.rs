//! HAProxy in front of the VIP: load-balances `loadbalancer` v1 requests
//! (the API servers of kubernetes-control-plane) and worker ingress ports over
//! all units, with active health checks, so the VIP gives both failover and
//! load spreading.
//!
//! - [`request`]: the v1 request JSON and the errors we answer with;
//! - [`model`]: the pure [`LoadBalancerModel`] built from requests and options;
//! - [`render`]: haproxy.cfg and the systemd unit from tera templates;
//! - [`options`]: `load-balancer`, `lb-timeout`, `ingress-ports`;
//! - [`plan`]: the load balancer's share of the charm's plan (the bodies of
//!   the charm's proxy seam) and [`plan::LbWorld`], what a hook reads for it;
//! - [`ports`]: port-conflict detection before anything is applied;
//! - [`stats`]: the runtime API client behind "3/3 API servers up".

pub mod model;
pub mod options;
pub mod plan;
pub mod ports;
pub mod render;
pub mod request;
pub mod stats;

pub use model::{HaproxyPaths, LoadBalancerModel, RequestContext, Timeouts};
pub use render::{render_haproxy_cfg, render_haproxy_unit};
pub use request::{LbRequest, RequestError};
