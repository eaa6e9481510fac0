//! The [`HookTools`] test double the unit tests of `juju` share (the
//! dispatcher's, the cache's): unit `k8s-vip/0` of a small fixed model.
//!
//! Why one double: every test of this layer needs the same thing, a
//! `HookTools` that answers without Juju and lets the test see what was
//! asked and said. Reads answer the model below and are counted (the
//! cache's tests count round trips), our own unit bag reads back what was
//! written, and logs and action failures are recorded (the dispatcher's
//! tests check what the operator is told).
//!
//! The model: every endpoint has one relation, `ENDPOINT:0`, whose only
//! remote unit is `k8s-vip/1` (a peer); this unit leads; every other bag,
//! the config, the network and the goal state are empty.

use std::cell::{Cell, RefCell};
use std::path::PathBuf;

use serde_json::{Map, Value};

use super::cached::merge_write;
use super::error::ToolError;
use super::hook_tools::{Bag, HookTools};
use super::types::{GoalState, LogLevel, NetworkInfo, Protocol, Status};
use crate::juju::context::{HookContext, HookKind};

/// This unit's name in the model.
pub(crate) const UNIT: &str = "k8s-vip/0";

/// A run of `kind` on [`UNIT`], about no relation, with the crate's own
/// directory as the charm directory (its metadata.yaml and actions.yaml).
pub(crate) fn context(kind: HookKind) -> HookContext {
    HookContext {
        unit_name: UNIT.into(),
        app_name: "k8s-vip".into(),
        unit_number: 0,
        kind,
        relation: None,
        charm_dir: PathBuf::from(env!("CARGO_MANIFEST_DIR")),
        principal_unit: None,
        model_name: String::new(),
        model_uuid: String::new(),
        juju_version: String::new(),
    }
}

/// Hook tools of unit [`UNIT`] in the model of the module docs.
#[derive(Default)]
pub(crate) struct FakeTools {
    /// Reads asked so far (each a round trip to Juju on a real unit).
    pub reads: Cell<u32>,
    /// Our unit bag, as written.
    pub own_bag: RefCell<Bag>,
    /// `juju-log` lines, with their level.
    pub logs: RefCell<Vec<(LogLevel, String)>>,
    /// `action-fail` messages.
    pub failed: RefCell<Vec<String>>,
}

impl FakeTools {
    /// Counts one read and answers `v`.
    fn read<V>(&self, v: V) -> Result<V, ToolError> {
        self.reads.set(self.reads.get() + 1);
        Ok(v)
    }
}

impl HookTools for FakeTools {
    fn config_get(&self) -> Result<Map<String, Value>, ToolError> {
        self.read(Map::new())
    }
    fn relation_ids(&self, endpoint: &str) -> Result<Vec<String>, ToolError> {
        self.read(vec![format!("{endpoint}:0")])
    }
    fn relation_list(&self, _: &str) -> Result<Vec<String>, ToolError> {
        self.read(vec!["k8s-vip/1".into()])
    }
    fn relation_remote_app(&self, _: &str) -> Result<Option<String>, ToolError> {
        self.read(Some("k8s-vip".into()))
    }
    fn relation_get(&self, _: &str, who: &str, _: bool) -> Result<Bag, ToolError> {
        let bag = if who == UNIT {
            self.own_bag.borrow().clone()
        } else {
            Bag::new()
        };
        self.read(bag)
    }
    fn relation_set(&self, _: &str, data: &Bag, _: bool) -> Result<(), ToolError> {
        merge_write(&mut self.own_bag.borrow_mut(), data);
        Ok(())
    }
    fn network_get(&self, _: &str) -> Result<NetworkInfo, ToolError> {
        self.read(NetworkInfo::default())
    }
    fn status_set(&self, _: Status, _: bool) -> Result<(), ToolError> {
        Ok(())
    }
    fn application_version_set(&self, _: &str) -> Result<(), ToolError> {
        Ok(())
    }
    fn is_leader(&self) -> Result<bool, ToolError> {
        self.read(true)
    }
    fn goal_state(&self) -> Result<GoalState, ToolError> {
        self.read(GoalState::default())
    }
    fn action_get(&self) -> Result<Map<String, Value>, ToolError> {
        self.read(Map::new())
    }
    fn action_set(&self, _: &Bag) -> Result<(), ToolError> {
        Ok(())
    }
    fn action_fail(&self, message: &str) -> Result<(), ToolError> {
        self.failed.borrow_mut().push(message.to_string());
        Ok(())
    }
    fn juju_log(&self, level: LogLevel, message: &str) -> Result<(), ToolError> {
        self.logs.borrow_mut().push((level, message.to_string()));
        Ok(())
    }
    fn open_port(&self, _: u16, _: Protocol) -> Result<(), ToolError> {
        Ok(())
    }
    fn close_port(&self, _: u16, _: Protocol) -> Result<(), ToolError> {
        Ok(())
    }
    fn state_get(&self) -> Result<Bag, ToolError> {
        self.read(Bag::new())
    }
    fn state_set(&self, _: &Bag) -> Result<(), ToolError> {
        Ok(())
    }
}
