//! `make` and `juju deploy`: every `make` line of the docs names a real
//! target (`make -n`), and the `juju deploy` line deploys the file `make
//! charm` writes under metadata.yaml's name. Without a Juju controller the
//! deploy line can only be checked this way, structurally.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;

use crate::commands::{at, commands_of, read_yaml, Kind};
use crate::support::juju::{CHARM_BINARY, SOURCE_DIR};

/// `make -n ARGS` in the source tree, with the environment a user has.
pub fn make_dry_run(args: &[String]) -> std::process::Output {
    Command::new("make")
        .arg("-n")
        .args(args)
        .current_dir(SOURCE_DIR)
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS")
        // As a user runs it: not with the CARGO cargo sets for tests.
        .env_remove("CARGO")
        .output()
        .expect("run make (is it installed?)")
}

#[test]
fn make_targets_in_the_docs_exist() {
    let cmds = commands_of(|k| matches!(k, Kind::Make { .. }));
    assert!(!cmds.is_empty());
    for (cmd, kind) in cmds {
        let Kind::Make { args } = kind else { continue };
        let out = make_dry_run(&args);
        assert!(
            out.status.success(),
            "{}: `make -n {}` fails: {}\nFix the docs or the Makefile.",
            at(&cmd),
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        // `make charm  # prints build/NAME.charm`: the name pack-charm writes.
        if let Some(printed) = cmd.comment.strip_prefix("prints ") {
            assert_eq!(
                printed,
                format!("{}/{}", make_charm_out_dir(), packed_charm_name()),
                "{}: the comment names another file than `make charm` writes",
                at(&cmd)
            );
        }
    }
}

/// The output directory `make charm` hands to scripts/pack-charm.
fn make_charm_out_dir() -> String {
    let out = make_dry_run(&["charm".to_string()]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let line = text
        .lines()
        .find(|l| l.starts_with("scripts/pack-charm "))
        .unwrap_or_else(|| panic!("`make -n charm` runs no scripts/pack-charm:\n{text}"));
    line.split_whitespace()
        .last()
        .unwrap_or_default()
        .to_string()
}

/// The file name scripts/pack-charm writes (it prints the path last), found by
/// running it on the test build of the binary into a temporary directory
/// (it strips a copy, so it needs a real executable, not a stand-in script).
fn packed_charm_name() -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(Path::new(SOURCE_DIR).join("scripts/pack-charm"))
        .arg(CHARM_BINARY)
        .arg(dir.path().join("build"))
        .output()
        .expect("run scripts/pack-charm");
    assert!(
        out.status.success(),
        "scripts/pack-charm failed (needs zip and strip, from scripts/install-deps): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let path = PathBuf::from(stdout.lines().last().unwrap_or_default());
    assert!(
        path.is_file(),
        "pack-charm printed {path:?}, which is no file"
    );
    path.file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default()
}

#[test]
fn juju_deploy_names_the_charm_make_charm_writes() {
    let cmds = commands_of(|k| matches!(k, Kind::Deploy { .. }));
    assert!(!cmds.is_empty());
    let want = format!("./{}/{}", make_charm_out_dir(), packed_charm_name());
    let name = read_yaml("metadata.yaml")["name"].clone();
    for (cmd, kind) in cmds {
        let Kind::Deploy { path, app } = kind else {
            continue;
        };
        assert_eq!(path, want, "{}: not the file `make charm` writes", at(&cmd));
        assert_eq!(json!(app), name, "{}: not metadata.yaml's name", at(&cmd));
    }
}
