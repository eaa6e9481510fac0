//! The router's `MasterDead` hook with the takeover decision, in virtual
//! time: three routers (priorities 100, 90, 80), the master goes silent, the
//! BFD-style Down reaches both backups, and only the election winner acts;
//! the other stays backup and follows the new master's advert.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use k8s_vip::bfd::takeover::{decide, PeerDown, Verdict, View};
use k8s_vip::vrrp::router::{Action, Event, Router, RouterConfig, State};

fn ip(n: u8) -> IpAddr {
    IpAddr::from([192, 0, 2, n])
}

fn router(n: u8, prio: u8) -> Router {
    let mut cfg = RouterConfig::new(51, ip(n), vec!["192.0.2.100".parse().unwrap()]);
    cfg.priority = prio;
    cfg.advert_interval = Duration::from_millis(100);
    Router::new(cfg)
}

/// Delivers every advert in `actions` from `from` to `to`.
fn deliver(from: &Router, actions: &[Action], to: &mut Router, now: Instant) {
    for a in actions {
        if let Action::SendAdvert { priority } = a {
            let advert = from.advert(*priority);
            let src = from.config().primary_addr;
            to.handle(Event::AdvertReceived { from: src, advert }, now);
        }
    }
}

#[test]
fn only_the_winner_among_the_live_takes_over_on_master_dead() {
    let t0 = Instant::now();
    let (mut m, mut b1, mut b2) = (router(11, 100), router(12, 90), router(13, 80));
    let out = m.handle(Event::Adopt, t0);
    for b in [&mut b1, &mut b2] {
        b.handle(Event::Startup, t0);
        deliver(&m, &out, b, t0);
        assert_eq!(b.master(), Some(ip(11)));
    }
    // The master goes silent; 60 ms later both backups' sessions expire.
    let t1 = t0 + Duration::from_millis(60);
    let down = PeerDown {
        peer: ip(11),
        last_packet: Some(t0),
        tx_interval: Duration::from_millis(20),
    };
    let view = |r: &Router, other: u8, prio: u8| View {
        backup: r.state() == State::Backup,
        master: r.master(),
        me: (r.effective_priority(), r.config().primary_addr),
        live: vec![(ip(other), Some(prio))],
        last_advert: Some(t0),
    };
    assert_eq!(decide(&down, &view(&b1, 13, 80)), Verdict::TakeOver);
    assert_eq!(
        decide(&down, &view(&b2, 12, 90)),
        Verdict::Outranked(ip(12))
    );
    let out = b1.handle(Event::MasterDead { master: ip(11) }, t1);
    assert_eq!(b1.state(), State::Master);
    assert!(out.contains(&Action::AddVips));
    // b2 hears the new master at once and keeps following it.
    deliver(&b1, &out, &mut b2, t1);
    assert_eq!((b2.state(), b2.master()), (State::Backup, Some(ip(12))));
    // A MasterDead for a master it does not follow changes nothing.
    assert!(b2
        .handle(Event::MasterDead { master: ip(11) }, t1)
        .is_empty());
    assert_eq!(b2.state(), State::Backup);
}

#[test]
fn master_dead_after_the_masters_resignation_still_acts() {
    let t0 = Instant::now();
    let (mut m, mut b) = (router(11, 100), router(12, 90));
    let out = m.handle(Event::Adopt, t0);
    b.handle(Event::Startup, t0);
    deliver(&m, &out, &mut b, t0);
    let out = m.handle(Event::Shutdown, t0 + Duration::from_millis(5));
    deliver(&m, &out, &mut b, t0 + Duration::from_millis(5));
    assert_eq!(b.master(), None, "resigned");
    b.handle(
        Event::MasterDead { master: ip(11) },
        t0 + Duration::from_millis(6),
    );
    assert_eq!(b.state(), State::Master);
}
