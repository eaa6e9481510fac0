//! Parsers for what the footprint and syscall parts read: /proc/PID/smaps_rollup
//! and the summary `strace -c` prints.
//!
//! Why a module of its own: they are pure functions of text, tested in
//! tests/bench_units.rs without a lab.

use std::collections::BTreeMap;

/// Memory of a set of processes, in KiB.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Memory {
    /// Resident set size.
    pub rss: u64,
    /// Proportional set size.
    pub pss: u64,
    /// Unique set size: private clean + private dirty.
    pub uss: u64,
}

impl std::ops::Add for Memory {
    type Output = Memory;
    fn add(self, m: Memory) -> Memory {
        Memory {
            rss: self.rss + m.rss,
            pss: self.pss + m.pss,
            uss: self.uss + m.uss,
        }
    }
}

/// Parses /proc/PID/smaps_rollup (fields in kB).
pub fn smaps_rollup(text: &str) -> Memory {
    let field = |name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    Memory {
        rss: field("Rss"),
        pss: field("Pss"),
        uss: field("Private_Clean") + field("Private_Dirty"),
    }
}

/// Syscall name → calls, from the table `strace -c` prints
/// (`% time seconds usecs/call calls [errors] syscall`; the total left out).
pub fn strace_summary(text: &str) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let t: Vec<&str> = line.split_whitespace().collect();
        if t.len() < 5 || t[0].parse::<f64>().is_err() {
            continue;
        }
        let name = t[t.len() - 1];
        if name == "total" || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        if let Ok(calls) = t[3].parse::<u64>() {
            out.insert(name.to_string(), calls);
        }
    }
    out
}
