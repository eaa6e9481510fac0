//! What can go wrong when running a hook tool.

/// A hook tool could not be run, failed, or printed something we cannot read.
/// Every variant names the tool, so an operator reading the unit log knows
/// which call went wrong and why.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// The tool could not be started (not on PATH, not executable, ...).
    #[error("hook tool `{tool}` could not be run: {source} (is this running inside a Juju hook?)")]
    Spawn {
        /// The tool, e.g. `config-get`.
        tool: String,
        /// Why starting it failed.
        source: std::io::Error,
    },
    /// The tool ran and exited unsuccessfully.
    #[error("hook tool `{tool}` failed ({status}): {stderr}")]
    Failed {
        /// The tool, e.g. `relation-set`.
        tool: String,
        /// Its exit status.
        status: std::process::ExitStatus,
        /// What it printed on stderr (trimmed, shortened when huge).
        stderr: String,
    },
    /// The tool succeeded but its output is not what `--format=json` promises.
    #[error(
        "hook tool `{tool}` printed output that is not the expected JSON ({source}): {output:?}"
    )]
    BadOutput {
        /// The tool, e.g. `network-get`.
        tool: String,
        /// What it printed (shortened when huge).
        output: String,
        /// The parse error.
        source: serde_json::Error,
    },
    /// We refused to call the tool because an argument cannot be right.
    #[error("hook tool `{tool}` not called: {reason}")]
    BadArgument {
        /// The tool that would have been called.
        tool: String,
        /// What is wrong with the argument.
        reason: String,
    },
}

impl ToolError {
    /// The tool this error is about.
    pub fn tool(&self) -> &str {
        match self {
            ToolError::Spawn { tool, .. }
            | ToolError::Failed { tool, .. }
            | ToolError::BadOutput { tool, .. }
            | ToolError::BadArgument { tool, .. } => tool,
        }
    }
}

/// Longest tool output kept in an error, so a runaway tool cannot flood the log.
pub(crate) const MAX_KEPT_OUTPUT: usize = 4096;

/// `text` trimmed and cut to [`MAX_KEPT_OUTPUT`] bytes on a char boundary.
pub(crate) fn shorten(text: &str) -> String {
    let text = text.trim();
    if text.len() <= MAX_KEPT_OUTPUT {
        return text.to_string();
    }
    let mut end = MAX_KEPT_OUTPUT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &text[..end], text.len())
}
