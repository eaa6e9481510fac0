//! HAProxy's runtime API (the stats socket): a tiny client and a parser of
//! `show stat` into servers up/total per backend, for the unit status
//! ("3/3 API servers up") and the `status` action.

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use super::model::LoadBalancerModel;
use crate::charm::types::BackendHealth;

/// Why the runtime API could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    /// The socket could not be reached (HAProxy not running?).
    #[error("HAProxy stats socket {path}: {source}")]
    Io {
        /// The socket path.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The answer is not `show stat` CSV.
    #[error("HAProxy `show stat` output not understood: {0}")]
    Parse(String),
}

/// Sends one command to the runtime API at `socket` and returns the answer
/// (the socket is in non-interactive mode: HAProxy closes after answering).
pub fn query(socket: &Path, command: &str, timeout: Duration) -> Result<String, StatsError> {
    let io = |source| StatsError::Io {
        path: socket.display().to_string(),
        source,
    };
    let mut stream = UnixStream::connect(socket).map_err(io)?;
    stream.set_read_timeout(Some(timeout)).map_err(io)?;
    stream.set_write_timeout(Some(timeout)).map_err(io)?;
    stream
        .write_all(format!("{}\n", command.trim_end()).as_bytes())
        .map_err(io)?;
    let mut out = String::new();
    stream.read_to_string(&mut out).map_err(io)?;
    Ok(out)
}

/// Reads `show stat` from the socket and summarizes it.
pub fn backend_health(socket: &Path, timeout: Duration) -> Result<Vec<BackendHealth>, StatsError> {
    parse_show_stat(&query(socket, "show stat", timeout)?)
}

/// Parses `show stat` CSV into per-backend up/total counts. Columns are found
/// by the header line, so extra columns in newer HAProxy do not matter.
pub fn parse_show_stat(csv: &str) -> Result<Vec<BackendHealth>, StatsError> {
    let mut lines = csv.lines().filter(|l| !l.trim().is_empty());
    let header = lines
        .next()
        .and_then(|h| h.strip_prefix('#'))
        .ok_or_else(|| StatsError::Parse("no `# pxname,...` header line".into()))?;
    let cols: Vec<&str> = header.trim().split(',').collect();
    let col = |name: &str| {
        cols.iter()
            .position(|c| *c == name)
            .ok_or_else(|| StatsError::Parse(format!("no {name} column")))
    };
    let (px, sv, status, kind) = (col("pxname")?, col("svname")?, col("status")?, col("type")?);
    let mut by_backend: BTreeMap<String, BackendHealth> = BTreeMap::new();
    for line in lines {
        let fields: Vec<&str> = line.split(',').collect();
        let get = |i: usize| fields.get(i).copied().unwrap_or("");
        // type 2 = server.
        if get(kind) != "2" {
            continue;
        }
        let entry = by_backend
            .entry(get(px).to_string())
            .or_insert_with(|| BackendHealth {
                backend: get(px).to_string(),
                up: 0,
                total: 0,
                down: Vec::new(),
            });
        entry.total += 1;
        if server_is_up(get(status)) {
            entry.up += 1;
        } else {
            entry.down.push(get(sv).to_string());
        }
    }
    Ok(by_backend.into_values().collect())
}

/// `UP`, `UP 1/3` (going down but still serving) and `no check` serve
/// traffic; `DOWN`, `DOWN 1/2`, `NOLB`, `MAINT`, `DRAIN` do not.
fn server_is_up(status: &str) -> bool {
    status.starts_with("UP") || status == "no check"
}

/// The status-line fragment: per kind of backend ("API servers", "workers")
/// the worst backend's up/total, e.g. `3/3 API servers up`. Backends HAProxy
/// does not report (not reloaded yet) are left out; empty when none.
pub fn status_fragment(model: &LoadBalancerModel, health: &[BackendHealth]) -> String {
    let mut worst: BTreeMap<&str, (u32, u32)> = BTreeMap::new();
    for f in &model.frontends {
        let Some(h) = health.iter().find(|h| h.backend == f.backend.name) else {
            continue;
        };
        let e = worst
            .entry(f.backend.label.as_str())
            .or_insert((h.up, h.total));
        // Worst = lowest fraction up.
        if u64::from(h.up) * u64::from(e.1.max(1)) < u64::from(e.0) * u64::from(h.total.max(1)) {
            *e = (h.up, h.total);
        }
    }
    worst
        .iter()
        .map(|(label, (up, total))| format!("{up}/{total} {label} up"))
        .collect::<Vec<_>>()
        .join(", ")
}
