//! One VRRP group of two units in a network-namespace lab: one program as
//! master, the other as backup — k8s-vip's agent and keepalived (VRRPv3,
//! unicast, 100 ms adverts, one IPv4 VIP, no health checks), wire compatible.
//!
//! Why it exists: measuring a program's footprint (or its syscalls) needs a
//! master sending adverts and a backup receiving them, yet with two instances
//! of the same binary on one machine they share pages and each one's PSS
//! shrinks, which no real unit (one agent per machine) sees. Pairing the two
//! programs gives each role with exactly one instance of each binary running;
//! swapping the roles run by run measures both programs in both roles.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context as _};

use crate::support::juju::CHARM_BINARY;
use crate::support::netns::{wait_for, Lab, Proc};

/// The VIP of the group.
pub const VIP: &str = "192.0.2.100";
/// Advert interval of both programs.
pub const ADVERT_MS: u64 = 100;

/// The two programs compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Program {
    /// k8s-vip's agent (`k8s-vip agent`).
    K8sVip,
    /// keepalived with only its VRRP process (parent + VRRP child).
    Keepalived,
    /// k8s-vip's agent with BFD 20 ms × 3 to its peer; FRR's bfdd runs
    /// beside keepalived as the BFD partner (keepalived speaks no BFD).
    K8sVipBfd,
}

impl Program {
    /// The name in tables and result files.
    pub fn label(self) -> &'static str {
        match self {
            Program::K8sVip => "k8s-vip",
            Program::Keepalived => "keepalived",
            Program::K8sVipBfd => "k8s-vip+bfd",
        }
    }

    /// The other program.
    pub fn other(self) -> Program {
        match self {
            Program::K8sVip | Program::K8sVipBfd => Program::Keepalived,
            Program::Keepalived => Program::K8sVip,
        }
    }

    /// Process name (comm) of the program's processes.
    fn comm(self) -> &'static str {
        match self {
            Program::K8sVip | Program::K8sVipBfd => "k8s-vip",
            Program::Keepalived => "keepalived",
        }
    }
}

/// One running program in the group.
pub struct Agent {
    /// Which program.
    pub program: Program,
    proc: Proc,
}

impl Agent {
    /// The program's PIDs: the process `ip netns exec` became and its
    /// descendants named like the program (keepalived's VRRP child).
    pub fn pids(&self) -> Vec<u32> {
        let mut pids = vec![self.proc.pid()];
        let mut i = 0;
        while i < pids.len() {
            pids.extend(children(pids[i]));
            i += 1;
        }
        pids.retain(|p| comm(*p) == self.program.comm());
        pids
    }

    /// What it printed.
    pub fn log(&self) -> String {
        self.proc.log()
    }
}

/// Direct children of `pid` (all its threads').
fn children(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
        .flat_map(|text| {
            text.split_whitespace()
                .filter_map(|p| p.parse::<u32>().ok())
                .collect::<Vec<_>>()
        })
        .collect()
}

fn comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// A running group: `master` on unit 0 (priority 150), the other program as
/// backup on unit 1 (priority 100).
pub struct Pair<'a> {
    lab: &'a Lab,
    /// The master.
    pub master: Agent,
    /// The backup.
    pub backup: Agent,
    /// FRR's bfdd beside keepalived when the k8s-vip side runs BFD.
    bfdd: Option<(Proc, tempfile::TempDir)>,
}

impl<'a> Pair<'a> {
    /// Starts `master` alone, waits until it holds the VIP, then starts the
    /// backup and waits `settle` for start-up bursts (GARPs) to pass.
    pub fn start(
        lab: &'a Lab,
        master: Program,
        dir: &Path,
        settle: Duration,
    ) -> anyhow::Result<Pair<'a>> {
        Pair::start_with(lab, master, master.other(), dir, settle)
    }

    /// [`Pair::start`] with the backup named (k8s-vip with BFD as backup).
    pub fn start_with(
        lab: &'a Lab,
        master: Program,
        backup: Program,
        dir: &Path,
        settle: Duration,
    ) -> anyhow::Result<Pair<'a>> {
        let bfd_unit = [master, backup]
            .iter()
            .position(|p| *p == Program::K8sVipBfd);
        let bfdd = match bfd_unit {
            Some(u) => Some(start_bfdd(lab, 1 - u)?),
            None => None,
        };
        let m = spawn(lab, master, 0, 150, dir)?;
        if wait_for(Duration::from_secs(10), || lab.holders(VIP) == vec![0]).is_none() {
            bail!(
                "{} as master: VIP not on unit 0 after 10 s (holders {:?}); log:\n{}",
                master.label(),
                lab.holders(VIP),
                m.log()
            );
        }
        let b = spawn(lab, backup, 1, 100, dir)?;
        let pair = Pair {
            lab,
            master: m,
            backup: b,
            bfdd,
        };
        if let Some(u) = bfd_unit {
            let sock = dir.join(format!("{}-{u}/agent.sock", Program::K8sVipBfd.label()));
            if wait_for(Duration::from_secs(10), || bfd_up(&sock)).is_none() {
                bail!("k8s-vip's BFD session to bfdd did not come up in 10 s");
            }
        }
        std::thread::sleep(settle);
        pair.check_master()?;
        if pair.backup.pids().is_empty() {
            bail!(
                "{} as backup is not running; log:\n{}",
                master.other().label(),
                pair.backup.log()
            );
        }
        Ok(pair)
    }

    /// Fails unless unit 0 alone holds the VIP (the roles held).
    pub fn check_master(&self) -> anyhow::Result<()> {
        let holders = self.lab.holders(VIP);
        if holders != vec![0] {
            bail!(
                "{} master / {} backup: VIP holders {holders:?}, expected unit 0 alone; logs:\n{}\n---\n{}",
                self.master.program.label(),
                self.backup.program.label(),
                self.master.log(),
                self.backup.log()
            );
        }
        Ok(())
    }

    /// Stops both (SIGTERM, the backup first), waiting up to 3 s each; the
    /// lab SIGKILLs whatever is left when it is dropped.
    pub fn stop(mut self) {
        for agent in [&mut self.backup, &mut self.master] {
            agent.proc.signal(nix::sys::signal::Signal::SIGTERM);
            let _ = agent.proc.wait_timeout(Duration::from_secs(3));
        }
        if let Some((mut p, _dir)) = self.bfdd.take() {
            p.kill();
        }
    }
}

