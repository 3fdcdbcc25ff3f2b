"""A small network of hosts on this machine, for fault tests.

One network namespace per host, each with one veth link into a "switch"
namespace that holds two bridges. Every host starts on bridge A; a
partition moves one side's ports to bridge B, and healing moves them back,
so the two sides lose each other exactly as if a switch split. Loss,
delay, jitter, reordering and duplication come from shaper.py, one per
host, fed by an NFQUEUE rule in the host's namespace (this works on
kernels without `sch_netem`).
Nodes run as processes inside the host namespaces (the Rust example node,
`polyglot_peer`, speaking the line protocol of tests/polyglot/README.md);
`spawn` runs any other line-protocol process in a host's namespace (a
Python node, a flood of connections), killed on close like the nodes.
Host names: `set_name` writes an /etc/hosts of the run's own in every
host namespace (`ip netns exec` bind-mounts /etc/netns/<namespace>/hosts
over /etc/hosts), edited in place so that running nodes see a change.
Everything it creates carries a per-run prefix and is removed on close,
also after a failure. All traffic stays inside these namespaces.

A run killed with SIGKILL cannot close. What it leaves: its namespaces
(mounted under /var/run/netns, with the NFQUEUE rules inside them; the
harness installs no rule outside a namespace), /etc/netns folders, CPU
cgroups (`rumour-<tag>-<node>`) with the busy loop in them, and processes:
nodes and shapers exit when their stdin closes, but a node stopped by a
pause or a starvation stays, as does the busy loop of `throttle`. So each
run first writes its tag and owner (pid and start time) to a registry,
/run/rumour-faults/<tag> (tmpfs, emptied at boot), before it creates
anything, and every new run (and `python netns.py --clean`) removes the
leftovers of each registered run whose owner is gone: it kills the
processes inside its namespaces and cgroups, then deletes the namespaces,
folders, stray veth ends and cgroups. A live run is never touched, whatever
process started it. Namespaces named like a run's without a registry entry
(from a harness that predates the registry, or an interrupted probe) are
removed once all are older than UNREGISTERED_AGE_S and hold no process
that is running (only stopped ones or none): such a harness, while alive,
keeps its nodes running (they exit on their own once it dies, unless
stopped), and starts them within seconds of making the namespaces.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from lineproc import LineProcess

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PEER = os.path.join(ROOT, "target", "release", "polyglot_peer")
SHAPER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "shaper.py")
SUBNET = "10.77.0"
PORT = 7946
NETNS_ETC = "/etc/netns"
NETNS_RUN = "/var/run/netns"  # where `ip netns add` mounts each namespace
REGISTRY = "/run/rumour-faults"  # one file per run, named by its tag: "PID START_TIME"
# Well beyond the seconds a harness without the registry took from making
# a namespace to starting a node in it.
UNREGISTERED_AGE_S = 600
RUN_NAMESPACE = re.compile(r"rm([0-9a-f]{5})(?:sw|h[0-9]+)$")
PROBE_NAMESPACE = re.compile(r"rmprobe[0-9a-f]{6}$")
RUN_CGROUP = re.compile(r"rumour-([0-9a-f]{5})-")
RUN_VETH = re.compile(r"rm([0-9a-f]{5})[vp][0-9]+$")


def install_missing_tools() -> None:
    """Installs iproute2 and iptables from Debian when root and they are missing."""
    if shutil.which("ip") and iptables():
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "update", "-q"], capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-q", "iproute2", "iptables"], capture_output=True)


def why_not() -> str | None:
    """Why namespaces and the Rust node cannot be used here, or None when they can."""
    reason = why_no_namespaces()
    if reason is None and not os.path.exists(PEER):
        return f"needs {PEER}: cargo build --release -p rumour-demo --bin polyglot_peer"
    return reason


def why_no_namespaces() -> str | None:
    """Why network namespaces cannot be made here, or None when they can
    (for tests whose nodes are not the Rust example node)."""
    if os.geteuid() != 0:
        return "needs root to create network namespaces"
    install_missing_tools()
    if shutil.which("ip") is None:
        return "needs iproute2 (ip); run as root on Debian to have it installed (.ci/setup)"
    probe = f"rmprobe{uuid.uuid4().hex[:6]}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"cannot create a network namespace: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def iptables() -> str | None:
    """The iptables that drives x_tables directly (NFQUEUE needs it), if any."""
    return shutil.which("iptables-legacy") or shutil.which("iptables")


def why_no_shaping() -> str | None:
    """Why links cannot be shaped here (tests/faults/shaper.py), or None when they can."""
    if iptables() is None:
        return "needs iptables for NFQUEUE; run as root on Debian to have it installed (.ci/setup)"
    probe = f"rmprobe{uuid.uuid4().hex[:6]}"
    if subprocess.run(["ip", "netns", "add", probe], capture_output=True).returncode != 0:
        return "cannot create a network namespace"
    try:
        rule = [
            "ip",
            "netns",
            "exec",
            probe,
            str(iptables()),
            "-A",
            "OUTPUT",
            "-j",
            "NFQUEUE",
            "--queue-num",
            "0",
        ]
        done = subprocess.run(rule, capture_output=True, text=True)
        if done.returncode != 0:
            return f"this kernel cannot queue packets to user space (NFQUEUE): {done.stderr.strip()}"
        return None
    finally:
        subprocess.run(["ip", "netns", "del", probe], capture_output=True)


def cpu_cgroups() -> tuple[str, int] | None:
    """Where CPU quotas can be set (directory, cgroup version), or None."""
    unified = "/sys/fs/cgroup/cgroup.controllers"
    if os.path.exists(unified) and "cpu" in open(unified).read().split():
        return "/sys/fs/cgroup", 2
    if os.path.exists("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"):
        return "/sys/fs/cgroup/cpu", 1
    return None


def why_no_throttling() -> str | None:
    """Why a process's CPU cannot be capped here, or None when it can."""
    return None if cpu_cgroups() is not None else "needs the cgroup cpu controller (CPU quotas)"


