//! Commands quoted in the prose and the rarer code-block commands: what each
//! names exists (cargo targets and test functions, scripts, systemd units,
//! settings the code reads, charmcraft steps, the binary `juju exec` runs),
//! and `juju integrate` without endpoints is as ambiguous as the docs say.

use std::path::Path;
use std::process::Command;

use serde_json::json;

use crate::commands::{at, commands_of, is_placeholder, read_yaml, Kind};
use crate::integrate::KUBERNETES_ENDPOINTS;
use crate::make_deploy::make_dry_run;
use crate::markdown::CommandLine;
use crate::run::LAB_VIP;
use crate::support::juju::{Model, CHARM_BINARY, SOURCE_DIR};
use crate::APP;

/// What a cargo command names exists: its test file (and test function),
/// bench target, library module or fuzz target; a cargo command naming no
/// target is one `make test` / `make charm` runs, with the flags the docs show.
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
                assert!(
                    matches > 1,
                    "{}: the docs call it ambiguous, but only {matches} pair(s) of endpoints match",
                    at(&cmd)
                );
            }
            Kind::Exec { program, args } => {
                // As the lifecycle reference says: nothing is installed
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
