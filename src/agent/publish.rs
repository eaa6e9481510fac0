//! When to rebuild and publish the status document.
//!
//! Why: the event loop turns over for every received advert and every advert
//! it sends (ten times a second per instance at 100 ms). Building the status
//! document (a JSON tree of strings) on each turn just to find it unchanged
//! cost more CPU than the protocol itself. [`StatusGate`] decides instead from
//! a few plain values per instance that it compares without allocating: what
//! the router shows (state, effective priority, master, transitions) and
//! whether the shell changed anything else it reports (checks, foreign
//! routers, the set of instances), which the shell flags with
//! [`StatusGate::mark_dirty`]. The state file and the metrics gauges are then
//! rewritten only when something an operator could see changed.

use std::net::IpAddr;

use crate::vrrp::router::State;

/// What the status document shows of one instance that can change as
/// packets and timers come and go; compared on every loop turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observed {
    /// Which incarnation of the instance (a reload may replace it).
    pub generation: u64,
    /// The router's state.
    pub state: State,
    /// The router's effective priority.
    pub priority: u8,
    /// The master as the router knows it.
    pub master: Option<IpAddr>,
    /// State transitions so far (also moves when a state is left and
    /// re-entered within one loop turn).
    pub transitions: u64,
}

/// Decides whether the status must be published again, and counts how often
/// it was (exposed as `k8s_vip_status_publishes_total`).
#[derive(Debug, Clone)]
pub struct StatusGate {
    last: Vec<Observed>,
    paused: bool,
    dirty: bool,
    publishes: u64,
}

impl Default for StatusGate {
    fn default() -> Self {
        StatusGate::new()
    }
}

impl StatusGate {
    /// A gate whose first [`StatusGate::should_publish`] answers yes (the
    /// state file must exist as soon as the agent runs).
    pub fn new() -> StatusGate {
        StatusGate {
            last: Vec::new(),
            paused: false,
            dirty: true,
            publishes: 0,
        }
    }

    /// Flags a change the gate cannot see in [`Observed`]: a check verdict
    /// or error, a new foreign router, a reload, an added instance.
    pub fn mark_dirty(&mut self) {
        self.dirty = true;
    }

    /// True when the status differs from the last published one; remembers
    /// the new values and counts a publish. Allocates only when the number
    /// of instances grows.
    pub fn should_publish<I>(&mut self, paused: bool, observed: I) -> bool
    where
        I: IntoIterator<Item = Observed>,
    {
        let mut changed = std::mem::take(&mut self.dirty) || paused != self.paused;
        self.paused = paused;
        let mut n = 0;
        for o in observed {
            match self.last.get_mut(n) {
                Some(prev) if *prev == o => {}
                Some(prev) => {
                    *prev = o;
                    changed = true;
                }
                None => {
                    self.last.push(o);
                    changed = true;
                }
            }
            n += 1;
        }
        if n != self.last.len() {
            self.last.truncate(n);
            changed = true;
        }
        if changed {
            self.publishes += 1;
        }
        changed
    }

    /// How many times the status was published so far.
    pub fn publishes(&self) -> u64 {
        self.publishes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backup(master: &str) -> Observed {
        Observed {
            generation: 1,
            state: State::Backup,
            priority: 100,
            master: Some(master.parse().unwrap()),
            transitions: 1,
        }
    }

    #[test]
    fn first_turn_publishes_then_nothing_until_a_change() {
        let mut g = StatusGate::new();
        assert!(g.should_publish(false, [backup("192.0.2.11")]));
        for _ in 0..100 {
            assert!(!g.should_publish(false, [backup("192.0.2.11")]));
        }
        assert_eq!(g.publishes(), 1);
    }

    #[test]
    fn each_observable_change_publishes_once() {
        let mut g = StatusGate::new();
        let base = backup("192.0.2.11");
        assert!(g.should_publish(false, [base]));
        let changes = [
            Observed {
                master: Some("192.0.2.12".parse().unwrap()),
                ..base
            },
            Observed {
                master: None,
                ..base
            },
            Observed {
                state: State::Master,
                ..base
            },
            Observed {
                priority: 99,
                ..base
            },
            Observed {
                transitions: 2,
                ..base
            },
            Observed {
                generation: 7,
                ..base
            },
        ];
        for c in changes {
            assert!(g.should_publish(false, [c]), "{c:?}");
            assert!(!g.should_publish(false, [c]), "{c:?} twice");
            assert!(g.should_publish(false, [base]), "back from {c:?}");
        }
        assert!(g.should_publish(true, [base]), "paused");
        assert!(!g.should_publish(true, [base]));
    }

    #[test]
    fn dirty_and_instance_count_publish() {
        let mut g = StatusGate::new();
        let (a, b) = (backup("192.0.2.11"), backup("192.0.2.12"));
        assert!(g.should_publish(false, [a]));
        g.mark_dirty();
        assert!(g.should_publish(false, [a]), "dirty");
        assert!(!g.should_publish(false, [a]), "dirty is consumed");
        assert!(g.should_publish(false, [a, b]), "instance added");
        assert!(!g.should_publish(false, [a, b]));
        assert!(g.should_publish(false, [a]), "instance removed");
        assert!(g.should_publish(false, []), "no instances left");
        assert_eq!(g.publishes(), 5);
    }
}
