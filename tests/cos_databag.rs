//! The cos-agent databag src/cos writes, held field by field to what the real
//! cos_agent library (LIBPATCH 26, cosl 1.11) writes for the same rules,
//! dashboard and inputs: tests/fixtures/cos/databag.json, made once by
//! tests/fixtures/cos/make_fixture.py (how, in its docstring). Dashboards are
//! compared after decoding (base64, xz, JSON), and, when the Python venv of
//! scripts/install-deps is there, decoded by cosl itself.

mod cos_support;
#[path = "support/skip.rs"]
mod skip;

use std::io::Write;
use std::process::{Command, Stdio};

use k8s_vip::cos::{config_json, decode_dashboard, ScrapeJob, Topology, CHARM_NAME};
use serde_json::Value;

struct Fixture {
    topology: Topology,
    jobs: Vec<ScrapeJob>,
    library: Value,
}

fn fixture() -> Fixture {
    let path = cos_support::root().join("tests/fixtures/cos/databag.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let inputs = &doc["inputs"];
    let unit = inputs["unit"].as_str().unwrap();
    let topology = Topology {
        model: inputs["model"].as_str().unwrap().into(),
        model_uuid: inputs["model_uuid"].as_str().unwrap().into(),
        application: unit.split('/').next().unwrap().into(),
        unit: unit.into(),
        charm_name: CHARM_NAME.into(),
    };
    let jobs = inputs["scrape_configs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| ScrapeJob {
            name: c["job_name"].as_str().unwrap().into(),
            metrics_path: c["metrics_path"].as_str().unwrap().into(),
            targets: c["static_configs"][0]["targets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_str().unwrap().into())
                .collect(),
            honor_labels: c["honor_labels"] == true,
        })
        .collect();
    let library = serde_json::from_str(doc["config"].as_str().unwrap()).unwrap();
    Fixture {
        topology,
        jobs,
        library,
    }
}

/// What to do when a rule file or the dashboard changed on purpose.
const REGENERATE: &str = "tests/fixtures/cos/make_fixture.py (see its docstring)";

fn ours(f: &Fixture) -> Value {
    serde_json::from_str(&config_json(&f.topology, &f.jobs).unwrap()).unwrap()
}

#[test]
fn same_fields_as_the_library() {
    let f = fixture();
    let ours = ours(&f);
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&ours), keys(&f.library));
    for field in [
        "subordinate",
        "log_slots",
        "tracing_protocols",
        "log_alert_rules",
    ] {
        assert_eq!(ours[field], f.library[field], "{field}");
    }
}

#[test]
fn scrape_jobs_equal_the_library() {
    let f = fixture();
    let ours = ours(&f);
    assert_eq!(
        ours["metrics_scrape_jobs"],
        f.library["metrics_scrape_jobs"]
    );
    let names: Vec<&str> = ours["metrics_scrape_jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["job_name"].as_str().unwrap())
        .collect();
    // What the alert rules' job matchers expect.
    assert!(names[0].starts_with("k8s-vip_agent_") && names[0].len() == "k8s-vip_agent_".len() + 8);
}

#[test]
fn alert_rules_equal_the_library_group_by_group() {
    let f = fixture();
    let ours = ours(&f);
    let ours = ours["metrics_alert_rules"]["groups"].as_array().unwrap();
    let theirs = f.library["metrics_alert_rules"]["groups"]
        .as_array()
        .unwrap();
    let names = |g: &[Value]| g.iter().map(|g| g["name"].clone()).collect::<Vec<_>>();
    assert_eq!(names(ours), names(theirs));
    for (a, b) in ours.iter().zip(theirs) {
        let (ra, rb) = (
            a["rules"].as_array().unwrap(),
            b["rules"].as_array().unwrap(),
        );
        assert_eq!(ra.len(), rb.len(), "{}", a["name"]);
        for (x, y) in ra.iter().zip(rb) {
            assert_eq!(
                x, y,
                "group {}, rule {} (after changing a rule file, rerun {REGENERATE})",
                a["name"], x["alert"]
            );
        }
    }
}

#[test]
fn dashboards_decode_to_what_the_library_sends() {
    let f = fixture();
    let ours = ours(&f);
    let ours = ours["dashboards"].as_array().unwrap();
    let theirs = f.library["dashboards"].as_array().unwrap();
    assert_eq!(ours.len(), theirs.len());
    for (a, b) in ours.iter().zip(theirs) {
        let a = decode_dashboard(a.as_str().unwrap()).unwrap();
        let b = decode_dashboard(b.as_str().unwrap()).unwrap();
        assert_eq!(a["uid"], b["uid"]);
        assert_eq!(a["tags"], b["tags"]);
        assert_eq!(a, b, "after changing the dashboard, rerun {REGENERATE}");
    }
}

/// The venv scripts/install-deps makes with cosl from PyPI.
fn venv_python() -> Option<std::path::PathBuf> {
    let python = cos_support::root().join("build/cos-venv/bin/python");
    python.exists().then_some(python)
}

#[test]
fn cosl_decodes_our_dashboards() {
    let Some(python) = venv_python() else {
        skip::skipped(
            "cos venv",
            "no build/cos-venv with cosl (scripts/install-deps creates it)",
        );
        return;
    };
    let f = fixture();
    let ours = ours(&f);
    let script = "import json, sys, warnings\n\
                  warnings.simplefilter('ignore')\n\
                  from cosl import GrafanaDashboard\n\
                  for line in sys.stdin.read().split():\n\
                  \x20   print(json.dumps(GrafanaDashboard(line)._deserialize()))\n";
    let mut child = Command::new(python)
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let encoded: Vec<&str> = ours["dashboards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(encoded.join("\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let decoded: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(decoded.len(), encoded.len());
    for (python, rust) in decoded.iter().zip(&encoded) {
        // cosl logs and returns {} for a dashboard it cannot read.
        assert_ne!(python, &Value::Object(Default::default()));
        assert_eq!(python, &decode_dashboard(rust).unwrap());
        assert_eq!(python["title"], "k8s-vip");
    }
}
