//! One BFD session (RFC 5880 asynchronous mode) as a sans-IO state machine:
//! `handle(event, now) -> Output`.
//!
//! # Driving it
//! The shell creates a [`Session`] per peer with a unique non-zero local
//! discriminator and a seeded [`JitterSource`], then feeds it
//! [`Event`]s: every Control packet that decoded and passed the TTL check
//! (RFC 5881 §5) goes in as [`Event::Received`], [`Event::TimerFired`] once
//! [`Output::deadline`] has passed (an early or spurious call is harmless),
//! and the operator's [`Event::AdminDown`] / [`Event::AdminUp`] /
//! [`Event::SetTiming`]. For each [`Output`] it sends [`Output::send`] in
//! order, counts [`Output::discarded`], logs [`Output::changes`] and re-arms
//! its timer at [`Output::deadline`]. A change to Down with
//! [`Diag::ControlDetectionTimeExpired`] means the peer went silent for the
//! detection time: that is what the agent acts on.
//!
//! # Timers (RFC 5880 §6.8.2–§6.8.4, §6.8.7)
//! - While the session is not Up, the advertised Desired Min TX is at least
//!   1 s (§6.8.3); on reaching Up the configured value is advertised with a
//!   Poll Sequence.
//! - Periodic packets go out every `max(desired min TX in force, remote
//!   Required Min RX)`, reduced by 0–25 % of jitter (10–25 % with a local
//!   multiplier of 1). None go out while the remote asks for none (Required
//!   Min RX 0), in the passive role before the remote discriminator is
//!   known, or when the remote is in Demand mode and both are Up.
//! - Detection time = remote Detect Mult × `max(required min RX in force,
//!   remote Desired Min TX)`, counted from the last accepted packet.
//! - While a Poll Sequence runs, the old and new values are combined the
//!   safe way (§6.8.3): the faster of the two transmit intervals and the
//!   slower of the two receive intervals are in force until the Final.
//!
//! # Beyond the RFC's minimum
//! A packet is sent at once on every local state change, besides the
//! periodic ones, so the three-way handshake and AdminDown reach the peer
//! without waiting up to a second; FRR's bfdd and BIRD do the same. Such
//! sends only follow a received packet or an operator action, so they stay
//! bounded by the peer's rate.

mod receive;
mod types;

use std::time::{Duration, Instant};

use crate::bfd::jitter::{jittered_us, JitterSource, SplitMix64};
use crate::bfd::packet::{ControlPacket, Diag, SessionState};

pub use types::{ConfigError, Event, Output, SessionConfig, StateChange, SLOW_TX_US};

/// The interval pair a system advertises, µs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Timing {
    desired_tx_us: u32,
    required_rx_us: u32,
}

/// One BFD session; see the module documentation.
#[derive(Debug, Clone)]
pub struct Session<R = SplitMix64> {
    cfg: SessionConfig,
    rng: R,
    state: SessionState,
    local_diag: Diag,
    remote_state: SessionState,
    remote_diag: Diag,
    remote_discr: u32,
    remote_min_rx_us: u32,
    remote_desired_tx_us: u32,
    remote_detect_mult: u8,
    remote_demand: bool,
    /// The advertised timing before the running Poll Sequence started.
    poll_from: Option<Timing>,
    tx_at: Option<Instant>,
    detect_at: Option<Instant>,
    last_rx: Option<Instant>,
}

