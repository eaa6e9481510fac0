//! Entry point for one hook or action run: work out which event this is, refuse
//! what the charm does not handle, run the charm, and report failure the way
//! Juju operators expect (an ERROR line in the unit log, a non-zero exit for
//! hooks so Juju retries, action-fail for actions). Never panics.

use std::process::ExitCode;

use super::charm_meta::CharmMeta;
use super::context::{HookContext, HookKind};
use super::tools::{CachedTools, CliHookTools, HookTools, LogLevel};

/// Exit status when the environment is not a usable hook context.
const EXIT_BAD_CONTEXT: u8 = 2;
/// Exit status when the charm failed to handle the event.
const EXIT_FAILED: u8 = 1;

/// What handles one event: the charm's entry point, handed in by `main.rs`
/// so this layer knows nothing of the charm.
pub type Handler = fn(&HookContext, &dyn HookTools) -> anyhow::Result<()>;

/// Runs the hook or action named by `name`, `JUJU_DISPATCH_PATH` or `argv[0]`
/// with the real hook tools and `handler`.
pub fn run(name: Option<String>, handler: Handler) -> ExitCode {
    let ctx = match HookContext::from_env_named(name.as_deref()) {
        Ok(ctx) => ctx,
        Err(err) => {
            let message = format!("k8s-vip: cannot run hook: {err}");
            eprintln!("{message}");
            // Inside a broken-but-real hook the log still reaches the operator.
            let _ = CliHookTools::new().juju_log(LogLevel::Error, &message);
            return ExitCode::from(EXIT_BAD_CONTEXT);
        }
    };
    let tools = CachedTools::new(CliHookTools::new(), &ctx.unit_name);
    run_with(&ctx, &tools, handler)
}

/// Runs one event with any tools and handler: the testable core of [`run`].
pub fn run_with(
    ctx: &HookContext,
    tools: &dyn HookTools,
    handler: impl FnOnce(&HookContext, &dyn HookTools) -> anyhow::Result<()>,
) -> ExitCode {
    let meta = match CharmMeta::load(&ctx.charm_dir) {
        Ok(meta) => meta,
        Err(err) => return fail(ctx, tools, &anyhow::Error::new(err)),
    };
    match &ctx.kind {
        HookKind::Hook { name } if !meta.handles_hook(name) => {
            log(
                tools,
                LogLevel::Info,
                &format!("hook {name} is not handled by this charm; nothing to do"),
            );
            return ExitCode::SUCCESS;
        }
        HookKind::Action { name } if !meta.has_action(name) => {
            let known: Vec<&str> = meta.actions.iter().map(String::as_str).collect();
            let message = format!(
                "unknown action {name:?}; this charm's actions are: {}",
                known.join(", ")
            );
            log(tools, LogLevel::Error, &message);
            if let Err(err) = tools.action_fail(&message) {
                eprintln!("k8s-vip: {message} (and action-fail failed: {err})");
                return ExitCode::from(EXIT_FAILED);
            }
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    match handler(ctx, tools) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => fail(ctx, tools, &err),
    }
}

/// Reports a failed event: ERROR in the unit log and on stderr, action-fail for
/// actions, and a non-zero exit.
fn fail(ctx: &HookContext, tools: &dyn HookTools, err: &anyhow::Error) -> ExitCode {
    let what = match &ctx.kind {
        HookKind::Hook { name } => format!("hook {name}"),
        HookKind::Action { name } => format!("action {name}"),
    };
    let message = format!("{what} failed: {err:#}");
    eprintln!("k8s-vip: {message}");
    log(tools, LogLevel::Error, &message);
    if ctx.kind.is_action() {
        if let Err(fail_err) = tools.action_fail(&format!("{err:#}")) {
            eprintln!("k8s-vip: action-fail failed too: {fail_err}");
        }
    }
    ExitCode::from(EXIT_FAILED)
}

/// juju-log, falling back to stderr (which Juju also logs) when it fails.
fn log(tools: &dyn HookTools, level: LogLevel, message: &str) {
    if let Err(err) = tools.juju_log(level, message) {
        eprintln!(
            "k8s-vip: {}: {message} (juju-log failed: {err})",
            level.as_str()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::juju::tools::fake::{context as ctx, FakeTools};

    fn hook(name: &str) -> HookKind {
        HookKind::Hook { name: name.into() }
    }

    fn action(name: &str) -> HookKind {
        HookKind::Action { name: name.into() }
    }

    #[test]
    fn unknown_hook_is_logged_and_succeeds_without_running_the_charm() {
        let tools = FakeTools::default();
        let code = run_with(&ctx(hook("secret-rotate")), &tools, |_, _| {
            panic!("handler must not run")
        });
        assert_eq!(code, ExitCode::SUCCESS);
        let logs = tools.logs.borrow();
        assert_eq!(logs.len(), 1);
        assert!(logs[0].1.contains("secret-rotate"), "{logs:?}");
    }

    #[test]
    fn unknown_action_fails_the_action_and_lists_the_known_ones() {
        let tools = FakeTools::default();
        let code = run_with(&ctx(action("reboot")), &tools, |_, _| {
            panic!("handler must not run")
        });
        assert_eq!(code, ExitCode::SUCCESS);
        let failed = tools.failed.borrow();
        assert_eq!(failed.len(), 1);
        assert!(failed[0].contains("\"reboot\""), "{failed:?}");
        assert!(failed[0].contains("failover"), "{failed:?}");
    }

    #[test]
    fn handler_error_is_logged_at_error_and_exits_non_zero() {
        let tools = FakeTools::default();
        let code = run_with(&ctx(hook("config-changed")), &tools, |_, _| {
            Err(anyhow::anyhow!("disk full").context("writing agent.yaml"))
        });
        assert_eq!(code, ExitCode::from(EXIT_FAILED));
        let logs = tools.logs.borrow();
        assert_eq!(logs[0].0, LogLevel::Error);
        assert_eq!(
            logs[0].1,
            "hook config-changed failed: writing agent.yaml: disk full"
        );
        assert!(tools.failed.borrow().is_empty());
    }

    #[test]
    fn action_error_also_fails_the_action() {
        let tools = FakeTools::default();
        let code = run_with(&ctx(action("failover")), &tools, |_, _| {
            Err(anyhow::anyhow!("agent not running"))
        });
        assert_eq!(code, ExitCode::from(EXIT_FAILED));
        assert_eq!(
            *tools.failed.borrow(),
            vec!["agent not running".to_string()]
        );
    }

    #[test]
    fn known_events_reach_the_handler() {
        let tools = FakeTools::default();
        let mut seen = Vec::new();
        for kind in [
            hook("install"),
            hook("cluster-relation-changed"),
            action("failover"),
        ] {
            let code = run_with(&ctx(kind.clone()), &tools, |c, _| {
                seen.push(c.kind.clone());
                Ok(())
            });
            assert_eq!(code, ExitCode::SUCCESS);
        }
        assert_eq!(seen.len(), 3);
    }
}
