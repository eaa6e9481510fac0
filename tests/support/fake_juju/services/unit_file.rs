//! The parts of a systemd unit file the shim runs: ExecStart (with its
//! environment and quoting), Type=notify and the reload signal.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use nix::sys::signal::Signal;

use crate::Ctx;

/// The parts of a unit file (plus its drop-ins) the shim needs.
pub(super) struct UnitFile {
    pub(super) exec_start: Vec<String>,
    /// `Type=notify`: started means READY=1 was received.
    pub(super) notify: bool,
    pub(super) env: BTreeMap<String, String>,
    pub(super) reload_signal: Signal,
}

impl UnitFile {
    pub(super) fn load(ctx: &Ctx, path: &Path) -> Result<UnitFile, String> {
        let mut texts = vec![std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?];
        if let Some(name) = path.file_name() {
            let dropins = ctx
                .rooted("/etc/systemd/system")
                .join(format!("{}.d", name.to_string_lossy()));
            let mut confs: Vec<PathBuf> = std::fs::read_dir(&dropins)
                .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
                .unwrap_or_default();
            confs.sort();
            for conf in confs
                .iter()
                .filter(|c| c.extension().is_some_and(|e| e == "conf"))
            {
                texts.push(std::fs::read_to_string(conf).unwrap_or_default());
            }
        }
        let mut exec = String::new();
        let mut env = BTreeMap::new();
        let mut reload_signal = Signal::SIGHUP;
        let mut notify = false;
        for text in &texts {
            let mut in_service = false;
            for line in text.lines().map(str::trim) {
                if line.starts_with('[') {
                    in_service = line == "[Service]";
                    continue;
                }
                let Some((key, value)) = line.split_once('=') else {
                    continue;
                };
                if !in_service {
                    continue;
                }
                let value = value.trim();
                match key.trim() {
                    "ExecStart" => exec = value.to_string(),
                    "Type" => notify = value == "notify",
                    "Environment" => {
                        for pair in split_words(value) {
                            if let Some((k, v)) = pair.split_once('=') {
                                env.insert(k.to_string(), v.to_string());
                            }
                        }
                    }
                    "EnvironmentFile" => {
                        let (optional, file) = match value.strip_prefix('-') {
                            Some(f) => (true, f),
                            None => (false, value),
                        };
                        let rooted = ctx.rooted(file);
                        let chosen = if rooted.exists() {
                            rooted
                        } else {
                            PathBuf::from(file)
                        };
                        match std::fs::read_to_string(&chosen) {
                            Ok(text) => env.extend(parse_env_file(&text)),
                            Err(_) if optional => {}
                            Err(e) => return Err(format!("cannot read {file}: {e}")),
                        }
                    }
                    "ExecReload" => {
                        if let Some(sig) = kill_signal(value) {
                            reload_signal = sig;
                        }
                    }
                    _ => {}
                }
            }
        }
        let exec = exec.trim_start_matches(['@', '-', ':', '+', '!']);
        let exec_start = expand(ctx, &split_words(exec), &env);
        Ok(UnitFile {
            exec_start,
            notify,
            env,
            reload_signal,
        })
    }
}

/// The signal of an `ExecReload=/bin/kill -SIG $MAINPID` line.
fn kill_signal(line: &str) -> Option<Signal> {
    let words = split_words(line);
    if !words.first()?.ends_with("kill") {
        return None;
    }
    let name = words
        .iter()
        .skip(1)
        .find_map(|w| w.strip_prefix('-').filter(|s| !s.is_empty() && *s != "s"))?;
    let name = if name.starts_with("SIG") {
        name.to_string()
    } else {
        format!("SIG{name}")
    };
    Signal::from_str(&name).ok()
}

/// Splits a systemd command line or Environment= value into words, honouring quotes.
fn split_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            (Some(_), c) => cur.push(c),
            (None, '"') | (None, '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

fn parse_env_file(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('"').to_string()))
        .collect()
}

/// `$VAR` words split into the variable's words, `${VAR}` substituted in place,
/// and absolute paths (alone or after `=`) re-rooted when they exist under the root.
fn expand(ctx: &Ctx, words: &[String], env: &BTreeMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    for word in words {
        if let Some(var) = word.strip_prefix('$').filter(|v| !v.starts_with('{')) {
            out.extend(
                env.get(var)
                    .map(|v| v.split_whitespace().map(str::to_string).collect::<Vec<_>>())
                    .unwrap_or_default(),
            );
            continue;
        }
        let mut w = word.clone();
        for (k, v) in env {
            w = w.replace(&format!("${{{k}}}"), v);
        }
        out.push(w);
    }
    out.into_iter().map(|w| reroot(ctx, &w)).collect()
}

fn reroot(ctx: &Ctx, word: &str) -> String {
    let rooted = |p: &str| {
        let candidate = ctx.rooted(p);
        (p.starts_with('/') && candidate.exists()).then(|| candidate.to_string_lossy().into_owned())
    };
    if let Some(r) = rooted(word) {
        return r;
    }
    if let Some((flag, path)) = word.split_once('=') {
        if let Some(r) = rooted(path) {
            return format!("{flag}={r}");
        }
    }
    word.to_string()
}
