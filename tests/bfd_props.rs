//! Two BFD sessions joined by a simulated link with arbitrary loss and delay:
//! neither claims Up while the other has been Down/AdminDown for longer than
//! its detection time (plus the packets still in flight), and on a clean
//! link both come Up within three one-way delays of the later start and stay Up.

use std::time::{Duration, Instant};

use k8s_vip::bfd::jitter::SplitMix64;
use k8s_vip::bfd::packet::{ControlPacket, SessionState};
use k8s_vip::bfd::session::{Event, Session, SessionConfig};
use proptest::prelude::*;

/// One direction of the link: per packet (cycled), lost or delayed.
#[derive(Debug, Clone)]
struct Link {
    lost: Vec<bool>,
    delay_ms: Vec<u64>,
    sent: usize,
}

impl Link {
    fn clean(delay_ms: u64) -> Link {
        Link {
            lost: vec![false],
            delay_ms: vec![delay_ms],
            sent: 0,
        }
    }

    /// When a packet sent at `now` arrives, or None when it is lost.
    fn carry(&mut self, now: Instant) -> Option<Instant> {
        let k = self.sent;
        self.sent += 1;
        if self.lost[k % self.lost.len()] {
            return None;
        }
        Some(now + Duration::from_millis(self.delay_ms[k % self.delay_ms.len()]))
    }

    fn max_delay(&self) -> Duration {
        Duration::from_millis(self.delay_ms.iter().copied().max().unwrap_or(0))
    }
}

struct Sim {
    t0: Instant,
    sessions: [Option<Session>; 2],
    links: [Link; 2],
    /// (arrival, to whom, packet)
    in_flight: Vec<(Instant, usize, ControlPacket)>,
    /// Since when each side has been Down/AdminDown (None: Init/Up).
    down_since: [Option<Instant>; 2],
    /// When each side first came Up.
    first_up: [Option<Instant>; 2],
    /// Any change away from Up after the first Up.
    went_down: [bool; 2],
}

fn config(discr: u32, tx_ms: u64, rx_ms: u64, mult: u8) -> SessionConfig {
    SessionConfig {
        local_discriminator: discr,
        desired_min_tx: Duration::from_millis(tx_ms),
        required_min_rx: Duration::from_millis(rx_ms),
        detect_mult: mult,
        passive: false,
    }
}

impl Sim {
    fn new(links: [Link; 2], t0: Instant) -> Sim {
        Sim {
            t0,
            sessions: [None, None],
            links,
            in_flight: Vec::new(),
            down_since: [Some(t0), Some(t0)],
            first_up: [None, None],
            went_down: [false, false],
        }
    }

    fn start(&mut self, who: usize, cfg: SessionConfig, seed: u64, now: Instant) {
        self.sessions[who] = Some(Session::new(cfg, SplitMix64::new(seed), now).unwrap());
        self.down_since[who] = Some(now);
    }

    fn deliver(&mut self, who: usize, event: Event, now: Instant) {
        let Some(s) = self.sessions[who].as_mut() else {
            return; // not started yet: the packet is lost
        };
        let out = s.handle(event, now);
        for change in out.changes {
            let downish = matches!(change.to, SessionState::Down | SessionState::AdminDown);
            if downish && self.down_since[who].is_none() {
                self.down_since[who] = Some(now);
            } else if !downish {
                self.down_since[who] = None;
            }
            if change.to == SessionState::Up && self.first_up[who].is_none() {
                self.first_up[who] = Some(now);
            }
            if change.from == SessionState::Up {
                self.went_down[who] = true;
            }
        }
        for p in out.send {
            if let Some(at) = self.links[who].carry(now) {
                self.in_flight.push((at, 1 - who, p));
            }
        }
    }

    fn next_time(&self, script: &[(Instant, usize, Event)]) -> Option<Instant> {
        let deadlines = self
            .sessions
            .iter()
            .flatten()
            .filter_map(|s| s.next_deadline());
        let arrivals = self.in_flight.iter().map(|f| f.0);
        let scripted = script.iter().map(|s| s.0);
        deadlines.chain(arrivals).chain(scripted).min()
    }