def sh(*args: str) -> None:
    done = subprocess.run(list(args), capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {done.stderr.strip()}")


def process_start(pid: int) -> tuple[str, int] | None:
    """A process's state letter and start time (clock ticks after boot), or
    None when there is no such process. The start time tells a pid reused
    by a later process from the one recorded."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[0], int(fields[19])


def register_run(tag: str) -> None:
    os.makedirs(REGISTRY, exist_ok=True)
    found = process_start(os.getpid())
    with open(os.path.join(REGISTRY, tag), "w") as entry:
        entry.write(f"{os.getpid()} {found[1] if found else 0}\n")


def unregister_run(tag: str) -> None:
    try:
        os.remove(os.path.join(REGISTRY, tag))
    except FileNotFoundError:
        pass


def registered_owners() -> dict[str, bool]:
    """Every registered tag, and whether the process that registered it is alive."""
    owners: dict[str, bool] = {}
    for tag in os.listdir(REGISTRY):
        if tag.startswith("."):
            continue
        try:
            with open(os.path.join(REGISTRY, tag)) as entry:
                pid, start = (int(word) for word in entry.read().split())
        except (OSError, ValueError):
            owners[tag] = False  # half written by an owner killed right then
            continue
        found = process_start(pid)
        owners[tag] = found is not None and found[0] not in "ZX" and found[1] == start  # a zombie is dead
    return owners


def processes_by_namespace() -> dict[tuple[int, int], list[tuple[int, str]]]:
    """Every process (pid, state letter), by the identity of its network namespace."""
    found: dict[tuple[int, int], list[tuple[int, str]]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            ns = os.stat(f"/proc/{entry}/ns/net")
        except OSError:
            continue
        started = process_start(int(entry))
        if started is not None:
            found.setdefault((ns.st_dev, ns.st_ino), []).append((int(entry), started[0]))
    return found


@dataclasses.dataclass
class Leftovers:
    """What one run made that is still there: namespaces, /etc/netns
    folders, cgroups, and veth ends still in this namespace."""

    namespaces: list[str] = dataclasses.field(default_factory=list)
    folders: list[str] = dataclasses.field(default_factory=list)
    cgroups: list[str] = dataclasses.field(default_factory=list)
    veths: list[str] = dataclasses.field(default_factory=list)


def find_leftovers() -> dict[str, Leftovers]:
    """Everything named like a run's, by tag (a probe namespace is its own tag).
    Namespaces are listed after the rest: a harness makes its switch
    namespace before anything else, so a piece seen here whose run has no
    namespace listed belongs to a run that is gone."""
    runs: dict[str, Leftovers] = {}
    veths = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    for line in veths.splitlines():
        name = line.split(": ", 2)[1].split("@")[0] if ": " in line else ""
        if match := RUN_VETH.match(name):
            runs.setdefault(match[1], Leftovers()).veths.append(name)
    cgroups = cpu_cgroups()
    for name in os.listdir(cgroups[0]) if cgroups else []:
        if match := RUN_CGROUP.match(name):
            runs.setdefault(match[1], Leftovers()).cgroups.append(os.path.join(cgroups[0], name))
    for name in os.listdir(NETNS_ETC) if os.path.isdir(NETNS_ETC) else []:
        if match := RUN_NAMESPACE.match(name):
            runs.setdefault(match[1], Leftovers()).folders.append(os.path.join(NETNS_ETC, name))
    for name in os.listdir(NETNS_RUN) if os.path.isdir(NETNS_RUN) else []:
        if match := RUN_NAMESPACE.match(name):
            runs.setdefault(match[1], Leftovers()).namespaces.append(name)
        elif PROBE_NAMESPACE.match(name):
            runs.setdefault(name, Leftovers()).namespaces.append(name)
    return runs


def namespace_identity(name: str) -> tuple[int, int] | None:
    try:
        found = os.stat(os.path.join(NETNS_RUN, name))
    except OSError:
        return None
    return found.st_dev, found.st_ino


def namespace_age_s(name: str) -> float:
    """Seconds since the namespace was made (its nsfs inode's time); 0 when
    it is gone already, as young as can be, so never taken for a dead run's."""
    try:
        return time.time() - os.stat(os.path.join(NETNS_RUN, name)).st_mtime
    except OSError:
        return 0.0


def has_exited(pid: int) -> bool:
    """Gone, or a zombie left for its parent to reap."""
    return (process_start(pid) or ("X", 0))[0] in "ZX"


@contextlib.contextmanager
def leftovers_lock() -> Iterator[None]:
    """Held while leftovers are removed, so that runs starting together take
    turns, and by a test that looks at a dead run's leftovers meanwhile."""
    os.makedirs(REGISTRY, exist_ok=True)
    with open(os.path.join(REGISTRY, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def remove_what_dead_runs_left() -> str | None:
    """Removes the leftovers of every run whose owner is gone (the rule is in
    the module's docstring) and prints, then returns, one line saying what
    it removed; None when there was nothing. Runs that start together take
    turns here, under a lock."""
    with leftovers_lock():
        # Leftovers first, the registry after: a run registers before it
        # makes anything, so each run with pieces listed has its entry by then.
        runs = find_leftovers()
        owners = registered_owners()
        for tag, alive in owners.items():
            if not alive:
                runs.setdefault(tag, Leftovers())
        processes: dict[tuple[int, int], list[tuple[int, str]]] | None = None
        dead: list[str] = []
        for tag, left in runs.items():
            if tag in owners:
                if not owners[tag]:
                    dead.append(tag)
                continue
            if not left.namespaces:
                dead.append(tag)
                continue
            processes = processes if processes is not None else processes_by_namespace()
            youngest_s = min(namespace_age_s(ns) for ns in left.namespaces)
            running = [
                pid
                for ns in left.namespaces
                for pid, state in processes.get(namespace_identity(ns) or (0, 0), [])
                if state not in "TtZX"
            ]
            if youngest_s > UNREGISTERED_AGE_S and not running:
                dead.append(tag)
        if not dead:
            return None
        return remove_runs({tag: runs[tag] for tag in sorted(dead)})


def remove_runs(runs: dict[str, Leftovers]) -> str:
    processes = processes_by_namespace()
    victims: set[int] = set()
    for left in runs.values():
        for ns in left.namespaces:
            victims.update(pid for pid, _ in processes.get(namespace_identity(ns) or (0, 0), []))
        for group in left.cgroups:
            try:
                with open(os.path.join(group, "cgroup.procs")) as procs:
                    victims.update(int(pid) for pid in procs.read().split())
            except OSError:
                pass
    victims = {pid for pid in victims if not has_exited(pid)}
    victims.discard(os.getpid())
    for pid in victims:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    end = time.monotonic() + 5
    while time.monotonic() < end and not all(has_exited(pid) for pid in victims):
        time.sleep(0.05)
    removed = {
        "processes killed": len(victims),
        "namespaces": 0,
        "cgroups": 0,
        "/etc/netns folders": 0,
        "veth ends": 0,
    }
    for left in runs.values():
        for ns in left.namespaces:
            done = subprocess.run(["ip", "netns", "del", ns], capture_output=True)
            removed["namespaces"] += done.returncode == 0
        for folder in left.folders:
            shutil.rmtree(folder, ignore_errors=True)
            removed["/etc/netns folders"] += not os.path.exists(folder)
        for veth in left.veths:
            done = subprocess.run(["ip", "link", "del", veth], capture_output=True)
            removed["veth ends"] += done.returncode == 0
        for group in left.cgroups:
            removed["cgroups"] += remove_cgroup(group)
    for tag in runs:
        unregister_run(tag)
    try:
        os.rmdir(NETNS_ETC)  # only when no other run uses it
    except OSError:
        pass
    counts = ", ".join(f"{what} {n}" for what, n in removed.items() if n) or "only the registry entry"
    line = f"netns: removed what dead runs left ({', '.join(sorted(runs))}): {counts}"
    print(line, file=sys.stderr)
    return line


def remove_cgroup(group: str) -> bool:
    """Removes an emptied cgroup, waiting up to 5 s for exited processes to leave it."""
    for _ in range(50):
        try:
            os.rmdir(group)
            return True
        except FileNotFoundError:
            return False
        except OSError:
            time.sleep(0.1)
    return False


class Node(LineProcess):
    """One rumour node process in a host namespace (see tests/lineproc.py)."""

    def __init__(self, net: Network, host: int, name: str, seed: str, preset: str) -> None:
        self.host = host
        bind = net.addr(host)
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
        self.shapers: dict[int, LineProcess] = {}
        self.spawned: list[LineProcess] = []
        self.cgroups: list[str] = []
        self.busy: list[subprocess.Popen[bytes]] = []
        self.cycles: list[tuple[threading.Event, threading.Thread]] = []
        self.bursts = 0
        self.names: dict[str, int] = {}

    def ns(self, host: int) -> str:
        return f"rm{self.tag}h{host}"

    @property
    def switch(self) -> str:
        return f"rm{self.tag}sw"

    def ip(self, host: int) -> str:
        return f"{SUBNET}.{host + 1}"

    def addr(self, host: int) -> str:
        """Where the node on `host` listens, "ip:port"."""
        return f"{self.ip(host)}:{PORT}"

    def __enter__(self) -> Network:
        try:
            register_run(self.tag)
            remove_what_dead_runs_left()
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
        self.feed()
        for node in self.nodes:
            node.kill()
        for shaper in self.shapers.values():
            shaper.kill()
        self.shapers = {}
        for process in self.spawned:
            process.kill()
        self.spawned = []
        for ns in reversed(self.created):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
            shutil.rmtree(os.path.join(NETNS_ETC, ns), ignore_errors=True)
        self.created = []
        try:
            os.rmdir(NETNS_ETC)  # only when no other run uses it
        except OSError:
            pass
        unregister_run(self.tag)

    def start(self, host: int, seed: str = "-", preset: str = "lan", name: str | None = None) -> Node:
        node = Node(self, host, name or f"h{host}", seed, preset)
        self.nodes.append(node)
        return node

    def spawn(self, host: int, name: str, argv: list[str], **popen: object) -> LineProcess:
        """Runs `argv` in `host`'s namespace as a line-protocol process (it
        prints `ready ...` first, and should exit when its stdin closes);
        killed on close, and by the next run's cleanup if this one is killed."""
        process = LineProcess(name, ["ip", "netns", "exec", self.ns(host), *argv], **popen)
        self.spawned.append(process)
        return process

    def restart(self, node: Node, seed: str = "-", preset: str = "lan") -> Node:
        """Kills `node` and starts a new one, empty, under its name on its host."""
        node.kill()
        return self.start(node.host, seed, preset, node.name)

    def set_name(self, name: str, host: int) -> None:
        """Makes `name` resolve to `host`'s address in every host namespace.
        Before a node starts, so that its namespace has the file to mount;
        afterwards each file is rewritten in place (same inode), which the
        running nodes' bind mounts see."""
        self.names[name] = host
        text = "127.0.0.1 localhost\n" + "".join(f"{self.ip(h)} {n}\n" for n, h in self.names.items())
        for h in range(self.hosts):
            folder = os.path.join(NETNS_ETC, self.ns(h))
            os.makedirs(folder, exist_ok=True)
            path = os.path.join(folder, "hosts")
            with open(path, "r+" if os.path.exists(path) else "w") as hosts:
                hosts.seek(0)
                hosts.truncate()
                hosts.write(text)

    def resolve(self, host: int, name: str) -> list[str]:
        """The addresses `name` resolves to inside `host`'s namespace (getent)."""
        argv = ["ip", "netns", "exec", self.ns(host), "getent", "ahostsv4", name]
        done = subprocess.run(argv, capture_output=True, text=True)
        return sorted({line.split()[0] for line in done.stdout.splitlines() if line.strip()})

    def seeds(self, hosts: list[int]) -> str:
        """The seed argument naming `hosts` as configured seeds (`Config::seeds`)."""
        return "seeds=" + ",".join(self.addr(h) for h in hosts)

    def start_all(self, preset: str = "lan", seeds: list[int] | None = None) -> list[Node]:
        """A node on every host, each joining through the first; or, given
        `seeds`, every node (those hosts' too) configured with those hosts
        as its seeds."""
        if seeds is not None:
            return [self.start(h, self.seeds(seeds), preset=preset) for h in range(self.hosts)]
        first = self.start(0, preset=preset)
        return [first] + [self.start(h, first.addr, preset=preset) for h in range(1, self.hosts)]

    def shape(
        self,
        loss: float = 0.0,
        delay_ms: float = 0.0,
        jitter_ms: float = 0.0,
        duplicate: float = 0.0,
        reorder: float = 0.0,
        hosts: list[int] | None = None,
    ) -> None:
        """Shapes what every host (or those listed) sends: a fraction lost, a
        delay with uniform jitter, a fraction duplicated, a fraction sent
        at once ahead of delayed packets. tests/faults/shaper.py does it,
        one process per host, seeded by the host number."""
        for h in hosts if hosts is not None else range(self.hosts):
            if h not in self.shapers:
                argv = ["ip", "netns", "exec", self.ns(h), sys.executable, SHAPER, str(h + 1)]
                self.shapers[h] = LineProcess(f"shaper{h}", argv)
                rules = [
                    ["-A", "OUTPUT", "-m", "mark", "--mark", "0x7e", "-j", "ACCEPT"],
                    ["-A", "OUTPUT", "-d", f"{SUBNET}.0/24", "-j", "NFQUEUE", "--queue-num", "0"],
                ]
                for rule in rules:
                    sh("ip", "netns", "exec", self.ns(h), str(iptables()), *rule)
            setting = f"set {loss} {delay_ms} {jitter_ms} {duplicate} {reorder}"
            self.shapers[h].ask(setting, "set ")

    def clear_shaping(self) -> None:
        """Every link perfect again (the shapers stay, passing packets at once)."""
        for shaper in self.shapers.values():
            shaper.ask("set 0 0 0 0 0", "set ")

    def shaped(self) -> tuple[int, int, int, float]:
        """Packets seen, dropped and duplicated by every shaper so far, and the
        mean delay (ms) the packets let through were given."""
        seen = dropped = duplicated = 0
        waited_ms = 0.0
        for shaper in self.shapers.values():
            if shaper.proc.poll() is not None:
                raise AssertionError(f"{shaper.name} exited: {shaper.proc.returncode}")
            words = shaper.ask("stats", "stats ").split()[1:]
            s, d, u, mean_ms = int(words[0]), int(words[1]), int(words[2]), float(words[3])
            seen, dropped, duplicated = seen + s, dropped + d, duplicated + u
            waited_ms += mean_ms * (s - d)
        return seen, dropped, duplicated, waited_ms / max(1, seen - dropped)

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

    def throttle(self, node: Node, share: float, period_ms: int = 1000) -> None:
        """Starves `node` of CPU the way a container's CPU limit does on a busy
        process: it shares a cgroup, capped at `share` of one core per
        `period_ms` (the kernel allows at most 1 s), with a busy loop that
        uses the whole quota, so the node runs only in short bursts and
        stalls for the rest of each period."""
        found = cpu_cgroups()
        if found is None:
            raise RuntimeError(why_no_throttling())
        root, version = found
        group = os.path.join(root, f"rumour-{self.tag}-{node.name}")
        os.mkdir(group)
        self.cgroups.append(group)
        period_us, quota_us = period_ms * 1000, int(period_ms * 1000 * share)
        if version == 2:
            with open(os.path.join(root, "cgroup.subtree_control"), "w") as control:
                control.write("+cpu")
            with open(os.path.join(group, "cpu.max"), "w") as limit:
                limit.write(f"{quota_us} {period_us}")
        else:
            with open(os.path.join(group, "cpu.cfs_period_us"), "w") as limit:
                limit.write(str(period_us))
            with open(os.path.join(group, "cpu.cfs_quota_us"), "w") as limit:
                limit.write(str(quota_us))
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        self.busy.append(busy)
        for pid in (node.proc.pid, busy.pid):
            with open(os.path.join(group, "cgroup.procs"), "w") as procs:
                procs.write(str(pid))

    def starve(self, node: Node, share: float, period_s: float) -> None:
        """Lets `node` run only `share` of each `period_s`, in one burst, by
        stopping and continuing it: stalls longer than the 1 s a CPU quota
        period allows, as on a badly overloaded host. `bursts` counts them."""
        stop = threading.Event()

        def cycle() -> None:
            while not stop.is_set():
                node.resume()
                self.bursts += 1
                stop.wait(period_s * share)
                node.pause()
                stop.wait(period_s * (1 - share))
            node.resume()

        thread = threading.Thread(target=cycle, daemon=True)
        thread.start()
        self.cycles.append((stop, thread))

    def throttled(self) -> int:
        """How many periods the starved nodes' cgroups were throttled, in all."""
        total = 0
        for group in self.cgroups:
            with open(os.path.join(group, "cpu.stat")) as stat:
                for line in stat:
                    if line.startswith("nr_throttled "):
                        total += int(line.split()[1])
        return total

    def feed(self) -> None:
        """Ends every starvation: the stop-and-continue cycles end with the
        nodes running, the busy loops stop, the nodes leave their cgroups."""
        for stop, thread in self.cycles:
            stop.set()
            thread.join()
        self.cycles = []
        for busy in self.busy:
            busy.kill()
            busy.wait()
        self.busy = []
        for group in self.cgroups:
            root = os.path.dirname(group)
            with open(os.path.join(group, "cgroup.procs")) as procs:
                pids = procs.read().split()
            for pid in pids:
                try:
                    with open(os.path.join(root, "cgroup.procs"), "w") as back:
                        back.write(pid)
                except OSError:
                    pass  # it exited meanwhile
            for _ in range(50):
                try:
                    os.rmdir(group)
                    break
                except OSError:
                    time.sleep(0.1)
        self.cgroups = []

    def heal(self) -> None:
        for h in range(self.hosts):
            sh("ip", "-n", self.switch, "link", "set", f"p{h}", "master", "bra")


if __name__ == "__main__":
    if sys.argv[1:] != ["--clean"]:
        raise SystemExit("usage: netns.py --clean (removes what runs killed before their close left)")
    if remove_what_dead_runs_left() is None:
        print("netns: nothing left by dead runs")
