"""The deterministic simulator, for notebooks: the real protocol code for
hundreds or thousands of nodes on a virtual clock, with faults on demand.
The same seed replays the same run.

    from rumour.sim import Sim, Latency, Link
    sim = Sim(nodes=100, seed=7)
    sim.run_until_converged(30)
    sim.crash(42)
    sim.run_for(60)
    sim.detections("node-42")        # [(observer, seconds after the crash), ...]

The network can be shaped: zones with their own links between them
(``zones=``, ``zone_links=``), latency distributions (:class:`Latency`),
one-way cuts, muted nodes, per-node loss and bandwidth caps; changes can be
scheduled at virtual times (:meth:`Sim.schedule`, :meth:`Sim.scenario`),
and churn, rolling restarts and workloads run by themselves. With
``record=`` the simulator logs every membership change, every change to
the map and every message by type.

Results are plain Python data. With NumPy and pandas installed
(``pip install rumour[science]``), the logs and summaries are DataFrames.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from . import _native
from ._config import Config
from .errors import ConfigError
from .events import StateEntry

__all__ = [
    "RECORDABLE",
    "Crash",
    "Latency",
    "Link",
    "MembershipRecord",
    "MessageRecord",
    "Sim",
    "StateRecord",
    "TrafficRecord",
]

_KINDS = {"until_deleted", "ephemeral", "ttl"}

RECORDABLE = ("membership", "state", "messages", "traffic")
"""What ``Sim(record=...)`` can log: ``membership`` changes at every
observer, ``state`` changes in every replica, every one of the
``messages`` (large), or ``traffic`` counters per node and message type."""

MESSAGE_TYPES = ("ping", "indirect", "ack", "suspect", "alive", "dead", "push_pull", "user", "state", "other")
"""The message types traffic is counted by."""


def _seconds(value: float, field: str) -> float:
    try:
        s = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{field} = {value!r} is not a number of seconds", field) from None
    if not (s >= 0 and math.isfinite(s)):
        raise ConfigError(f"{field} = {value!r} must be zero or more seconds", field)
    return s


def _probability(value: float, field: str) -> float:
    try:
        p = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{field} = {value!r} is not a probability", field) from None
    if not 0.0 <= p <= 1.0:
        raise ConfigError(f"{field} = {value!r} is not a probability in [0, 1]", field)
    return p


@dataclass(frozen=True)
class Latency:
    """The delay of one message on a link. Make one with :meth:`fixed`,
    :meth:`uniform`, :meth:`normal`, :meth:`lognormal` or :meth:`pareto`;
    every draw comes from the simulation's seeded generator."""

    kind: str
    a: float
    b: float = 0.0

    @staticmethod
    def fixed(seconds: float) -> Latency:
        """Every message takes exactly ``seconds``."""
        return Latency("fixed", _seconds(seconds, "seconds"))

    @staticmethod
    def uniform(low: float, high: float) -> Latency:
        """Uniform between ``low`` and ``high`` seconds."""
        low, high = _seconds(low, "low"), _seconds(high, "high")
        if low > high:
            raise ConfigError(f"low = {low} is above high = {high}", "low")
        return Latency("uniform", low, high)

    @staticmethod
    def normal(mean: float, std_dev: float) -> Latency:
        """Normal around ``mean`` seconds (a draw below zero counts as zero)."""
        return Latency("normal", _seconds(mean, "mean"), _seconds(std_dev, "std_dev"))

    @staticmethod
    def lognormal(median: float, sigma: float) -> Latency:
        """``median * exp(sigma * Z)``: a long right tail, as real round trips have."""
        median = _seconds(median, "median")
        if median <= 0:
            raise ConfigError("median must be above zero", "median")
        return Latency("lognormal", median, _seconds(sigma, "sigma"))

    @staticmethod
    def pareto(scale: float, shape: float) -> Latency:
        """At least ``scale`` seconds, with a heavy tail (heavier as ``shape`` falls)."""
        scale = _seconds(scale, "scale")
        if scale <= 0:
            raise ConfigError("scale must be above zero", "scale")
        shape = float(shape)
        if not (shape > 0 and math.isfinite(shape)):
            raise ConfigError(f"shape = {shape} must be above zero", "shape")
        return Latency("pareto", scale, shape)

    def _spec(self) -> tuple[str, float, float]:
        return (self.kind, float(self.a), float(self.b))


