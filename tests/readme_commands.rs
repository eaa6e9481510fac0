//! Every command in README.md is run here, for real, with the project's own
//! machinery, so the README cannot drift from what the charm does:
//!
//! - `every_readme_command_is_run_by_a_test` collects every command line of
//!   every fenced code block (and the YAML and Rust examples) and fails, naming
//!   the line, for anything no test below runs: a new command cannot be added
//!   to the README without teaching this file to verify it.
//! - `juju config`, `juju integrate` and `juju run` lines are applied to the
//!   simulated Juju model (`tests/support/juju.rs`), which runs the real binary
//!   through `dispatch`; the `juju run` lines also run against real agents in
//!   network namespaces when root.
//! - `make` targets exist (`make -n`), `juju deploy` names the file
//!   `scripts/pack-charm` writes, the VRID one-liner agrees with the Rust
//!   derivation, the agent YAML example passes `k8s-vip agent --check` and the
//!   documented errors are reproduced byte for byte, the CLI synopsis matches
//!   `--help`, `k8s-vip render` runs, the `k8s-vip status` table is what the
//!   CLI prints for the documented status document, and the Rust example of
//!   the simulated model compiles (it is a function of this file).
//!
//! `juju deploy` and `juju status` need a Juju controller, which tests do not
//! have: the deploy line is checked structurally (the file `make charm`
//! writes, metadata.yaml's name), and what `juju status` shows is the unit
//! status the hooks set, which the model records: the config, integrate and
//! action tests assert it, and as root the Quick start's quoted statuses are
//! compared with what update-status sets from real agents.
//!
//! Commands quoted inline in the prose (`` `juju config k8s-vip unicast=true` ``)
//! are collected and must be handled too; those that need a real cloud or
//! cluster (`tcpdump`, `openstack`, ...) are listed as the operator's own
//! tools (`EXTERNAL_TOOLS`).
//!
//! `README_COMMANDS_LIST=1 cargo test --test readme_commands every -- --nocapture`
//! lists every command found with the kind of check it gets.

mod support;
use support::juju::Model;

#[path = "support/readme.rs"]
mod readme;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use readme::{shell_words, CommandLine};
use serde_json::{json, Map, Value};
use support::juju::{ModelOptions, CHARM_BINARY, SOURCE_DIR};

/// The application name the README deploys (and metadata.yaml's `name`).
const APP: &str = "k8s-vip";

// ===== reading the README =====

fn readme_text() -> String {
    std::fs::read_to_string(Path::new(SOURCE_DIR).join("README.md")).expect("README.md")
}

fn read_yaml(file: &str) -> Value {
    let text = std::fs::read_to_string(Path::new(SOURCE_DIR).join(file)).expect(file);
    serde_yaml::from_str(&text).expect(file)
}

/// What a README command is, once recognised; each kind has a test below.
#[derive(Debug, Clone)]
enum Kind {
    /// `make ARGS` or `sudo make ARGS`: `make -n ARGS` must succeed.
    Make { args: Vec<String> },
    /// `juju deploy ./build/NAME.charm APP`.
    Deploy { path: String, app: String },
    /// `juju integrate A:x B:y`.
    Integrate {
        a: (String, String),
        b: (String, String),
    },
    /// `juju integrate A B` without endpoints: the README says Juju refuses
    /// it as ambiguous.
    AmbiguousIntegrate { a: String, b: String },
    /// `juju config APP K=V ...` (placeholder values replaced by samples).
    Config { pairs: Vec<(String, String)> },
    /// `juju run APP/N ACTION k=v ...` (unit `N` = 0).
    Run {
        unit: String,
        action: String,
        params: Vec<(String, String)>,
    },
    /// `juju exec --unit APP/N -- PROGRAM ARGS`: PROGRAM is where the charm
    /// installs the binary, ARGS a valid CLI call.
    Exec { program: String, args: Vec<String> },
    /// `juju status [APP]`: needs a controller; the unit statuses it would
    /// show are checked (see the file's doc comment).
    Status,
    /// `python3 -c '<the VRID formula>' MODEL/APP`.
    VridOneLiner { script: String, name: String },
    /// `$ k8s-vip agent --config FILE --check` with its shown output.
    AgentCheck,
    /// `$ k8s-vip status` with its shown output.
    StatusTable,
    /// `k8s-vip SUB [--flag ...]`: a synopsis line (complete: it must list
    /// every flag) or a mention in the prose.
    Synopsis {
        sub: String,
        words: Vec<String>,
        complete: bool,
    },
    /// `cargo ...`: the targets it names exist.
    Cargo { words: Vec<String> },
    /// `charmcraft pack|analyse`: covered by the packaging test.
    Charmcraft { sub: String },
    /// A script of this repository (`scripts/X`, `python3 FILE`).
    Script { path: String },
    /// `systemctl VERB [UNIT]`, `journalctl -u UNIT`,
    /// `systemd-analyze security --offline=true FILE`: units the charm installs.
    Systemd {
        unit: Option<String>,
        file: Option<String>,
    },
    /// `VAR=value` on its own: a setting some code of this repository reads.
    Setting { name: String },
    /// A command of the operator's own environment (their network, cloud or
    /// cluster), nothing of k8s-vip to run it against.
    External,
}

/// Tools of the operator's environment the README quotes for troubleshooting.
const EXTERNAL_TOOLS: &[&str] = &["tcpdump", "ip", "openstack", "kubectl", "curl"];

/// Replaces an all-caps placeholder (`N`, `ADDRESS`) in a command with a
/// sample of the right kind, so the command can run.
fn sample_for(placeholder: &str) -> Option<&'static str> {
    match placeholder {
        "N" => Some("42"),
        _ => None,
    }
}

fn is_placeholder(word: &str) -> bool {
    !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
        && word.starts_with(|c: char| c.is_ascii_uppercase())
}

fn key_values(pairs: &[&str]) -> Result<Vec<(String, String)>, String> {
    pairs
        .iter()
        .map(|p| {
            let (k, v) = p
                .split_once('=')
                .ok_or_else(|| format!("`{p}` is not KEY=VALUE"))?;
            let v = if is_placeholder(v) {
                sample_for(v).ok_or_else(|| format!("no sample value for placeholder `{v}`"))?
            } else {
                v
            };
            Ok((k.to_string(), v.to_string()))
        })
        .collect()
}

