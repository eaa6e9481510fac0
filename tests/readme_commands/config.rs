//! `juju config` lines: each is applied to a fresh deployment as after the
//! README's deploy commands, the units reconcile without error, and the
//! setting has the effect the docs describe; and before `virtual-ip` is set a
//! unit says exactly what the docs quote.

use serde_json::{json, Value};

use crate::commands::{at, distinct_commands_of, read_yaml, Kind};
use crate::deployment::{
    deployed, deployed_on, deployed_with, in_parallel, network_for, routed_network, unit_status,
    QUICK_START_VIP,
};
use crate::docs;
use crate::markdown::CommandLine;
use crate::support::juju::Model;

/// `juju config` turns the command-line value into the option's type.
fn typed_config_value(key: &str, raw: &str) -> Result<Value, String> {
    let config = read_yaml("config.yaml");
    let option = config
        .pointer(&format!("/options/{key}"))
        .ok_or_else(|| format!("config.yaml has no option `{key}`"))?;
    let ty = option["type"].as_str().unwrap_or("string");
    match ty {
        "string" => Ok(json!(raw)),
        "int" => raw
            .parse::<i64>()
            .map(|v| json!(v))
            .map_err(|_| format!("`{key}` is an int; `{raw}` is not")),
        "float" => raw
            .parse::<f64>()
            .map(|v| json!(v))
            .map_err(|_| format!("`{key}` is a float; `{raw}` is not")),
        "boolean" => match raw {
            "true" => Ok(json!(true)),
            "false" => Ok(json!(false)),
            _ => Err(format!("`{key}` is a boolean; `{raw}` is not")),
        },
        other => Err(format!("`{key}` has unknown type {other}")),
    }
}

/// The agent config the charm wrote on `unit` (Null when there is none).
fn agent_yaml(model: &Model, unit: &str) -> Value {
    let text =
        std::fs::read_to_string(model.path(unit, "/etc/k8s-vip/agent.yaml")).unwrap_or_default();
    serde_yaml::from_str(&text).unwrap_or(Value::Null)
}

/// What the docs say each example does, checked on a unit after it applied.
fn check_effect(model: &Model, unit: &str, key: &str, value: &Value) -> Result<(), String> {
    let agent = agent_yaml(model, unit);
    let inst = &agent["instances"];
    let all = |f: &dyn Fn(&Value) -> bool| {
        inst.as_array()
            .is_some_and(|a| !a.is_empty() && a.iter().all(f))
    };
    let exists = |p: &str| model.path(unit, p).exists();
    let ok = match key {
        "virtual-ip" => {
            let want: Vec<String> = value
                .as_str()
                .unwrap_or_default()
                .split([' ', ','])
                .filter(|s| !s.is_empty())
                .map(|s| s.split('/').next().unwrap_or(s).to_string())
                .collect();
            let got: Vec<String> = inst
                .as_array()
                .map(|a| {
                    a.iter()
                        .flat_map(|i| i["vips"].as_array().cloned().unwrap_or_default())
                        .filter_map(|v| {
                            v.as_str()
                                .map(|s| s.split('/').next().unwrap_or(s).to_string())
                        })
                        .collect()
                })
                .unwrap_or_default();
            got == want
        }
        "advert-interval" => {
            let ms = (value.as_f64().unwrap_or(0.0) * 1000.0).round() as i64;
            all(&|i| i["advert-interval-ms"] == json!(ms))
        }
        "vrrp-version" => all(&|i| i["version"] == *value),
        "unicast" => all(&|i| {
            let peers = i["unicast-peers"].as_array().map(Vec::len).unwrap_or(0);
            (peers > 0) == value.as_bool().unwrap_or(true)
        }),
        "health-check" => {
            let hc = value.as_str().unwrap_or_default();
            match hc.split_once(':') {
                Some(("tcp", target)) => all(&|i| i["checks"][0]["tcp"] == json!(target)),
                _ => true,
            }
        }
        "network-interface" => all(&|i| i["interface"] == *value),
        "garp-refresh" => all(&|i| i["garp"]["refresh-s"] == *value),
        "virtual-router-id" => inst[0]["vrid"] == *value,
        "vip-agent" if value == "keepalived" => {
            exists("/etc/keepalived/keepalived.conf") && model.packages(unit).contains("keepalived")
        }
        "load-balancer" if value == "off" => !exists("/etc/k8s-vip/haproxy.cfg"),
        "ingress-ports" => {
            let cfg = std::fs::read_to_string(model.path(unit, "/etc/k8s-vip/haproxy.cfg"))
                .unwrap_or_default();
            value
                .as_str()
                .unwrap_or_default()
                .split_whitespace()
                .all(|pair| {
                    let (vip_port, node_port) = pair.split_once(':').unwrap_or((pair, ""));
                    cfg.contains(&format!(":{vip_port}")) && cfg.contains(&format!(":{node_port}"))
                })
        }
        // Options whose effect is not in the unit's files (vip-hostname goes to
        // the relations, see the integrate test) are checked through config-get.
        _ => model.config().get(key) == Some(value),
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{key}={value} has not the documented effect on {unit}; agent.yaml:\n{}",
            serde_yaml::to_string(&agent).unwrap_or_default()
        ))
    }
}

