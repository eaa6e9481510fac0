//! The probes themselves: tcp connect, http(s) GET expecting 2xx, exec exit
//! code, each bounded by its timeout and answering with a one-line reason.

use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::agent::config::CheckKind;

/// Runs one probe; `Err` carries a one-line reason.
pub fn probe(kind: &CheckKind, timeout: Duration) -> Result<(), String> {
    match kind {
        CheckKind::Tcp(addr) => TcpStream::connect_timeout(addr, timeout)
            .map(|_| ())
            .map_err(|e| format!("connect {addr}: {e}")),
        CheckKind::Http { url, insecure_tls } => http_get(&http_agent(*insecure_tls, timeout), url),
        CheckKind::Exec(argv) => exec(argv, timeout),
    }
}

/// An HTTP agent with the check's TLS choice and timeout, no proxy.
pub(super) fn http_agent(insecure_tls: bool, timeout: Duration) -> ureq::Agent {
    let tls = ureq::tls::TlsConfig::builder()
        .disable_verification(insecure_tls)
        .build();
    let config = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .proxy(None)
        .tls_config(tls)
        .build();
    ureq::Agent::new_with_config(config)
}

/// GET `url`, healthy on 2xx.
pub(super) fn http_get(agent: &ureq::Agent, url: &str) -> Result<(), String> {
    match agent.get(url).call() {
        Ok(resp) if resp.status().is_success() => Ok(()),
        Ok(resp) => Err(format!("GET {url}: HTTP {}", resp.status().as_u16())),
        Err(e) => Err(format!("GET {url}: {e}")),
    }
}

/// Runs `argv`, healthy on exit 0, killed after `timeout`.
fn exec(argv: &[String], timeout: Duration) -> Result<(), String> {
    let (prog, args) = argv.split_first().ok_or("empty command")?;
    let mut child = Command::new(prog)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run {prog}: {e}"))?;
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(format!("{prog} exited with {status}")),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{prog} timed out after {} ms", timeout.as_millis()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(format!("waiting for {prog}: {e}")),
        }
    }
}
