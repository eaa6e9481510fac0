//! `make bench`: k8s-vip side by side with the alternatives, same machine, same
//! run. Subcommands run one part each and save its table under build/bench/;
//! `report` prints every saved table and merges them into build/bench.json.
//!
//! Why a `cargo bench` target (harness = false): it reuses the simulated Juju
//! model and the netns lab from tests/support (which need the built binaries'
//! paths that Cargo gives only to test and bench targets), and it runs the
//! release-profile charm binary, the one that ships.

#[path = "../tests/support/mod.rs"]
mod support;

mod failover;
mod footprint;
mod hook_cost;
#[allow(dead_code)] // shared with tests/bench_units.rs
mod stats;
#[allow(dead_code)] // shared with the demo (tests/demo)
mod timeline;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use stats::Table;

const USAGE: &str = "usage: cargo bench --bench k8s-vip-bench -- COMMAND
commands:
  hook-cost [RUNS]        config-changed/update-status: k8s-vip vs a Python ops charm
  hook-calls              print the hook-tool calls each charm makes
  footprint [SECONDS]     agent RSS and CPU/hour at 100 ms adverts: k8s-vip vs keepalived (root)
  import-failover FILE    turn the agent's failover benchmark JSON into a table
  timeline EVENTS OUT.svg draw a VIP/client timeline from a JSON events file
  report                  print every saved table and write build/bench.json";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn build_dir() -> PathBuf {
    repo().join("build")
}

fn part_path(key: &str) -> PathBuf {
    build_dir().join("bench").join(format!("{key}.json"))
}

fn save_and_print(table: &Table) -> anyhow::Result<()> {
    let path = part_path(&table.key);
    table.save(&path)?;
    println!("{}", table.to_markdown());
    println!("(saved {})", path.display());
    Ok(())
}

fn number_arg(args: &[String], i: usize, default: u64) -> anyhow::Result<u64> {
    match args.get(i) {
        None => Ok(default),
        Some(s) => s
            .parse()
            .map_err(|_| anyhow::anyhow!("{s:?} is not a whole number\n{USAGE}")),
    }
}

fn run(args: &[String]) -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; ignore flags.
    let args: Vec<String> = args
        .iter()
        .filter(|a| !a.starts_with("--"))
        .cloned()
        .collect();
    match args.first().map(String::as_str) {
        Some("hook-cost") => {
            let runs = number_arg(&args, 1, 15)? as usize;
            save_and_print(&hook_cost::run(&repo(), &build_dir(), runs.max(1))?)
        }
        Some("hook-calls") => hook_cost::print_calls(&repo(), &build_dir()),
        Some("footprint") => {
            let secs = number_arg(&args, 1, 60)?;
            match footprint::run(secs)? {
                Some(t) => save_and_print(&t),
                None => Ok(()),
            }
        }
        Some("import-failover") => {
            let Some(file) = args.get(1) else {
                anyhow::bail!("import-failover needs the failover benchmark's JSON file\n{USAGE}");
            };
            save_and_print(&failover::import(Path::new(file))?)
        }
        Some("timeline") => {
            let (Some(input), Some(out)) = (args.get(1), args.get(2)) else {
                anyhow::bail!("timeline needs EVENTS.json and OUT.svg\n{USAGE}");
            };
            let tl = timeline::Timeline::load(Path::new(input))?;
            tl.write_svg(Path::new(out))?;
            println!("{out}");
            Ok(())
        }
        Some("report") => report(),
        _ => anyhow::bail!("{USAGE}"),
    }
}

/// Prints every saved part (in a fixed order) and writes build/bench.json.
fn report() -> anyhow::Result<()> {
    let mut tables = Vec::new();
    for key in ["failover", "hook-cost", "footprint"] {
        let path = part_path(key);
        if path.exists() {
            tables.push(Table::load(&path)?);
        } else {
            eprintln!("bench: no {} (that part did not run)", path.display());
        }
    }
    let machine = machine_line();
    let date = chrono_free_date();
    println!("## Benchmarks ({date}; {machine})\n");
    for t in &tables {
        println!("{}", t.to_markdown());
    }
    let doc = serde_json::json!({
        "date": date,
        "machine": machine,
        "tables": tables,
    });
    let out = build_dir().join("bench.json");
    std::fs::write(&out, serde_json::to_string_pretty(&doc)? + "\n")?;
    println!("(wrote {})", out.display());
    Ok(())
}

/// "N cores, kernel X, CPU model" from /proc.
fn machine_line() -> String {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap_or_default()
        .trim()
        .to_string();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|r| r.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{cores} cores, Linux {kernel}, {cpu}")
}

/// Today's UTC date (YYYY-MM-DD) without a date crate: `date -u`.
fn chrono_free_date() -> String {
    std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
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
