//! Running FRR's and iproute2's command-line tools from a hook with a time
//! bound: a hung daemon or a slow `ip` must not hang the hook. Its own file so
//! that both the world reader and the router probes use it without importing
//! each other.

use std::io::Read as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs `program` and returns its standard output, or why it failed; killed
/// after `timeout` (a hung daemon must not hang the hook).
pub fn run_bounded(program: &str, args: &[&str], timeout: Duration) -> Result<String, String> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) | Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{program} gave no answer in {} s",
                    timeout.as_secs()
                ));
            }
        }
    };
    let mut out = String::new();
    let mut err = String::new();
    if let Some(mut o) = child.stdout.take() {
        let _ = o.read_to_string(&mut out);
    }
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    if status.success() {
        Ok(out)
    } else {
        let said = format!("{err}{out}");
        let first = said.lines().map(str::trim).find(|l| !l.is_empty());
        Err(first.unwrap_or("failed").chars().take(200).collect())
    }
}
