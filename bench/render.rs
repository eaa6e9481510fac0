//! The docs' benchmark tables, rendered from the result files.
//!
//! Any Markdown file (README.md, docs/**/*.md) may hold a table between
//! `<!-- bench:KEY:begin -->` and `<!-- bench:KEY:end -->`, KEY being a table
//! key in bench/results/*.json ("failover", "footprint", ...). `render-docs`
//! rewrites what is between the markers; `render-docs --check` (and the test
//! tests/bench_tables.rs) fails when a file differs from what the results
//! give; `render-docs --print` prints every table without touching any file.
//!
//! Why it exists: a table typed by hand drifts from the run it came from.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::results::ResultFile;

/// The command that regenerates the docs' tables.
pub const FIX_COMMAND: &str = "make -f bench/bench.mk bench-docs";

/// Every table key a part writes, with the make target that writes it and
/// its result file. A marker with one of these keys whose result file is not
/// committed renders [`pending`]; a marker with any other unknown key is an
/// error (a typo must not pass as "no result yet").
pub const PARTS: &[(&str, &str, &str)] = &[
    ("failover", "bench-failover", "failover.json"),
    ("failover-split", "bench-failover", "failover.json"),
    ("starvation", "bench-starvation", "starvation.json"),
    ("vrrp", "bench-vrrp", "vrrp.json"),
    ("footprint", "bench-footprint", "footprint.json"),
    ("syscalls", "bench-syscalls", "syscalls.json"),
    ("hook-cost", "bench-hooks", "hook-cost.json"),
    ("lb", "bench-lb", "lb.json"),
    ("bgp", "bench-bgp", "bgp.json"),
    ("bgp-ecmp", "bench-bgp", "bgp.json"),
];

/// What a marker of a known part shows while its result file is not
/// committed: no figure, the command that makes one.
pub fn pending(key: &str) -> Option<Block> {
    let (_, target, file) = PARTS.iter().find(|(k, _, _)| *k == key)?;
    Some(Block {
        markdown: format!(
            "_No committed result yet: `make -f bench/bench.mk {target}` writes \
             `bench/results/{file}`, then `{FIX_COMMAND}` renders it here._\n"
        ),
        title: format!("(no result yet for {key})"),
    })
}

/// One renderable table: its Markdown block and the file it comes from.
#[derive(Debug, Clone)]
pub struct Block {
    /// Table, method paragraph and source line, ending in a newline.
    pub markdown: String,
    /// The title, for `--print`.
    pub title: String,
}

/// Every table of `files` by key; `shown_dir` is how the results directory
/// is named in the source line (e.g. "bench/results"). Two tables with the
/// same key are an error.
pub fn blocks(
    files: &[(PathBuf, ResultFile)],
    shown_dir: &str,
) -> Result<BTreeMap<String, Block>, String> {
    let mut out = BTreeMap::new();
    for (path, file) in files {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let shown = format!("{shown_dir}/{name}");
        for table in &file.tables {
            let markdown = format!(
                "{}\n\n{}\n",
                table.markdown_body().trim_end(),
                file.provenance(&shown)
            );
            let block = Block {
                markdown,
                title: table.title.clone(),
            };
            if out.insert(table.key.clone(), block).is_some() {
                return Err(format!(
                    "table key {:?} appears twice in {shown_dir} (second time in {shown})",
                    table.key
                ));
            }
        }
    }
    Ok(out)
}

/// The key of a marker line `<!-- bench:KEY:begin -->` (or `end`).
fn marker<'a>(line: &'a str, which: &str) -> Option<&'a str> {
    let inner = line
        .trim()
        .strip_prefix("<!--")?
        .strip_suffix("-->")?
        .trim();
    let rest = inner.strip_prefix("bench:")?;
    let key = rest.strip_suffix(&format!(":{which}"))?;
    (!key.is_empty() && !key.contains(char::is_whitespace)).then_some(key)
}

/// The result of rendering one document.
#[derive(Debug, Clone, PartialEq)]
pub struct Spliced {
    /// The document with every marked table rendered.
    pub text: String,
    /// Keys whose content changed.
    pub changed: Vec<String>,
    /// Keys found (in order).
    pub keys: Vec<String>,
}

