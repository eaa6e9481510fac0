//! The CLI as the docs show it: each synopsis line names exactly the flags
//! and defaults of `--help`, `k8s-vip render` runs, and `k8s-vip status`
//! prints the docs' table for the docs' status document.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixListener;
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};

use crate::commands::{at, commands_of, Kind};
use crate::deployment::QUICK_START_VIP;
use crate::docs;
use crate::markdown::{shell_words, CommandLine};
use crate::support::juju::CHARM_BINARY;
use crate::APP;

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
    assert!(cmds.len() >= 6, "the docs lost the CLI synopsis");
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
                "{}: --help lists {flag}, the docs do not",
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

/// The docs' status document (their JSON block with `instances`).
fn status_document() -> Value {
    docs::blocks()
        .into_iter()
        .filter(|b| b.info == "json")
        .find_map(|b| {
            serde_json::from_str::<Value>(&b.text())
                .ok()
                .filter(|v| v.get("instances").is_some())
        })
        .expect("the docs' status document")
}

/// `$ k8s-vip status` prints exactly the docs' table when the agent
/// answers with the docs' status document, and `--json` gives it back.
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
        assert_eq!(got, want, "{}: the docs show another table", at(cmd));
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
