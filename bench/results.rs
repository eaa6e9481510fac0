//! The result files of `make bench`: one JSON file per benchmark part under
//! bench/results/ (committed), holding the machine, the versions, the date, the
//! command, the build profile, every raw sample and the summary tables.
//!
//! Why it exists: a figure in the docs is only worth what its source is; the
//! docs' tables are rendered from these files (bench/render.rs), so every
//! number traces to a file and the command that wrote it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::stats::Table;

/// Version of the file layout; bump on incompatible changes.
pub const SCHEMA: u32 = 1;

/// The machine a part ran on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// CPU model name from /proc/cpuinfo.
    pub cpu: String,
    /// Logical CPUs available to the benchmark.
    pub cores: usize,
    /// Kernel release (/proc/sys/kernel/osrelease).
    pub kernel: String,
}

/// Versions of everything compared.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Versions {
    /// k8s-vip's package version and git commit.
    pub k8s_vip: String,
    /// `keepalived --version`, when installed.
    #[serde(default)]
    pub keepalived: Option<String>,
    /// `haproxy -v`, when installed.
    #[serde(default)]
    pub haproxy: Option<String>,
    /// The Rust compiler that built the benchmark.
    #[serde(default)]
    pub rustc: Option<String>,
}

/// One part's results: what `make bench-PART` wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultFile {
    /// [`SCHEMA`] at the time of writing.
    pub schema: u32,
    /// The part ("failover", "hook-cost", "footprint", "syscalls", "vrrp").
    pub part: String,
    /// True for `make bench-smoke` output: one short trial, not a measurement.
    pub smoke: bool,
    /// When the part finished (UTC).
    pub date: String,
    /// The make target that runs this part.
    pub make_target: String,
    /// The command line as run (BENCH_* settings included).
    pub command: String,
    /// The cargo profile the measured binaries were built with, and its settings.
    pub build: String,
    /// Where it ran.
    pub machine: Machine,
    /// What ran.
    pub versions: Versions,
    /// The part's knobs (trials, window, latency...).
    #[serde(default)]
    pub parameters: BTreeMap<String, serde_json::Value>,
    /// The summary tables (each row keeps its raw samples).
    pub tables: Vec<Table>,
    /// Part-specific raw records (e.g. every failover trial), when the
    /// tables' samples do not say everything.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub raw: serde_json::Value,
}

/// The crate's root directory.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Where results go: `BENCH_RESULTS_DIR`, else bench/results in the crate.
pub fn results_dir() -> PathBuf {
    match std::env::var_os("BENCH_RESULTS_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => repo().join("bench/results"),
    }
}

impl ResultFile {
    /// A result file for `part` describing this run (machine, versions,
    /// date, command and build read from the running system).
    pub fn describe(part: &str, make_target: &str, tables: Vec<Table>) -> ResultFile {
        ResultFile {
            schema: SCHEMA,
            part: part.to_string(),
            smoke: std::env::var("BENCH_SMOKE").is_ok_and(|v| v == "1"),
            date: utc_now(),
            make_target: make_target.to_string(),
            command: command_line(),
            build: build_profile(),
            machine: machine(),
            versions: versions(),
            parameters: BTreeMap::new(),
            tables,
            raw: serde_json::Value::Null,
        }
    }

    /// Adds a knob and its value.
    pub fn param(mut self, key: &str, value: impl Into<serde_json::Value>) -> ResultFile {
        self.parameters.insert(key.to_string(), value.into());
        self
    }

    /// Writes `<dir>/<part>.json` and returns its path.
    pub fn save(&self, dir: &Path) -> anyhow::Result<PathBuf> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join(format!("{}.json", self.part));
        std::fs::write(&path, serde_json::to_string_pretty(self)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }

    /// Reads one result file.
    pub fn load(path: &Path) -> anyhow::Result<ResultFile> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }

    /// Every `*.json` result file in `dir` (none when it does not exist),
    /// sorted by name.
    pub fn load_dir(dir: &Path) -> anyhow::Result<Vec<(PathBuf, ResultFile)>> {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Ok(Vec::new());
        };
        let mut paths: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        paths.sort();
        paths
            .into_iter()
            .map(|p| ResultFile::load(&p).map(|r| (p, r)))
            .collect()
    }

    /// One line saying where a table comes from, for the docs.
    pub fn provenance(&self, shown_path: &str) -> String {
        let mut versions = vec![format!("k8s-vip {}", self.versions.k8s_vip)];
        versions.extend(
            self.versions
                .keepalived
                .iter()
                .map(|v| format!("keepalived {v}")),
        );
        versions.extend(self.versions.haproxy.iter().map(|v| format!("HAProxy {v}")));
        let smoke = if self.smoke {
            "**Smoke run (one short trial): not a measurement.** "
        } else {
            ""
        };
        format!(
            "{smoke}_Source: `{shown_path}`, written by `{}` on {}; {} cores, {}, Linux {}; {}; build: {}._",
            self.make_target,
            self.date,
            self.machine.cores,
            self.machine.cpu,
            self.machine.kernel,
            versions.join(", "),
            self.build
        )
    }
}