/// Recognises a README command, or says why no test runs it.
fn classify(cmd: &CommandLine) -> Result<Kind, String> {
    let all = shell_words(&cmd.text).map_err(|e| format!("cannot split it: {e}"))?;
    let is_assignment = |w: &String| {
        w.split_once('=')
            .is_some_and(|(name, _)| !name.is_empty() && is_placeholder(name))
    };
    let settings: Vec<&String> = all.iter().take_while(|w| is_assignment(w)).collect();
    if settings.len() == all.len() {
        return match settings.as_slice() {
            [one] => Ok(Kind::Setting {
                name: one.split('=').next().unwrap_or_default().to_string(),
            }),
            _ => Err("not one command nor one setting".into()),
        };
    }
    let words = all[settings.len()..].to_vec();
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    let strs = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let endpoint = |s: &str| -> Result<(String, String), String> {
        s.split_once(':')
            .map(|(x, y)| (x.to_string(), y.to_string()))
            .ok_or_else(|| format!("`{s}` names no endpoint (APP:ENDPOINT)"))
    };
    match w.as_slice() {
        ["make", rest @ ..] | ["sudo", "make", rest @ ..] => Ok(Kind::Make { args: strs(rest) }),
        ["juju", "deploy", path, app] => Ok(Kind::Deploy {
            path: path.to_string(),
            app: app.to_string(),
        }),
        ["juju", "integrate", a, b] if !a.contains(':') && !b.contains(':') => {
            Ok(Kind::AmbiguousIntegrate {
                a: a.to_string(),
                b: b.to_string(),
            })
        }
        ["juju", "integrate", a, b] => Ok(Kind::Integrate {
            a: endpoint(a)?,
            b: endpoint(b)?,
        }),
        ["juju", "config", app, pairs @ ..] if *app == APP && !pairs.is_empty() => {
            Ok(Kind::Config {
                pairs: key_values(pairs)?,
            })
        }
        ["juju", "run", unit, action, params @ ..] if unit.starts_with(&format!("{APP}/")) => {
            let unit = match unit.strip_prefix(&format!("{APP}/")) {
                Some("N") => format!("{APP}/0"),
                _ => unit.to_string(),
            };
            Ok(Kind::Run {
                unit,
                action: action.to_string(),
                params: key_values(params)?,
            })
        }
        ["juju", "exec", "--unit", unit, "--", program, args @ ..]
            if unit.starts_with(&format!("{APP}/")) =>
        {
            Ok(Kind::Exec {
                program: program.to_string(),
                args: strs(args),
            })
        }
        ["juju", "status"] => Ok(Kind::Status),
        ["juju", "status", app] if *app == APP => Ok(Kind::Status),
        ["python3", "-c", script, name] if script.contains("2166136261") => {
            Ok(Kind::VridOneLiner {
                script: script.to_string(),
                name: name.to_string(),
            })
        }
        ["python3", file] if file.ends_with(".py") => Ok(Kind::Script {
            path: file.to_string(),
        }),
        [script] if script.starts_with("scripts/") => Ok(Kind::Script {
            path: script.to_string(),
        }),
        ["k8s-vip", "agent", "--config", _, "--check"] if cmd.prompt => Ok(Kind::AgentCheck),
        ["k8s-vip", "status"] if cmd.prompt => Ok(Kind::StatusTable),
        ["k8s-vip", sub, ..] if !cmd.prompt => Ok(Kind::Synopsis {
            sub: sub.to_string(),
            words: words[2..].to_vec(),
            complete: !cmd.inline,
        }),
        ["cargo", ..] => Ok(Kind::Cargo {
            words: words[1..].to_vec(),
        }),
        ["charmcraft", sub] => Ok(Kind::Charmcraft {
            sub: sub.to_string(),
        }),
        ["systemctl", _] => Ok(Kind::Systemd {
            unit: None,
            file: None,
        }),
        ["systemctl", _, unit] | ["journalctl", "-u", unit] => Ok(Kind::Systemd {
            unit: Some(unit.to_string()),
            file: None,
        }),
        ["systemd-analyze", "security", "--offline=true", file] => Ok(Kind::Systemd {
            unit: None,
            file: Some(file.to_string()),
        }),
        [tool, ..] if EXTERNAL_TOOLS.contains(tool) => Ok(Kind::External),
        _ => Err("no test runs this kind of command".into()),
    }
}

/// Every README command with its kind; panics on unrecognised ones (the
/// coverage test reports them all at once, with advice).
fn commands_of(kind: fn(&Kind) -> bool) -> Vec<(CommandLine, Kind)> {
    all_commands()
        .into_iter()
        .filter_map(|c| classify(&c).ok().map(|k| (c, k)))
        .filter(|(_, k)| kind(k))
        .collect()
}

/// Every command of the README: fenced blocks first, then inline code.
fn all_commands() -> Vec<CommandLine> {
    let text = readme_text();
    let mut all = readme::commands(&text);
    all.extend(readme::inline_commands(&text));
    all
}

/// The commands of one kind, each distinct command once (the Quick start
/// repeats lines of later sections; running them again proves nothing new).
fn distinct_commands_of(kind: fn(&Kind) -> bool) -> Vec<(CommandLine, Kind)> {
    let mut seen = std::collections::BTreeSet::new();
    commands_of(kind)
        .into_iter()
        .filter(|(c, _)| seen.insert(c.text.clone()))
        .collect()
}

/// `README.md:LINE: `COMMAND``, for messages.
fn at(cmd: &CommandLine) -> String {
    format!("README.md:{}: `{}`", cmd.line, cmd.text)
}

// ===== coverage =====

