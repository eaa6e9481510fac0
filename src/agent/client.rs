//! Client side of the agent's control socket: the `k8s-vip status|failover|pause|resume`
//! CLI and the charm's actions use it to talk to a running agent.
//!
//! Protocol (CONTRACTS.md): one JSON object per line each way over a Unix stream
//! socket; every reply carries `"ok": true|false` and, on failure, `"error"`.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::{json, Value};

/// How long the CLI waits for the agent to answer.
const CLI_TIMEOUT: Duration = Duration::from_secs(5);

/// Sends one request to the agent listening on `socket` and returns its reply.
///
/// Fails with "the k8s-vip agent is not running (no socket at PATH)" when nothing
/// listens there, so callers (CLI, charm actions) can show that to the operator.
/// A reply with `"ok": false` is returned as a value, not an error: the caller
/// decides how to present the agent's `error` text.
pub fn request(socket: &Path, request: &Value, timeout: Duration) -> anyhow::Result<Value> {
    let mut stream = match UnixStream::connect(socket) {
        Ok(s) => s,
        Err(err)
            if matches!(
                err.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            bail!(
                "the k8s-vip agent is not running (no socket at {})",
                socket.display()
            )
        }
        Err(err) => {
            return Err(err).with_context(|| {
                format!(
                    "cannot connect to the k8s-vip agent at {}",
                    socket.display()
                )
            })
        }
    };
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let mut line = serde_json::to_string(request)?;
    line.push('\n');
    stream
        .write_all(line.as_bytes())
        .with_context(|| format!("cannot send to the k8s-vip agent at {}", socket.display()))?;
    let mut reply = String::new();
    BufReader::new(&stream)
        .read_line(&mut reply)
        .with_context(|| {
            format!(
                "the k8s-vip agent at {} did not answer within {:?}",
                socket.display(),
                timeout
            )
        })?;
    if reply.trim().is_empty() {
        bail!(
            "the k8s-vip agent at {} closed the connection without answering",
            socket.display()
        );
    }
    serde_json::from_str(reply.trim()).with_context(|| {
        format!(
            "the k8s-vip agent sent a reply that is not JSON: {}",
            reply.trim()
        )
    })
}

/// Sends `req` and turns an `"ok": false` reply into an error carrying the agent's text.
fn call(socket: &Path, req: Value) -> anyhow::Result<Value> {
    let reply = request(socket, &req, CLI_TIMEOUT)?;
    if reply["ok"].as_bool() == Some(true) {
        Ok(reply)
    } else {
        let msg = reply["error"]
            .as_str()
            .unwrap_or("the agent refused the request without a reason");
        bail!("{msg}")
    }
}

/// `k8s-vip status`: a table of the instances, or the status document with `--json`.
pub fn status(socket: &Path, json: bool) -> anyhow::Result<()> {
    let mut reply = call(socket, json!({"cmd": "status"}))?;
    if let Some(map) = reply.as_object_mut() {
        map.remove("ok");
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&reply)?);
    } else {
        print!("{}", render_table(&reply));
    }
    Ok(())
}

/// Renders the status document as a human-readable table.
pub fn render_table(doc: &Value) -> String {
    let mut rows: Vec<[String; 8]> = vec![[
        "INSTANCE".into(),
        "VRID".into(),
        "IFACE".into(),
        "STATE".into(),
        "PRIO".into(),
        "MASTER".into(),
        "VIPS".into(),
        "CHECKS".into(),
    ]];
    for inst in doc["instances"].as_array().into_iter().flatten() {
        rows.push(table_row(inst));
    }
    let mut widths = [0usize; 8];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row.iter()) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    if doc["paused"].as_bool() == Some(true) {
        out.push_str("agent is PAUSED (k8s-vip resume to take part in elections again)\n");
    }
    for row in &rows {
        let line: Vec<String> = row
            .iter()
            .zip(widths.iter())
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out.push_str(&bfd_lines(doc));
    out
}

/// One line per BFD-enabled instance: each peer's session state and the
/// detection time in force, e.g. `api BFD: 192.0.2.12 up 60 ms, 192.0.2.13 down`.
fn bfd_lines(doc: &Value) -> String {
    let mut out = String::new();
    for inst in doc["instances"].as_array().into_iter().flatten() {
        let Some(peers) = inst["bfd"].as_array() else {
            continue;
        };
        let cells: Vec<String> = peers
            .iter()
            .map(|p| {
                let mut c = format!("{} {}", cell(&p["peer"]), cell(&p["state"]));
                if let Some(ms) = p["detection-ms"].as_f64() {
                    c.push_str(&format!(" {ms} ms"));
                }
                c
            })
            .collect();
        out.push_str(&format!(
            "{} BFD: {}\n",
            cell(&inst["name"]),
            cells.join(", ")
        ));
    }
    out
}

