//! The facts file as one run of [`super::CachedTools`] uses it: read and
//! trimmed at the start, deleted before the run changes anything, written
//! again once the run succeeded.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::juju::context::HookContext;
use crate::juju::tools::facts::{self, Facts, Loaded, Recall, FORMAT};
use crate::juju::tools::LogLevel;

/// One run's hold on the facts file.
pub(super) struct Memory {
    file: PathBuf,
    ctx: HookContext,
    full_read_at: u64,
    discarded: bool,
}

/// Seconds since the Unix epoch.
fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Memory {
    /// Reads `file` for a run of `ctx`: the facts the run may use (None: read
    /// everything fresh), logging through `log` why a file was ignored. A hook
    /// deletes the file at once (its own signal must not be lost if it fails);
    /// an action only before it first writes.
    pub(super) fn open(
        ctx: &HookContext,
        file: &Path,
        log: impl Fn(LogLevel, &str),
    ) -> (Memory, Option<Facts>) {
        let now = now();
        let shown = file.display();
        let recalled = match facts::load(file) {
            Loaded::Missing => None,
            Loaded::OtherFormat(format) => {
                log(
                    LogLevel::Info,
                    &format!("hook facts in {shown} have format {format}, not {FORMAT}: reading everything fresh"),
                );
                None
            }
            Loaded::Unreadable(reason) => {
                log(
                    LogLevel::Warning,
                    &format!("ignoring unreadable hook facts in {shown} ({reason}): reading everything fresh"),
                );
                None
            }
            Loaded::Facts(remembered) => match facts::forget(remembered, ctx, now) {
                Recall::Nothing => None,
                Recall::These(facts) => Some(facts),
            },
        };
        let mut memory = Memory {
            file: file.to_path_buf(),
            ctx: ctx.clone(),
            full_read_at: recalled.as_ref().map_or(now, |f| f.full_read_at),
            discarded: false,
        };
        if !ctx.kind.is_action() {
            if let Err(e) = memory.discard() {
                log(LogLevel::Warning, &e);
            }
        }
        (memory, recalled)
    }

    /// Deletes the file (once): from now on it would not hold until kept again.
    pub(super) fn discard(&mut self) -> Result<(), String> {
        if std::mem::replace(&mut self.discarded, true) {
            return Ok(());
        }
        facts::remove(&self.file)
            .map_err(|e| format!("cannot remove hook facts {}: {e}", self.file.display()))
    }

    /// Writes `facts` for the next run, trimmed to what it may believe;
    /// `leader` is what this run learnt of leadership.
    pub(super) fn keep(self, mut facts: Facts, leader: Option<bool>) -> Result<(), String> {
        facts::after_run(&mut facts, &self.ctx, leader);
        facts.format = FORMAT;
        facts.full_read_at = self.full_read_at;
        facts::save(&self.file, &facts)
            .map(|_| ())
            .map_err(|e| format!("cannot keep hook facts in {}: {e}", self.file.display()))
    }
}
