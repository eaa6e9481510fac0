//! The reference tables (Options, Actions, Relations) list exactly what
//! config.yaml, actions.yaml and metadata.yaml declare, with their defaults
//! and interfaces.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::commands::{read_yaml, readme_text};

/// The README's Markdown table rows whose first cell is `` `NAME` ``:
/// name -> the other cells.
fn table_rows(section: &str) -> BTreeMap<String, Vec<String>> {
    let text = readme_text();
    let start = text
        .find(&format!("\n## {section}\n"))
        .unwrap_or_else(|| panic!("the README has no section {section}"));
    let body = &text[start + 1..];
    let end = body[3..].find("\n## ").map_or(body.len(), |e| e + 3);
    body[..end]
        .lines()
        .filter_map(|l| {
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

/// The Options, Actions and Relations tables name every option (with its
/// config.yaml default), action (with its parameters and their defaults)
/// and endpoint (with its interface), and nothing else.
#[test]
fn reference_tables_match_config_actions_and_metadata() {
    let options = table_rows("Options");
    let config = read_yaml("config.yaml");
    let declared = config["options"].as_object().cloned().unwrap_or_default();
    assert_eq!(
        options.keys().collect::<Vec<_>>(),
        declared.keys().collect::<Vec<_>>(),
        "the Options table and config.yaml list different options"
    );
    for (name, spec) in &declared {
        let shown = options[name][0].trim_matches('`').to_string();
        let default = match &spec["default"] {
            Value::String(s) if s.is_empty() => "\"\"".to_string(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        assert_eq!(shown, default, "Options table: default of {name}");
    }

    let actions = table_rows("Actions");
    let schema = read_yaml("actions.yaml");
    let declared = schema.as_object().cloned().unwrap_or_default();
    assert_eq!(
        actions.keys().collect::<Vec<_>>(),
        declared.keys().collect::<Vec<_>>(),
        "the Actions table and actions.yaml list different actions"
    );
    for (name, spec) in &declared {
        let cell = &actions[name][0];
        for (param, p) in spec["params"].as_object().cloned().unwrap_or_default() {
            assert!(
                cell.contains(&format!("`{param}`")),
                "Actions table: {name} lacks `{param}`"
            );
            if let Some(d) = p.get("default") {
                assert!(
                    cell.contains(&format!("default {d}")),
                    "Actions table: {name} {param} default {d}"
                );
            }
        }
        if spec.get("params").is_none() {
            assert_eq!(cell, "—", "Actions table: {name} takes no parameters");
        }
    }

    let relations = table_rows("Relations");
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
        "the Relations table and metadata.yaml list different endpoints"
    );
    for (name, interface) in &endpoints {
        assert!(
            relations[name][0].contains(interface.as_str()),
            "Relations table: {name} is interface {interface}, the table says {}",
            relations[name][0]
        );
    }
}
