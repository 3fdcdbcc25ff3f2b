"""The ring around each attack: four peers in this process, the victim in
its own (victim.py), a prober that pings the victim all through, and the
figures each attack is judged by.

Verdicts: (a) no peer suspects the victim or declares it failed during the
attack or the settle time after it, and the victim never had to refute;
(b) the victim's peak RSS (VmHWM, reset before the attack) stays under
before + a stated bound; (c) a counter in the victim's stats rose by at
least as much as the attack deserves. Each attack prints one row of the
README table.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import rumour
import rumour.blocking

import forge

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
from lineproc import LineProcess  # noqa: E402

PEERS = 4
# The peers probe every 0.5 s (local() probes every 1 s), so the victim
# is probed about twice a second while under attack; local() otherwise:
# a probe is lost after 0.2 s, and a suspicion turns into a failure after
# 3 x max(1, log10 5) x 0.5 s.
TIMING = {"probe_interval": 0.5}
# Every attack is followed by this long of looking for late suspicions: a
# probe missed at the very end is suspected within one probe interval.
SETTLE = 1.0


def wait_until(done: Callable[[], bool], limit: float, what: str) -> None:
    end = time.monotonic() + limit
    while not done():
        if time.monotonic() > end:
            raise AssertionError(f"{what}: not within {limit} s")
        time.sleep(0.05)


def bounded(count: int, seconds: float) -> Iterator[int]:
    """0, 1, 2... while fewer than `count` and `seconds` has not passed: the
    bound every attack loop runs under."""
    end = time.monotonic() + seconds
    i = 0
    while i < count:
        # The clock is read every 64 turns: cheap enough for a flood.
        if i & 63 == 0 and time.monotonic() >= end:
            return
        yield i
        i += 1


@dataclass
class Sent:
    """What an attack put on the wire."""

    units: int
    """Packets, connections or writes."""
    nbytes: int
    seconds: float
    unit: str = "packets"

    @property
    def rate(self) -> float:
        return self.units / self.seconds if self.seconds > 0 else 0.0

    def describe(self) -> str:
        size = f"{self.nbytes / 2**20:.1f} MiB" if self.nbytes >= 2**20 else f"{self.nbytes / 1024:.0f} KiB"
        return f"{self.units:,} {self.unit} ({size}) in {self.seconds:.1f} s = {self.rate:,.0f}/s"


class Peers:
    """The victim's cluster mates: blocking nodes in this process, each
    recording the membership events it produces."""

    def __init__(self, prefix: str, **overrides: object) -> None:
        self.config_overrides = {**TIMING, **overrides}
        self.events: list[tuple[float, str, str, str]] = []
        self.nodes: list[rumour.blocking.Node] = []
        seeds: list[str] = []
        for i in range(PEERS):
            name = f"{prefix}-peer-{i}"
            config = rumour.Config.local(name=name, bind="127.0.0.1:0", seeds=seeds, **self.config_overrides)
            node = rumour.blocking.Node(config)
            node.on_event(self._recorder(name))
            node.start()
            seeds = seeds or [node.addr]
            self.nodes.append(node)
        self.seed = seeds[0]
        wait_until(lambda: all(self.alive_count(n) == PEERS for n in self.nodes), 20, "the peers converge")

    @staticmethod
    def alive_count(node: rumour.blocking.Node) -> int:
        return sum(m.state is rumour.MemberState.ALIVE for m in node.members())

    def _recorder(self, observer: str) -> Callable[[rumour.Event], None]:
        kinds = {rumour.MemberSuspect: "suspect", rumour.MemberFailed: "failed"}

        def record(event: rumour.Event) -> None:
            kind = kinds.get(type(event))
            if kind is not None:
                member = event.member  # type: ignore[union-attr]
                self.events.append((time.monotonic(), observer, kind, member.name))
            elif isinstance(event, rumour.EventsLost):
                self.events.append((time.monotonic(), observer, "events_lost", str(event.count)))

        return record

    def verdicts_on(self, name: str, since: float) -> list[str]:
        """Suspicions and failures of `name` recorded since `since`. An event
        lost to a full queue could hide one, but not from the check: a
        suspicion reaches the victim, which refutes (`refutes` rises)."""
        return [
            f"{observer}: {kind} {subject}"
            for t, observer, kind, subject in list(self.events)
            if t >= since and subject == name and kind != "events_lost"
        ]

    def events_lost(self, since: float) -> int:
        return sum(
            int(subject) for t, _, kind, subject in list(self.events) if t >= since and kind == "events_lost"
        )

    def verdicts_among_themselves(self, since: float) -> list[str]:
        """Suspicions of one peer by another: a sign the host itself was
        starved (the attacker shares its two cores), not only the victim."""
        names = {n.name for n in self.nodes}
        return [
            f"{observer}: {kind} {subject}"
            for t, observer, kind, subject in list(self.events)
            if t >= since and subject in names
        ]

    def sees_alive(self, name: str) -> bool:
        for node in self.nodes:
            m = node.member(name)
            if m is None or m.state is not rumour.MemberState.ALIVE:
                return False
        return True

    def close(self) -> None:
        for node in self.nodes:
            node.close()


class Victim:
    """victim.py in its own process, joined to `peers`."""

    def __init__(
        self, name: str, peers: Peers, address_space_mib: int | None = None, **overrides: object
    ) -> None:
        self.name = name
        config = {**peers.config_overrides, "bind": "127.0.0.1:0", "seeds": [peers.seed], **overrides}
        if "keys" in config:
            config["keys"] = [bytes(k).hex() for k in config["keys"]]  # type: ignore[attr-defined]
        argv = [sys.executable, os.path.join(HERE, "victim.py"), name, json.dumps(config)]
        env = dict(os.environ)
        if address_space_mib is not None:
            env["VICTIM_ADDRESS_SPACE_MIB"] = str(address_space_mib)
        # Its stderr is kept (not mixed into the test's output) for the
        # tests that read how it died.
        self.stderr = tempfile.TemporaryFile()
        self.proc = LineProcess(name, argv, env=env, stderr=self.stderr)
        host, port = self.proc.addr.rsplit(":", 1)
        self.target = (host, int(port))
        self.pid = self.proc.proc.pid
        wait_until(lambda: self.stats()["members_alive"] == PEERS + 1, 20, f"{name} sees the cluster")
        wait_until(lambda: peers.sees_alive(name), 20, f"every peer sees {name}")

    def stats(self) -> dict[str, int]:
        return json.loads(self.proc.ask("stats", "stats ", 20).split(" ", 1)[1])

    def member(self, name: str) -> tuple[str, int] | None:
        _, _, state, *rest = self.proc.ask(f"member {name}", f"member {name} ").split(" ")
        return None if state == "none" else (state, int(rest[0]))

    def get(self, key: str) -> int | None:
        answer = self.proc.ask(f"get {key}", f"get {key} ").split(" ")[2]
        return None if answer == "none" else int(answer)

    def put(self, key: str, size: int) -> str:
        return self.proc.ask(f"put {key} {size}", "put ").split(" ", 1)[1]

    def status_kib(self, field_name: str) -> int:
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
        raise AssertionError(f"no {field_name} for pid {self.pid}")

    def rss_mib(self) -> float:
        return self.status_kib("VmRSS") / 1024

    def peak_mib(self) -> float:
        return self.status_kib("VmHWM") / 1024

    def reset_peak(self) -> None:
        """Resets VmHWM to the current RSS (Linux >= 4.0)."""
        with open(f"/proc/{self.pid}/clear_refs", "w") as f:
            f.write("5")

    def cpu_seconds(self) -> float:
        """User and system time the victim has used."""
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def alive(self) -> bool:
        return self.proc.proc.poll() is None

    def stderr_text(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")

    def stop(self) -> None:
        self.proc.stop()
        self.stderr.close()


class Prober:
    """Pings the victim every 50 ms from a socket of its own, one ping at
    a time, as a peer's probe would, and records each answer's delay (or
    its loss after 1 s). `pings` are the packets to cycle through (sealed
    with the cluster's key and label, when it has them)."""

    def __init__(self, target: tuple[str, int], pings: Sequence[bytes]) -> None:
        self.target = target
        self.pings = list(pings)
        self.delays: list[float] = []
        self.lost = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))

    def __enter__(self) -> Prober:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()

    def _run(self) -> None:
        i = 0
        while not self._stop.is_set():
            self.sock.setblocking(False)
            try:
                while True:
                    self.sock.recv(65536)  # a late answer to an earlier ping
            except BlockingIOError:
                pass
            self.sock.settimeout(1.0)
            sent = time.monotonic()
            self.sock.sendto(self.pings[i % len(self.pings)], self.target)
            i += 1
            try:
                self.sock.recv(65536)
                self.delays.append(time.monotonic() - sent)
            except TimeoutError:
                self.lost += 1
            self._stop.wait(max(0.0, 0.05 - (time.monotonic() - sent)))

    def describe(self) -> str:
        if not self.delays:
            return f"probes: 0 answered, {self.lost} lost"
        d = sorted(self.delays)
        p99 = d[min(len(d) - 1, int(len(d) * 0.99))]
        median, worst = d[len(d) // 2] * 1000, d[-1] * 1000
        return (
            f"probes: {len(d)} answered, {self.lost} lost,"
            f" delay median {median:.1f} ms, p99 {p99 * 1000:.1f} ms, max {worst:.1f} ms"
        )


@dataclass
class Outcome:
    """One attack's figures."""

    attack: str
    sent: Sent
    before: dict[str, int]
    after: dict[str, int]
    rss_before: float
    rss_peak: float
    rss_after: float
    verdicts: list[str]
    prober: Prober
    cpu_seconds: float
    notes: list[str] = field(default_factory=list)
    peer_events_lost: int = 0

    def rose(self, counter: str) -> int:
        return self.after[counter] - self.before[counter]

    def row(self, counters: Sequence[str]) -> str:
        rises = ", ".join(f"{c} +{self.rose(c):,}" for c in counters)
        suspicions = "0" if not self.verdicts else f"{len(self.verdicts)}: {self.verdicts[:4]}"
        return (
            f"| {self.attack} | {self.sent.describe()} | {self.rss_before:.1f} -> peak {self.rss_peak:.1f}"
            f" -> {self.rss_after:.1f} MiB | {suspicions} (refutes +{self.rose('refutes')}) | {rises} |"
        )

    def check(self, counters: dict[str, int], rss_bound_mib: float, allow_verdicts: bool = False) -> None:
        """Prints the row, then asserts the three verdicts. `counters` maps
        each counter to the least it must have risen by."""
        print(f"\n{self.row(list(counters))}")
        print(
            f"  {self.prober.describe()}; victim CPU {self.cpu_seconds:.1f} s;"
            f" packets it received {self.rose('packets_received'):,}"
        )
        for note in self.notes:
            print(f"  {note}")
        if self.peer_events_lost:
            print(f"  the peers' event queues overflowed: {self.peer_events_lost:,} events lost")
        if not allow_verdicts:
            assert self.verdicts == [], f"{self.attack}: the peers suspected the victim: {self.verdicts}"
            assert self.rose("refutes") == 0, f"{self.attack}: the victim had to refute a suspicion"
        growth = self.rss_peak - self.rss_before
        assert growth <= rss_bound_mib, (
            f"{self.attack}: RSS peaked {growth:.1f} MiB above {self.rss_before:.1f} MiB;"
            f" the bound is {rss_bound_mib} MiB"
        )
        for counter, least in counters.items():
            assert self.rose(counter) >= least, (
                f"{self.attack}: {counter} rose by {self.rose(counter)}, expected at least {least}"
            )


def run_attack(
    attack: str,
    victim: Victim,
    peers: Peers,
    strike: Callable[[], Sent],
    pings: Sequence[bytes] | None = None,
    settle: float = SETTLE,
) -> Outcome:
    """Measures the victim around `strike()` and the settle time after it."""
    if pings is None:
        pings = [forge.ping(seq, victim.name) for seq in range(1, 41)]
    before = victim.stats()
    rss_before = victim.rss_mib()
    victim.reset_peak()
    cpu_before = victim.cpu_seconds()
    started = time.monotonic()
    with Prober(victim.target, pings) as prober:
        sent = strike()
        time.sleep(settle)
    assert victim.alive(), f"{attack}: the victim process died (exit code {victim.proc.proc.returncode})"
    after = victim.stats()
    among = peers.verdicts_among_themselves(started)
    return Outcome(
        attack=attack,
        sent=sent,
        before=before,
        after=after,
        rss_before=rss_before,
        rss_peak=victim.peak_mib(),
        rss_after=victim.rss_mib(),
        verdicts=peers.verdicts_on(victim.name, started),
        prober=prober,
        cpu_seconds=victim.cpu_seconds() - cpu_before,
        notes=[f"suspicions among the peers themselves: {among}"] if among else [],
        peer_events_lost=peers.events_lost(started),
    )


def udp_flood(target: tuple[str, int], packets: Sequence[bytes], count: int, seconds: float) -> Sent:
    """Sends `packets` round and round, as fast as this thread can, at most
    `count` of them and for at most `seconds`."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    n, nbytes, started = 0, 0, time.monotonic()
    try:
        cycle = len(packets)
        for i in bounded(count, seconds):
            p = packets[i % cycle]
            try:
                sock.sendto(p, target)
            except OSError:
                continue  # ENOBUFS under pressure: that packet is simply not sent
            n += 1
            nbytes += len(p)
    finally:
        sock.close()
    return Sent(n, nbytes, time.monotonic() - started)


def send_stream(target: tuple[str, int], payload: bytes, timeout: float = 5.0) -> bytes:
    """Opens a TCP connection, writes `payload`, and returns whatever the
    victim answers before it closes (an error message, an ack, or nothing)."""
    with socket.create_connection(target, timeout=timeout) as conn:
        conn.sendall(payload)
        conn.shutdown(socket.SHUT_WR)
        answer = bytearray()
        try:
            while chunk := conn.recv(65536):
                answer += chunk
        except (ConnectionResetError, TimeoutError):
            pass
        return bytes(answer)
