"""What the asyncio and the blocking node share: the native handle, argument
checks, and conversions to the typed values."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from . import _native
from ._config import Config
from ._hub import Hub
from ._metrics import Metric
from .errors import ClosedError, JoinTimeoutError
from .events import Member, StateEntry

__all__ = ["Base", "Keyring", "StateSummary", "Stats"]


def _bytes(value: Any, field: str) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"{field} must be bytes, not {type(value).__name__}")


def _str(value: Any, field: str) -> str:
    if isinstance(value, str):
        return value
    raise TypeError(f"{field} must be str, not {type(value).__name__}")


def _seeds(seeds: str | Sequence[str]) -> list[str]:
    if isinstance(seeds, str):
        return [seeds]
    return [_str(s, "seeds") for s in seeds]


def _timeout(value: float | None, field: str = "timeout") -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        # `not >=` also refuses NaN.
        raise TypeError(f"{field} must be a number of seconds >= 0, not {value!r}")
    return float(value)


def _join_timeout(timeout: float) -> JoinTimeoutError:
    return JoinTimeoutError(
        f"not joined within {timeout:g} s: no seed or peer has answered yet; the node keeps trying"
    )


@dataclasses.dataclass(frozen=True)
class StateSummary:
    """Size and agreement figures of this node's replica of the map."""

    live: int
    tombstones: int
    bytes: int
    root: int
    """Merkle root: two nodes with the same root hold the same map."""
    horizon: int


class Stats(dict[str, int]):
    """Counters of the protocol and the runtime (a dict of ints)."""


class Keyring:
    """Encryption keys of a running node, for rotation without downtime:
    install the new key everywhere, use it everywhere, then remove the old."""

    def __init__(self, base: Base) -> None:
        self._base = base

    def install(self, key: bytes) -> None:
        """Accepts ``key`` (16, 24 or 32 bytes) from now on."""
        self._base._n().install_key(_bytes(key, "key"))

    def use(self, key: bytes) -> None:
        """Encrypts with ``key`` (already installed) from now on."""
        self._base._n().use_key(_bytes(key, "key"))

    def remove(self, key: bytes) -> None:
        """Stops accepting ``key`` (not the one in use)."""
        self._base._n().remove_key(_bytes(key, "key"))


class StateReads:
    """What both kinds of node's ``node.state`` read the same way."""

    def __init__(self, node: Base) -> None:
        self._node = node

    def get(self, key: str) -> StateEntry | None:
        """The value of ``key`` here, if any."""
        return self._node._get(key)

    def entries(self, prefix: str = "") -> list[StateEntry]:
        """Live entries whose key starts with ``prefix``, in key order."""
        return self._node._entries(prefix)

    def summary(self) -> StateSummary:
        """Size, Merkle root and horizon of this replica."""
        return self._node._summary()


class Base:
    def __init__(self, config: Config | None = None, **overrides: Any) -> None:
        if config is None:
            config = Config.lan(**overrides)
        elif overrides:
            config = config.replace(**overrides)
        if not isinstance(config, Config):
            raise TypeError(f"config must be a rumour.Config, not {type(config).__name__}")
        self.config = config
        self._hub = Hub()
        self._native: _native.NativeNode | None = None
        self._closed = False

    def _n(self) -> _native.NativeNode:
        if self._native is None:
            raise ClosedError(
                "the node is closed" if self._closed else "the node is not started; call start()"
            )
        return self._native

    def _start(self) -> None:
        if self._native is not None:
            return
        if self._closed:
            raise ClosedError("the node is closed; make a new one")
        # The seeds go to the engine, which keeps trying them until one
        # answers: start() never fails because a seed is down.
        native_config = self.config._to_native()
        self._native = _native.NativeNode.start(native_config, self._hub)

    def _close(self) -> None:
        native, self._native = self._native, None
        self._closed = True
        if native is not None:
            native.close()
        self._hub.close()

    @property
    def name(self) -> str:
        """This node's name."""
        return self._n().name

    @property
    def addr(self) -> str:
        """The address peers reach this node at, ``"host:port"``."""
        return self._n().addr

    @property
    def bound_addr(self) -> str:
        """The address the sockets are bound to (the real port when 0 was asked)."""
        return self._n().bound_addr

    @property
    def local(self) -> Member:
        """This node as its peers see it."""
        return Member._from(self._n().local())

    @property
    def keyring(self) -> Keyring:
        """Install, use and remove encryption keys at run time."""
        return Keyring(self)

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has run."""
        return self._closed

    def digest(self) -> str:
        """A short hash (16 hex digits) of how this node sees the cluster: the
        members alive or suspect with their states and incarnations, and the
        replicated map's root. Every node of a converged cluster reports the
        same one; a deploy script polls it on each node until they agree."""
        return self._n().digest()

    def members(self) -> list[Member]:
        """Members alive or suspect, this node included."""
        return [Member._from(t) for t in self._n().members()]

    def member(self, name: str) -> Member | None:
        """One member by name, in any state this node remembers; None if unknown."""
        t = self._n().member(_str(name, "name"))
        return None if t is None else Member._from(t)

    def stats(self) -> Stats:
        """Counters: packets, bytes, probes, refutes, streams, events lost,
        join attempts, seed push-pulls, hails answered, peer file errors..."""
        return Stats(self._n().stats())

    def metrics(self) -> list[Metric]:
        """This node's metrics now, in catalogue order: memberlist's names
        (``memberlist.msg.alive``, ``memberlist.probeNode``...) where
        memberlist has the metric, ``rumour.*`` for the rest. For a
        Prometheus endpoint, :mod:`rumour.prometheus` collects them.
        Raises :class:`rumour.ClosedError` once the node is closed."""
        return [Metric._from(t) for t in self._n().metrics()]

    def _send_args(self, to: str | Member, data: bytes) -> tuple:
        name = to.name if isinstance(to, Member) else _str(to, "to")
        return name, _bytes(data, "data")

    def _summary(self) -> StateSummary:
        return StateSummary(*self._n().state_summary())

    def _entries(self, prefix: str) -> list[StateEntry]:
        return [StateEntry._from(t) for t in self._n().state_entries(_str(prefix, "prefix"))]

    def _get(self, key: str) -> StateEntry | None:
        t = self._n().state_get(_str(key, "key"))
        return None if t is None else StateEntry._from(t)

    def _put(self, key: str, value: bytes, kind: str, ttl: float | None) -> int:
        return self._n().state_put(_str(key, "key"), _bytes(value, "value"), kind, ttl)
