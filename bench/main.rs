//! `make bench`: k8s-vip side by side with the alternatives, same machine, same
//! run. Each subcommand runs one part and writes its result file,
//! bench/results/PART.json (or under BENCH_RESULTS_DIR): machine, versions,
//! date, command, build, raw samples and tables. `render-docs` renders those
//! tables into the docs between `<!-- bench:KEY:begin/end -->` markers.
//!
//! Why a `cargo bench` target (harness = false): it reuses the simulated Juju
//! model and the netns lab from tests/support (which need the built binaries'
//! paths that Cargo gives only to test and bench targets), and it runs the
//! release-profile charm binary, the one that ships.

#[path = "../tests/support/mod.rs"]
mod support;

mod bgp;
mod failover;
mod footprint;
mod hook_cost;
mod lb;
mod pair;
mod parse;
#[allow(dead_code)] // shared with tests/bench_tables.rs and benches/vrrp.rs
mod render;
#[allow(dead_code)] // shared with tests/bench_tables.rs and benches/vrrp.rs
mod results;
mod starvation;
#[allow(dead_code)] // shared with tests/bench_units.rs
mod stats;
mod syscalls;
#[allow(dead_code)] // shared with the demo (tests/demo)
mod timeline;

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use results::ResultFile;

const USAGE: &str = "usage: cargo bench --bench k8s-vip-bench -- COMMAND
commands:
  hook-cost [RUNS]          config-changed/update-status: k8s-vip vs a Python ops charm
                            (BENCH_TOOL_LATENCY_MS per hook-tool call, default 10;
                            BENCH_HOOK_UNITS units in the model, default 3)
  hook-calls                print the hook-tool calls each charm makes
  footprint [SECONDS] [RUNS] agent RSS/PSS/USS and CPU/hour at 100 ms adverts vs keepalived (root)
  syscalls [SECONDS] [RUNS] idle-loop syscalls per advert (strace -c) vs keepalived (root)
  import-failover FILE      the failover benchmark's log or JSON → result file
                            (checks BENCH_TRIALS trials per cell of BENCH_INTERVALS_MS)
  timeline EVENTS OUT.svg   draw a VIP/client timeline from a JSON events file
  import-starvation FILE    the starvation benchmark's JSON → result file
  import-lb FILE            the HAProxy-overhead benchmark's JSON → result file
  import-bgp FILE           the BGP crash-failover benchmark's JSON → result file
                            (checks BENCH_BGP_TRIALS trials per cell)
  render-docs               rewrite the docs' tables between <!-- bench:KEY:begin/end -->
  render-docs --check       fail when a doc's table differs from the result files
  render-docs --print       print every table of the result files (no doc touched)
  report                    the same as render-docs --print
Results go to bench/results/ (BENCH_RESULTS_DIR to change); BENCH_SMOKE=1 marks them as a smoke run.";

fn build_dir() -> std::path::PathBuf {
    results::repo().join("build")
}

fn number_arg(args: &[String], i: usize, default: u64) -> anyhow::Result<u64> {
    match args.get(i) {
        None => Ok(default),
        Some(s) => s
            .parse()
            .map_err(|_| anyhow::anyhow!("{s:?} is not a whole number\n{USAGE}")),
    }
}

fn env_number(var: &str, default: u64) -> anyhow::Result<u64> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => v
            .parse()
            .map_err(|_| anyhow::anyhow!("{var}={v:?} is not a whole number")),
        _ => Ok(default),
    }
}

