#!/usr/bin/env python3
"""Baseline for the hook-cost benchmark: a minimal Python ops charm.

It does what k8s-vip's reconcile does on every hook, the way a typical ops
charm would write it: read the config, leadership, network and every relation
it serves (peers, lb-consumers, loadbalancer, website), look at the unit
(routes, services, the agent's state file), render the agent config with one
Jinja2 template, write what changed, publish its peer data and set its status.
It is not a working VIP charm (no validation, no VRRP), only the same hook-tool
calls and the same amount of work, so that `make bench` compares the cost of
the runtime (Rust binary vs Python + ops), not of different jobs.
"""

import hashlib
import json
import os
import subprocess
import zlib

import jinja2
import ops

ROOT = os.environ.get("K8S_VIP_ROOT", "/")
AGENT_CONFIG = "/etc/k8s-vip/agent.yaml"
STATE_FILE = "/run/k8s-vip/state.json"


def rooted(path):
    """A unit path under K8S_VIP_ROOT, as k8s-vip resolves it."""
    return os.path.join(ROOT, path.lstrip("/"))


def read(path):
    try:
        with open(rooted(path)) as f:
            return f.read()
    except OSError:
        return None


def write_if_changed(path, content):
    if read(path) == content:
        return False
    full = rooted(path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    tmp = full + ".tmp"
    with open(tmp, "w") as f:
        f.write(content)
    os.replace(tmp, full)
    return True


def systemctl(*args):
    return subprocess.run(["systemctl", *args], capture_output=True, text=True).returncode == 0


class BaselineCharm(ops.CharmBase):
    """One holistic reconcile for every event, as k8s-vip does."""

    def __init__(self, framework):
        super().__init__(framework)
        for event in (
            self.on.install,
            self.on.config_changed,
            self.on.update_status,
            self.on.upgrade_charm,
            self.on.leader_elected,
            self.on.cluster_relation_joined,
            self.on.cluster_relation_changed,
            self.on.cluster_relation_departed,
        ):
            framework.observe(event, self._reconcile)

    def _reconcile(self, _event):
        config = dict(self.config)
        leader = self.unit.is_leader()
        binding = self.model.get_binding("cluster")
        network = binding.network if binding else None
        address = str(network.ingress_address) if network else None
        interface = network.interfaces[0].name if network and network.interfaces else "eth0"
        read("/proc/net/route")
        read("/proc/net/ipv6_route")

        peers = {}
        cluster = self.model.get_relation("cluster")
        own = {}
        if cluster:
            for unit in cluster.units:
                peers[unit.name] = dict(cluster.data[unit])
            own = dict(cluster.data[self.unit])
        for rel in self.model.relations["lb-consumers"]:
            dict(rel.data[rel.app]) if rel.app else {}
            for unit in rel.units:
                dict(rel.data[unit])
            if leader:
                dict(rel.data[self.app])
        for endpoint in ("loadbalancer", "website"):
            for rel in self.model.relations[endpoint]:
                dict(rel.data[self.unit])

        active = systemctl("is-active", "--quiet", "k8s-vip-agent.service")
        systemctl("is-enabled", "--quiet", "k8s-vip-agent.service")
        systemctl("is-active", "--quiet", "keepalived.service")
        systemctl("is-enabled", "--quiet", "keepalived.service")
        subprocess.run(["dpkg-query", "-W", "-f=${Status}", "keepalived"], capture_output=True)
        state = read(STATE_FILE)
        state = json.loads(state) if state else None

        vips = str(config.get("virtual-ip") or "").split()
        if not vips:
            self.unit.status = ops.BlockedStatus("set virtual-ip")
            return
        addresses = sorted([a.get("address") for a in peers.values() if a.get("address")] + [address])
        priority = 250 - addresses.index(address) if address in addresses else 100
        vrid = config.get("virtual-router-id") or zlib.crc32(
            f"{self.model.name}/{self.app.name}".encode()
        ) % 255 + 1
        instances = []
        for n, vip in enumerate(vips):
            instances.append(
                {
                    "name": f"vip{n}",
                    "interface": interface,
                    "vrid": vrid + n,
                    "version": config.get("vrrp-version", 3),
                    "priority": priority,
                    "advert_interval_ms": int(float(config.get("advert-interval", 0.25)) * 1000),
                    "preempt": "true" if config.get("preempt") else "false",
                    "vip_cidr": vip if "/" in vip else vip + "/24",
                    "unicast_peers": [a for a in addresses if a != address],
                    "unicast_source": address,
                    "garp_refresh_s": config.get("garp-refresh", 60),
                    "checks": [{"http": "https://127.0.0.1:6443/livez", "insecure-tls": True}],
                }
            )
        env = jinja2.Environment(loader=jinja2.FileSystemLoader(os.path.join(self.charm_dir, "templates")))
        content = env.get_template("agent.yaml.j2").render(
            control_socket="/run/k8s-vip/agent.sock",
            state_file=STATE_FILE,
            pause_file="/var/lib/k8s-vip/paused",
            instances=instances,
        )
        if write_if_changed(AGENT_CONFIG, content) and active:
            systemctl("reload", "k8s-vip-agent.service")

        want = {"address": address or "", "interface": interface}
        if cluster and any(own.get(k) != v for k, v in want.items()):
            cluster.data[self.unit].update(want)

        digest = hashlib.sha256(content.encode()).hexdigest()[:8]
        if state:
            self.unit.status = ops.ActiveStatus(f"agent state known ({digest})")
        else:
            self.unit.status = ops.WaitingStatus("agent starting")
        if leader:
            self.app.status = ops.ActiveStatus(f"VIP {' '.join(vips)}")


if __name__ == "__main__":
    ops.main(BaselineCharm)
