//! Unit tests of the benchmark and demo support modules in bench/ (statistics,
//! tables, the failover log importer, the timeline picture). They live here
//! because bench/main.rs is a harness-less bench target, where `#[test]`
//! functions never run.

#[path = "../bench/failover.rs"]
#[allow(dead_code)]
mod failover;
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
                   Keepalived Crash 100 ms trial 0 (phase 0.05): 350 ms, 371 ms after the master's last advert (master RSS 9000 KiB)\n\
                   Ours Graceful 1000 ms trial 1: 620 ms (master RSS 1 KiB)\n";
        let trials = parse_log(log);
        assert_eq!(trials.len(), 3);
        let t = table(&trials);
        let crash = &t.rows[0];
        assert!(crash.metric.contains("SIGKILL, 100 ms"));
        assert_eq!(crash.ours.map(|s| s.median), Some(344.0));
        assert_eq!(crash.theirs.map(|s| s.median), Some(350.0));
        let since = &t.rows[1];
        assert!(since.metric.contains("from its last advert"));
        assert!(since.ours.is_none());
        assert_eq!(since.theirs.map(|s| s.median), Some(371.0));
        assert!(t.rows[2].metric.contains("SIGTERM, 1000 ms"));
        assert!(t.rows[2].theirs.is_none());
    }
}
