//! The BFD session state machine (RFC 5880 §6.8): every transition of the
//! §6.8.6 table, detection time, timers, Poll/Final, AdminDown, passive role.

use std::time::{Duration, Instant};

use k8s_vip::bfd::jitter::SplitMix64;
use k8s_vip::bfd::packet::{ControlPacket, DecodeError, Diag, SessionState};
use k8s_vip::bfd::session::{Event, Output, Session, SessionConfig, StateChange};
use SessionState::*;

const LOCAL: u32 = 0x1111;
const REMOTE: u32 = 0x2222;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn config() -> SessionConfig {
    SessionConfig {
        local_discriminator: LOCAL,
        desired_min_tx: ms(20),
        required_min_rx: ms(20),
        detect_mult: 3,
        passive: false,
    }
}

fn session(t0: Instant) -> Session {
    Session::new(config(), SplitMix64::new(1), t0).unwrap()
}

/// A packet from the remote in `state`, 20 ms × 3, knowing our discriminator.
fn remote(state: SessionState) -> ControlPacket {
    ControlPacket {
        diag: Diag::None,
        state,
        poll: false,
        final_: false,
        control_plane_independent: false,
        demand: false,
        detect_mult: 3,
        my_discriminator: REMOTE,
        your_discriminator: LOCAL,
        desired_min_tx_us: 20_000,
        required_min_rx_us: 20_000,
        required_min_echo_rx_us: 0,
    }
}

fn recv(s: &mut Session, p: ControlPacket, now: Instant) -> Output {
    s.handle(Event::Received(p), now)
}

/// A session brought to `state` by received packets at t0.
fn in_state(state: SessionState, t0: Instant) -> Session {
    let mut s = session(t0);
    match state {
        Down => {}
        Init => {
            recv(&mut s, remote(Down), t0);
        }
        Up => {
            recv(&mut s, remote(Init), t0);
        }
        AdminDown => {
            s.handle(Event::AdminDown, t0);
        }
    }
    assert_eq!(s.state(), state);
    s
}

#[test]
fn reception_table_of_6_8_6() {
    // (local state, received state) -> (new state, diag when it changed)
    let table = [
        (Down, AdminDown, Down, None),
        (Down, Down, Init, Some(Diag::None)),
        (Down, Init, Up, Some(Diag::None)),
        (Down, Up, Down, None),
        (Init, AdminDown, Down, Some(Diag::NeighborSignaledDown)),
        (Init, Down, Init, None),
        (Init, Init, Up, Some(Diag::None)),
        (Init, Up, Up, Some(Diag::None)),
        (Up, AdminDown, Down, Some(Diag::NeighborSignaledDown)),
        (Up, Down, Down, Some(Diag::NeighborSignaledDown)),
        (Up, Init, Up, None),
        (Up, Up, Up, None),
        (AdminDown, AdminDown, AdminDown, None),
        (AdminDown, Down, AdminDown, None),
        (AdminDown, Init, AdminDown, None),
        (AdminDown, Up, AdminDown, None),
    ];
    for (from, got, to, diag) in table {
        let t0 = Instant::now();
        let mut s = in_state(from, t0);
        let mut p = remote(got);
        if matches!(got, Down | AdminDown) {
            p.your_discriminator = 0;
        }
        let out = recv(&mut s, p, t0 + ms(5));
        assert_eq!(s.state(), to, "{from:?} + {got:?}");
        let want: Vec<StateChange> = diag
            .map(|diag| StateChange { from, to, diag })
            .into_iter()
            .collect();
        assert_eq!(out.changes, want, "{from:?} + {got:?}");
        if let Some(diag) = diag {
            assert_eq!(s.local_diag(), diag);
            // Every change is told to the peer at once.
            assert_eq!(
                out.send.first().map(|p| p.state),
                Some(to),
                "{from:?} + {got:?}"
            );
        }
    }
}

#[test]
fn first_packet_is_due_at_start_and_says_down_at_1s() {
    let t0 = Instant::now();
    let mut s = session(t0);
    assert_eq!(s.next_deadline(), Some(t0));
    let out = s.handle(Event::TimerFired, t0);
    assert_eq!(out.send.len(), 1);
    let p = out.send[0];
    assert_eq!(
        (p.state, p.diag, p.poll, p.final_),
        (Down, Diag::None, false, false)
    );
    assert_eq!((p.my_discriminator, p.your_discriminator), (LOCAL, 0));
    // §6.8.3: at least 1 s while not Up; the receive interval as configured.
    assert_eq!(
        (p.desired_min_tx_us, p.required_min_rx_us),
        (1_000_000, 20_000)
    );
    assert_eq!(p.detect_mult, 3);
    let next = out.deadline.unwrap() - t0;
    assert!(next >= ms(750) && next <= ms(1000), "{next:?}");
}