def _latency(value: Latency | tuple[float, float] | float, field: str = "latency") -> Latency:
    """A :class:`Latency`, a ``(low, high)`` range in seconds, or a fixed delay."""
    if isinstance(value, Latency):
        return value
    if isinstance(value, (int, float)):
        return Latency.fixed(value)
    try:
        low, high = value
    except (TypeError, ValueError):
        raise ConfigError(f"{field} = {value!r}: give a Latency, (low, high) or seconds", field) from None
    low, high = _seconds(low, field), _seconds(high, field)
    if low > high:
        raise ConfigError(f"{field} = {value!r} has low above high", field)
    return Latency("fixed", low) if low == high else Latency("uniform", low, high)


@dataclass(frozen=True)
class Link:
    """How a link behaves: its latency (a :class:`Latency`, a ``(low,
    high)`` range or seconds) and its packet loss."""

    latency: Latency | tuple[float, float] | float
    loss: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "latency", _latency(self.latency))
        object.__setattr__(self, "loss", _probability(self.loss, "loss"))

    def _spec(self) -> tuple[tuple[str, float, float], float]:
        assert isinstance(self.latency, Latency)
        return (self.latency._spec(), self.loss)


class MembershipRecord(NamedTuple):
    """A membership change as one node saw it."""

    at: float
    observer: int
    subject: int | None
    change: str
    incarnation: int


class StateRecord(NamedTuple):
    """A change to one node's replica of the map."""

    at: float
    observer: int
    key: str
    deleted: bool
    writer: int | None


class MessageRecord(NamedTuple):
    """One message: when it was sent, by whom, to whom, its type and bytes,
    whether over a stream, and its fate (delivered, lost, unreachable)."""

    at: float
    sender: int
    receiver: int | None
    type: str
    bytes: int
    stream: bool
    fate: str
    latency: float


class TrafficRecord(NamedTuple):
    """What one node sent of one message type."""

    node: int
    type: str
    messages: int
    bytes: int
    bytes_per_second: float


class Crash(NamedTuple):
    """One crash and the verdicts it drew."""

    name: str
    at: float
    restarted: float | None
    verdicts: int
    first: float | None
    median: float | None
    last: float | None


def _frame(columns: dict[str, list[Any]], row: Callable[..., Any], frame: bool | None) -> Any:
    """A DataFrame when pandas is there (or ``frame`` asks), else rows."""
    if frame is not False:
        try:
            import pandas as pd  # type: ignore[import-untyped]

            return pd.DataFrame(columns)
        except ImportError:
            if frame:
                raise
    return [row(*values) for values in zip(*columns.values())]


