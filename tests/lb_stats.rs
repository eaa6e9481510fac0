//! Parsing HAProxy 2.6 `show stat` into up/total per backend, and the status line.

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use k8s_vip::charm::haproxy::options::parse_ingress_ports;
use k8s_vip::charm::haproxy::stats::{parse_show_stat, status_fragment};
use k8s_vip::charm::haproxy::{HaproxyPaths, LoadBalancerModel, Timeouts};
use k8s_vip::charm::types::BackendHealth;

/// The header line HAProxy 2.6.12 prints (captured from the real binary).
const HEADER: &str = "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate,conn_rate_max,conn_tot,intercepted,dcon,dses,wrew,connect,reuse,cache_lookups,cache_hits,srv_icur,src_ilim,qtime_max,ctime_max,rtime_max,ttime_max,eint,idle_conn_cur,safe_conn_cur,used_conn_cur,need_conn_est,uweight,agg_server_status,agg_server_check_status,agg_check_status,-,ssl_sess,ssl_reused_sess,ssl_failed_handshake,h2_headers_rcvd,h2_data_rcvd,h2_settings_rcvd,h2_rst_stream_rcvd,h2_goaway_rcvd,h2_detected_conn_protocol_errors,h2_detected_strm_protocol_errors,h2_rst_stream_resp,h2_goaway_resp,h2_open_connections,h2_backend_open_streams,h2_total_connections,h2_backend_total_streams,h1_open_connections,h1_open_streams,h1_total_connections,h1_total_streams,h1_bytes_in,h1_bytes_out,h1_spliced_bytes_in,h1_spliced_bytes_out,";

/// A `show stat` answer with rows built under the real header.
fn csv(rows: &[(&str, &str, &str, &str)]) -> String {
    let cols: Vec<&str> = HEADER.trim_start_matches("# ").split(',').collect();
    let mut out = format!("{HEADER}\n");
    for (px, sv, status, kind) in rows {
        let line: Vec<&str> = cols
            .iter()
            .map(|c| match *c {
                "pxname" => *px,
                "svname" => *sv,
                "status" => *status,
                "type" => *kind,
                _ => "0",
            })
            .collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out.push('\n');
    out
}

#[test]
fn servers_are_counted_per_backend_by_state() {
    let text = csv(&[
        ("api-server-external-443", "FRONTEND", "OPEN", "0"),
        ("api-server-external-443", "192.0.2.11", "UP", "2"),
        ("api-server-external-443", "192.0.2.12", "UP 1/3", "2"),
        ("api-server-external-443", "192.0.2.13", "DOWN 1/2", "2"),
        ("api-server-external-443", "BACKEND", "UP", "1"),
        ("ingress-80", "192.0.2.11", "no check", "2"),
        ("ingress-80", "192.0.2.12", "MAINT", "2"),
        ("ingress-80", "192.0.2.13", "DOWN", "2"),
        ("ingress-80", "192.0.2.14", "NOLB", "2"),
    ]);
    let got = parse_show_stat(&text).unwrap();
    assert_eq!(
        got,
        vec![
            BackendHealth {
                backend: "api-server-external-443".into(),
                up: 2,
                total: 3,
                down: vec!["192.0.2.13".into()],
            },
            BackendHealth {
                backend: "ingress-80".into(),
                up: 1,
                total: 4,
                down: vec![
                    "192.0.2.12".into(),
                    "192.0.2.13".into(),
                    "192.0.2.14".into()
                ],
            },
        ]
    );
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    assert!(parse_show_stat("").is_err());
    assert!(parse_show_stat("Unknown command.\n").is_err());
    assert!(
        parse_show_stat("# pxname,svname\nx,y\n").is_err(),
        "no status/type columns"
    );
    // Short rows are tolerated (missing fields read as empty).
    let got = parse_show_stat(&format!("{HEADER}\na,b\n")).unwrap();
    assert!(got.is_empty());
}

#[test]
fn status_line_reports_the_worst_backend_of_each_kind() {
    let mut model = LoadBalancerModel::new(
        HaproxyPaths::under(Path::new("/")),
        Timeouts::with_idle(Duration::from_secs(3600)),
    );
    let peers: Vec<IpAddr> = vec!["192.0.2.11".parse().unwrap(), "192.0.2.12".parse().unwrap()];
    model
        .add_ingress(
            &parse_ingress_ports("80:30080 443:30443").unwrap(),
            &peers,
            &["192.0.2.100".parse().unwrap()],
        )
        .unwrap();
    let h = |b: &str, up, total| BackendHealth {
        backend: b.into(),
        up,
        total,
        down: vec![],
    };
    assert_eq!(
        status_fragment(&model, &[h("ingress-80", 2, 2), h("ingress-443", 1, 2)]),
        "1/2 workers up"
    );
    assert_eq!(
        status_fragment(&model, &[h("ingress-80", 2, 2)]),
        "2/2 workers up"
    );
    assert_eq!(
        status_fragment(&model, &[]),
        "",
        "HAProxy not reporting yet"
    );
}
