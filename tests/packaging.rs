//! The packed charm: zip layout (symlinked hooks, executable entry point),
//! manifest.yaml, `charmcraft analyse` clean, a binary that runs on Ubuntu
//! 22.04 (glibc 2.35) and an agent unit with a low systemd exposure score.
//!
//! The layout is checked on a charm packed here from the debug build (it tests
//! scripts/pack-charm); the release checks judge what ships: the charm `make
//! charm` packed from the release build, named by `K8S_VIP_SHIPPED_CHARM`
//! (`.ci/run` and `make release-check` set it). Without it those checks are a
//! recorded skip (tests/support/skip.rs), a failure under
//! `K8S_VIP_REQUIRE_ALL=1`.

#[path = "support/skip.rs"]
mod skip;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use k8s_vip::juju::charm_meta::CharmMeta;

const SRC: &str = env!("CARGO_MANIFEST_DIR");
const DEBUG_BINARY: &str = env!("CARGO_BIN_EXE_k8s-vip");
/// Ubuntu 22.04's glibc: the binary may need no newer symbol version.
const GLIBC_CEILING: (u32, u32) = (2, 35);

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Packs `binary` with scripts/pack-charm into a fresh directory; returns the
/// .charm path (the script's last output line) and the directory guard.
fn pack(binary: &str) -> (PathBuf, tempfile::TempDir) {
    let out = tempfile::tempdir().unwrap();
    let stdout = run(Command::new(Path::new(SRC).join("scripts/pack-charm"))
        .arg(binary)
        .arg(out.path()));
    let last = stdout.lines().last().expect("pack-charm printed nothing");
    let charm = PathBuf::from(last);
    assert!(charm.is_file(), "last line {last:?} is not the packed file");
    assert!(charm.starts_with(out.path()));
    assert_eq!(
        charm.file_name().unwrap(),
        "k8s-vip_ubuntu-22.04-amd64_ubuntu-24.04-amd64.charm"
    );
    (charm, out)
}

/// (permissions, name) of every zip entry, from zipinfo.
fn zip_entries(charm: &Path) -> Vec<(String, String)> {
    run(Command::new("zipinfo").arg(charm))
        .lines()
        .filter(|l| l.starts_with(['-', 'l', 'd']))
        .filter_map(|l| {
            let mode = l.split_whitespace().next()?.to_string();
            let name = l.split_whitespace().last()?.to_string();
            Some((mode, name))
        })
        .collect()
}

#[test]
fn charm_zip_holds_the_charm_with_hooks_as_symlinks() {
    let (charm, out) = pack(DEBUG_BINARY);
    check_layout(&charm, out.path());
    eprintln!(
        "packed {} ({} bytes, debug binary)",
        charm.display(),
        std::fs::metadata(&charm).unwrap().len()
    );
}

#[test]
fn shipped_charm_holds_the_charm_with_hooks_as_symlinks() {
    let Some(shipped) = Shipped::get() else {
        return;
    };
    let scratch = tempfile::tempdir().unwrap();
    check_layout(&shipped.charm, scratch.path());
}