#[test]
fn every_readme_command_is_run_by_a_test() {
    let text = readme_text();
    let mut problems = Vec::new();
    let commands = all_commands();
    for cmd in &commands {
        if let Err(why) = classify(cmd) {
            problems.push(format!(
                "{}: {why}.\n    Every command in README.md must be run by a test. Teach \
                 tests/readme_commands.rs to run it (a case in `classify` and a test that \
                 executes it and checks what the README says it does), or, if it is not a \
                 command a user types, take it out of the code block or `code` span.",
                at(cmd)
            ));
        }
    }
    let mut rust_blocks = 0;
    for block in readme::fenced_blocks(&text) {
        match block.info.as_str() {
            "yaml" | "yml" if !block.text().contains("instances:") => problems.push(format!(
                "README.md:{}: a YAML block that is not the agent config example: no test \
                 checks it. Add a test in tests/readme_commands.rs that feeds it to the \
                 program that reads it.",
                block.fence_line
            )),
            "rust" => rust_blocks += 1,
            _ => {}
        }
    }
    if rust_blocks != 1 {
        problems.push(format!(
            "README.md has {rust_blocks} Rust blocks; tests/readme_commands.rs compiles exactly \
             one (the simulated model example, `model_api_example`): add a compiled copy of \
             any new one there"
        ));
    }
    // The kinds that must be present at all (a README without them lost its
    // main instructions).
    let kinds: Vec<Kind> = commands.iter().filter_map(|c| classify(c).ok()).collect();
    for (name, present) in [
        (
            "make demo",
            kinds
                .iter()
                .any(|k| matches!(k, Kind::Make { args } if args == &["demo"])),
        ),
        (
            "juju deploy",
            kinds.iter().any(|k| matches!(k, Kind::Deploy { .. })),
        ),
        (
            "juju config",
            kinds.iter().any(|k| matches!(k, Kind::Config { .. })),
        ),
        (
            "juju integrate",
            kinds.iter().any(|k| matches!(k, Kind::Integrate { .. })),
        ),
        (
            "juju run",
            kinds.iter().any(|k| matches!(k, Kind::Run { .. })),
        ),
        (
            "agent --check",
            kinds.iter().any(|k| matches!(k, Kind::AgentCheck)),
        ),
    ] {
        if !present {
            problems.push(format!(
                "README.md no longer shows `{name}` in a code block"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} README command(s) not verified:\n{}",
        problems.len(),
        problems.join("\n")
    );
    eprintln!("{} README commands, each run by a test", commands.len());
    if std::env::var_os("README_COMMANDS_LIST").is_some() {
        for c in &commands {
            eprintln!(
                "{:5} {:?} <- {}",
                c.line,
                classify(c).map(|k| format!("{k:?}").chars().take(60).collect::<String>()),
                c.text
            );
        }
    }
}

// ===== make, juju deploy =====

fn make_dry_run(args: &[String]) -> std::process::Output {
    Command::new("make")
        .arg("-n")
        .args(args)
        .current_dir(SOURCE_DIR)
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS")
        // As a user runs it: not with the CARGO cargo sets for tests.
        .env_remove("CARGO")
        .output()
        .expect("run make (is it installed?)")
}

#[test]
fn make_targets_in_the_readme_exist() {
    let cmds = commands_of(|k| matches!(k, Kind::Make { .. }));
    assert!(!cmds.is_empty());
    for (cmd, kind) in cmds {
        let Kind::Make { args } = kind else { continue };
        let out = make_dry_run(&args);
        assert!(
            out.status.success(),
            "{}: `make -n {}` fails: {}\nFix the README or the Makefile.",
            at(&cmd),
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        // `make charm  # prints build/NAME.charm`: the name pack-charm writes.
        if let Some(printed) = cmd.comment.strip_prefix("prints ") {
            assert_eq!(
                printed,
                format!("{}/{}", make_charm_out_dir(), packed_charm_name()),
                "{}: the comment names another file than `make charm` writes",
                at(&cmd)
            );
        }
    }
}

/// The output directory `make charm` hands to scripts/pack-charm.
fn make_charm_out_dir() -> String {
    let out = make_dry_run(&["charm".to_string()]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let line = text
        .lines()
        .find(|l| l.starts_with("scripts/pack-charm "))
        .unwrap_or_else(|| panic!("`make -n charm` runs no scripts/pack-charm:\n{text}"));
    line.split_whitespace()
        .last()
        .unwrap_or_default()
        .to_string()
}

/// The file name scripts/pack-charm writes (it prints the path last), found by
/// running it on a stand-in binary into a temporary directory.
fn packed_charm_name() -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let binary = dir.path().join("k8s-vip");
    std::fs::write(&binary, "#!/bin/sh\n").expect("write");
    std::fs::set_permissions(&binary, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let out = Command::new(Path::new(SOURCE_DIR).join("scripts/pack-charm"))
        .arg(&binary)
        .arg(dir.path().join("build"))
        .output()
        .expect("run scripts/pack-charm");
    assert!(
        out.status.success(),
        "scripts/pack-charm failed (needs zip, from scripts/install-deps): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let path = PathBuf::from(stdout.lines().last().unwrap_or_default());
    assert!(
        path.is_file(),
        "pack-charm printed {path:?}, which is no file"
    );
    path.file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default()
}

#[test]
fn juju_deploy_names_the_charm_make_charm_writes() {
    let cmds = commands_of(|k| matches!(k, Kind::Deploy { .. }));
    assert!(!cmds.is_empty());
    let want = format!("./{}/{}", make_charm_out_dir(), packed_charm_name());
    let name = read_yaml("metadata.yaml")["name"].clone();
    for (cmd, kind) in cmds {
        let Kind::Deploy { path, app } = kind else {
            continue;
        };
        assert_eq!(path, want, "{}: not the file `make charm` writes", at(&cmd));
        assert_eq!(json!(app), name, "{}: not metadata.yaml's name", at(&cmd));
    }
}

/// Runs `f` on every item, a few at a time: each item is an independent
/// simulated deployment whose hooks mostly wait on short tool processes.
fn in_parallel<T: Sync>(items: &[T], f: impl Fn(&T) + Sync) {
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..3 {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                match items.get(i) {
                    Some(item) => f(item),
                    None => break,
                }
            });
        }
    });
}

// ===== juju config =====

/// The `virtual-ip` of the README's Quick start, the deployment every other
/// `juju config` example is applied to.
const QUICK_START_VIP: &str = "10.0.0.100";

/// The (IPv4, IPv6) prefixes of the units' addresses: the README's examples
/// use 10.0.0.0/24 and fd00::/64, the demo 192.0.2.0/24 and 2001:db8::/64.
fn network_for(vips: &str) -> (&'static str, &'static str) {
    if vips
        .split([' ', ','])
        .any(|v| v.starts_with("192.0.2.") || v.starts_with("2001:db8:"))
    {
        ("192.0.2.", "2001:db8::")
    } else {
        ("10.0.0.", "fd00::")
    }
}

/// network-get for unit `i` on interface `iface`, addresses `v4`+(11+i)/24
/// and `v6`+(11+i)/64. These addresses only live in the simulated model's
/// JSON; nothing is configured on the machine.
fn readme_network(i: usize, iface: &str, (v4, v6): (&str, &str)) -> Value {
    let a4 = format!("{v4}{}", 11 + i);
    let a6 = format!("{v6}{}", 11 + i);
    json!({
        "bind-addresses": [{
            "mac-address": format!("02:00:00:00:01:{:02x}", 0x11 + i),
            "interface-name": iface,
            "addresses": [{"hostname": "", "value": a4, "cidr": format!("{v4}0/24")},
                          {"hostname": "", "value": a6, "cidr": format!("{v6}/64")}],
        }],
        "egress-subnets": [format!("{a4}/32")],
        "ingress-addresses": [a4],
    })
}

/// Units of the simulated deployments: two are enough for peers, unicast
/// and priorities, and keep the test fast.
const UNITS: usize = 2;

/// A two-unit deployment as after the Quick start's first `juju integrate`
/// (attached to `principal`), with peers settled, before `virtual-ip` is set.
fn deployed(principal: &str, iface: &str) -> Model {
    deployed_on(principal, iface, network_for(QUICK_START_VIP))
}

/// [`deployed`] on the network with those address prefixes.
fn deployed_on(principal: &str, iface: &str, net: (&str, &str)) -> Model {
    let model = ModelOptions::new(APP, UNITS)
        .principal(Some(principal))
        .build();
    for (i, u) in model.units().iter().enumerate() {
        model.set_network(u, "*", readme_network(i, iface, net));
    }
    // As Juju runs them on a new unit: install (config-changed would run the
    // same reconcile again), then the peer relation hooks once every unit has
    // published its address.
    for u in model.units() {
        model.run_hook(u, "install").assert_success();
    }
    settle_peers(&model);
    model
}

/// Every unit sees every other unit's peer data (cluster-relation-changed).
fn settle_peers(model: &Model) {
    let rel = model.relation_id("cluster");
    for u in model.units() {
        for other in model.units().iter().filter(|o| *o != u) {
            model
                .run_relation_hook(u, &rel, "changed", Some(other))
                .assert_success();
        }
    }
}

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

fn unit_status(model: &Model, unit: &str) -> (String, String) {
    model
        .status(unit)
        .map(|s| (s.state, s.message))
        .unwrap_or_default()
}

fn agent_yaml(model: &Model, unit: &str) -> Value {
    let text =
        std::fs::read_to_string(model.path(unit, "/etc/k8s-vip/agent.yaml")).unwrap_or_default();
    serde_yaml::from_str(&text).unwrap_or(Value::Null)
}

/// What the README says each example does, checked on a unit after it applied.
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

/// Applies one `juju config` line to a fresh Quick-start deployment: the
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
    let model = deployed_on(principal, iface, network_for(vips));
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
            "{}: {u} is `{state}: {message}`, but the README presents it as a working setting",
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
    assert!(cmds.len() >= 5, "the README lost its config examples");
    in_parallel(&cmds, |(cmd, kind)| {
        if let Kind::Config { pairs } = kind {
            apply_config_line(cmd, pairs);
        }
    });
    eprintln!("{} `juju config` lines applied", cmds.len());
}

/// The Quick start: before `juju config k8s-vip virtual-ip=...` a unit says
/// exactly what the README's Options table quotes.
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
        readme_text().contains(&format!("`{quoted}`")),
        "README no longer quotes `{quoted}`"
    );
}

// ===== juju integrate =====

/// The Kubernetes charms' endpoints the README relates k8s-vip to, as their
/// metadata declares them (see the REFERENCES of the relation protocols):
/// (application, endpoint, interface, role). `juju-info` is the implicit
/// endpoint every principal charm provides.
const KUBERNETES_ENDPOINTS: &[(&str, &str, &str, &str)] = &[
    (
        "kubernetes-control-plane",
        "juju-info",
        "juju-info",
        "provides",
    ),
    (
        "kubernetes-control-plane",
        "loadbalancer-internal",
        "loadbalancer",
        "requires",
    ),
    (
        "kubernetes-control-plane",
        "loadbalancer-external",
        "loadbalancer",
        "requires",
    ),
    ("kubernetes-master", "juju-info", "juju-info", "provides"),
    (
        "kubernetes-master",
        "loadbalancer",
        "public-address",
        "requires",
    ),
    ("kubernetes-worker", "juju-info", "juju-info", "provides"),
    ("kubernetes-worker", "kube-api-endpoint", "http", "requires"),
];

/// The loadbalancer v1 request kubernetes-control-plane sends on
/// `endpoint` (its name, and the JSON of `request_<name>`).
fn control_plane_request(endpoint: &str) -> (String, Value) {
    let (name, mapping, public) = if endpoint == "loadbalancer-external" {
        ("api-server-external", json!({"443": 6443}), true)
    } else {
        ("api-server-internal", json!({"6443": 6443}), false)
    };
    let request = json!({
        "algorithm": [], "backends": [],
        "health_checks": [{"interval": 30, "path": "/livez", "port": 6443, "protocol": "http", "retries": 3}],
        "id": "81c7d839a1f94e1684de04fffe1aaa93", "ingress_address": null, "name": name,
        "port_mapping": mapping, "protocol": "tcp", "public": public,
        "sent_hash": format!("hash-of-{name}"), "sticky": false,
        "tls_cert": null, "tls_key": null, "tls_termination": false
    });
    (name.to_string(), request)
}

