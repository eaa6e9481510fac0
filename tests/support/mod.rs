//! Shared test support. Each integration test file that needs it says
//! `mod support;` and uses the parts it needs (hence `allow(dead_code)`).
#![allow(dead_code)]

pub mod frr;
pub mod interrupt;
pub mod juju;
pub mod net;
pub mod netns;
pub mod routed;
pub mod skip;
pub mod tls;
