//! Fuzz the router with arbitrary event sequences on an advancing clock: it
//! must never panic, and its actions must stay consistent (VIPs held exactly
//! in Master, state changes chained, nothing left overdue after a timer fired).
#![no_main]

use std::net::IpAddr;
use std::time::{Duration, Instant};

use k8s_vip::vrrp::packet::{Advert, Version};
use k8s_vip::vrrp::router::{Action, Event, Router, RouterConfig, State};
use libfuzzer_sys::fuzz_target;

fn ip(last: u8) -> IpAddr {
    IpAddr::from([192, 0, 2, last])
}

fuzz_target!(|data: &[u8]| {
    let Some((head, ops)) = data.split_first_chunk::<4>() else {
        return;
    };
    let mut cfg = RouterConfig::new(head[0].max(1), ip(11), vec![ip(100)]);
    cfg.priority = head[1];
    cfg.preempt = head[2] & 1 == 1;
    cfg.preempt_delay = Duration::from_millis(u64::from(head[2] >> 1) * 10);
    cfg.version = if head[3] & 1 == 1 { Version::V2 } else { Version::V3 };
    cfg.advert_interval = Duration::from_millis(10 * (u64::from(head[3] >> 1) + 1));
    cfg.garp_refresh = (head[3] & 0x80 != 0).then_some(Duration::from_millis(500));
    let vrid = cfg.vrid;
    let version = cfg.version;
    let mut r = Router::new(cfg);
    let mut now = Instant::now();
    let mut vips = false;
    let mut state = State::Initialize;

    for op in ops.chunks_exact(4) {
        now += Duration::from_millis(u64::from(u16::from_le_bytes([op[2], op[3]]) % 5000));
        if op[0] % 16 >= 14 {
            // Config reload with new tunables (identity kept).
            let mut cfg = r.config().clone();
            cfg.priority = op[1];
            cfg.preempt = op[2] & 1 == 1;
            cfg.advert_interval = Duration::from_millis(10 * (u64::from(op[3]) + 1));
            cfg.garp_refresh = (op[2] & 2 == 2).then_some(Duration::from_millis(300));
            if let Some(actions) = r.reconfigure(cfg, now) {
                for a in actions {
                    assert!(
                        !matches!(a, Action::StateChanged { .. } | Action::AddVips | Action::RemoveVips),
                        "reconfigure must not change state or VIPs: {a:?}"
                    );
                }
            }
            assert_eq!(vips, r.state() == State::Master);
            continue;
        }
        let ev = match op[0] % 16 {
            0 => Event::Startup,
            1 => Event::Adopt,
            2 => Event::Shutdown,
            3 | 4 | 5 => {
                let mut advert = Advert::v3(vrid, op[1], u16::from(op[2]) * 7, vec![ip(100)]);
                advert.version = version;
                if op[3] & 1 == 1 {
                    advert.vrid = op[3];
                }
                Event::AdvertReceived {
                    from: ip(op[3] % 4 + 10),
                    advert,
                }
            }
            6 | 7 => Event::TimerExpired,
            8 => Event::PriorityChanged(op[1]),
            9 => Event::HealthChanged { healthy: op[1] & 1 == 1 },
            10 => {
                if op[1] & 1 == 1 {
                    Event::Pause
                } else {
                    Event::Resume
                }
            }
            11 => Event::StepDown {
                hold: Duration::from_millis(u64::from(op[1]) * 100),
            },
            12 => Event::LinkDown,
            _ => Event::LinkUp,
        };
        let fired = ev == Event::TimerExpired;
        for a in r.handle(ev, now) {
            match a {
                Action::AddVips => vips = true,
                Action::RemoveVips => vips = false,
                Action::SendGratuitous => assert!(vips, "announcing VIPs it does not hold"),
                // An overdue deadline may be re-armed (the shell fires it at
                // once), but answering TimerExpired must leave nothing overdue,
                // or the shell would spin.
                Action::SetTimer(t) => assert!(!fired || t > now, "timer re-armed overdue"),
                Action::StateChanged { from, to, .. } => {
                    assert_eq!(from, state);
                    assert_ne!(from, to);
                    state = to;
                }
                _ => {}
            }
        }
        assert_eq!(state, r.state());
        assert_eq!(vips, r.state() == State::Master, "VIPs held outside Master");
    }
});