#[test]
fn periodic_packets_are_jittered_75_to_100_percent() {
    let t0 = Instant::now();
    let mut s = in_state(Up, t0);
    let mut now = t0;
    let mut gaps = Vec::new();
    for _ in 0..200 {
        // Keep the session alive and the remote's poll answered.
        let mut p = remote(Up);
        p.final_ = true;
        recv(&mut s, p, now);
        let next = s.next_deadline().unwrap();
        gaps.push(next - now);
        now = next;
        s.handle(Event::TimerFired, now);
    }
    let (min, max) = (gaps.iter().min().unwrap(), gaps.iter().max().unwrap());
    assert!(*min >= ms(15) && *max <= ms(20), "{min:?}..{max:?}");
    assert!(
        *min < ms(16) && *max > ms(19),
        "no spread: {min:?}..{max:?}"
    );
}

#[test]
fn multiplier_one_jitters_at_most_90_percent() {
    let t0 = Instant::now();
    let cfg = SessionConfig {
        detect_mult: 1,
        ..config()
    };
    let mut s = Session::new(cfg, SplitMix64::new(9), t0).unwrap();
    let mut now = t0;
    for _ in 0..200 {
        let out = s.handle(Event::TimerFired, now);
        let gap = out.deadline.unwrap() - now;
        assert!(gap >= ms(750) && gap <= ms(900), "{gap:?}");
        now += gap;
    }
}

#[test]
fn coming_up_polls_for_the_fast_interval() {
    let t0 = Instant::now();
    let mut s = in_state(Init, t0);
    let out = recv(&mut s, remote(Up), t0 + ms(1));
    assert_eq!(s.state(), Up);
    let p = out.send[0];
    assert!(p.poll && !p.final_, "the Up packet starts the poll: {p:?}");
    assert_eq!(p.desired_min_tx_us, 20_000);
    assert!(s.polling());
    // While polling, packets carry P; the Final ends it.
    let out = s.handle(Event::TimerFired, s.next_deadline().unwrap());
    assert!(out.send.iter().all(|p| p.poll));
    let mut f = remote(Up);
    f.final_ = true;
    recv(&mut s, f, t0 + ms(30));
    assert!(!s.polling());
    let out = s.handle(Event::TimerFired, s.next_deadline().unwrap());
    assert!(out.send.iter().all(|p| !p.poll));
}

#[test]
fn poll_is_answered_with_final_at_once() {
    let t0 = Instant::now();
    let mut s = in_state(Up, t0);
    let mut p = remote(Up);
    p.poll = true;
    let out = recv(&mut s, p, t0 + ms(3));
    let finals: Vec<_> = out.send.iter().filter(|p| p.final_).collect();
    assert_eq!(finals.len(), 1);
    assert!(!finals[0].poll, "P and F never together");
    assert_eq!(finals[0].state, Up);
    // Also while Down (without respect to the session state).
    let mut s = session(t0);
    let mut p = remote(Down);
    p.your_discriminator = 0;
    p.poll = true;
    let out = recv(&mut s, p, t0);
    assert!(out.send.iter().any(|p| p.final_ && p.state == Init));
}

#[test]
fn detection_time_is_remote_mult_times_agreed_interval() {
    let t0 = Instant::now();
    let mut s = in_state(Up, t0);
    // Remote: 5 × max(our 20 ms rx, its 50 ms tx) = 250 ms.
    let mut p = remote(Up);
    p.detect_mult = 5;
    p.desired_min_tx_us = 50_000;
    p.final_ = true;
    recv(&mut s, p, t0 + ms(10));
    assert_eq!(s.detection_time(), Some(ms(250)));
    // Remote faster than we accept: our 20 ms rules.
    p.desired_min_tx_us = 5_000;
    recv(&mut s, p, t0 + ms(20));
    assert_eq!(s.detection_time(), Some(ms(100)));
}