/// A JSON value as a table cell (`-` for null).
fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One instance's row of the status table.
fn table_row(inst: &Value) -> [String; 8] {
    let prio = if inst["priority"] == inst["effective-priority"] {
        cell(&inst["priority"])
    } else {
        format!(
            "{}/{}",
            cell(&inst["effective-priority"]),
            cell(&inst["priority"])
        )
    };
    let vips: Vec<String> = inst["vips"]
        .as_array()
        .into_iter()
        .flatten()
        .map(cell)
        .collect();
    let checks: Vec<String> = inst["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            // `reported: false`: no probe has answered yet; the check
            // counts as healthy meanwhile (documents without the key
            // come from older agents).
            let ok = if c["healthy"].as_bool() != Some(true) {
                "FAIL"
            } else if c["reported"] == false {
                "pending"
            } else {
                "ok"
            };
            format!("{} {}", ok, cell(&c["name"]))
        })
        .collect();
    let or_dash = |v: Vec<String>, sep: &str| {
        if v.is_empty() {
            "-".into()
        } else {
            v.join(sep)
        }
    };
    [
        cell(&inst["name"]),
        cell(&inst["vrid"]),
        cell(&inst["interface"]),
        cell(&inst["state"]),
        prio,
        cell(&inst["master"]),
        or_dash(vips, ","),
        or_dash(checks, "; "),
    ]
}

/// `k8s-vip failover`: step down from master for `hold_s` seconds.
pub fn failover(socket: &Path, hold_s: u64, json: bool) -> anyhow::Result<()> {
    let reply = call(socket, json!({"cmd": "step-down", "hold-s": hold_s}))?;
    if json {
        println!("{reply}");
    } else {
        let names: Vec<String> = reply["stepped-down"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        println!(
            "stepped down from master of {}; not taking the VIP back for {hold_s} s",
            names.join(", ")
        );
    }
    Ok(())
}

/// `k8s-vip pause`.
pub fn pause(socket: &Path, json: bool) -> anyhow::Result<()> {
    let reply = call(socket, json!({"cmd": "pause"}))?;
    if json {
        println!("{reply}");
    } else {
        println!("paused: VIPs released; stays paused across restarts until `k8s-vip resume`");
    }
    Ok(())
}

/// `k8s-vip resume`.
pub fn resume(socket: &Path, json: bool) -> anyhow::Result<()> {
    let reply = call(socket, json!({"cmd": "resume"}))?;
    if json {
        println!("{reply}");
    } else {
        println!("resumed: taking part in elections again");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_socket_says_agent_not_running() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nope.sock");
        let err = request(&path, &json!({"cmd": "status"}), Duration::from_secs(1)).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "the k8s-vip agent is not running (no socket at {})",
                path.display()
            )
        );
    }

    #[test]
    fn stale_socket_says_agent_not_running() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stale.sock");
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        let err = request(&path, &json!({"cmd": "status"}), Duration::from_secs(1)).unwrap_err();
        assert!(err.to_string().contains("not running"), "{err}");
    }

    #[test]
    fn one_line_each_way() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.sock");
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let server = std::thread::spawn(move || {
            let (s, _) = listener.accept().unwrap();
            let mut line = String::new();
            BufReader::new(&s).read_line(&mut line).unwrap();
            let req: Value = serde_json::from_str(&line).unwrap();
            (&s).write_all(format!("{{\"ok\":true,\"echo\":{req}}}\n").as_bytes())
                .unwrap();
        });
        let reply = request(&path, &json!({"cmd": "status"}), Duration::from_secs(2)).unwrap();
        server.join().unwrap();
        assert_eq!(reply["echo"]["cmd"], "status");
    }

    #[test]
    fn table_shows_each_instance() {
        let doc = json!({"paused": false, "instances": [{"name": "api", "vrid": 51, "interface": "eth0",
            "state": "MASTER", "priority": 100, "effective-priority": 100, "master": "192.0.2.11",
            "vips": ["192.0.2.100/24"], "checks": [{"name": "tcp 127.0.0.1:6443", "healthy": true}]}]});
        let t = render_table(&doc);
        assert!(t.lines().nth(1).unwrap().starts_with("api "), "{t}");
        assert!(
            t.contains("MASTER") && t.contains("192.0.2.100/24") && t.contains("ok tcp"),
            "{t}"
        );
    }

    #[test]
    fn table_shows_bfd_peers_with_detection_time() {
        let doc = json!({"instances": [{"name": "api", "bfd": [
            {"peer": "192.0.2.12", "state": "up", "detection-ms": 60.0},
            {"peer": "192.0.2.13", "state": "none"}]}]});
        let t = render_table(&doc);
        assert!(
            t.contains("api BFD: 192.0.2.12 up 60 ms, 192.0.2.13 none"),
            "{t}"
        );
    }

    #[test]
    fn table_marks_a_check_that_has_not_reported_as_pending() {
        let doc = json!({"instances": [{"name": "api", "checks": [
            {"name": "tcp a", "healthy": true, "reported": false},
            {"name": "tcp b", "healthy": true, "reported": true},
            {"name": "tcp c", "healthy": false, "reported": true}]}]});
        let t = render_table(&doc);
        assert!(t.contains("pending tcp a"), "{t}");
        assert!(t.contains("ok tcp b"), "{t}");
        assert!(t.contains("FAIL tcp c"), "{t}");
    }
}