class Sim:
    """A simulated cluster of ``nodes`` named ``node-0``, ``node-1``, ...

    ``preset`` is ``"lan"``, ``"wan"`` or ``"local"`` (or pass ``config``);
    ``loss`` the probability a packet is lost; ``latency`` the link delay
    (a :class:`Latency`, or a ``(low, high)`` range in seconds);
    ``converged_start`` starts with every node knowing every other;
    ``aligned_timers`` puts every probe on the same tick (the SWIM paper's
    model); ``trace_probes`` records probe outcomes.

    ``lifeguard`` is True, False (plain SWIM everywhere), or the indices of
    the nodes that run Lifeguard. ``configs`` gives nodes configs of their
    own (``{index: Config}``): mixed presets, protocol versions, timeouts.

    ``zones`` places nodes (``{"eu": range(0, 10), "us": range(10, 20)}``;
    every node in exactly one), and ``zone_links`` sets the links between
    and inside them (``{("eu", "us"): Link(Latency.normal(0.08, 0.01))}``;
    a pair given one way applies both ways unless the other is given too).

    ``record`` lists what to log (see :data:`RECORDABLE`), or True for all.

    ``autostart=False`` leaves every node down until :meth:`start` starts
    it; it then joins by itself through its config's ``seeds`` (addresses
    from :meth:`address`, or names given to :meth:`set_dns`), as a real
    node does: start-order experiments. ``peer_files=True`` keeps a peer
    file per node, taken when it crashes or leaves and read back when
    :meth:`start` starts it again, so a cluster restarted with its seeds
    down can re-form.

    Two switches for measuring the protocol's parts, never for real
    clusters: ``probe_selection="uniform_random"`` picks each probe target
    at random (the SWIM paper's model) instead of memberlist's shuffled
    round robin; ``suspect_on_failed_probe=False`` stops failed probes from
    raising suspicions, to count probe outcomes alone.
    """

    def __init__(
        self,
        nodes: int = 10,
        *,
        seed: int = 0x5EED,
        preset: str = "lan",
        config: Config | None = None,
        loss: float = 0.0,
        latency: Latency | tuple[float, float] | float = (0.001, 0.005),
        converged_start: bool = False,
        aligned_timers: bool = False,
        trace_probes: bool = False,
        lifeguard: bool | Iterable[int] = True,
        configs: Mapping[int, Config] | None = None,
        zones: Mapping[str, Iterable[int]] | None = None,
        zone_links: Mapping[tuple[str, str], Link] | None = None,
        record: bool | Iterable[str] = (),
        probe_selection: str = "round_robin",
        suspect_on_failed_probe: bool = True,
        autostart: bool = True,
        peer_files: bool = False,
    ) -> None:
        if isinstance(nodes, bool) or not isinstance(nodes, int) or nodes < 1:
            raise ConfigError(f"nodes = {nodes!r} must be a whole number of at least 1", "nodes")
        if config is None:
            config = _preset(preset)(enable_compression=False)
        everywhere = lifeguard if isinstance(lifeguard, bool) else True
        with_lifeguard = (
            None
            if isinstance(lifeguard, bool)
            else {self._index_in(i, nodes, "lifeguard") for i in lifeguard}
        )
        own: dict[int, tuple[dict[str, Any], bool]] = {}
        for i, c in (configs or {}).items():
            if not isinstance(c, Config):
                raise ConfigError(f"configs[{i!r}] is a {type(c).__name__}, not a rumour.Config", "configs")
            own[self._index_in(i, nodes, "configs")] = (c._to_native(), everywhere)
        if with_lifeguard is not None:
            shared = config._to_native()
            for i in range(nodes):
                own[i] = (own[i][0] if i in own else shared, i in with_lifeguard)
        zone_list = [
            (str(name), [self._index_in(i, nodes, "zones") for i in members])
            for name, members in (zones or {}).items()
        ]
        link_list = []
        for pair, link in (zone_links or {}).items():
            if not (isinstance(pair, tuple) and len(pair) == 2):
                raise ConfigError(
                    f"zone_links key {pair!r} must be a (from_zone, to_zone) pair", "zone_links"
                )
            if not isinstance(link, Link):
                link = Link(link)
            spec, link_loss = link._spec()
            link_list.append((str(pair[0]), str(pair[1]), spec, link_loss))
        wanted = set(RECORDABLE) if record is True else set() if record is False else set(record)
        unknown = wanted - set(RECORDABLE)
        if unknown:
            raise ConfigError(f"record: {sorted(unknown)} unknown; choose from {list(RECORDABLE)}", "record")
        if probe_selection not in ("round_robin", "uniform_random"):
            raise ConfigError(
                f"probe_selection = {probe_selection!r}; use round_robin or uniform_random", "probe_selection"
            )
        self._sim = _native.NativeSim(
            nodes,
            int(seed),
            config._to_native(),
            _probability(loss, "loss"),
            _latency(latency)._spec(),
            bool(converged_start),
            bool(aligned_timers),
            bool(trace_probes),
            everywhere,
            own,
            zone_list,
            link_list,
            ("membership" in wanted, "state" in wanted, "messages" in wanted, "traffic" in wanted),
            (probe_selection == "uniform_random", bool(suspect_on_failed_probe)),
            (bool(autostart), bool(peer_files)),
        )

    @staticmethod
    def _index_in(i: Any, nodes: int, field: str) -> int:
        if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < nodes:
            raise IndexError(f"{field}: node {i!r} does not exist; the cluster has {nodes} nodes")
        return i

    def __len__(self) -> int:
        return len(self._sim)

    @property
    def elapsed(self) -> float:
        """Virtual seconds since the start."""
        return self._sim.elapsed()

    def run_for(self, seconds: float) -> None:
        """Runs ``seconds`` of virtual time."""
        self._sim.run_for(float(seconds))

    def run_until_converged(self, limit: float = 60.0) -> bool:
        """Runs until every running node sees every other alive; False after ``limit`` seconds."""
        return self._sim.run_until_converged(float(limit))

    def time_to_converge(self, limit: float = 60.0) -> float | None:
        """Runs until every running node sees every other alive and returns
        the virtual seconds that took (None: not within ``limit``)."""
        start = self.elapsed
        return self.elapsed - start if self._sim.run_until_converged(float(limit)) else None

    def run_until_state_agrees(self, limit: float = 60.0) -> bool:
        """Runs until every running replica of the map agrees; False after ``limit``."""
        return self._sim.run_until_state_agrees(float(limit))

    def name(self, i: int) -> str:
        """Node ``i``'s name (``node-i``)."""
        return self._sim.name(i)

    def running(self, i: int) -> bool:
        """Whether node ``i`` is up."""
        return self._sim.running(i)

    def converged(self) -> bool:
        """Whether every running node sees every other running node alive."""
        return self._sim.converged()

    def state_agrees(self) -> bool:
        """Whether every running replica of the map has the same Merkle root."""
        return self._sim.state_agrees()

    def state_root(self, i: int) -> int | None:
        """Node ``i``'s replica of the map as one number (its Merkle root):
        equal roots, equal replicas. None while it is down."""
        summary = self._sim.state_summary(i)
        return None if summary is None else summary[3]

    def view(self, observer: int, subject: int) -> str | None:
        """How ``observer`` sees ``subject``: "alive", "suspect", "dead", "left" or None."""
        return self._sim.view(observer, subject)

    @property
    def zones(self) -> list[str]:
        """The zone names, as declared."""
        return self._sim.zones()

    def zone_of(self, i: int) -> str | None:
        """Node ``i``'s zone (None without zones)."""
        return self._sim.zone_of(i)

    # ---- faults and commands ----

    def crash(self, i: int) -> None:
        """Stops node ``i`` without a word, as ``kill -9`` would."""
        self._sim.crash(i)

    @staticmethod
    def address(i: int) -> str:
        """Node ``i``'s address as a seed is written (``"127.1.0.0:7946"``
        for node 0): put it in a config's ``seeds`` before the Sim exists."""
        if isinstance(i, bool) or not isinstance(i, int) or i < 0:
            raise IndexError(f"node {i!r} does not exist; nodes are numbered from 0")
        return _native.NativeSim.address(i)

    def start(self, i: int) -> None:
        """Starts node ``i`` (never started, or crashed) under its name and
        address, with no explicit join: it finds the cluster through its
        config's seeds, and through its peer file with ``peer_files=True``.
        A running node is left alone."""
        self._sim.start(i)

    def set_dns(self, name: str, addrs: Iterable[int | str]) -> None:
        """Makes the seed ``name`` (``"seeds.sim:7946"``, as written in a
        config's ``seeds``) resolve to ``addrs`` for every node from now on:
        node indices or ``"ip:port"`` strings. An empty list removes it, so
        the name no longer resolves."""
        if not isinstance(name, str):
            raise ConfigError(f"name must be a str, not {type(name).__name__}", "name")
        resolved = []
        for a in addrs:
            if isinstance(a, bool) or not isinstance(a, (int, str)):
                raise ConfigError(f'addrs: {a!r} is neither a node index nor an "ip:port" str', "addrs")
            resolved.append(a if isinstance(a, str) else self.address(self._index_in(a, len(self), "addrs")))
        self._sim.set_dns(name, resolved)

    def restart(self, i: int, via: int = 0) -> None:
        """Restarts a crashed node under its name and joins it through ``via``."""
        self._sim.restart(i, via)

    def join(self, i: int, via: int = 0) -> None:
        """Node ``i`` joins through node ``via``."""
        self._sim.join(i, via)

    def leave(self, i: int) -> None:
        """Node ``i`` leaves gracefully (and keeps running, left)."""
        self._sim.leave(i)

    def broadcast(self, i: int, data: bytes) -> None:
        """Node ``i`` broadcasts; see :meth:`broadcast_spread`."""
        self._sim.broadcast(i, bytes(data))

    def set_meta(self, i: int, meta: bytes) -> None:
        """Node ``i`` changes its metadata; see :meth:`update_spread`."""
        self._sim.set_meta(i, bytes(meta))

    def partition(self, *groups: Sequence[int]) -> None:
        """Splits the cluster: nodes in different groups cannot reach each
        other; nodes not listed form one more group."""
        self._sim.partition([list(g) for g in groups])

    def heal(self) -> None:
        """Heals every partition."""
        self._sim.heal()

    def set_loss(self, loss: float) -> None:
        """The default packet loss from now on."""
        self._sim.set_loss(_probability(loss, "loss"))

    def set_latency(self, latency: Latency | tuple[float, float] | float) -> None:
        """The default latency from now on."""
        self._sim.apply(("latency", _latency(latency)._spec()))

    def set_link(self, sender: int, receiver: int, link: Link | None) -> None:
        """The link from one node to another (None: back to its zones' or the default)."""
        self._sim.apply(("link", sender, receiver, *_link_args(link)))

    def set_zone_link(self, sender: str, receiver: str, link: Link | None) -> None:
        """The link from one zone to another, this way only (None: back to the default)."""
        self._sim.apply(("zone_link", sender, receiver, *_link_args(link)))

    def cut(self, sender: int, receiver: int) -> None:
        """Nothing from ``sender`` reaches ``receiver``; the other way still works."""
        self._sim.apply(("cut", sender, receiver))

    def restore(self, sender: int, receiver: int) -> None:
        """Undoes :meth:`cut`."""
        self._sim.apply(("restore", sender, receiver))

    def mute(self, i: int, muted: bool = True) -> None:
        """Node ``i`` receives but nothing it sends leaves it (False: it can send again)."""
        self._sim.apply(("mute", i, bool(muted)))

    def set_node_loss(self, i: int, loss: float) -> None:
        """Extra loss on every packet node ``i`` sends or receives."""
        self._sim.apply(("node_loss", i, _probability(loss, "loss")))

    def set_bandwidth(self, i: int, bytes_per_sec: int | None, max_queue: float | None = None) -> None:
        """Caps what node ``i`` sends per second; packets queue, and one that
        would wait longer than ``max_queue`` seconds is dropped (None: queue
        without limit). ``bytes_per_sec=None`` lifts the cap."""
        queue = None if max_queue is None else _seconds(max_queue, "max_queue")
        self._sim.apply(("bandwidth", i, bytes_per_sec, queue))

    def set_slow(self, i: int, message_delay: float = 0.0, timer_delay: float = 0.0) -> None:
        """Makes node ``i`` CPU-starved: it handles messages and timers late
        (both zero makes it normal again)."""
        slow = None if message_delay == 0 and timer_delay == 0 else (float(message_delay), float(timer_delay))
        self._sim.set_slow(i, slow)

    def put(
        self, i: int, key: str, value: bytes, *, kind: str = "until_deleted", ttl: float | None = None
    ) -> int:
        """Node ``i`` writes to the replicated map (``kind``: until_deleted, ephemeral, ttl)."""
        if kind not in _KINDS:
            raise ValueError(f"kind must be one of {sorted(_KINDS)}, not {kind!r}")
        return self._sim.put(i, key, bytes(value), kind, ttl)

    def delete(self, i: int, key: str) -> int | None:
        """Node ``i`` deletes ``key``; its timestamp, or None when it was absent."""
        return self._sim.delete(i, key)

    def get(self, i: int, key: str) -> StateEntry | None:
        """``key`` in node ``i``'s replica."""
        t = self._sim.get(i, key)
        return None if t is None else StateEntry._from(t)

    # ---- scenarios, churn and workloads ----

    def schedule(self, at: float, action: str, *args: Any) -> None:
        """Does ``action`` at ``at`` virtual seconds since the start. The
        actions and their arguments are the methods' of the same name:
        ``crash i``, ``start i`` (through its seeds), ``restart i [via]``
        (via None: a random running node), ``leave i`` (its process exits 1 s
        later), ``join i via``, ``partition [group, ...]``, ``heal``,
        ``loss p``, ``latency L``, ``link a b Link|None``, ``zone_link za
        zb Link|None``, ``cut a b``, ``restore a b``, ``mute i [muted]``,
        ``node_loss i p``, ``bandwidth i bytes_per_sec [max_queue]``,
        ``slow i message_delay [timer_delay]``, ``broadcast i data``, ``put
        i key value``, ``delete i key``, ``meta i data``."""
        self._sim.schedule(_seconds(at, "at"), _change(action, args))

    def scenario(self, steps: Iterable[Sequence[Any]]) -> None:
        """Schedules each ``(at, action, *args)`` (see :meth:`schedule`).
        Every step is checked before any is scheduled."""
        changes = []
        for step in steps:
            if len(step) < 2:
                raise ConfigError(f"scenario step {step!r} needs (at, action, *args)", "steps")
            changes.append((_seconds(step[0], "at"), _change(step[1], tuple(step[2:]))))
        for at, change in changes:
            self._sim.schedule(at, change)

    def churn(
        self,
        nodes: Iterable[int],
        *,
        join_rate: float = 0.0,
        leave_rate: float = 0.0,
        crash_rate: float = 0.0,
        start: float = 0.0,
        stop: float = math.inf,
    ) -> None:
        """Nodes of ``nodes`` start, leave and crash at random, each a
        Poisson process at its rate per second, from ``start`` to ``stop``
        virtual seconds. A start picks a pool node that is down and joins it
        through a running node; a leave or a crash picks a running one."""
        self._sim.churn(
            list(nodes), float(join_rate), float(leave_rate), float(crash_rate), *_window(start, stop)
        )

    def rolling_restart(
        self,
        nodes: Iterable[int],
        *,
        start: float,
        every: float,
        down_for: float,
        graceful: bool = True,
    ) -> None:
        """Restarts ``nodes`` one after another: the k-th goes down at
        ``start + k * every`` (a leave when ``graceful``, else a crash) and
        comes back ``down_for`` seconds later, joining a running node."""
        self._sim.rolling_restart(
            list(nodes),
            _seconds(start, "start"),
            _seconds(every, "every"),
            _seconds(down_for, "down_for"),
            bool(graceful),
        )

    def workload(
        self,
        nodes: Iterable[int],
        rate: float,
        *,
        kind: str = "broadcast",
        size: int = 64,
        keys: int = 100,
        poisson: bool = True,
        start: float = 0.0,
        stop: float = math.inf,
    ) -> None:
        """``rate`` operations per second from running nodes of ``nodes``:
        broadcasts of ``size`` bytes (``kind="broadcast"``, each tracked by
        :meth:`broadcast_spread`), or writes of ``size`` bytes to one of
        ``keys`` keys named ``load/K`` (``kind="writes"``)."""
        self._sim.workload(
            list(nodes), float(rate), kind, int(size), int(keys), bool(poisson), *_window(start, stop)
        )

    # ---- what happened ----

    def detections(self, name: str) -> list[tuple[int, float]]:
        """For a crashed node: ``(observer, seconds after the crash)`` per node that declared it failed."""
        return self._sim.detections(name)

    def broadcast_spread(self, data: bytes) -> list[float | None] | None:
        """Seconds after the broadcast at which each node first held it (None: never)."""
        return self._sim.broadcast_spread(bytes(data))

    def update_spread(self, name: str) -> list[float | None] | None:
        """Seconds after ``name``'s metadata update at which each node saw it."""
        return self._sim.update_spread(name)

    def false_suspicions(self) -> int:
        """Suspicions raised about nodes that were running."""
        return self._sim.false_suspicions()

    def false_failures(self) -> int:
        """Failures declared of nodes that were running (false positives)."""
        return self._sim.false_failures()

    def false_verdicts(self) -> list[tuple[int, str, float]]:
        """``(observer, subject, seconds)`` for each failure declared of a running node."""
        return self._sim.false_verdicts()

    def traffic(self, i: int) -> tuple[int, int]:
        """``(packets, bytes)`` node ``i`` has sent."""
        return self._sim.traffic(i)

    def stats(self, i: int) -> dict | None:
        """Node ``i``'s protocol counters (packets and bytes sent, probes,
        refutes, state sync, join attempts, seed push-pulls, hails answered);
        None while it is crashed."""
        return self._sim.stats(i)

    def watch_first_probe(self, i: int) -> None:
        """Starts a stopwatch on node ``i`` that stops at the next probe of
        it (needs ``trace_probes``): the first-probe delay a crash at this
        instant would see, without crashing anything."""
        self._sim.watch_first_probe(i)

    def watched_probe_delays(self) -> list[float]:
        """Seconds from each :meth:`watch_first_probe` to its first probe."""
        return self._sim.watched_probe_delays()

    def first_probe_after_crash(self, name: str) -> float | None:
        """Seconds from ``name``'s crash to the first probe of it (needs ``trace_probes``)."""
        return self._sim.first_probe_after_crash(name)

    def probe_counts(self) -> tuple[int, int, int]:
        """``(started, finished_live, failed_live)`` (needs ``trace_probes``):
        probes begun, probes of running nodes that ended, and of those the
        ones that got no ack at all."""
        return self._sim.probe_counts()

    def crashes(self, *, frame: bool | None = None) -> Any:
        """Every crash with its detection times: name, when, when restarted,
        how many verdicts, and the first, median and last verdict in seconds
        after the crash (a DataFrame with pandas, else :class:`Crash` rows)."""
        rows = []
        for name, at, restarted, detections in self._sim.crashes():
            times = sorted(s for _, s in detections)
            rows.append(
                Crash(
                    name,
                    at,
                    restarted,
                    len(times),
                    times[0] if times else None,
                    statistics.median(times) if times else None,
                    times[-1] if times else None,
                )
            )
        return _frame({f: [getattr(r, f) for r in rows] for f in Crash._fields}, Crash, frame)

    def membership_log(self, *, frame: bool | None = None) -> Any:
        """Every membership change at every observer (needs ``record`` with
        ``"membership"``): at, observer, subject, change, incarnation."""
        return _frame(self._sim.membership_log(), MembershipRecord, frame)

    def state_log(self, *, frame: bool | None = None) -> Any:
        """Every change to every replica (needs ``"state"``): at, observer,
        key, deleted, writer."""
        return _frame(self._sim.state_log(), StateRecord, frame)

    def message_log(self, *, frame: bool | None = None) -> Any:
        """Every message (needs ``"messages"``): at, sender, receiver, type,
        bytes, stream, fate, latency. A packet with gossip riding along is
        several messages, each with its share of the bytes."""
        return _frame(self._sim.message_log(), MessageRecord, frame)

    def traffic_by_type(self, *, frame: bool | None = None) -> Any:
        """What each node sent per message type (needs ``"traffic"`` or
        ``"messages"``): node, type, messages, bytes, and bytes per second
        over the whole run."""
        span = max(self.elapsed, 1e-9)
        rows = [TrafficRecord(n, t, m, b, b / span) for n, t, m, b in self._sim.traffic_by_type()]
        return _frame({f: [getattr(r, f) for r in rows] for f in TrafficRecord._fields}, TrafficRecord, frame)

    # ---- with NumPy and pandas ----

    def spread_array(self, data: bytes) -> Any:
        """:meth:`broadcast_spread` as a NumPy float array (NaN: never)."""
        import numpy as np

        spread = self.broadcast_spread(data) or []
        return np.array([np.nan if t is None else t for t in spread], dtype=float)

    def detections_frame(self, names: Sequence[str]) -> Any:
        """Detections of several crashed nodes as a pandas DataFrame
        (columns: crashed, observer, seconds)."""
        import pandas as pd

        rows = [(name, o, s) for name in names for o, s in self.detections(name)]
        return pd.DataFrame(rows, columns=["crashed", "observer", "seconds"])