/// Today's UTC date and time, from `date -u` (no date crate needed).
fn utc_now() -> String {
    output_of("date", &["-u", "+%Y-%m-%d %H:%M UTC"]).unwrap_or_default()
}

/// The trimmed stdout+stderr of a command that succeeded, else None.
fn output_of(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    Some(text.trim().to_string())
}

/// The command as run: the BENCH_* settings in the environment, then
/// `cargo bench --bench NAME -- ARGS`.
fn command_line() -> String {
    let mut env: Vec<String> = std::env::vars()
        .filter(|(k, _)| k.starts_with("BENCH_") && k != "BENCH_RESULTS_DIR")
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    env.sort();
    let exe = std::env::current_exe().unwrap_or_default();
    let stem = exe
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    // Cargo names bench executables NAME-HASH.
    let name = stem.rsplit_once('-').map(|(n, _)| n).unwrap_or(&stem);
    let name = name.replace('_', "-");
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let mut parts = env;
    parts.push(format!("cargo bench --bench {name} --"));
    parts.extend(args);
    parts.join(" ")
}

/// The cargo profile this binary was built with, from where Cargo put it
/// (target/release for the bench and release profiles, target/debug for
/// dev), with the profile's settings as Cargo.toml states them and any
/// CARGO_PROFILE_* overrides in the environment.
pub fn build_profile() -> String {
    let exe = std::env::current_exe().unwrap_or_default();
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let manifest = std::fs::read_to_string(repo().join("Cargo.toml")).unwrap_or_default();
    let mut text = match dir.as_str() {
        "release" => {
            let bench = profile_settings(&manifest, "bench");
            let release = profile_settings(&manifest, "release");
            if bench.is_empty() {
                format!("bench profile = release ({release})")
            } else {
                format!("bench profile ({bench}; rest as release: {release})")
            }
        }
        "debug" => format!(
            "dev profile, unoptimised ({})",
            profile_settings(&manifest, "dev")
        ),
        other => format!("profile directory {other:?}"),
    };
    let mut overrides: Vec<String> = std::env::vars()
        .filter(|(k, _)| k.starts_with("CARGO_PROFILE_"))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    overrides.sort();
    if !overrides.is_empty() {
        text.push_str(&format!(", overridden by {}", overrides.join(" ")));
    }
    if cfg!(debug_assertions) {
        text.push_str(", debug assertions on");
    }
    text
}

/// The `key = value` lines of `[profile.NAME]` in a Cargo.toml, joined.
pub fn profile_settings(manifest: &str, name: &str) -> String {
    let header = format!("[profile.{name}]");
    let mut lines = manifest.lines().skip_while(|l| l.trim() != header);
    lines.next();
    lines
        .take_while(|l| !l.trim_start().starts_with('['))
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join(", ")
}

/// CPU model, cores and kernel from /proc.
fn machine() -> Machine {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|r| r.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    Machine {
        cpu,
        cores: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

/// The first word that looks like a version number ("v2.2.7", "2.6.12-1").
fn version_word(text: &str) -> Option<String> {
    text.split_whitespace()
        .map(|w| w.trim_start_matches('v'))
        .find(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit()) && w.contains('.'))
        .map(str::to_string)
}

/// keepalived's version, e.g. "2.2.7".
pub fn keepalived_version() -> Option<String> {
    version_word(&output_of("keepalived", &["--version"])?)
}

fn versions() -> Versions {
    let repo = repo().display().to_string();
    let commit = output_of("git", &["-C", &repo, "rev-parse", "--short", "HEAD"]);
    // The results and the docs they render into are what `make bench` writes.
    let dirty = output_of(
        "git",
        &[
            "-C",
            &repo,
            "status",
            "--porcelain",
            "--",
            ".",
            ":!bench/results",
            ":!README.md",
            ":!docs",
        ],
    )
    .is_some_and(|s| !s.is_empty());
    let k8s_vip = match commit {
        Some(c) if dirty => format!("{} ({c}, uncommitted changes)", env!("CARGO_PKG_VERSION")),
        Some(c) => format!("{} ({c})", env!("CARGO_PKG_VERSION")),
        None => env!("CARGO_PKG_VERSION").to_string(),
    };
    Versions {
        k8s_vip,
        keepalived: keepalived_version(),
        haproxy: output_of("haproxy", &["-v"]).and_then(|t| version_word(&t)),
        rustc: output_of("rustc", &["--version"]),
    }
}