/// Applies one `juju config` line to a fresh deployment: the
/// units reconcile without error and end up active or waiting (never blocked),
/// with the documented effect.
fn apply_config_line(cmd: &CommandLine, pairs: &[(String, String)]) {
    let iface = pairs
        .iter()
        .find(|(k, _)| k == "network-interface")
        .map(|(_, v)| v.as_str())
        .unwrap_or("eth0");
    let principal = if cmd.comment.contains("kubernetes-worker") {
        "kubernetes-worker"
    } else {
        "kubernetes-control-plane"
    };
    let vips = pairs
        .iter()
        .find(|(k, _)| k == "virtual-ip")
        .map(|(_, v)| v.as_str())
        .unwrap_or(QUICK_START_VIP);
    // A `bgp-peers` line is about routed networks: units on their own
    // subnets, as the BGP how-to lays them out.
    let model = if pairs.iter().any(|(k, _)| k == "bgp-peers") {
        deployed_with(principal, |i| routed_network(i, iface))
    } else {
        deployed_on(principal, iface, network_for(vips))
    };
    let typed: Vec<(String, Value)> = pairs
        .iter()
        .map(|(k, v)| {
            typed_config_value(k, v)
                .map(|t| (k.clone(), t))
                .unwrap_or_else(|e| panic!("{}: {e}", at(cmd)))
        })
        .collect();
    if !typed.iter().any(|(k, _)| k == "virtual-ip") {
        model.set_config("virtual-ip", QUICK_START_VIP);
    }
    for (k, v) in &typed {
        model.set_config(k, v.clone());
    }
    for u in model.units() {
        let run = model.run_hook(u, "config-changed");

        assert!(
            run.success(),
            "{}: config-changed failed on {u}:\n{}",
            at(cmd),
            run.stderr
        );
    }
    for u in model.units() {
        let (state, message) = unit_status(&model, u);
        assert!(
            state == "active" || state == "waiting",
            "{}: {u} is `{state}: {message}`, but the docs present it as a working setting",
            at(cmd)
        );
        for (k, v) in &typed {
            if let Err(e) = check_effect(&model, u, k, v) {
                panic!("{}: {e}", at(cmd));
            }
        }
    }
}

#[test]
fn juju_config_lines_apply_cleanly_with_the_documented_effect() {
    let cmds = distinct_commands_of(|k| matches!(k, Kind::Config { .. }));
    assert!(cmds.len() >= 5, "the docs lost their config examples");
    in_parallel(&cmds, |(cmd, kind)| {
        if let Kind::Config { pairs } = kind {
            apply_config_line(cmd, pairs);
        }
    });
    eprintln!("{} `juju config` lines applied", cmds.len());
}

/// Before `juju config k8s-vip virtual-ip=...` a unit says exactly what the
/// docs quote (the options reference, the tutorial).
#[test]
fn unset_virtual_ip_blocks_with_the_documented_message() {
    let model = deployed("kubernetes-control-plane", "eth0");
    let (state, message) = unit_status(&model, "k8s-vip/0");
    let quoted = format!("{state}: {message}");
    assert_eq!(
        quoted,
        "blocked: virtual-ip: set virtual-ip (juju config k8s-vip virtual-ip=ADDRESS)"
    );
    assert!(
        docs::page("docs/reference/options.md").contains(&format!("`{quoted}`")),
        "docs/reference/options.md no longer quotes `{quoted}`"
    );
}
