//! Fake Juju hook tools and system shims for the simulated Juju model
//! (`tests/support/juju.rs`). One small binary serves every tool: it is
//! symlinked as `config-get`, `relation-set`, `systemctl`, ... and acts by the
//! name it is called under, reading and writing the model's state file. It is
//! a Rust program, not a script, because hooks call many tools and the
//! benchmarks time hooks through this model: a call costs about a millisecond.
//!
//! `K8S_VIP_FAKE_TOOL_LATENCY_MS=N` in the hook's environment makes every
//! hook-tool call (`config-get`, `relation-get`, `status-set`, ...) sleep N
//! milliseconds before it answers, as a real unit's tools wait for a round
//! trip to the Juju unit agent; the benchmarks set it. The system shims
//! (`systemctl`, `apt-get`, `dpkg-query`, `sysctl`) answer at once: their
//! real cost differs and is not what the setting models.

mod args;
mod hook_tools;
mod services;
mod shims;
mod state;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use state::{Call, ENV_MODEL_DIR, ENV_UNIT_DIR};

/// What a tool prints and how it exits when it fails.
#[derive(Debug)]
pub struct Fail {
    /// Printed on stderr.
    pub stderr: String,
    /// The exit status.
    pub code: u8,
}

impl Fail {
    /// A failure the way Juju's tools report one: `ERROR msg`, exit 1.
    pub fn error(msg: impl std::fmt::Display) -> Fail {
        Fail {
            stderr: format!("ERROR {msg}\n"),
            code: 1,
        }
    }

    /// A usage error (bad flag or argument), exit 2 as Juju's tools do.
    pub fn usage(msg: impl std::fmt::Display) -> Fail {
        Fail {
            stderr: format!("ERROR {msg}\n"),
            code: 2,
        }
    }

    /// A failure with a custom stderr and exit status (system shims).
    pub fn raw(stderr: impl Into<String>, code: u8) -> Fail {
        Fail {
            stderr: stderr.into(),
            code,
        }
    }
}

/// A tool's successful output.
pub type Out = Result<String, Fail>;

/// Who is calling: the unit and hook, from the environment the model set.
pub struct Ctx {
    /// The model directory (state file, lock).
    pub model_dir: PathBuf,
    /// The unit's agent directory (calls.jsonl, services/).
    pub unit_dir: PathBuf,
    /// The calling unit.
    pub unit: String,
    /// The hook or action name.
    pub hook: String,
    /// The unit's root for system files.
    pub root: PathBuf,
}

impl Ctx {
    fn from_env() -> Result<Ctx, Fail> {
        let need = |var: &str| {
            std::env::var(var).map_err(|_| {
                Fail::error(format!(
                    "{var} is not set: fake hook tools only work inside the simulated model"
                ))
            })
        };
        let hook = std::env::var("JUJU_DISPATCH_PATH")
            .ok()
            .and_then(|p| p.rsplit('/').next().map(str::to_string))
            .or_else(|| std::env::var("JUJU_HOOK_NAME").ok())
            .unwrap_or_default();
        Ok(Ctx {
            model_dir: need(ENV_MODEL_DIR)?.into(),
            unit_dir: need(ENV_UNIT_DIR)?.into(),
            unit: need("JUJU_UNIT_NAME")?,
            hook,
            root: std::env::var("K8S_VIP_ROOT")
                .unwrap_or_else(|_| "/".into())
                .into(),
        })
    }

    /// An environment variable that is set and not empty.
    pub fn env(&self, var: &str) -> Option<String> {
        std::env::var(var).ok().filter(|v| !v.is_empty())
    }

    /// The application of the calling unit.
    pub fn app(&self) -> &str {
        self.unit.split('/').next().unwrap_or(&self.unit)
    }

    /// `path` (absolute) re-rooted under the unit's root.
    pub fn rooted(&self, path: &str) -> PathBuf {
        self.root.join(path.trim_start_matches('/'))
    }
}

/// An injected failure for this tool and unit, if the test asked for one.
fn injected_failure(ctx: &Ctx, tool: &str) -> Result<Option<state::ToolFailure>, Fail> {
    let model = state::read_state(&ctx.model_dir).map_err(Fail::error)?;
    Ok(model.failures.into_iter().find(|f| {
        f.tool == tool && (f.unit.is_none() || f.unit.as_deref() == Some(ctx.unit.as_str()))
    }))
}

fn run(tool: &str, args: &[String]) -> Result<String, Fail> {
    let ctx = Ctx::from_env()?;
    state::record_call(
        &ctx.unit_dir,
        &Call {
            tool: tool.to_string(),
            args: args.to_vec(),
            hook: ctx.hook.clone(),
        },
    )
    .map_err(Fail::error)?;
    if !SHIMS.contains(&tool) {
        std::thread::sleep(tool_latency());
    }
    if let Some(failure) = injected_failure(&ctx, tool)? {
        if failure.exit_code == 0 {
            return Ok(failure.stdout);
        }
        print!("{}", failure.stdout);
        return Err(Fail::raw(
            failure.stderr,
            failure.exit_code.clamp(1, 255) as u8,
        ));
    }
    match tool {
        "apt-get" => shims::apt_get(&ctx, args),
        "dpkg-query" => shims::dpkg_query(&ctx, args),
        "sysctl" => shims::sysctl(&ctx, args),
        "systemctl" => services::systemctl(&ctx, args),
        _ => hook_tools::run(&ctx, tool, args),
    }
}

/// The system commands this binary shims (not hook tools: no latency).
const SHIMS: &[&str] = &["apt-get", "dpkg-query", "sysctl", "systemctl"];

/// The environment variable asking hook tools to answer slowly.
const LATENCY_ENV: &str = "K8S_VIP_FAKE_TOOL_LATENCY_MS";

/// How long a hook-tool call waits before answering (`LATENCY_ENV`, default
/// none; an unparseable value counts as none).
fn tool_latency() -> Duration {
    let ms = std::env::var(LATENCY_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0);
    Duration::from_millis(ms)
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    let tool = argv
        .first()
        .and_then(|a| a.rsplit('/').next())
        .unwrap_or("")
        .to_string();
    let args = argv.get(1..).unwrap_or(&[]);
    match run(&tool, args) {
        Ok(out) => {
            let mut stdout = std::io::stdout();
            let _ = stdout.write_all(out.as_bytes());
            let _ = stdout.flush();
            ExitCode::SUCCESS
        }
        Err(fail) => {
            eprint!("{}", fail.stderr);
            ExitCode::from(fail.code)
        }
    }
}
