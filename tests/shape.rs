//! The shape of src/, checked on every `cargo test`:
//! (a) the module import graph has no cycle (data flows one way);
//! (b) nothing under src/juju imports the charm (the hook runtime takes the
//!     charm's handler as a value from main.rs);
//! (c) no file over 400 lines and no function over 60 lines, except the
//!     listed exceptions, each with its reason.
//!
//! Modules are files. Every file under src/ is parsed with `syn`; an edge
//! A -> B is counted for each `use` and each path (in code, types and macro
//! arguments) in A that starts with `crate::`, `super::`, `self::` or the
//! name of a child module of A and names an item of B (a path names the
//! deepest module file it reaches). `main.rs` is its own crate and reaches
//! the library as `k8s_vip::`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use proc_macro2::{TokenStream, TokenTree};
use syn::spanned::Spanned;
use syn::visit::Visit;

/// Longest file in src/ (lines).
const MAX_FILE_LINES: usize = 400;
/// Longest function in src/ (lines, from `fn` to the closing brace).
const MAX_FN_LINES: usize = 60;

/// Files or functions (`path::fn`) allowed past the limits, and why. A file
/// entry covers the file's length and every function in it. An entry that
/// no longer exceeds a limit fails the test: remove it.
const EXCEPTIONS: &[(&str, &str)] = &[];

/// Imports left out of the cycle check, and why. An entry whose import is
/// gone fails the test: remove it.
const CYCLE_EXCEPTIONS: &[(&str, &str, &str)] = &[];

/// One parsed source file.
struct SourceFile {
    /// Path relative to the package root (`src/charm/plan.rs`).
    rel: String,
    /// Module path inside its crate (`["charm", "plan"]`).
    module: Vec<String>,
    /// Which crate: the library or the binary (`main.rs`).
    is_bin: bool,
    text: String,
    ast: syn::File,
}

fn src_files() -> Vec<SourceFile> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths = Vec::new();
    collect_rs(&root.join("src"), &mut paths);
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let rel = path
                .strip_prefix(root)
                .expect("under the package root")
                .to_string_lossy()
                .into_owned();
            let text = std::fs::read_to_string(&path).expect("readable source");
            let ast = syn::parse_file(&text).unwrap_or_else(|e| panic!("{rel}: {e}"));
            let (module, is_bin) = module_of(&rel);
            SourceFile {
                rel,
                module,
                is_bin,
                text,
                ast,
            }
        })
        .collect()
}