#[test]
fn silence_for_the_detection_time_takes_it_down_with_diag_1() {
    for from in [Init, Up] {
        let t0 = Instant::now();
        let mut s = in_state(from, t0);
        let mut p = remote(if from == Up { Up } else { Down });
        p.final_ = true;
        if from == Init {
            p.your_discriminator = 0;
        }
        recv(&mut s, p, t0 + ms(10));
        let detect = s.detection_time().unwrap();
        let dead = t0 + ms(10) + detect;
        // Just before: nothing.
        let out = s.handle(Event::TimerFired, dead - ms(1));
        assert!(out.changes.is_empty());
        assert_eq!(s.state(), from);
        // Drive the timer like the shell does, up to the deadline.
        let mut now = dead - ms(1);
        let mut changes = Vec::new();
        while now <= dead {
            let out = s.handle(Event::TimerFired, now);
            changes.extend(out.changes);
            now = out.deadline.unwrap().max(now + Duration::from_micros(1));
        }
        assert_eq!(
            changes,
            vec![StateChange {
                from,
                to: Down,
                diag: Diag::ControlDetectionTimeExpired
            }]
        );
        assert_eq!(s.remote_discriminator(), 0, "RemoteDiscr cleared");
        assert_eq!(s.local_diag(), Diag::ControlDetectionTimeExpired);
        // Back to the slow rate, telling the peer why.
        let out = s.handle(Event::TimerFired, s.next_deadline().unwrap());
        assert_eq!(out.send[0].desired_min_tx_us, 1_000_000);
        assert_eq!(out.send[0].diag, Diag::ControlDetectionTimeExpired);
        assert_eq!(out.send[0].your_discriminator, 0);
    }
}

#[test]
fn down_session_does_not_expire_into_a_change() {
    let t0 = Instant::now();
    let mut s = session(t0);
    let mut p = remote(AdminDown);
    p.your_discriminator = 0;
    recv(&mut s, p, t0);
    let out = s.handle(Event::TimerFired, t0 + Duration::from_secs(10));
    assert!(out.changes.is_empty());
    assert_eq!(s.state(), Down);
}

#[test]
fn admin_down_tells_the_peer_and_ignores_it() {
    let t0 = Instant::now();
    let mut s = in_state(Up, t0);
    let out = s.handle(Event::AdminDown, t0 + ms(1));
    assert_eq!(
        out.changes,
        vec![StateChange {
            from: Up,
            to: AdminDown,
            diag: Diag::AdministrativelyDown
        }]
    );
    assert_eq!(out.send[0].state, AdminDown);
    assert_eq!(out.send[0].diag, Diag::AdministrativelyDown);
    assert_eq!(out.send[0].desired_min_tx_us, 1_000_000);
    // Packets from the peer change nothing, silence does not either.
    let out = recv(&mut s, remote(Up), t0 + ms(2));
    assert!(out.changes.is_empty() && out.send.is_empty());
    let out = s.handle(Event::TimerFired, t0 + Duration::from_secs(5));
    assert!(out.changes.is_empty());
    assert_eq!(out.send.first().map(|p| p.state), Some(AdminDown));
    // AdminUp starts over from Down.
    let out = s.handle(Event::AdminUp, t0 + Duration::from_secs(6));
    assert_eq!(
        out.changes,
        vec![StateChange {
            from: AdminDown,
            to: Down,
            diag: Diag::None
        }]
    );
    assert!(s
        .handle(Event::AdminUp, t0 + Duration::from_secs(6))
        .changes
        .is_empty());
}

#[test]
fn wrong_your_discriminator_is_discarded() {
    let t0 = Instant::now();
    let mut s = in_state(Up, t0);
    let mut p = remote(Down);
    p.your_discriminator = 0xdead;
    let out = recv(&mut s, p, t0 + ms(1));
    assert_eq!(out.discarded, Some(DecodeError::BadDiscriminator(0xdead)));
    assert_eq!(s.state(), Up);
    assert!(out.changes.is_empty() && out.send.is_empty());
}

#[test]
fn passive_session_waits_for_the_remote() {
    let t0 = Instant::now();
    let cfg = SessionConfig {
        passive: true,
        ..config()
    };
    let mut s = Session::new(cfg, SplitMix64::new(3), t0).unwrap();
    for k in 0..5 {
        let out = s.handle(Event::TimerFired, t0 + Duration::from_secs(k));
        assert!(out.send.is_empty());
    }
    let mut p = remote(Down);
    p.your_discriminator = 0;
    let out = recv(&mut s, p, t0 + Duration::from_secs(5));
    assert_eq!(out.send.first().map(|p| p.state), Some(Init));
}

#[test]
fn remote_required_min_rx_zero_stops_periodic_packets() {
    let t0 = Instant::now();
    let mut s = in_state(Up, t0);
    let mut p = remote(Up);
    p.required_min_rx_us = 0;
    p.final_ = true;
    recv(&mut s, p, t0 + ms(1));
    let out = s.handle(Event::TimerFired, s.next_deadline().unwrap());
    assert!(out.send.is_empty());
}

