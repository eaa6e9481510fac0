//! Which commands the documentation shows and what kind each is: the code
//! that recognises every command line of README.md and docs/ (`classify`),
//! and the coverage test that fails, naming the page and line, for a command
//! no test runs. Every other module asks this one for the commands of its kind.

use std::path::Path;

use serde_json::Value;

use crate::docs;
use crate::markdown::{self, shell_words, CommandLine};
use crate::support::juju::SOURCE_DIR;
use crate::APP;

/// One of the charm's YAML files (metadata.yaml, config.yaml, ...) as JSON.
pub fn read_yaml(file: &str) -> Value {
    let text = std::fs::read_to_string(Path::new(SOURCE_DIR).join(file)).expect(file);
    serde_yaml::from_str(&text).expect(file)
}

/// What a documented command is, once recognised; each kind has a test in
/// the module of its kind.
#[derive(Debug, Clone)]
pub enum Kind {
    /// `make ARGS` or `sudo make ARGS`: `make -n ARGS` must succeed.
    Make { args: Vec<String> },
    /// `juju deploy ./build/NAME.charm APP`.
    Deploy { path: String, app: String },
    /// `juju integrate A:x B:y`.
    Integrate {
        a: (String, String),
        b: (String, String),
    },
    /// `juju integrate A B` without endpoints: the docs say Juju refuses it
    /// as ambiguous.
    AmbiguousIntegrate { a: String, b: String },
    /// `juju config APP K=V ...` (placeholder values replaced by samples).
    Config { pairs: Vec<(String, String)> },
    /// `juju run APP/N ACTION k=v ...` (unit `N` = 0).
    Run {
        unit: String,
        action: String,
        params: Vec<(String, String)>,
    },
    /// `juju exec --unit APP/N -- PROGRAM ARGS`: PROGRAM is where the charm
    /// installs the binary, ARGS a valid CLI call.
    Exec { program: String, args: Vec<String> },
    /// `juju status [APP]`: needs a controller; the unit statuses it would
    /// show are checked (see the file's doc comment).
    Status,
    /// `python3 -c '<the VRID formula>' MODEL/APP`.
    VridOneLiner { script: String, name: String },
    /// `$ k8s-vip agent --config FILE --check` with its shown output.
    AgentCheck,
    /// `$ k8s-vip status` with its shown output.
    StatusTable,
    /// `k8s-vip SUB [--flag ...]`: a synopsis line (complete: it must list
    /// every flag) or a mention in the prose.
    Synopsis {
        sub: String,
        words: Vec<String>,
        complete: bool,
    },
    /// `cargo ...`: the targets it names exist.
    Cargo { words: Vec<String> },
    /// `charmcraft pack|analyse`: covered by the packaging test.
    Charmcraft { sub: String },
    /// A script of this repository (`scripts/X`, `python3 FILE`).
    Script { path: String },
    /// `systemctl VERB [UNIT]`, `journalctl -u UNIT`,
    /// `systemd-analyze security --offline=true FILE`: units the charm installs.
    Systemd {
        unit: Option<String>,
        file: Option<String>,
    },
    /// `VAR=value` on its own: a setting some code of this repository reads.
    Setting { name: String },
    /// A command of the operator's own environment (their network, cloud or
    /// cluster), nothing of k8s-vip to run it against.
    External,
}

/// Tools of the operator's environment the docs quote for troubleshooting.
const EXTERNAL_TOOLS: &[&str] = &["tcpdump", "ip", "openstack", "kubectl", "curl"];

/// Replaces an all-caps placeholder (`N`, `ADDRESS`) in a command with a
/// sample of the right kind, so the command can run.
fn sample_for(placeholder: &str) -> Option<&'static str> {
    match placeholder {
        "N" => Some("42"),
        _ => None,
    }
}

/// Whether `word` is an all-caps placeholder the user replaces (`N`, `ADDRESS`).
pub fn is_placeholder(word: &str) -> bool {
    !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
        && word.starts_with(|c: char| c.is_ascii_uppercase())
}

/// `KEY=VALUE` words as pairs, placeholder values replaced by samples.
fn key_values(pairs: &[&str]) -> Result<Vec<(String, String)>, String> {
    pairs
        .iter()
        .map(|p| {
            let (k, v) = p
                .split_once('=')
                .ok_or_else(|| format!("`{p}` is not KEY=VALUE"))?;
            let v = if is_placeholder(v) {
                sample_for(v).ok_or_else(|| format!("no sample value for placeholder `{v}`"))?
            } else {
                v
            };
            Ok((k.to_string(), v.to_string()))
        })
        .collect()
}