/// Renders every marked table of `text`. Errors name the line: a begin
/// without its end, a nested or stray marker, a key with no table.
pub fn splice(text: &str, blocks: &BTreeMap<String, Block>) -> Result<Spliced, String> {
    let mut out = String::with_capacity(text.len());
    let (mut changed, mut keys) = (Vec::new(), Vec::new());
    let mut lines = text.split_inclusive('\n').enumerate();
    while let Some((n, line)) = lines.next() {
        if let Some(key) = marker(line, "end") {
            return Err(format!(
                "line {}: <!-- bench:{key}:end --> without its begin",
                n + 1
            ));
        }
        out.push_str(line);
        let Some(key) = marker(line, "begin") else {
            continue;
        };
        let Some(block) = blocks.get(key).cloned().or_else(|| pending(key)) else {
            let known: Vec<&str> = blocks.keys().map(String::as_str).collect();
            return Err(format!(
                "line {}: no result table with key {key:?} (known: {})",
                n + 1,
                known.join(", ")
            ));
        };
        let mut old = String::new();
        let end_line = loop {
            let Some((m, inner)) = lines.next() else {
                return Err(format!(
                    "line {}: <!-- bench:{key}:begin --> has no <!-- bench:{key}:end -->",
                    n + 1
                ));
            };
            if marker(inner, "end") == Some(key) {
                break inner;
            }
            if marker(inner, "begin").is_some() || marker(inner, "end").is_some() {
                return Err(format!(
                    "line {}: marker inside bench:{key} (begun on line {})",
                    m + 1,
                    n + 1
                ));
            }
            old.push_str(inner);
        };
        let new = format!("\n{}\n", block.markdown);
        if old != new {
            changed.push(key.to_string());
        }
        keys.push(key.to_string());
        out.push_str(&new);
        out.push_str(end_line);
    }
    Ok(Spliced {
        text: out,
        changed,
        keys,
    })
}

/// README.md and every .md under docs/ (sorted), relative to `repo`.
pub fn doc_files(repo: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    if repo.join("README.md").is_file() {
        files.push(PathBuf::from("README.md"));
    }
    let mut stack = vec![PathBuf::from("docs")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(repo.join(&dir)) else {
            continue;
        };
        for e in entries.flatten() {
            let rel = dir.join(e.file_name());
            let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
            if is_dir {
                stack.push(rel);
            } else if rel.extension().is_some_and(|x| x == "md") {
                files.push(rel);
            }
        }
    }
    files.sort();
    files
}

/// What rendering the docs under `repo` would change: one line per file
/// that differs, naming the keys. Empty when everything is current.
pub fn stale(repo: &Path, blocks: &BTreeMap<String, Block>) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for rel in doc_files(repo) {
        let text = std::fs::read_to_string(repo.join(&rel))
            .map_err(|e| format!("{}: {e}", rel.display()))?;
        let s = splice(&text, blocks).map_err(|e| format!("{}: {e}", rel.display()))?;
        if !s.changed.is_empty() {
            out.push(format!(
                "{}: bench:{} differ from the result files",
                rel.display(),
                s.changed.join(", bench:")
            ));
        }
    }
    Ok(out)
}

/// Rewrites every doc under `repo` whose marked tables changed; returns the
/// files written.
pub fn write(repo: &Path, blocks: &BTreeMap<String, Block>) -> Result<Vec<PathBuf>, String> {
    let mut written = Vec::new();
    for rel in doc_files(repo) {
        let path = repo.join(&rel);
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", rel.display()))?;
        let s = splice(&text, blocks).map_err(|e| format!("{}: {e}", rel.display()))?;
        if s.text != text {
            std::fs::write(&path, &s.text).map_err(|e| format!("{}: {e}", rel.display()))?;
            written.push(rel);
        }
    }
    Ok(written)
}

/// Every table with a heading naming its key, for reading without the docs.
pub fn print_all(blocks: &BTreeMap<String, Block>) -> String {
    blocks
        .iter()
        .map(|(key, b)| format!("### {} (bench:{key})\n\n{}", b.title, b.markdown))
        .collect::<Vec<_>>()
        .join("\n")
}
