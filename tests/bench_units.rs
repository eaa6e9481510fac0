//! Unit tests of the benchmark and demo support modules in bench/ (statistics,
//! tables, the failover log importer, the timeline picture). They live here
//! because bench/main.rs is a harness-less bench target, where `#[test]`
//! functions never run.

#[path = "../bench/failover.rs"]
#[allow(dead_code)]
mod failover;
#[path = "../bench/parse.rs"]
mod parse;
#[path = "../bench/stats.rs"]
#[allow(dead_code)]
mod stats;
#[path = "../bench/timeline.rs"]
#[allow(dead_code)]
mod timeline;

mod stats_tests {
    use crate::stats::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        let s = Summary::of(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.median, s.min, s.max, s.n), (2.0, 1.0, 3.0, 3));
        let s = Summary::of(&[4.0, 1.0, 2.0, 3.0]).unwrap();
        assert_eq!(s.median, 2.5);
        assert!(Summary::of(&[]).is_none());
        assert!(Summary::of(&[1.0, f64::NAN]).is_none());
    }

    #[test]
    fn ratio_is_ours_over_theirs_and_absent_without_both() {
        let r = Row::from_samples("x", "ms", &[10.0], &[40.0]);
        assert_eq!(r.ratio, Some(0.25));
        let r = Row::from_samples("x", "ms", &[10.0], &[]);
        assert_eq!(r.ratio, None);
    }

    #[test]
    fn markdown_has_one_line_per_row() {
        let t = Table {
            key: "k".into(),
            title: "T".into(),
            ours_label: "ours".into(),
            theirs_label: "theirs".into(),
            method: String::new(),
            rows: vec![Row::from_samples("a", "ms", &[1.0, 2.0], &[2.0, 4.0])],
        };
        let md = t.to_markdown();
        assert!(md.contains("| a | ms | 1.50 (1.00–2.00) | 3 (2–4) | 0.50× | 2 |"));
    }

    #[test]
    fn a_one_sided_table_has_no_alternative_or_ratio_column() {
        let t = Table {
            key: "k".into(),
            title: "T".into(),
            ours_label: "ours".into(),
            theirs_label: String::new(),
            method: "m".into(),
            rows: vec![Row::from_samples("a", "ns", &[1.5, 3.5, 2.5], &[])],
        };
        let md = t.markdown_body();
        assert!(md.starts_with(
            "| metric | unit | ours median (min–max) | runs |\n|---|---|---:|---:|\n"
        ));
        assert!(md.contains("| a | ns | 2.50 (1.50–3.50) | 3 |"), "{md}");
        assert!(md.ends_with("\nm\n"));
    }
}

mod timeline_tests {
    use crate::timeline::*;

    fn sample() -> Timeline {
        let mut t = Timeline::new("t", vec!["a".into(), "b".into()]);
        t.events = vec![
            Event::Holders {
                t_ms: 0.0,
                units: vec![0],
            },
            Event::Request {
                t_ms: 10.0,
                ok: true,
            },
            Event::Marker {
                t_ms: 100.0,
                label: "kill".into(),
            },
            Event::Request {
                t_ms: 120.0,
                ok: false,
            },
            Event::Holders {
                t_ms: 150.0,
                units: vec![],
            },
            Event::Request {
                t_ms: 200.0,
                ok: false,
            },
            Event::Holders {
                t_ms: 400.0,
                units: vec![1],
            },
            Event::Request {
                t_ms: 420.0,
                ok: true,
            },
        ];
        t
    }

    #[test]
    fn spans_follow_holder_changes() {
        let spans = sample().hold_spans(500.0);
        assert_eq!(spans, vec![(0, 0.0, 150.0), (1, 400.0, 500.0)]);
    }

    #[test]
    fn outage_runs_from_first_failure_to_next_success() {
        assert_eq!(sample().outages(), vec![(120.0, 420.0)]);
    }

    #[test]
    fn writes_an_svg_with_lanes_and_markers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.svg");
        sample().write_svg(&path).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("kill"));
        assert!(svg.contains("client → VIP"));
        assert!(svg.contains("rgb(214,48,49)") || svg.contains("#D63031"));
    }
}

mod failover_tests {
    use crate::failover::*;

    #[test]
    fn reads_the_agent_benchmark_log() {
        let log = "noise\ntest bench ... Ours Crash 100 ms trial 0: 344 ms (master RSS 2345 KiB)\n\
                   Keepalived Crash 100 ms trial 0 (phase 0.05): 350 ms, 371 ms after the master's last advert, VIP on unit0 at 341 ms (master RSS 9000 KiB)\n\
                   Ours Graceful 1000 ms trial 1: 620 ms (master RSS 1 KiB)\n";
        let trials = parse_log(log);
        assert_eq!(trials.len(), 3);
        assert_eq!(trials[1].vip_ms, Some(341.0));
        assert_eq!(trials[0].vip_ms, None);
        let t = table(&trials);
        let crash = &t.rows[0];
        assert!(crash.metric.contains("SIGKILL + port down, 100 ms"));
        assert_eq!(crash.ours_samples, vec![344.0]);
        assert_eq!(crash.ours.map(|s| s.median), Some(344.0));
        assert_eq!(crash.theirs.map(|s| s.median), Some(350.0));
        let since = &t.rows[1];
        assert!(since.metric.contains("from its last advert"));
        assert!(since.ours.is_none());
        assert_eq!(since.theirs.map(|s| s.median), Some(371.0));
        assert!(t.rows[2].metric.contains("SIGTERM, 1000 ms"));
        assert!(t.rows[2].theirs.is_none());
        let split = split_table(&trials);
        assert!(split.rows[0].metric.contains("fault → VIP"));
        assert_eq!(split.rows[0].theirs.map(|s| s.median), Some(341.0));
        assert_eq!(split.rows[1].theirs.map(|s| s.median), Some(9.0));
    }

