//! The router state machine, one behaviour per test, on a hand-driven clock.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use k8s_vip::vrrp::packet::{Advert, DecodeError, Version};
use k8s_vip::vrrp::router::{Action, Event, Router, RouterConfig, State};

const SEC: Duration = Duration::from_secs(1);

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn cfg(addr: &str, priority: u8) -> RouterConfig {
    let mut c = RouterConfig::new(51, ip(addr), vec![ip("192.0.2.100")]);
    c.priority = priority;
    c
}

fn advert(priority: u8, interval_cs: u16) -> Advert {
    Advert::v3(51, priority, interval_cs, vec![ip("192.0.2.100")])
}

fn rx(from: &str, priority: u8) -> Event {
    Event::AdvertReceived {
        from: ip(from),
        advert: advert(priority, 100),
    }
}

fn timer(actions: &[Action]) -> Option<Instant> {
    actions.iter().rev().find_map(|a| match a {
        Action::SetTimer(t) => Some(*t),
        _ => None,
    })
}

fn reason(actions: &[Action]) -> Option<String> {
    actions.iter().find_map(|a| match a {
        Action::StateChanged { reason, .. } => Some(reason.clone()),
        _ => None,
    })
}

/// `cfg` with preemption on.
fn preempting(addr: &str, priority: u8) -> RouterConfig {
    let mut c = cfg(addr, priority);
    c.preempt = true;
    c
}

/// A router started at `t0` (in backup unless it owns the address).
fn started(c: RouterConfig, t0: Instant) -> Router {
    let mut r = Router::new(c);
    r.handle(Event::Startup, t0);
    r
}

/// One second of a master `from` at `priority` as `r` sees it: its advert,
/// then `r`'s timer check, both at `now`.
fn advert_then_timer(r: &mut Router, from: &str, priority: u8, now: Instant) {
    r.handle(rx(from, priority), now);
    r.handle(Event::TimerExpired, now);
}

/// What a master leaving for `to` does: resign (priority 0 advert), release
/// the VIPs, change state, stop its timer.
fn master_resigns_to(to: State, reason: &str) -> Vec<Action> {
    vec![
        Action::SendAdvert { priority: 0 },
        Action::RemoveVips,
        Action::StateChanged {
            from: State::Master,
            to,
            reason: reason.into(),
        },
        Action::CancelTimer,
    ]
}

/// A router started at `t0` that became master after its master-down timer.
fn master(c: RouterConfig, t0: Instant) -> (Router, Instant) {
    let mut r = Router::new(c);
    let a = r.handle(Event::Startup, t0);
    let t = timer(&a).expect("backup arms the master-down timer");
    r.handle(Event::TimerExpired, t);
    assert_eq!(r.state(), State::Master);
    (r, t)
}

#[test]
fn startup_enters_backup_with_the_rfc_master_down_interval() {
    let t0 = Instant::now();
    let mut r = Router::new(cfg("192.0.2.11", 100));
    assert_eq!(r.state(), State::Initialize);
    let a = r.handle(Event::Startup, t0);
    assert_eq!(r.state(), State::Backup);
    // 3 × 1 s + (256 − 100) × 1 s / 256 = 3.609375 s
    assert_eq!(r.master_down_interval(), Duration::from_micros(3_609_375));
    assert_eq!(timer(&a), Some(t0 + Duration::from_micros(3_609_375)));
    assert_eq!(reason(&a).as_deref(), Some("startup"));
    assert_eq!(r.master(), None);
}

#[test]
fn master_down_timer_makes_master_with_vips_advert_and_gratuitous() {
    let t0 = Instant::now();
    let mut r = Router::new(cfg("192.0.2.11", 100));
    let t = timer(&r.handle(Event::Startup, t0)).unwrap();
    // an early expiry changes nothing and re-arms the same deadline
    assert_eq!(
        r.handle(Event::TimerExpired, t - Duration::from_millis(1)),
        vec![Action::SetTimer(t)]
    );
    let a = r.handle(Event::TimerExpired, t);
    assert_eq!(
        a,
        vec![
            Action::AddVips,
            Action::SendAdvert { priority: 100 },
            Action::SendGratuitous,
            Action::StateChanged {
                from: State::Backup,
                to: State::Master,
                reason: "master down timer expired".into()
            },
            Action::SetTimer(t + SEC),
        ]
    );
    assert_eq!(r.master(), Some(ip("192.0.2.11")));
    let a = r.handle(Event::TimerExpired, t + SEC);
    assert_eq!(
        a,
        vec![
            Action::SendAdvert { priority: 100 },
            Action::SetTimer(t + 2 * SEC)
        ]
    );
}

