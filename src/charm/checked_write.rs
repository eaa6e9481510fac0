//! Writes a planned file only once its own program accepts it: the new
//! content goes to a temporary file beside the old one, the
//! [`Validator`] runs on that, and only then is it renamed over the old
//! file. A refused file leaves the old one in place.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::system::System;
use super::types::{FileSpec, Validator};

/// What became of a checked file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckedWrite {
    /// Same content and mode already: nothing ran.
    Unchanged,
    /// Accepted and in place.
    Written,
    /// Refused: the old file (if any) is untouched.
    Refused(Refusal),
}

/// A file its program refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// On-unit path of the file.
    pub path: String,
    /// The checking command, as typed (`keepalived --config-test -f FILE`).
    pub checker: String,
    /// The checker's first error line, for the status.
    pub first_line: String,
    /// Everything it printed, for the log.
    pub output: String,
}

/// Writes `file` when it differs, after `validator` accepted it.
pub fn write_checked(
    sys: &System,
    file: &FileSpec,
    validator: &Validator,
) -> anyhow::Result<CheckedWrite> {
    let dest = sys.path(&file.path);
    if let Ok(meta) = fs::metadata(&dest) {
        let same_mode = meta.permissions().mode() & 0o7777 == file.mode;
        if same_mode && fs::read(&dest).is_ok_and(|old| old == file.content.as_bytes()) {
            return Ok(CheckedWrite::Unchanged);
        }
    }
    let tmp = write_temp(&dest, file)?;
    match run_validator(sys, validator, &tmp, &file.path) {
        Ok(None) => {
            fs::rename(&tmp, &dest).with_context(|| format!("writing {}", file.path))?;
            Ok(CheckedWrite::Written)
        }
        Ok(Some((first_line, output))) => {
            let _ = fs::remove_file(&tmp);
            Ok(CheckedWrite::Refused(Refusal {
                path: file.path.clone(),
                checker: validator.describe(),
                first_line,
                output,
            }))
        }
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// The new content in a temporary file in the destination's directory
/// (same name and extension for the checkers that look at either).
fn write_temp(dest: &Path, file: &FileSpec) -> anyhow::Result<PathBuf> {
    let dir = dest
        .parent()
        .with_context(|| format!("{} has no parent directory", file.path))?;
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".new.{}.{name}", std::process::id()));
    let written = (|| -> std::io::Result<()> {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(file.content.as_bytes())?;
        f.set_permissions(fs::Permissions::from_mode(file.mode))?;
        f.sync_all()
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("writing the new {}", file.path));
    }
    Ok(tmp)
}

/// The line of a checker's output that says what is wrong: the first that
/// reads as an error (HAProxy prints `[NOTICE]` lines about itself first,
/// vtysh a missing vtysh.conf),
/// else the first line.
fn first_error_line(output: &str) -> &str {
    let lines = || output.lines().map(str::trim).filter(|l| !l.is_empty());
    lines()
        .find(|l| {
            let lower = l.to_ascii_lowercase();
            // FRR's vtysh: `line 2: % Unknown command: ...`.
            lower.contains("[alert]") || lower.contains("error") || l.starts_with("line ")
        })
        .or_else(|| lines().next())
        .unwrap_or("no output")
}

/// Runs the checker on `tmp`: None when it accepts, else its first error
/// line and all it printed (the temporary file named as `shown`). A checker
/// that cannot run at all refuses too (a file nobody could check is not put
/// in place).
fn run_validator(
    sys: &System,
    validator: &Validator,
    tmp: &Path,
    shown: &str,
) -> anyhow::Result<Option<(String, String)>> {
    let program = if validator.program == Validator::SELF {
        std::env::current_exe().context("finding the charm's own binary")?
    } else {
        PathBuf::from(&validator.program)
    };
    let args: Vec<String> = validator
        .args
        .iter()
        .map(|a| {
            if a == Validator::FILE {
                tmp.display().to_string()
            } else {
                a.clone()
            }
        })
        .collect();
    let out = match sys.run(&program.display().to_string(), &args) {
        Ok(out) => out,
        Err(e) => {
            let why = format!("{e:#}");
            return Ok(Some((why.clone(), why)));
        }
    };
    if out.status == 0 {
        return Ok(None);
    }
    let tmp_name = tmp
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let shown_name = shown.rsplit('/').next().unwrap_or(shown);
    let output = format!("{}{}", out.stderr, out.stdout)
        .replace(&tmp.display().to_string(), shown)
        .replace(&tmp_name, shown_name);
    let first_line = first_error_line(&output).to_string();
    let output = format!("exit status {}\n{output}", out.status);
    Ok(Some((first_line, output)))
}
