use std::net::TcpStream;
use std::process::{Command, Stdio};

use super::*;

#[test]
fn tcp_probe_sees_listener_and_refusal() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    assert!(probe(&CheckKind::Tcp(addr), Duration::from_secs(1)).is_ok());
    drop(l);
    let e = probe(&CheckKind::Tcp(addr), Duration::from_secs(1)).unwrap_err();
    assert!(e.contains("connect"), "{e}");
}

#[test]
fn exec_probe_uses_exit_code_and_timeout() {
    assert!(probe(
        &CheckKind::Exec(vec!["true".into()]),
        Duration::from_secs(2)
    )
    .is_ok());
    assert!(probe(
        &CheckKind::Exec(vec!["false".into()]),
        Duration::from_secs(2)
    )
    .is_err());
    let e = probe(
        &CheckKind::Exec(vec!["sleep".into(), "5".into()]),
        Duration::from_millis(100),
    )
    .unwrap_err();
    assert!(e.contains("timed out"), "{e}");
    assert!(probe(
        &CheckKind::Exec(vec!["/nonexistent/x".into()]),
        Duration::from_secs(1)
    )
    .is_err());
}

#[test]
fn http_probe_wants_2xx() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        for code in ["200 OK", "503 Service Unavailable"] {
            let (mut s, _) = l.accept().unwrap();
            let mut buf = [0u8; 1024];
            let _ = std::io::Read::read(&mut s, &mut buf);
            let _ = s.write_all(
                format!("HTTP/1.1 {code}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .as_bytes(),
            );
        }
    });
    let url = format!("http://{addr}/livez");
    let kind = CheckKind::Http {
        url,
        insecure_tls: false,
    };
    assert_eq!(probe(&kind, Duration::from_secs(2)), Ok(()));
    let e = probe(&kind, Duration::from_secs(2)).unwrap_err();
    assert!(e.contains("503"), "{e}");
    server.join().unwrap();
}

/// https against `openssl s_server` with a self-signed certificate: only
/// `insecure-tls` accepts it. Skipped when openssl is not installed.
#[test]
fn https_probe_verifies_unless_insecure() {
    let dir = tempfile::tempdir().unwrap();
    let (key, cert) = (dir.path().join("k.pem"), dir.path().join("c.pem"));
    if !self_signed_cert(&key, &cert) {
        eprintln!("SKIPPED: openssl not available");
        return;
    }
    let (mut server, port) = tls_server(&key, &cert);
    let url = format!("https://127.0.0.1:{port}/");
    let insecure = probe(
        &CheckKind::Http {
            url: url.clone(),
            insecure_tls: true,
        },
        Duration::from_secs(5),
    );
    let verified = probe(
        &CheckKind::Http {
            url,
            insecure_tls: false,
        },
        Duration::from_secs(5),
    );
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(insecure, Ok(()));
    assert!(
        verified.is_err(),
        "a self-signed certificate must fail verification"
    );
}

/// Writes a self-signed certificate for localhost and its key with openssl;
/// false when openssl is not available.
fn self_signed_cert(key: &std::path::Path, cert: &std::path::Path) -> bool {
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-days",
            "1",
            "-keyout",
        ])
        .arg(key)
        .arg("-out")
        .arg(cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    made.is_ok_and(|s| s.success())
}

/// Starts `openssl s_server` on a free 127.0.0.1 port with `cert`, waits
/// (up to 10 s) until it accepts connections; returns it and its port.
fn tls_server(key: &std::path::Path, cert: &std::path::Path) -> (std::process::Child, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = Command::new("openssl")
        .args([
            "s_server",
            "-quiet",
            "-www",
            "-accept",
            &format!("127.0.0.1:{port}"),
            "-cert",
        ])
        .arg(cert)
        .arg("-key")
        .arg(key)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(addr).is_err() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    (server, port)
}

/// Starts check thread 0 of instance "api" (rise 2, fall 3, 1 s timeout);
/// returns its handle, its reports and the waker's other end (kept open).
fn start_check(
    generation: u64,
    kind: CheckKind,
    interval: Duration,
) -> (
    CheckHandle,
    std::sync::mpsc::Receiver<CheckReport>,
    UnixStream,
) {
    let (tx, rx) = std::sync::mpsc::channel();
    let (w, r) = UnixStream::pair().unwrap();
    let cfg = CheckConfig {
        name: "t".into(),
        kind,
        interval,
        timeout: Duration::from_secs(1),
        rise: 2,
        fall: 3,
    };
    let sink = ReportSink {
        tx,
        waker: Arc::new(w),
    };
    (spawn(generation, "api", 0, cfg, sink), rx, r)
}

#[test]
fn thread_reports_first_verdict_then_changes_after_fall() {
    let dir = tempfile::tempdir().unwrap();
    let mark = dir.path().join("ok");
    std::fs::write(&mark, "").unwrap();
    let kind = CheckKind::Exec(vec![
        "test".into(),
        "-e".into(),
        mark.to_string_lossy().into_owned(),
    ]);
    let (h, rx, _waker) = start_check(7, kind, Duration::from_millis(20));
    let first = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(first.healthy && first.generation == 7 && first.instance == "api");
    std::fs::remove_file(&mark).unwrap();
    // The first failure reports the error but keeps the verdict (fall = 3)...
    let r = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(r.healthy && r.last_error.is_some(), "{r:?}");
    // ...the third turns it.
    let r = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(!r.healthy, "{r:?}");
    drop(h);
}

#[test]
fn a_new_check_is_presumed_healthy_until_fall_failures() {
    let mut h = Hysteresis::new(2, 3);
    assert!(h.healthy(), "a new check starts presumed healthy");
    assert!(
        !h.observe(false) && h.healthy(),
        "first failure must not fault"
    );
    assert!(!h.observe(false) && h.healthy());
    assert!(
        h.observe(false) && !h.healthy(),
        "the third (fall) failure faults"
    );
    // Recovery needs `rise` passes in a row; a failure resets the streak.
    assert!(!h.observe(true) && !h.healthy());
    assert!(!h.observe(false) && !h.healthy());
    assert!(!h.observe(true) && !h.healthy());
    assert!(h.observe(true) && h.healthy());
    // A pass resets the failure streak too.
    h.observe(false);
    h.observe(false);
    h.observe(true);
    h.observe(false);
    assert!(h.healthy(), "failures must be consecutive");
}

#[test]
fn fall_one_faults_on_the_first_failure_and_zero_counts_as_one() {
    let mut h = Hysteresis::new(1, 1);
    assert!(h.observe(false) && !h.healthy());
    assert!(h.observe(true) && h.healthy());
    let mut z = Hysteresis::new(0, 0);
    assert!(z.observe(false) && !z.healthy());
    assert!(z.observe(true) && z.healthy());
}

/// The demo's bug: the check is added (by a reload) before its service
/// listens. Its first report must say healthy (with the error), and a
/// service that comes up before `fall` failures never turns it failing.
#[test]
fn thread_keeps_a_new_check_healthy_while_its_service_comes_up() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (h, rx, _waker) = start_check(9, CheckKind::Tcp(port), Duration::from_millis(200));
    let first = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(first.healthy, "first failure faulted: {first:?}");
    assert!(first.last_error.is_some(), "{first:?}");
    // The service starts listening (well before three failures).
    let _l = std::net::TcpListener::bind(port).unwrap();
    let r = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(r.healthy && r.last_error.is_none(), "{r:?}");
    drop(h);
}