/// Whether the agent behind `sock` shows its BFD session Up.
fn bfd_up(sock: &Path) -> bool {
    let req = serde_json::json!({"cmd": "status"});
    k8s_vip::agent::client::request(sock, &req, Duration::from_secs(1))
        .map(|v| v["instances"][0]["bfd"][0]["state"] == "up")
        .unwrap_or(false)
}

/// FRR's bfdd (standalone) on unit `i`, 20 ms × 3 to the other unit, in a
/// directory FRR (which drops to user frr) can write to.
fn start_bfdd(lab: &Lab, i: usize) -> anyhow::Result<(Proc, tempfile::TempDir)> {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::Builder::new()
        .prefix("k8s-vip-fp-bfdd-")
        .tempdir()?;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777))?;
    let (local, peer) = (lab.unit(i).ipv4, lab.unit(1 - i).ipv4);
    let d = dir.path().display().to_string();
    write(
        &dir.path().join("bfdd.conf"),
        &format!(
            "bfd\n peer {peer} local-address {local}\n  receive-interval 20\n  \
             transmit-interval 20\n  detect-multiplier 3\n !\n!\n"
        ),
    )?;
    let (conf, pid, ctl) = (
        format!("{d}/bfdd.conf"),
        format!("{d}/bfdd.pid"),
        format!("{d}/bfdd.sock"),
    );
    let proc = lab.spawn_logged(
        lab.unit(i),
        &format!("bfdd-unit{i}"),
        &[
            "/usr/lib/frr/bfdd",
            "-f",
            &conf,
            "--vty_socket",
            &d,
            "-i",
            &pid,
            "--bfdctl",
            &ctl,
            "--log",
            "stdout",
        ],
    );
    Ok((proc, dir))
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// Starts `program` on unit `i` with `priority`, peering with the other unit.
fn spawn(
    lab: &Lab,
    program: Program,
    i: usize,
    priority: u32,
    dir: &Path,
) -> anyhow::Result<Agent> {
    let d: PathBuf = dir.join(format!("{}-{i}", program.label()));
    std::fs::create_dir_all(&d)?;
    let src = lab.unit(i).ipv4;
    let peer = lab.unit(1 - i).ipv4;
    let log_name = format!("{}-unit{i}", program.label());
    let proc = match program {
        Program::K8sVip | Program::K8sVipBfd => {
            let mut config = format!(
                "control-socket: {d}/agent.sock\nstate-file: {d}/state.json\npause-file: {d}/paused\n\
                 instances:\n  - name: api\n    interface: eth0\n    vrid: 51\n    version: 3\n    \
                 priority: {priority}\n    advert-interval-ms: {ADVERT_MS}\n    preempt: false\n    \
                 vips: [\"{VIP}/24\"]\n    unicast-peers: [\"{peer}\"]\n    unicast-source: \"{src}\"\n    \
                 garp: {{repeat: 5, interval-ms: 100, refresh-s: 60}}\n    checks: []\n",
                d = d.display(),
            );
            if program == Program::K8sVipBfd {
                let theirs = 250 - priority;
                config += &format!(
                    "    bfd: {{interval-ms: 20, multiplier: 3, peer-priorities: {{\"{peer}\": {theirs}}}}}\n"
                );
            }
            let file = d.join("agent.yaml");
            write(&file, &config)?;
            let file = file.display().to_string();
            lab.spawn_logged(
                lab.unit(i),
                &log_name,
                &[CHARM_BINARY, "agent", "--config", &file],
            )
        }
        Program::Keepalived => {
            let config = format!(
                "global_defs {{\n  vrrp_version 3\n  router_id ka{i}\n}}\n\
                 vrrp_instance api {{\n  state BACKUP\n  interface eth0\n  virtual_router_id 51\n  \
                 priority {priority}\n  advert_int {advert}\n  nopreempt\n  unicast_src_ip {src}\n  \
                 unicast_peer {{\n    {peer}\n  }}\n  virtual_ipaddress {{\n    {VIP}/24\n  }}\n}}\n",
                advert = ADVERT_MS as f64 / 1000.0,
            );
            let file = d.join("keepalived.conf");
            write(&file, &config)?;
            let arg = |name: &str| d.join(name).display().to_string();
            let (conf, pid, vrrp) = (arg("keepalived.conf"), arg("k.pid"), arg("v.pid"));
            lab.spawn_logged(
                lab.unit(i),
                &log_name,
                &[
                    "keepalived",
                    "--dont-fork",
                    "--log-console",
                    "--vrrp",
                    "--use-file",
                    &conf,
                    "--pid",
                    &pid,
                    "--vrrp_pid",
                    &vrrp,
                ],
            )
        }
    };
    Ok(Agent { program, proc })
}
