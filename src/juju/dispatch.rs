//! Entry point for one hook or action run.

use std::process::ExitCode;

/// Runs the hook or action named by `name`, `JUJU_DISPATCH_PATH` or argv[0].
pub fn run(_name: Option<String>) -> ExitCode {
    eprintln!("k8s-vip: hook runtime not built yet");
    ExitCode::FAILURE
}
