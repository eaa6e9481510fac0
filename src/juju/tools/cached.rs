//! A read-through cache over any [`HookTools`]: each piece of the world (config,
//! a relation's members, a data bag, leadership, a binding's addresses) is read
//! at most once per hook run, however many parts of the charm ask for it.
//! Writes go straight through and update what this unit would read back.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::Hash;

use serde_json::{Map, Value};

use super::error::ToolError;
use super::hook_tools::{Bag, HookTools};
use super::types::{LogLevel, NetworkInfo, Protocol, Status};

/// Caches the read-only hook tools of `T` for the life of one hook run.
pub struct CachedTools<T> {
    inner: T,
    unit: String,
    app: String,
    config: RefCell<Option<Map<String, Value>>>,
    relation_ids: RefCell<HashMap<String, Vec<String>>>,
    relation_list: RefCell<HashMap<String, Vec<String>>>,
    remote_app: RefCell<HashMap<String, Option<String>>>,
    bags: RefCell<HashMap<(String, String, bool), Bag>>,
    network: RefCell<HashMap<String, NetworkInfo>>,
    leader: RefCell<Option<bool>>,
    action_params: RefCell<Option<Map<String, Value>>>,
    state: RefCell<Option<Bag>>,
}

/// Returns the cached value for `key`, or loads, caches and returns it.
fn cached<K: Eq + Hash, V: Clone>(
    cache: &RefCell<HashMap<K, V>>,
    key: K,
    load: impl FnOnce() -> Result<V, ToolError>,
) -> Result<V, ToolError> {
    if let Some(v) = cache.borrow().get(&key) {
        return Ok(v.clone());
    }
    let v = load()?;
    cache.borrow_mut().insert(key, v.clone());
    Ok(v)
}

/// Like [`cached`] for a single value.
fn cached_one<V: Clone>(
    cache: &RefCell<Option<V>>,
    load: impl FnOnce() -> Result<V, ToolError>,
) -> Result<V, ToolError> {
    if let Some(v) = cache.borrow().as_ref() {
        return Ok(v.clone());
    }
    let v = load()?;
    *cache.borrow_mut() = Some(v.clone());
    Ok(v)
}

/// Applies a write to a bag the way Juju does: an empty value deletes the key.
fn merge_write(bag: &mut Bag, data: &Bag) {
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
            config: RefCell::default(),
            relation_ids: RefCell::default(),
            relation_list: RefCell::default(),
            remote_app: RefCell::default(),
            bags: RefCell::default(),
            network: RefCell::default(),
            leader: RefCell::default(),
            action_params: RefCell::default(),
            state: RefCell::default(),
        }
    }

    /// The wrapped tools.
    pub fn inner(&self) -> &T {
        &self.inner
    }
}

impl<T: HookTools> HookTools for CachedTools<T> {
    fn config_get(&self) -> Result<Map<String, Value>, ToolError> {
        cached_one(&self.config, || self.inner.config_get())
    }

    fn relation_ids(&self, endpoint: &str) -> Result<Vec<String>, ToolError> {
        cached(&self.relation_ids, endpoint.to_string(), || {
            self.inner.relation_ids(endpoint)
        })
    }

    fn relation_list(&self, rel_id: &str) -> Result<Vec<String>, ToolError> {
        cached(&self.relation_list, rel_id.to_string(), || {
            self.inner.relation_list(rel_id)
        })
    }

    fn relation_remote_app(&self, rel_id: &str) -> Result<Option<String>, ToolError> {
        cached(&self.remote_app, rel_id.to_string(), || {
            self.inner.relation_remote_app(rel_id)
        })
    }

    fn relation_get(&self, rel_id: &str, unit_or_app: &str, app: bool) -> Result<Bag, ToolError> {
        let key = (rel_id.to_string(), unit_or_app.to_string(), app);
        cached(&self.bags, key, || {
            self.inner.relation_get(rel_id, unit_or_app, app)
        })
    }

