//! The demo's view of its world: the routed lab, the router, the simulated
//! model and the clock; what it prints about them (the router's table, Juju
//! status) and what a failure report shows.

use std::net::IpAddr;
use std::time::Instant;

use crate::steps::{ok, AGENT, UNITS};
use crate::support::frr::Frr;
use crate::support::juju::Model;
use crate::support::routed::{RoutedLab, VIP4};

/// `state: message` of `unit`'s Juju status.
pub fn status_line(model: &Model, unit: &str) -> String {
    match model.status(unit) {
        Some(s) => format!("{}: {}", s.state, s.message),
        None => "(no status)".into(),
    }
}

/// Prints `lines` indented under the timestamped lines.
pub fn print_block(lines: &str) {
    for line in lines.lines() {
        println!("           {line}");
    }
}

/// What every step works with: the lab, its router, the model, the clock.
pub struct World<'a> {
    pub lab: &'a RoutedLab,
    pub router: &'a Frr,
    pub model: &'a Model,
    pub t0: Instant,
}

impl World<'_> {
    /// Prints `msg` after the seconds since the demo started.
    pub fn say(&self, msg: &str) {
        println!("[{:5.1}s] {msg}", self.t0.elapsed().as_secs_f64());
    }

    /// The router's installed next hops for the VIP, as unit numbers.
    pub fn announcers(&self) -> Vec<usize> {
        let hops = self.router.fib_next_hops(&format!("{VIP4}/32"));
        (0..UNITS)
            .filter(|&i| hops.contains(&IpAddr::V4(self.lab.unit(i).ipv4)))
            .collect()
    }

    /// Unit number `i`'s Juju name (`k8s-vip/0`).
    pub fn unit_name(&self, i: usize) -> String {
        self.model.unit(i)
    }

    /// `k8s-vip/1 (198.51.100.18)` style names of units (`none`), for the output.
    pub fn describe(&self, units: &[usize]) -> String {
        if units.is_empty() {
            return "none".into();
        }
        units
            .iter()
            .map(|&i| format!("{} ({})", self.unit_name(i), self.lab.unit(i).ipv4))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Whether the router has an Established session with every unit in `units`.
    pub fn established(&self, units: &[usize]) -> bool {
        let states = self.router.peer_states();
        units.iter().all(|&i| {
            states
                .get(&self.lab.unit(i).ipv4.to_string())
                .map(String::as_str)
                == Some("Established")
        })
    }

    /// Prints the router's `show ip bgp`.
    pub fn show_router_table(&self) -> anyhow::Result<()> {
        self.say("router# vtysh -c 'show ip bgp'");
        let table = self
            .router
            .vtysh(&["show ip bgp"])
            .map_err(|e| anyhow::anyhow!("vtysh on the router: {e}"))?;
        print_block(&table);
        Ok(())
    }

    /// Runs update-status on every unit and prints their Juju status.
    pub fn update_status(&self) -> anyhow::Result<()> {
        for u in self.model.units() {
            ok(self.model.run_hook(u, "update-status"))?;
        }
        self.say("juju status:");
        for u in self.model.units() {
            println!("           {u:<20} {}", status_line(self.model, u));
        }
        Ok(())
    }

    /// What a failure report shows: the router's sessions and the last lines
    /// of every unit's agent and FRR logs.
    pub fn diagnostics(&self) -> String {
        let mut out = format!(
            "--- router: BGP sessions {:?}, VIP next hops {:?}\n",
            self.router.peer_states(),
            self.router.fib_next_hops(&format!("{VIP4}/32"))
        );
        for u in self.model.units() {
            for log in [format!("{AGENT}.log"), "frr.service.log".into()] {
                let path = self.model.unit_dir(u).join("services").join(&log);
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                let tail = &lines[lines.len().saturating_sub(8)..];
                out.push_str(&format!(
                    "--- {u} {log} (last lines)\n{}\n",
                    tail.join("\n")
                ));
            }
        }
        out
    }
}
