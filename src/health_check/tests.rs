use super::*;

#[test]
fn tcp_hosts_are_addresses_or_names() {
    let t = parse_tcp("192.0.2.1:6443").expect("v4");
    assert_eq!(t.socket_addr(), Some("192.0.2.1:6443".parse().expect("sa")));
    let t = parse_tcp("[2001:db8::1]:80").expect("v6");
    assert_eq!(t.to_string(), "[2001:db8::1]:80");
    let t = parse_tcp("Api.Example.COM:443").expect("name");
    assert_eq!(t.host, Host::Name("api.example.com".into()));
    assert_eq!(t.socket_addr(), None);
}

#[test]
fn tcp_refusals_say_why() {
    for (text, needle) in [
        ("192.0.2.1", "no port"),
        ("192.0.2.1:0", "not a port"),
        ("192.0.2.1:70000", "not a port"),
        ("2001:db8::1:80", "brackets"),
        ("[2001:db8::zz]:80", "not an IPv6"),
        ("[2001:db8::1:80", "unclosed"),
        ("999.1.1.1:80", "not an IPv4"),
        ("a b:80", "neither"),
        ("host/x:80", "neither"),
        (":80", "no host"),
    ] {
        let err = parse_tcp(text).expect_err(text);
        assert!(err.contains(needle), "{text}: {err}");
    }
}

#[test]
fn the_one_string_form() {
    assert_eq!(
        parse_probe("tcp:127.0.0.1:6443"),
        Ok(Probe::Tcp(parse_tcp("127.0.0.1:6443").expect("t")))
    );
    assert_eq!(
        parse_probe("https://127.0.0.1:6443/livez"),
        Ok(Probe::Http("https://127.0.0.1:6443/livez".into()))
    );
    assert_eq!(
        parse_probe("exec:/usr/bin/pgrep -x haproxy"),
        Ok(Probe::Exec(vec![
            "/usr/bin/pgrep".into(),
            "-x".into(),
            "haproxy".into()
        ]))
    );
    for (raw, needle) in [
        ("exec:pgrep", "absolute path"),
        ("exec:", "needs a command"),
        ("http://", "no host"),
        ("http:///x", "no host"),
        ("ftp://x", "is not a health check"),
        ("tcp:x", "no port"),
    ] {
        let err = parse_probe(raw).expect_err(raw);
        assert!(err.contains(needle) && err.contains(FORMS), "{raw}: {err}");
    }
}

#[test]
fn probe_targets_are_addresses_only() {
    assert!(probe::parse_target("tcp:127.0.0.1:1").is_ok());
    assert!(probe::parse_target("tcp:localhost:1")
        .expect_err("name")
        .contains("host name"));
    assert!(probe::parse_target("127.0.0.1:1").is_err());
}
