//! The agent's command line without root: `agent --check` validation messages
//! and the `status|failover|pause|resume` client against a fake agent socket.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixListener;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_k8s-vip");

fn run(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN).args(args).output().expect("run k8s-vip");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const GOOD: &str = "instances:\n  - name: api\n    interface: lo\n    vrid: 51\n    vips: [\"192.0.2.100/32\"]\n    garp: {repeat: 5, interval-ms: 100, refresh-s: 60}\n";

fn check(text: &str) -> (bool, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent.yaml");
    std::fs::write(&path, text).unwrap();
    run(&["agent", "--config", path.to_str().unwrap(), "--check"])
}

#[test]
fn check_accepts_a_good_config() {
    let (ok, out, err) = check(GOOD);
    assert!(ok, "{out}{err}");
    assert!(out.contains("OK (1 instance)"), "{out}");
}

#[test]
fn check_rejects_with_the_key_path() {
    for (from, to, want) in [
        (
            "interval-ms: 100",
            "intervl-ms: 100",
            "instances[0].garp.intervl-ms: unknown key",
        ),
        (
            "vrid: 51",
            "vrid: 0",
            "instances[0].vrid: 0 is out of range",
        ),
        (
            "interface: lo",
            "interface: nope0",
            "instances[0].interface: \"nope0\" does not exist",
        ),
        (
            "192.0.2.100/32",
            "2001:db8::100/64\", \"192.0.2.100/32",
            "instances[0].vips[1]: 192.0.2.100/32 is IPv4",
        ),
    ] {
        let (ok, out, err) = check(&GOOD.replace(from, to));
        assert!(!ok, "{to}: accepted\n{out}");
        assert!(err.contains(want), "{to}: got {err:?}, want {want:?}");
        assert!(err.starts_with("k8s-vip: error: "), "{err}");
    }
    let (ok, _, err) = run(&["agent", "--config", "/nonexistent/agent.yaml", "--check"]);
    assert!(
        !ok && err.contains("cannot read the agent config /nonexistent/agent.yaml"),
        "{err}"
    );
}

#[test]
fn client_says_agent_not_running() {
    for cmd in ["status", "failover", "pause", "resume"] {
        let (ok, _, err) = run(&[cmd, "--socket", "/nonexistent/agent.sock"]);
        assert!(!ok);
        assert!(
            err.contains("the k8s-vip agent is not running (no socket at /nonexistent/agent.sock)"),
            "{cmd}: {err}"
        );
    }
}

/// A one-shot fake agent answering each request with `reply`.
fn fake_agent(
    replies: Vec<&'static str>,
) -> (
    tempfile::TempDir,
    std::path::PathBuf,
    std::thread::JoinHandle<Vec<String>>,
) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let handle = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for reply in replies {
            let (s, _) = listener.accept().unwrap();
            let mut line = String::new();
            BufReader::new(&s).read_line(&mut line).unwrap();
            seen.push(line.trim().to_string());
            (&s).write_all(format!("{reply}\n").as_bytes()).unwrap();
        }
        seen
    });
    (dir, path, handle)
}

#[test]
fn status_table_and_json_from_the_agent() {
    let doc = r#"{"ok":true,"pid":7,"updated":"2026-11-26T12:00:00Z","paused":false,"instances":[{"name":"api","vrid":51,"version":3,"interface":"eth0","state":"MASTER","priority":100,"effective-priority":100,"address":"192.0.2.11","master":"192.0.2.11","vips":["192.0.2.100/24"],"advert-interval-ms":250,"transitions":3,"last-transition":"2026-11-26T11:59:00Z","last-transition-reason":"master down timer expired","checks":[],"foreign-routers":[]}]}"#;
    let (_d, sock, h) = fake_agent(vec![doc, doc]);
    let s = sock.to_str().unwrap();
    let (ok, out, err) = run(&["status", "--socket", s]);
    assert!(ok, "{err}");
    let mut lines = out.lines();
    assert!(lines.next().unwrap().starts_with("INSTANCE"), "{out}");
    let row = lines.next().unwrap();
    for cell in [
        "api",
        "51",
        "eth0",
        "MASTER",
        "100",
        "192.0.2.11",
        "192.0.2.100/24",
    ] {
        assert!(row.contains(cell), "{row}");
    }
    let (ok, out, _) = run(&["status", "--socket", s, "--json"]);
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["instances"][0]["state"], "MASTER");
    assert!(
        v.get("ok").is_none(),
        "--json prints the status document only"
    );
    assert_eq!(
        h.join().unwrap(),
        vec![r#"{"cmd":"status"}"#, r#"{"cmd":"status"}"#]
    );
}

#[test]
fn failover_pause_resume_send_the_contract_requests() {
    let (_d, sock, h) = fake_agent(vec![
        r#"{"ok":true,"stepped-down":["api"]}"#,
        r#"{"ok":false,"error":"not master of any instance; master is 192.0.2.12"}"#,
        r#"{"ok":true}"#,
        r#"{"ok":true}"#,
    ]);
    let s = sock.to_str().unwrap();
    let (ok, out, _) = run(&["failover", "--socket", s, "--hold", "30"]);
    assert!(
        ok && out.contains("stepped down from master of api"),
        "{out}"
    );
    let (ok, _, err) = run(&["failover", "--socket", s]);
    assert!(
        !ok && err.contains("not master of any instance; master is 192.0.2.12"),
        "{err}"
    );
    assert!(run(&["pause", "--socket", s]).0);
    assert!(run(&["resume", "--socket", s]).0);
    let seen: Vec<serde_json::Value> = h
        .join()
        .unwrap()
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        seen[0],
        serde_json::json!({"cmd": "step-down", "hold-s": 30})
    );
    assert_eq!(
        seen[1],
        serde_json::json!({"cmd": "step-down", "hold-s": 60})
    );
    assert_eq!(seen[2], serde_json::json!({"cmd": "pause"}));
    assert_eq!(seen[3], serde_json::json!({"cmd": "resume"}));
}
