//! The `k8s-vip` binary: the charm's hook entry point (via `dispatch`), the VIP
//! agent daemon, and the operator CLI that talks to a running agent.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Default path of the agent's control socket; the charm renders the same.
const DEFAULT_SOCKET: &str = "/run/k8s-vip/agent.sock";

#[derive(Parser)]
#[command(
    name = "k8s-vip",
    version,
    about = "Highly available virtual IPs for Kubernetes, as a Juju charm",
    long_about = "Highly available virtual IPs for Kubernetes, as a Juju subordinate charm.\n\n\
        Run without a subcommand (as Juju does through `dispatch`), it handles the hook or \
        action named by JUJU_DISPATCH_PATH or by the name it was called under. The other \
        subcommands run the VIP agent and talk to a running one."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Handle one Juju hook or action (the default when run by `dispatch`).
    Hook {
        /// Hook or action to run, e.g. `config-changed` or `actions/failover`;
        /// defaults to JUJU_DISPATCH_PATH, then to the program name.
        name: Option<String>,
    },
    /// Run the VIP agent (VRRP) in the foreground.
    Agent {
        /// The agent's YAML config file (schema: docs/reference/agent-config.md).
        #[arg(long, short = 'c', default_value = "/etc/k8s-vip/agent.yaml")]
        config: PathBuf,
        /// Validate the config file and exit without running.
        #[arg(long)]
        check: bool,
    },
    /// Show the state of every VRRP instance of a running agent.
    Status {
        /// The agent's control socket.
        #[arg(long, default_value = DEFAULT_SOCKET)]
        socket: PathBuf,
        /// Print the stable JSON document instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Make this unit give up the VIP (step down) so another unit takes it.
    Failover {
        /// The agent's control socket.
        #[arg(long, default_value = DEFAULT_SOCKET)]
        socket: PathBuf,
        /// Seconds during which this unit will not take the VIP back.
        #[arg(long, default_value_t = 60)]
        hold: u64,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Release the VIP and stay out of elections until `resume` (survives restarts).
    Pause {
        /// The agent's control socket.
        #[arg(long, default_value = DEFAULT_SOCKET)]
        socket: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Take part in elections again after `pause`.
    Resume {
        /// The agent's control socket.
        #[arg(long, default_value = DEFAULT_SOCKET)]
        socket: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Probe a health-check target once, without a shell (keepalived's
    /// vrrp_script for `tcp:` checks): exit 0 when it answers.
    Probe {
        /// The target: tcp:ADDRESS:PORT (IPv6: tcp:[ADDRESS]:PORT).
        target: String,
        /// Milliseconds the connect may take.
        #[arg(long, default_value_t = k8s_vip::health_check::probe::DEFAULT_TIMEOUT_MS)]
        timeout_ms: u64,
    },
    /// Render the files the charm would write for a given set of inputs, without Juju.
    Render(k8s_vip::charm::render_cli::RenderArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        None => return k8s_vip::juju::dispatch::run(None, k8s_vip::charm::handle),
        Some(Command::Hook { name }) => {
            return k8s_vip::juju::dispatch::run(name, k8s_vip::charm::handle)
        }
        Some(Command::Agent { config, check }) => k8s_vip::agent::run(&config, check),
        Some(Command::Status { socket, json }) => k8s_vip::agent::client::status(&socket, json),
        Some(Command::Failover { socket, hold, json }) => {
            k8s_vip::agent::client::failover(&socket, hold, json)
        }
        Some(Command::Pause { socket, json }) => k8s_vip::agent::client::pause(&socket, json),
        Some(Command::Resume { socket, json }) => k8s_vip::agent::client::resume(&socket, json),
        Some(Command::Probe { target, timeout_ms }) => {
            k8s_vip::health_check::probe::tcp(&target, timeout_ms).map_err(anyhow::Error::msg)
        }
        Some(Command::Render(args)) => k8s_vip::charm::render_cli::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("k8s-vip: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
