//! The failover benchmark's timeline pictures (bench/failover_timeline.rs) and
//! its netlink VIP watcher (bench/vip_watch.rs), without running the benchmark:
//! a synthetic crash trial goes through the same writer the benchmark uses and
//! the SVG is checked for what a reader must see (lanes, who held the VIP
//! where, the red outage, the markers, in the right order); the watcher is
//! checked against real kernel notifications in a lab (root only).
#[path = "../bench/failover_timeline.rs"]
mod failover_timeline;
mod support;
#[allow(dead_code)] // shared with the demo and the bench target
#[path = "../bench/timeline.rs"]
mod timeline;
#[path = "../bench/vip_watch.rs"]
mod vip_watch;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use failover_timeline::*;
use timeline::{Event, Timeline};

const HOLD: &str = "#2E7DC4";
const FAIL: &str = "#D63031";
const OK: &str = "#389E48";
const MARK: &str = "#5A5A5A";

/// A crash trial as the benchmark records it: unit1 holds the VIP, is killed
/// at 1000 ms (its address stays, it is cut off), probes fail until unit0 adds
/// the VIP at 1360 ms and answers at 1362 ms.
fn crash_trace() -> TrialTrace {
    let mut probes = Vec::new();
    let mut t = 0.0;
    while t < 1700.0 {
        probes.push((t, !(1000.0..1360.0).contains(&t)));
        t += 10.0;
    }
    TrialTrace {
        title: "k8s-vip agent, 100 ms adverts, crash: 362 ms".into(),
        units: vec![
            "unit0 (backup, prio 100)".into(),
            "unit1 (master, prio 150)".into(),
            "unit2 (backup, prio 50)".into(),
        ],
        holders_at_start: vec![1],
        vip_changes: vec![
            VipChange {
                t_ms: 1360.0,
                unit: 0,
                holds: true,
            },
            // The kernel repeats itself sometimes (e.g. a REPLACE).
            VipChange {
                t_ms: 1361.0,
                unit: 0,
                holds: true,
            },
        ],
        probes,
        markers: vec![
            (960.0, "unit1's last advert".into()),
            (1000.0, "kill -9 unit1".into()),
            (1358.0, "unit0's first advert".into()),
            (1362.0, "unit0 answers: 362 ms".into()),
        ],
    }
}

/// One `<rect .../>` of the SVG: x, y, width, fill.
#[derive(Debug)]
struct Rect {
    x: i64,
    y: i64,
    width: i64,
    fill: String,
}

fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    let len = tag[start..].find('"')?;
    Some(&tag[start..start + len])
}

fn rects(svg: &str) -> Vec<Rect> {
    svg.split("<rect")
        .skip(1)
        .filter_map(|r| {
            let tag = &r[..r.find("/>")?];
            Some(Rect {
                x: attr(tag, "x")?.parse().ok()?,
                y: attr(tag, "y")?.parse().ok()?,
                width: attr(tag, "width")?.parse().ok()?,
                fill: attr(tag, "fill")?.to_string(),
            })
        })
        .collect()
}

/// x of every vertical marker line (grey polylines), left to right.
fn marker_xs(svg: &str) -> Vec<i64> {
    let mut xs: Vec<i64> = svg
        .split("<polyline")
        .skip(1)
        .filter_map(|p| {
            let tag = &p[..p.find("/>")?];
            if attr(tag, "stroke")? != MARK {
                return None;
            }
            let first = attr(tag, "points")?.split_whitespace().next()?;
            first.split(',').next()?.parse().ok()
        })
        .collect();
    xs.sort_unstable();
    xs
}

#[test]
fn holders_follow_the_vip_changes_and_ignore_repeats() {
    let tl = crash_trace().timeline();
    let holders: Vec<(f64, Vec<usize>)> = tl
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Holders { t_ms, units } => Some((*t_ms, units.clone())),
            _ => None,
        })
        .collect();
    // unit1 keeps its address after kill -9: both hold it from 1360 ms on.
    assert_eq!(holders, vec![(0.0, vec![1]), (1360.0, vec![0, 1])]);
    let requests = tl
        .events
        .iter()
        .filter(|e| matches!(e, Event::Request { .. }))
        .count();
    assert_eq!(requests, 170);
    assert_eq!(tl.outages(), vec![(1000.0, 1360.0)]);
    assert_eq!(tl.units.len(), 3);

    let mut graceful = crash_trace();
    graceful.vip_changes = vec![
        VipChange {
            t_ms: 1000.5,
            unit: 1,
            holds: false,
        },
        VipChange {
            t_ms: 1060.0,
            unit: 0,
            holds: true,
        },
    ];
    let spans = graceful.timeline().hold_spans(1700.0);
    assert_eq!(spans, vec![(1, 0.0, 1000.5), (0, 1060.0, 1700.0)]);
}

#[test]
fn the_median_trial_is_the_one_drawn() {
    assert_eq!(median_index(&[300.0, 100.0, 200.0]), Some(2));
    // Even count: the lower middle one, a trial that really happened.
    assert_eq!(median_index(&[400.0, 100.0, 300.0, 200.0]), Some(3));
    assert_eq!(median_index(&[f64::NAN, 5.0]), Some(1));
    assert_eq!(median_index(&[]), None);
}

