//! The packed charm: zip layout (symlinked hooks, executable entry point),
//! manifest.yaml, `charmcraft analyse` clean, and a binary that runs on
//! Ubuntu 22.04 (glibc 2.35).

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
    let entries = zip_entries(&charm);
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
    let unpacked = out.path().join("unpacked");
    run(Command::new("unzip")
        .arg("-q")
        .arg(&charm)
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
    eprintln!(
        "packed {} ({} bytes, debug binary)",
        charm.display(),
        std::fs::metadata(&charm).unwrap().len()
    );
}

/// charmcraft from the venv scripts/install-deps makes (`make test` runs it).
/// Outside CI a missing venv skips with a message; in CI it fails.
fn charmcraft() -> Option<PathBuf> {
    let path = Path::new(SRC).join("build/venv/bin/charmcraft");
    if path.is_file() {
        return Some(path);
    }
    let hint = "build/venv/bin/charmcraft is missing: run `make deps` (scripts/install-deps)";
    assert!(std::env::var_os("CI").is_none(), "{hint}");
    eprintln!("SKIPPED: {hint}");
    None
}

#[test]
fn charmcraft_analyse_finds_no_error_or_warning() {
    let Some(charmcraft) = charmcraft() else {
        return;
    };
    let (charm, out) = pack(DEBUG_BINARY);
    let output = Command::new(&charmcraft)
        .arg("analyse")
        .arg(&charm)
        .env("XDG_RUNTIME_DIR", out.path())
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
fn binaries_need_no_glibc_newer_than_ubuntu_22_04() {
    // <target>/debug/k8s-vip → <target>/release/k8s-vip, wherever the target dir is.
    let release = Path::new(DEBUG_BINARY)
        .parent()
        .and_then(Path::parent)
        .map(|target| target.join("release/k8s-vip"))
        .unwrap_or_default();
    let mut binaries = vec![PathBuf::from(DEBUG_BINARY)];
    if release.is_file() {
        binaries.push(release);
    } else {
        eprintln!(
            "note: no release build yet; checking the debug binary only (it calls the same libc)"
        );
    }
    for binary in binaries {
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
            "{} needs glibc newer than {}.{}: {too_new:?}",
            binary.display(),
            GLIBC_CEILING.0,
            GLIBC_CEILING.1
        );
        let newest = versions.iter().map(|(a, b, _)| (*a, *b)).max().unwrap();
        eprintln!(
            "{}: newest GLIBC_{}.{}",
            binary.display(),
            newest.0,
            newest.1
        );
    }
}
