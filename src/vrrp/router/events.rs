//! What each event does (RFC 5798 §6.4, plus the operational events), and
//! reconfiguring in place. Received adverts are in [`super::receive`].

use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::math::{fmt_duration, later};
use super::{Action, Event, Router, RouterConfig, State};
use crate::vrrp::packet::Version;

impl Router {
    /// Apply new settings in place (config reload, SIGHUP) without a state
    /// change, so a master keeps its VIPs: priority, preempt, preempt delay,
    /// advert interval, accept mode, v2 auth and gratuitous refresh.
    ///
    /// Returns `None` and changes nothing when the identity of the virtual
    /// router changed (VRID, version, primary address or VIPs): then the shell
    /// shuts this router down and starts a new one. The new base priority
    /// replaces the effective one; a shell adjusting it by health checks sends
    /// [`Event::PriorityChanged`] afterwards as usual.
    pub fn reconfigure(&mut self, cfg: RouterConfig, now: Instant) -> Option<Vec<Action>> {
        let same_identity = cfg.vrid == self.cfg.vrid
            && cfg.version == self.cfg.version
            && cfg.primary_addr == self.cfg.primary_addr
            && cfg.vips == self.cfg.vips;
        if !same_identity {
            return None;
        }
        let interval_changed = cfg.advert_interval_cs() != self.cfg.advert_interval_cs();
        let refresh_changed = cfg.garp_refresh != self.cfg.garp_refresh;
        let new_priority = cfg.priority.max(1);
        let released = !self.cfg.may_take_over && cfg.may_take_over;
        self.cfg = cfg;
        let mut out = Vec::new();
        if self.state == State::Master && !self.cfg.may_take_over {
            self.priority = new_priority;
            self.become_backup(
                now,
                "may no longer be master (no unicast peers)".into(),
                &mut out,
            );
        } else if self.state == State::Master {
            if new_priority != self.priority || interval_changed {
                // Tell the backups the new priority / interval at once.
                self.priority = new_priority;
                out.push(Action::SendAdvert {
                    priority: self.priority,
                });
                self.adver_at = Some(later(now, self.cfg_interval()));
            }
            if refresh_changed {
                self.garp_at = self.cfg.garp_refresh.map(|d| later(now, d));
            }
        } else {
            self.priority = new_priority;
            if self.cfg.version == Version::V2 || self.master.is_none() {
                self.master_adver_int = self.cfg_interval();
            }
            if released && self.state == State::Backup {
                // Released from a hold: a backup starting up (RFC 5798
                // 6.4.1), so units released together elect by priority.
                self.master_down_at = Some(later(now, self.master_down_interval()));
            }
        }
        self.sync_timer(false, &mut out);
        Some(out)
    }

    /// Feed one event at time `now`; returns what the shell must do, in order.
    pub fn handle(&mut self, event: Event, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        let fired = matches!(event, Event::TimerExpired);
        match event {
            Event::Startup => {
                if !self.started {
                    self.started = true;
                    self.reconcile(now, "startup", &mut out);
                }
            }
            Event::Adopt => self.on_adopt(now, &mut out),
            Event::Shutdown => self.on_shutdown(&mut out),
            Event::AdvertReceived { from, advert } => self.on_advert(from, advert, now, &mut out),
            Event::TimerExpired => self.on_timer(now, &mut out),
            Event::PriorityChanged(p) => self.on_priority(p.max(1), now, &mut out),
            Event::HealthChanged { healthy } => {
                if self.healthy != healthy {
                    self.healthy = healthy;
                    let why = if healthy {
                        "health checks passing again"
                    } else {
                        "health check failed"
                    };
                    self.reconcile(now, why, &mut out);
                }
            }
            Event::Pause => {
                if !self.paused {
                    self.paused = true;
                    self.reconcile(now, "paused by operator", &mut out);
                }
            }
            Event::Resume => {
                if self.paused {
                    self.paused = false;
                    self.reconcile(now, "resumed by operator", &mut out);
                }
            }
            Event::StepDown { hold } => self.on_step_down(hold, now, &mut out),
            Event::MasterDead { master } => self.on_master_dead(master, now, &mut out),
            Event::LinkDown => {
                if self.link_up {
                    self.link_up = false;
                    self.reconcile(now, "link down", &mut out);
                }
            }
            Event::LinkUp => {
                if !self.link_up {
                    self.link_up = true;
                    self.reconcile(now, "link up", &mut out);
                }
            }
        }
        self.sync_timer(fired, &mut out);
        out
    }