/// The skip convention: say what is missing and succeed, unless
/// K8S_VIP_REQUIRE_ALL=1 (CI), where a skip is a failure.
fn skip(part: &str, needs: &str) -> anyhow::Result<()> {
    let msg = format!("SKIPPED: bench {part}: needs {needs}");
    if std::env::var("K8S_VIP_REQUIRE_ALL").is_ok_and(|v| v == "1") {
        anyhow::bail!("{msg} (K8S_VIP_REQUIRE_ALL=1 makes a skip a failure)");
    }
    eprintln!("{msg}");
    Ok(())
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

fn has_program(name: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .stdout(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// What a netns part needs that is missing, if anything.
fn lab_needs(programs: &[&str]) -> Option<String> {
    if !is_root() {
        return Some("root (network namespaces)".into());
    }
    let missing: Vec<&str> = programs
        .iter()
        .copied()
        .filter(|p| !has_program(p))
        .collect();
    (!missing.is_empty()).then(|| format!("{} installed", missing.join(" and ")))
}

fn save(file: &ResultFile) -> anyhow::Result<()> {
    let path = file.save(&results::results_dir())?;
    for t in &file.tables {
        println!("{}", t.to_markdown());
    }
    println!("(wrote {})", path.display());
    Ok(())
}

fn hook_cost(args: &[String]) -> anyhow::Result<()> {
    let runs = number_arg(args, 1, 15)?.max(1) as usize;
    let opts = hook_cost::Options {
        runs,
        latency_ms: env_number("BENCH_TOOL_LATENCY_MS", 10)?,
        units: env_number("BENCH_HOOK_UNITS", 3)?.clamp(1, 9) as usize,
    };
    let m = match hook_cost::run(&results::repo(), &build_dir(), &opts) {
        Ok(m) => m,
        Err(e) if !hook_cost::venv_python(&build_dir()).exists() => {
            return skip(
                "hook-cost",
                &format!("python3-venv and PyPI access for ops and jinja2 ({e:#})"),
            )
        }
        Err(e) => return Err(e),
    };
    let mut file = ResultFile::describe("hook-cost", "make bench-hooks", vec![m.table])
        .param("runs", runs)
        .param("units", opts.units)
        .param("tool-latency-ms", opts.latency_ms)
        .param("tool-latency-applied", m.latency_applied);
    file.raw = serde_json::json!({ "tool-calls": m.calls });
    save(&file)
}

fn footprint(args: &[String]) -> anyhow::Result<()> {
    if let Some(needs) = lab_needs(&["keepalived"]) {
        return skip("footprint", &needs);
    }
    let secs = number_arg(args, 1, 60)?.max(1);
    let runs = number_arg(args, 2, 3)?.max(1) as usize;
    let samples = footprint::measure(runs, Duration::from_secs(secs))?;
    let ka = results::keepalived_version().unwrap_or_else(|| "?".into());
    let table = footprint::table(&samples, runs, secs, &ka);
    let mut file = ResultFile::describe("footprint", "make bench-footprint", vec![table])
        .param("window-s", secs)
        .param("runs-per-program-as-master", runs);
    file.raw = serde_json::json!({ "samples": samples });
    save(&file)
}

fn syscalls(args: &[String]) -> anyhow::Result<()> {
    if let Some(needs) = lab_needs(&["keepalived", "strace"]) {
        return skip("syscalls", &needs);
    }
    let secs = number_arg(args, 1, 10)?.max(1);
    let runs = number_arg(args, 2, 3)?.max(1) as usize;
    let samples = syscalls::measure(runs, Duration::from_secs(secs))?;
    let ka = results::keepalived_version().unwrap_or_else(|| "?".into());
    let table = syscalls::table(&samples, runs, secs, &ka);
    let mut file = ResultFile::describe("syscalls", "make bench-syscalls", vec![table])
        .param("window-s", secs)
        .param("runs-per-program-as-master", runs);
    file.raw = serde_json::json!({ "samples": samples });
    save(&file)
}

fn import_starvation(args: &[String]) -> anyhow::Result<()> {
    let Some(json) = args.get(1) else {
        anyhow::bail!("import-starvation needs the starvation benchmark's JSON\n{USAGE}");
    };
    let raw = starvation::import(Path::new(json))?;
    let mut file = ResultFile::describe(
        "starvation",
        "make bench-starvation",
        vec![starvation::table(&raw)],
    )
    .param("seconds", raw["seconds"].clone());
    file.raw = raw;
    save(&file)
}

fn import_lb(args: &[String]) -> anyhow::Result<()> {
    let Some(json) = args.get(1) else {
        anyhow::bail!("import-lb needs the HAProxy-overhead benchmark's JSON\n{USAGE}");
    };
    let raw = lb::import(Path::new(json))?;
    let mut file = ResultFile::describe("lb", "make bench-lb", vec![lb::table(&raw)])
        .param("rounds", raw["rounds"].clone())
        .param("connects-per-round", raw["connects-per-round"].clone())
        .param(
            "round-trips-per-round",
            raw["round-trips-per-round"].clone(),
        );
    file.raw = raw;
    save(&file)
}

fn import_bgp(args: &[String]) -> anyhow::Result<()> {
    let Some(json) = args.get(1) else {
        anyhow::bail!("import-bgp needs the BGP failover benchmark's JSON\n{USAGE}");
    };
    let expected = env_number("BENCH_BGP_TRIALS", 5)?.max(1) as usize;
    let raw = bgp::import(Path::new(json), expected)?;
    let mut file = ResultFile::describe("bgp", "make bench-bgp", bgp::tables(&raw))
        .param("trials-per-cell", expected)
        .param("cells", raw["cells"].clone())
        .param("observe-bound-s", raw["observe-bound-s"].clone())
        .param("frr", raw["frr"].clone());
    file.raw = raw;
    save(&file)
}

fn import_failover(args: &[String]) -> anyhow::Result<()> {
    let Some(log) = args.get(1) else {
        anyhow::bail!("import-failover needs the failover benchmark's log or JSON\n{USAGE}");
    };
    let trials = failover::import(Path::new(log))?;
    let expected = env_number("BENCH_TRIALS", 10)?.max(1) as usize;
    let intervals: Vec<u64> = std::env::var("BENCH_INTERVALS_MS")
        .unwrap_or_else(|_| "1000,100".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    failover::check_complete(&trials, &intervals, expected)?;
    let tables = vec![failover::table(&trials), failover::split_table(&trials)];
    let mut file = ResultFile::describe("failover", "make bench-failover", tables)
        .param("trials-per-cell", expected)
        .param("intervals-ms", intervals);
    file.raw = serde_json::json!({ "trials": trials });
    save(&file)
}

/// `render-docs [--check|--print]`.
fn render_docs(args: &[String]) -> anyhow::Result<()> {
    let repo = results::repo();
    let dir = results::results_dir();
    let shown = dir
        .strip_prefix(&repo)
        .unwrap_or(&dir)
        .display()
        .to_string();
    let files = ResultFile::load_dir(&dir)?;
    let blocks = render::blocks(&files, &shown).map_err(anyhow::Error::msg)?;
    match args.get(1).map(String::as_str) {
        Some("--print") => {
            if blocks.is_empty() {
                eprintln!("bench: no result files in {}", dir.display());
            }
            print!("{}", render::print_all(&blocks));
            Ok(())
        }
        Some("--check") => {
            let stale = render::stale(&repo, &blocks).map_err(anyhow::Error::msg)?;
            if stale.is_empty() {
                println!("bench tables in the docs match {shown}");
                return Ok(());
            }
            anyhow::bail!(
                "{}\nregenerate them with `{}`",
                stale.join("\n"),
                render::FIX_COMMAND
            )
        }
        None => {
            for f in render::write(&repo, &blocks).map_err(anyhow::Error::msg)? {
                println!("rendered {}", f.display());
            }
            Ok(())
        }
        Some(other) => anyhow::bail!("render-docs: unknown option {other:?}\n{USAGE}"),
    }
}

fn run(args: &[String]) -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; drop it.
    let args: Vec<String> = args.iter().filter(|a| *a != "--bench").cloned().collect();
    match args.first().map(String::as_str) {
        Some("hook-cost") => hook_cost(&args),
        Some("hook-calls") => hook_cost::print_calls(&results::repo(), &build_dir()),
        Some("footprint") => footprint(&args),
        Some("syscalls") => syscalls(&args),
        Some("import-failover") => import_failover(&args),
        Some("import-starvation") => import_starvation(&args),
        Some("import-lb") => import_lb(&args),
        Some("import-bgp") => import_bgp(&args),
        Some("timeline") => {
            let (Some(input), Some(out)) = (args.get(1), args.get(2)) else {
                anyhow::bail!("timeline needs EVENTS.json and OUT.svg\n{USAGE}");
            };
            let tl = timeline::Timeline::load(Path::new(input))?;
            tl.write_svg(Path::new(out))?;
            println!("{out}");
            Ok(())
        }
        Some("render-docs") => render_docs(&args),
        Some("report") => render_docs(&["render-docs".into(), "--print".into()]),
        _ => anyhow::bail!("{USAGE}"),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
