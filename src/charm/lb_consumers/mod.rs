//! The `lb-consumers` endpoint: provider side of the `loadbalancer` interface,
//! protocol version 1 (canonical/loadbalancer-interface), as
//! kubernetes-control-plane's `loadbalancer-internal` / `loadbalancer-external`
//! endpoints speak it.
//!
//! Everything lives in application data. Both leaders write `version: "1"`; a
//! relation is ignored until the consumer has published its version. Each
//! `request_<name>` (JSON) is answered with `response_<name>` =
//! `{"address", "error", "error_fields", "error_message", "received_hash"}`,
//! where `received_hash` echoes the request's `sent_hash` so the consumer knows
//! the answer is for the request it sent.
//!
//! Planned in two passes around the HAProxy planner: [`proxy_needs`] lists
//! the ports the VIP cannot serve directly (the HAProxy planner's input),
//! then [`answer()`] / [`part`] write one response per request from what the
//! HAProxy planner accepted or refused. Each request is answered on its own.
//!
//! - [`context`]: the endpoint, protocol version and [`ProviderContext`];
//! - [`request`]: one `request_<name>` JSON parsed into a [`request::Request`];
//! - [`needs`]: the direct rule and [`proxy_needs`];
//! - [`answer`](mod@answer): the `response_<name>` values and the relation part.

pub mod answer;
pub mod context;
pub mod needs;
pub mod request;

pub use answer::{answer, owned_key, part, ProviderAnswer};
pub use context::{ProviderContext, ENDPOINT, VERSION};
pub use needs::proxy_needs;
