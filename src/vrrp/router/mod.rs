//! One VRRP virtual router instance as a sans-IO state machine (RFC 5798 §6.4,
//! RFC 3768 §6.4), with the operational extras an HA agent needs: health
//! (Fault), operator pause, step-down with a hold-off, hitless adoption of VIPs
//! found on the interface, and periodic gratuitous ARP/NA refresh.
//!
//! # Driving it
//! The shell creates one [`Router`] per instance, calls
//! `handle(Event::Startup, now)` (or [`Event::Adopt`] when the VIPs are already
//! on the interface) and then executes every returned [`Action`] in order:
//!
//! - [`Action::SendAdvert`]: encode [`Router::advert`]`(priority)` from the
//!   primary address and send it (TTL/hop limit 255);
//! - [`Action::AddVips`] / [`Action::RemoveVips`]: all of [`RouterConfig::vips`];
//! - [`Action::SendGratuitous`]: one gratuitous ARP / unsolicited NA round
//!   (the shell's `garp.repeat`/`interval-ms` burst) for every VIP;
//! - [`Action::SetTimer`]: (re)arm the instance's single deadline; when it
//!   passes, call `handle(Event::TimerExpired, now)`. The deadline is consumed
//!   by firing: the router re-arms it in the answer to `TimerExpired`.
//!   [`Action::CancelTimer`] disarms it. A spurious or early `TimerExpired` is
//!   harmless.
//! - [`Action::StateChanged`]: log it with its reason, bump the transition
//!   counter, rewrite the state file;
//! - [`Action::Discarded`]: count the advert as dropped with
//!   [`DecodeError::reason`](crate::vrrp::packet::DecodeError::reason).
//!
//! Every advert that decoded and passed the shell's TTL/source checks goes in as
//! [`Event::AdvertReceived`]; the router checks VRID, version, v2 auth and v2
//! interval itself.
//!
//! For status, [`Router::state`], [`Router::master`] (the current master's
//! address: ours when Master, the latest advert's source otherwise),
//! [`Router::effective_priority`] and [`Router::hold_until`] answer at any time.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use k8s_vip::vrrp::router::{Action, Event, Router, RouterConfig, State};
//!
//! let cfg = RouterConfig::new(51, "192.0.2.11".parse().unwrap(), vec!["192.0.2.100".parse().unwrap()]);
//! let mut router = Router::new(cfg);
//! let t0 = Instant::now();
//! let actions = router.handle(Event::Startup, t0);
//! // Backup, waiting 3 × 1 s + skew for a master to show up.
//! let Some(Action::SetTimer(deadline)) = actions.last().cloned() else { panic!() };
//! assert_eq!(deadline - t0, Duration::from_micros(3_609_375));
//! // Nobody did: the shell fires the timer and we take over.
//! let actions = router.handle(Event::TimerExpired, deadline);
//! assert!(actions.contains(&Action::AddVips));
//! assert_eq!(router.state(), State::Master);
//! ```
//!
//! # Timing (RFC 5798 §6.1, in microseconds as keepalived does)
//! `Master_Down_Interval = 3 × Master_Adver_Interval + Skew_Time` with
//! `Skew_Time = ((256 - Priority) × Master_Adver_Interval) / 256` for v3 and
//! `(256 - Priority) / 256` seconds for v2 (RFC 3768 §6.1), using the local
//! effective priority. A v3 Backup learns `Master_Adver_Interval` from the
//! master's adverts; v2 routers must agree on the interval (mismatching adverts
//! are discarded, RFC 3768 §7.1), so v2 uses its configured interval. Timers are
//! deadlines ([`Instant`]), never sleeps.
//!
//! # Elections
//! - Master: an advert with higher priority, or equal priority from a higher
//!   primary address (compared as unsigned integers), makes it Backup; it
//!   sends one last advert with its own priority as it yields. A lower advert
//!   makes it advertise at once and re-announce the VIPs (gratuitous ARP/NA),
//!   as keepalived does. Together these make dual masters after a partition
//!   resolve within one advert interval with the winner re-announcing whichever
//!   advert crossed first (the failure of keepalived#166). A priority-0 advert
//!   makes it advertise at once.
//! - Backup: a priority-0 advert from the master it follows (or any, when it
//!   follows none) shortens the master-down timer to Skew_Time. Other adverts
//!   reset the master-down timer unless the router may preempt and the
//!   advert's priority is lower than ours; then the advert is ignored and the
//!   master-down timer takes over. It may preempt when preempt is on (or it is
//!   the address owner, priority 255), no step-down hold runs, and the lower
//!   master has been heard for the preempt delay (keepalived's
//!   `preempt_delay`: counted from the first lower-priority advert, reset by
//!   any advert at least as good as ours).
//! - Preempt is off by default, so a recovered node does not take the VIP back
//!   and cause a second outage.
//!
//! # Step-down
//! `StepDown { hold }` on a Master sends priority 0 (backups take over after
//! their Skew_Time), removes the VIPs and blocks preemption for `hold`. The
//! hold never leaves the VIP without any master: if nobody advertises for a
//! whole Master_Down_Interval, the router takes over again.
//!
//! # Must-not-be-master states
//! `Paused` (operator) takes precedence over `Fault` (health check failing or
//! link down). Entering either from Master sends priority 0 (when the link is
//! up) and removes the VIPs; leaving them re-enters Backup (or Master directly
//! for an address owner) as on startup.