/// Recognises a documented command, or says why no test runs it.
pub fn classify(cmd: &CommandLine) -> Result<Kind, String> {
    let all = shell_words(&cmd.text).map_err(|e| format!("cannot split it: {e}"))?;
    let is_assignment = |w: &String| {
        w.split_once('=')
            .is_some_and(|(name, _)| !name.is_empty() && is_placeholder(name))
    };
    let settings: Vec<&String> = all.iter().take_while(|w| is_assignment(w)).collect();
    if settings.len() == all.len() {
        return match settings.as_slice() {
            [one] => Ok(Kind::Setting {
                name: one.split('=').next().unwrap_or_default().to_string(),
            }),
            _ => Err("not one command nor one setting".into()),
        };
    }
    let words = all[settings.len()..].to_vec();
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    let strs = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let endpoint = |s: &str| -> Result<(String, String), String> {
        s.split_once(':')
            .map(|(x, y)| (x.to_string(), y.to_string()))
            .ok_or_else(|| format!("`{s}` names no endpoint (APP:ENDPOINT)"))
    };
    match w.as_slice() {
        ["make", rest @ ..] | ["sudo", "make", rest @ ..] => Ok(Kind::Make { args: strs(rest) }),
        ["juju", "deploy", path, app] => Ok(Kind::Deploy {
            path: path.to_string(),
            app: app.to_string(),
        }),
        ["juju", "integrate", a, b] if !a.contains(':') && !b.contains(':') => {
            Ok(Kind::AmbiguousIntegrate {
                a: a.to_string(),
                b: b.to_string(),
            })
        }
        ["juju", "integrate", a, b] => Ok(Kind::Integrate {
            a: endpoint(a)?,
            b: endpoint(b)?,
        }),
        ["juju", "config", app, pairs @ ..] if *app == APP && !pairs.is_empty() => {
            Ok(Kind::Config {
                pairs: key_values(pairs)?,
            })
        }
        ["juju", "run", unit, action, params @ ..] if unit.starts_with(&format!("{APP}/")) => {
            let unit = match unit.strip_prefix(&format!("{APP}/")) {
                Some("N") => format!("{APP}/0"),
                _ => unit.to_string(),
            };
            Ok(Kind::Run {
                unit,
                action: action.to_string(),
                params: key_values(params)?,
            })
        }
        ["juju", "exec", "--unit", unit, "--", program, args @ ..]
            if unit.starts_with(&format!("{APP}/")) =>
        {
            Ok(Kind::Exec {
                program: program.to_string(),
                args: strs(args),
            })
        }
        ["juju", "status"] => Ok(Kind::Status),
        ["juju", "status", app] if *app == APP => Ok(Kind::Status),
        ["python3", "-c", script, name] if script.contains("2166136261") => {
            Ok(Kind::VridOneLiner {
                script: script.to_string(),
                name: name.to_string(),
            })
        }
        ["python3", file] if file.ends_with(".py") => Ok(Kind::Script {
            path: file.to_string(),
        }),
        [script] if script.starts_with("scripts/") => Ok(Kind::Script {
            path: script.to_string(),
        }),
        ["k8s-vip", "agent", "--config", _, "--check"] if cmd.prompt => Ok(Kind::AgentCheck),
        ["k8s-vip", "status"] if cmd.prompt => Ok(Kind::StatusTable),
        ["k8s-vip", sub, ..] if !cmd.prompt => Ok(Kind::Synopsis {
            sub: sub.to_string(),
            words: words[2..].to_vec(),
            complete: !cmd.inline,
        }),
        ["cargo", ..] => Ok(Kind::Cargo {
            words: words[1..].to_vec(),
        }),
        ["charmcraft", sub] => Ok(Kind::Charmcraft {
            sub: sub.to_string(),
        }),
        ["systemctl", _] => Ok(Kind::Systemd {
            unit: None,
            file: None,
        }),
        ["systemctl", _, unit] | ["journalctl", "-u", unit] => Ok(Kind::Systemd {
            unit: Some(unit.to_string()),
            file: None,
        }),
        ["systemd-analyze", "security", "--offline=true", file] => Ok(Kind::Systemd {
            unit: None,
            file: Some(file.to_string()),
        }),
        [tool, ..] if EXTERNAL_TOOLS.contains(tool) => Ok(Kind::External),
        _ => Err("no test runs this kind of command".into()),
    }
}

/// Every documented command with its kind; unrecognised ones are left out
/// (the coverage test reports them all at once, with advice).
pub fn commands_of(kind: fn(&Kind) -> bool) -> Vec<(CommandLine, Kind)> {
    all_commands()
        .into_iter()
        .filter_map(|c| classify(&c).ok().map(|k| (c, k)))
        .filter(|(_, k)| kind(k))
        .collect()
}

/// Every command of README.md and docs/, page by page: each page's fenced
/// blocks first, then its inline code.
pub fn all_commands() -> Vec<CommandLine> {
    docs::pages()
        .iter()
        .flat_map(|p| {
            let mut all = markdown::commands(&p.path, &p.text);
            all.extend(markdown::inline_commands(&p.path, &p.text));
            all
        })
        .collect()
}