fn collect_rs(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable src dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            collect_rs(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/a/b.rs` -> `[a, b]`, `src/a/mod.rs` -> `[a]`, lib.rs and main.rs -> `[]`.
fn module_of(rel: &str) -> (Vec<String>, bool) {
    let inner = rel.strip_prefix("src/").expect("under src/");
    if inner == "main.rs" {
        return (Vec::new(), true);
    }
    if inner == "lib.rs" {
        return (Vec::new(), false);
    }
    let mut parts: Vec<String> = inner
        .trim_end_matches(".rs")
        .split('/')
        .map(str::to_string)
        .collect();
    if parts.last().map(String::as_str) == Some("mod") {
        parts.pop();
    }
    (parts, false)
}

/// The library's module files by module path.
struct Modules(BTreeMap<Vec<String>, String>);

impl Modules {
    fn new(files: &[SourceFile]) -> Modules {
        Modules(
            files
                .iter()
                .filter(|f| !f.is_bin)
                .map(|f| (f.module.clone(), f.rel.clone()))
                .collect(),
        )
    }

    /// The file of the deepest module on `path` (the crate root at least).
    fn deepest(&self, path: &[String]) -> Option<&String> {
        (0..=path.len()).rev().find_map(|k| self.0.get(&path[..k]))
    }

    /// The module file a path used in `file`, inside inline modules
    /// `inline` (e.g. `mod tests`), names; None for paths that do not
    /// start in this crate (std, external crates, local names). Inline
    /// modules have no file of their own: a path into one names its file.
    fn resolve(&self, file: &SourceFile, inline: &[String], path: &[String]) -> Option<&String> {
        let first = path.first()?;
        if file.is_bin {
            return match first.as_str() {
                "k8s_vip" => self.deepest(&path[1..]),
                _ => None,
            };
        }
        let mut full: Vec<String> = file.module.iter().chain(inline).cloned().collect();
        match first.as_str() {
            "crate" => {
                full.clear();
                full.extend_from_slice(&path[1..]);
            }
            "self" => full.extend_from_slice(&path[1..]),
            "super" => {
                let ups = path.iter().take_while(|s| *s == "super").count();
                for _ in 0..ups {
                    full.pop()?;
                }
                full.extend_from_slice(&path[ups..]);
            }
            _ => {
                full.push(first.clone());
                if !self.0.contains_key(&full) {
                    return None;
                }
                full.extend_from_slice(&path[1..]);
            }
        }
        self.deepest(&full)
    }
}

/// Collects the paths a file uses, with the inline modules they sit in.
#[derive(Default)]
struct PathCollector {
    inline: Vec<String>,
    found: Vec<(Vec<String>, Vec<String>)>,
}

impl PathCollector {
    fn push(&mut self, path: Vec<String>) {
        if !path.is_empty() {
            self.found.push((self.inline.clone(), path));
        }
    }

    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) if n.ident == "self" => self.push(prefix.clone()),
            syn::UseTree::Name(n) => {
                let mut p = prefix.clone();
                p.push(n.ident.to_string());
                self.push(p);
            }
            syn::UseTree::Rename(r) => {
                let mut p = prefix.clone();
                p.push(r.ident.to_string());
                self.push(p);
            }
            syn::UseTree::Glob(_) => self.push(prefix.clone()),
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.use_tree(prefix, t);
                }
            }
        }
    }

    /// `a::b::c` sequences in macro arguments (`format!`, `matches!`, ...).
    fn tokens(&mut self, tokens: TokenStream) {
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        let mut i = 0;
        while i < trees.len() {
            match &trees[i] {
                TokenTree::Group(g) => {
                    self.tokens(g.stream());
                    i += 1;
                }
                TokenTree::Ident(id) => {
                    let mut path = vec![id.to_string()];
                    let mut j = i + 1;
                    while let (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b))) =
                        (trees.get(j), trees.get(j + 1))
                    {
                        let Some(TokenTree::Ident(next)) = trees.get(j + 2) else {
                            break;
                        };
                        if a.as_char() != ':' || b.as_char() != ':' {
                            break;
                        }
                        path.push(next.to_string());
                        j += 3;
                    }
                    if path.len() > 1 {
                        self.push(path);
                    }
                    i = j;
                }
                TokenTree::Punct(_) | TokenTree::Literal(_) => i += 1,
            }
        }
    }
}

impl<'ast> Visit<'ast> for PathCollector {
    fn visit_item_use(&mut self, node: &'ast syn::ItemUse) {
        self.use_tree(&mut Vec::new(), &node.tree);
    }

    fn visit_item_mod(&mut self, node: &'ast syn::ItemMod) {
        self.inline.push(node.ident.to_string());
        syn::visit::visit_item_mod(self, node);
        self.inline.pop();
    }

    fn visit_path(&mut self, node: &'ast syn::Path) {
        self.push(node.segments.iter().map(|s| s.ident.to_string()).collect());
        syn::visit::visit_path(self, node);
    }

    /// `pub(super)` and `pub(in path)` name where an item is seen, not
    /// what it uses.
    fn visit_visibility(&mut self, _: &'ast syn::Visibility) {}

    fn visit_macro(&mut self, node: &'ast syn::Macro) {
        self.tokens(node.tokens.clone());
        syn::visit::visit_macro(self, node);
    }
}

/// file -> files it imports.
fn import_graph(files: &[SourceFile]) -> BTreeMap<String, BTreeSet<String>> {
    let modules = Modules::new(files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let mut c = PathCollector::default();
        c.visit_file(&file.ast);
        let edges = graph.entry(file.rel.clone()).or_default();
        for (inline, path) in &c.found {
            if let Some(target) = modules.resolve(file, inline, path) {
                if *target != file.rel {
                    edges.insert(target.clone());
                }
            }
        }
    }
    graph
}

/// Every import cycle of the graph: its strongly connected components of
/// more than one file (Tarjan's algorithm), each as the imports between its
/// files. Every such import lies on a cycle, so breaking a component means
/// removing enough of the listed imports; all are reported at once.
fn find_cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<(String, String)>> {
    #[derive(Default)]
    struct Tarjan<'g> {
        next: usize,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        components: Vec<BTreeSet<&'g str>>,
    }
    impl<'g> Tarjan<'g> {
        fn visit(&mut self, node: &'g str, graph: &'g BTreeMap<String, BTreeSet<String>>) {
            self.index.insert(node, self.next);
            self.low.insert(node, self.next);
            self.next += 1;
            self.stack.push(node);
            self.on_stack.insert(node);
            for next in graph.get(node).into_iter().flatten() {
                let next = next.as_str();
                if !self.index.contains_key(next) {
                    self.visit(next, graph);
                    let low = self.low[node].min(self.low[next]);
                    self.low.insert(node, low);
                } else if self.on_stack.contains(next) {
                    let low = self.low[node].min(self.index[next]);
                    self.low.insert(node, low);
                }
            }
            if self.low[node] == self.index[node] {
                let mut component = BTreeSet::new();
                while let Some(top) = self.stack.pop() {
                    self.on_stack.remove(top);
                    component.insert(top);
                    if top == node {
                        break;
                    }
                }
                self.components.push(component);
            }
        }
    }
    let mut t = Tarjan::default();
    for node in graph.keys() {
        if !t.index.contains_key(node.as_str()) {
            t.visit(node, graph);
        }
    }
    let mut cycles: Vec<Vec<(String, String)>> = t
        .components
        .iter()
        .filter(|c| c.len() > 1)
        .map(|c| {
            c.iter()
                .flat_map(|from| {
                    graph[*from]
                        .iter()
                        .filter(|to| c.contains(to.as_str()))
                        .map(|to| (from.to_string(), to.clone()))
                })
                .collect()
        })
        .collect();
    cycles.sort();
    cycles
}

#[test]
fn the_module_import_graph_has_no_cycle() {
    let files = src_files();
    let mut graph = import_graph(&files);
    for (from, to, _why) in CYCLE_EXCEPTIONS {
        let edges = graph.get_mut(*from).expect("excepted file exists");
        assert!(
            edges.remove(*to),
            "{from} no longer imports {to}; remove it from CYCLE_EXCEPTIONS"
        );
    }
    let cycles = find_cycles(&graph);
    let report: Vec<String> = cycles
        .iter()
        .map(|edges| {
            let lines: Vec<String> = edges.iter().map(|(a, b)| format!("  {a} -> {b}")).collect();
            format!("files importing each other:\n{}", lines.join("\n"))
        })
        .collect();
    assert!(
        cycles.is_empty(),
        "{} import cycle(s) in src/:\n{}",
        cycles.len(),
        report.join("\n")
    );
}

#[test]
fn the_graph_sees_the_imports_it_must_see() {
    // Guards the checker itself: known edges of each kind are found.
    let graph = import_graph(&src_files());
    let has = |from: &str, to: &str| graph[from].contains(to);
    // `use super::...`
    assert!(has("src/charm/plan.rs", "src/charm/config/mod.rs"));
    // `use crate::...`
    assert!(has("src/charm/reconcile.rs", "src/juju/context.rs"));
    // a child module named from mod.rs
    assert!(has("src/charm/mod.rs", "src/charm/handle.rs"));
    // the binary reaching the library
    assert!(has("src/main.rs", "src/juju/dispatch.rs"));
    // an inline test module's `super::` stays in its file, `crate::` leaves it
    assert!(has("src/juju/dispatch.rs", "src/juju/tools/mod.rs"));
    // a cycle is found when there is one
    let mut looped = graph.clone();
    looped
        .get_mut("src/charm/types/plan.rs")
        .unwrap()
        .insert("src/charm/plan.rs".into());
    let edge = (
        "src/charm/types/plan.rs".to_string(),
        "src/charm/plan.rs".to_string(),
    );
    assert!(find_cycles(&looped).iter().any(|c| c.contains(&edge)));
    // every cycle is reported, not only the first one found
    let two: BTreeMap<String, BTreeSet<String>> = [("a", "b"), ("b", "a"), ("c", "d"), ("d", "c")]
        .iter()
        .map(|(f, t)| (f.to_string(), BTreeSet::from([t.to_string()])))
        .collect();
    assert_eq!(find_cycles(&two).len(), 2);
}

#[test]
fn nothing_under_juju_imports_the_charm() {
    let graph = import_graph(&src_files());
    let bad: Vec<String> = graph
        .iter()
        .filter(|(from, _)| from.starts_with("src/juju/"))
        .flat_map(|(from, to)| {
            to.iter()
                .filter(|t| t.starts_with("src/charm/"))
                .map(move |t| format!("{from} -> {t}"))
        })
        .collect();
    assert!(
        bad.is_empty(),
        "src/juju must not know the charm (main.rs hands the handler in): {bad:?}"
    );
}

/// Every function with a body: (name, lines from `fn` to the closing brace).
#[derive(Default)]
struct FnLengths(Vec<(String, usize)>);

impl FnLengths {
    fn add(&mut self, name: &syn::Ident, sig: &syn::Signature, block: &syn::Block) {
        let start = sig.fn_token.span().start().line;
        let end = block.span().end().line;
        self.0.push((name.to_string(), end + 1 - start));
    }
}

impl<'ast> Visit<'ast> for FnLengths {
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        self.add(&f.sig.ident, &f.sig, &f.block);
        syn::visit::visit_item_fn(self, f);
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        self.add(&f.sig.ident, &f.sig, &f.block);
        syn::visit::visit_impl_item_fn(self, f);
    }

    fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
        if let Some(block) = &f.default {
            self.add(&f.sig.ident, &f.sig, block);
        }
        syn::visit::visit_trait_item_fn(self, f);
    }
}

#[test]
fn files_and_functions_stay_short() {
    let exceptions: BTreeMap<&str, &str> = EXCEPTIONS.iter().copied().collect();
    let mut over = Vec::new();
    let mut used = BTreeSet::new();
    for file in src_files() {
        let whole_file = exceptions.contains_key(file.rel.as_str());
        let lines = file.text.lines().count();
        if lines > MAX_FILE_LINES {
            if whole_file {
                used.insert(file.rel.clone());
            } else {
                over.push(format!("{}: {lines} lines", file.rel));
            }
        }
        let mut fns = FnLengths::default();
        fns.visit_file(&file.ast);
        for (name, len) in fns.0.into_iter().filter(|(_, l)| *l > MAX_FN_LINES) {
            let key = format!("{}::{name}", file.rel);
            if whole_file {
                used.insert(file.rel.clone());
            } else if exceptions.contains_key(key.as_str()) {
                used.insert(key);
            } else {
                over.push(format!("{key}: {len} lines"));
            }
        }
    }
    assert!(
        over.is_empty(),
        "over {MAX_FILE_LINES} lines per file / {MAX_FN_LINES} per fn; split by job: {over:#?}"
    );
    let stale: Vec<&&str> = exceptions.keys().filter(|k| !used.contains(**k)).collect();
    assert!(
        stale.is_empty(),
        "these exceptions are within the limits now; remove them: {stale:?}"
    );
}
