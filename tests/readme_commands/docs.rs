//! The documentation this target checks: README.md and every Markdown page
//! under docs/, read as they are now. Every other module asks this one for
//! pages, their code blocks, or all their text, so a command, example or
//! quoted message is checked whichever page it was moved to.

use std::path::{Path, PathBuf};

use crate::markdown::{self, Block};
use crate::support::juju::SOURCE_DIR;

/// One page of the documentation.
#[derive(Debug, Clone)]
pub struct Page {
    /// Its path relative to the repository root (`README.md`,
    /// `docs/how-to/troubleshooting.md`).
    pub path: String,
    /// Its text.
    pub text: String,
}

/// The repository root.
pub fn root() -> &'static Path {
    Path::new(SOURCE_DIR)
}

/// Every `.md` file under `dir`, recursively, sorted.
fn markdown_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(markdown_files(&path));
        } else if path.extension().is_some_and(|e| e == "md") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// README.md first, then every page under docs/ in path order.
pub fn pages() -> Vec<Page> {
    let mut files = vec![root().join("README.md")];
    files.extend(markdown_files(&root().join("docs")));
    files
        .into_iter()
        .map(|f| Page {
            path: f
                .strip_prefix(root())
                .unwrap_or(&f)
                .to_string_lossy()
                .to_string(),
            text: std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display())),
        })
        .collect()
}

/// The text of one page, by its path relative to the repository.
pub fn page(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every fenced code block of every page, each knowing its page.
pub fn blocks() -> Vec<Block> {
    pages()
        .iter()
        .flat_map(|p| markdown::fenced_blocks(&p.path, &p.text))
        .collect()
}

/// All pages' text, for "the documentation says X somewhere" checks (pages
/// joined with a blank line, so no sentence runs from one into the next).
pub fn all_text() -> String {
    pages()
        .into_iter()
        .map(|p| p.text)
        .collect::<Vec<_>>()
        .join("\n\n")
}
