//! The real hook tools: each method runs the tool Juju puts on PATH, with the
//! exact arguments Juju's own tools accept, and parses its `--format=json` output.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::error::shorten;
use super::error::ToolError;
use super::hook_tools::{Bag, HookTools};
use super::types::{GoalState, LogLevel, NetworkInfo, Protocol, Status};

/// Runs the hook tools found on PATH (or in one directory, see [`CliHookTools::in_dir`]).
#[derive(Debug, Clone, Default)]
pub struct CliHookTools {
    dir: Option<PathBuf>,
    env: Vec<(String, String)>,
}

impl CliHookTools {
    /// Tools looked up on PATH, as in a real hook.
    pub fn new() -> CliHookTools {
        CliHookTools::default()
    }

    /// Tools taken from `dir` (e.g. Juju's tools dir when PATH was altered).
    pub fn in_dir(dir: impl Into<PathBuf>) -> CliHookTools {
        CliHookTools {
            dir: Some(dir.into()),
            env: Vec::new(),
        }
    }

    /// Adds environment variables for the tools (e.g. another hook context's
    /// `JUJU_*` when a harness or debugging tool acts on its behalf).
    pub fn with_env(mut self, vars: impl IntoIterator<Item = (String, String)>) -> CliHookTools {
        self.env.extend(vars);
        self
    }

    fn program(&self, tool: &str) -> OsString {
        match &self.dir {
            Some(dir) => dir.join(tool).into_os_string(),
            None => OsString::from(tool),
        }
    }

    /// Runs `tool args...` with `stdin`, returning its stdout on success.
    fn run(&self, tool: &str, args: &[&str], stdin: Option<&[u8]>) -> Result<String, ToolError> {
        let mut cmd = Command::new(self.program(tool));
        cmd.args(args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let spawn_err = |source| ToolError::Spawn {
            tool: tool.to_string(),
            source,
        };
        let mut child = cmd.spawn().map_err(spawn_err)?;
        if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
            // A tool that exits without reading all input gives EPIPE here; its
            // exit status below then tells the real story, so ignore the error.
            let _ = pipe.write_all(input);
        }
        let output = child.wait_with_output().map_err(spawn_err)?;
        if !output.status.success() {
            return Err(ToolError::Failed {
                tool: tool.to_string(),
                status: output.status,
                stderr: shorten(&String::from_utf8_lossy(&output.stderr)),
            });
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Runs a `--format=json` tool and parses its output; empty output reads as
    /// `null` (some tools print nothing for "no data").
    fn json<T: DeserializeOwned>(&self, tool: &str, args: &[&str]) -> Result<T, ToolError> {
        let out = self.run(tool, args, None)?;
        let text = if out.trim().is_empty() {
            "null"
        } else {
            out.trim()
        };
        serde_json::from_str(text).map_err(|source| ToolError::BadOutput {
            tool: tool.to_string(),
            output: shorten(&out),
            source,
        })
    }

    /// A JSON map that may also come back as `null` (= empty).
    fn json_bag(&self, tool: &str, args: &[&str]) -> Result<Bag, ToolError> {
        Ok(self.json::<Option<Bag>>(tool, args)?.unwrap_or_default())
    }

    fn json_map(&self, tool: &str, args: &[&str]) -> Result<Map<String, Value>, ToolError> {
        Ok(self
            .json::<Option<Map<String, Value>>>(tool, args)?
            .unwrap_or_default())
    }

    /// Sends a bag as JSON on stdin to a `--file -` tool.
    fn with_bag_on_stdin(&self, tool: &str, args: &[&str], data: &Bag) -> Result<(), ToolError> {
        let body = serde_json::to_vec(data).map_err(|source| ToolError::BadOutput {
            tool: tool.to_string(),
            output: String::new(),
            source,
        })?;
        self.run(tool, args, Some(&body)).map(drop)
    }
}

/// `rel_id` must look like `endpoint:N` or `N`: refuse anything that could be
/// taken as a flag.
fn check_rel_id(tool: &str, rel_id: &str) -> Result<(), ToolError> {
    if rel_id.is_empty() || rel_id.starts_with('-') {
        return Err(ToolError::BadArgument {
            tool: tool.to_string(),
            reason: format!("{rel_id:?} is not a relation id (expected e.g. cluster:3)"),
        });
    }
    Ok(())
}

/// action-set keys: lowercase letters, digits and dashes, dot-separated.
fn check_action_key(key: &str) -> Result<(), ToolError> {
    let ok = !key.is_empty()
        && key.split('.').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !part.starts_with('-')
                && !part.ends_with('-')
        });
    if ok {
        Ok(())
    } else {
        Err(ToolError::BadArgument {
            tool: "action-set".into(),
            reason: format!(
                "key {key:?} must be lowercase letters, digits and dashes, dot-separated"
            ),
        })
    }
}

