//! The docs' Rust example of the simulated model
//! (docs/explanation/simulated-juju-model.md), compiled and run: the
//! function below holds it, and the test compares it with the docs' block. The block's `mod support;` / `use support::juju::Model;` header is
//! main.rs's (the crate root declares `support`; `Model` comes from there).

use crate::docs;
use crate::Model;

/// The docs' Rust example, compiled: the body between the markers must be
/// the docs' block (after its `mod support;` / `use` lines, which head
/// main.rs), and it runs.
#[test]
#[allow(unused_variables)]
#[rustfmt::skip]
fn model_api_example() {
    // docs example begin
    let model = Model::new("k8s-vip", 3);
    model.set_leader("k8s-vip/0");
    model.set_config("virtual-ip", "192.0.2.100/24");         // typed, checked against config.yaml
    let lb = model.add_relation("lb-consumers", "kubernetes-control-plane", &["kubernetes-control-plane/0"]);
    model.set_app_data(&lb, "kubernetes-control-plane", &[("version", "1")]);
    model.run_hook("k8s-vip/0", "config-changed").assert_success();
    model.run_relation_hook("k8s-vip/0", &lb, "changed", Some("kubernetes-control-plane/0"));
    let action = model.run_action("k8s-vip/0", "failover", serde_json::json!({"hold": 5}));
    model.status("k8s-vip/0");                   // last status-set
    model.app_data(&lb, "k8s-vip");              // what the leader published
    model.logs("k8s-vip/0");                     // juju-log lines
    model.calls("k8s-vip/0", "systemctl");       // recorded argv of each call
    // docs example end

    let this = include_str!("model_example.rs");
    let body: Vec<&str> = this
        .lines()
        .skip_while(|l| l.trim() != "// docs example begin")
        .skip(1)
        .take_while(|l| l.trim() != "// docs example end")
        .map(|l| l.strip_prefix("    ").unwrap_or(l))
        .collect();
    let header = "mod support;\nuse support::juju::Model;\n";
    let main = include_str!("main.rs");
    assert!(main.contains(&format!("\n{header}")), "tests/readme_commands/main.rs must start with the example's header");
    let block = docs::blocks()
        .into_iter()
        .find(|b| b.info == "rust")
        .expect("the docs' Rust example")
        .text();
    assert_eq!(block, format!("{header}\n{}", body.join("\n")), "the docs' Rust example differs from the compiled one in tests/readme_commands/model_example.rs");
}