#[test]
fn master_yields_to_higher_priority() {
    let (mut r, t) = master(cfg("192.0.2.11", 100), Instant::now());
    let a = r.handle(rx("192.0.2.12", 150), t);
    assert_eq!(r.state(), State::Backup);
    // one last advert with our priority tells the winner to re-announce
    assert_eq!(
        &a[..2],
        &[Action::SendAdvert { priority: 100 }, Action::RemoveVips]
    );
    assert_eq!(
        reason(&a).as_deref(),
        Some("higher priority advert from 192.0.2.12 (150 > 100)")
    );
    assert_eq!(r.master(), Some(ip("192.0.2.12")));
}

#[test]
fn equal_priority_is_won_by_the_higher_address() {
    let t0 = Instant::now();
    let (mut r, t) = master(cfg("192.0.2.11", 100), t0);
    let a = r.handle(rx("192.0.2.12", 100), t);
    assert_eq!(r.state(), State::Backup);
    assert_eq!(
        reason(&a).as_deref(),
        Some("equal priority advert from higher address 192.0.2.12 (100)")
    );

    let (mut r, t) = master(cfg("192.0.2.11", 100), t0);
    let a = r.handle(rx("192.0.2.9", 100), t);
    assert_eq!(r.state(), State::Master);
    // the lower router is told at once and the caches are refreshed
    assert!(a.contains(&Action::SendAdvert { priority: 100 }));
    assert!(a.contains(&Action::SendGratuitous));

    // IPv6: compared as 128-bit unsigned integers
    let mut c6 = RouterConfig::new(51, ip("fe80::11"), vec![ip("2001:db8::100")]);
    c6.priority = 100;
    let (mut r, t) = master(c6, t0);
    r.handle(rx("fe80::2", 100), t);
    assert_eq!(r.state(), State::Master);
    r.handle(rx("fe80::1:0", 100), t);
    assert_eq!(r.state(), State::Backup);
}

#[test]
fn priority_zero_makes_backup_take_over_after_skew_time() {
    let t0 = Instant::now();
    let mut r = started(cfg("192.0.2.11", 100), t0);
    r.handle(rx("192.0.2.12", 200), t0);
    let t1 = t0 + SEC;
    let a = r.handle(rx("192.0.2.12", 0), t1);
    assert_eq!(r.skew_time(), Duration::from_micros(609_375));
    assert_eq!(timer(&a), Some(t1 + Duration::from_micros(609_375)));
    assert_eq!(r.master(), None);
    let a = r.handle(Event::TimerExpired, t1 + Duration::from_micros(609_375));
    assert_eq!(r.state(), State::Master);
    assert_eq!(
        reason(&a).as_deref(),
        Some("master down timer expired (192.0.2.12 resigned)")
    );
}

#[test]
fn master_answers_priority_zero_with_an_advert() {
    let (mut r, t) = master(cfg("192.0.2.11", 100), Instant::now());
    let now = t + Duration::from_millis(300);
    let a = r.handle(rx("192.0.2.12", 0), now);
    assert_eq!(
        a,
        vec![
            Action::SendAdvert { priority: 100 },
            Action::SetTimer(now + SEC)
        ]
    );
    assert_eq!(r.state(), State::Master);
}

#[test]
fn without_preempt_a_higher_backup_leaves_the_master_alone() {
    let t0 = Instant::now();
    let mut r = started(cfg("192.0.2.11", 200), t0);
    for i in 0..20 {
        advert_then_timer(&mut r, "192.0.2.12", 100, t0 + SEC * i);
    }
    assert_eq!(r.state(), State::Backup);
    assert_eq!(r.master(), Some(ip("192.0.2.12")));
}

#[test]
fn with_preempt_a_higher_backup_takes_over_after_master_down_interval() {
    let t0 = Instant::now();
    let mut r = Router::new(preempting("192.0.2.11", 200));
    let deadline = timer(&r.handle(Event::Startup, t0)).unwrap();
    // lower adverts are ignored: the deadline is not pushed out
    let a = r.handle(rx("192.0.2.12", 100), t0 + SEC);
    assert_eq!(timer(&a), None);
    let a = r.handle(Event::TimerExpired, deadline);
    assert_eq!(r.state(), State::Master);
    assert_eq!(reason(&a).as_deref(), Some("master down timer expired"));
}

