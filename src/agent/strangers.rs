//! Advert sources for an instance's VRID that are not its configured unicast
//! peers: remembered, counted and logged within fixed bounds.
//!
//! Why bounded: anyone on the segment can send adverts for our VRID from as
//! many (spoofed) source addresses as they like. Keeping every source made
//! the agent grow with each one, the status document (which the charm hands
//! to `status-set`, an argument the kernel caps at 128 KiB) grow without
//! limit, and the log gain a line per source. So only the [`KEEP`] newest
//! distinct sources are kept (for the status document), every refused advert
//! is counted, a new source is logged at once only if the last such line is
//! at least [`LOG_EVERY`] old (the others are counted and summed up in the
//! next line), and a change of the kept sources is published at most once per
//! [`PUBLISH_EVERY`].

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// How many of the newest distinct sources are kept and shown.
pub const KEEP: usize = 4;
/// Shortest gap between two log lines about new sources.
pub const LOG_EVERY: Duration = Duration::from_secs(10);
/// Shortest gap between two status publishes caused by new sources.
pub const PUBLISH_EVERY: Duration = Duration::from_secs(1);

/// What to log after [`Strangers::refuse`] or [`Strangers::flush`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// The source that is new (None in a summary of suppressed sources).
    pub source: Option<IpAddr>,
    /// New sources not logged since the previous line.
    pub suppressed: u64,
}

/// The bounded record of strangers of one instance.
#[derive(Debug, Clone, Default)]
pub struct Strangers {
    newest: VecDeque<IpAddr>,
    refused: u64,
    suppressed: u64,
    next_log: Option<Instant>,
    changed: bool,
    next_publish: Option<Instant>,
}

impl Strangers {
    /// Records one refused advert from `src` at `now`; returns the line to
    /// log when `src` is new and logging is not held back.
    pub fn refuse(&mut self, src: IpAddr, now: Instant) -> Option<LogLine> {
        self.refused += 1;
        if let Some(pos) = self.newest.iter().position(|a| *a == src) {
            // Known: move it to the newest end without a publish.
            if pos + 1 != self.newest.len() {
                self.newest.remove(pos);
                self.newest.push_back(src);
            }
            return None;
        }
        if self.newest.len() == KEEP {
            self.newest.pop_front();
        }
        self.newest.push_back(src);
        self.changed = true;
        if self.next_log.is_some_and(|t| now < t) {
            self.suppressed += 1;
            return None;
        }
        self.next_log = Some(now + LOG_EVERY);
        Some(LogLine {
            source: Some(src),
            suppressed: std::mem::take(&mut self.suppressed),
        })
    }

    /// A summary of new sources held back, once their log window is over.
    pub fn flush(&mut self, now: Instant) -> Option<LogLine> {
        if self.suppressed == 0 || self.next_log.is_some_and(|t| now < t) {
            return None;
        }
        self.next_log = Some(now + LOG_EVERY);
        Some(LogLine {
            source: None,
            suppressed: std::mem::take(&mut self.suppressed),
        })
    }

    /// True (once) when the kept sources changed and the last publish they
    /// caused is at least [`PUBLISH_EVERY`] old.
    pub fn take_publish(&mut self, now: Instant) -> bool {
        if !self.changed || self.next_publish.is_some_and(|t| now < t) {
            return false;
        }
        self.changed = false;
        self.next_publish = Some(now + PUBLISH_EVERY);
        true
    }

    /// The kept sources, oldest first.
    pub fn newest(&self) -> impl Iterator<Item = &IpAddr> {
        self.newest.iter()
    }

    /// Adverts refused so far.
    pub fn refused(&self) -> u64 {
        self.refused
    }

    /// Drops the kept sources that a reload made peers: a unit whose adverts
    /// arrived before the charm listed it is no stranger once listed, and
    /// keeping it would show a false VRID collision until the agent restarts.
    pub fn forget_peers(&mut self, peers: &[IpAddr]) {
        let before = self.newest.len();
        self.newest.retain(|a| !peers.contains(a));
        if self.newest.len() != before {
            self.changed = true;
            self.next_publish = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_made_a_peer_by_a_reload_is_no_longer_shown() {
        let now = Instant::now();
        let mut s = Strangers::default();
        let peer: IpAddr = "192.0.2.13".parse().unwrap();
        let other: IpAddr = "198.51.100.7".parse().unwrap();
        s.refuse(peer, now);
        s.refuse(other, now);
        assert!(s.take_publish(now));
        s.forget_peers(&[peer]);
        assert_eq!(s.newest().copied().collect::<Vec<_>>(), vec![other]);
        assert_eq!(s.refused(), 2, "the count of refused adverts stays");
        assert!(s.take_publish(now), "the change is published at once");
    }

    fn addr(i: u32) -> IpAddr {
        IpAddr::V4((0xc633_6400 + i).into())
    }

    #[test]
    fn keeps_only_the_newest_few_and_counts_all() {
        let mut s = Strangers::default();
        let t = Instant::now();
        for i in 0..20_000 {
            s.refuse(addr(i % 254), t);
        }
        assert_eq!(s.refused(), 20_000);
        let kept: Vec<IpAddr> = s.newest().copied().collect();
        assert_eq!(kept.len(), KEEP);
        assert_eq!(kept.last(), Some(&addr(19_999 % 254)));
    }

    #[test]
    fn one_line_per_window_with_the_count_of_what_was_held_back() {
        let mut s = Strangers::default();
        let t = Instant::now();
        let first = s.refuse(addr(1), t).expect("first source is logged");
        assert_eq!((first.source, first.suppressed), (Some(addr(1)), 0));
        assert_eq!(s.refuse(addr(1), t), None, "a known source is not new");
        for i in 2..12 {
            assert_eq!(s.refuse(addr(i), t + Duration::from_secs(1)), None);
        }
        assert_eq!(s.flush(t + Duration::from_secs(5)), None, "window not over");
        let sum = s.flush(t + LOG_EVERY).expect("summary after the window");
        assert_eq!((sum.source, sum.suppressed), (None, 10));
        assert_eq!(s.flush(t + LOG_EVERY * 3), None, "nothing left to say");
        let next = s.refuse(addr(50), t + LOG_EVERY * 3).expect("new window");
        assert_eq!(next.suppressed, 0);
    }

    #[test]
    fn a_lone_foreign_router_is_logged_once_and_published_once() {
        let mut s = Strangers::default();
        let t = Instant::now();
        assert!(s.refuse(addr(7), t).is_some());
        assert!(s.take_publish(t));
        for k in 1..100 {
            let now = t + Duration::from_secs(k);
            assert_eq!(s.refuse(addr(7), now), None);
            assert_eq!(s.flush(now), None);
            assert!(!s.take_publish(now));
        }
    }

    #[test]
    fn publishes_are_spaced_out() {
        let mut s = Strangers::default();
        let t = Instant::now();
        s.refuse(addr(1), t);
        assert!(s.take_publish(t));
        s.refuse(addr(2), t);
        assert!(!s.take_publish(t + Duration::from_millis(500)));
        assert!(s.take_publish(t + PUBLISH_EVERY));
    }
}
