//! A read-through cache over any [`HookTools`]: each piece of the world (config,
//! a relation's members, a data bag, leadership, a binding's addresses) is read
//! at most once per hook run, however many parts of the charm ask for it.
//! Writes go straight through and update what this unit would read back; a
//! status equal to the one last set is not sent again.
//!
//! Once told where ([`HookTools::recall_facts`]), it also starts from the
//! facts earlier hooks read and, after a successful run
//! ([`HookTools::keep_facts`]), keeps them for the next: see [`super::facts`]
//! for which facts survive which hooks.

mod memory;

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde_json::{Map, Value};

use super::error::ToolError;
use super::facts::{self, Facts};
use super::hook_tools::{Bag, HookTools};
use super::types::{GoalState, LogLevel, NetworkInfo, Protocol, Status};
use crate::juju::context::HookContext;
use memory::Memory;

/// Caches the read-only hook tools of `T` for the life of one hook run.
pub struct CachedTools<T> {
    inner: T,
    unit: String,
    app: String,
    /// What this run knows that may outlive it.
    facts: RefCell<Facts>,
    /// What this run knows that must be read again next run.
    network: RefCell<HashMap<String, NetworkInfo>>,
    leader: RefCell<Option<bool>>,
    goal: RefCell<Option<GoalState>>,
    action_params: RefCell<Option<Map<String, Value>>>,
    /// Where facts are kept between runs, once recalled.
    memory: RefCell<Option<Memory>>,
    /// No remote unit has joined any relation yet ([`facts::nobody_joined`]):
    /// `relation-list` answers none without asking.
    nobody_joined: Cell<bool>,
}

/// Returns the cached value for `key`, or loads, caches and returns it.
fn cached<V: Clone>(
    cache: &mut BTreeMap<String, V>,
    key: &str,
    load: impl FnOnce() -> Result<V, ToolError>,
) -> Result<V, ToolError> {
    if let Some(v) = cache.get(key) {
        return Ok(v.clone());
    }
    let v = load()?;
    cache.insert(key.to_string(), v.clone());
    Ok(v)
}

/// Like [`cached`] for a single value.
fn cached_one<V: Clone>(
    cache: &mut Option<V>,
    load: impl FnOnce() -> Result<V, ToolError>,
) -> Result<V, ToolError> {
    if let Some(v) = cache.as_ref() {
        return Ok(v.clone());
    }
    let v = load()?;
    *cache = Some(v.clone());
    Ok(v)
}

/// Applies a write to a bag the way Juju does: an empty value deletes the key.
pub(super) fn merge_write(bag: &mut Bag, data: &Bag) {
    for (k, v) in data {
        if v.is_empty() {
            bag.remove(k);
        } else {
            bag.insert(k.clone(), v.clone());
        }
    }
}

impl<T: HookTools> CachedTools<T> {
    /// Wraps `inner` for a hook run of `unit_name` (e.g. `k8s-vip/0`), whose own
    /// bags must read back what it wrote.
    pub fn new(inner: T, unit_name: &str) -> CachedTools<T> {
        let app = unit_name
            .split_once('/')
            .map_or(unit_name, |(app, _)| app)
            .to_string();
        CachedTools {
            inner,
            unit: unit_name.to_string(),
            app,
            facts: RefCell::default(),
            network: RefCell::default(),
            leader: RefCell::default(),
            goal: RefCell::default(),
            action_params: RefCell::default(),
            memory: RefCell::default(),
            nobody_joined: Cell::default(),
        }
    }

    /// The wrapped tools.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// Before `status` is sent: kept facts that say otherwise no longer
    /// hold until the run succeeds and keeps them again.
    fn before_status(&self, status: &Status, app: bool) {
        if let Some(memory) = self.memory.borrow_mut().as_mut() {
            if let Err(e) = memory.before_status(status, app) {
                let _ = self.inner.juju_log(LogLevel::Warning, &e);
            }
        }
    }

    /// The facts (a run's reads so far) with `f` applied.
    fn facts<R>(&self, f: impl FnOnce(&mut Facts) -> R) -> R {
        f(&mut self.facts.borrow_mut())
    }
}

impl<T: HookTools> HookTools for CachedTools<T> {
    fn config_get(&self) -> Result<Map<String, Value>, ToolError> {
        self.facts(|f| cached_one(&mut f.config, || self.inner.config_get()))
    }

    fn relation_ids(&self, endpoint: &str) -> Result<Vec<String>, ToolError> {
        self.facts(|f| {
            cached(&mut f.relation_ids, endpoint, || {
                self.inner.relation_ids(endpoint)
            })
        })
    }