/// The zip layout, hooks, entry point and manifest of `charm`, unpacked into
/// `scratch`/unpacked.
fn check_layout(charm: &Path, scratch: &Path) {
    let entries = zip_entries(charm);
    let names: BTreeSet<&str> = entries.iter().map(|(_, n)| n.as_str()).collect();
    for required in [
        "manifest.yaml",
        "metadata.yaml",
        "config.yaml",
        "actions.yaml",
        "README.md",
        "dispatch",
        "bin/k8s-vip",
    ] {
        assert!(
            names.contains(required),
            "{required} missing from {names:?}"
        );
    }
    let mode = |name: &str| {
        entries
            .iter()
            .find(|(_, n)| n == name)
            .map(|(m, _)| m.clone())
            .unwrap()
    };
    assert_eq!(mode("dispatch"), "-rwxr-xr-x");
    assert_eq!(mode("bin/k8s-vip"), "-rwxr-xr-x");

    // Every hook the charm handles, and nothing else, as a symlink to ../dispatch.
    let meta = CharmMeta::load(Path::new(SRC)).unwrap();
    let hooks: BTreeSet<String> = entries
        .iter()
        .filter_map(|(_, n)| n.strip_prefix("hooks/"))
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect();
    assert_eq!(hooks, meta.hook_names());
    let unpacked = scratch.join("unpacked");
    run(Command::new("unzip")
        .arg("-q")
        .arg(charm)
        .arg("-d")
        .arg(&unpacked));
    for hook in &hooks {
        assert!(mode(&format!("hooks/{hook}")).starts_with('l'), "{hook}");
        let target = std::fs::read_link(unpacked.join("hooks").join(hook)).unwrap();
        assert_eq!(target, Path::new("../dispatch"), "{hook}");
    }
    if Path::new(SRC).join("templates").is_dir() {
        assert!(names.iter().any(|n| n.starts_with("templates/")));
    }

    // dispatch's last token is the entry point charmcraft's linter checks.
    let dispatch = std::fs::read_to_string(unpacked.join("dispatch")).unwrap();
    let last_line = dispatch
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap();
    assert_eq!(last_line.split_whitespace().last(), Some("./bin/k8s-vip"));

    // manifest.yaml as charmcraft writes it.
    let manifest: serde_json::Value =
        serde_yaml::from_str(&std::fs::read_to_string(unpacked.join("manifest.yaml")).unwrap())
            .unwrap();
    let bases: Vec<(String, String, Vec<String>)> = manifest["bases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["name"].as_str().unwrap().to_string(),
                b["channel"].as_str().unwrap().to_string(),
                b["architectures"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a.as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect();
    let amd64 = vec!["amd64".to_string()];
    assert_eq!(
        bases,
        vec![
            ("ubuntu".into(), "22.04".into(), amd64.clone()),
            ("ubuntu".into(), "24.04".into(), amd64)
        ]
    );
    assert!(manifest["charmcraft-version"].is_string());
    let started = manifest["charmcraft-started-at"].as_str().unwrap();
    assert!(started.ends_with('Z') && started.contains('T'), "{started}");
    let attributes: Vec<&str> = manifest["analysis"]["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(attributes, ["language", "framework"]);
}

/// The charm that ships (see the module docs), unpacked.
struct Shipped {
    charm: PathBuf,
    unpacked: tempfile::TempDir,
}

impl Shipped {
    /// The shipped charm, or None after recording the skip.
    fn get() -> Option<Shipped> {
        let Some(charm) = std::env::var_os("K8S_VIP_SHIPPED_CHARM").map(PathBuf::from) else {
            skip::skipped(
                "the release charm",
                "run `make release-check` (make charm, then these checks on the .charm it packed)",
            );
            return None;
        };
        assert!(
            charm.is_file(),
            "K8S_VIP_SHIPPED_CHARM={} is no file",
            charm.display()
        );
        let unpacked = tempfile::tempdir().unwrap();
        run(Command::new("unzip")
            .arg("-q")
            .arg(&charm)
            .arg("-d")
            .arg(unpacked.path()));
        Some(Shipped { charm, unpacked })
    }

    /// The charm's own binary, bin/k8s-vip.
    fn binary(&self) -> PathBuf {
        self.unpacked.path().join("bin/k8s-vip")
    }
}

/// charmcraft from the venv scripts/install-deps makes (`make test` runs it),
/// or None after recording the skip.
fn charmcraft() -> Option<PathBuf> {
    let path = Path::new(SRC).join("build/venv/bin/charmcraft");
    if path.is_file() {
        return Some(path);
    }
    skip::skipped(
        "charmcraft",
        "build/venv/bin/charmcraft is missing: run `make deps` (scripts/install-deps)",
    );
    None
}

#[test]
fn charmcraft_analyse_finds_no_error_or_warning_in_the_shipped_charm() {
    let Some(charmcraft) = charmcraft() else {
        return;
    };
    let Some(shipped) = Shipped::get() else {
        return;
    };
    let runtime = tempfile::tempdir().unwrap();
    let output = Command::new(&charmcraft)
        .arg("analyse")
        .arg(&shipped.charm)
        .env("XDG_RUNTIME_DIR", runtime.path())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "charmcraft analyse failed:\n{text}"
    );
    eprintln!("{text}");
    let bad: Vec<&str> = text
        .lines()
        .filter(|l| {
            l.contains("ERROR")
                || l.contains("WARNING")
                || l.contains("Errors:")
                || l.contains("Warnings:")
        })
        .collect();
    assert!(bad.is_empty(), "charmcraft analyse complained:\n{text}");
    // The linters that matter for a non-Python charm did run and pass.
    for lint in [
        "entrypoint",
        "juju-config",
        "juju-actions",
        "metadata",
        "naming-conventions",
    ] {
        assert!(
            text.lines().any(|l| l.contains(lint) && l.contains("OK")),
            "linter {lint} did not report OK:\n{text}"
        );
    }
}

#[test]
fn charmcraft_accepts_charmcraft_yaml() {
    let Some(charmcraft) = charmcraft() else {
        return;
    };
    let runtime = tempfile::tempdir().unwrap();
    let expanded = run(Command::new(&charmcraft)
        .arg("expand-extensions")
        .current_dir(SRC)
        .env("XDG_RUNTIME_DIR", runtime.path()));
    let doc: serde_json::Value = serde_yaml::from_str(&expanded).unwrap();
    assert_eq!(doc["name"], "k8s-vip");
    assert_eq!(doc["parts"]["k8s-vip"]["plugin"], "dump");
    let platforms: BTreeSet<&str> = doc["platforms"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        platforms,
        ["ubuntu-22.04-amd64", "ubuntu-24.04-amd64"].into()
    );
}

/// The newest GLIBC_x.y symbol versions a binary needs, from `objdump -T`.
fn glibc_versions(binary: &Path) -> BTreeSet<(u32, u32, String)> {
    let dump = run(Command::new("objdump").arg("-T").arg(binary));
    let mut found = BTreeSet::new();
    for line in dump.lines() {
        let Some(start) = line.find("GLIBC_") else {
            continue;
        };
        let version: String = line[start + 6..]
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
        let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
        let symbol = line.split_whitespace().last().unwrap_or("").to_string();
        found.insert((major, minor, symbol));
    }
    found
}

#[test]
fn shipped_binary_needs_no_glibc_newer_than_ubuntu_22_04() {
    let Some(shipped) = Shipped::get() else {
        return;
    };
    let binary = shipped.binary();
    let versions = glibc_versions(&binary);
    assert!(
        !versions.is_empty(),
        "{}: no GLIBC symbols found",
        binary.display()
    );
    let too_new: Vec<_> = versions
        .iter()
        .filter(|(major, minor, _)| (*major, *minor) > GLIBC_CEILING)
        .collect();
    assert!(
        too_new.is_empty(),
        "the shipped binary needs glibc newer than {}.{}: {too_new:?}",
        GLIBC_CEILING.0,
        GLIBC_CEILING.1
    );
    let newest = versions.iter().map(|(a, b, _)| (*a, *b)).max().unwrap();
    eprintln!(
        "shipped bin/k8s-vip: newest GLIBC_{}.{}",
        newest.0, newest.1
    );
}

/// The agent unit the shipped binary writes (`k8s-vip render`), judged by
/// `systemd-analyze security --offline`: the exposure stays low (2.4 today).
#[test]
fn shipped_agent_unit_has_a_low_systemd_exposure() {
    let Some(shipped) = Shipped::get() else {
        return;
    };
    if !skip::need_program("systemd-analyze") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("inputs.json");
    std::fs::write(
        &inputs,
        r#"{"hook": "config-changed", "unit": "k8s-vip/0", "app": "k8s-vip", "model": "test",
            "config": {"virtual-ip": "192.0.2.100", "health-check": "none"},
            "network": {"interfaces": [{"name": "eth0", "addrs": [{"addr": "192.0.2.11", "prefix": 24}]}],
                        "ingress": ["192.0.2.11"]},
            "peers": [{"unit": "k8s-vip/1", "data": {"address": "192.0.2.12"}}]}"#,
    )
    .unwrap();
    let out = dir.path().join("out");
    run(Command::new(shipped.binary())
        .arg("render")
        .arg("--inputs")
        .arg(&inputs)
        .arg("--out")
        .arg(&out));
    let unit = out.join("etc/systemd/system/k8s-vip-agent.service");
    assert!(unit.is_file(), "render wrote no agent unit");
    let analysed = Command::new("systemd-analyze")
        .args(["security", "--offline=true"])
        .arg(&unit)
        .output()
        .expect("run systemd-analyze");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&analysed.stdout),
        String::from_utf8_lossy(&analysed.stderr)
    );
    let score = text
        .lines()
        .find_map(|l| {
            l.split("Overall exposure level for k8s-vip-agent.service:")
                .nth(1)
        })
        .and_then(|r| r.split_whitespace().next())
        .and_then(|s| s.parse::<f64>().ok());
    let Some(score) = score else {
        skip::skipped("systemd-analyze security --offline (systemd 250+)", &text);
        return;
    };
    eprintln!("MEASURED shipped agent unit systemd exposure: {score}");
    assert!(score <= 3.0, "exposure {score} (was 2.4):\n{text}");
}