mod config;
mod receive;
mod types;

pub use config::RouterConfig;
pub use types::{Action, Event, State};

use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::vrrp::packet::{auth_type, Advert, Version};

/// One VRRP virtual router instance. See the module docs for how to drive it.
#[derive(Debug, Clone)]
pub struct Router {
    cfg: RouterConfig,
    state: State,
    priority: u8,
    started: bool,
    healthy: bool,
    link_up: bool,
    paused: bool,
    master_adver_int: Duration,
    master: Option<IpAddr>,
    resigned_by: Option<IpAddr>,
    adver_at: Option<Instant>,
    master_down_at: Option<Instant>,
    garp_at: Option<Instant>,
    preempt_from: Option<Instant>,
    hold_until: Option<Instant>,
    armed: Option<Instant>,
}

// ===== impl Router =====

impl Router {
    /// A router in Initialize; nothing happens until [`Event::Startup`] or
    /// [`Event::Adopt`]. Out-of-range settings are clamped to what the wire
    /// carries; call [`RouterConfig::validate`] first to reject them instead.
    pub fn new(cfg: RouterConfig) -> Router {
        let priority = cfg.priority.max(1);
        let interval = interval_of_cs(cfg.advert_interval_cs());
        Router {
            cfg,
            state: State::Initialize,
            priority,
            started: false,
            healthy: true,
            link_up: true,
            paused: false,
            master_adver_int: interval,
            master: None,
            resigned_by: None,
            adver_at: None,
            master_down_at: None,
            garp_at: None,
            preempt_from: None,
            hold_until: None,
            armed: None,
        }
    }

    /// Current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The configuration this router runs with.
    pub fn config(&self) -> &RouterConfig {
        &self.cfg
    }

    /// Effective priority (base adjusted by [`Event::PriorityChanged`]).
    pub fn effective_priority(&self) -> u8 {
        self.priority
    }

    /// Address of the current master as far as this router knows: its own
    /// primary address when Master, the source of the latest advert otherwise,
    /// `None` when unknown (startup, or the master resigned).
    pub fn master(&self) -> Option<IpAddr> {
        if self.state == State::Master {
            Some(self.cfg.primary_addr)
        } else {
            self.master
        }
    }

    /// The Master_Adver_Interval in force (learned from the master in v3).
    pub fn master_adver_interval(&self) -> Duration {
        self.master_adver_int
    }

    /// Master_Down_Interval = 3 × Master_Adver_Interval + Skew_Time.
    pub fn master_down_interval(&self) -> Duration {
        self.master_adver_int * 3 + self.skew_time()
    }

    /// Skew_Time: v3 `((256 − Priority) × Master_Adver_Interval) / 256`
    /// (RFC 5798 §6.1); v2 `(256 − Priority) / 256` seconds (RFC 3768 §6.1).
    /// keepalived computes both the same way.
    pub fn skew_time(&self) -> Duration {
        let us = match self.cfg.version {
            Version::V3 => self.master_adver_int.as_micros() as u64,
            Version::V2 => 1_000_000,
        };
        Duration::from_micros((256 - u64::from(self.priority)) * us / 256)
    }

    /// The deadline the shell should have armed, if any.
    pub fn next_deadline(&self) -> Option<Instant> {
        match self.state {
            State::Master => min_opt(self.adver_at, self.garp_at),
            State::Backup => self.master_down_at,
            _ => None,
        }
    }

