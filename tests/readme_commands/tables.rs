//! The reference tables (options, actions, relations) and the README's
//! one-screen option table list exactly what config.yaml, actions.yaml and
//! metadata.yaml declare, with their defaults and interfaces.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::commands::read_yaml;
use crate::docs;
use crate::markdown;

/// The Markdown table rows under heading `heading` (its whole line, e.g.
/// `## Options`) of page `path`, up to the next heading, whose first cell is
/// `` `NAME` ``: name -> the other cells.
fn table_rows(path: &str, heading: &str) -> BTreeMap<String, Vec<String>> {
    let text = docs::page(path);
    let fenced: Vec<usize> = markdown::fenced_blocks(path, &text)
        .iter()
        .flat_map(|b| {
            let last = b.lines.last().map_or(b.fence_line, |(n, _)| *n) + 1;
            b.fence_line..=last
        })
        .collect();
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(n, _)| !fenced.contains(n))
        .collect();
    let start = lines
        .iter()
        .position(|(_, l)| *l == heading)
        .unwrap_or_else(|| panic!("{path} has no heading `{heading}`"));
    lines[start + 1..]
        .iter()
        .take_while(|(_, l)| !l.starts_with('#'))
        .filter_map(|(_, l)| {
            let cells: Vec<String> = l
                .trim()
                .strip_prefix('|')?
                .strip_suffix('|')?
                .split(" | ")
                .map(|c| c.trim().to_string())
                .collect();
            let name = cells
                .first()?
                .strip_prefix('`')?
                .strip_suffix('`')?
                .to_string();
            Some((name, cells[1..].to_vec()))
        })
        .collect()
}

/// An options table names every option of config.yaml, with its default,
/// and nothing else.
fn check_options_table(path: &str, heading: &str) {
    let options = table_rows(path, heading);
    let config = read_yaml("config.yaml");
    let declared = config["options"].as_object().cloned().unwrap_or_default();
    assert_eq!(
        options.keys().collect::<Vec<_>>(),
        declared.keys().collect::<Vec<_>>(),
        "{path}: the options table and config.yaml list different options"
    );
    for (name, spec) in &declared {
        let shown = options[name][0].trim_matches('`').to_string();
        let default = match &spec["default"] {
            Value::String(s) if s.is_empty() => "\"\"".to_string(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        assert_eq!(shown, default, "{path}: options table: default of {name}");
    }
}

/// The Options tables (the README's and the reference's) name every option
/// (with its config.yaml default), the Actions table every action (with its
/// parameters and their defaults) and the Relations table every endpoint
/// (with its interface), and nothing else.
#[test]
fn reference_tables_match_config_actions_and_metadata() {
    check_options_table("README.md", "## Options");
    check_options_table("docs/reference/options.md", "# Options");

    let path = "docs/reference/actions.md";
    let actions = table_rows(path, "# Actions");
    let schema = read_yaml("actions.yaml");
    let declared = schema.as_object().cloned().unwrap_or_default();
    assert_eq!(
        actions.keys().collect::<Vec<_>>(),
        declared.keys().collect::<Vec<_>>(),
        "{path}: the actions table and actions.yaml list different actions"
    );
    for (name, spec) in &declared {
        let cell = &actions[name][0];
        for (param, p) in spec["params"].as_object().cloned().unwrap_or_default() {
            assert!(
                cell.contains(&format!("`{param}`")),
                "{path}: {name} lacks `{param}`"
            );
            if let Some(d) = p.get("default") {
                assert!(
                    cell.contains(&format!("default {d}")),
                    "{path}: {name} {param} default {d}"
                );
            }
        }
        if spec.get("params").is_none() {
            assert_eq!(cell, "—", "{path}: {name} takes no parameters");
        }
    }

    let path = "docs/reference/relations.md";
    let relations = table_rows(path, "# Relations");
    let meta = read_yaml("metadata.yaml");
    let mut endpoints = BTreeMap::new();
    for section in ["requires", "provides", "peers"] {
        for (name, spec) in meta[section].as_object().cloned().unwrap_or_default() {
            endpoints.insert(
                name,
                spec["interface"].as_str().unwrap_or_default().to_string(),
            );
        }
    }
    assert_eq!(
        relations.keys().collect::<Vec<_>>(),
        endpoints.keys().collect::<Vec<_>>(),
        "{path}: the relations table and metadata.yaml list different endpoints"
    );
    for (name, interface) in &endpoints {
        assert!(
            relations[name][0].contains(interface.as_str()),
            "{path}: {name} is interface {interface}, the table says {}",
            relations[name][0]
        );
    }
}