#[test]
fn file_names_say_implementation_interval_and_mode() {
    assert_eq!(
        file_stem("k8s-vip", 1000, "crash"),
        "failover-k8s-vip-1s-crash"
    );
    assert_eq!(
        file_stem("keepalived", 100, "graceful"),
        "failover-keepalived-100ms-graceful"
    );
    assert_eq!(interval_tag(1500), "1500ms");
}

#[test]
fn a_crash_trial_draws_lanes_holds_outage_and_markers_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let trace = crash_trace();
    let files = write(
        dir.path(),
        "failover-k8s-vip-100ms-crash",
        &trace.timeline(),
    )
    .unwrap();
    let svg_path = dir.path().join("failover-k8s-vip-100ms-crash.svg");
    let json_path = dir.path().join("failover-k8s-vip-100ms-crash.json");
    assert!(files.contains(&svg_path) && files.contains(&json_path));
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));

    // Every lane, the client lane, the title and every marker are labelled.
    for text in [
        "unit0 (backup, prio 100)",
        "unit1 (master, prio 150)",
        "unit2 (backup, prio 50)",
        "client → VIP",
        "k8s-vip agent, 100 ms adverts, crash: 362 ms",
        "unit1&apos;s last advert",
        "kill -9 unit1",
        "unit0&apos;s first advert",
        "unit0 answers: 362 ms",
    ] {
        assert!(svg.contains(text), "the picture lacks {text:?}");
    }

    // Four marker lines, in time order.
    let marks = marker_xs(&svg);
    assert_eq!(marks.len(), 4, "marker lines: {marks:?}");
    let (kill_x, answer_x) = (marks[1], marks[3]);

    // The VIP: unit1's lane (second from the top) is blue from the start to
    // the end; unit0's lane (top) turns blue at the takeover, just before the
    // answer; unit2's lane never.
    let all = rects(&svg);
    let holds: Vec<&Rect> = all.iter().filter(|r| r.fill == HOLD).collect();
    assert_eq!(holds.len(), 2, "hold bars: {holds:?}");
    let (unit0, unit1) = if holds[0].y < holds[1].y {
        (holds[0], holds[1])
    } else {
        (holds[1], holds[0])
    };
    assert!(unit1.x < kill_x && unit1.x + unit1.width > answer_x);
    assert!(unit0.x > kill_x && unit0.x <= answer_x + 1, "{unit0:?}");

    // The client: green before the kill and after the answer, red between.
    let fails: Vec<&Rect> = all.iter().filter(|r| r.fill == FAIL).collect();
    assert!(!fails.is_empty());
    assert!(fails
        .iter()
        .all(|r| r.x >= kill_x - 1 && r.x + r.width <= unit0.x + 1));
    let oks: Vec<&Rect> = all.iter().filter(|r| r.fill == OK).collect();
    assert!(oks.iter().any(|r| r.x < kill_x) && oks.iter().any(|r| r.x > answer_x));
    assert!(oks.iter().all(|r| r.x <= kill_x || r.x >= unit0.x - 1));
    // The client lane is below every unit lane.
    assert!(fails.iter().all(|r| r.y > unit1.y && r.y > unit0.y));
}

#[test]
fn the_saved_events_redraw_the_same_picture() {
    let dir = tempfile::tempdir().unwrap();
    let tl = crash_trace().timeline();
    write(dir.path(), "t", &tl).unwrap();
    let loaded = Timeline::load(&dir.path().join("t.json")).unwrap();
    assert_eq!(loaded, tl);
    let again = dir.path().join("again.svg");
    loaded.write_svg(&again).unwrap();
    assert_eq!(
        std::fs::read_to_string(&again).unwrap(),
        std::fs::read_to_string(dir.path().join("t.svg")).unwrap()
    );
    // A PNG only where rsvg-convert is installed; then it must be a PNG.
    let png = dir.path().join("t.png");
    let have_rsvg = support::skip::need_program("rsvg-convert");
    assert_eq!(png.exists(), have_rsvg);
    if have_rsvg {
        let bytes = std::fs::read(&png).unwrap();
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
    }
}

/// An RTM_NEWADDR / RTM_DELADDR message for `ip` as the kernel sends it.
fn addr_message(new: bool, ip: IpAddr) -> Vec<u8> {
    use netlink_packet_core::{NetlinkHeader, NetlinkMessage, NetlinkPayload};
    use netlink_packet_route::address::{AddressAttribute, AddressMessage};
    use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
    let mut a = AddressMessage::default();
    a.header.family = AddressFamily::Inet;
    a.header.prefix_len = 24;
    a.header.index = 2;
    a.attributes.push(AddressAttribute::Address(ip));
    a.attributes.push(AddressAttribute::Local(ip));
    let inner = if new {
        RouteNetlinkMessage::NewAddress(a)
    } else {
        RouteNetlinkMessage::DelAddress(a)
    };
    let mut msg = NetlinkMessage::new(NetlinkHeader::default(), NetlinkPayload::from(inner));
    msg.finalize();
    let mut out = vec![0u8; msg.buffer_len()];
    msg.serialize(&mut out);
    out
}