    /// Until when a step-down blocks preemption, if it still does at `now`.
    pub fn hold_until(&self, now: Instant) -> Option<Instant> {
        self.hold_until.filter(|h| *h > now)
    }

    /// The advert a [`Action::SendAdvert`] with `priority` stands for.
    pub fn advert(&self, priority: u8) -> Advert {
        let (auth, data) = match self.cfg.version {
            Version::V2 => (self.cfg.auth_type, self.cfg.auth_data),
            Version::V3 => (auth_type::NONE, [0; 8]),
        };
        Advert {
            version: self.cfg.version,
            vrid: self.cfg.vrid,
            priority,
            max_advert_int_cs: self.cfg.advert_interval_cs(),
            addresses: self.cfg.vips.clone(),
            auth_type: auth,
            auth_data: data,
        }
    }

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
        self.cfg = cfg;
        let mut out = Vec::new();
        if self.state == State::Master {
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

    // ----- event handlers -----

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
            None => {
                self.preempt_from = None;
                self.become_master(now, "adopted VIPs already on the interface".into(), out);
            }
        }
    }

    fn on_shutdown(&mut self, out: &mut Vec<Action>) {
        if self.state == State::Master && self.link_up {
            out.push(Action::SendAdvert { priority: 0 });
        }
        out.push(Action::RemoveVips);
        self.started = false;
        self.clear_timers();
        self.transition(State::Initialize, "shutdown".into(), out);
    }

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

    // ----- transitions -----

    /// Where the flags say the router must be when it may not be master.
    fn blocked_state(&self) -> Option<State> {
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
    fn reconcile(&mut self, now: Instant, why: &str, out: &mut Vec<Action>) {
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
                if self.priority == 255 {
                    self.become_master(now, format!("{why}; address owner (priority 255)"), out);
                } else {
                    self.master_down_at = None;
                    self.become_backup(now, why.to_string(), out);
                }
            }
        }
    }

    fn become_master(&mut self, now: Instant, why: String, out: &mut Vec<Action>) {
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

    fn become_backup(&mut self, now: Instant, why: String, out: &mut Vec<Action>) {
        if self.state == State::Master {
            out.push(Action::RemoveVips);
        }
        self.adver_at = None;
        self.garp_at = None;
        self.master_down_at = Some(later(now, self.master_down_interval()));
        self.transition(State::Backup, why, out);
    }

    fn transition(&mut self, to: State, reason: String, out: &mut Vec<Action>) {
        if self.state != to {
            out.push(Action::StateChanged {
                from: self.state,
                to,
                reason,
            });
            self.state = to;
        }
    }

    fn clear_timers(&mut self) {
        self.adver_at = None;
        self.master_down_at = None;
        self.garp_at = None;
    }

    fn sync_timer(&mut self, fired: bool, out: &mut Vec<Action>) {
        let next = self.next_deadline();
        match next {
            Some(t) if fired || self.armed != Some(t) => out.push(Action::SetTimer(t)),
            None if self.armed.is_some() => out.push(Action::CancelTimer),
            _ => {}
        }
        self.armed = next;
    }

    // ----- helpers -----
    fn cfg_interval(&self) -> Duration {
        interval_of_cs(self.cfg.advert_interval_cs())
    }
}

/// `now + d` without the panic on overflow an absurd hold or delay (from a
/// control-socket request or config) would cause: saturates about a century out.
fn later(now: Instant, d: Duration) -> Instant {
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
    now.checked_add(d.min(CENTURY))
        .or_else(|| now.checked_add(Duration::from_secs(3600)))
        .unwrap_or(now)
}

fn interval_of_cs(cs: u16) -> Duration {
    Duration::from_millis(u64::from(cs) * 10)
}

fn min_opt(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// `a > b` comparing addresses as unsigned integers (RFC 5798 §6.4.3 tie-break).
/// Addresses of different families compare IPv6 above IPv4 (never on the wire:
/// decode rejects mixed families).
pub fn addr_gt(a: IpAddr, b: IpAddr) -> bool {
    fn key(a: IpAddr) -> (u8, u128) {
        match a {
            IpAddr::V4(v) => (4, u128::from(u32::from(v))),
            IpAddr::V6(v) => (6, u128::from(v)),
        }
    }
    key(a) > key(b)
}

fn fmt_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}
