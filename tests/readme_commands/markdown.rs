//! Reads a Markdown page the way a user reads it: fenced code blocks, and in
//! them the command lines a user would type; inline code spans in the prose.
//! The `readme_commands` test target (this directory) uses it to run every
//! documented command of README.md and docs/, so the documentation cannot
//! drift from the code. Nothing else reads the documentation, hence it lives
//! here and not in tests/support.

/// One fenced code block of a page.
#[derive(Debug, Clone)]
pub struct Block {
    /// The page it is on, relative to the repository (`README.md`,
    /// `docs/reference/cli.md`); empty for text that is no page.
    pub file: String,
    /// The info string after the opening fence (`sh`, `yaml`, `rust`, or "").
    pub info: String,
    /// 1-based line of the opening fence.
    pub fence_line: usize,
    /// The block's lines with their 1-based line numbers.
    pub lines: Vec<(usize, String)>,
}

impl Block {
    /// The block's text, lines joined with `\n` (no trailing newline).
    pub fn text(&self) -> String {
        self.lines
            .iter()
            .map(|(_, l)| l.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Whether every line of this block is a shell command (or a comment).
    pub fn is_shell(&self) -> bool {
        matches!(
            self.info.as_str(),
            "sh" | "bash" | "shell" | "console" | "sh-session"
        )
    }
}

/// One command a user would type, as found in a fenced block.
#[derive(Debug, Clone)]
pub struct CommandLine {
    /// The page it is on (see [`Block::file`]).
    pub file: String,
    /// 1-based line where the command starts.
    pub line: usize,
    /// The command as written (continuation lines joined with `\n`), without
    /// a leading `$ ` prompt and without a trailing `# comment`.
    pub text: String,
    /// The trailing comment, if any (without `#`).
    pub comment: String,
    /// Whether it was written after a `$ ` prompt.
    pub prompt: bool,
    /// For a `$ ` command: the output lines shown after it, up to the next
    /// prompt or the end of the block.
    pub output: Vec<String>,
    /// Written as inline code in the prose rather than in a fenced block.
    pub inline: bool,
}

/// Programs whose lines count as commands in blocks without a shell info
/// string (in `sh` blocks every line is a command).
pub const COMMAND_PROGRAMS: &[&str] = &[
    "make",
    "sudo",
    "juju",
    "k8s-vip",
    "python3",
    "cargo",
    "systemctl",
    "journalctl",
    "curl",
    "kubectl",
    "ip",
    "tcpdump",
    "openstack",
    "charmcraft",
];

/// Every fenced code block (``` or ~~~ fences) of page `file`, whose text is `text`.
pub fn fenced_blocks(file: &str, text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<(String, Block)> = None;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let trimmed = line.trim_start();
        let fence = ["```", "~~~"].into_iter().find(|f| trimmed.starts_with(f));
        match (&mut open, fence) {
            (None, Some(f)) => {
                let marker: String = trimmed.chars().take_while(|c| f.starts_with(*c)).collect();
                let info = trimmed[marker.len()..].trim().to_string();
                open = Some((
                    marker,
                    Block {
                        file: file.to_string(),
                        info,
                        fence_line: n,
                        lines: Vec::new(),
                    },
                ));
            }
            (Some((marker, _)), Some(_))
                if trimmed.starts_with(marker.as_str())
                    && trimmed[marker.len()..].trim().is_empty() =>
            {
                if let Some((_, block)) = open.take() {
                    blocks.push(block);
                }
            }
            (Some((_, block)), _) => block.lines.push((n, line.to_string())),
            (None, None) => {}
        }
    }
    blocks
}

/// Splits a command into words like a POSIX shell does for simple commands:
/// whitespace separates words, single quotes are literal, double quotes allow
/// `\"`, `\\`, `\$` escapes, a backslash outside quotes escapes the next
/// character (a backslash-newline joins lines). Errors on an unterminated quote.
pub fn shell_words(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(x) => word.push(x),
                        None => return Err("unterminated single quote".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.peek() {
                            Some(&x) if matches!(x, '"' | '\\' | '$' | '`') => {
                                word.push(x);
                                chars.next();
                            }
                            Some('\n') => {
                                chars.next();
                            }
                            _ => word.push('\\'),
                        },
                        Some(x) => word.push(x),
                        None => return Err("unterminated double quote".into()),
                    }
                }
            }
            '\\' => match chars.next() {
                Some('\n') => {}
                Some(x) => {
                    in_word = true;
                    word.push(x);
                }
                None => return Err("trailing backslash".into()),
            },
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// Splits `line` into (command, comment) at the first `#` that starts a
/// shell word outside quotes; `quote` is the quote still open from the
/// previous line (updated to the one open at the end of this line).
fn split_comment(line: &str, quote: &mut Option<char>) -> (String, Option<String>) {
    let mut prev_space = true;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        if escaped {
            escaped = false;
            prev_space = false;
            continue;
        }
        match (*quote, c) {
            (None, '\\') | (Some('"'), '\\') => escaped = true,
            (None, '\'') | (None, '"') => *quote = Some(c),
            (Some(q), c) if c == q => *quote = None,
            (None, '#') if prev_space => {
                return (
                    line[..i].trim_end().to_string(),
                    Some(line[i + 1..].trim().to_string()),
                )
            }
            _ => {}
        }
        prev_space = quote.is_none() && c.is_whitespace();
    }
    (line.trim_end().to_string(), None)
}