    fn relation_set(&self, rel_id: &str, data: &Bag, app: bool) -> Result<(), ToolError> {
        self.inner.relation_set(rel_id, data, app)?;
        let own = if app { &self.app } else { &self.unit };
        if let Some(bag) = self
            .bags
            .borrow_mut()
            .get_mut(&(rel_id.to_string(), own.clone(), app))
        {
            merge_write(bag, data);
        }
        Ok(())
    }

    fn network_get(&self, binding: &str) -> Result<NetworkInfo, ToolError> {
        cached(&self.network, binding.to_string(), || {
            self.inner.network_get(binding)
        })
    }

    fn status_set(&self, status: Status, application: bool) -> Result<(), ToolError> {
        self.inner.status_set(status, application)
    }

    fn application_version_set(&self, version: &str) -> Result<(), ToolError> {
        self.inner.application_version_set(version)
    }

    fn is_leader(&self) -> Result<bool, ToolError> {
        cached_one(&self.leader, || self.inner.is_leader())
    }

    fn action_get(&self) -> Result<Map<String, Value>, ToolError> {
        cached_one(&self.action_params, || self.inner.action_get())
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
        cached_one(&self.state, || self.inner.state_get())
    }

    fn state_set(&self, data: &Bag) -> Result<(), ToolError> {
        self.inner.state_set(data)?;
        if let Some(state) = self.state.borrow_mut().as_mut() {
            merge_write(state, data);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// Counts reads and remembers the last written bag.
    #[derive(Default)]
    struct Counting {
        reads: Cell<u32>,
        own_bag: RefCell<Bag>,
    }

    impl Counting {
        fn read<V>(&self, v: V) -> Result<V, ToolError> {
            self.reads.set(self.reads.get() + 1);
            Ok(v)
        }
    }

    impl HookTools for Counting {
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
            if who == "k8s-vip/0" {
                let bag = self.own_bag.borrow().clone();
                self.read(bag)
            } else {
                self.read(Bag::new())
            }
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
        fn action_get(&self) -> Result<Map<String, Value>, ToolError> {
            self.read(Map::new())
        }
        fn action_set(&self, _: &Bag) -> Result<(), ToolError> {
            Ok(())
        }
        fn action_fail(&self, _: &str) -> Result<(), ToolError> {
            Ok(())
        }
        fn juju_log(&self, _: LogLevel, _: &str) -> Result<(), ToolError> {
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

    #[test]
    fn every_read_happens_once() {
        let tools = CachedTools::new(Counting::default(), "k8s-vip/0");
        for _ in 0..3 {
            tools.config_get().unwrap();
            tools.relation_ids("cluster").unwrap();
            tools.relation_list("cluster:0").unwrap();
            tools.relation_remote_app("cluster:0").unwrap();
            tools.relation_get("cluster:0", "k8s-vip/1", false).unwrap();
            tools.network_get("cluster").unwrap();
            tools.is_leader().unwrap();
            tools.action_get().unwrap();
            tools.state_get().unwrap();
        }
        assert_eq!(tools.inner().reads.get(), 9);
        tools.relation_ids("website").unwrap();
        assert_eq!(tools.inner().reads.get(), 10, "a new key is a new read");
    }

    #[test]
    fn own_bag_reads_back_writes_without_rereading() {
        let tools = CachedTools::new(Counting::default(), "k8s-vip/0");
        assert!(tools
            .relation_get("cluster:0", "k8s-vip/0", false)
            .unwrap()
            .is_empty());
        let write: Bag = [("a".to_string(), "1".to_string())].into();
        tools.relation_set("cluster:0", &write, false).unwrap();
        let bag = tools.relation_get("cluster:0", "k8s-vip/0", false).unwrap();
        assert_eq!(bag, write);
        let delete: Bag = [("a".to_string(), String::new())].into();
        tools.relation_set("cluster:0", &delete, false).unwrap();
        assert!(tools
            .relation_get("cluster:0", "k8s-vip/0", false)
            .unwrap()
            .is_empty());
        assert_eq!(tools.inner().reads.get(), 1);
    }
}
