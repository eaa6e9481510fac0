//! Golden vectors: adverts captured from a real keepalived (see
//! tests/fixtures/vrrp/capture.py) must decode to what keepalived was
//! configured with, re-encode to the same bytes, and be produced byte for byte
//! by our own router configured the same way. Any single-bit corruption must be
//! rejected.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use k8s_vip::vrrp::packet::{self, auth_type, decode, DecodeError, Version};
use k8s_vip::vrrp::router::{Action, Event, Router, RouterConfig};

/// One captured advert and what keepalived was configured with.
struct Golden {
    name: String,
    version: Version,
    vrid: u8,
    priority: u8,
    advert_int_ms: u64,
    vips: Vec<IpAddr>,
    auth_pass: Option<[u8; 8]>,
    src: IpAddr,
    dst: IpAddr,
    ttl: u8,
    payload: Vec<u8>,
    prio0: bool,
}

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/vrrp")
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex payload"))
        .collect()
}

fn load() -> Vec<Golden> {
    let mut out = Vec::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(fixtures_dir())
        .expect("fixtures dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    paths.sort();
    for path in paths {
        let text = std::fs::read_to_string(&path).expect("read fixture");
        let kv: BTreeMap<&str, &str> = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_once('='))
            .collect();
        // config=version 3, vrid 51, priority 150, advert_int 1, vips a/24 b/24
        let cfg: BTreeMap<&str, &str> = kv["config"]
            .split(", ")
            .filter_map(|f| f.split_once(' '))
            .collect();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let auth_pass = name.contains("auth").then_some(*b"s3cret\0\0");
        out.push(Golden {
            version: if cfg["version"] == "2" {
                Version::V2
            } else {
                Version::V3
            },
            vrid: cfg["vrid"].parse().unwrap(),
            priority: cfg["priority"].parse().unwrap(),
            advert_int_ms: (cfg["advert_int"].parse::<f64>().unwrap() * 1000.0).round() as u64,
            vips: cfg["vips"]
                .split(' ')
                .map(|v| v.split('/').next().unwrap().parse().unwrap())
                .collect(),
            auth_pass,
            src: kv["src"].parse().unwrap(),
            dst: kv["dst"].parse().unwrap(),
            ttl: kv["ttl"].parse().unwrap(),
            payload: hex(kv["payload"]),
            prio0: name.ends_with("-prio0"),
            name,
        });
    }
    out
}

fn router_config(g: &Golden) -> RouterConfig {
    let mut cfg = RouterConfig::new(g.vrid, g.src, g.vips.clone());
    cfg.version = g.version;
    cfg.priority = g.priority;
    cfg.advert_interval = Duration::from_millis(g.advert_int_ms);
    if let Some(pass) = g.auth_pass {
        cfg.auth_type = auth_type::SIMPLE;
        cfg.auth_data = pass;
    }
    cfg
}

#[test]
fn fixtures_cover_every_variant() {
    let all = load();
    let names: Vec<&str> = all.iter().map(|g| g.name.as_str()).collect();
    for want in [
        "v3-ipv4",
        "v3-ipv4-centis",
        "v3-ipv6",
        "v2-ipv4",
        "v2-ipv4-auth",
        "v3-ipv4-unicast",
    ] {
        assert!(names.contains(&want), "missing fixture {want}");
        let prio0 = format!("{want}-prio0");
        assert!(names.contains(&prio0.as_str()), "missing fixture {prio0}");
    }
    // keepalived sends IPv6 adverts from the link-local address.
    let v6 = all.iter().find(|g| g.name == "v3-ipv6").unwrap();
    match v6.src {
        IpAddr::V6(a) => assert_eq!(a.segments()[0], 0xfe80, "{a} is not link-local"),
        IpAddr::V4(a) => panic!("IPv6 fixture has IPv4 source {a}"),
    }
}

