//! The vocabulary between the router and its shell: states, events in,
//! actions out.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::vrrp::packet::{Advert, DecodeError};

/// Where a virtual router instance stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Not started, or shut down (RFC "Initialize").
    Initialize,
    /// Watching the master, ready to take over.
    Backup,
    /// Owns the VIPs and advertises.
    Master,
    /// Must not be master: a health check fails or the link is down.
    Fault,
    /// Must not be master: the operator paused the instance.
    Paused,
}

impl State {
    /// The upper-case name used in the status document and logs
    /// (`INIT|BACKUP|MASTER|FAULT|PAUSED`).
    pub fn as_str(self) -> &'static str {
        match self {
            State::Initialize => "INIT",
            State::Backup => "BACKUP",
            State::Master => "MASTER",
            State::Fault => "FAULT",
            State::Paused => "PAUSED",
        }
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something that happened to the instance, fed in by the shell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Start the instance (RFC "Startup" event).
    Startup,
    /// Start the instance as master at once because its VIPs are already on the
    /// interface (the previous agent handed over without releasing them).
    Adopt,
    /// Stop the instance: a master resigns with priority 0 and removes its VIPs.
    Shutdown,
    /// A valid advert arrived (decoded, TTL 255, source accepted by the shell).
    AdvertReceived {
        /// IP source address of the advert.
        from: IpAddr,
        /// The decoded advert.
        advert: Advert,
    },
    /// The deadline from the last [`Action::SetTimer`] has passed.
    TimerExpired,
    /// The effective priority changed (base priority adjusted by health-check
    /// weights), 1..=255; 0 is treated as 1 (use `HealthChanged` for "never master").
    PriorityChanged(u8),
    /// The instance's health checks as a whole turned failing (→ Fault) or passing.
    HealthChanged {
        /// Whether the instance may be master.
        healthy: bool,
    },
    /// Operator pause: release the VIPs and stay out of elections.
    Pause,
    /// Undo [`Event::Pause`].
    Resume,
    /// Operator failover: a master resigns and does not preempt for `hold`.
    StepDown {
        /// How long not to take the VIP back by preemption.
        hold: Duration,
    },
    /// A faster liveness check (BFD) says `master` is dead and this router
    /// would win the election among the units still alive: a Backup that
    /// follows `master` becomes Master at once instead of waiting for the
    /// Master_Down_Interval. Ignored in any other state or when it follows
    /// another master. Who wins is the caller's decision
    /// (`crate::bfd::takeover`).
    MasterDead {
        /// The master the liveness check lost.
        master: IpAddr,
    },
    /// The interface lost carrier or went down (→ Fault).
    LinkDown,
    /// The interface is up again.
    LinkUp,
}

/// What the shell must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send [`Router::advert`](crate::vrrp::router::Router::advert)`(priority)`
    /// from the primary address.
    SendAdvert {
        /// Priority to advertise (0 = resigning).
        priority: u8,
    },
    /// Add all VIPs to the interface (idempotent).
    AddVips,
    /// Remove all VIPs from the interface (idempotent).
    RemoveVips,
    /// Send one gratuitous ARP / unsolicited NA round for every VIP.
    SendGratuitous,
    /// Arm the instance's single deadline (replacing any earlier one).
    SetTimer(Instant),
    /// Disarm the deadline: nothing is pending.
    CancelTimer,
    /// The state changed; `reason` is a human sentence for logs and status.
    StateChanged {
        /// Previous state.
        from: State,
        /// New state.
        to: State,
        /// Why, e.g. "master down timer expired".
        reason: String,
    },
    /// A received advert was ignored; count it under `reason.reason()`.
    Discarded(DecodeError),
}