/// One `juju integrate` line: both endpoints exist with one interface and
/// opposite roles, and the relation does its job in the model.
fn integrate(cmd: &CommandLine, a: &(String, String), b: &(String, String)) {
    let (ours, theirs) = if a.0 == APP { (a, b) } else { (b, a) };
    assert_eq!(ours.0, APP, "{}: relates no {APP} endpoint", at(cmd));
    let meta = read_yaml("metadata.yaml");
    let (role, spec) = ["requires", "provides"]
        .into_iter()
        .find_map(|r| meta[r].get(&ours.1).map(|s| (r, s.clone())))
        .unwrap_or_else(|| panic!("{}: metadata.yaml has no endpoint `{}`", at(cmd), ours.1));
    let interface = spec["interface"].as_str().unwrap_or_default();
    let Some(&(_, _, their_interface, their_role)) = KUBERNETES_ENDPOINTS
        .iter()
        .find(|(app, ep, _, _)| *app == theirs.0 && *ep == theirs.1)
    else {
        panic!(
            "{}: `{}:{}` is not an endpoint of the Kubernetes charms this test knows \
             (KUBERNETES_ENDPOINTS in tests/readme_commands.rs)",
            at(cmd),
            theirs.0,
            theirs.1
        );
    };
    assert_eq!(interface, their_interface, "{}: interfaces differ", at(cmd));
    assert_ne!(role, their_role, "{}: both sides {role} it", at(cmd));

    let model = deployed(&theirs.0, "eth0");
    model.set_config("virtual-ip", QUICK_START_VIP);
    for u in model.units() {
        model.run_hook(u, "config-changed").assert_success();
    }
    let remote_units: Vec<String> = (0..UNITS).map(|i| format!("{}/{i}", theirs.0)).collect();
    let remote: Vec<&str> = remote_units.iter().map(String::as_str).collect();
    match ours.1.as_str() {
        "juju-info" => {
            // Container scope: the model attached each unit to its principal.
            let rel = model.relation_id("juju-info");
            assert_eq!(model.relation(&rel).remote_app, theirs.0);
            for (i, u) in model.units().iter().enumerate() {
                model
                    .run_relation_hook(u, &rel, "joined", Some(&remote_units[i]))
                    .assert_success();
                assert_eq!(model.remote_units(u, &rel), vec![remote_units[i].clone()]);
            }
        }
        "lb-consumers" => {
            let rel = model.add_relation("lb-consumers", &theirs.0, &remote);
            for (i, r) in remote_units.iter().enumerate() {
                model.set_unit_data(
                    &rel,
                    r,
                    &[("ingress-address", &format!("10.0.0.{}", 11 + i))],
                );
            }
            let (name, request) = control_plane_request(&theirs.1);
            model.set_app_data(
                &rel,
                &theirs.0,
                &[
                    ("version", "1"),
                    (&format!("request_{name}"), &request.to_string()),
                ],
            );
            for u in model.units() {
                model
                    .run_relation_hook(u, &rel, "joined", Some(&remote_units[0]))
                    .assert_success();
                model
                    .run_relation_hook(u, &rel, "changed", Some(&remote_units[0]))
                    .assert_success();
            }
            let ours_data = model.app_data(&rel, APP);
            assert_eq!(
                ours_data.get("version").map(String::as_str),
                Some("1"),
                "{}",
                at(cmd)
            );
            let response: Value = ours_data
                .get(&format!("response_{name}"))
                .and_then(|r| serde_json::from_str(r).ok())
                .unwrap_or_else(|| panic!("{}: no response_{name}: {ours_data:?}", at(cmd)));
            assert_eq!(
                response["address"],
                json!(QUICK_START_VIP),
                "{}: {response}",
                at(cmd)
            );
            assert_eq!(response["error"], Value::Null, "{}: {response}", at(cmd));
            assert_eq!(
                response["received_hash"],
                request["sent_hash"],
                "{}",
                at(cmd)
            );
            // Exactly the response the README shows (its placeholder hash
            // being the request's).
            let shown = readme::fenced_blocks(&readme_text())
                .into_iter()
                .filter(|b| b.info == "json")
                .find(|b| b.text().contains("received_hash"))
                .map(|b| b.text())
                .expect("the README's loadbalancer response");
            let shown = shown.replace(
                "<the request's sent_hash>",
                request["sent_hash"].as_str().unwrap_or_default(),
            );
            let shown: Value = serde_json::from_str(&shown).expect("README response is JSON");
            assert_eq!(response, shown, "{}: not the README's response", at(cmd));
        }
        "loadbalancer" | "website" => {
            let rel = model.add_relation(&ours.1, &theirs.0, &remote);
            for u in model.units() {
                model
                    .run_relation_hook(u, &rel, "joined", Some(&remote_units[0]))
                    .assert_success();
                let data = model.relation_data(&rel, u);
                let port = model.config()["port"].to_string();
                let want: &[(&str, &str)] = if ours.1 == "loadbalancer" {
                    &[("public-address", QUICK_START_VIP), ("port", &port)]
                } else {
                    &[
                        ("hostname", QUICK_START_VIP),
                        ("private-address", QUICK_START_VIP),
                        ("port", &port),
                    ]
                };
                for (k, v) in want {
                    assert_eq!(
                        data.get(*k).map(String::as_str),
                        Some(*v),
                        "{}: {u}: {data:?}",
                        at(cmd)
                    );
                }
            }
        }
        other => panic!("{}: no relation check for endpoint `{other}`", at(cmd)),
    }
    for u in model.units() {
        let (state, message) = unit_status(&model, u);
        assert!(
            state == "active" || state == "waiting",
            "{}: {u} is `{state}: {message}`",
            at(cmd)
        );
    }
}

#[test]
fn juju_integrate_lines_name_real_endpoints_and_the_relations_work() {
    let cmds = distinct_commands_of(|k| matches!(k, Kind::Integrate { .. }));
    assert!(!cmds.is_empty());
    in_parallel(&cmds, |(cmd, kind)| {
        if let Kind::Integrate { a, b } = kind {
            integrate(cmd, a, b);
        }
    });
    eprintln!("{} `juju integrate` lines related", cmds.len());
}

// ===== juju run =====

/// Action parameters as `juju run` types them from actions.yaml.
fn action_params(cmd: &CommandLine, action: &str, params: &[(String, String)]) -> Value {
    let schema = read_yaml("actions.yaml");
    let spec = schema
        .get(action)
        .unwrap_or_else(|| panic!("{}: actions.yaml has no action `{action}`", at(cmd)));
    let mut out = Map::new();
    for (k, v) in params {
        let ty = spec
            .pointer(&format!("/params/{k}/type"))
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{}: action `{action}` has no param `{k}`", at(cmd)));
        let typed = match ty {
            "integer" => v.parse::<i64>().map(|n| json!(n)).ok(),
            "number" => v.parse::<f64>().map(|n| json!(n)).ok(),
            "boolean" => v.parse::<bool>().map(|b| json!(b)).ok(),
            _ => Some(json!(v)),
        };
        let typed = typed.unwrap_or_else(|| panic!("{}: `{k}={v}` is not a valid {ty}", at(cmd)));
        out.insert(k.clone(), typed);
    }
    Value::Object(out)
}

/// One `juju run` line: the line, the unit, the action and its parameters.
type RunLine = (CommandLine, String, String, Vec<(String, String)>);

/// The `juju run` lines of each fenced block, in order (a block is one
/// scenario: the Quick start, the Actions section).
fn run_blocks() -> Vec<Vec<RunLine>> {
    let text = readme_text();
    readme::fenced_blocks(&text)
        .iter()
        .map(|b| {
            readme::block_commands(b)
                .into_iter()
                .filter_map(|c| match classify(&c) {
                    Ok(Kind::Run {
                        unit,
                        action,
                        params,
                    }) => Some((c, unit, action, params)),
                    _ => None,
                })
                .collect::<Vec<_>>()
        })
        .filter(|v| !v.is_empty())
        .collect()
}

