use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn setup() -> (PeerDown, View, Instant) {
    let t0 = Instant::now();
    let down = PeerDown {
        peer: ip("192.0.2.1"),
        last_packet: Some(t0),
        tx_interval: Duration::from_millis(20),
    };
    let view = View {
        backup: true,
        master: Some(ip("192.0.2.1")),
        me: (99, ip("192.0.2.2")),
        live: vec![(ip("192.0.2.3"), Some(98))],
        last_advert: Some(t0 - Duration::from_millis(50)),
    };
    (down, view, t0)
}

#[test]
fn the_election_winner_among_the_live_takes_over() {
    let (down, view, _) = setup();
    assert_eq!(decide(&down, &view), Verdict::TakeOver);
}

#[test]
fn a_lower_backup_defers_to_the_live_winner() {
    let (down, mut view, _) = setup();
    view.me = (98, ip("192.0.2.3"));
    view.live = vec![(ip("192.0.2.2"), Some(99))];
    assert_eq!(decide(&down, &view), Verdict::Outranked(ip("192.0.2.2")));
}

#[test]
fn equal_priority_is_won_by_the_higher_address() {
    let (down, mut view, _) = setup();
    view.live = vec![(ip("192.0.2.3"), Some(99))];
    assert_eq!(decide(&down, &view), Verdict::Outranked(ip("192.0.2.3")));
    view.me = (99, ip("192.0.2.9"));
    assert_eq!(decide(&down, &view), Verdict::TakeOver);
}

#[test]
fn an_unknown_priority_may_outrank_us() {
    let (down, mut view, _) = setup();
    view.live = vec![(ip("192.0.2.3"), None)];
    assert_eq!(decide(&down, &view), Verdict::Outranked(ip("192.0.2.3")));
}

#[test]
fn the_dead_peer_itself_never_counts_as_live() {
    let (down, mut view, _) = setup();
    view.live = vec![(ip("192.0.2.1"), Some(200))];
    assert_eq!(decide(&down, &view), Verdict::TakeOver);
}

#[test]
fn only_the_followed_master_and_only_as_backup() {
    let (down, mut view, _) = setup();
    view.master = Some(ip("192.0.2.3"));
    assert_eq!(decide(&down, &view), Verdict::NotMaster);
    view.master = Some(ip("192.0.2.1"));
    view.backup = false;
    assert_eq!(decide(&down, &view), Verdict::NotMaster);
}

#[test]
fn adverts_after_bfd_went_quiet_mean_the_master_lives() {
    let (down, mut view, t0) = setup();
    view.last_advert = Some(t0 + Duration::from_millis(30));
    assert_eq!(decide(&down, &view), Verdict::AdvertsStillArrive);
    // An advert sent just before a crash (within one BFD interval of the
    // last BFD packet) is no proof of life.
    view.last_advert = Some(t0 + Duration::from_millis(15));
    assert_eq!(decide(&down, &view), Verdict::TakeOver);
}