    fn relation_list(&self, rel_id: &str) -> Result<Vec<String>, ToolError> {
        self.facts(|f| {
            cached(&mut f.relation_list, rel_id, || {
                if self.nobody_joined.get() {
                    return Ok(Vec::new());
                }
                self.inner.relation_list(rel_id)
            })
        })
    }

    fn relation_remote_app(&self, rel_id: &str) -> Result<Option<String>, ToolError> {
        self.facts(|f| {
            cached(&mut f.remote_app, rel_id, || {
                self.inner.relation_remote_app(rel_id)
            })
        })
    }

    fn relation_get(&self, rel_id: &str, unit_or_app: &str, app: bool) -> Result<Bag, ToolError> {
        self.facts(|f| {
            let bags = f.bags_mut(app).entry(rel_id.to_string()).or_default();
            cached(bags, unit_or_app, || {
                self.inner.relation_get(rel_id, unit_or_app, app)
            })
        })
    }

    fn relation_set(&self, rel_id: &str, data: &Bag, app: bool) -> Result<(), ToolError> {
        self.inner.relation_set(rel_id, data, app)?;
        let own = if app { &self.app } else { &self.unit };
        self.facts(|f| {
            if let Some(bag) = f
                .bags_mut(app)
                .get_mut(rel_id)
                .and_then(|b| b.get_mut(own.as_str()))
            {
                merge_write(bag, data);
            }
        });
        Ok(())
    }

    fn network_get(&self, binding: &str) -> Result<NetworkInfo, ToolError> {
        if let Some(info) = self.network.borrow().get(binding) {
            return Ok(info.clone());
        }
        let info = self.inner.network_get(binding)?;
        self.network
            .borrow_mut()
            .insert(binding.to_string(), info.clone());
        Ok(info)
    }

    fn status_set(&self, status: Status, application: bool) -> Result<(), ToolError> {
        if self.facts(|f| f.status_mut(application).as_ref() == Some(&status)) {
            return Ok(());
        }
        self.before_status(&status, application);
        self.inner.status_set(status.clone(), application)?;
        self.facts(|f| *f.status_mut(application) = Some(status));
        Ok(())
    }

    fn application_version_set(&self, version: &str) -> Result<(), ToolError> {
        self.inner.application_version_set(version)
    }

    fn is_leader(&self) -> Result<bool, ToolError> {
        cached_one(&mut self.leader.borrow_mut(), || self.inner.is_leader())
    }

    fn goal_state(&self) -> Result<GoalState, ToolError> {
        cached_one(&mut self.goal.borrow_mut(), || self.inner.goal_state())
    }

    fn action_get(&self) -> Result<Map<String, Value>, ToolError> {
        cached_one(&mut self.action_params.borrow_mut(), || {
            self.inner.action_get()
        })
    }

    fn action_set(&self, results: &Bag) -> Result<(), ToolError> {
        self.inner.action_set(results)
    }

    fn action_fail(&self, message: &str) -> Result<(), ToolError> {
        self.inner.action_fail(message)
    }

    fn juju_log(&self, level: LogLevel, message: &str) -> Result<(), ToolError> {
        self.inner.juju_log(level, message)
    }

    fn open_port(&self, port: u16, protocol: Protocol) -> Result<(), ToolError> {
        self.inner.open_port(port, protocol)
    }

    fn close_port(&self, port: u16, protocol: Protocol) -> Result<(), ToolError> {
        self.inner.close_port(port, protocol)
    }

    fn state_get(&self) -> Result<Bag, ToolError> {
        self.facts(|f| cached_one(&mut f.state, || self.inner.state_get()))
    }

    fn state_set(&self, data: &Bag) -> Result<(), ToolError> {
        self.inner.state_set(data)?;
        self.facts(|f| {
            if let Some(state) = f.state.as_mut() {
                merge_write(state, data);
            }
        });
        Ok(())
    }

    fn recall_facts(&self, ctx: &HookContext, file: &Path) {
        if self.memory.borrow().is_some() {
            return;
        }
        self.nobody_joined.set(facts::nobody_joined(ctx));
        let (memory, recalled) = Memory::open(ctx, file, |level, line| {
            let _ = self.inner.juju_log(level, line);
        });
        if let Some(recalled) = recalled {
            if self.facts.borrow().is_empty() {
                *self.facts.borrow_mut() = recalled;
            }
        }
        *self.memory.borrow_mut() = Some(memory);
    }

    fn keep_facts(&self) {
        let Some(memory) = self.memory.borrow_mut().take() else {
            return;
        };
        let facts = self.facts.borrow().clone();
        if let Err(e) = memory.keep(facts, *self.leader.borrow()) {
            let _ = self.inner.juju_log(LogLevel::Warning, &e);
        }
    }
}

#[cfg(test)]
mod tests;