/// Without a running agent (no root needed): every documented action and
/// parameter is accepted, and the outcome is what the README says happens
/// when the agent is not running.
#[test]
fn juju_run_lines_without_an_agent_fail_or_record_as_documented() {
    let blocks = run_blocks();
    assert!(!blocks.is_empty());
    let readme = readme_text()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        readme.contains(
            "when the agent is not running, `status` and `failover` fail saying so and pointing \
             at `systemctl status k8s-vip-agent`; `pause`/`resume` still record the marker"
        ),
        "the README changed what it says about actions without an agent; update this test"
    );
    for block in blocks {
        let model = deployed("kubernetes-control-plane", "eth0");
        model.set_config("virtual-ip", QUICK_START_VIP);
        for u in model.units() {
            model.run_hook(u, "config-changed").assert_success();
        }
        for (cmd, unit, action, params) in block {
            let a = model.run_action(&unit, &action, action_params(&cmd, &action, &params));
            let marker = model.path(&unit, "/var/lib/k8s-vip/paused");
            match action.as_str() {
                "status" | "failover" => {
                    let why = a.failed.clone().unwrap_or_default();
                    assert!(
                        why.contains("not running")
                            && why.contains("systemctl status k8s-vip-agent"),
                        "{}: without an agent: {why:?}",
                        at(&cmd)
                    );
                }
                "pause" => {
                    a.assert_completed();
                    assert!(marker.exists(), "{}: no pause marker", at(&cmd));
                }
                "resume" => {
                    a.assert_completed();
                    assert!(!marker.exists(), "{}: pause marker left", at(&cmd));
                }
                other => panic!("{}: no expectation for action `{other}`", at(&cmd)),
            }
        }
    }
}

/// The VIP of the live runs: the README's 10.0.0.100 would be outside the
/// test networks, so the lab uses its own 192.0.2.100.
const LAB_VIP: &str = "192.0.2.100";

/// Results of the `status` action the README's Actions table documents
/// (for the first IPv4 instance, `v4-1`, of a unit with no checks).
const STATUS_RESULTS: &[&str] = &[
    "unit",
    "paused",
    "vips",
    "instances.v4-1.state",
    "instances.v4-1.vrid",
    "instances.v4-1.vips",
    "instances.v4-1.priority",
    "instances.v4-1.effective-priority",
    "instances.v4-1.master",
    "instances.v4-1.master-unit",
    "instances.v4-1.preferred-unit",
    "instances.v4-1.priorities.k8s-vip-0",
    "instances.v4-1.transitions",
    "instances.v4-1.last-transition",
    "instances.v4-1.last-transition-reason",
];

