//! A tiny parser for the flag syntax Juju's tools accept (Go's gnuflag):
//! `--flag=value`, `--flag value`, `-r value`, boolean flags, interspersed
//! positional arguments and `--` to end flags. Unknown flags are errors, so a
//! charm calling a tool with a flag real Juju lacks fails here too.

use std::collections::BTreeMap;

use crate::Fail;

/// One accepted flag: its names (the first is canonical) and whether it takes a value.
pub struct Flag {
    /// e.g. `&["relation", "r"]` for `-r`/`--relation`.
    pub names: &'static [&'static str],
    /// Takes a value (`--format json`) or is boolean (`--app`).
    pub value: bool,
}

/// Parsed arguments.
#[derive(Debug, Default)]
pub struct Parsed {
    /// Flags by canonical name (booleans as "true"/"false").
    pub flags: BTreeMap<String, String>,
    /// Positional arguments.
    pub pos: Vec<String>,
}

impl Parsed {
    /// A flag's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.flags.get(name).map(String::as_str)
    }

    /// Whether a boolean flag is on.
    pub fn on(&self, name: &str) -> bool {
        matches!(self.get(name), Some("true") | Some("1") | Some("True"))
    }
}

/// Parses `args` against `spec`.
pub fn parse(args: &[String], spec: &[Flag]) -> Result<Parsed, Fail> {
    let mut out = Parsed::default();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if arg == "--" {
            out.pos.extend(iter.by_ref().cloned());
            break;
        }
        let Some(body) = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')) else {
            out.pos.push(arg.clone());
            continue;
        };
        if body.is_empty() {
            // A lone "-" is a positional argument (relation-get's "all keys").
            out.pos.push(arg.clone());
            continue;
        }
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        let flag = spec
            .iter()
            .find(|f| f.names.contains(&name))
            .ok_or_else(|| Fail::usage(format!("flag provided but not defined: {arg}")))?;
        let value = if flag.value {
            match inline {
                Some(v) => v,
                None => iter
                    .next()
                    .cloned()
                    .ok_or_else(|| Fail::usage(format!("flag needs an argument: {arg}")))?,
            }
        } else {
            inline.unwrap_or_else(|| "true".into())
        };
        out.flags.insert(flag.names[0].to_string(), value);
    }
    Ok(out)
}

/// `--format` (json, yaml, smart); the fake only speaks json and smart.
pub const FORMAT: Flag = Flag {
    names: &["format"],
    value: true,
};
/// `-r` / `--relation`.
pub const RELATION: Flag = Flag {
    names: &["relation", "r"],
    value: true,
};
/// `--app`.
pub const APP: Flag = Flag {
    names: &["app"],
    value: false,
};
/// `--file`.
pub const FILE: Flag = Flag {
    names: &["file"],
    value: true,
};
