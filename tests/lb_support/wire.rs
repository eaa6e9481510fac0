//! The loadbalancer v1 response rules of loadbalancer-interface 1.2.1
//! (`schemas/v1.py`), in Rust for property tests and the fuzz target's
//! twin: what the library's `Response` schema accepts. Also the control
//! plane's request, a haproxy.cfg section reader and `haproxy -c`.
//! Included with `#[path = "lb_support/wire.rs"] mod wire;`.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// The request fields of the library's `Request` schema: the only keys
/// `error_fields` may have.
pub const REQUEST_FIELDS: &[&str] = &[
    "id",
    "name",
    "protocol",
    "backends",
    "port_mapping",
    "algorithm",
    "sticky",
    "health_checks",
    "public",
    "tls_termination",
    "tls_cert",
    "tls_key",
    "ingress_address",
    "sent_hash",
];

/// kubernetes-control-plane's api-server-external request, as its library dumps it.
pub fn control_plane_external() -> String {
    r#"{"algorithm": [], "backends": [], "health_checks": [{"interval": 30, "path": "/livez", "port": 6443, "protocol": "http", "retries": 3}], "id": "0d5b1b0f3a1c4e1b9a4c1e5d6f7a8b9c", "ingress_address": null, "name": "api-server-external", "port_mapping": {"443": 6443}, "protocol": "tcp", "public": true, "sent_hash": "9a0b5d0e6c2f4a3b8e1d7c6b5a4f3e2d", "sticky": false, "tls_cert": null, "tls_key": null, "tls_termination": false}"#.to_string()
}

/// What the library's Response schema would refuse in `answer` (empty: it
/// reads it), and whether the answer is complete for `request_raw`.
pub fn response_problems(answer: &Value, request_raw: &str) -> Vec<String> {
    let mut out = Vec::new();
    let Some(obj) = answer.as_object() else {
        return vec!["not an object".into()];
    };
    let text = |k: &str| match obj.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!("{k} is not a string: {other}")),
    };
    let (error, message, address) = match (text("error"), text("error_message"), text("address")) {
        (Ok(e), Ok(m), Ok(a)) => (e, m, a),
        (e, m, a) => {
            out.extend([e.err(), m.err(), a.err()].into_iter().flatten());
            return out;
        }
    };
    if let Some(e) = &error {
        if e != "unsupported" && e != "provider_error" {
            out.push(format!("Invalid enum member {e}"));
        }
    }
    let fields = match obj.get("error_fields") {
        None | Some(Value::Null) => serde_json::Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(other) => {
            out.push(format!("error_fields is not a dict: {other}"));
            serde_json::Map::new()
        }
    };
    for (k, v) in &fields {
        if !REQUEST_FIELDS.contains(&k.as_str()) {
            out.push(format!("Unknown field: {k}"));
        }
        if !v.is_string() {
            out.push(format!("error_fields[{k}] is not a string"));
        }
    }
    if error.is_none() && address.as_deref().unwrap_or("").is_empty() {
        out.push("address required on success".into());
    }
    if error.is_some() && message.as_deref().unwrap_or("").is_empty() && fields.is_empty() {
        out.push("error_message or error_fields required on failure".into());
    }
    let sent = serde_json::from_str::<Value>(request_raw)
        .ok()
        .and_then(|r| r.get("sent_hash").cloned());
    if let Some(Value::String(sent)) = sent {
        if obj.get("received_hash") != Some(&Value::String(sent.clone())) {
            out.push(format!("received_hash is not the request's {sent}"));
        }
    }
    out
}

/// The `frontend NAME` section and its `backend NAME` section of a
/// haproxy.cfg, as text (None when absent).
pub fn frontend_block(cfg: &str, name: &str) -> Option<String> {
    let mut out = String::new();
    let mut inside = false;
    let mut found = false;
    for line in cfg.lines() {
        let header = !line.starts_with(' ') && !line.starts_with('#') && !line.trim().is_empty();
        if header {
            inside = line == format!("frontend {name}") || line == format!("backend {name}");
            found |= inside;
        }
        if inside {
            out.push_str(line);
            out.push('\n');
        }
    }
    found.then_some(out)
}

/// `haproxy -c` on `cfg`; HAProxy's words when it refuses it.
pub fn haproxy_check(haproxy: &Path, cfg: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let path = dir.path().join("haproxy.cfg");
    std::fs::write(&path, cfg).map_err(|e| e.to_string())?;
    let out = Command::new(haproxy)
        .arg("-c")
        .arg("-f")
        .arg(&path)
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("{cfg}\n{}", String::from_utf8_lossy(&out.stderr)))
    }
}
