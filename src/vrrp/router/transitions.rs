//! Moving between states: where the flags (started, paused, healthy, link)
//! say the router must be, and what entering Master or Backup does.

use std::time::{Duration, Instant};

use super::math::{interval_of_cs, later};
use super::{Action, Router, State};

impl Router {
    /// Where the flags say the router must be when it may not be master.
    pub(super) fn blocked_state(&self) -> Option<State> {
        if !self.started {
            Some(State::Initialize)
        } else if self.paused {
            Some(State::Paused)
        } else if !self.healthy || !self.link_up {
            Some(State::Fault)
        } else {
            None
        }
    }

    /// Move to where the flags say after one of them changed.
    pub(super) fn reconcile(&mut self, now: Instant, why: &str, out: &mut Vec<Action>) {
        match self.blocked_state() {
            Some(target) => {
                if self.state == target {
                    return;
                }
                if self.state == State::Master {
                    if self.link_up {
                        out.push(Action::SendAdvert { priority: 0 });
                    }
                    out.push(Action::RemoveVips);
                }
                self.clear_timers();
                self.transition(target, why.to_string(), out);
            }
            None => {
                if matches!(self.state, State::Master | State::Backup) {
                    return;
                }
                self.preempt_from = None;
                self.master_adver_int = self.cfg_interval();
                if self.priority == 255 && self.cfg.may_take_over {
                    self.become_master(now, format!("{why}; address owner (priority 255)"), out);
                } else {
                    self.master_down_at = None;
                    self.become_backup(now, why.to_string(), out);
                }
            }
        }
    }

    /// Takes over: VIPs, an advert, gratuitous ARP/NA, the master timers.
    pub(super) fn become_master(&mut self, now: Instant, why: String, out: &mut Vec<Action>) {
        out.push(Action::AddVips);
        out.push(Action::SendAdvert {
            priority: self.priority,
        });
        out.push(Action::SendGratuitous);
        self.master_down_at = None;
        self.adver_at = Some(later(now, self.cfg_interval()));
        self.garp_at = self.cfg.garp_refresh.map(|d| later(now, d));
        self.resigned_by = None;
        self.transition(State::Master, why, out);
    }

    /// Becomes backup (releasing the VIPs if master) and waits a Master_Down_Interval.
    pub(super) fn become_backup(&mut self, now: Instant, why: String, out: &mut Vec<Action>) {
        if self.state == State::Master {
            out.push(Action::RemoveVips);
        }
        self.adver_at = None;
        self.garp_at = None;
        self.master_down_at = Some(later(now, self.master_down_interval()));
        self.transition(State::Backup, why, out);
    }

    /// Records a state change with its reason (once per change).
    pub(super) fn transition(&mut self, to: State, reason: String, out: &mut Vec<Action>) {
        if self.state != to {
            out.push(Action::StateChanged {
                from: self.state,
                to,
                reason,
            });
            self.state = to;
        }
    }

    /// Disarms every protocol timer.
    pub(super) fn clear_timers(&mut self) {
        self.adver_at = None;
        self.master_down_at = None;
        self.garp_at = None;
    }

    /// Tells the shell the deadline to arm, when it changed or just fired.
    pub(super) fn sync_timer(&mut self, fired: bool, out: &mut Vec<Action>) {
        let next = self.next_deadline();
        match next {
            Some(t) if fired || self.armed != Some(t) => out.push(Action::SetTimer(t)),
            None if self.armed.is_some() => out.push(Action::CancelTimer),
            _ => {}
        }
        self.armed = next;
    }

    /// The configured advert interval.
    pub(super) fn cfg_interval(&self) -> Duration {
        interval_of_cs(self.cfg.advert_interval_cs())
    }
}