#[test]
fn preempt_delay_runs_from_the_first_lower_advert() {
    let t0 = Instant::now();
    let mut c = preempting("192.0.2.11", 200);
    c.preempt_delay = 10 * SEC;
    let mut r = started(c, t0);
    // adverts every second from a lower master: accepted for 10 s
    for i in 0..10 {
        advert_then_timer(&mut r, "192.0.2.12", 100, t0 + SEC * i);
        assert_eq!(r.state(), State::Backup, "at {i}s");
    }
    // from 10 s on they are ignored, so the master-down timer (reset at 9 s) fires
    for i in 10..20 {
        advert_then_timer(&mut r, "192.0.2.12", 100, t0 + SEC * i);
    }
    assert_eq!(r.state(), State::Master);
}

#[test]
fn backup_learns_the_masters_interval_in_v3() {
    let t0 = Instant::now();
    let mut r = started(cfg("192.0.2.11", 100), t0);
    let a = r.handle(
        Event::AdvertReceived {
            from: ip("192.0.2.12"),
            advert: advert(150, 10),
        },
        t0,
    );
    assert_eq!(r.master_adver_interval(), Duration::from_millis(100));
    // 3 × 100 ms + 156 × 100 ms / 256
    assert_eq!(timer(&a), Some(t0 + Duration::from_micros(360_937)));
}

#[test]
fn shutdown_of_a_master_resigns_and_removes_vips() {
    let (mut r, t) = master(cfg("192.0.2.11", 100), Instant::now());
    let a = r.handle(Event::Shutdown, t);
    assert_eq!(a, master_resigns_to(State::Initialize, "shutdown"));
    assert_eq!(r.advert(0).priority, 0);
}

#[test]
fn step_down_resigns_and_holds_off_preemption() {
    let t0 = Instant::now();
    let (mut r, t) = master(preempting("192.0.2.11", 200), t0);
    let a = r.handle(Event::StepDown { hold: 60 * SEC }, t);
    assert_eq!(a.first(), Some(&Action::SendAdvert { priority: 0 }));
    assert!(a.contains(&Action::RemoveVips));
    assert_eq!(r.state(), State::Backup);
    assert!(reason(&a).unwrap().starts_with("step-down requested"));
    assert_eq!(r.hold_until(t), Some(t + 60 * SEC));
    // a lower-priority peer takes over and we follow it for the whole hold
    for i in 1..60 {
        let now = t + SEC * i;
        advert_then_timer(&mut r, "192.0.2.12", 100, now);
        assert_eq!(r.state(), State::Backup, "at {i}s");
    }
    // after the hold, preemption resumes
    for i in 60..70 {
        let now = t + SEC * i;
        advert_then_timer(&mut r, "192.0.2.12", 100, now);
    }
    assert_eq!(r.state(), State::Master);
}

#[test]
fn step_down_never_leaves_the_vip_without_a_master() {
    let (mut r, t) = master(cfg("192.0.2.11", 100), Instant::now());
    let a = r.handle(Event::StepDown { hold: 60 * SEC }, t);
    let deadline = timer(&a).unwrap();
    r.handle(Event::TimerExpired, deadline);
    assert_eq!(r.state(), State::Master, "nobody else advertised");
}

#[test]
fn step_down_is_a_no_op_unless_master() {
    let t0 = Instant::now();
    let mut r = started(cfg("192.0.2.11", 100), t0);
    assert_eq!(r.handle(Event::StepDown { hold: SEC }, t0), vec![]);
}

#[test]
fn failing_health_moves_a_master_to_fault_and_back_to_backup() {
    let (mut r, t) = master(cfg("192.0.2.11", 100), Instant::now());
    let a = r.handle(Event::HealthChanged { healthy: false }, t);
    assert_eq!(a, master_resigns_to(State::Fault, "health check failed"));
    // adverts are still watched for status
    r.handle(rx("192.0.2.12", 90), t);
    assert_eq!(r.master(), Some(ip("192.0.2.12")));
    let a = r.handle(Event::HealthChanged { healthy: true }, t + SEC);
    assert_eq!(r.state(), State::Backup);
    assert_eq!(reason(&a).as_deref(), Some("health checks passing again"));
}

#[test]
fn link_down_releases_vips_without_advertising() {
    let (mut r, t) = master(cfg("192.0.2.11", 100), Instant::now());
    let a = r.handle(Event::LinkDown, t);
    assert!(!a.iter().any(|x| matches!(x, Action::SendAdvert { .. })));
    assert!(a.contains(&Action::RemoveVips));
    assert_eq!(r.state(), State::Fault);
    r.handle(Event::LinkUp, t + SEC);
    assert_eq!(r.state(), State::Backup);
}

