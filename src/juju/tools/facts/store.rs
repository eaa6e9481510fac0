//! The facts file: read whole, written whole and atomically (a temporary
//! file in the same directory, then a rename), never half-written.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use super::model::{Facts, FORMAT};

/// What reading the facts file found.
#[derive(Debug, Clone, PartialEq)]
pub enum Loaded {
    /// No file (first hook, or the last run failed or was cut short).
    Missing,
    /// A file of another format (`format` as written), from another build.
    OtherFormat(u32),
    /// A file that cannot be read or parsed; the reason.
    Unreadable(String),
    /// The facts.
    Facts(Box<Facts>),
}

/// Reads the facts file `file`.
pub fn load(file: &Path) -> Loaded {
    let text = match fs::read(file) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Loaded::Missing,
        Err(e) => return Loaded::Unreadable(e.to_string()),
    };
    let value: serde_json::Value = match serde_json::from_slice(&text) {
        Ok(v) => v,
        Err(e) => return Loaded::Unreadable(e.to_string()),
    };
    let format = value.get("format").and_then(serde_json::Value::as_u64);
    if format != Some(u64::from(FORMAT)) {
        return Loaded::OtherFormat(format.and_then(|f| u32::try_from(f).ok()).unwrap_or(0));
    }
    match serde_json::from_value(value) {
        Ok(facts) => Loaded::Facts(Box::new(facts)),
        Err(e) => Loaded::Unreadable(e.to_string()),
    }
}

/// Writes `facts` to `file` atomically, readable by root only (relation data
/// may hold secrets such as TLS keys). Returns false, writing nothing, when
/// the directory does not exist (the charm removed its state at teardown).
pub fn save(file: &Path, facts: &Facts) -> io::Result<bool> {
    let Some(dir) = file.parent() else {
        return Ok(false);
    };
    if !dir.is_dir() {
        return Ok(false);
    }
    let name = file.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.{}", std::process::id()));
    let text = serde_json::to_vec(facts).map_err(io::Error::other)?;
    let written = (|| {
        let mut f = open_private(&tmp)?;
        f.write_all(&text)?;
        f.sync_all()?;
        fs::rename(&tmp, file)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written.map(|()| true)
}

/// Creates (truncating) `path` with mode 0600.
fn open_private(path: &Path) -> io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
}

/// Removes `file`; a missing file is fine.
pub fn remove(file: &Path) -> io::Result<()> {
    match fs::remove_file(file) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}
