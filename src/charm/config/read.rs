//! Typed reads of `config-get` output: absent or null is the default, a
//! value of the wrong type is an error naming the option.

use serde_json::{Map, Value};

use super::model::ConfigError;

/// An error for `option`.
pub fn err(option: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        option,
        message: message.into(),
    }
}

/// Reads a string option; absent or null is the empty string.
pub fn string_opt(map: &Map<String, Value>, option: &'static str) -> Result<String, ConfigError> {
    match map.get(option) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.trim().to_string()),
        Some(other) => Err(err(option, format!("expected a string, got {other}"))),
    }
}

/// Reads an integer option (Juju hands ints as JSON numbers; a numeric string
/// is accepted too because older clients stringify).
pub fn int_opt(
    map: &Map<String, Value>,
    option: &'static str,
    default: i64,
) -> Result<i64, ConfigError> {
    match map.get(option) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Number(n)) => n
            .as_i64()
            .ok_or_else(|| err(option, format!("expected a whole number, got {n}"))),
        Some(Value::String(s)) => s
            .trim()
            .parse::<i64>()
            .map_err(|_| err(option, format!("expected a whole number, got {s:?}"))),
        Some(other) => Err(err(option, format!("expected a whole number, got {other}"))),
    }
}

pub fn float_opt(
    map: &Map<String, Value>,
    option: &'static str,
    default: f64,
) -> Result<f64, ConfigError> {
    let value = match map.get(option) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Number(n)) => n
            .as_f64()
            .ok_or_else(|| err(option, format!("expected a number of seconds, got {n}"))),
        Some(Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .map_err(|_| err(option, format!("expected a number of seconds, got {s:?}"))),
        Some(other) => Err(err(
            option,
            format!("expected a number of seconds, got {other}"),
        )),
    }?;
    if value.is_finite() {
        Ok(value)
    } else {
        Err(err(
            option,
            format!("expected a number of seconds, got {value}"),
        ))
    }
}

pub fn bool_opt(
    map: &Map<String, Value>,
    option: &'static str,
    default: bool,
) -> Result<bool, ConfigError> {
    match map.get(option) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(true),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(false),
        Some(other) => Err(err(option, format!("expected true or false, got {other}"))),
    }
}
