//! Python's `json.dumps(value, sort_keys=True)` byte for byte: the library
//! hashes that text into each scrape job's name, so the name is only stable
//! across charms if the text is the same.

use serde_json::Value;
use std::fmt::Write as _;

/// `json.dumps(value, sort_keys=True)` with Python's defaults: `", "` and
/// `": "` separators, keys sorted, non-ASCII escaped as `\uXXXX`.
pub fn dumps_sorted(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_string(out, key);
                out.push_str(": ");
                write_value(out, &map[key]);
            }
            out.push('}');
        }
    }
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn matches_python_json_dumps_sort_keys() {
        // python3 -c 'import json; print(json.dumps({"b": [1, True, None],
        //   "a": {"z": "é\n", "y": "x"}}, sort_keys=True))'
        let v = json!({"b": [1, true, null], "a": {"z": "é\n", "y": "x"}});
        assert_eq!(
            dumps_sorted(&v),
            r#"{"a": {"y": "x", "z": "\u00e9\n"}, "b": [1, true, null]}"#
        );
        assert_eq!(dumps_sorted(&json!("😀\u{7f}")), r#""\ud83d\ude00\u007f""#);
    }
}