/// Waits until exactly one unit holds the lab VIP; returns its index.
fn single_holder(lab: &support::netns::Lab, timeout: Duration) -> Option<usize> {
    let deadline = Instant::now() + timeout;
    loop {
        let h = lab.holders(LAB_VIP);
        if let [one] = h.as_slice() {
            return Some(*one);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Three units with real agents in network namespaces, as after the Quick
/// start (health-check none: no kube-apiserver runs in the lab).
fn live_deploy(tag: &str) -> (support::netns::Lab, Model) {
    let lab = support::netns::Lab::new(tag, 3);
    let mut model = Model::options(APP, 3).real_services(true).build();
    for i in 0..3 {
        let unit = model.unit(i);
        let ns = lab.unit(i).ns.clone();
        model.set_netns(&unit, &ns);
    }
    model.set_config("virtual-ip", LAB_VIP);
    model.set_config("health-check", "none");
    for u in model.units().to_vec() {
        model.run_hook(&u, "install").assert_success();
        model.run_hook(&u, "config-changed").assert_success();
        model.run_hook(&u, "start").assert_success();
    }
    settle_peers(&model);
    (lab, model)
}

/// What `juju status` shows, as the Quick start quotes it (with the lab's VIP
/// and the model's VRID for the README's 10.0.0.100 and 51): the unit status
/// each unit's update-status sets from its running agent.
fn check_juju_status(model: &Model) {
    let readme = readme_text();
    let quotes = [
        "active: MASTER 10.0.0.100 (vrid 51)",
        "active: BACKUP, VIP on k8s-vip/0 (vrid 51)",
    ];
    for q in quotes {
        assert!(
            readme.contains(&format!("`{q}`")),
            "the README no longer quotes `{q}`; update this test"
        );
    }
    let vrid = k8s_vip::charm::vrid::derived_base("test", APP);
    let want = |q: &str| {
        q.replace("10.0.0.100", LAB_VIP)
            .replace("vrid 51", &format!("vrid {vrid}"))
    };
    // The agents write their state file a moment after a transition.
    let deadline = Instant::now() + Duration::from_secs(10);
    for (i, u) in model.units().iter().enumerate() {
        let expected = want(quotes[usize::from(i > 0)]);
        loop {
            model.run_hook(u, "update-status").assert_success();
            let (state, message) = unit_status(model, u);
            let got = format!("{state}: {message}");
            if got == expected {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "juju status of {u}: `{got}`, the README says `{expected}`"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// As root: each block's `juju run` lines, in order, against real agents:
/// `status` reports the unit's role, `failover` (on the holder, as the README
/// says) moves the VIP to the unit it names, `pause` releases the VIP and
/// says so in the unit status, `resume` brings the unit back.
#[test]
fn juju_run_lines_work_against_real_agents() {
    if !support::netns::require_root() {
        return;
    }
    for (b, block) in run_blocks().into_iter().enumerate() {
        let (lab, model) = live_deploy(&format!("rd{b}"));
        let index = |unit: &str| model.units().iter().position(|u| u == unit);
        // The highest priority (unit 0) holds the VIP once peers settled.
        let settled = || {
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if lab.holders(LAB_VIP) == vec![0] {
                    return true;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            false
        };
        assert!(
            settled(),
            "VIP holders never settled on unit 0: {:?}",
            lab.holders(LAB_VIP)
        );
        check_juju_status(&model);
        for (cmd, unit, action, params) in block {
            let i = index(&unit).unwrap_or_else(|| panic!("{}: no unit {unit}", at(&cmd)));
            let holder = single_holder(&lab, Duration::from_secs(10));
            let a = model.run_action(&unit, &action, action_params(&cmd, &action, &params));
            a.assert_completed();
            match action.as_str() {
                "status" => {
                    let want = if holder == Some(i) {
                        "MASTER"
                    } else {
                        "BACKUP"
                    };
                    assert_eq!(
                        a.result("instances.v4-1.state").as_deref(),
                        Some(want),
                        "{}: {:?}",
                        at(&cmd),
                        a.results
                    );
                    // The results the README's Actions table lists.
                    for key in STATUS_RESULTS {
                        assert!(
                            a.result(key).is_some(),
                            "{}: no `{key}` in {:?}",
                            at(&cmd),
                            a.results
                        );
                    }
                }
                "failover" => {
                    assert_eq!(
                        holder,
                        Some(i),
                        "{}: run on a unit that does not hold the VIP",
                        at(&cmd)
                    );
                    let hold = params
                        .iter()
                        .find(|(k, _)| k == "hold")
                        .map_or("60", |(_, v)| v.as_str());
                    assert_eq!(a.result("hold-s").as_deref(), Some(hold), "{}", at(&cmd));
                    assert!(a.result("took-ms").is_some(), "{}: no took-ms", at(&cmd));
                    let new = a.result("new-master").unwrap_or_default();
                    let j =
                        index(&new).unwrap_or_else(|| panic!("{}: new-master {new:?}", at(&cmd)));
                    assert_ne!(i, j, "{}", at(&cmd));
                    assert_eq!(
                        single_holder(&lab, Duration::from_secs(5)),
                        Some(j),
                        "{}",
                        at(&cmd)
                    );
                }
                "pause" => {
                    let (state, message) = unit_status(&model, &unit);
                    assert_eq!(
                        (state.as_str(), message.as_str()),
                        ("maintenance", "paused, VIP released"),
                        "{}",
                        at(&cmd)
                    );
                    let other = single_holder(&lab, Duration::from_secs(5));
                    assert!(
                        other.is_some() && other != Some(i),
                        "{}: holder {other:?}",
                        at(&cmd)
                    );
                }
                "resume" => {
                    assert_ne!(unit_status(&model, &unit).0, "maintenance", "{}", at(&cmd));
                    assert!(!model.path(&unit, "/var/lib/k8s-vip/paused").exists());
                }
                other => panic!("{}: no expectation for action `{other}`", at(&cmd)),
            }
            eprintln!(
                "{}: completed; VIP now on unit(s) {:?}",
                at(&cmd),
                lab.holders(LAB_VIP)
            );
        }
        model.stop_services();
    }
}

// ===== the VRID one-liner =====

#[test]
fn vrid_one_liner_agrees_with_the_charm() {
    let cmds = commands_of(|k| matches!(k, Kind::VridOneLiner { .. }));
    assert_eq!(cmds.len(), 1, "expected the one VRID one-liner");
    for (cmd, kind) in cmds {
        let Kind::VridOneLiner { script, name } = kind else {
            continue;
        };
        for full in [
            name.as_str(),
            "test/k8s-vip",
            "prod/vip-east",
            "modèle/k8s-vip",
            "a/b",
        ] {
            let out = Command::new("python3")
                .args(["-c", &script, full])
                .output()
                .expect("python3 (from scripts/install-deps)");
            assert!(
                out.status.success(),
                "{}: {}",
                at(&cmd),
                String::from_utf8_lossy(&out.stderr)
            );
            let (model, app) = full.split_once('/').unwrap_or((full, ""));
            assert_eq!(
                String::from_utf8_lossy(&out.stdout).trim(),
                k8s_vip::charm::vrid::derived_base(model, app).to_string(),
                "{}: differs from the charm for {full}",
                at(&cmd)
            );
        }
    }
}

// ===== the agent config example and `k8s-vip agent --check` =====

/// The README's agent config example (its one YAML block).
fn agent_example() -> String {
    readme::fenced_blocks(&readme_text())
        .into_iter()
        .find(|b| b.info == "yaml" && b.text().contains("instances:"))
        .map(|b| b.text() + "\n")
        .expect("the README's agent config example")
}

/// The mistakes whose errors the README lists, in its order: each is one
/// edit of the example (old text, new text).
const DOCUMENTED_MISTAKES: &[(&str, &str)] = &[
    (
        "{repeat: 5, interval-ms: 100,",
        "{repeat: 5, intervl-ms: 100,",
    ),
    ("vrid: 51", "vrid: 0"),
    ("interface: eth0", "interface: eth9"),
];

/// The README's error lines for the documented mistakes (the block of
/// `k8s-vip: error:` lines after the `--check` example).
fn documented_errors() -> Vec<String> {
    readme::fenced_blocks(&readme_text())
        .into_iter()
        .find(|b| {
            !b.lines.is_empty()
                && b.lines
                    .iter()
                    .all(|(_, l)| l.starts_with("k8s-vip: error: instances["))
        })
        .map(|b| b.lines.into_iter().map(|(_, l)| l).collect())
        .expect("the README's block of agent config errors")
}

/// Runs `k8s-vip agent --config agent.yaml --check` on `yaml` in a fresh
/// directory, inside network namespace `ns` when given; returns (ok, stdout
/// + stderr).
fn agent_check(yaml: &str, ns: Option<&str>) -> (bool, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("agent.yaml"), yaml).expect("write");
    let args = [CHARM_BINARY, "agent", "--config", "agent.yaml", "--check"];
    let mut command = match ns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns]).args(args);
            c
        }
        None => {
            let mut c = Command::new(args[0]);
            c.args(&args[1..]);
            c
        }
    };
    let out = command
        .current_dir(dir.path())
        .output()
        .expect("run k8s-vip agent --check");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// The check's verdict on the unchanged example and on each documented
/// mistake, byte for byte. Mistakes found before the interface is looked up
/// run anywhere; the rest runs in a namespace with only `lo` and `eth0`, as
/// on the unit the README describes (root).
#[test]
fn agent_yaml_example_passes_check_and_documented_errors_are_exact() {
    let example = agent_example();
    let errors = documented_errors();
    assert_eq!(
        errors.len(),
        DOCUMENTED_MISTAKES.len(),
        "one error line per documented mistake"
    );
    let readme = readme_text();
    for (_, new) in DOCUMENTED_MISTAKES {
        let key = new.split(':').next().unwrap_or(new).trim_start_matches('{');
        assert!(
            readme.contains(key.split(", ").last().unwrap_or(key)),
            "README does not describe `{new}`"
        );
    }
    let check = commands_of(|k| matches!(k, Kind::AgentCheck));
    let [(check_cmd, _)] = check.as_slice() else {
        panic!("expected one `$ k8s-vip agent --config agent.yaml --check`");
    };
    let mutated = |(old, new): &(&str, &str)| {
        assert!(
            example.contains(old),
            "the example no longer contains `{old}`"
        );
        example.replacen(old, new, 1)
    };
    // Syntax and range errors come before any interface lookup.
    for (mistake, want) in DOCUMENTED_MISTAKES.iter().zip(&errors).take(2) {
        let (ok, out) = agent_check(&mutated(mistake), None);
        assert!(!ok, "`{}` accepted", mistake.1);
        assert_eq!(out.trim_end(), want, "README's error for `{}`", mistake.1);
    }
    if !support::netns::require_root() {
        return;
    }
    let lab = support::netns::Lab::new("rdc", 1);
    let ns = lab.unit(0).ns.clone();
    let (ok, out) = agent_check(&example, Some(&ns));
    assert!(ok, "{}: the example is refused: {out}", at(check_cmd));
    assert_eq!(
        out.trim_end(),
        check_cmd.output.join("\n"),
        "{}: output",
        at(check_cmd)
    );
    for (mistake, want) in DOCUMENTED_MISTAKES.iter().zip(&errors) {
        let (ok, out) = agent_check(&mutated(mistake), Some(&ns));
        assert!(!ok, "`{}` accepted", mistake.1);
        assert_eq!(out.trim_end(), want, "README's error for `{}`", mistake.1);
    }
}

// ===== CLI synopsis, render, status table =====

/// `k8s-vip SUB --help`.
fn help(sub: &str) -> String {
    let out = Command::new(CHARM_BINARY)
        .args([sub, "--help"])
        .output()
        .expect("k8s-vip --help");
    assert!(out.status.success(), "k8s-vip {sub} --help fails");
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// Each synopsis line names exactly the subcommand's flags, with the
/// defaults `--help` shows; `render` runs on a sample input.
#[test]
fn cli_synopsis_matches_help_and_render_runs() {
    let cmds = commands_of(|k| matches!(k, Kind::Synopsis { .. }));
    assert!(cmds.len() >= 6, "the README lost its CLI synopsis");
    for (cmd, kind) in &cmds {
        let Kind::Synopsis {
            sub,
            words,
            complete,
        } = kind
        else {
            continue;
        };
        if sub == "--help" {
            // `k8s-vip --help` "lists everything": every subcommand.
            let out = Command::new(CHARM_BINARY)
                .arg("--help")
                .output()
                .expect("k8s-vip --help");
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "{}", at(cmd));
            for sub in [
                "hook", "agent", "status", "failover", "pause", "resume", "render",
            ] {
                assert!(
                    text.contains(&format!("  {sub} ")),
                    "{}: no {sub} in:\n{text}",
                    at(cmd)
                );
            }
            continue;
        }
        let text = help(sub);
        let words: Vec<String> = words
            .iter()
            .map(|w| w.trim_matches(|c| c == '[' || c == ']').to_string())
            .collect();
        let documented: Vec<&String> = words.iter().filter(|w| w.starts_with("--")).collect();
        for (k, w) in words.iter().enumerate() {
            if !w.starts_with("--") {
                continue;
            }
            assert!(
                text.contains(&format!("{w} ")) || text.contains(&format!("{w}\n")),
                "{}: `k8s-vip {sub} --help` has no {w}",
                at(cmd)
            );
            // A literal value after a flag is its default.
            if let Some(v) = words.get(k + 1).filter(|v| !v.starts_with("--")) {
                if v.chars()
                    .any(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                    && sub != "render"
                {
                    assert!(
                        text.contains(&format!("[default: {v}]")),
                        "{}: {w} {v}, but --help says otherwise:\n{text}",
                        at(cmd)
                    );
                }
            }
        }
        // Every flag --help lists is in a synopsis line (but --help/-h).
        for flag in text
            .split_whitespace()
            .filter(|t| t.starts_with("--") && *t != "--help")
            .map(|t| t.trim_end_matches(',').to_string())
        {
            let flag = flag.split(['=', '<']).next().unwrap_or(&flag).to_string();
            assert!(
                !complete || documented.contains(&&flag),
                "{}: --help lists {flag}, the README does not",
                at(cmd)
            );
        }
        if sub == "render" {
            render_sample(cmd);
        }
    }
}

/// `k8s-vip render --inputs inputs.json --out DIR` on a sample `Inputs`.
fn render_sample(cmd: &CommandLine) {
    let dir = tempfile::tempdir().expect("tempdir");
    let inputs = json!({
        "hook": "config-changed", "unit": "k8s-vip/0", "app": APP, "model": "test",
        "config": {"virtual-ip": QUICK_START_VIP},
        "network": {"interfaces": [{"name": "eth0", "addrs": [{"addr": "10.0.0.11", "prefix": 24}]}],
                    "ingress": ["10.0.0.11"]},
        "peers": [{"unit": "k8s-vip/1", "data": {"address": "10.0.0.12"}}]
    });
    std::fs::write(dir.path().join("inputs.json"), inputs.to_string()).expect("write");
    let words = shell_words(&cmd.text).expect("words");
    let args: Vec<&str> = words[1..]
        .iter()
        .map(|w| if w == "DIR" { "out" } else { w.as_str() })
        .collect();
    let out = Command::new(CHARM_BINARY)
        .args(&args)
        .current_dir(dir.path())
        .output()
        .expect("k8s-vip render");
    assert!(
        out.status.success(),
        "{}: {}",
        at(cmd),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        dir.path().join("out/etc/k8s-vip/agent.yaml").is_file(),
        "{}: no agent.yaml",
        at(cmd)
    );
    assert!(
        stdout
            .lines()
            .last()
            .is_some_and(|l| l.starts_with("status: ")),
        "{}: {stdout}",
        at(cmd)
    );
}

/// The README's status document (its JSON block with `instances`).
fn status_document() -> Value {
    readme::fenced_blocks(&readme_text())
        .into_iter()
        .filter(|b| b.info == "json")
        .find_map(|b| {
            serde_json::from_str::<Value>(&b.text())
                .ok()
                .filter(|v| v.get("instances").is_some())
        })
        .expect("the README's status document")
}

/// `$ k8s-vip status` prints exactly the README's table when the agent
/// answers with the README's status document, and `--json` gives it back.
#[test]
fn status_table_is_what_the_cli_prints_for_the_documented_document() {
    let cmds = commands_of(|k| matches!(k, Kind::StatusTable));
    assert!(!cmds.is_empty());
    let doc = status_document();
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("agent.sock");
    let listener = UnixListener::bind(&socket).expect("bind");
    let mut reply = doc.clone();
    reply["ok"] = json!(true);
    let reply = reply.to_string() + "\n";
    let runs = cmds.len() + 1;
    let server = std::thread::spawn(move || {
        for _ in 0..runs {
            let Ok((stream, _)) = listener.accept() else {
                return;
            };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut line = String::new();
            if BufReader::new(&stream).read_line(&mut line).is_ok() {
                let _ = (&stream).write_all(reply.as_bytes());
            }
        }
    });
    for (cmd, _) in &cmds {
        let out = Command::new(CHARM_BINARY)
            .args(["status", "--socket"])
            .arg(&socket)
            .output()
            .expect("k8s-vip status");
        assert!(
            out.status.success(),
            "{}: {}",
            at(cmd),
            String::from_utf8_lossy(&out.stderr)
        );
        let got: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.trim_end().to_string())
            .collect();
        let want: Vec<String> = cmd
            .output
            .iter()
            .map(|l| l.trim_end().to_string())
            .collect();
        assert_eq!(got, want, "{}: the README shows another table", at(cmd));
    }
    let out = Command::new(CHARM_BINARY)
        .args(["status", "--json", "--socket"])
        .arg(&socket)
        .output()
        .expect("k8s-vip status --json");
    let printed: Value = serde_json::from_slice(&out.stdout).expect("status --json prints JSON");
    assert_eq!(
        printed, doc,
        "status --json does not print the documented document"
    );
    let _ = server.join();
}

// ===== the simulated model example =====

/// The README's Rust example, compiled: the body between the markers must be
/// the README's block (after its `mod support;` / `use` lines, which head this
/// file), and it runs.
#[test]
#[allow(unused_variables)]
#[rustfmt::skip]
fn model_api_example() {
    // README example begin
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
    // README example end

    let this = include_str!("readme_commands.rs");
    let body: Vec<&str> = this
        .lines()
        .skip_while(|l| l.trim() != "// README example begin")
        .skip(1)
        .take_while(|l| l.trim() != "// README example end")
        .map(|l| l.strip_prefix("    ").unwrap_or(l))
        .collect();
    let header = "mod support;\nuse support::juju::Model;\n";
    assert!(this.contains(&format!("\n{header}")), "this file must start with the example's header");
    let block = readme::fenced_blocks(&readme_text())
        .into_iter()
        .find(|b| b.info == "rust")
        .expect("the README's Rust example")
        .text();
    assert_eq!(block, format!("{header}\n{}", body.join("\n")), "README's Rust example differs from the compiled one in tests/readme_commands.rs");
}

// ===== commands quoted in the prose =====

/// What a cargo command names exists: its test file (and test function),
/// bench target, library module or fuzz target; a cargo command naming no
/// target is one `make test` / `make charm` runs, with the README's flags.
fn check_cargo(cmd: &CommandLine, words: &[String], make_lines: &[String]) {
    let root = Path::new(SOURCE_DIR);
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("Cargo.toml");
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    let named = |flag: &str| {
        w.iter()
            .position(|x| *x == flag)
            .and_then(|i| w.get(i + 1))
            .copied()
            .filter(|x| !is_placeholder(x))
    };
    match w.as_slice() {
        ["fuzz", "run", target, ..] => assert!(
            root.join(format!("fuzz/fuzz_targets/{target}.rs"))
                .is_file(),
            "{}: no fuzz target {target}",
            at(cmd)
        ),
        ["install", "cargo-fuzz"] => {
            assert!(
                root.join("fuzz/Cargo.toml").is_file(),
                "{}: no fuzz/",
                at(cmd)
            )
        }
        _ if named("--test").is_some() => {
            let test = named("--test").unwrap_or_default();
            let file = root.join(format!("tests/{test}.rs"));
            let text = std::fs::read_to_string(&file)
                .unwrap_or_else(|_| panic!("{}: no tests/{test}.rs", at(cmd)));
            // A filter after the target names a test function.
            let filter = w
                .iter()
                .skip_while(|x| **x != test)
                .nth(1)
                .filter(|x| !x.starts_with('-'));
            if let Some(f) = filter {
                assert!(
                    text.contains(&format!("fn {f}")),
                    "{}: tests/{test}.rs has no fn {f}",
                    at(cmd)
                );
            }
        }
        _ if named("--bench").is_some() => {
            let bench = named("--bench").unwrap_or_default();
            assert!(
                manifest.contains(&format!("name = \"{bench}\"")),
                "{}: Cargo.toml has no bench {bench}",
                at(cmd)
            );
            // `-- SUBCOMMAND ...`: the bench program knows it.
            if let Some(sub) = w.iter().skip_while(|x| **x != "--").nth(1) {
                let main = std::fs::read_to_string(root.join("bench/main.rs")).unwrap_or_default();
                assert!(
                    main.contains(&format!("Some(\"{sub}\")")),
                    "{}: the bench has no `{sub}`",
                    at(cmd)
                );
            }
        }
        ["test", "--lib", module] => {
            let dir = module.trim_end_matches("::");
            assert!(
                root.join("src").join(dir).is_dir(),
                "{}: no src/{dir}",
                at(cmd)
            );
        }
        // `cargo test --test NAME`, `cargo test FILTER`: how to run any one.
        ["test", "--test", name] | ["test", name] if is_placeholder(name) => {}
        [sub, flags @ ..] => {
            let prefix = format!("cargo {sub}");
            let line = make_lines.iter().find(|l| l.starts_with(&prefix));
            let Some(line) = line else {
                panic!(
                    "{}: neither `make test` nor `make charm` runs `{prefix}`",
                    at(cmd)
                );
            };
            let run: Vec<&str> = line.split_whitespace().collect();
            for f in flags {
                assert!(
                    run.contains(f),
                    "{}: make runs `{line}`, without {f}",
                    at(cmd)
                );
            }
        }
        [] => panic!("{}: empty cargo command", at(cmd)),
    }
}

#[test]
fn commands_in_the_prose_name_what_exists() {
    let root = Path::new(SOURCE_DIR);
    let make_lines: Vec<String> = ["test", "charm"]
        .iter()
        .flat_map(|t| {
            String::from_utf8_lossy(&make_dry_run(&[t.to_string()]).stdout)
                .lines()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    let mut checked = 0;
    for (cmd, kind) in commands_of(|_| true) {
        match &kind {
            Kind::Cargo { words } => check_cargo(&cmd, words, &make_lines),
            Kind::AmbiguousIntegrate { a, b } => {
                let other = if a == APP { b } else { a };
                let meta = read_yaml("metadata.yaml");
                let matches = KUBERNETES_ENDPOINTS
                    .iter()
                    .filter(|(app, _, interface, role)| {
                        app == other
                            && ["requires", "provides"].iter().any(|r| {
                                r != role
                                    && meta[*r].as_object().is_some_and(|eps| {
                                        eps.values().any(|e| e["interface"] == json!(interface))
                                    })
                            })
                    })
                    .count();
                assert!(matches > 1, "{}: the README calls it ambiguous, but only {matches} pair(s) of endpoints match", at(&cmd));
            }
            Kind::Exec { program, args } => {
                // As the README's Lifecycle says: nothing is installed
                // before `virtual-ip` is valid, then the first hook does it.
                let model = Model::new(APP, 1);
                model.run_hook("k8s-vip/0", "install").assert_success();
                assert!(!model.path("k8s-vip/0", program).exists());
                model.set_config("virtual-ip", LAB_VIP);
                model
                    .run_hook("k8s-vip/0", "config-changed")
                    .assert_success();
                assert!(
                    model.path("k8s-vip/0", program).is_file(),
                    "{}: install puts no binary at {program}",
                    at(&cmd)
                );
                let sub = args.first().map(String::as_str).unwrap_or("--help");
                let out = Command::new(CHARM_BINARY)
                    .args([sub, "--help"])
                    .output()
                    .expect("run");
                assert!(out.status.success(), "{}: no subcommand {sub}", at(&cmd));
            }
            Kind::Charmcraft { sub } => match sub.as_str() {
                "pack" => {
                    let yaml = read_yaml("charmcraft.yaml");
                    let dump = yaml["parts"]
                        .as_object()
                        .is_some_and(|p| p.values().any(|part| part["plugin"] == "dump"));
                    assert!(dump, "{}: charmcraft.yaml has no dump part", at(&cmd));
                }
                "analyse" => {
                    let t = std::fs::read_to_string(root.join("tests/packaging.rs"))
                        .unwrap_or_default();
                    assert!(
                        t.contains("\"analyse\""),
                        "{}: tests/packaging.rs runs no charmcraft analyse",
                        at(&cmd)
                    );
                }
                other => panic!("{}: no check for charmcraft {other}", at(&cmd)),
            },
            Kind::Script { path } => {
                let meta = std::fs::metadata(root.join(path))
                    .unwrap_or_else(|_| panic!("{}: no {path}", at(&cmd)));
                if path.starts_with("scripts/") {
                    use std::os::unix::fs::PermissionsExt;
                    assert!(
                        meta.permissions().mode() & 0o111 != 0,
                        "{}: {path} is not executable",
                        at(&cmd)
                    );
                }
            }
            Kind::Systemd { unit, file } => {
                if let Some(unit) = unit {
                    let name = unit.trim_end_matches(".service");
                    assert!(
                        root.join(format!("templates/{name}.service")).is_file(),
                        "{}: the charm installs no unit {name}.service (templates/)",
                        at(&cmd)
                    );
                }
                if let Some(file) = file {
                    assert!(root.join(file).is_file(), "{}: no {file}", at(&cmd));
                }
            }
            Kind::Setting { name } => {
                let found = ["src", "tests", "bench", "scripts"].iter().any(|d| {
                    Command::new("grep")
                        .args(["-rqF", name.as_str()])
                        .arg(root.join(d))
                        .status()
                        .is_ok_and(|s| s.success())
                });
                assert!(
                    found,
                    "{}: nothing in this repository reads {name}",
                    at(&cmd)
                );
            }
            // Run by the other tests, or (External) nothing of ours to run.
            _ => continue,
        }
        checked += 1;
    }
    eprintln!("{checked} commands quoted in the prose checked");
}

// ===== reference tables =====

/// The README's Markdown table rows whose first cell is `` `NAME` ``:
/// name -> the other cells.
fn table_rows(section: &str) -> BTreeMap<String, Vec<String>> {
    let text = readme_text();
    let start = text
        .find(&format!("\n## {section}\n"))
        .unwrap_or_else(|| panic!("the README has no section {section}"));
    let body = &text[start + 1..];
    let end = body[3..].find("\n## ").map_or(body.len(), |e| e + 3);
    body[..end]
        .lines()
        .filter_map(|l| {
            let cells: Vec<String> = l
                .trim()
                .strip_prefix('|')?
                .strip_suffix('|')?
                .split(" | ")
                .map(|c| c.trim().to_string())
                .collect();
            let name = cells
                .first()?
                .strip_prefix('`')?
                .strip_suffix('`')?
                .to_string();
            Some((name, cells[1..].to_vec()))
        })
        .collect()
}

/// The Options, Actions and Relations tables name every option (with its
/// config.yaml default), action (with its parameters and their defaults)
/// and endpoint (with its interface), and nothing else.
#[test]
fn reference_tables_match_config_actions_and_metadata() {
    let options = table_rows("Options");
    let config = read_yaml("config.yaml");
    let declared = config["options"].as_object().cloned().unwrap_or_default();
    assert_eq!(
        options.keys().collect::<Vec<_>>(),
        declared.keys().collect::<Vec<_>>(),
        "the Options table and config.yaml list different options"
    );
    for (name, spec) in &declared {
        let shown = options[name][0].trim_matches('`').to_string();
        let default = match &spec["default"] {
            Value::String(s) if s.is_empty() => "\"\"".to_string(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        assert_eq!(shown, default, "Options table: default of {name}");
    }

    let actions = table_rows("Actions");
    let schema = read_yaml("actions.yaml");
    let declared = schema.as_object().cloned().unwrap_or_default();
    assert_eq!(
        actions.keys().collect::<Vec<_>>(),
        declared.keys().collect::<Vec<_>>(),
        "the Actions table and actions.yaml list different actions"
    );
    for (name, spec) in &declared {
        let cell = &actions[name][0];
        for (param, p) in spec["params"].as_object().cloned().unwrap_or_default() {
            assert!(
                cell.contains(&format!("`{param}`")),
                "Actions table: {name} lacks `{param}`"
            );
            if let Some(d) = p.get("default") {
                assert!(
                    cell.contains(&format!("default {d}")),
                    "Actions table: {name} {param} default {d}"
                );
            }
        }
        if spec.get("params").is_none() {
            assert_eq!(cell, "—", "Actions table: {name} takes no parameters");
        }
    }

    let relations = table_rows("Relations");
    let meta = read_yaml("metadata.yaml");
    let mut endpoints = BTreeMap::new();
    for section in ["requires", "provides", "peers"] {
        for (name, spec) in meta[section].as_object().cloned().unwrap_or_default() {
            endpoints.insert(
                name,
                spec["interface"].as_str().unwrap_or_default().to_string(),
            );
        }
    }
    assert_eq!(
        relations.keys().collect::<Vec<_>>(),
        endpoints.keys().collect::<Vec<_>>(),
        "the Relations table and metadata.yaml list different endpoints"
    );
    for (name, interface) in &endpoints {
        assert!(
            relations[name][0].contains(interface.as_str()),
            "Relations table: {name} is interface {interface}, the table says {}",
            relations[name][0]
        );
    }
}