    /// Runs until `end`, calling `check` after every step.
    fn run(
        &mut self,
        mut script: Vec<(Instant, usize, Event)>,
        end: Instant,
        mut check: impl FnMut(&Sim, Instant),
    ) {
        for _ in 0..2_000_000 {
            let Some(now) = self.next_time(&script) else {
                return;
            };
            if now > end {
                return;
            }
            let (due, later): (Vec<_>, Vec<_>) = script.into_iter().partition(|s| s.0 <= now);
            script = later;
            for (_, who, event) in due {
                self.deliver(who, event, now);
            }
            let (due, later): (Vec<_>, Vec<_>) = self.in_flight.drain(..).partition(|f| f.0 <= now);
            self.in_flight = later;
            for (_, who, p) in due {
                self.deliver(who, Event::Received(p), now);
            }
            for who in 0..2 {
                let fire = self.sessions[who]
                    .as_ref()
                    .and_then(|s| s.next_deadline())
                    .is_some_and(|d| d <= now);
                if fire {
                    self.deliver(who, Event::TimerFired, now);
                }
            }
            check(self, now);
        }
        panic!("simulation did not finish");
    }

    /// The safety property: `who` is Up only while the other side has been
    /// Down/AdminDown for at most `who`'s detection time plus the longest
    /// one-way delay of the other side's packets.
    fn check_safety(&self, now: Instant) {
        for who in 0..2 {
            let Some(s) = self.sessions[who].as_ref() else {
                continue;
            };
            let other = 1 - who;
            if s.state() != SessionState::Up {
                continue;
            }
            let Some(since) = self.down_since[other] else {
                continue;
            };
            let detect = s.detection_time().expect("Up implies heard");
            let bound = detect + self.links[other].max_delay();
            assert!(
                now - since <= bound,
                "side {who} Up at {:?} although side {other} is {} since {:?} (bound {bound:?})",
                now - self.t0,
                self.sessions[other]
                    .as_ref()
                    .map_or(SessionState::Down, |o| o.state()),
                since - self.t0,
            );
        }
    }
}

fn timing() -> impl Strategy<Value = (u64, u64, u8)> {
    (10u64..=300, 10u64..=300, 1u8..=5)
}

fn link(max_delay_ms: u64) -> impl Strategy<Value = Link> {
    (
        prop::collection::vec(prop::bool::weighted(0.3), 1..64),
        prop::collection::vec(0..=max_delay_ms, 1..16),
    )
        .prop_map(|(lost, delay_ms)| Link {
            lost,
            delay_ms,
            sent: 0,
        })
}

/// Operator actions on either side: (time in ms, side, admin down?).
fn admin_script() -> impl Strategy<Value = Vec<(u64, usize, bool)>> {
    prop::collection::vec((0u64..20_000, 0usize..2, any::<bool>()), 0..4)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn never_up_while_the_other_is_down_past_detection_time(
        ta in timing(), tb in timing(),
        ab in link(40), ba in link(40),
        admin in admin_script(),
        seeds in (any::<u64>(), any::<u64>()),
    ) {
        let t0 = Instant::now();
        let mut sim = Sim::new([ab, ba], t0);
        sim.start(0, config(0xa, ta.0, ta.1, ta.2), seeds.0, t0);
        sim.start(1, config(0xb, tb.0, tb.1, tb.2), seeds.1, t0);
        let script = admin
            .into_iter()
            .map(|(at, who, down)| {
                let ev = if down { Event::AdminDown } else { Event::AdminUp };
                (t0 + Duration::from_millis(at), who, ev)
            })
            .collect();
        sim.run(script, t0 + Duration::from_secs(30), |sim, now| sim.check_safety(now));
    }

    #[test]
    fn clean_link_comes_up_fast_and_stays_up(
        ta in timing(), tb in timing(),
        delays in (0u64..=20, 0u64..=20),
        offset_ms in 0u64..3_000,
        seeds in (any::<u64>(), any::<u64>()),
    ) {
        let t0 = Instant::now();
        let mut sim = Sim::new([Link::clean(delays.0), Link::clean(delays.1)], t0);
        sim.start(0, config(0xa, ta.0, ta.1, ta.2.max(2)), seeds.0, t0);
        let later = t0 + Duration::from_millis(offset_ms);
        sim.run(Vec::new(), later, |_, _| {});
        sim.start(1, config(0xb, tb.0, tb.1, tb.2.max(2)), seeds.1, later);
        sim.run(Vec::new(), t0 + Duration::from_secs(20), |sim, now| sim.check_safety(now));
        let bound = Duration::from_millis(3 * delays.0.max(delays.1));
        for who in 0..2 {
            let up = sim.first_up[who].expect("both sides come Up on a clean link");
            prop_assert!(up - later <= bound, "side {} Up after {:?}", who, up - later);
            prop_assert!(!sim.went_down[who], "side {} went down on a clean link", who);
            prop_assert_eq!(sim.sessions[who].as_ref().unwrap().state(), SessionState::Up);
            prop_assert!(!sim.sessions[who].as_ref().unwrap().polling());
        }
    }
}
