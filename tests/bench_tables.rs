//! The benchmark tables in the docs are rendered from the committed result
//! files (bench/results/*.json), never typed: this fails when a table between
//! `<!-- bench:KEY:begin -->` and `<!-- bench:KEY:end -->` in README.md or
//! docs/**/*.md differs from what the renderer (bench/render.rs, the same code
//! `render-docs` runs) makes of the results, and names the command to fix it.
//! The renderer itself is checked on fixtures (tests/fixtures/bench).

#[path = "../bench/render.rs"]
#[allow(dead_code)]
mod render;
#[path = "../bench/results.rs"]
#[allow(dead_code)]
mod results;
#[path = "../bench/stats.rs"]
#[allow(dead_code)]
mod stats;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use render::Block;
use results::ResultFile;

fn fixtures() -> PathBuf {
    results::repo().join("tests/fixtures/bench")
}

fn blocks_of(dir: &Path) -> BTreeMap<String, Block> {
    let files = ResultFile::load_dir(dir).expect("result files parse");
    render::blocks(&files, "bench/results").expect("table keys are unique")
}

#[test]
fn committed_doc_tables_match_committed_results() {
    let repo = results::repo();
    let blocks = blocks_of(&repo.join("bench/results"));
    let stale = render::stale(&repo, &blocks).unwrap_or_else(|e| {
        panic!(
            "{e}\n(a bench marker names no table in bench/results, or is broken; \
             keys there: {:?})",
            blocks.keys().collect::<Vec<_>>()
        )
    });
    assert!(
        stale.is_empty(),
        "benchmark tables in the docs differ from bench/results:\n{}\nregenerate them with `{}`",
        stale.join("\n"),
        render::FIX_COMMAND
    );
}

#[test]
fn committed_result_files_are_current_schema() {
    let dir = results::repo().join("bench/results");
    for (path, file) in ResultFile::load_dir(&dir).unwrap() {
        assert_eq!(file.schema, results::SCHEMA, "{}", path.display());
        assert_eq!(
            path.file_stem().unwrap().to_string_lossy(),
            file.part,
            "{}: the file is named after its part",
            path.display()
        );
        assert!(!file.tables.is_empty(), "{}: no table", path.display());
    }
}

/// Copies the fixture docs tree into a temporary directory.
fn fixture_repo() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let src = fixtures().join("repo");
    for rel in [
        "README.md",
        "docs/reference/benchmarks.md",
        "docs/notes.txt",
    ] {
        let to = tmp.path().join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(src.join(rel), to).unwrap();
    }
    tmp
}

#[test]
fn renders_marked_tables_in_readme_and_docs_from_fixture_results() {
    let blocks = blocks_of(&fixtures().join("results"));
    let repo = fixture_repo();
    assert_eq!(
        render::doc_files(repo.path()),
        vec![
            PathBuf::from("README.md"),
            PathBuf::from("docs/reference/benchmarks.md")
        ],
        "README.md and .md files under docs/, nothing else"
    );
    let stale = render::stale(repo.path(), &blocks).unwrap();
    assert_eq!(
        stale,
        vec![
            "README.md: bench:fixture-two differ from the result files",
            "docs/reference/benchmarks.md: bench:fixture-one differ from the result files",
        ]
    );
    let written = render::write(repo.path(), &blocks).unwrap();
    assert_eq!(written.len(), 2);
    for rel in ["README.md", "docs/reference/benchmarks.md"] {
        let got = std::fs::read_to_string(repo.path().join(rel)).unwrap();
        let want = std::fs::read_to_string(fixtures().join("expected").join(rel)).unwrap();
        assert_eq!(got, want, "{rel}");
    }
    assert!(render::stale(repo.path(), &blocks).unwrap().is_empty());
    assert!(render::write(repo.path(), &blocks).unwrap().is_empty());
}

#[test]
fn print_shows_every_table_without_any_doc() {
    let text = render::print_all(&blocks_of(&fixtures().join("results")));
    assert!(text.contains("### One side (bench:fixture-one)"));
    assert!(text.contains("### Two sides (bench:fixture-two)"));
    assert!(text.contains("| master RSS | MiB | 5.25 (5.00–5.50) | 10.5 (10.0–11.0) | 0.50× | 2 |"));
    assert!(text.contains("**Smoke run"));
}

#[test]
fn broken_markers_are_errors_naming_the_line() {
    let blocks = blocks_of(&fixtures().join("results"));
    let err = |text: &str| render::splice(text, &blocks).unwrap_err();
    assert!(
        err("a\n<!-- bench:nope:begin -->\n<!-- bench:nope:end -->\n")
            .starts_with("line 2: no result table with key \"nope\"")
    );
    assert!(err("<!-- bench:fixture-one:begin -->\nx\n").contains(
        "line 1: <!-- bench:fixture-one:begin --> has no <!-- bench:fixture-one:end -->"
    ));
    assert!(err("x\n<!-- bench:fixture-one:end -->\n").starts_with("line 2:"));
    assert!(err(
        "<!-- bench:fixture-one:begin -->\n<!-- bench:fixture-two:begin -->\n<!-- bench:fixture-one:end -->\n"
    )
    .starts_with("line 2: marker inside bench:fixture-one"));
}

#[test]
fn a_known_part_without_a_result_file_renders_the_command_not_a_figure() {
    let blocks = blocks_of(&fixtures().join("results"));
    let s = render::splice("<!-- bench:lb:begin -->\n<!-- bench:lb:end -->\n", &blocks).unwrap();
    assert_eq!(
        s.text,
        "<!-- bench:lb:begin -->\n\n_No committed result yet: `make -f bench/bench.mk bench-lb` \
         writes `bench/results/lb.json`, then `make -f bench/bench.mk bench-docs` renders it \
         here._\n\n<!-- bench:lb:end -->\n"
    );
    assert_eq!(s.changed, vec!["lb"]);
    // Every part's key is in the list, so none of the committed tables can
    // silently turn into a placeholder: each committed key is a known part.
    let committed = blocks_of(&results::repo().join("bench/results"));
    for key in committed.keys() {
        assert!(
            render::PARTS.iter().any(|(k, _, _)| k == key),
            "table key {key:?} is missing from render::PARTS"
        );
    }
}

#[test]
fn text_without_markers_is_left_alone() {
    let blocks = blocks_of(&fixtures().join("results"));
    let text = "# t\n\n<!-- not a bench marker -->\n`<!-- bench:x:begin -->` quoted inline\n";
    let s = render::splice(text, &blocks).unwrap();
    assert_eq!(s.text, text);
    assert!(s.keys.is_empty());
}

#[test]
fn duplicate_table_keys_are_refused() {
    let files = ResultFile::load_dir(&fixtures().join("results")).unwrap();
    let twice: Vec<_> = files.iter().chain(files.iter().take(1)).cloned().collect();
    assert!(render::blocks(&twice, "bench/results")
        .unwrap_err()
        .contains("appears twice"));
}

#[test]
fn profile_settings_come_from_the_manifest() {
    let manifest = "[profile.dev]\ndebug = 1\n\n[profile.release]\n# why\nlto = true\nopt-level = 3\n[x]\ny = 1\n";
    assert_eq!(
        results::profile_settings(manifest, "release"),
        "lto = true, opt-level = 3"
    );
    assert_eq!(results::profile_settings(manifest, "bench"), "");
}
