//! The [`HookTools`] trait and its [`Bag`]: what a hook can ask Juju or tell
//! it. A leaf, so its implementations (`cli.rs`, `cached.rs`) import it
//! without importing `tools/mod.rs`, which re-exports it.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

use super::error::ToolError;
use super::types::{GoalState, LogLevel, NetworkInfo, Protocol, Status};
use crate::juju::context::HookContext;

/// One relation data bag: string keys to string values, as Juju stores them.
pub type Bag = BTreeMap<String, String>;

/// Everything a hook can ask Juju or tell it. Methods mirror the hook tools one
/// to one; each returns a [`ToolError`] naming the tool when it fails.
pub trait HookTools {
    /// The charm config with defaults filled in (`config-get --format=json`).
    fn config_get(&self) -> Result<Map<String, Value>, ToolError>;
    /// The ids (`cluster:3`) of the relations on `endpoint` (`relation-ids`).
    fn relation_ids(&self, endpoint: &str) -> Result<Vec<String>, ToolError>;
    /// The remote units of relation `rel_id` (`relation-list -r ID`).
    fn relation_list(&self, rel_id: &str) -> Result<Vec<String>, ToolError>;
    /// The remote application of relation `rel_id` (`relation-list -r ID --app`).
    fn relation_remote_app(&self, rel_id: &str) -> Result<Option<String>, ToolError>;
    /// The unit bag of `unit_or_app`, or its application bag when `app`
    /// (`relation-get -r ID [--app] - UNIT_OR_APP`).
    fn relation_get(&self, rel_id: &str, unit_or_app: &str, app: bool) -> Result<Bag, ToolError>;
    /// Writes keys into this unit's bag, or this application's bag when `app`
    /// (leader only); an empty value deletes the key (`relation-set --file -`).
    fn relation_set(&self, rel_id: &str, data: &Bag, app: bool) -> Result<(), ToolError>;
    /// Addresses and interfaces of an endpoint binding (`network-get`).
    fn network_get(&self, binding: &str) -> Result<NetworkInfo, ToolError>;
    /// Sets the unit's status, or the application's when `application` (leader only).
    fn status_set(&self, status: Status, application: bool) -> Result<(), ToolError>;
    /// Sets the workload version shown in `juju status`.
    fn application_version_set(&self, version: &str) -> Result<(), ToolError>;
    /// Whether this unit is the leader (`is-leader`).
    fn is_leader(&self) -> Result<bool, ToolError>;
    /// The units Juju expects this application to have
    /// (`goal-state --format=json`).
    fn goal_state(&self) -> Result<GoalState, ToolError>;
    /// The running action's parameters, defaults filled in (`action-get`).
    fn action_get(&self) -> Result<Map<String, Value>, ToolError>;
    /// Adds results to the running action; dotted keys nest (`action-set k=v`).
    fn action_set(&self, results: &Bag) -> Result<(), ToolError>;
    /// Marks the running action failed with `message` (`action-fail`).
    fn action_fail(&self, message: &str) -> Result<(), ToolError>;
    /// Writes a line to the unit's debug log (`juju-log`).
    fn juju_log(&self, level: LogLevel, message: &str) -> Result<(), ToolError>;
    /// Opens a port in the model's firewall (`open-port PORT/PROTO`).
    fn open_port(&self, port: u16, protocol: Protocol) -> Result<(), ToolError>;
    /// Closes a port again (`close-port PORT/PROTO`).
    fn close_port(&self, port: u16, protocol: Protocol) -> Result<(), ToolError>;
    /// The unit's private key-value state kept by Juju (`state-get`).
    fn state_get(&self) -> Result<Bag, ToolError>;
    /// Writes keys into the unit's state; an empty value deletes (`state-set --file -`).
    fn state_set(&self, data: &Bag) -> Result<(), ToolError>;

    /// Lets this run of `ctx` start from the facts earlier hooks kept in
    /// `file` (see [`super::facts`]), so that it reads only what its hook may
    /// have changed. Call before the first read. Tools that keep nothing
    /// between runs ignore it.
    fn recall_facts(&self, _ctx: &HookContext, _file: &Path) {}

    /// Keeps what this run knows for the next one; call once the run's work
    /// succeeded (a failed hook keeps nothing, so the next reads afresh).
    fn keep_facts(&self) {}
}
