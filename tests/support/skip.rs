//! One way for a test to say it cannot run here, and why.
//!
//! Why it exists: a test that returns early because the machine lacks root, a
//! program (keepalived, haproxy, systemd-analyze, ...) or a kernel feature
//! still reports `ok`, so a green run could have checked nothing. Every such
//! test asks this module instead of printing its own message:
//!
//! - with `K8S_VIP_REQUIRE_ALL=1` (CI sets it in `.ci/run`) a missing need is a
//!   failure: the test panics naming what is missing;
//! - otherwise the skip is recorded as one line (`test`, `need`, `detail`,
//!   tab-separated) appended to [`log_path`], and `make test` ends with one
//!   line counting the skipped tests by need (`scripts/skip-summary`).
//!
//! Test crates that do not use the rest of `tests/support` include this file
//! alone: `#[path = "support/skip.rs"] mod skip;`.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};

/// The environment variable that turns every skip into a failure.
pub const REQUIRE_ALL: &str = "K8S_VIP_REQUIRE_ALL";

/// Where skips are recorded: `$K8S_VIP_SKIP_LOG` when set, else under the
/// Cargo target directory, which `make test` empties before and summarises
/// after `cargo test`.
pub fn log_path() -> PathBuf {
    match std::env::var_os("K8S_VIP_SKIP_LOG") {
        Some(path) => PathBuf::from(path),
        None => Path::new(env!("CARGO_TARGET_TMPDIR")).join("skipped-tests.tsv"),
    }
}

/// True when running as root; otherwise the test is skipped (see the module
/// docs) and the caller returns.
pub fn need_root() -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    skipped(
        "root",
        "it builds network namespaces or raw sockets; run it as root, as CI does",
    );
    false
}

/// True when `program` is on `PATH` (or in /usr/sbin or /sbin, where Debian
/// puts daemons even when a normal user's `PATH` lacks them); otherwise the
/// test is skipped, naming the program, and the caller returns.
pub fn need_program(program: &str) -> bool {
    if find_program(program).is_some() {
        return true;
    }
    skipped(
        program,
        &format!("{program} is not installed (scripts/install-deps installs it)"),
    );
    false
}

/// The full path of `program`, searching `PATH`, /usr/sbin and /sbin.
pub fn find_program(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Records that the calling test cannot run because `need` is missing
/// (`detail` says why, for the person reading the log); under
/// `K8S_VIP_REQUIRE_ALL=1` it panics instead. The caller then returns.
pub fn skipped(need: &str, detail: &str) {
    let test = test_name();
    if std::env::var(REQUIRE_ALL).is_ok_and(|v| v == "1") {
        panic!("{test} needs {need}, which is missing here ({REQUIRE_ALL}=1): {detail}");
    }
    eprintln!("SKIPPED {test}: needs {need}: {detail}");
    let line = format!("{test}\t{need}\t{}\n", detail.replace(['\t', '\n'], " "));
    let path = log_path();
    let written = std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))
        .and_then(|()| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
        })
        // One write of one short line with O_APPEND: concurrent tests do not
        // interleave their lines.
        .and_then(|mut f| f.write_all(line.as_bytes()));
    if let Err(e) = written {
        eprintln!("could not record the skip in {}: {e}", path.display());
    }
}

/// `crate::test_path`: the test binary's name (without Cargo's hash) and the
/// libtest thread's name, which is the test's path inside the crate.
fn test_name() -> String {
    let binary = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_default();
    let krate = match binary.rsplit_once('-') {
        Some((name, hash)) if hash.chars().all(|c| c.is_ascii_hexdigit()) => name.to_string(),
        _ => binary,
    };
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("main");
    format!("{krate}::{test}")
}
