//! Every command in README.md and docs/ is run here, for real, with the
//! project's own machinery, so the documentation cannot drift from what the
//! charm does:
//!
//! - `commands::every_documented_command_is_run_by_a_test` collects every
//!   command line of every fenced code block of every page (and the YAML and
//!   Rust examples) and fails, naming the page and line, for anything no test
//!   runs: a new command cannot be added to the docs without teaching this
//!   target to verify it. The README must keep its deploy commands, `make
//!   demo` and `make test`.
//! - `juju config`, `juju integrate` and `juju run` lines are applied to the
//!   simulated Juju model (`tests/support/juju.rs`), which runs the real binary
//!   through `dispatch`; the `juju run` lines also run against real agents in
//!   network namespaces when root.
//! - `make` targets exist (`make -n`), `juju deploy` names the file
//!   `scripts/pack-charm` writes, the VRID one-liner agrees with the Rust
//!   derivation, the agent YAML example passes `k8s-vip agent --check` and the
//!   documented errors are reproduced byte for byte, the CLI synopsis matches
//!   `--help`, `k8s-vip render` runs, the `k8s-vip status` table is what the
//!   CLI prints for the documented status document, and the Rust example of
//!   the simulated model compiles (it is a function of `model_example`).
//! - The option, action and relation tables list what config.yaml,
//!   actions.yaml and metadata.yaml declare (`tables`), and every relative
//!   link resolves to a file and heading (`links`).
//!
//! `juju deploy` and `juju status` need a Juju controller, which tests do not
//! have: the deploy line is checked structurally (the file `make charm`
//! writes, metadata.yaml's name), and what `juju status` shows is the unit
//! status the hooks set, which the model records: the config, integrate and
//! action tests assert it, and as root the statuses the README and the
//! tutorial quote are compared with what update-status sets from real agents.
//!
//! Commands quoted inline in the prose (`` `juju config k8s-vip unicast=true` ``)
//! are collected and must be handled too; those that need a real cloud or
//! cluster (`tcpdump`, `openstack`, ...) are listed as the operator's own
//! tools (`EXTERNAL_TOOLS`).
//!
//! One module per kind of command: `docs` finds the pages, `markdown` reads
//! one, `commands` classifies what they show (and holds the coverage test),
//! `deployment` builds the simulated deployments the `juju` lines are applied
//! to, and each other module checks one kind.
//!
//! `README_COMMANDS_LIST=1 cargo test --test readme_commands every -- --nocapture`
//! lists every command found with the kind of check it gets.

// The docs' Rust example starts with these two lines (`model_example`
// checks that they are here, so the example's header compiles).
#[path = "../support/mod.rs"]
mod support;
use support::juju::Model;

mod docs;
mod markdown;

mod agent_check;
mod cli;
mod commands;
mod config;
mod deployment;
mod integrate;
mod links;
mod make_deploy;
mod model_example;
mod prose;
mod run;
mod tables;
mod vrid;

/// The application name the docs deploy (and metadata.yaml's `name`).
const APP: &str = "k8s-vip";
