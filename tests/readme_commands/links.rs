//! Every relative link of README.md and docs/ (text and image links alike)
//! points at a file that exists and, with a `#fragment`, at a heading of that
//! page, by the anchors GitHub gives headings; and docs/README.md, the map,
//! links every page under docs/.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use crate::docs::{self, Page};
use crate::markdown;

/// The lines of `page` outside fenced blocks, with their 1-based numbers.
fn prose_lines(page: &Page) -> Vec<(usize, String)> {
    let fenced: BTreeSet<usize> = markdown::fenced_blocks(&page.path, &page.text)
        .iter()
        .flat_map(|b| {
            let last = b.lines.last().map_or(b.fence_line, |(n, _)| *n) + 1;
            b.fence_line..=last
        })
        .collect();
    page.text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.to_string()))
        .filter(|(n, _)| !fenced.contains(n))
        .collect()
}

/// `line` with the text of its inline code spans blanked, so a `](` quoted
/// in code is not taken for a link.
fn without_code(line: &str) -> String {
    let mut out = String::new();
    let mut in_code = false;
    for c in line.chars() {
        if c == '`' {
            in_code = !in_code;
            out.push(c);
        } else {
            out.push(if in_code { ' ' } else { c });
        }
    }
    out
}

/// The targets of the inline links `[text](target)` and images
/// `![alt](target)` of `page`, with their line numbers.
fn links(page: &Page) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in prose_lines(page) {
        let line = without_code(&line);
        let mut rest = line.as_str();
        while let Some(i) = rest.find("](") {
            let after = &rest[i + 2..];
            let Some(end) = after.find(')') else { break };
            let target = after[..end].split_whitespace().next().unwrap_or_default();
            out.push((n, target.to_string()));
            rest = &after[end..];
        }
    }
    out
}

/// The anchor GitHub gives a heading: lower case, punctuation dropped,
/// spaces turned into hyphens.
pub fn slug(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// Every anchor of `page`: its headings' slugs, a repeated one numbered
/// `-1`, `-2`, ... as GitHub does.
fn anchors(page: &Page) -> BTreeSet<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = BTreeSet::new();
    for (_, line) in prose_lines(page) {
        let level = line.chars().take_while(|c| *c == '#').count();
        if !(1..=6).contains(&level) || !line[level..].starts_with(' ') {
            continue;
        }
        let base = slug(line[level..].trim().trim_end_matches('#').trim());
        let count = seen.entry(base.clone()).or_insert(0);
        out.insert(match *count {
            0 => base.clone(),
            k => format!("{base}-{k}"),
        });
        *count += 1;
    }
    out
}

/// `path` with `.` and `..` resolved, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

#[test]
fn every_relative_link_resolves() {
    let pages = docs::pages();
    let by_path: BTreeMap<&str, &Page> = pages.iter().map(|p| (p.path.as_str(), p)).collect();
    let mut problems = Vec::new();
    let mut checked = 0;
    for page in &pages {
        for (n, target) in links(page) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            checked += 1;
            let (file, fragment) = target.split_once('#').unwrap_or((&target, ""));
            let resolved = if file.is_empty() {
                PathBuf::from(&page.path)
            } else {
                let dir = Path::new(&page.path).parent().unwrap_or(Path::new(""));
                normalize(&dir.join(file))
            };
            let resolved_str = resolved.to_string_lossy().to_string();
            if resolved.starts_with("..") || !docs::root().join(&resolved).exists() {
                problems.push(format!(
                    "{}:{n}: `{target}`: no file {resolved_str}",
                    page.path
                ));
                continue;
            }
            if fragment.is_empty() {
                continue;
            }
            match by_path.get(resolved_str.as_str()) {
                Some(p) if anchors(p).contains(fragment) => {}
                Some(p) => problems.push(format!(
                    "{}:{n}: `{target}`: {} has no heading with anchor #{fragment} (anchors: {:?})",
                    page.path,
                    p.path,
                    anchors(p)
                )),
                None => problems.push(format!(
                    "{}:{n}: `{target}`: an anchor into {resolved_str}, which is no page of the docs",
                    page.path
                )),
            }
        }
    }
    // The map links every page.
    let map = by_path
        .get("docs/README.md")
        .expect("docs/README.md, the map");
    let mapped: BTreeSet<String> = links(map)
        .into_iter()
        .map(|(_, t)| normalize(&Path::new("docs").join(t.split('#').next().unwrap_or_default())))
        .map(|p| p.to_string_lossy().to_string())
        .collect();
    for page in &pages {
        if page.path.starts_with("docs/")
            && page.path != "docs/README.md"
            && !mapped.contains(&page.path)
        {
            problems.push(format!("docs/README.md does not link {}", page.path));
        }
    }
    assert!(
        problems.is_empty(),
        "{} broken link(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(
        checked > 50,
        "only {checked} relative links found: is the parser broken?"
    );
    eprintln!("{checked} relative links resolve");
}

#[test]
fn slugs_are_githubs() {
    assert_eq!(slug("The \"direct\" rule"), "the-direct-rule");
    assert_eq!(
        slug("loadbalancer v1 (`lb-consumers`)"),
        "loadbalancer-v1-lb-consumers"
    );
    assert_eq!(
        slug("Multicast blocked → unicast"),
        "multicast-blocked--unicast"
    );
    assert_eq!(
        slug("Failover: k8s-vip agent vs keepalived"),
        "failover-k8s-vip-agent-vs-keepalived"
    );
}
