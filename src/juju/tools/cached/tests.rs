//! The per-run cache and the facts it keeps between runs.

use super::*;
use crate::juju::tools::fake::FakeTools;

#[test]
fn every_read_happens_once() {
    let tools = CachedTools::new(FakeTools::default(), "k8s-vip/0");
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
    let tools = CachedTools::new(FakeTools::default(), "k8s-vip/0");
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

#[test]
fn during_install_nobody_has_joined_so_relation_list_asks_nothing() {
    use crate::juju::context::HookKind;
    use crate::juju::tools::fake::context;
    let missing = std::path::Path::new("/nonexistent/k8s-vip/hook-facts.json");
    let tools = CachedTools::new(FakeTools::default(), "k8s-vip/0");
    let install = context(HookKind::Hook {
        name: "install".into(),
    });
    tools.recall_facts(&install, missing);
    assert_eq!(
        tools.relation_list("cluster:0").unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(tools.inner().reads.get(), 0);
    let tools = CachedTools::new(FakeTools::default(), "k8s-vip/0");
    let start = context(HookKind::Hook {
        name: "start".into(),
    });
    tools.recall_facts(&start, missing);
    assert_eq!(tools.relation_list("cluster:0").unwrap(), ["k8s-vip/1"]);
    assert_eq!(tools.inner().reads.get(), 1);
}
