//! `haproxy -c -f <new file>`: every haproxy.cfg the planner would write is
//! first checked by HAProxy itself. A file HAProxy refuses never replaces
//! the running one (the next restart would fail on every unit and the VIP
//! would have nowhere to go).
//!
//! This is the one place the HAProxy planner runs a program: the binary to
//! check with is part of what the hook gathered
//! ([`crate::charm::types::LbWorld::haproxy_binary`]); with none (HAProxy not
//! installed yet, or a pure test) nothing is run and the file is taken as
//! rendered. The file checked is a private temporary copy, removed after.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// Checks `cfg` with `haproxy -c`; the error is HAProxy's own words.
pub fn check_config(haproxy: &Path, cfg: &str) -> Result<(), String> {
    let file = TempCfg::write(cfg).map_err(|e| format!("could not write a file to check: {e}"))?;
    let out = Command::new(haproxy)
        .arg("-c")
        .arg("-f")
        .arg(&file.0)
        .output()
        .map_err(|e| format!("could not run {}: {e}", haproxy.display()))?;
    if out.status.success() {
        return Ok(());
    }
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    Err(summary(&text, &file.0))
}

/// HAProxy's ALERT lines, without the temporary file's name, bounded.
fn summary(text: &str, path: &Path) -> String {
    let path = path.to_string_lossy();
    let alerts: Vec<String> = text
        .lines()
        .filter(|l| l.contains("ALERT"))
        .map(|l| without_pid(&l.replace(path.as_ref(), "haproxy.cfg")))
        .collect();
    let mut s = if alerts.is_empty() {
        "haproxy -c refused the configuration".to_string()
    } else {
        format!("haproxy -c: {}", alerts.join(" | "))
    };
    if s.len() > 600 {
        let mut cut = 600;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str("...");
    }
    s
}

/// An ALERT line without HAProxy's `(PID)`, so the same refusal reads the
/// same in every hook (the answer does not churn).
fn without_pid(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(open) = rest.find('(') {
        let (before, after) = rest.split_at(open);
        out.push_str(before);
        match after[1..].find(')') {
            Some(close) if close > 0 && after[1..=close].chars().all(|c| c.is_ascii_digit()) => {
                rest = after[close + 2..].trim_start();
            }
            _ => {
                out.push('(');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A private temporary copy of a config, removed on drop.
struct TempCfg(PathBuf);

impl TempCfg {
    fn write(cfg: &str) -> std::io::Result<TempCfg> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "k8s-vip-haproxy-check-{}-{}.cfg",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(name);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?;
        let file = TempCfg(path);
        f.write_all(cfg.as_bytes())?;
        Ok(file)
    }
}

impl Drop for TempCfg {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