def _window(start: float, stop: float) -> tuple[float, float]:
    start = _seconds(start, "start")
    stop = 1e9 if stop == math.inf else _seconds(stop, "stop")
    if stop < start:
        raise ConfigError(f"stop = {stop} is before start = {start}", "stop")
    return start, stop


def _link_args(link: Link | None) -> tuple[Any, float]:
    if link is None:
        return (None, 0.0)
    if not isinstance(link, Link):
        raise ConfigError(f"link = {link!r} is not a rumour.sim.Link", "link")
    return link._spec()


def _change(action: str, args: tuple[Any, ...]) -> tuple[Any, ...]:
    """The native form of a scheduled action: Latency and Link objects as
    specs, optional arguments filled in."""
    if action == "latency" and len(args) == 1:
        return ("latency", _latency(args[0])._spec())
    if action in ("link", "zone_link") and len(args) == 3:
        return (action, args[0], args[1], *_link_args(args[2]))
    if action == "restart" and len(args) == 1:
        return ("restart", args[0], None)
    if action == "mute" and len(args) == 1:
        return ("mute", args[0], True)
    if action == "bandwidth" and len(args) == 2:
        return ("bandwidth", args[0], args[1], None)
    if action == "slow" and len(args) == 2:
        return ("slow", args[0], float(args[1]), 0.0)
    if action == "partition":
        return ("partition", [list(g) for g in args])
    if action in ("broadcast", "meta") and len(args) == 2:
        return (action, args[0], bytes(args[1]))
    if action == "put" and len(args) == 3:
        return ("put", args[0], args[1], bytes(args[2]))
    return (action, *args)


def _preset(preset: str) -> Callable[..., Config]:
    presets: dict[str, Callable[..., Config]] = {"lan": Config.lan, "wan": Config.wan, "local": Config.local}
    if preset not in presets:
        raise ConfigError(f"unknown preset {preset!r}; use lan, wan or local", "preset")
    return presets[preset]
