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
mod events;
mod math;
mod receive;
mod transitions;
mod types;

pub use config::RouterConfig;
pub use math::addr_gt;
pub use types::{Action, Event, State};

use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::vrrp::packet::{auth_type, Advert, Version};
use math::{interval_of_cs, min_opt};

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
}