    #[test]
    fn the_bfd_cell_is_its_own_row_against_keepalived() {
        let log = "Ours Crash 100 ms trial 0 (phase 0.50): 324 ms, VIP on unit0 at 321 ms (master RSS 1 KiB)\n\
                   Keepalived Crash 100 ms trial 0 (phase 0.50): 318 ms, VIP on unit0 at 311 ms (master RSS 1 KiB)\n\
                   OursBfd Crash 100 ms trial 0 (phase 0.50): 57 ms, VIP on unit0 at 51 ms (master RSS 1 KiB)\n";
        let trials = parse_log(log);
        assert_eq!(trials[2].implementation, BFD);
        let t = table(&trials);
        let ours = t
            .rows
            .iter()
            .find(|r| r.metric.ends_with("→ first client connect") && !r.metric.contains("BFD"))
            .unwrap();
        assert_eq!(ours.ours_samples, vec![324.0]);
        let bfd = t
            .rows
            .iter()
            .find(|r| r.metric.contains("BFD 20 ms × 3"))
            .unwrap();
        assert_eq!(bfd.ours_samples, vec![57.0]);
        assert_eq!(bfd.theirs_samples, vec![318.0]);
        assert!((bfd.ratio.unwrap() - 57.0 / 318.0).abs() < 1e-9);
        let split = split_table(&trials);
        let b = split
            .rows
            .iter()
            .find(|r| r.metric.contains("BFD"))
            .unwrap();
        assert_eq!(
            (b.ours_samples.clone(), b.theirs_samples.clone()),
            (vec![51.0], vec![311.0])
        );
    }

    #[test]
    fn a_missing_trial_fails_the_import() {
        let line = |imp: &str, mode: &str| format!("{imp} {mode} 100 ms trial 0: 300 ms\n");
        let all = ["Ours", "Keepalived"]
            .iter()
            .flat_map(|i| ["Crash", "Graceful"].map(|m| line(i, m)))
            .collect::<String>();
        let trials = parse_log(&all);
        let err = check_complete(&trials, &[100, 1000], 1)
            .unwrap_err()
            .to_string();
        assert!(err.contains("k8s-vip+bfd crash 100 ms: 0 of 1"), "{err}");
        assert!(!err.contains("k8s-vip+bfd crash 1000"), "{err}");
        let trials = parse_log(&(all + &line("OursBfd", "Crash")));
        check_complete(&trials, &[100], 1).unwrap();
        let err = check_complete(&trials, &[100], 2).unwrap_err().to_string();
        assert!(err.contains("k8s-vip crash 100 ms: 1 of 2"), "{err}");
        let err = check_complete(&trials[1..], &[100], 1)
            .unwrap_err()
            .to_string();
        assert!(err.contains("k8s-vip crash 100 ms: 0 of 1"), "{err}");
    }
}

mod parse_tests {
    use crate::parse::*;

    #[test]
    fn smaps_rollup_gives_rss_pss_and_uss() {
        let text = "55d0c0a00000-7ffd5d1f2000 ---p 00000000 00:00 0  [rollup]\n\
                    Rss:                5324 kB\nPss:                1201 kB\n\
                    Pss_Anon:            700 kB\nShared_Clean:       4400 kB\n\
                    Private_Clean:       120 kB\nPrivate_Dirty:       700 kB\n";
        let m = smaps_rollup(text);
        assert_eq!((m.rss, m.pss, m.uss), (5324, 1201, 820));
        assert_eq!(smaps_rollup(""), Memory::default());
        assert_eq!((m + m).uss, 1640);
    }

    #[test]
    fn strace_summary_counts_calls_per_syscall() {
        let text = "% time     seconds  usecs/call     calls    errors syscall\n\
                    ------ ----------- ----------- --------- --------- ----------------\n\
                     60.00    0.000600           6       100           epoll_pwait2\n\
                     40.00    0.000400           2       200       100 recvmsg\n\
                    ------ ----------- ----------- --------- --------- ----------------\n\
                    100.00    0.001000           3       300       100 total\n";
        let c = strace_summary(text);
        assert_eq!(c.len(), 2);
        assert_eq!(c["epoll_pwait2"], 100);
        assert_eq!(c["recvmsg"], 200);
    }
}
