"""A small network of hosts on this machine, for fault tests.

One network namespace per host, each with one veth link into a "switch"
namespace that holds two bridges. Every host starts on bridge A; a
partition moves one side's ports to bridge B, and healing moves them back,
so the two sides lose each other exactly as if a switch split. `tc netem`
on each host's link adds loss, delay, jitter, reordering or duplication.
Nodes run as processes inside the host namespaces (the Rust example node,
`polyglot_peer`, speaking the line protocol of tests/polyglot/README.md).
Everything it creates carries a per-run prefix and is removed on close,
also after a failure. All traffic stays inside these namespaces.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from lineproc import LineProcess

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PEER = os.path.join(ROOT, "target", "release", "polyglot_peer")


def why_not() -> str | None:
    """Why namespaces cannot be used here, or None when they can."""
    if os.geteuid() != 0:
        return "needs root to create network namespaces"
    if shutil.which("ip") is None or shutil.which("tc") is None:
        return "needs iproute2 (ip, tc); run as root on Debian to have it installed"
    if not os.path.exists(PEER):
        return f"needs {PEER}: cargo build --release -p rumour-demo --bin polyglot_peer"
    probe = f"rmprobe{uuid.uuid4().hex[:6]}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"cannot create a network namespace: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def why_no_netem() -> str | None:
    """Why `tc netem` cannot shape links here, or None when it can."""
    probe = f"rmprobe{uuid.uuid4().hex[:6]}"
    if subprocess.run(["ip", "netns", "add", probe], capture_output=True).returncode != 0:
        return "cannot create a network namespace"
    try:
        subprocess.run(["ip", "-n", probe, "link", "set", "lo", "up"], capture_output=True)
        tc = ["ip", "netns", "exec", probe, "tc", "qdisc", "add", "dev", "lo", "root", "netem", "loss", "1%"]
        done = subprocess.run(tc, capture_output=True, text=True)
        if done.returncode != 0:
            return f"this kernel cannot run tc netem (sch_netem): {done.stderr.strip()}"
        return None
    finally:
        subprocess.run(["ip", "netns", "del", probe], capture_output=True)


def sh(*args: str) -> None:
    done = subprocess.run(list(args), capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {done.stderr.strip()}")


class Node(LineProcess):
    """One rumour node process in a host namespace (see tests/lineproc.py)."""

    def __init__(self, net: Network, host: int, name: str, seed: str, preset: str) -> None:
        self.host = host
        bind = f"{net.ip(host)}:7946"
        argv = ["ip", "netns", "exec", net.ns(host), PEER, name, seed, bind, preset]
        super().__init__(name, argv, stderr=subprocess.DEVNULL)

    def members(self) -> list[str]:
        answer = self.ask("members", "members ").split(" ", 1)
        return answer[1].split(",") if len(answer) > 1 and answer[1] else []

    def member(self, name: str) -> tuple[str, int]:
        parts = self.ask(f"member {name}", f"member {name} ").split(" ")
        return (parts[2], int(parts[3])) if len(parts) == 4 else ("none", 0)

    def pause(self) -> None:
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.proc.send_signal(signal.SIGCONT)


class Network:
    """`hosts` namespaces on two bridges; use as a context manager."""

    def __init__(self, hosts: int) -> None:
        self.tag = uuid.uuid4().hex[:5]
        self.hosts = hosts
        self.nodes: list[Node] = []
        self.created: list[str] = []
        self.blackholes: list[tuple[int, int]] = []

    def ns(self, host: int) -> str:
        return f"rm{self.tag}h{host}"

    @property
    def switch(self) -> str:
        return f"rm{self.tag}sw"

    def ip(self, host: int) -> str:
        return f"10.77.0.{host + 1}"

    def __enter__(self) -> Network:
        try:
            sh("ip", "netns", "add", self.switch)
            self.created.append(self.switch)
            for bridge in ("bra", "brb"):
                sh("ip", "-n", self.switch, "link", "add", bridge, "type", "bridge")
                sh("ip", "-n", self.switch, "link", "set", bridge, "up")
            for h in range(self.hosts):
                ns = self.ns(h)
                sh("ip", "netns", "add", ns)
                self.created.append(ns)
                sh(
                    "ip",
                    "link",
                    "add",
                    f"rm{self.tag}v{h}",
                    "type",
                    "veth",
                    "peer",
                    "name",
                    f"rm{self.tag}p{h}",
                )
                sh("ip", "link", "set", f"rm{self.tag}v{h}", "netns", ns, "name", "eth0")
                sh("ip", "link", "set", f"rm{self.tag}p{h}", "netns", self.switch, "name", f"p{h}")
                sh("ip", "-n", self.switch, "link", "set", f"p{h}", "master", "bra", "up")
                sh("ip", "-n", ns, "addr", "add", f"{self.ip(h)}/24", "dev", "eth0")
                sh("ip", "-n", ns, "link", "set", "eth0", "up")
                sh("ip", "-n", ns, "link", "set", "lo", "up")
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for node in self.nodes:
            node.kill()
        for ns in reversed(self.created):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        self.created = []

    def start(self, host: int, seed: str = "-", preset: str = "lan", name: str | None = None) -> Node:
        node = Node(self, host, name or f"h{host}", seed, preset)
        self.nodes.append(node)
        return node

    def start_all(self, preset: str = "lan") -> list[Node]:
        """A node on every host, each joining through the first."""
        first = self.start(0, preset=preset)
        return [first] + [self.start(h, first.addr, preset=preset) for h in range(1, self.hosts)]

    def netem(self, *spec: str, hosts: list[int] | None = None) -> None:
        """Applies `tc netem SPEC` to every host's link (or those listed)."""
        for h in hosts if hosts is not None else range(self.hosts):
            sh(
                "ip",
                "netns",
                "exec",
                self.ns(h),
                "tc",
                "qdisc",
                "replace",
                "dev",
                "eth0",
                "root",
                "netem",
                *spec,
            )

    def clear_netem(self) -> None:
        for h in range(self.hosts):
            subprocess.run(
                ["ip", "netns", "exec", self.ns(h), "tc", "qdisc", "del", "dev", "eth0", "root"],
                capture_output=True,
            )

    def partition(self, side_b: list[int]) -> None:
        """Moves `side_b`'s hosts to the other bridge: the two sides cannot reach each other."""
        for h in side_b:
            sh("ip", "-n", self.switch, "link", "set", f"p{h}", "master", "brb")

    def blackhole(self, src: int, dst: int) -> None:
        """A one-way cut: `src` can no longer send to `dst` (`dst` can still send to `src`)."""
        sh("ip", "-n", self.ns(src), "route", "add", "blackhole", f"{self.ip(dst)}/32")
        self.blackholes.append((src, dst))

    def clear_blackholes(self) -> None:
        for src, dst in self.blackholes:
            subprocess.run(
                ["ip", "-n", self.ns(src), "route", "del", "blackhole", f"{self.ip(dst)}/32"],
                capture_output=True,
            )
        self.blackholes = []

    def heal(self) -> None:
        for h in range(self.hosts):
            sh("ip", "-n", self.switch, "link", "set", f"p{h}", "master", "bra")