#[test]
fn pause_wins_over_fault_and_resume_restores_the_right_state() {
    let t0 = Instant::now();
    let mut r = started(cfg("192.0.2.11", 100), t0);
    r.handle(Event::Pause, t0);
    assert_eq!(r.state(), State::Paused);
    r.handle(Event::HealthChanged { healthy: false }, t0);
    assert_eq!(r.state(), State::Paused);
    r.handle(Event::Resume, t0);
    assert_eq!(r.state(), State::Fault);
    r.handle(Event::HealthChanged { healthy: true }, t0);
    assert_eq!(r.state(), State::Backup);
    // paused before startup: starts paused
    let mut r = Router::new(cfg("192.0.2.11", 100));
    r.handle(Event::Pause, t0);
    r.handle(Event::Startup, t0);
    assert_eq!(r.state(), State::Paused);
}

#[test]
fn adopt_becomes_master_at_once() {
    let t0 = Instant::now();
    let mut r = Router::new(cfg("192.0.2.11", 100));
    let a = r.handle(Event::Adopt, t0);
    assert_eq!(r.state(), State::Master);
    assert_eq!(
        &a[..3],
        &[
            Action::AddVips,
            Action::SendAdvert { priority: 100 },
            Action::SendGratuitous
        ]
    );
    assert_eq!(timer(&a), Some(t0 + SEC));
    // a paused instance releases what it found instead
    let mut r = Router::new(cfg("192.0.2.11", 100));
    r.handle(Event::Pause, t0);
    let a = r.handle(Event::Adopt, t0);
    assert_eq!(a.first(), Some(&Action::RemoveVips));
    assert_eq!(r.state(), State::Paused);
}

#[test]
fn address_owner_is_master_at_startup() {
    let t0 = Instant::now();
    let r = started(cfg("192.0.2.11", 255), t0);
    assert_eq!(r.state(), State::Master);
}

#[test]
fn master_refreshes_gratuitous_periodically() {
    let t0 = Instant::now();
    let mut c = cfg("192.0.2.11", 100);
    c.garp_refresh = Some(Duration::from_millis(2500));
    let mut r = Router::new(c);
    r.handle(Event::Adopt, t0);
    let mut garps = 0;
    let mut now = t0;
    while now < t0 + 10 * SEC {
        let a = r.handle(Event::TimerExpired, now);
        garps += a.iter().filter(|x| **x == Action::SendGratuitous).count();
        now = timer(&a).unwrap();
    }
    assert_eq!(garps, 3, "at 2.5 s, 5 s and 7.5 s");
}

#[test]
fn priority_change_as_master_is_advertised_at_once() {
    let (mut r, t) = master(cfg("192.0.2.11", 100), Instant::now());
    let a = r.handle(Event::PriorityChanged(50), t);
    assert_eq!(a.first(), Some(&Action::SendAdvert { priority: 50 }));
    assert_eq!(r.effective_priority(), 50);
    r.handle(rx("192.0.2.12", 80), t);
    assert_eq!(r.state(), State::Backup);
}

#[test]
fn instance_level_checks_discard_with_stable_reasons() {
    let t0 = Instant::now();
    let mut c = cfg("192.0.2.11", 100);
    c.version = Version::V2;
    let mut r = started(c, t0);
    let mut v2 = advert(100, 200);
    v2.version = Version::V2;
    let cases = [
        (ip("192.0.2.12"), v2.clone(), "interval_mismatch"),
        (ip("192.0.2.12"), advert(100, 100), "version_mismatch"),
        (
            ip("192.0.2.12"),
            Advert {
                vrid: 9,
                ..v2.clone()
            },
            "unknown_vrid",
        ),
        (
            ip("192.0.2.12"),
            Advert {
                auth_type: 1,
                max_advert_int_cs: 100,
                ..v2.clone()
            },
            "auth_mismatch",
        ),
        (
            ip("192.0.2.11"),
            Advert {
                max_advert_int_cs: 100,
                ..v2.clone()
            },
            "own_address",
        ),
    ];
    for (from, advert, want) in cases {
        let a = r.handle(Event::AdvertReceived { from, advert }, t0);
        match a.as_slice() {
            [Action::Discarded(e)] => assert_eq!(e.reason(), want),
            other => panic!("expected a discard for {want}, got {other:?}"),
        }
    }
    assert!(matches!(
        r.handle(rx("192.0.2.12", 100), t0).as_slice(),
        [Action::Discarded(DecodeError::VersionMismatch { .. })]
    ));
}