/// The commands of one kind, each distinct command once (the README, the
/// tutorial and the how-tos repeat lines of the reference; running them again
/// proves nothing new).
pub fn distinct_commands_of(kind: fn(&Kind) -> bool) -> Vec<(CommandLine, Kind)> {
    let mut seen = std::collections::BTreeSet::new();
    commands_of(kind)
        .into_iter()
        .filter(|(c, _)| seen.insert(c.text.clone()))
        .collect()
}

/// `PAGE:LINE: `COMMAND``, for messages.
pub fn at(cmd: &CommandLine) -> String {
    format!("{}:{}: `{}`", cmd.file, cmd.line, cmd.text)
}

/// A command the docs must show: its name, and how to recognise its kind.
type Requirement = (&'static str, fn(&Kind) -> bool);

/// Whether some fenced (not inline) command of `cmds` is of a kind `want`.
fn shows(cmds: &[CommandLine], want: fn(&Kind) -> bool) -> bool {
    cmds.iter()
        .filter(|c| !c.inline)
        .filter_map(|c| classify(c).ok())
        .any(|k| want(&k))
}

#[test]
fn every_documented_command_is_run_by_a_test() {
    let mut problems = Vec::new();
    let commands = all_commands();
    for cmd in &commands {
        if let Err(why) = classify(cmd) {
            problems.push(format!(
                "{}: {why}.\n    Every command in README.md and docs/ must be run by a test. \
                 Teach tests/readme_commands/ to run it (a case in `classify`, commands.rs, and \
                 a test in the module of its kind that executes it and checks what the docs say \
                 it does), or, if it is not a command a user types, take it out of the code \
                 block or `code` span.",
                at(cmd)
            ));
        }
    }
    let mut rust_blocks = 0;
    for block in docs::blocks() {
        match block.info.as_str() {
            "yaml" | "yml" if !block.text().contains("instances:") => problems.push(format!(
                "{}:{}: a YAML block that is not the agent config example: no test \
                 checks it. Add a test in tests/readme_commands/ that feeds it to the \
                 program that reads it.",
                block.file, block.fence_line
            )),
            "rust" => rust_blocks += 1,
            _ => {}
        }
    }
    if rust_blocks != 1 {
        problems.push(format!(
            "README.md and docs/ have {rust_blocks} Rust blocks; tests/readme_commands/ compiles \
             exactly one (the simulated model example, `model_api_example` in \
             model_example.rs): add a compiled copy of any new one there"
        ));
    }
    // What the README itself must show in a code block: how to deploy (the
    // three commands), the demo and the tests.
    let readme: Vec<CommandLine> = commands
        .iter()
        .filter(|c| c.file == "README.md")
        .cloned()
        .collect();
    let required: [Requirement; 5] = [
        ("juju deploy", |k| matches!(k, Kind::Deploy { .. })),
        (
            "juju integrate k8s-vip:juju-info ...:juju-info",
            |k| matches!(k, Kind::Integrate { a, b } if a.1 == "juju-info" && b.1 == "juju-info"),
        ),
        (
            "juju config k8s-vip virtual-ip=...",
            |k| matches!(k, Kind::Config { pairs } if pairs.iter().any(|(key, _)| key == "virtual-ip")),
        ),
        (
            "make demo",
            |k| matches!(k, Kind::Make { args } if args == &["demo"]),
        ),
        (
            "make test",
            |k| matches!(k, Kind::Make { args } if args == &["test"]),
        ),
    ];
    for (name, want) in required {
        if !shows(&readme, want) {
            problems.push(format!(
                "README.md no longer shows `{name}` in a code block"
            ));
        }
    }
    // What the docs must show somewhere (they lost a part of the reference).
    let required: [Requirement; 2] = [
        ("juju run", |k| matches!(k, Kind::Run { .. })),
        ("k8s-vip agent --check", |k| matches!(k, Kind::AgentCheck)),
    ];
    for (name, want) in required {
        if !shows(&commands, want) {
            problems.push(format!("docs/ no longer show `{name}` in a code block"));
        }
    }
    assert!(
        problems.is_empty(),
        "{} documented command(s) not verified:\n{}",
        problems.len(),
        problems.join("\n")
    );
    eprintln!(
        "{} commands in README.md and docs/, each run by a test",
        commands.len()
    );
    if std::env::var_os("README_COMMANDS_LIST").is_some() {
        for c in &commands {
            eprintln!(
                "{}:{} {:?} <- {}",
                c.file,
                c.line,
                classify(c).map(|k| format!("{k:?}").chars().take(60).collect::<String>()),
                c.text
            );
        }
    }
}