fn us(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

impl<R: JitterSource> Session<R> {
    /// A session in state Down whose first packet is due at `now` (unless passive).
    pub fn new(cfg: SessionConfig, rng: R, now: Instant) -> Result<Self, ConfigError> {
        cfg.validate()?;
        Ok(Session {
            cfg,
            rng,
            state: SessionState::Down,
            local_diag: Diag::None,
            remote_state: SessionState::Down,
            remote_diag: Diag::None,
            remote_discr: 0,
            remote_min_rx_us: 1,
            remote_desired_tx_us: 0,
            remote_detect_mult: 0,
            remote_demand: false,
            poll_from: None,
            tx_at: Some(now),
            detect_at: None,
            last_rx: None,
        })
    }

    /// Feeds one event at time `now`.
    pub fn handle(&mut self, event: Event, now: Instant) -> Output {
        let mut out = Output::default();
        match event {
            Event::Received(packet) => self.receive(packet, now, &mut out),
            Event::TimerFired => self.timers(now, &mut out),
            Event::AdminDown => self.set_state(
                SessionState::AdminDown,
                Diag::AdministrativelyDown,
                now,
                &mut out,
            ),
            Event::AdminUp if self.state == SessionState::AdminDown => {
                self.set_state(SessionState::Down, Diag::None, now, &mut out)
            }
            Event::AdminUp => {}
            Event::SetTiming {
                desired_min_tx,
                required_min_rx,
                detect_mult,
            } => self.set_timing(desired_min_tx, required_min_rx, detect_mult, now, &mut out),
        }
        out.deadline = self.next_deadline();
        out
    }

    /// `bfd.SessionState`.
    pub fn state(&self) -> SessionState {
        self.state
    }

    /// `bfd.LocalDiag`: why the state last changed.
    pub fn local_diag(&self) -> Diag {
        self.local_diag
    }

    /// `bfd.RemoteSessionState`, as last received.
    pub fn remote_state(&self) -> SessionState {
        self.remote_state
    }

    /// The Diag the remote sent last.
    pub fn remote_diag(&self) -> Diag {
        self.remote_diag
    }

    /// `bfd.LocalDiscr`.
    pub fn local_discriminator(&self) -> u32 {
        self.cfg.local_discriminator
    }

    /// `bfd.RemoteDiscr` (0 while unknown or after the detection time passed).
    pub fn remote_discriminator(&self) -> u32 {
        self.remote_discr
    }

    /// The configuration in force.
    pub fn config(&self) -> &SessionConfig {
        &self.cfg
    }

    /// True while a Poll Sequence waits for its Final.
    pub fn polling(&self) -> bool {
        self.poll_from.is_some()
    }

    /// The detection time in force (None before the remote was ever heard).
    pub fn detection_time(&self) -> Option<Duration> {
        if self.remote_detect_mult == 0 {
            return None;
        }
        let rx = self
            .required_rx_in_force_us()
            .max(self.remote_desired_tx_us);
        Some(Duration::from_micros(
            u64::from(self.remote_detect_mult) * u64::from(rx),
        ))
    }

    /// The periodic transmit interval before jitter.
    pub fn tx_interval(&self) -> Duration {
        Duration::from_micros(u64::from(
            self.desired_tx_in_force_us().max(self.remote_min_rx_us),
        ))
    }

    /// The earliest pending deadline (next periodic packet or detection expiry).
    pub fn next_deadline(&self) -> Option<Instant> {
        match (self.tx_at, self.detect_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn advertised(&self) -> Timing {
        let desired = us(self.cfg.desired_min_tx);
        Timing {
            desired_tx_us: if self.state == SessionState::Up {
                desired
            } else {
                desired.max(SLOW_TX_US)
            },
            required_rx_us: us(self.cfg.required_min_rx),
        }
    }

    fn desired_tx_in_force_us(&self) -> u32 {
        let now = self.advertised().desired_tx_us;
        self.poll_from.map_or(now, |old| now.min(old.desired_tx_us))
    }

    fn required_rx_in_force_us(&self) -> u32 {
        let now = self.advertised().required_rx_us;
        self.poll_from
            .map_or(now, |old| now.max(old.required_rx_us))
    }

    fn periodic_allowed(&self) -> bool {
        let demand_quiet = self.remote_demand
            && self.state == SessionState::Up
            && self.remote_state == SessionState::Up;
        !(self.cfg.passive && self.remote_discr == 0) && self.remote_min_rx_us != 0 && !demand_quiet
    }

    fn packet(&self, poll: bool, final_: bool) -> ControlPacket {
        let timing = self.advertised();
        ControlPacket {
            diag: self.local_diag,
            state: self.state,
            poll,
            final_,
            control_plane_independent: false,
            demand: false,
            detect_mult: self.cfg.detect_mult,
            my_discriminator: self.cfg.local_discriminator,
            your_discriminator: self.remote_discr,
            desired_min_tx_us: timing.desired_tx_us,
            required_min_rx_us: timing.required_rx_us,
            required_min_echo_rx_us: 0,
        }
    }

    /// Sends a periodic-style packet now (Poll bit while polling) and
    /// schedules the next one a jittered interval later.
    fn send_now(&mut self, now: Instant, out: &mut Output) {
        if self.periodic_allowed() {
            out.send.push(self.packet(self.polling(), false));
        }
        let wait = jittered_us(
            self.tx_interval().as_micros() as u64,
            self.cfg.detect_mult,
            &mut self.rng,
        );
        self.tx_at = Some(now + Duration::from_micros(wait));
    }

    fn timers(&mut self, now: Instant, out: &mut Output) {
        if self.detect_at.is_some_and(|at| at <= now) {
            self.detect_at = None;
            self.last_rx = None;
            self.remote_discr = 0;
            if matches!(self.state, SessionState::Init | SessionState::Up) {
                self.set_state(
                    SessionState::Down,
                    Diag::ControlDetectionTimeExpired,
                    now,
                    out,
                );
            }
        }
        if self.tx_at.is_some_and(|at| at <= now) {
            self.send_now(now, out);
        }
    }

    /// Moves to `to` with `diag`, reports it, and tells the peer at once.
    fn set_state(&mut self, to: SessionState, diag: Diag, now: Instant, out: &mut Output) {
        let from = self.state;
        if from == to {
            return;
        }
        let before = self.advertised();
        self.state = to;
        self.local_diag = diag;
        if from == SessionState::Up {
            self.poll_from = None;
        }
        out.changes.push(StateChange { from, to, diag });
        self.timing_changed(before, now);
        self.send_now(now, out);
    }

    fn set_timing(
        &mut self,
        desired_min_tx: Duration,
        required_min_rx: Duration,
        detect_mult: u8,
        now: Instant,
        out: &mut Output,
    ) {
        let cfg = SessionConfig {
            desired_min_tx,
            required_min_rx,
            detect_mult,
            ..self.cfg
        };
        if cfg.validate().is_err() {
            return;
        }
        let before = self.advertised();
        self.cfg = cfg;
        if self.timing_changed(before, now) {
            self.send_now(now, out);
        }
    }

    /// After the advertised timing may have changed from `before`: starts a
    /// Poll Sequence when Up (returns true when one started) and pulls the
    /// timers in if the new intervals are shorter.
    fn timing_changed(&mut self, before: Timing, now: Instant) -> bool {
        let started = self.advertised() != before
            && self.state == SessionState::Up
            && self.poll_from.is_none();
        if started {
            self.poll_from = Some(before);
        }
        self.retime(now);
        started
    }

    /// Recomputes the detection deadline from the last accepted packet and
    /// brings the next periodic packet forward when the interval shrank.
    fn retime(&mut self, now: Instant) {
        if let (Some(last), Some(detect)) = (self.last_rx, self.detection_time()) {
            self.detect_at = Some(last + detect);
        }
        let soonest = now + self.tx_interval();
        if self.tx_at.is_some_and(|at| at > soonest) {
            let wait = jittered_us(
                self.tx_interval().as_micros() as u64,
                self.cfg.detect_mult,
                &mut self.rng,
            );
            self.tx_at = Some(now + Duration::from_micros(wait));
        }
    }
}