#[test]
fn keepalived_adverts_decode_to_their_configuration() {
    for g in load() {
        assert_eq!(packet::check_hop_limit(g.ttl), Ok(()), "{}", g.name);
        let adv = decode(&g.payload, g.src, g.dst)
            .unwrap_or_else(|e| panic!("{}: {e} ({})", g.name, e.reason()));
        assert_eq!(adv.version, g.version, "{}", g.name);
        assert_eq!(adv.vrid, g.vrid, "{}", g.name);
        let want_prio = if g.prio0 { 0 } else { g.priority };
        assert_eq!(adv.priority, want_prio, "{}", g.name);
        assert_eq!(
            u64::from(adv.max_advert_int_cs) * 10,
            g.advert_int_ms,
            "{}",
            g.name
        );
        assert_eq!(adv.addresses, g.vips, "{}", g.name);
        match g.auth_pass {
            Some(pass) => {
                assert_eq!(adv.auth_type, auth_type::SIMPLE, "{}", g.name);
                assert_eq!(adv.auth_data, pass, "{}", g.name);
            }
            None => {
                assert_eq!(adv.auth_type, auth_type::NONE, "{}", g.name);
                assert_eq!(adv.auth_data, [0; 8], "{}", g.name);
            }
        }
    }
}

#[test]
fn keepalived_adverts_reencode_to_the_same_bytes() {
    for g in load() {
        let adv = decode(&g.payload, g.src, g.dst).unwrap();
        assert_eq!(adv.encode(g.src, g.dst), g.payload, "{}", g.name);
    }
}

#[test]
fn our_router_sends_what_keepalived_sends() {
    for g in load() {
        let router = Router::new(router_config(&g));
        let prio = if g.prio0 { 0 } else { g.priority };
        assert_eq!(
            router.advert(prio).encode(g.src, g.dst),
            g.payload,
            "{}: our advert differs from keepalived's",
            g.name
        );
    }
}

#[test]
fn a_peer_router_accepts_keepalived_adverts() {
    let t0 = Instant::now();
    for g in load().into_iter().filter(|g| !g.prio0) {
        // A lower-priority peer with the same settings on another address.
        let mut cfg = router_config(&g);
        cfg.primary_addr = match g.src {
            IpAddr::V4(_) => "192.0.2.12".parse().unwrap(),
            IpAddr::V6(_) => "fe80::12".parse().unwrap(),
        };
        cfg.priority = g.priority - 1;
        let mut r = Router::new(cfg.clone());
        r.handle(Event::Startup, t0);
        let adv = decode(&g.payload, g.src, g.dst).unwrap();
        let acts = r.handle(
            Event::AdvertReceived {
                from: g.src,
                advert: adv.clone(),
            },
            t0,
        );
        assert!(
            !acts.iter().any(|a| matches!(a, Action::Discarded(_))),
            "{}: {acts:?}",
            g.name
        );
        assert_eq!(r.master(), Some(g.src), "{}", g.name);

        if g.auth_pass.is_some() {
            let mut wrong = cfg.clone();
            wrong.auth_data = *b"other\0\0\0";
            let mut r = Router::new(wrong);
            r.handle(Event::Startup, t0);
            let acts = r.handle(
                Event::AdvertReceived {
                    from: g.src,
                    advert: adv.clone(),
                },
                t0,
            );
            assert_eq!(
                acts,
                vec![Action::Discarded(DecodeError::AuthMismatch)],
                "{}",
                g.name
            );
        }
    }
}

#[test]
fn every_single_bit_corruption_is_rejected() {
    for g in load() {
        for byte in 0..g.payload.len() {
            for bit in 0..8 {
                let mut p = g.payload.clone();
                p[byte] ^= 1 << bit;
                assert!(
                    decode(&p, g.src, g.dst).is_err(),
                    "{}: flipping bit {bit} of byte {byte} was accepted",
                    g.name
                );
            }
        }
    }
}

#[test]
fn wrong_addresses_in_the_pseudo_header_are_rejected_for_v3_only() {
    for g in load() {
        let other: IpAddr = match g.src {
            IpAddr::V4(_) => "192.0.2.99".parse().unwrap(),
            IpAddr::V6(_) => "fe80::99".parse().unwrap(),
        };
        let res = decode(&g.payload, other, g.dst);
        match g.version {
            Version::V3 => assert_eq!(res, Err(DecodeError::BadChecksum), "{}", g.name),
            Version::V2 => assert!(res.is_ok(), "{}", g.name),
        }
    }
}

#[test]
fn truncated_and_padded_packets_are_rejected() {
    for g in load() {
        for len in 0..g.payload.len() {
            assert!(
                decode(&g.payload[..len], g.src, g.dst).is_err(),
                "{}",
                g.name
            );
        }
        let mut padded = g.payload.clone();
        padded.push(0);
        assert!(
            matches!(
                decode(&padded, g.src, g.dst),
                Err(DecodeError::BadLength { .. })
            ),
            "{}",
            g.name
        );
    }
}
