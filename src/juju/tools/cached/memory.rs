//! The facts file as one run of [`super::CachedTools`] uses it: read and
//! trimmed at the start, deleted before the run sends a status the file does
//! not hold, written again once the run succeeded, and only when what it
//! holds changed (a hook that changes nothing rewrites no file).

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::juju::context::HookContext;
use crate::juju::tools::facts::{self, Facts, Loaded, Recall, FORMAT, FULL_READ_EVERY};
use crate::juju::tools::types::{LogLevel, Status};

/// One run's hold on the facts file.
pub(super) struct Memory {
    file: PathBuf,
    ctx: HookContext,
    /// The file as read (before trimming), if it was usable.
    loaded: Option<Facts>,
    /// Whether this run reads everything fresh.
    full_read: bool,
    /// When this run started.
    now: u64,
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
    /// everything fresh), logging through `log` why a file was ignored.
    pub(super) fn open(
        ctx: &HookContext,
        file: &Path,
        log: impl Fn(LogLevel, &str),
    ) -> (Memory, Option<Facts>) {
        let now = now();
        let shown = file.display();
        let mut loaded = None;
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
            Loaded::Facts(remembered) => {
                loaded = Some((*remembered).clone());
                match facts::forget(*remembered, ctx, now) {
                    Recall::Nothing => None,
                    Recall::These(facts) => Some(*facts),
                }
            }
        };
        let memory = Memory {
            file: file.to_path_buf(),
            ctx: ctx.clone(),
            loaded,
            full_read: recalled.is_none(),
            now,
            discarded: false,
        };
        (memory, recalled)
    }

    /// Before `status` is sent: if the file holds another, it goes (a run
    /// that fails after sending must not leave the next believing the old).
    pub(super) fn before_status(&mut self, status: &Status, app: bool) -> Result<(), String> {
        let held = self.loaded.as_mut().and_then(|f| f.status_mut(app).clone());
        if held.as_ref() == Some(status) {
            return Ok(());
        }
        self.discard()
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
        facts.unit = self.ctx.unit_name.clone();
        facts.full_read_at = self.full_read_at(&facts);
        if !self.discarded && self.loaded.as_ref() == Some(&facts) {
            return Ok(());
        }
        // The charm's state directory may not exist yet (nothing else the
        // charm writes lives there); stop and remove delete it, so they must
        // not bring it back.
        if !matches!(self.ctx.kind.name(), "stop" | "remove") {
            if let Some(dir) = self.file.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
        }
        facts::save(&self.file, &facts)
            .map(|_| ())
            .map_err(|e| format!("cannot keep hook facts in {}: {e}", self.file.display()))
    }
}

impl Memory {
    /// When `facts` (this run's) were last all read fresh: now after a full
    /// read, unless it found what the file held and the file's stamp is
    /// recent (so that running a hook again rewrites nothing).
    fn full_read_at(&self, facts: &Facts) -> u64 {
        let Some(loaded) = &self.loaded else {
            return self.now;
        };
        if !self.full_read {
            return loaded.full_read_at;
        }
        let same = Facts {
            full_read_at: loaded.full_read_at,
            ..facts.clone()
        } == *loaded;
        let recent = self
            .now
            .checked_sub(loaded.full_read_at)
            .is_some_and(|age| age < FULL_READ_EVERY / 2);
        if same && recent {
            loaded.full_read_at
        } else {
            self.now
        }
    }
}