impl HookTools for CliHookTools {
    fn config_get(&self) -> Result<Map<String, Value>, ToolError> {
        self.json_map("config-get", &["--format=json"])
    }

    fn relation_ids(&self, endpoint: &str) -> Result<Vec<String>, ToolError> {
        Ok(self
            .json::<Option<Vec<String>>>("relation-ids", &["--format=json", endpoint])?
            .unwrap_or_default())
    }

    fn relation_list(&self, rel_id: &str) -> Result<Vec<String>, ToolError> {
        check_rel_id("relation-list", rel_id)?;
        Ok(self
            .json::<Option<Vec<String>>>("relation-list", &["--format=json", "-r", rel_id])?
            .unwrap_or_default())
    }

    fn relation_remote_app(&self, rel_id: &str) -> Result<Option<String>, ToolError> {
        check_rel_id("relation-list", rel_id)?;
        let app: Option<String> =
            self.json("relation-list", &["--format=json", "-r", rel_id, "--app"])?;
        Ok(app.filter(|a| !a.is_empty()))
    }

    fn relation_get(&self, rel_id: &str, unit_or_app: &str, app: bool) -> Result<Bag, ToolError> {
        check_rel_id("relation-get", rel_id)?;
        let mut args = vec!["--format=json", "-r", rel_id];
        if app {
            args.push("--app");
        }
        args.extend(["-", unit_or_app]);
        self.json_bag("relation-get", &args)
    }

    fn relation_set(&self, rel_id: &str, data: &Bag, app: bool) -> Result<(), ToolError> {
        check_rel_id("relation-set", rel_id)?;
        let mut args = vec!["-r", rel_id];
        if app {
            args.push("--app");
        }
        args.extend(["--file", "-"]);
        self.with_bag_on_stdin("relation-set", &args, data)
    }

    fn network_get(&self, binding: &str) -> Result<NetworkInfo, ToolError> {
        self.json("network-get", &["--format=json", binding])
    }

    fn status_set(&self, status: Status, application: bool) -> Result<(), ToolError> {
        let mut args = Vec::with_capacity(4);
        if application {
            args.push("--application");
        }
        args.extend([status.state.as_str(), "--", status.message.as_str()]);
        self.run("status-set", &args, None).map(drop)
    }

    fn application_version_set(&self, version: &str) -> Result<(), ToolError> {
        self.run("application-version-set", &["--", version], None)
            .map(drop)
    }

    fn is_leader(&self) -> Result<bool, ToolError> {
        self.json("is-leader", &["--format=json"])
    }

    fn goal_state(&self) -> Result<GoalState, ToolError> {
        self.json("goal-state", &["--format=json"])
    }

    fn action_get(&self) -> Result<Map<String, Value>, ToolError> {
        self.json_map("action-get", &["--format=json"])
    }

    fn action_set(&self, results: &Bag) -> Result<(), ToolError> {
        if results.is_empty() {
            return Ok(());
        }
        let mut args = Vec::with_capacity(results.len());
        for (key, value) in results {
            check_action_key(key)?;
            args.push(format!("{key}={value}"));
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.run("action-set", &args, None).map(drop)
    }

    fn action_fail(&self, message: &str) -> Result<(), ToolError> {
        self.run("action-fail", &["--", message], None).map(drop)
    }

    fn juju_log(&self, level: LogLevel, message: &str) -> Result<(), ToolError> {
        self.run(
            "juju-log",
            &["--log-level", level.as_str(), "--", message],
            None,
        )
        .map(drop)
    }

    fn open_port(&self, port: u16, protocol: Protocol) -> Result<(), ToolError> {
        let spec = format!("{port}/{}", protocol.as_str());
        self.run("open-port", &[&spec], None).map(drop)
    }

    fn close_port(&self, port: u16, protocol: Protocol) -> Result<(), ToolError> {
        let spec = format!("{port}/{}", protocol.as_str());
        self.run("close-port", &[&spec], None).map(drop)
    }

    fn state_get(&self) -> Result<Bag, ToolError> {
        self.json_bag("state-get", &["--format=json"])
    }

    fn state_set(&self, data: &Bag) -> Result<(), ToolError> {
        if data.is_empty() {
            return Ok(());
        }
        self.with_bag_on_stdin("state-set", &["--file", "-"], data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_keys_follow_juju_rules() {
        for good in ["vip", "state.api", "a-b.c1"] {
            assert!(check_action_key(good).is_ok(), "{good}");
        }
        for bad in ["", "Vip", "a..b", "-a", "a-", "a_b", "a b"] {
            assert!(check_action_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn flag_like_relation_ids_are_refused() {
        assert!(check_rel_id("relation-get", "--app").is_err());
        assert!(check_rel_id("relation-get", "").is_err());
        assert!(check_rel_id("relation-get", "cluster:0").is_ok());
    }
}
