//! The hook tools (`config-get`, `relation-get`, `status-set`, ...) behind one
//! trait, so the charm logic runs the same against real Juju ([`CliHookTools`]),
//! against a cache of it ([`CachedTools`]), or against a test double.

mod cached;
mod cli;
mod error;
pub mod facts;
#[cfg(test)]
pub(crate) mod fake;
mod hook_tools;
mod types;

pub use cached::CachedTools;
pub use cli::CliHookTools;
pub use error::ToolError;
pub use hook_tools::{Bag, HookTools};
pub use types::{
    BindAddress, GoalState, GoalUnit, InterfaceAddress, LogLevel, NetworkInfo, Protocol, Status,
    StatusState,
};