/// Whether a line of a non-shell block is a command: it starts with a known
/// program followed by a space.
fn looks_like_command(line: &str) -> bool {
    COMMAND_PROGRAMS.iter().any(|p| {
        line.strip_prefix(p)
            .is_some_and(|rest| rest.starts_with(' '))
    })
}

/// Every command line of one block. In shell blocks every non-comment line
/// starts a command (lines inside an open quote or after a trailing backslash
/// continue it); in other blocks only `$ ` lines and lines that start with a
/// known program do. Text after a `$ ` command up to the next one is its output.
pub fn block_commands(block: &Block) -> Vec<CommandLine> {
    let mut out: Vec<CommandLine> = Vec::new();
    let mut pending: Option<CommandLine> = None;
    let mut quote: Option<char> = None;
    let mut last_prompted = false;
    for (n, raw) in &block.lines {
        if let Some(mut cmd) = pending.take() {
            cmd.text.push('\n');
            let (code, comment) = split_comment(raw, &mut quote);
            cmd.text.push_str(&code);
            if let Some(c) = comment {
                cmd.comment = c;
            }
            if continues(&cmd.text) {
                pending = Some(cmd);
            } else {
                out.push(cmd);
            }
            continue;
        }
        let trimmed = raw.trim();
        let (prompt, body) = match trimmed.strip_prefix("$ ") {
            Some(rest) => (true, rest.trim_start()),
            None => (false, trimmed),
        };
        let is_command = if trimmed.is_empty() || (!prompt && trimmed.starts_with('#')) {
            false
        } else if prompt {
            true
        } else if last_prompted {
            // Output of the previous `$ ` command.
            if let Some(prev) = out.last_mut() {
                prev.output.push(raw.to_string());
            }
            continue;
        } else {
            block.is_shell() || looks_like_command(trimmed)
        };
        if !is_command {
            continue;
        }
        last_prompted = prompt;
        quote = None;
        let (code, comment) = split_comment(body, &mut quote);
        let cmd = CommandLine {
            file: block.file.clone(),
            line: *n,
            text: code,
            comment: comment.unwrap_or_default(),
            prompt,
            output: Vec::new(),
            inline: false,
        };
        if continues(&cmd.text) {
            pending = Some(cmd);
        } else {
            out.push(cmd);
        }
    }
    if let Some(cmd) = pending {
        out.push(cmd);
    }
    out
}

/// Whether a command text goes on on the next line (open quote, trailing `\`).
fn continues(text: &str) -> bool {
    text.ends_with('\\') || shell_words(text).is_err()
}

/// Every command line of every fenced block of page `file`, in order.
pub fn commands(file: &str, text: &str) -> Vec<CommandLine> {
    fenced_blocks(file, text)
        .iter()
        .flat_map(block_commands)
        .collect()
}

/// Programs (or `VAR=value` settings) whose inline code spans in the prose
/// count as commands a user types.
fn inline_is_command(span: &str) -> bool {
    let first = span.split_whitespace().next().unwrap_or_default();
    let assignment = first.split_once('=').is_some_and(|(name, _)| {
        name.starts_with(|c: char| c.is_ascii_uppercase())
            && name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    });
    assignment
        || first.starts_with("scripts/")
        || (COMMAND_PROGRAMS.contains(&first) || first == "systemd-analyze") && span.contains(' ')
}

/// Every command written as inline code (`` `juju config k8s-vip unicast=true` ``)
/// in the prose outside fenced blocks; a span may wrap over lines, and
/// `a && b` counts as two commands.
pub fn inline_commands(file: &str, text: &str) -> Vec<CommandLine> {
    // Blank out fenced blocks, keeping line numbers.
    let mut fenced: Vec<bool> = vec![false; text.lines().count() + 1];
    for block in fenced_blocks(file, text) {
        fenced[block.fence_line - 1] = true;
        for (n, _) in &block.lines {
            fenced[*n - 1] = true;
        }
        if let Some((last, _)) = block.lines.last() {
            if let Some(f) = fenced.get_mut(*last) {
                *f = true;
            }
        } else if let Some(f) = fenced.get_mut(block.fence_line) {
            *f = true;
        }
    }
    let prose: Vec<&str> = text
        .lines()
        .enumerate()
        .map(|(i, l)| if fenced[i] { "" } else { l })
        .collect();
    let prose = prose.join("\n");
    let mut out = Vec::new();
    let mut rest = prose.as_str();
    let mut offset = 0;
    while let Some(start) = rest.find('`') {
        let after = &rest[start + 1..];
        let Some(len) = after.find('`') else { break };
        let span = &after[..len];
        let line = prose[..offset + start].matches('\n').count() + 1;
        // A blank line ends a paragraph: an unmatched backtick, not a span.
        if !span.contains("\n\n") {
            let span = span.split_whitespace().collect::<Vec<_>>().join(" ");
            for part in span.split(" && ") {
                if inline_is_command(part) {
                    out.push(CommandLine {
                        file: file.to_string(),
                        line,
                        text: part.to_string(),
                        comment: String::new(),
                        prompt: false,
                        output: Vec::new(),
                        inline: true,
                    });
                }
            }
        }
        let consumed = start + 1 + len + 1;
        offset += consumed;
        rest = &rest[consumed..];
    }
    out
}
