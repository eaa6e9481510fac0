//! The per-run cache and the facts it keeps between runs.

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
    fn goal_state(&self) -> Result<crate::juju::tools::GoalState, ToolError> {
        self.read(Default::default())
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
