//! Why a config file was rejected, worded so the message names the key or
//! field to fix.

use std::path::PathBuf;

/// Why a config file was rejected; the message names the key or field to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the agent config {path}: {source}")]
    Read {
        /// The config file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The YAML does not match the schema (syntax, unknown key, wrong type).
    #[error("{path}: {message}")]
    Schema {
        /// Key path, e.g. `instances[0].garp.interval-ms`.
        path: String,
        /// What is wrong there.
        message: String,
    },
    /// A value is out of range or inconsistent with another.
    #[error("{field}: {message}")]
    Invalid {
        /// Field path, e.g. `instances[1].vrid`.
        field: String,
        /// What is wrong and what is allowed.
        message: String,
    },
}

/// A value error at `field`.
pub(super) fn invalid(field: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// Turns serde's wording into ours: `unknown field `x`, expected ...` becomes
/// `PATH.x: unknown key (expected ...)`.
pub(super) fn schema_error(path: String, message: String) -> ConfigError {
    let path = if path == "." { String::new() } else { path };
    // yaml_serde may prefix the message with its own path and end it with a position.
    let position = message.rfind(" at line ").map(|i| message[i..].to_string());
    if let Some(rest) = message.split_once("unknown field `").map(|(_, r)| r) {
        if let Some((key, tail)) = rest.split_once('`') {
            // serde_path_to_error's path may or may not already end with the key.
            let full = if path.ends_with(key) {
                path.clone()
            } else if path.is_empty() {
                key.to_string()
            } else {
                format!("{path}.{key}")
            };
            let expected = tail.trim_start_matches(',').trim();
            let expected = expected.split(" at line").next().unwrap_or(expected);
            return ConfigError::Schema {
                path: full,
                message: format!("unknown key ({expected}){}", position.unwrap_or_default()),
            };
        }
    }
    // Drop a leading copy of the path that yaml_serde adds itself.
    let message = match message.strip_prefix(&format!("{path}: ")) {
        Some(m) if !path.is_empty() => m.to_string(),
        _ => message,
    };
    ConfigError::Schema {
        path: if path.is_empty() {
            "config".into()
        } else {
            path
        },
        message,
    }
}