#[test]
fn config_validation_names_the_field() {
    let mut c = cfg("192.0.2.11", 100);
    assert_eq!(c.validate(), Ok(()));
    c.advert_interval = Duration::from_millis(5);
    assert!(c.validate().unwrap_err().starts_with("advert-interval"));
    let mut c = cfg("192.0.2.11", 100);
    c.vips = vec![ip("2001:db8::100")];
    assert!(c.validate().unwrap_err().starts_with("vips"));
    let mut c = cfg("192.0.2.11", 100);
    c.vrid = 0;
    assert!(c.validate().unwrap_err().starts_with("vrid"));
    let mut c = RouterConfig::new(1, ip("fe80::1"), vec![ip("2001:db8::100")]);
    c.version = Version::V2;
    assert!(c.validate().unwrap_err().starts_with("version"));
}

#[test]
fn absurd_durations_do_not_panic() {
    let t0 = Instant::now();
    let mut c = preempting("192.0.2.11", 100);
    c.preempt_delay = Duration::MAX;
    c.garp_refresh = Some(Duration::MAX);
    let (mut r, t) = master(c, t0);
    r.handle(
        Event::StepDown {
            hold: Duration::MAX,
        },
        t,
    );
    assert_eq!(r.state(), State::Backup);
    r.handle(rx("192.0.2.12", 50), t);
    assert!(r.hold_until(t).is_some());
}

#[test]
fn reconfigure_keeps_a_master_and_applies_tunables() {
    let (mut r, t) = master(cfg("192.0.2.11", 100), Instant::now());
    let mut c = r.config().clone();
    c.priority = 120;
    c.advert_interval = Duration::from_millis(200);
    c.garp_refresh = Some(10 * SEC);
    let now = t + Duration::from_millis(500);
    let a = r.reconfigure(c, now).expect("same identity");
    assert_eq!(r.state(), State::Master);
    assert_eq!(
        a,
        vec![
            Action::SendAdvert { priority: 120 },
            Action::SetTimer(now + Duration::from_millis(200))
        ]
    );
    assert_eq!(r.advert(120).max_advert_int_cs, 20);
    // nothing to do when nothing changed
    let same = r.config().clone();
    assert_eq!(r.reconfigure(same, now), Some(vec![]));
    // another VIP set is another virtual router: the shell must restart it
    let mut other = r.config().clone();
    other.vips.push(ip("192.0.2.101"));
    assert_eq!(r.reconfigure(other, now), None);
    assert_eq!(r.config().vips, vec![ip("192.0.2.100")]);
}

/// A router that may not take over (unicast with no peers yet) stays Backup
/// through its timer, adoption and as address owner; allowing it again in
/// place lets the next timer make it master, and forbidding it in place
/// makes a master step back.
#[test]
fn a_router_that_may_not_take_over_stays_backup() {
    let t0 = Instant::now();
    for prio in [100, 255] {
        let mut c = cfg("192.0.2.11", prio);
        c.may_take_over = false;
        let mut r = Router::new(c.clone());
        let a = r.handle(Event::Startup, t0);
        assert_eq!(r.state(), State::Backup, "prio {prio}");
        let mut t = timer(&a).expect("a backup arms its timer");
        for _ in 0..5 {
            let a = r.handle(Event::TimerExpired, t);
            assert_eq!(r.state(), State::Backup, "prio {prio}");
            assert!(!a.contains(&Action::AddVips), "{a:?}");
            assert!(
                !a.iter().any(|x| matches!(x, Action::SendAdvert { .. })),
                "{a:?}"
            );
            t = timer(&a).expect("re-armed");
        }
        let mut adopting = Router::new(c.clone());
        let a = adopting.handle(Event::Adopt, t0);
        assert_eq!(adopting.state(), State::Backup, "{a:?}");
        assert!(a.contains(&Action::RemoveVips), "{a:?}");
        c.may_take_over = true;
        let a = r.reconfigure(c, t).expect("same identity");
        let t = timer(&a).or(r.next_deadline()).expect("timer");
        r.handle(Event::TimerExpired, t + Duration::from_secs(5));
        assert_eq!(r.state(), State::Master, "prio {prio}");
    }
    let (mut m, t) = master(cfg("192.0.2.11", 100), t0);
    let mut c = cfg("192.0.2.11", 100);
    c.may_take_over = false;
    let a = m.reconfigure(c, t).expect("same identity");
    assert_eq!(m.state(), State::Backup);
    assert!(a.contains(&Action::RemoveVips), "{a:?}");
}
