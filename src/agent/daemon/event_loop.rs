//! The loop itself: one turn fires what is due, publishes what changed,
//! sleeps until the next deadline or a ready descriptor, and dispatches
//! what woke it.
//!
//! Every kind of event source plugs in at the same three points:
//! [`Daemon::fire_due`] (its timers), [`Daemon::next_deadline`] (the earliest
//! of them) and [`Daemon::on_ready`] (its descriptors, registered with the
//! poller under a [`Source`] token).

use std::time::{Duration, Instant};

use anyhow::Context;

use super::source::Source;
use super::state::{min_opt, Daemon, Exit};
use crate::agent::log::info;
use crate::vrrp::router::Event;

/// BFD interval advertised while the agent hands over to its successor: the
/// peers' detection time becomes a multiple of it, longer than a restart.
const HANDOVER_BFD_INTERVAL: Duration = Duration::from_secs(5);
/// How long a control connection may take to send its request.
const CONN_TIMEOUT: Duration = Duration::from_secs(5);
/// How often the loop wakes while a control connection is open (to time it out).
const CONN_POLL: Duration = Duration::from_secs(1);

impl Daemon {
    /// Turns until TERM/INT/handover.
    pub(super) fn run_loop(&mut self) -> anyhow::Result<()> {
        let mut now = Instant::now();
        loop {
            // `now` is when the last wait ended (one clock read per turn
            // saved); anything that fell due while that turn was handled
            // makes the next wait return at once.
            self.fire_due(now);
            // Leave before publishing: a graceful stop must send its priority-0
            // advert without waiting for a state file write.
            if self.exit.is_some() {
                return Ok(());
            }
            self.conns
                .retain(|c| !c.done && c.opened.elapsed() < CONN_TIMEOUT);
            self.publish(now);
            now = self.wait(self.next_deadline())?;
        }
    }

    /// Runs everything due at `now`: instance starts, router timers, GARP/NA rounds.
    fn fire_due(&mut self, now: Instant) {
        self.start_ready(now);
        self.fire_timers_until(now, false);
        self.fire_bfd(now);
        for idx in 0..self.instances.len() {
            self.garp_round(idx, now);
        }
    }

    /// The earliest time the loop must wake up even if nothing is ready.
    fn next_deadline(&self) -> Option<Instant> {
        let mut next = min_opt(self.vrrp_deadline(), self.bfd_deadline());
        for inst in &self.instances {
            next = min_opt(next, inst.garp_next);
            next = min_opt(next, inst.start_by);
        }
        if !self.conns.is_empty() {
            next = min_opt(next, Some(Instant::now() + CONN_POLL));
        }
        next
    }

    /// Sleeps until a source is ready or `next`, handles what is ready and
    /// returns when the sleep ended.
    fn wait(&mut self, next: Option<Instant>) -> anyhow::Result<Instant> {
        let timeout = next.map(|t| t.saturating_duration_since(Instant::now()));
        let mut tokens = std::mem::take(&mut self.ready_tokens);
        let mut ready = std::mem::take(&mut self.ready);
        let waited = self.poller.wait(timeout, &mut tokens);
        let woke = Instant::now();
        tokens.sort_unstable();
        ready.clear();
        ready.extend(tokens.iter().filter_map(|t| Source::from_token(*t)));
        if waited.is_ok() {
            self.on_ready(&ready, woke);
        }
        self.ready_tokens = tokens;
        self.ready = ready;
        waited.context("epoll_pwait2")?;
        Ok(woke)
    }

    /// Handles the sources the poller reported ready.
    fn on_ready(&mut self, ready: &[Source], now: Instant) {
        // Signals first (a TERM must not wait behind a burst of packets), then
        // VRRP traffic, then everything else.
        if ready.contains(&Source::Signal) {
            self.on_signal(now);
        }
        // Adverts and timers in the order they really happened.
        self.on_vrrp_ready(ready, now);
        self.fire_timers_until(now, false);
        // BFD after the adverts, so a Down is judged knowing the latest one.
        for s in ready {
            if let Source::Bfd(id) = *s {
                self.on_bfd_ready(id, now);
            }
        }
        let mut conns_ready = Vec::new();
        for s in ready {
            match *s {
                Source::Netlink if self.watcher.drain() => self.on_netlink(now),
                Source::Wake => self.on_check_reports(now),
                Source::Control => self.on_control_accept(),
                Source::Conn(i) => conns_ready.push(i),
                _ => {}
            }
        }
        for i in conns_ready {
            self.on_conn_readable(i, now);
        }
    }

    /// Leaves the loop: graceful = resign + release; handover = leave VIPs.
    pub(super) fn finish(&mut self) {
        let now = Instant::now();
        if self.exit == Some(Exit::Graceful) || self.exit.is_none() {
            // The peers' sessions go Down at once (AdminDown), so the
            // winner takes over without waiting for the detection time.
            self.bfd_admin_down(None, false, now);
            self.feed_started(Event::Shutdown, now);
            self.bgp_finish(false);
        } else {
            // Hand-over: the next agent adopts the VIPs; the peers must not
            // take our restart for a crash.
            self.bfd.slow_down(HANDOVER_BFD_INTERVAL, now);
            self.bgp_finish(true);
        }
        for inst in &mut self.instances {
            inst.handles.clear();
        }
        self.publish(now);
        let _ = std::fs::remove_file(&self.config.control_socket);
        info("k8s-vip agent stopped");
    }
}