    /// A liveness check lost the master this Backup follows (or the one
    /// that just resigned): take over now.
    fn on_master_dead(&mut self, master: IpAddr, now: Instant, out: &mut Vec<Action>) {
        let follows = self.master == Some(master)
            || (self.master.is_none() && self.resigned_by == Some(master));
        if self.state == State::Backup && follows && self.cfg.may_take_over {
            self.master = None;
            self.become_master(
                now,
                format!("BFD: master {master} down; this unit wins among the live units"),
                out,
            );
        }
    }

    /// Adopt: VIPs found on the interface; keep them if we may be master.
    fn on_adopt(&mut self, now: Instant, out: &mut Vec<Action>) {
        if self.started {
            return;
        }
        self.started = true;
        match self.blocked_state() {
            Some(_) => {
                // The VIPs are on the interface but we may not be master.
                out.push(Action::RemoveVips);
                self.reconcile(now, "startup (found VIPs on the interface)", out);
            }
            None if !self.cfg.may_take_over => {
                out.push(Action::RemoveVips);
                self.reconcile(now, "startup (found VIPs, but may not take over)", out);
            }
            None => {
                self.preempt_from = None;
                self.become_master(now, "adopted VIPs already on the interface".into(), out);
            }
        }
    }

    /// Shutdown: resign (priority 0) if master, release the VIPs, stop.
    fn on_shutdown(&mut self, out: &mut Vec<Action>) {
        if self.state == State::Master && self.link_up {
            out.push(Action::SendAdvert { priority: 0 });
        }
        out.push(Action::RemoveVips);
        self.started = false;
        self.clear_timers();
        self.transition(State::Initialize, "shutdown".into(), out);
    }

    /// StepDown: a master resigns and blocks preemption for `hold`.
    fn on_step_down(&mut self, hold: Duration, now: Instant, out: &mut Vec<Action>) {
        if self.state != State::Master {
            return;
        }
        out.push(Action::SendAdvert { priority: 0 });
        self.hold_until = Some(later(now, hold));
        self.master = None;
        self.become_backup(
            now,
            format!(
                "step-down requested (no preemption for {})",
                fmt_duration(hold)
            ),
            out,
        );
    }

    /// PriorityChanged: a master tells the backups at once.
    fn on_priority(&mut self, p: u8, now: Instant, out: &mut Vec<Action>) {
        if p == self.priority {
            return;
        }
        self.priority = p;
        if self.state == State::Master {
            // Tell the backups at once: a lower priority may let one preempt.
            out.push(Action::SendAdvert { priority: p });
            self.adver_at = Some(later(now, self.cfg_interval()));
        }
    }

    /// TimerExpired: send the advert or refresh due, or take over as backup.
    fn on_timer(&mut self, now: Instant, out: &mut Vec<Action>) {
        match self.state {
            State::Master => {
                if self.adver_at.is_some_and(|t| t <= now) {
                    out.push(Action::SendAdvert {
                        priority: self.priority,
                    });
                    self.adver_at = Some(later(now, self.cfg_interval()));
                }
                if let (Some(t), Some(every)) = (self.garp_at, self.cfg.garp_refresh) {
                    if t <= now {
                        out.push(Action::SendGratuitous);
                        self.garp_at = Some(later(now, every));
                    }
                }
            }
            State::Backup
                if !self.cfg.may_take_over && self.master_down_at.is_some_and(|t| t <= now) =>
            {
                self.master_down_at = Some(later(now, self.master_down_interval()));
            }
            State::Backup if self.master_down_at.is_some_and(|t| t <= now) => {
                let why = match self.resigned_by.take() {
                    Some(m) => format!("master down timer expired ({m} resigned)"),
                    None => "master down timer expired".to_string(),
                };
                self.become_master(now, why, out);
            }
            _ => {}
        }
    }
}
