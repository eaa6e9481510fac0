//! The skip machinery itself: `scripts/skip-summary` counts each skipped test
//! once and names what they need, most needed first; tests/support/skip.rs
//! finds programs where Debian puts them.

#[path = "support/skip.rs"]
mod skip;

use std::process::Command;

const SRC: &str = env!("CARGO_MANIFEST_DIR");

fn summary(log: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("skipped-tests.tsv");
    std::fs::write(&path, log).unwrap();
    let out = Command::new(format!("{SRC}/scripts/skip-summary"))
        .arg(&path)
        .output()
        .expect("run scripts/skip-summary");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn summary_counts_each_test_once_by_need() {
    let log = "a::one\troot\tnamespaces\n\
               a::two\troot\tnamespaces\n\
               a::two\troot\tnamespaces\n\
               b::three\tkeepalived\tnot installed\n\
               c::four\troot\tnamespaces\n";
    let text = summary(log);
    assert!(
        text.starts_with("4 tests skipped: need root (3), keepalived (1) (list: "),
        "{text}"
    );
}

#[test]
fn summary_of_no_skips_says_so() {
    assert_eq!(summary(""), "0 tests skipped\n");
}

#[test]
fn programs_are_found_on_path_and_in_sbin() {
    assert!(skip::find_program("sh").is_some());
    assert!(skip::find_program("no-such-program-k8s-vip").is_none());
    // Debian puts ldconfig (libc-bin, essential) in /usr/sbin only, off a
    // normal user's PATH.
    let found = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "finds_ldconfig_without_sbin_on_path",
            "--include-ignored",
        ])
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    assert!(found.status.success(), "{found:?}");
}

/// Run by `programs_are_found_on_path_and_in_sbin` with a PATH lacking sbin.
#[test]
#[ignore = "run by programs_are_found_on_path_and_in_sbin"]
fn finds_ldconfig_without_sbin_on_path() {
    assert!(skip::find_program("ldconfig").is_some());
}

/// Run by `a_skip_is_recorded_or_fails` in a child process.
#[test]
#[ignore = "run by a_skip_is_recorded_or_fails"]
fn skips_for_want_of_a_unicorn() {
    skip::skipped("a unicorn", "none in stock");
}

/// A skip appends one line naming the test and its need; under
/// K8S_VIP_REQUIRE_ALL=1 it fails the test instead, naming the need.
#[test]
fn a_skip_is_recorded_or_fails() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("skips.tsv");
    let run = |require_all: &str| {
        std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "skips_for_want_of_a_unicorn",
                "--include-ignored",
            ])
            .env("K8S_VIP_SKIP_LOG", &log)
            .env(skip::REQUIRE_ALL, require_all)
            .output()
            .unwrap()
    };
    let recorded = run("0");
    assert!(recorded.status.success(), "{recorded:?}");
    let line = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        line,
        "skip_summary::skips_for_want_of_a_unicorn\ta unicorn\tnone in stock\n"
    );
    let failed = run("1");
    assert!(!failed.status.success(), "{failed:?}");
    let output = String::from_utf8_lossy(&failed.stdout);
    assert!(
        output.contains("needs a unicorn, which is missing here"),
        "{output}"
    );
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        line,
        "no second line"
    );
}