#[test]
fn tx_interval_is_the_slower_of_ours_and_the_remote_rx() {
    let t0 = Instant::now();
    let mut s = in_state(Up, t0);
    let mut p = remote(Up);
    p.final_ = true;
    p.required_min_rx_us = 300_000;
    recv(&mut s, p, t0 + ms(1));
    assert_eq!(s.tx_interval(), ms(300));
    p.required_min_rx_us = 10_000;
    recv(&mut s, p, t0 + ms(2));
    assert_eq!(s.tx_interval(), ms(20));
}

#[test]
fn slower_tx_waits_for_the_final_faster_rx_too() {
    let t0 = Instant::now();
    let mut s = in_state(Up, t0);
    let mut f = remote(Up);
    f.final_ = true;
    recv(&mut s, f, t0 + ms(1));
    assert!(!s.polling());
    assert_eq!(s.detection_time(), Some(ms(60)));
    // Slower TX, faster RX.
    let out = s.handle(
        Event::SetTiming {
            desired_min_tx: ms(100),
            required_min_rx: ms(10),
            detect_mult: 3,
        },
        t0 + ms(2),
    );
    assert!(s.polling());
    let p = out.send[0];
    assert!(p.poll);
    assert_eq!(
        (p.desired_min_tx_us, p.required_min_rx_us),
        (100_000, 10_000)
    );
    // Old values in force until the Final: TX 20 ms, detection on 20 ms.
    assert_eq!(s.tx_interval(), ms(20));
    let mut r = remote(Up);
    r.desired_min_tx_us = 10_000;
    recv(&mut s, r, t0 + ms(3));
    assert_eq!(s.detection_time(), Some(ms(60)));
    r.final_ = true;
    recv(&mut s, r, t0 + ms(4));
    assert!(!s.polling());
    assert_eq!(s.tx_interval(), ms(100));
    assert_eq!(s.detection_time(), Some(ms(30)));
}

#[test]
fn leaving_up_ends_the_poll_and_restores_the_1s_floor() {
    let t0 = Instant::now();
    let mut s = in_state(Up, t0);
    assert!(s.polling());
    let mut p = remote(Down);
    p.your_discriminator = 0;
    let out = recv(&mut s, p, t0 + ms(5));
    assert!(!s.polling());
    assert_eq!(out.send[0].desired_min_tx_us, 1_000_000);
    assert!(!out.send[0].poll);
}

#[test]
fn remote_demand_mode_silences_us_when_both_up() {
    let t0 = Instant::now();
    let mut s = in_state(Up, t0);
    let mut p = remote(Up);
    p.final_ = true;
    p.demand = true;
    recv(&mut s, p, t0 + ms(1));
    let out = s.handle(Event::TimerFired, s.next_deadline().unwrap());
    assert!(out.send.is_empty());
}

#[test]
fn invalid_configs_are_refused() {
    let t0 = Instant::now();
    for cfg in [
        SessionConfig {
            local_discriminator: 0,
            ..config()
        },
        SessionConfig {
            desired_min_tx: Duration::ZERO,
            ..config()
        },
        SessionConfig {
            detect_mult: 0,
            ..config()
        },
    ] {
        assert!(Session::new(cfg, SplitMix64::new(0), t0).is_err());
    }
}

/// The exchange captured with FRR's bfdd: its Init at 1 s, then Up with a
/// Poll for 20 ms, our Final, then packets every ~20 ms: no expiry.
#[test]
fn frr_handshake_stays_up() {
    let t0 = Instant::now();
    let mut s = session(t0);
    s.handle(Event::TimerFired, t0);
    let slow = ControlPacket {
        desired_min_tx_us: 1_000_000,
        required_min_rx_us: 1_000_000,
        ..remote(Init)
    };
    recv(&mut s, slow, t0 + ms(10));
    assert_eq!(s.state(), Up);
    let mut poll = remote(Up);
    poll.poll = true;
    let out = recv(&mut s, poll, t0 + ms(11));
    assert!(out.send.iter().any(|p| p.final_));
    let mut fin = remote(Up);
    fin.final_ = true;
    recv(&mut s, fin, t0 + ms(12));
    let mut now = t0 + ms(12);
    let mut next_rx = now + ms(18);
    let end = t0 + Duration::from_secs(5);
    while now < end {
        let deadline = s.next_deadline().unwrap();
        if next_rx <= deadline {
            now = next_rx;
            recv(&mut s, remote(Up), now);
            next_rx = now + ms(18);
        } else {
            now = deadline;
            let out = s.handle(Event::TimerFired, now);
            assert!(
                out.changes.is_empty(),
                "at {:?}: {:?}",
                now - t0,
                out.changes
            );
        }
    }
    assert_eq!(s.state(), Up);
}