#[test]
fn watcher_reads_only_the_vips_own_notifications() {
    let vip: IpAddr = "192.0.2.100".parse().unwrap();
    let other: IpAddr = "192.0.2.11".parse().unwrap();
    let mut datagram = addr_message(true, other);
    datagram.extend(addr_message(true, vip));
    datagram.extend(addr_message(false, vip));
    assert_eq!(vip_watch::vip_changes(&datagram, vip), vec![true, false]);
    assert!(vip_watch::vip_changes(&addr_message(false, other), vip).is_empty());
    assert!(vip_watch::vip_changes(b"garbage", vip).is_empty());
}

#[test]
fn watcher_follows_a_vip_moved_between_units() {
    use support::netns::{require_root, wait_for, Lab};
    if !require_root() {
        return;
    }
    let lab = Lab::new("vwatch", 2);
    let vip = "192.0.2.100";
    lab.exec_ok(
        lab.unit(1),
        &["ip", "addr", "add", "192.0.2.100/24", "dev", "eth0"],
    );
    let watch = vip_watch::VipWatch::start(&lab, vip.parse().unwrap()).unwrap();
    let origin = Instant::now();
    // Held before the watch started: seeded.
    assert_eq!(watch.holders_at(origin), vec![1]);
    lab.exec_ok(
        lab.unit(1),
        &["ip", "addr", "del", "192.0.2.100/24", "dev", "eth0"],
    );
    lab.exec_ok(
        lab.unit(0),
        &["ip", "addr", "add", "192.0.2.100/24", "dev", "eth0"],
    );
    assert!(
        wait_for(Duration::from_secs(5), || watch.holders_at(Instant::now())
            == vec![0])
        .is_some(),
        "the watch never saw unit0 take the VIP"
    );
    let changes: Vec<(usize, bool)> = watch
        .changes_between(origin, Instant::now())
        .into_iter()
        .map(|(_, unit, holds)| (unit, holds))
        .collect();
    assert_eq!(changes, vec![(1, false), (0, true)]);
    // Nobody in between: the moment after the delete, before the add.
    let log = watch.changes_between(origin, Instant::now());
    assert!(watch.holders_at(log[0].0).is_empty());
}

#[test]
fn close_marker_labels_take_separate_rows_and_the_last_one_turns_left() {
    use timeline::{label_layout, LabelSlot};
    // Far apart: the usual alternation, nothing moved.
    let far = label_layout(&[(0.0, "a"), (5000.0, "b"), (10000.0, "c")], 20000.0);
    assert_eq!(far.iter().map(|s| s.row).collect::<Vec<_>>(), vec![0, 1, 0]);
    // Three long labels within a few pixels: three rows.
    let crowded = [
        (1000.0, "unit1's last advert"),
        (1010.0, "kill -9 unit1 (its address stays)"),
        (1020.0, "unit1's port down"),
    ];
    let slots = label_layout(&crowded, 2000.0);
    let mut rows: Vec<usize> = slots.iter().map(|s| s.row).collect();
    rows.sort_unstable();
    assert_eq!(rows, vec![0, 1, 2]);
    // A label at the very end would run off the picture: drawn leftward.
    let end = label_layout(&[(0.0, "start"), (2000.0, "unit0 answers: 312 ms")], 2000.0);
    assert_eq!(
        end,
        vec![
            LabelSlot {
                row: 0,
                leftward: false
            },
            LabelSlot {
                row: 1,
                leftward: true
            }
        ]
    );
}

#[test]
fn a_crowded_picture_grows_a_label_row_and_keeps_labels_inside() {
    let dir = tempfile::tempdir().unwrap();
    let mut trace = crash_trace();
    trace.markers = vec![
        (990.0, "unit1's last advert".into()),
        (1000.0, "kill -9 unit1 (its address stays)".into()),
        (1010.0, "unit1's port down".into()),
        (1700.0, "unit0 answers: 700 ms".into()),
    ];
    write(dir.path(), "t", &trace.timeline()).unwrap();
    let svg = std::fs::read_to_string(dir.path().join("t.svg")).unwrap();
    let mut plain = crash_trace();
    plain.markers.truncate(1);
    write(dir.path(), "plain", &plain.timeline()).unwrap();
    let plain_svg = std::fs::read_to_string(dir.path().join("plain.svg")).unwrap();
    let height = |s: &str| -> i64 {
        let tag = &s[..s.find('>').unwrap()];
        attr(tag, "height").unwrap().parse().unwrap()
    };
    assert_eq!(height(&svg), height(&plain_svg) + 14);
    // The label of the marker at the right edge ends at its line.
    let answer = svg
        .split("<text")
        .find(|t| t.contains("unit0 answers: 700 ms"))
        .unwrap();
    assert!(answer.contains("text-anchor=\"end\""), "{answer}");
}
