//! The Juju hook environment: the hook context read from `JUJU_*` variables,
//! the hook tools (`config-get`, `relation-get`, ...) behind a trait so tests can
//! fake them, and the dispatcher that turns one process run into one hook run.

pub mod charm_meta;
pub mod context;
pub mod dispatch;
pub mod tools;
